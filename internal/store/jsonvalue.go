package store

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/jsondepth"
	"github.com/genscope/genscope/internal/jsonstr"
)

// AppendValue appends v, a value decoded from JSON or built from span
// attributes, to dst as JSON, in time linear in its size whatever its
// depth (go-json's sorted map encoder copies each level's output into
// the level above, quadratic in depth). Map keys are sorted, so equal
// values encode equally; NaN and infinities are written as strings (as
// Finite does); a value nested deeper than genai.MaxValueDepth is written
// as the string genai.TooDeep, so every stored value decodes again within the
// readers' limits.
func AppendValue(dst []byte, v any) []byte {
	return appendValue(dst, v, 0)
}

// AppendAttributes appends the attribute map m as a JSON object ("null"
// when nil), as AppendValue does.
func AppendAttributes(dst []byte, m map[string]any) []byte {
	if m == nil {
		return append(dst, "null"...)
	}
	return appendValue(dst, m, 0)
}

func appendValue(dst []byte, v any, depth int) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return jsonstr.Append(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case float64:
		return appendFloat(dst, x)
	case float32:
		return appendFloat(dst, float64(x))
	case []byte:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, x)
		return append(dst, '"')
	case map[string]any:
		if depth >= genai.MaxValueDepth {
			return jsonstr.Append(dst, genai.TooDeep)
		}
		if x == nil {
			return append(dst, "null"...)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, k)
			dst = append(dst, ':')
			dst = appendValue(dst, x[k], depth+1)
		}
		return append(dst, '}')
	case []any:
		if depth >= genai.MaxValueDepth {
			return jsonstr.Append(dst, genai.TooDeep)
		}
		if x == nil {
			return append(dst, "null"...)
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, e, depth+1)
		}
		return append(dst, ']')
	case []string:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, e)
		}
		return append(dst, ']')
	case json.Number:
		if json.Valid([]byte(x)) {
			return append(dst, x...)
		}
		return jsonstr.Append(dst, string(x))
	}
	// Anything else (never made by the receivers): its encoding/json
	// form, or its printed form when it has none.
	if b, err := json.Marshal(Finite(v)); err == nil {
		return append(dst, b...)
	}
	return jsonstr.Append(dst, fmt.Sprint(v))
}

// appendFloat writes f as encoding/json does, and NaN and infinities as
// strings.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		dst = append(dst, '"')
		dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
		return append(dst, '"')
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(dst, f, format, -1, 64)
}

// AppendEvents appends span events as a JSON array, each event's
// attributes as AppendValue writes them.
func AppendEvents(dst []byte, evs []genai.Event) []byte {
	dst = append(dst, '[')
	for i := range evs {
		e := &evs[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"time_unix_nano":`...)
		dst = strconv.AppendInt(dst, e.TimeUnixNano, 10)
		dst = append(dst, `,"name":`...)
		dst = jsonstr.Append(dst, e.Name)
		if len(e.Attributes) > 0 {
			dst = append(dst, `,"attributes":`...)
			dst = appendValue(dst, e.Attributes, 0)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

// readDepth bounds how deeply a stored span's JSON may nest when read:
// values within genai.MaxValueDepth below the span's own structure
// (events, messages, their parts).
const readDepth = genai.MaxValueDepth + 8

// tooDeepJSON is genai.TooDeep as a JSON string.
var tooDeepJSON = string(jsonstr.Append(nil, genai.TooDeep))

// CutTooDeep returns a stored span's (or resource's) JSON with every
// value nested deeper than the writers allow replaced by genai.TooDeep,
// the marker they write, so that a row stored before the bound existed
// decodes (the decoder refuses it, and the trace would answer 500) and
// costs no more to read than one stored since. It is free for JSON
// within the bound.
func CutTooDeep(raw string) string { return jsondepth.Cut(raw, readDepth, tooDeepJSON) }

// AttrText is the text of an attribute value as attribute filters
// (AttrFilter) compare it, computed from the value's stored JSON
// (AppendValue): a string's own text, a number's or boolean's JSON text
// ("200", "0.7", "true"); ok is false for null, lists and maps, which
// have none.
func AttrText(v any) (text string, ok bool) {
	raw := appendValue(nil, v, 0)
	switch {
	case len(raw) == 0, raw[0] == '{', raw[0] == '[', string(raw) == "null":
		return "", false
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	}
	return string(raw), true
}
