package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzAppend: Append writes what encoding/json decodes back to the string
// (with invalid UTF-8 replaced as encoding/json replaces it).
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\s\n\r\t\x01", "é\u2028\u2029", "\xff\xfe", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := Append(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("Append(%q) = %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want && strings.Count(s, "\ufffd") == 0 {
			// encoding/json replaces each invalid byte; ToValidUTF8 runs of them.
			var w string
			raw, _ := json.Marshal(s)
			_ = json.Unmarshal(raw, &w)
			if got != w {
				t.Fatalf("Append(%q) decodes to %q, want %q", s, got, w)
			}
		}
	})
}
