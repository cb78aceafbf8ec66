package store

import (
	"encoding/binary"

	"github.com/genscope/genscope/internal/genai"
)

// Both backends keep ids as fixed-width integers: a trace id as the
// big-endian halves of its 16 bytes, a span id as its 8 bytes.

// TraceHiLo is the trace id's high and low halves.
func TraceHiLo(t genai.TraceID) (hi, lo uint64) {
	return binary.BigEndian.Uint64(t[:8]), binary.BigEndian.Uint64(t[8:])
}

// TraceFromHiLo is the trace id of two halves.
func TraceFromHiLo(hi, lo uint64) genai.TraceID {
	var t genai.TraceID
	binary.BigEndian.PutUint64(t[:8], hi)
	binary.BigEndian.PutUint64(t[8:], lo)
	return t
}

// SpanU64 is the span id as an integer.
func SpanU64(s genai.SpanID) uint64 { return binary.BigEndian.Uint64(s[:]) }

// SpanFromU64 is the span id of an integer.
func SpanFromU64(v uint64) genai.SpanID {
	var s genai.SpanID
	binary.BigEndian.PutUint64(s[:], v)
	return s
}
