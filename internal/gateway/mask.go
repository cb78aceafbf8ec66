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

// maxHeldEvents and maxHeldBytes bound what an eventMasker holds back: a
// stream that keeps a key's first bytes pending for longer is let go.
const (
	maxHeldEvents = 256
	maxHeldBytes  = 1 << 20
)

// textFields are the members whose string values a client concatenates
// across the events of a stream: the text and tool-call deltas.
var textFields = [][]byte{[]byte(`"content"`), []byte(`"arguments"`), []byte(`"refusal"`), []byte(`"reasoning_content"`)}

// eventMasker masks a key that a stream spells out across events — one
// delta "sk-pro", the next "j-0123…" — which no single event holds, so
// masking each event (or each read) cannot find it, while the client
// joining the deltas would read it whole. It concatenates the raw string
// values of the text fields of consecutive events, and holds events back
// while that text ends with the start of a key: when the key completes,
// its bytes in the held events are replaced by the marker (same length,
// so every event keeps its size), and the events go out in order. A
// stream whose text does not end in a key's first bytes passes without a
// copy. Text is matched as the upstream wrote it, escaped: a key's bytes
// never need JSON escapes.
type eventMasker struct {
	m      *masker
	held   [][]byte // events waiting, owned
	size   int      // their bytes
	segs   []segment
	text   []byte   // the held events' text, concatenated
	ready  [][]byte // returned by push, reused
	ranges [][2]int // scratch for stringsOf
}

// segment is where text[off:off+end-start] sits: held[ev][start:end].
type segment struct{ ev, start, end, off int }

// push takes the next event (raw bytes, already masked by itself) and
// returns the events that may go out now, in order; they are valid until
// the next call.
func (e *eventMasker) push(raw []byte) [][]byte {
	e.ready = e.ready[:0]
	if e.m == nil {
		e.ready = append(e.ready, raw)
		return e.ready
	}
	if len(e.held) == 0 {
		// The common case: nothing held and this event's text does not
		// end with a key's start.
		mark := len(e.text)
		e.ranges = stringsOf(raw, e.ranges[:0])
		for _, s := range e.ranges {
			e.text = append(e.text, raw[s[0]:s[1]]...)
		}
		pending := e.m.pendingKey(e.text[mark:])
		e.text = e.text[:mark]
		if !pending {
			e.ready = append(e.ready, raw)
			return e.ready
		}
	}
	ev := len(e.held)
	e.held = append(e.held, bytes.Clone(raw))
	e.size += len(raw)
	e.ranges = stringsOf(raw, e.ranges[:0])
	for _, s := range e.ranges {
		e.segs = append(e.segs, segment{ev: ev, start: s[0], end: s[1], off: len(e.text)})
		e.text = append(e.text, raw[s[0]:s[1]]...)
	}
	if len(e.segs) > 0 {
		e.m.bytes(e.text)
		for _, s := range e.segs {
			copy(e.held[s.ev][s.start:s.end], e.text[s.off:])
		}
	}
	if e.m.pendingKey(e.text) && len(e.held) < maxHeldEvents && e.size < maxHeldBytes {
		return e.ready
	}
	return e.flush()
}

// flush returns every event held, at the end of the stream.
func (e *eventMasker) flush() [][]byte {
	e.ready = append(e.ready[:0], e.held...)
	clear(e.held)
	e.held, e.segs, e.text, e.size = e.held[:0], e.segs[:0], e.text[:0], 0
	return e.ready
}

// pendingKey reports whether text ends with the first bytes (not all) of
// a key: what follows may complete it.
func (m *masker) pendingKey(text []byte) bool {
	for _, k := range m.keys {
		for j := min(len(k)-1, len(text)); j > 0; j-- {
			if bytes.HasSuffix(text, k[:j]) {
				return true
			}
		}
	}
	return false
}

// stringsOf appends to dst the [start, end) ranges, within the raw event,
// of the string values of the text fields, between their quotes.
func stringsOf(raw []byte, dst [][2]int) [][2]int {
	for _, f := range textFields {
		for i := 0; ; {
			j := bytes.Index(raw[i:], f)
			if j < 0 {
				break
			}
			k := skipWS(raw, i+j+len(f))
			i = i + j + len(f)
			if k >= len(raw) || raw[k] != ':' {
				continue
			}
			k = skipWS(raw, k+1)
			if k >= len(raw) || raw[k] != '"' {
				continue
			}
			end, err := skipString(raw, k)
			if err != nil {
				break
			}
			dst = append(dst, [2]int{k + 1, end - 1})
			i = end
		}
	}
	return dst
}
