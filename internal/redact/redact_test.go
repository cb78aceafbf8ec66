package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	r, err := New([]string{`PROJ-\d{4}`})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ in, want string }{
		{"mail me at jane.doe+x@example.co.uk please", "mail me at [EMAIL] please"},
		{"card 4111 1111 1111 1111 ok", "card [CARD] ok"},
		{"card 4111-1111-1111-1111", "card [CARD]"},
		{"order 1234567890123456", "order 1234567890123456"},
		{"iban DE89 3704 0044 0532 0130 00 done", "iban [IBAN] done"},
		{"iban GB82WEST12345698765432", "iban [IBAN]"},
		{"call +1 415-555-0132 now", "call [PHONE] now"},
		{"call (020) 7946 0958", "call [PHONE]"},
		{"released 2024-10-21, version 1.2.3", "released 2024-10-21, version 1.2.3"},
		{"key sk-proj-abcdefghijklmnop1234567890", "key [SECRET]"},
		{"Authorization: Bearer abcdefghijklmnopqrstuvwxyz", "Authorization: [SECRET]"},
		{"aws AKIAIOSFODNN7EXAMPLE", "aws [SECRET]"},
		{"keys gsk_0123456789abcdefghij gsu_0123456789abcdefghij gss_0123456789abcdefghij", "keys [SECRET] [SECRET] [SECRET]"},
		{"password=hunter2hunter2", "[SECRET]"},
		{"ticket PROJ-1234", "ticket [REDACTED]"},
		{"What are some recommended supplies for a camping trip in the mountains?", "What are some recommended supplies for a camping trip in the mountains?"},
		{"", ""},
	} {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if _, err := New([]string{"("}); err == nil {
		t.Error("a bad pattern was accepted")
	}
}

func FuzzString(f *testing.F) {
	r, _ := New(nil)
	f.Add("jane@example.com 4111111111111111 +14155550132")
	f.Fuzz(func(t *testing.T, s string) { _ = r.String(s) })
}

func BenchmarkString(b *testing.B) {
	r, _ := New(nil)
	s := "You are an AI assistant that acts as a travel guide. What are some recommended supplies for a camping trip in the mountains? Answer in one sentence and a list."
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		_ = r.String(s)
	}
}

func TestFind(t *testing.T) {
	r, err := New([]string{`\bEMP-\d{6}\b`})
	if err != nil {
		t.Fatal(err)
	}
	f := func(in string, want ...string) {
		t.Helper()
		got := r.Find(in)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("Find(%q) = %v, want %v", in, got, want)
		}
		if masked := r.String(in) != in; masked != (len(want) > 0) {
			t.Errorf("Find(%q) = %v but String masks: %v", in, got, masked)
		}
	}
	f("the meeting is on 2024-05-01 at 10:30")
	f("write to ana@example.com or call +1 415 555 0100", Email, Phone)
	f("card 4111 1111 1111 1111", Card)
	f("my key is sk-proj-abcdefghijklmnop1234 and again sk-proj-abcdefghijklmnop9999", Secret)
	f("employee EMP-123456", Custom)
	f("")
}
