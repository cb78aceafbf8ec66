package store

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/genscope/genscope/internal/genai"
)

func TestAppendValue(t *testing.T) {
	v := map[string]any{
		"s": "a\"b\\c\n\t\x01<>&\u2028é\xff", "i": int64(-3), "f": 1.5, "big": 1e300, "tiny": 1e-9, "b": true, "n": nil,
		"bytes": []byte{1, 2}, "list": []any{int64(1), "x", []any{}, map[string]any{}}, "m": map[string]any{"z": 1.0, "a": 2.0},
		"nan": math.NaN(), "inf": math.Inf(-1), "ss": []string{"p", "q"},
	}
	raw := AppendValue(nil, v)
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	// What encoding/json makes of the same value, non-finite floats as
	// strings, decodes the same.
	want, _ := json.Marshal(Finite(v))
	var wantV map[string]any
	_ = json.Unmarshal(want, &wantV)
	if !reflect.DeepEqual(got, wantV) {
		t.Errorf("AppendValue:\n%s\nencoding/json:\n%s", raw, want)
	}
	if !strings.Contains(string(raw), `"m":{"a":2,"z":1}`) {
		t.Errorf("keys not sorted: %s", raw)
	}
	if string(AppendAttributes(nil, nil)) != "null" {
		t.Error("nil attributes")
	}
}

func TestAppendValueDepth(t *testing.T) {
	nest := func(d int) any {
		var v any = "leaf"
		for range d {
			v = map[string]any{"k": []any{v}}
		}
		return v
	}
	// Within the limit: unchanged.
	within := nest(genai.MaxValueDepth / 2)
	var back any
	if err := json.Unmarshal(AppendValue(nil, within), &back); err != nil || !reflect.DeepEqual(back, within) {
		t.Fatalf("depth %d: %v", genai.MaxValueDepth, err)
	}
	// Deeper: cut at the limit, and still decodable by a decoder allowing
	// MaxValueDepth+1 levels.
	raw := AppendValue(nil, nest(100000))
	if !strings.Contains(string(raw), genai.TooDeep) {
		t.Fatal("deep value not cut")
	}
	if err := json.Unmarshal(raw, &back); err != nil || genai.DeeperThan(back, genai.MaxValueDepth) {
		t.Fatalf("cut value: %v, deeper than %d", err, genai.MaxValueDepth)
	}
}

// BenchmarkAppendValue: linear in depth (go-json's sorted maps were
// quadratic).
func BenchmarkAppendValue(b *testing.B) {
	attrs := map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": int64(120),
		"server.address": "api.openai.com", "http.status_code": int64(200), "temperature": 0.7, "tags": []any{"a", "b"}}
	b.Run("attrs=7", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = AppendValue(buf[:0], attrs)
		}
	})
	for _, d := range []int{32, 1000, 30000} {
		var v any = "x"
		for range d {
			v = map[string]any{"k": v}
		}
		b.Run("depth="+itoa(d), func(b *testing.B) {
			b.ReportAllocs()
			var buf []byte
			for b.Loop() {
				buf = AppendValue(buf[:0], v)
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// FuzzAppendValue: whatever JSON decodes to, AppendValue writes valid JSON
// that decodes to the same value (cut at genai.MaxValueDepth), and never
// deeper than that.
func FuzzAppendValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,"x",{"b":null}],"c":true}`, `"\u2028\ud800"`, `[1e300,-0,1e-9]`, "\"\xff\"",
		strings.Repeat("[", 40) + strings.Repeat("]", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			return
		}
		raw := AppendValue(nil, v)
		var back any
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("AppendValue(%q) = %q: %v", s, raw, err)
		}
		if genai.DeeperThan(back, genai.MaxValueDepth) {
			t.Fatalf("AppendValue(%q) nests deeper than %d", s, genai.MaxValueDepth)
		}
		if !genai.DeeperThan(v, genai.MaxValueDepth) && !reflect.DeepEqual(normalize(v), back) {
			t.Fatalf("AppendValue(%q) = %q, decodes to %#v", s, raw, back)
		}
	})
}

// normalize is v as encoding/json decodes its own encoding of it (invalid
// UTF-8 replaced).
func normalize(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}
