package queryparam

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Error is a bad query parameter; its message names the parameter.
type Error struct {
	Name, Msg string
}

func (e *Error) Error() string { return e.Name + ": " + e.Msg }

// Bad returns an *Error for the parameter name.
func Bad(name, format string, args ...any) error {
	return &Error{Name: name, Msg: fmt.Sprintf(format, args...)}
}

// Clip bounds a parameter value before an error message quotes it.
func Clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// MaxParams bounds the pairs of a query string.
const MaxParams = 100

// Parse reads a URL query string strictly: pairs are separated by "&"
// only, so ";" is part of a value (url.ParseQuery drops such a pair and
// so the filter it carried, answering unfiltered); more than MaxParams
// pairs, a pair that does not unescape and a parameter of single given
// more than once are errors naming the parameter.
func Parse(raw string, single []string) (url.Values, error) {
	q := url.Values{}
	n := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if n++; n > MaxParams {
			return nil, Bad("query", "more than %d parameters", MaxParams)
		}
		k, v, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, Bad(Clip(k), "the name is not URL-encoded correctly")
		}
		val, err := url.QueryUnescape(v)
		if err != nil {
			return nil, Bad(Clip(key), "%q is not URL-encoded correctly", Clip(v))
		}
		q[key] = append(q[key], val)
	}
	for _, name := range single {
		if len(q[name]) > 1 {
			return nil, Bad(name, "given %d times; give it once", len(q[name]))
		}
	}
	return q, nil
}

// Int reads the integer parameter name, def when absent; a value that is
// not a plain decimal integer from lo to hi is an error naming it.
func Int(q url.Values, name string, def, lo, hi int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi || v[0] == '+' {
		return 0, Bad(name, "%q is not a number from %d to %d", Clip(v), lo, hi)
	}
	return n, nil
}
