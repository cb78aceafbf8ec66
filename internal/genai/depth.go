package genai

import "fmt"

// MaxValueDepth bounds how deeply a value nests (arrays and maps inside
// arrays and maps): an attribute value, an event attribute, a message
// part's arguments or response. A scalar has depth 0, [1] depth 1.
// Receivers refuse a deeper value with a 400 / InvalidArgument naming the
// limit; JSON text nested deeper is kept as text rather than decoded; the
// stores write anything deeper that still reaches them as a marker string,
// so what is read back always decodes.
const MaxValueDepth = 32

// TooDeep is what is kept in place of a value nested deeper than
// MaxValueDepth where one can still arrive (the stores' writers).
var TooDeep = fmt.Sprintf("[value nested deeper than %d levels]", MaxValueDepth)

// DeeperThan reports whether v nests deeper than max. It looks no deeper
// than max+1 levels.
func DeeperThan(v any, max int) bool {
	switch x := v.(type) {
	case map[string]any:
		if max <= 0 {
			return true
		}
		for _, e := range x {
			if DeeperThan(e, max-1) {
				return true
			}
		}
	case []any:
		if max <= 0 {
			return true
		}
		for _, e := range x {
			if DeeperThan(e, max-1) {
				return true
			}
		}
	}
	return false
}
