package genai

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// The helpers below read attribute values of any shape a source may send:
// OTLP AnyValue Go values (string, bool, int64, float64, []byte, []any,
// map[string]any), other Go integer types, or strings a source flattened
// the value into (Application Insights properties). They never panic.

// asString returns v when it is a string.
func asString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

// asInt returns v as an integer: int64, the other integer types, an
// integral float64 or a decimal string.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return math.MaxInt64, true
		}
		return int64(x), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false
		}
		if x >= math.MaxInt64 {
			return math.MaxInt64, true
		}
		if x <= math.MinInt64 {
			return math.MinInt64, true
		}
		return int64(x), true
	case json.Number:
		return asInt(string(x))
	case string:
		s := strings.TrimSpace(x)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return asInt(f)
		}
	}
	return 0, false
}

// asCount is asInt for token counts: negative counts become 0.
func asCount(v any) (int64, bool) {
	n, ok := asInt(v)
	if n < 0 {
		n = 0
	}
	return n, ok
}

// asFloat returns v as a finite float64.
func asFloat(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	case json.Number:
		return asFloat(string(x))
	case string:
		var err error
		f, err = strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// asBool returns v as a bool: a bool, 0/1, or the strings true/false (any
// case) and 0/1.
func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	case int64:
		return x != 0, true
	}
	return false, false
}

// asStrings returns v as a list of strings: a []any or []string of
// strings, a JSON array in a string (a flattened array), or one string.
func asStrings(v any) ([]string, bool) {
	switch x := v.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	case string:
		t := strings.TrimSpace(x)
		if strings.HasPrefix(t, "[") {
			var out []string
			if json.Unmarshal([]byte(t), &out) == nil {
				return out, true
			}
		}
		if t == "" {
			return nil, false
		}
		return []string{x}, true
	}
	return nil, false
}

// structured returns v itself when it is a []any or map[string]any, or
// the JSON it holds when it is a string (or bytes) of JSON.
func structured(v any) (any, bool) {
	switch x := v.(type) {
	case []any, map[string]any:
		return x, true
	case string:
		return decodeJSON(x)
	case []byte:
		return decodeJSON(string(x))
	}
	return nil, false
}

// textOf renders a content value as text: strings as they are, anything
// structured as JSON.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// Value is an attribute value as a decoder produced it, with scalars kept
// unboxed so that reading a mapped attribute allocates nothing: a source
// that iterates its own attribute representation (OTLP pdata) hands each
// one to NormalizeAttrs as a Value, and only the values that stay in the
// attributes map are boxed.
type Value struct {
	kind valueKind
	s    string
	n    uint64 // int64, float64 bits, or 0/1
	a    any
}

type valueKind uint8

const (
	kindAny valueKind = iota
	kindString
	kindInt
	kindDouble
	kindBool
)

// StringValue is a string attribute value.
func StringValue(s string) Value { return Value{kind: kindString, s: s} }

// IntValue is an integer attribute value.
func IntValue(i int64) Value { return Value{kind: kindInt, n: uint64(i)} }

// DoubleValue is a floating-point attribute value.
func DoubleValue(f float64) Value { return Value{kind: kindDouble, n: math.Float64bits(f)} }

// BoolValue is a boolean attribute value.
func BoolValue(b bool) Value {
	v := Value{kind: kindBool}
	if b {
		v.n = 1
	}
	return v
}

// AnyValue is an attribute value of any of the shapes RawSpan.Attributes
// holds.
func AnyValue(a any) Value { return Value{a: a} }

// Any returns the value as RawSpan.Attributes holds it.
func (v Value) Any() any {
	switch v.kind {
	case kindString:
		return v.s
	case kindInt:
		return int64(v.n)
	case kindDouble:
		return math.Float64frombits(v.n)
	case kindBool:
		return v.n == 1
	}
	return v.a
}

func (v Value) str() (string, bool) {
	if v.kind == kindString {
		return v.s, true
	}
	return asString(v.a)
}

func (v Value) integer() (int64, bool) {
	switch v.kind {
	case kindString:
		return asInt(v.s)
	case kindInt:
		return int64(v.n), true
	case kindDouble:
		return asInt(math.Float64frombits(v.n))
	case kindBool:
		return 0, false
	}
	return asInt(v.a)
}

func (v Value) count() (int64, bool) {
	n, ok := v.integer()
	if n < 0 {
		n = 0
	}
	return n, ok
}

func (v Value) float() (float64, bool) {
	switch v.kind {
	case kindString:
		return asFloat(v.s)
	case kindInt:
		return float64(int64(v.n)), true
	case kindDouble:
		return asFloat(math.Float64frombits(v.n))
	case kindBool:
		return 0, false
	}
	return asFloat(v.a)
}

func (v Value) boolean() (bool, bool) {
	switch v.kind {
	case kindString:
		return asBool(v.s)
	case kindInt:
		return v.n != 0, true
	case kindBool:
		return v.n == 1, true
	case kindDouble:
		return false, false
	}
	return asBool(v.a)
}
