package genai

import "strings"

// This file reads message content of every shape into Messages and Parts:
// the "parts" shape of the current conventions, the OpenAI chat shape
// ({role, content, tool_calls}) the event conventions and older
// instrumentations use, and the bodies of gen_ai.* events.

// parseMessages reads a list of messages from v (a []any, or a JSON
// string of one). ok is false when v is not a list of messages.
func parseMessages(v any, defaultRole string) ([]Message, bool) {
	if t, ok := jsonText(v); ok {
		if msgs, ok := messagesJSON(t, defaultRole); ok {
			return msgs, true
		}
	}
	sv, ok := structured(v)
	if !ok {
		return nil, false
	}
	list, ok := sv.([]any)
	if !ok {
		if m, isMap := sv.(map[string]any); isMap {
			// One message rather than a list of them.
			return []Message{parseMessage(m, defaultRole)}, true
		}
		return nil, false
	}
	out := make([]Message, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, parseMessage(m, defaultRole))
	}
	return out, true
}

// parseMessage reads one message in the parts shape, the OpenAI shape, or
// the choice shape ({index, finish_reason, message{...}}).
func parseMessage(m map[string]any, defaultRole string) Message {
	if inner, ok := m["message"].(map[string]any); ok {
		msg := parseMessage(inner, defaultRole)
		if fr, ok := asString(m["finish_reason"]); ok && msg.FinishReason == "" {
			msg.FinishReason = fr
		}
		return msg
	}
	var msg Message
	msg.Role, _ = asString(m["role"])
	if msg.Role == "" {
		msg.Role = defaultRole
	}
	msg.Name, _ = asString(m["name"])
	msg.FinishReason, _ = asString(m["finish_reason"])
	if parts, ok := m["parts"].([]any); ok {
		msg.Parts = parseParts(parts)
		return msg
	}
	callID, _ := asString(m["tool_call_id"])
	if callID == "" && msg.Role == "tool" {
		callID, _ = asString(m["id"])
	}
	if c, ok := m["content"]; ok && c != nil {
		if msg.Role == "tool" && callID != "" {
			msg.Parts = append(msg.Parts, Part{Type: "tool_call_response", ID: callID, Response: c})
		} else {
			msg.Parts = appendContent(msg.Parts, c)
		}
	}
	msg.Parts = appendToolCalls(msg.Parts, m["tool_calls"])
	if msg.Parts == nil {
		msg.Parts = []Part{}
	}
	return msg
}

// appendToolCalls appends the tool calls of a message's tool_calls value
// (a list, or a JSON string of one).
func appendToolCalls(parts []Part, v any) []Part {
	if v == nil {
		return parts
	}
	if calls, ok := structured(v); ok {
		if list, ok := calls.([]any); ok {
			for _, e := range list {
				if c, ok := e.(map[string]any); ok {
					parts = append(parts, toolCallPart(c))
				}
			}
		}
	}
	return parts
}

// jsonText returns v, trimmed, when it is a string of a JSON list or
// object (by its first character).
func jsonText(v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	t := strings.TrimSpace(s)
	if t == "" || (t[0] != '[' && t[0] != '{') {
		return "", false
	}
	return t, true
}

// toolCallPart reads a tool call in the OpenAI shape ({id, type,
// function{name, arguments}}) or the flat shape ({id, name, arguments}).
func toolCallPart(c map[string]any) Part {
	p := Part{Type: "tool_call"}
	p.ID, _ = asString(c["id"])
	p.Name, _ = asString(c["name"])
	p.Arguments = c["arguments"]
	if f, ok := c["function"].(map[string]any); ok {
		if n, ok := asString(f["name"]); ok {
			p.Name = n
		}
		if a, ok := f["arguments"]; ok {
			p.Arguments = a
		}
	}
	return p
}

// appendContent appends the parts of a content value: a string is one
// text part; a list holds parts in the parts shape or the OpenAI content
// part shape ({type: text, text}, {type: image_url, image_url{url}}).
func appendContent(parts []Part, c any) []Part {
	switch x := c.(type) {
	case string:
		return append(parts, Part{Type: "text", Content: x})
	case []any:
		return append(parts, parseParts(x)...)
	case map[string]any:
		return append(parts, parsePart(x))
	case nil:
		return parts
	}
	return append(parts, Part{Type: "text", Content: textOf(c)})
}

func parseParts(list []any) []Part {
	out := make([]Part, 0, len(list))
	for _, e := range list {
		switch x := e.(type) {
		case map[string]any:
			out = append(out, parsePart(x))
		case string:
			out = append(out, Part{Type: "text", Content: x})
		}
	}
	return out
}

// parsePart reads one part. Known types map to Part's fields; for any
// other type the main value goes to Content and the remaining fields (uri,
// mime_type, modality, ...) to Response.
func parsePart(m map[string]any) Part {
	typ, _ := asString(m["type"])
	p := Part{Type: typ}
	switch typ {
	case "", "text", "input_text", "output_text", "reasoning", "thinking":
		if p.Type == "" || p.Type == "input_text" || p.Type == "output_text" {
			p.Type = "text"
		}
		if c, ok := m["content"]; ok {
			p.Content = textOf(c)
		} else if t, ok := m["text"]; ok {
			p.Content = textOf(t)
		}
		return p
	case "tool_call", "function_call", "tool_use":
		p.Type = "tool_call"
		p.ID, _ = asString(m["id"])
		p.Name, _ = asString(m["name"])
		p.Arguments = m["arguments"]
		if p.Arguments == nil {
			p.Arguments = m["input"]
		}
		return p
	case "tool_call_response", "function_call_output", "tool_result":
		p.Type = "tool_call_response"
		p.ID, _ = asString(m["id"])
		if p.ID == "" {
			p.ID, _ = asString(m["tool_call_id"])
		}
		for _, k := range [...]string{"response", "result", "output", "content"} {
			if r, ok := m[k]; ok {
				p.Response = r
				break
			}
		}
		return p
	}
	var rest map[string]any
	for k, v := range m {
		switch k {
		case "type":
			continue
		case "content", "uri", "url", "text":
			if p.Content == "" {
				p.Content = textOf(v)
				continue
			}
		case "image_url":
			if u, ok := v.(map[string]any); ok && p.Content == "" {
				p.Content, _ = asString(u["url"])
				continue
			}
		}
		if rest == nil {
			rest = make(map[string]any, len(m))
		}
		rest[k] = v
	}
	if rest != nil {
		p.Response = rest
	}
	return p
}

// parseSystemInstructions reads gen_ai.system_instructions: a list of
// parts (or of messages), or plain text.
func parseSystemInstructions(v any) ([]Part, bool) {
	if t, ok := jsonText(v); ok {
		if parts, ok := systemJSON(t); ok {
			return parts, true
		}
	}
	sv, ok := structured(v)
	if !ok {
		if s, isStr := v.(string); isStr && strings.TrimSpace(s) != "" {
			return []Part{{Type: "text", Content: s}}, true
		}
		return nil, false
	}
	switch x := sv.(type) {
	case []any:
		var parts []Part
		for _, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				if s, ok := e.(string); ok {
					parts = append(parts, Part{Type: "text", Content: s})
				}
				continue
			}
			if _, isMsg := m["parts"]; isMsg {
				parts = append(parts, parseMessage(m, "system").Parts...)
				continue
			}
			if _, hasRole := m["role"]; hasRole {
				parts = append(parts, parseMessage(m, "system").Parts...)
				continue
			}
			parts = append(parts, parsePart(m))
		}
		if parts == nil {
			parts = []Part{}
		}
		return parts, true
	case map[string]any:
		return parseMessage(x, "system").Parts, true
	}
	return nil, false
}

// IsSystemRole reports whether a message of role carries system
// instructions ("system", or "developer" as OpenAI's newer models call it).
func IsSystemRole(role string) bool { return role == "system" || role == "developer" }

// systemParts collects the parts of the role=system messages of msgs.
func systemParts(msgs []Message) []Part {
	var out []Part
	for i := range msgs {
		if IsSystemRole(msgs[i].Role) {
			out = append(out, msgs[i].Parts...)
		}
	}
	return out
}

// dropSystem removes the system messages from msgs, in place: all of them
// when sys is nil (they became the span's system instructions), else
// those whose every text part is found in sys's text (a repeat of the
// explicit instructions). A non-nil msgs stays non-nil (the span still
// carries its input, if empty).
func dropSystem(msgs []Message, sys []Part) []Message {
	var sysText strings.Builder
	for _, p := range sys {
		sysText.WriteString(p.Content)
		sysText.WriteByte('\n')
	}
	out := msgs[:0]
	for _, m := range msgs {
		if IsSystemRole(m.Role) && (sys == nil || repeats(m.Parts, sysText.String())) {
			continue
		}
		out = append(out, m)
	}
	return out
}

// repeats reports whether parts has text and all of it is in text.
func repeats(parts []Part, text string) bool {
	seen := false
	for _, p := range parts {
		if p.Content == "" {
			continue
		}
		if !strings.Contains(text, p.Content) {
			return false
		}
		seen = true
	}
	return seen
}
