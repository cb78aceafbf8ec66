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
