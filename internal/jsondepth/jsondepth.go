package jsondepth

import "fmt"

// Error is JSON nested deeper than Max arrays and objects.
type Error struct {
	Max int
}

func (e *Error) Error() string {
	return fmt.Sprintf("JSON nested deeper than %d levels", e.Max)
}

// Check returns an *Error when the arrays and objects of the JSON text b
// nest deeper than max, and nil otherwise. It does not validate b (the
// decoder does): brackets inside strings do not count, and unbalanced
// closing brackets only lower the depth.
func Check[T ~string | ~[]byte](b T, max int) error {
	depth := 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if depth++; depth > max {
				return &Error{Max: max}
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}

// Cut returns s with every array or object that opens deeper than max
// levels replaced by marker (a JSON value, such as a quoted string), so
// that the result nests at most max levels and decodes where s would hit
// a decoder's limit. s within max is returned as it is; s need not be
// valid JSON (what is not is left to the decoder).
func Cut(s string, max int, marker string) string {
	if Check(s, max) == nil {
		return s
	}
	out := make([]byte, 0, len(s))
	depth, skipFrom := 0, -1 // skipFrom: the depth of the container being cut
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inString {
			if skipFrom < 0 {
				out = append(out, c)
			}
			switch c {
			case '\\':
				if i+1 < len(s) {
					i++
					if skipFrom < 0 {
						out = append(out, s[i])
					}
				}
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
			if depth > max && skipFrom < 0 {
				skipFrom = depth
				out = append(out, marker...)
				continue
			}
		case ']', '}':
			depth--
			if skipFrom >= 0 && depth < skipFrom {
				skipFrom = -1
				continue
			}
		}
		if skipFrom < 0 {
			out = append(out, c)
		}
	}
	return string(out)
}
