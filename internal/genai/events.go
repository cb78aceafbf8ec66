package genai

import "strings"

// The names of the GenAI content events, as span events or log records.
const (
	EventSystemMessage     = "gen_ai.system.message"
	EventUserMessage       = "gen_ai.user.message"
	EventAssistantMessage  = "gen_ai.assistant.message"
	EventToolMessage       = "gen_ai.tool.message"
	EventChoice            = "gen_ai.choice"
	EventContentPrompt     = "gen_ai.content.prompt"
	EventContentCompletion = "gen_ai.content.completion"
	EventInferenceDetails  = "gen_ai.client.inference.operation.details"
)

// IsContentEvent reports whether name is the name of a GenAI content event
// that NormalizeLog reads.
func IsContentEvent(name string) bool {
	switch name {
	case EventSystemMessage, EventUserMessage, EventAssistantMessage, EventToolMessage,
		EventChoice, EventContentPrompt, EventContentCompletion, EventInferenceDetails:
		return true
	}
	return false
}

// eventBody returns the body of a message event delivered as a span
// event: the JSON in gen_ai.event.content when there is one, else the
// attributes themselves ({content, role, tool_calls, ...}).
func eventBody(attrs map[string]any) any {
	if c, ok := attrs["gen_ai.event.content"]; ok {
		return c
	}
	return attrs
}

// eventMessage reads the message of a per-message event (system, user,
// assistant, tool message or choice) from its body.
func eventMessage(name string, body any, attrs map[string]any) (MessageKind, Message, bool) {
	var kind MessageKind
	var role string
	switch name {
	case EventSystemMessage:
		kind, role = KindSystem, "system"
	case EventUserMessage:
		kind, role = KindInput, "user"
	case EventAssistantMessage:
		kind, role = KindInput, "assistant"
	case EventToolMessage:
		kind, role = KindInput, "tool"
	case EventChoice:
		kind, role = KindOutput, "assistant"
	default:
		return "", Message{}, false
	}
	var m map[string]any
	switch b := body.(type) {
	case map[string]any:
		m = b
	case string:
		if v, ok := decodeJSON(b); ok {
			m, _ = v.(map[string]any)
		}
		if m == nil {
			// A plain-text body is the content itself.
			return kind, Message{Role: role, Parts: []Part{{Type: "text", Content: b}}}, true
		}
	case []byte:
		return eventMessage(name, string(b), attrs)
	case nil:
		// Content not captured: the message is there, without parts.
		return kind, Message{Role: role, Parts: []Part{}}, true
	default:
		return kind, Message{Role: role, Parts: []Part{{Type: "text", Content: textOf(b)}}}, true
	}
	if s, ok := m["message"].(string); ok {
		// A choice whose message was flattened into a JSON string.
		if v, ok := decodeJSON(s); ok {
			if inner, ok := v.(map[string]any); ok {
				c := make(map[string]any, len(m))
				for k, x := range m {
					c[k] = x
				}
				c["message"] = inner
				m = c
			}
		}
	}
	msg := parseMessage(m, role)
	if name != EventChoice && name != EventSystemMessage {
		if r, ok := asString(m["role"]); !ok || r == "" {
			msg.Role = role
		}
	}
	if kind == KindSystem {
		msg.Role = "system"
	}
	if kind == KindOutput && msg.FinishReason == "" && attrs != nil {
		msg.FinishReason, _ = asString(attrs["finish_reason"])
	}
	return kind, msg, true
}

// legacyContent reads the gen_ai.prompt / gen_ai.completion attribute of
// the gen_ai.content.prompt / gen_ai.content.completion events: a JSON
// list of messages (or choices), or plain text.
func legacyContent(v any, role string) ([]Message, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		if sv, ok := decodeJSON(x); ok {
			if m, ok := sv.(map[string]any); ok {
				if list, ok := m["messages"]; ok {
					return parseMessages(list, role)
				}
				if list, ok := m["choices"]; ok {
					return parseMessages(list, role)
				}
			}
			if msgs, ok := parseMessages(sv, role); ok {
				return msgs, true
			}
		}
		return []Message{{Role: role, Parts: []Part{{Type: "text", Content: x}}}}, true
	}
	return parseMessages(v, role)
}

// detailsContent reads the gen_ai.client.inference.operation.details
// event: system instructions, input and output messages as attributes.
func detailsContent(attrs map[string]any) (sys []Part, in, out []Message, ok bool) {
	if v, has := attrs["gen_ai.system_instructions"]; has {
		if p, good := parseSystemInstructions(v); good {
			sys, ok = p, true
		}
	}
	if v, has := attrs["gen_ai.input.messages"]; has {
		if m, good := parseMessages(v, "user"); good {
			in, ok = m, true
		}
	}
	if v, has := attrs["gen_ai.output.messages"]; has {
		if m, good := parseMessages(v, "assistant"); good {
			out, ok = m, true
		}
	}
	return sys, in, out, ok
}

// NormalizeLog reads a log record that carries GenAI content: the
// per-message events (gen_ai.system.message -> KindSystem;
// gen_ai.user.message, gen_ai.assistant.message, gen_ai.tool.message ->
// KindInput; gen_ai.choice -> KindOutput), the older
// gen_ai.content.prompt / gen_ai.content.completion events, and the
// gen_ai.client.inference.operation.details event, which gives one record
// for the system instructions and one per input and output message.
//
// The event name is r.EventName, else the event.name attribute. The body
// may be a map, a JSON string or plain text; when the body is empty the
// gen_ai.event.content attribute is read instead. The records get Seq
// r.Seq, r.Seq+1, ... in order, so a caller numbering the records of a
// request advances its counter by len(recs). ok is false when the record
// is not a GenAI content event.
func NormalizeLog(r RawLog) (recs []MessageRecord, ok bool) {
	name := r.EventName
	if name == "" {
		name, _ = asString(r.Attributes["event.name"])
	}
	name = strings.TrimSpace(name)
	if !IsContentEvent(name) {
		return nil, false
	}
	body := r.Body
	if body == nil || body == "" {
		if c, has := r.Attributes["gen_ai.event.content"]; has {
			body = c
		}
	}
	rec := func(kind MessageKind, msg Message) MessageRecord {
		return MessageRecord{
			Project:      r.Project,
			TraceID:      r.TraceID,
			SpanID:       r.SpanID,
			TimeUnixNano: r.TimeUnixNano,
			Seq:          r.Seq + len(recs),
			Kind:         kind,
			Message:      msg,
		}
	}
	switch name {
	case EventContentPrompt, EventContentCompletion:
		key, role, kind := "gen_ai.prompt", "user", KindInput
		if name == EventContentCompletion {
			key, role, kind = "gen_ai.completion", "assistant", KindOutput
		}
		v, has := r.Attributes[key]
		if !has {
			if m, isMap := body.(map[string]any); isMap {
				v = m[key]
			} else {
				v = body
			}
		}
		msgs, good := legacyContent(v, role)
		if !good {
			return nil, true
		}
		for _, m := range msgs {
			recs = append(recs, rec(kind, m))
		}
		return recs, true
	case EventInferenceDetails:
		attrs := r.Attributes
		if m, isMap := body.(map[string]any); isMap && !hasContentKeys(attrs) {
			attrs = m
		} else if s, isStr := body.(string); isStr && !hasContentKeys(attrs) {
			if v, good := decodeJSON(s); good {
				if m, isMap := v.(map[string]any); isMap {
					attrs = m
				}
			}
		}
		sys, in, out, _ := detailsContent(attrs)
		if len(sys) > 0 {
			recs = append(recs, rec(KindSystem, Message{Role: "system", Parts: sys}))
		}
		for _, m := range in {
			recs = append(recs, rec(KindInput, m))
		}
		for _, m := range out {
			if m.Role == "" {
				m.Role = "assistant"
			}
			recs = append(recs, rec(KindOutput, m))
		}
		return recs, true
	}
	kind, msg, good := eventMessage(name, body, r.Attributes)
	if !good {
		return nil, true
	}
	return append(recs, rec(kind, msg)), true
}

func hasContentKeys(attrs map[string]any) bool {
	_, a := attrs["gen_ai.input.messages"]
	_, b := attrs["gen_ai.output.messages"]
	_, c := attrs["gen_ai.system_instructions"]
	return a || b || c
}
