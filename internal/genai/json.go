package genai

import (
	"strings"

	json "github.com/goccy/go-json"

	"github.com/genscope/genscope/internal/jsondepth"
)

// This file decodes message content that arrives as JSON text (the
// gen_ai.input.messages, gen_ai.output.messages and
// gen_ai.system_instructions attributes) straight into typed values, in
// one pass. Shapes the typed values cannot hold (a part of a type not
// known here, a message or part that is not an object, a JSON null
// anywhere, values of an unexpected type) fall back to decoding into
// generic values and the readers of content.go, which read every shape.

// jsonItem is one message, or one element of gen_ai.system_instructions
// (a message or a part). Fields that may hold any JSON value are any,
// decoded as encoding/json decodes into an interface.
type jsonItem struct {
	Role         *string    `json:"role"` // a pointer to tell "absent" from ""
	Name         string     `json:"name"`
	FinishReason string     `json:"finish_reason"`
	Parts        []jsonPart `json:"parts"`
	Content      any        `json:"content"`
	ToolCalls    any        `json:"tool_calls"`
	ToolCallID   string     `json:"tool_call_id"`
	ID           string     `json:"id"`
	Message      *jsonItem  `json:"message"` // a choice: {index, finish_reason, message}
	Type         string     `json:"type"`    // when the item is a part
}

// jsonPart is one part of a message.
type jsonPart struct {
	Type       string `json:"type"`
	Content    any    `json:"content"`
	Text       any    `json:"text"`
	ID         string `json:"id"`
	Name       string `json:"name"`
	ToolCallID string `json:"tool_call_id"`
	Arguments  any    `json:"arguments"`
	Input      any    `json:"input"`
	Response   any    `json:"response"`
	Result     any    `json:"result"`
	Output     any    `json:"output"`
}

// typedJSON reports whether s (trimmed, starting with [ or {) may be
// decoded into jsonItems: a null gives no jsonItem field a meaning of its
// own, but the generic readers tell a null from an absent key, so any
// text containing one goes the generic way.
func typedJSON(s string) bool { return !strings.Contains(s, "null") }

// decodeItems decodes s, a JSON list of items or one item, into items.
// ok is false when s does not fit the typed shape; the caller then reads
// it the generic way.
func decodeItems(s string) (items []jsonItem, ok bool) {
	if !typedJSON(s) || jsondepth.Check(s, MaxValueDepth) != nil {
		return nil, false
	}
	if s[0] == '{' {
		items = make([]jsonItem, 1)
		if json.Unmarshal([]byte(s), &items[0]) != nil {
			return nil, false
		}
		return items, true
	}
	if json.Unmarshal([]byte(s), &items) != nil {
		return nil, false
	}
	if items == nil {
		items = []jsonItem{}
	}
	return items, true
}

// knownPartType reports whether parts of type t are read from the typed
// fields alone (parts of other types keep all their fields, which only
// the generic reader sees).
func knownPartType(t string) bool {
	switch t {
	case "", "text", "input_text", "output_text", "reasoning", "thinking",
		"tool_call", "function_call", "tool_use",
		"tool_call_response", "function_call_output", "tool_result":
		return true
	}
	return false
}

// typedParts reports whether every part of it (and of its choice
// message) has a known type.
func (it *jsonItem) typedParts() bool {
	for i := range it.Parts {
		if !knownPartType(it.Parts[i].Type) {
			return false
		}
	}
	return it.Message == nil || it.Message.typedParts()
}

// message is parseMessage for a typed item.
func (it *jsonItem) message(defaultRole string) Message {
	if it.Message != nil {
		msg := it.Message.message(defaultRole)
		if msg.FinishReason == "" {
			msg.FinishReason = it.FinishReason
		}
		return msg
	}
	msg := Message{Name: it.Name, FinishReason: it.FinishReason}
	if it.Role != nil {
		msg.Role = *it.Role
	}
	if msg.Role == "" {
		msg.Role = defaultRole
	}
	if it.Parts != nil {
		msg.Parts = make([]Part, len(it.Parts))
		for i := range it.Parts {
			msg.Parts[i] = it.Parts[i].part()
		}
		return msg
	}
	callID := it.ToolCallID
	if callID == "" && msg.Role == "tool" {
		callID = it.ID
	}
	if it.Content != nil {
		if msg.Role == "tool" && callID != "" {
			msg.Parts = append(msg.Parts, Part{Type: "tool_call_response", ID: callID, Response: it.Content})
		} else {
			msg.Parts = appendContent(msg.Parts, it.Content)
		}
	}
	msg.Parts = appendToolCalls(msg.Parts, it.ToolCalls)
	if msg.Parts == nil {
		msg.Parts = []Part{}
	}
	return msg
}

// part is parsePart for a typed part of a known type.
func (it *jsonPart) part() Part {
	p := Part{Type: it.Type}
	switch it.Type {
	case "tool_call", "function_call", "tool_use":
		p.Type, p.ID, p.Name = "tool_call", it.ID, it.Name
		p.Arguments = it.Arguments
		if p.Arguments == nil {
			p.Arguments = it.Input
		}
	case "tool_call_response", "function_call_output", "tool_result":
		p.Type, p.ID = "tool_call_response", it.ID
		if p.ID == "" {
			p.ID = it.ToolCallID
		}
		for _, r := range [...]any{it.Response, it.Result, it.Output, it.Content} {
			if r != nil {
				p.Response = r
				break
			}
		}
	default: // text and reasoning
		if p.Type == "" || p.Type == "input_text" || p.Type == "output_text" {
			p.Type = "text"
		}
		if it.Content != nil {
			p.Content = textOf(it.Content)
		} else {
			p.Content = textOf(it.Text)
		}
	}
	return p
}

// messagesJSON is parseMessages for JSON text s (trimmed, starting with [
// or {); ok is false when s does not fit the typed shape.
func messagesJSON(s, defaultRole string) ([]Message, bool) {
	items, ok := decodeItems(s)
	if !ok {
		return nil, false
	}
	for i := range items {
		if !items[i].typedParts() {
			return nil, false
		}
	}
	out := make([]Message, len(items))
	for i := range items {
		out[i] = items[i].message(defaultRole)
	}
	return out, true
}

// jsonSystemItem is one element of gen_ai.system_instructions: a part,
// or a message (when it has parts or a role).
type jsonSystemItem struct {
	jsonPart                // type, content, id, name, tool_call_id, ...
	Role         *string    `json:"role"`
	FinishReason string     `json:"finish_reason"`
	Parts        []jsonPart `json:"parts"`
	ToolCalls    any        `json:"tool_calls"`
	Message      *jsonItem  `json:"message"`
}

// isMessage reports whether the element is read as a message.
func (e *jsonSystemItem) isMessage() bool { return e.Parts != nil || e.Role != nil }

func (e *jsonSystemItem) item() jsonItem {
	return jsonItem{Role: e.Role, Name: e.Name, FinishReason: e.FinishReason, Parts: e.Parts, Content: e.Content,
		ToolCalls: e.ToolCalls, ToolCallID: e.ToolCallID, ID: e.ID, Message: e.Message}
}

// systemJSON is parseSystemInstructions for JSON text s (trimmed,
// starting with [ or {); ok is false when s does not fit the typed shape.
func systemJSON(s string) ([]Part, bool) {
	if s[0] == '{' {
		items, ok := decodeItems(s)
		if !ok || !items[0].typedParts() {
			return nil, false
		}
		return items[0].message("system").Parts, true
	}
	if !typedJSON(s) || jsondepth.Check(s, MaxValueDepth) != nil {
		return nil, false
	}
	var elems []jsonSystemItem
	if json.Unmarshal([]byte(s), &elems) != nil {
		return nil, false
	}
	for i := range elems {
		e := &elems[i]
		if e.isMessage() {
			it := e.item()
			if !it.typedParts() {
				return nil, false
			}
		} else if !knownPartType(e.Type) {
			return nil, false
		}
	}
	parts := make([]Part, 0, len(elems))
	for i := range elems {
		e := &elems[i]
		if e.isMessage() {
			it := e.item()
			parts = append(parts, it.message("system").Parts...)
			continue
		}
		parts = append(parts, e.part())
	}
	return parts, true
}

// decodeJSON parses s as a JSON object or array into generic Go values
// (map[string]any, []any, string, float64, bool, nil). ok is false when s
// is not one.
func decodeJSON(s string) (any, bool) {
	t := strings.TrimSpace(s)
	if t == "" || (t[0] != '[' && t[0] != '{') || jsondepth.Check(t, MaxValueDepth) != nil {
		return nil, false
	}
	var v any
	if json.Unmarshal([]byte(t), &v) != nil {
		return nil, false
	}
	return v, true
}
