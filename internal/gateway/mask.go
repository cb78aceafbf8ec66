package gateway

import (
	"bytes"
	"net/url"
	"strings"
)

// minMaskedKey is the shortest credential masked: a shorter "key" (a
// placeholder like "unused") would mask ordinary words in answers.
const minMaskedKey = 8

// masker hides the credentials a call carried upstream — the
// deployment's key, or the client's own passed-through key — wherever the
// upstream may echo them: the answer's headers and body relayed to the
// client, and everything recorded (status message, content). A key is
// replaced by a marker of the same length, so a relayed body keeps its
// Content-Length.
type masker struct {
	keys [][]byte
	max  int // longest key
}

// newMasker masks each non-empty key (also URL-escaped) of at least
// minMaskedKey bytes; nil when there is none.
func newMasker(keys ...string) *masker {
	m := &masker{}
	add := func(k string) {
		if len(k) < minMaskedKey {
			return
		}
		for _, have := range m.keys {
			if string(have) == k {
				return
			}
		}
		m.keys = append(m.keys, []byte(k))
		m.max = max(m.max, len(k))
	}
	for _, k := range keys {
		k = strings.TrimSpace(k)
		if scheme, tok, ok := strings.Cut(k, " "); ok && strings.EqualFold(scheme, "bearer") {
			k = strings.TrimSpace(tok)
		}
		add(k)
		add(url.QueryEscape(k))
	}
	if len(m.keys) == 0 {
		return nil
	}
	return m
}

// marker returns the replacement for a key of n bytes.
func marker(n int) []byte {
	const label = "[redacted]"
	if n < len(label) {
		return bytes.Repeat([]byte{'*'}, n)
	}
	return append([]byte(label), bytes.Repeat([]byte{'*'}, n-len(label))...)
}

// bytes masks every key in b, in place.
func (m *masker) bytes(b []byte) {
	if m == nil {
		return
	}
	for _, k := range m.keys {
		for i := 0; ; {
			j := bytes.Index(b[i:], k)
			if j < 0 {
				break
			}
			copy(b[i+j:], marker(len(k)))
			i += j + len(k)
		}
	}
}

// string returns s with every key masked.
func (m *masker) string(s string) string {
	if m == nil {
		return s
	}
	for _, k := range m.keys {
		if strings.Contains(s, string(k)) {
			s = strings.ReplaceAll(s, string(k), string(marker(len(k))))
		}
	}
	return s
}

// copied returns b masked, copying it only when it holds a key.
func (m *masker) copied(b []byte) []byte {
	if m == nil {
		return b
	}
	for _, k := range m.keys {
		if bytes.Contains(b, k) {
			b = bytes.Clone(b)
			m.bytes(b)
			return b
		}
	}
	return b
}

// header masks every value of h, in place.
func (m *masker) header(h map[string][]string) {
	if m == nil {
		return
	}
	for _, vs := range h {
		for i, v := range vs {
			vs[i] = m.string(v)
		}
	}
}

// maskStream masks a body relayed in chunks: a key may straddle two
// reads, so the last (longest key − 1) bytes of each chunk wait for the
// next one, or for rest at the end.
type maskStream struct {
	m          *masker
	held, work []byte
}

// next returns what may be sent once in has arrived, masked; valid until
// the next call.
func (s *maskStream) next(in []byte) []byte {
	if s.m == nil {
		return in
	}
	s.work = append(append(s.work[:0], s.held...), in...)
	s.m.bytes(s.work)
	hold := min(len(s.work), s.m.max-1)
	s.held = append(s.held[:0], s.work[len(s.work)-hold:]...)
	return s.work[:len(s.work)-hold]
}

// rest returns the bytes still held, at the end of the body.
func (s *maskStream) rest() []byte { return s.held }
