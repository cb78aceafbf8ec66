package gateway

import (
	"bytes"
	"errors"
)

// member is one member of a JSON object: the byte ranges of its key (with
// the quotes) and of its value, within the scanned document.
type member struct {
	keyStart, keyEnd int
	valStart, valEnd int
}

var errNotObject = errors.New("request body is not a JSON object")

// topLevel lists the members of the JSON object in b without decoding
// their values. It checks the structure it walks (strings, nesting,
// separators) but leaves the values' own validity to whoever decodes them
// later; the upstream sees the body as the client sent it.
func topLevel(b []byte) ([]member, error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, errNotObject
	}
	i = skipWS(b, i+1)
	var out []member
	if i < len(b) && b[i] == '}' {
		if skipWS(b, i+1) != len(b) {
			return nil, errors.New("request body: data after the JSON object")
		}
		return out, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return nil, errors.New("request body: expected a member name")
		}
		var m member
		m.keyStart = i
		end, err := skipString(b, i)
		if err != nil {
			return nil, err
		}
		m.keyEnd = end
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return nil, errors.New("request body: expected ':' after a member name")
		}
		i = skipWS(b, i+1)
		m.valStart = i
		end, err = skipValue(b, i, 0)
		if err != nil {
			return nil, err
		}
		m.valEnd = end
		out = append(out, m)
		i = skipWS(b, end)
		if i >= len(b) {
			return nil, errors.New("request body: unexpected end of JSON")
		}
		switch b[i] {
		case ',':
			i = skipWS(b, i+1)
		case '}':
			if skipWS(b, i+1) != len(b) {
				return nil, errors.New("request body: data after the JSON object")
			}
			return out, nil
		default:
			return nil, errors.New("request body: expected ',' or '}'")
		}
	}
}

// key returns m's name, unquoted. Names with escapes are decoded.
func (m member) key(b []byte) string {
	raw := b[m.keyStart+1 : m.keyEnd-1]
	if bytes.IndexByte(raw, '\\') >= 0 {
		return stringValue(b[m.keyStart:m.keyEnd])
	}
	return string(raw)
}

func (m member) value(b []byte) []byte { return b[m.valStart:m.valEnd] }

func find(b []byte, ms []member, name string) (member, bool) {
	for _, m := range ms {
		if m.keyEnd-m.keyStart == len(name)+2 && string(b[m.keyStart+1:m.keyEnd-1]) == name {
			return m, true
		}
	}
	for _, m := range ms { // escaped spellings of the name
		if m.key(b) == name {
			return m, true
		}
	}
	return member{}, false
}

const maxDepth = 512

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		default:
			if b[j] < 0x20 {
				return 0, errors.New("request body: control character in a string")
			}
		}
	}
	return 0, errors.New("request body: unterminated string")
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errors.New("request body: nested too deeply")
	}
	if i >= len(b) {
		return 0, errors.New("request body: unexpected end of JSON")
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		j := skipWS(b, i+1)
		if j < len(b) && b[j] == closer {
			return j + 1, nil
		}
		for {
			if c == '{' {
				if j >= len(b) || b[j] != '"' {
					return 0, errors.New("request body: expected a member name")
				}
				end, err := skipString(b, j)
				if err != nil {
					return 0, err
				}
				j = skipWS(b, end)
				if j >= len(b) || b[j] != ':' {
					return 0, errors.New("request body: expected ':'")
				}
				j = skipWS(b, j+1)
			}
			end, err := skipValue(b, j, depth+1)
			if err != nil {
				return 0, err
			}
			j = skipWS(b, end)
			if j >= len(b) {
				return 0, errors.New("request body: unexpected end of JSON")
			}
			if b[j] == closer {
				return j + 1, nil
			}
			if b[j] != ',' {
				return 0, errors.New("request body: expected ',' in " + string(c) + string(closer))
			}
			j = skipWS(b, j+1)
		}
	default:
		// A number, true, false or null: up to the next delimiter.
		j := i
		for j < len(b) {
			switch b[j] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if j == i {
					return 0, errors.New("request body: expected a value")
				}
				return j, nil
			case '"', '{', '[', ':':
				return 0, errors.New("request body: unexpected character in a literal")
			}
			j++
		}
		if j == i {
			return 0, errors.New("request body: expected a value")
		}
		return j, nil
	}
}

// edit is a replacement of b[start:end] by text.
type edit struct {
	start, end int
	text       []byte
}

// applyEdits returns b with the edits (sorted by start, not overlapping)
// applied, in a new slice.
func applyEdits(b []byte, edits []edit) []byte {
	n := len(b)
	for _, e := range edits {
		n += len(e.text) - (e.end - e.start)
	}
	out := make([]byte, 0, n)
	prev := 0
	for _, e := range edits {
		out = append(out, b[prev:e.start]...)
		out = append(out, e.text...)
		prev = e.end
	}
	return append(out, b[prev:]...)
}

// removeMember returns the edit that deletes member k of ms (with one
// adjacent comma), keeping the object valid.
func removeMember(b []byte, ms []member, k int) edit {
	m := ms[k]
	if k+1 < len(ms) { // up to the next member's key
		return edit{start: m.keyStart, end: ms[k+1].keyStart}
	}
	if k > 0 { // from the end of the previous value
		return edit{start: ms[k-1].valEnd, end: m.valEnd}
	}
	return edit{start: m.keyStart, end: m.valEnd}
}
