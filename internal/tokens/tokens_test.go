package tokens

import (
	"strings"
	"testing"
)

func TestCount(t *testing.T) {
	for _, c := range []struct {
		s    string
		want int
	}{
		{"", 0},
		{"Hello", 1},
		{"Hello world", 2},
	} {
		if got := Count(c.s); got != c.want {
			t.Errorf("Count(%q) = %d, want %d", c.s, got, c.want)
		}
	}
}

// TestEnds checks that the offsets cut s into as many tokens as Count
// reports, covering s exactly, non-ASCII text included.
func TestEnds(t *testing.T) {
	for _, s := range []string{"Hello world", "Ünïcødé système — 東京タワー", strings.Repeat("ab ", 100)} {
		ends := Ends(s)
		if len(ends) != Count(s) {
			t.Errorf("%q: %d ends, Count %d", s, len(ends), Count(s))
		}
		prev := int32(0)
		for _, e := range ends {
			if e <= prev {
				t.Fatalf("%q: offsets not increasing: %v", s, ends)
			}
			prev = e
		}
		if int(prev) != len(s) {
			t.Errorf("%q: last end %d, len %d", s, prev, len(s))
		}
	}
	if len(Ends("")) != 0 {
		t.Errorf("Ends(\"\") = %v", Ends(""))
	}
}

func BenchmarkCount(b *testing.B) {
	s := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 40)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Count(s)
	}
}
