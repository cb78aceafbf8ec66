package keyset

import (
	"errors"
	"testing"

	"github.com/genscope/genscope/internal/store"
)

func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		kind byte
		k    Key
	}{
		{Spans, Key{Start: -5, Span: 1, Hi: 2, Lo: 3}},
		{SpansDuration, Key{Start: 7, Span: ^uint64(0), Hi: 9, Lo: 10, Sort: 123}},
		{SpansTokens, Key{Start: 1, Sort: -1}},
		{Sessions, Key{Start: 42, Session: "sess-é"}},
	} {
		got, err := Decode(c.kind, Encode(c.kind, c.k))
		if err != nil || got != c.k {
			t.Errorf("%c: %+v %v, want %+v", c.kind, got, err, c.k)
		}
	}
	for _, bad := range []struct {
		kind byte
		c    string
	}{{Spans, "!!"}, {Spans, Encode(SpansDuration, Key{})}, {SpansTokens, Encode(Spans, Key{})}, {Sessions, ""}, {Spans, Encode(Spans, Key{})[:10]}} {
		if _, err := Decode(bad.kind, bad.c); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("%c %q: %v", bad.kind, bad.c, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Encode(SpansDuration, Key{Start: 1, Sort: 2}))
	f.Fuzz(func(t *testing.T, c string) {
		for _, kind := range []byte{Spans, Sessions, SpansDuration, SpansTokens} {
			if k, err := Decode(kind, c); err == nil && Encode(kind, k) != c {
				// A cursor that decodes re-encodes to itself (base64 without padding is canonical).
				if _, err2 := Decode(kind, Encode(kind, k)); err2 != nil {
					t.Fatalf("re-encoded cursor refused: %v", err2)
				}
			}
		}
	})
}
