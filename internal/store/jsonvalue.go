package store

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/genscope/genscope/internal/genai"
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
		return appendString(dst, x)
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
			return appendString(dst, genai.TooDeep)
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
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendValue(dst, x[k], depth+1)
		}
		return append(dst, '}')
	case []any:
		if depth >= genai.MaxValueDepth {
			return appendString(dst, genai.TooDeep)
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
			dst = appendString(dst, e)
		}
		return append(dst, ']')
	case json.Number:
		if json.Valid([]byte(x)) {
			return append(dst, x...)
		}
		return appendString(dst, string(x))
	}
	// Anything else (never made by the receivers): its encoding/json
	// form, or its printed form when it has none.
	if b, err := json.Marshal(Finite(v)); err == nil {
		return append(dst, b...)
	}
	return appendString(dst, fmt.Sprint(v))
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

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' { // valid JSON, but not in JavaScript
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
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
		dst = appendString(dst, e.Name)
		if len(e.Attributes) > 0 {
			dst = append(dst, `,"attributes":`...)
			dst = appendValue(dst, e.Attributes, 0)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}
