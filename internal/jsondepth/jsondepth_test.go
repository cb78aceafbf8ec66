package jsondepth

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	f := func(s string, max int, ok bool) {
		t.Helper()
		err := Check(s, max)
		if (err == nil) != ok {
			t.Errorf("Check(%.40q, %d) = %v, want ok=%v", s, max, err, ok)
		}
		if err == nil {
			return
		}
		var de *Error
		if !errors.As(err, &de) || de.Max != max || !strings.Contains(err.Error(), "deeper than") {
			t.Errorf("Check(%.40q, %d) = %v, want an *Error naming %d", s, max, err, max)
		}
	}
	f(``, 0, true)
	f(`1`, 0, true)
	f(`[]`, 0, false)
	f(`[]`, 1, true)
	f(`[[1],{"a":[2]}]`, 3, true)
	f(`[[1],{"a":[2]}]`, 2, false)
	f(`"[[[[[["`, 1, true)      // brackets in a string
	f(`["\"[[[["]`, 1, true)    // an escaped quote does not end the string
	f(`["\\", [[]]]`, 2, false) // an escaped backslash does
	f(`]]]]][[[`, 3, true)      // unbalanced: the decoder's business
	f(strings.Repeat("[", 100000), 512, false)
	f(strings.Repeat("[", 64)+strings.Repeat("]", 64), 64, true)
	if err := Check([]byte(`{"a":{"b":{}}}`), 2); err == nil {
		t.Error("[]byte: not checked")
	}
}

// FuzzCheck: Check agrees with the depth of every valid JSON document.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`[]`, `{"a":[1,{"b":"]"}]}`, `"\\"`, `[[[`, `["\"",[]]`} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		max = int(uint(max) % 64)
		err := Check(s, max)
		if !json.Valid([]byte(s)) {
			return
		}
		if want := depth(s); (err == nil) != (want <= max) {
			t.Fatalf("Check(%q, %d) = %v; depth is %d", s, max, err, want)
		}
	})
}

// depth is the nesting of a valid JSON document, by decoding it.
func depth(s string) int {
	var v any
	_ = json.Unmarshal([]byte(s), &v)
	var walk func(any) int
	walk = func(v any) int {
		d := 0
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				d = max(d, walk(e))
			}
			return d + 1
		case map[string]any:
			for _, e := range x {
				d = max(d, walk(e))
			}
			return d + 1
		}
		return 0
	}
	return walk(v)
}

func TestCut(t *testing.T) {
	const marker = `"X"`
	f := func(s string, max int, want string) {
		t.Helper()
		got := Cut(s, max, marker)
		if got != want {
			t.Errorf("Cut(%.60q, %d) = %.80q, want %.80q", s, max, got, want)
		}
		if Check(got, max) != nil {
			t.Errorf("Cut(%.60q, %d) still nests deeper", s, max)
		}
	}
	f(`{"a":[1,{"b":2}]}`, 3, `{"a":[1,{"b":2}]}`)
	f(`{"a":[1,{"b":2}]}`, 2, `{"a":[1,"X"]}`)
	f(`{"a":[1,{"b":[[[]]]}],"c":{"d":"[{"}}`, 2, `{"a":[1,"X"],"c":{"d":"[{"}}`)
	f(`{"a":"\"{[","b":[{"c":"\\"}]}`, 2, `{"a":"\"{[","b":["X"]}`)
	f(`[`+strings.Repeat(`{"k":[`, 20000)+`1`+strings.Repeat(`]}`, 20000)+`,2]`, 3, `[{"k":["X"]},2]`)
	deep := `{"attributes":{"v":` + strings.Repeat(`[`, 30000) + strings.Repeat(`]`, 30000) + `,"w":1}}`
	var v map[string]any
	if err := json.Unmarshal([]byte(Cut(deep, 40, marker)), &v); err != nil {
		t.Fatalf("cut value does not decode: %v", err)
	}
}
