package gateway

import (
	"bytes"
	"strings"
	"testing"
)

// TestMaskStreamEverySplit: a key split across two reads at any byte is
// masked, and the output has the input's length.
func TestMaskStreamEverySplit(t *testing.T) {
	const key = "sk-split-key-0123456789"
	m := newMasker("Bearer "+key, "", "short")
	if len(m.keys) != 1 {
		t.Fatalf("keys %q: the short one and the empty one are not masked", m.keys)
	}
	in := []byte(`{"echo":"Authorization: Bearer ` + key + `","again":"` + key + `"}`)
	for cut := 0; cut <= len(in); cut++ {
		s := maskStream{m: m}
		var out bytes.Buffer
		out.Write(s.next(bytes.Clone(in[:cut])))
		out.Write(s.next(bytes.Clone(in[cut:])))
		out.Write(s.rest())
		if out.Len() != len(in) || strings.Contains(out.String(), "split-key") || strings.Count(out.String(), "[redacted]") != 2 {
			t.Fatalf("cut %d: %s", cut, out.String())
		}
	}
	if got := (*masker)(nil).string("x " + key); got != "x "+key {
		t.Errorf("a nil masker changed %q", got)
	}
}

// BenchmarkMaskStream is the cost of masking an answer relayed in 32 KiB
// reads, with a key set (the deployment's) and without.
func BenchmarkMaskStream(b *testing.B) {
	body := bytes.Repeat([]byte(upstreamAnswer), 64) // ~50 KB
	for _, keyed := range []bool{false, true} {
		b.Run(map[bool]string{false: "key=none", true: "key=set"}[keyed], func(b *testing.B) {
			var m *masker
			if keyed {
				m = newMasker("Bearer sk-proj-0123456789abcdefghijklmnopqrstuvwxyz")
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				s := maskStream{m: m}
				for off := 0; off < len(body); off += 32 << 10 {
					_ = s.next(body[off:min(len(body), off+32<<10)])
				}
				_ = s.rest()
			}
		})
	}
}
