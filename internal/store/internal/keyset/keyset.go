// Package keyset encodes the opaque cursors of the store's paged
// queries (the spans table in each order, and sessions), so that every
// backend issues and accepts the same cursors. It is internal to the
// store: package spanrows issues and reads the cursors for the backends.
package keyset

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"

	"github.com/genscope/genscope/internal/store"
)

// Key is the position a page ends at: a span's start, id and trace id,
// plus the first sort key of the duration and tokens orders; or, for
// sessions, the last activity and the session id.
type Key struct {
	Start   int64
	Span    uint64
	Hi, Lo  uint64
	Session string // sessions cursors only
	Sort    int64  // the duration and tokens orders only
}

// Cursor kinds: one per query and order, so a cursor is refused by a
// query it was not issued for.
const (
	Spans         byte = 's'
	Sessions      byte = 'e'
	SpansDuration byte = 'd'
	SpansTokens   byte = 'k'
)

// IsSpans reports whether a kind is one of the spans orders.
func IsSpans(kind byte) bool {
	return kind == Spans || kind == SpansDuration || kind == SpansTokens
}

// Encode makes the cursor of kind for k.
func Encode(kind byte, k Key) string {
	buf := make([]byte, 0, 41+len(k.Session))
	buf = append(buf, kind)
	buf = binary.BigEndian.AppendUint64(buf, uint64(k.Start))
	if IsSpans(kind) {
		buf = binary.BigEndian.AppendUint64(buf, k.Span)
		buf = binary.BigEndian.AppendUint64(buf, k.Hi)
		buf = binary.BigEndian.AppendUint64(buf, k.Lo)
		if kind != Spans {
			buf = binary.BigEndian.AppendUint64(buf, uint64(k.Sort))
		}
	} else {
		buf = append(buf, k.Session...)
	}
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Decode reads a cursor of kind; anything else is an error wrapping
// store.ErrBadCursor.
func Decode(kind byte, c string) (Key, error) {
	var k Key
	buf, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return k, fmt.Errorf("%w: not base64", store.ErrBadCursor)
	}
	want := 0 // the exact length, when fixed
	switch {
	case kind == Spans:
		want = 33
	case IsSpans(kind):
		want = 41
	}
	if len(buf) < 9 || buf[0] != kind || (want != 0 && len(buf) != want) {
		return k, fmt.Errorf("%w: wrong length or kind", store.ErrBadCursor)
	}
	k.Start = int64(binary.BigEndian.Uint64(buf[1:]))
	if IsSpans(kind) {
		k.Span = binary.BigEndian.Uint64(buf[9:])
		k.Hi = binary.BigEndian.Uint64(buf[17:])
		k.Lo = binary.BigEndian.Uint64(buf[25:])
		if want == 41 {
			k.Sort = int64(binary.BigEndian.Uint64(buf[33:]))
		}
	} else {
		k.Session = string(buf[9:])
	}
	return k, nil
}
