package store

import (
	"math"
	"strconv"
)

// Finite returns v (a value decoded from JSON or built from span
// attributes) with every non-finite float replaced by its string form,
// so it can be encoded as JSON: NaN and ±Inf have no JSON number.
func Finite(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = Finite(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = Finite(e)
		}
		return out
	}
	return v
}
