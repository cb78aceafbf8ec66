package store

import (
	"encoding/binary"

	"github.com/genscope/genscope/internal/genai"
)

// Carrier is, for one trace of a batch, the session and the user its
// spans without their own inherit (the contract's rule: from the earliest
// starting span, then the smallest span id, that carries one).
type Carrier struct {
	Session, User        string
	sessStart, userStart int64
	sessSpan, userSpan   uint64
}

// Carriers are the carriers of a batch's traces.
type Carriers map[genai.TraceID]*Carrier

// Session is the session the trace's spans inherit ("" when none).
func (cs Carriers) Session(t genai.TraceID) string {
	if c := cs[t]; c != nil {
		return c.Session
	}
	return ""
}

// User is the user the trace's spans inherit ("" when none).
func (cs Carriers) User(t genai.TraceID) string {
	if c := cs[t]; c != nil {
		return c.User
	}
	return ""
}

// BatchCarriers finds the carriers among spans[i] for i in idx, so a
// backend can resolve inheritance when it writes a batch (SDKs export a
// trace together).
func BatchCarriers(spans []genai.Span, idx []int) Carriers {
	out := Carriers{}
	for _, i := range idx {
		sp := &spans[i]
		if sp.SessionID == "" && sp.UserID == "" {
			continue
		}
		c := out[sp.TraceID]
		if c == nil {
			c = &Carrier{}
			out[sp.TraceID] = c
		}
		id := binary.BigEndian.Uint64(sp.SpanID[:])
		if sp.SessionID != "" && (c.Session == "" || sp.StartUnixNano < c.sessStart || sp.StartUnixNano == c.sessStart && id < c.sessSpan) {
			c.Session, c.sessStart, c.sessSpan = sp.SessionID, sp.StartUnixNano, id
		}
		if sp.UserID != "" && (c.User == "" || sp.StartUnixNano < c.userStart || sp.StartUnixNano == c.userStart && id < c.userSpan) {
			c.User, c.userStart, c.userSpan = sp.UserID, sp.StartUnixNano, id
		}
	}
	return out
}
