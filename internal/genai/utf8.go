package genai

import (
	"strings"
	"unicode/utf8"
)

// ValidUTF8 replaces invalid UTF-8 in every string of the span (names,
// attributes, content, events) with U+FFFD, in place. Receivers take
// strings as clients send them; a store may refuse invalid text, and one
// bad span must not fail the batch it shares with others. Valid spans
// cost one scan and no allocation.
func (s *Span) ValidUTF8() {
	for _, p := range []*string{&s.Project, &s.Name, &s.Kind, &s.Service, &s.ScopeName, &s.StatusMessage, &s.ErrorType,
		&s.Operation, &s.Provider, &s.RequestModel, &s.ResponseModel, &s.ResponseID, &s.SessionID, &s.UserID} {
		fixString(p)
	}
	for i := range s.FinishReasons {
		fixString(&s.FinishReasons[i])
	}
	fixParts(s.SystemInstructions)
	for i := range s.InputMessages {
		fixMessage(&s.InputMessages[i])
	}
	for i := range s.OutputMessages {
		fixMessage(&s.OutputMessages[i])
	}
	s.Attributes = fixMap(s.Attributes)
	s.ResourceAttributes = fixMap(s.ResourceAttributes)
	for i := range s.Events {
		fixString(&s.Events[i].Name)
		s.Events[i].Attributes = fixMap(s.Events[i].Attributes)
	}
}

// ValidUTF8 replaces invalid UTF-8 in the record's strings, in place.
func (m *MessageRecord) ValidUTF8() {
	fixString(&m.Project)
	fixMessage(&m.Message)
}

func fixString(p *string) {
	if !utf8.ValidString(*p) {
		*p = strings.ToValidUTF8(*p, "\uFFFD")
	}
}

func fixMessage(m *Message) {
	fixString(&m.Role)
	fixString(&m.Name)
	fixString(&m.FinishReason)
	fixParts(m.Parts)
}

func fixParts(ps []Part) {
	for i := range ps {
		p := &ps[i]
		fixString(&p.Type)
		fixString(&p.Content)
		fixString(&p.ID)
		fixString(&p.Name)
		p.Arguments = fixAny(p.Arguments)
		p.Response = fixAny(p.Response)
	}
}

func fixMap(m map[string]any) map[string]any {
	var bad []string
	for k, v := range m {
		if !utf8.ValidString(k) {
			bad = append(bad, k)
			continue
		}
		if nv, changed := fixValue(v); changed {
			m[k] = nv
		}
	}
	for _, k := range bad {
		v := m[k]
		delete(m, k)
		nv, _ := fixValue(v)
		m[strings.ToValidUTF8(k, "\uFFFD")] = nv
	}
	return m
}

func fixAny(v any) any {
	nv, _ := fixValue(v)
	return nv
}

// fixValue returns v with valid strings, and whether it had to change a
// string held by value (maps and slices are fixed in place).
func fixValue(v any) (any, bool) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return strings.ToValidUTF8(x, "\uFFFD"), true
		}
	case []any:
		for i := range x {
			if nv, changed := fixValue(x[i]); changed {
				x[i] = nv
			}
		}
	case []string:
		for i := range x {
			fixString(&x[i])
		}
	case map[string]any:
		fixMap(x)
	}
	return v, false
}
