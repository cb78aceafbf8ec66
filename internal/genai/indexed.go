package genai

import (
	"slices"
	"strings"
)

// This file reads messages flattened into indexed span attributes:
// OpenLLMetry/Traceloop's gen_ai.prompt.N.* and gen_ai.completion.N.*,
// and OpenInference's llm.input_messages.N.message.* and
// llm.output_messages.N.message.*. Indices are kept sparse (sorted, never
// used to size a slice), so gen_ai.prompt.99999999.content costs what
// gen_ai.prompt.0.content does.

// The families of indexed attributes.
const (
	famPrompt     uint8 = iota // gen_ai.prompt.N.*
	famCompletion              // gen_ai.completion.N.*
	famOIInput                 // llm.input_messages.N.message.*
	famOIOutput                // llm.output_messages.N.message.*
)

// The groups inside one indexed message.
const (
	grpMessage  uint8 = iota // a field of the message itself
	grpContent               // contents.M.* (OpenInference content parts)
	grpToolCall              // tool_calls.M.*
)

// flatAttr is one parsed indexed attribute.
type flatAttr struct {
	fam   uint8
	grp   uint8
	idx   int
	sub   int
	field string // role, content, finish_reason, tool_call_id, name; id, name, arguments, type, text, url
	val   any
}

// maxIndexDigits bounds an index: longer ones are not parsed (the key
// stays an ordinary attribute).
const maxIndexDigits = 9

// parseIndex reads "N." at the start of s and returns N and the rest.
func parseIndex(s string) (n int, rest string, ok bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		if i == maxIndexDigits {
			return 0, "", false
		}
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i == 0 || i >= len(s) || s[i] != '.' {
		return 0, "", false
	}
	return n, s[i+1:], true
}

// parseIndexedKey recognizes an indexed message attribute.
func parseIndexedKey(key string, val any) (flatAttr, bool) {
	var a flatAttr
	var rest string
	switch {
	case strings.HasPrefix(key, "gen_ai.prompt."):
		a.fam, rest = famPrompt, key[len("gen_ai.prompt."):]
	case strings.HasPrefix(key, "gen_ai.completion."):
		a.fam, rest = famCompletion, key[len("gen_ai.completion."):]
	case strings.HasPrefix(key, "llm.input_messages."):
		a.fam, rest = famOIInput, key[len("llm.input_messages."):]
	case strings.HasPrefix(key, "llm.output_messages."):
		a.fam, rest = famOIOutput, key[len("llm.output_messages."):]
	default:
		return a, false
	}
	var ok bool
	a.idx, rest, ok = parseIndex(rest)
	if !ok {
		return a, false
	}
	a.val = val
	if a.fam >= famOIInput {
		rest, ok = strings.CutPrefix(rest, "message.")
		if !ok {
			return a, false
		}
		return a, parseOIField(&a, rest)
	}
	return a, parseTraceloopField(&a, rest)
}

func parseTraceloopField(a *flatAttr, f string) bool {
	switch f {
	case "role", "content", "finish_reason", "tool_call_id", "name":
		a.field = f
		return true
	}
	rest, ok := strings.CutPrefix(f, "tool_calls.")
	if !ok {
		return false
	}
	a.grp = grpToolCall
	a.sub, rest, ok = parseIndex(rest)
	if !ok {
		return false
	}
	switch rest {
	case "id", "name", "arguments", "type":
		a.field = rest
		return true
	}
	return false
}

func parseOIField(a *flatAttr, f string) bool {
	switch f {
	case "role", "content", "name", "tool_call_id", "finish_reason":
		a.field = f
		return true
	}
	var rest string
	var ok bool
	if rest, ok = strings.CutPrefix(f, "contents."); ok {
		a.grp = grpContent
		a.sub, rest, ok = parseIndex(rest)
		if !ok {
			return false
		}
		switch rest {
		case "message_content.type":
			a.field = "type"
		case "message_content.text":
			a.field = "text"
		case "message_content.image.image.url":
			a.field = "url"
		default:
			return false
		}
		return true
	}
	if rest, ok = strings.CutPrefix(f, "tool_calls."); ok {
		a.grp = grpToolCall
		a.sub, rest, ok = parseIndex(rest)
		if !ok {
			return false
		}
		switch rest {
		case "tool_call.id":
			a.field = "id"
		case "tool_call.function.name":
			a.field = "name"
		case "tool_call.function.arguments":
			a.field = "arguments"
		default:
			return false
		}
		return true
	}
	return false
}

// buildIndexed turns the parsed indexed attributes into messages, one
// list per family, in index order.
func buildIndexed(flat []flatAttr) (out [4][]Message) {
	slices.SortFunc(flat, func(x, y flatAttr) int {
		switch {
		case x.fam != y.fam:
			return int(x.fam) - int(y.fam)
		case x.idx != y.idx:
			return cmpInt(x.idx, y.idx)
		case x.grp != y.grp:
			return int(x.grp) - int(y.grp)
		case x.sub != y.sub:
			return cmpInt(x.sub, y.sub)
		}
		return strings.Compare(x.field, y.field)
	})
	for i := 0; i < len(flat); {
		j := i + 1
		for j < len(flat) && flat[j].fam == flat[i].fam && flat[j].idx == flat[i].idx {
			j++
		}
		fam := flat[i].fam
		out[fam] = append(out[fam], buildIndexedMessage(flat[i:j]))
		i = j
	}
	return out
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// buildIndexedMessage builds one message from its attributes, sorted by
// group and sub-index.
func buildIndexedMessage(attrs []flatAttr) Message {
	var msg Message
	var content any
	hasContent := false
	var callID string
	var parts []Part
	for i := 0; i < len(attrs); {
		a := attrs[i]
		if a.grp == grpMessage {
			switch a.field {
			case "role":
				msg.Role, _ = asString(a.val)
			case "name":
				msg.Name, _ = asString(a.val)
			case "finish_reason":
				msg.FinishReason, _ = asString(a.val)
			case "tool_call_id":
				callID, _ = asString(a.val)
			case "content":
				content, hasContent = a.val, true
			}
			i++
			continue
		}
		j := i + 1
		for j < len(attrs) && attrs[j].grp == a.grp && attrs[j].sub == a.sub {
			j++
		}
		var p Part
		if a.grp == grpToolCall {
			p.Type = "tool_call"
		} else {
			p.Type = "text"
		}
		for _, b := range attrs[i:j] {
			switch b.field {
			case "id":
				p.ID, _ = asString(b.val)
			case "name":
				p.Name, _ = asString(b.val)
			case "arguments":
				p.Arguments = b.val
			case "text":
				p.Content = textOf(b.val)
			case "url":
				p.Content = textOf(b.val)
				if p.Type == "text" {
					p.Type = "image"
				}
			case "type":
				if t, _ := asString(b.val); t != "" && t != "function" && a.grp == grpContent {
					p.Type = t
				}
			}
		}
		parts = append(parts, p)
		i = j
	}
	var head []Part
	if hasContent {
		if msg.Role == "tool" && callID != "" {
			head = []Part{{Type: "tool_call_response", ID: callID, Response: content}}
		} else if s, ok := content.(string); ok {
			// Some instrumentations put a JSON list of content parts here.
			if t := strings.TrimSpace(s); strings.HasPrefix(t, "[{") {
				if v, ok := decodeJSON(t); ok {
					if list, ok := v.([]any); ok && looksLikeParts(list) {
						head = parseParts(list)
					}
				}
			}
			if head == nil {
				head = []Part{{Type: "text", Content: s}}
			}
		} else {
			head = appendContent(nil, content)
		}
	}
	msg.Parts = append(head, parts...)
	if msg.Parts == nil {
		msg.Parts = []Part{}
	}
	return msg
}

// looksLikeParts reports whether every element of list is an object with
// a string "type".
func looksLikeParts(list []any) bool {
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return false
		}
		if _, ok := m["type"].(string); !ok {
			return false
		}
	}
	return len(list) > 0
}
