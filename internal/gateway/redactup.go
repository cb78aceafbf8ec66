package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// contentMembers are the request members that carry people's words: the
// chat messages, an embedding's input, a completion's prompt.
var contentMembers = []string{"messages", "input", "prompt", "instructions"}

// RedactedUpstreamAttribute is set (true) on a call whose request had
// personal data masked before it went upstream (redact_upstream).
const RedactedUpstreamAttribute = "genscope.gateway.redacted_upstream"

// redactRequest masks personal data (the redaction patterns: e-mail
// addresses, phone, card and IBAN numbers, keys, and the configured
// ones) in the strings of the request's content members, before the call
// goes upstream. The rest of the body passes byte for byte; a content
// member with nothing to mask too. It reports whether anything was
// masked.
func (g *Gateway) redactRequest(body []byte, ms []member) ([]byte, []member, bool, error) {
	var edits []edit
	for _, name := range contentMembers {
		m, ok := find(body, ms, name)
		if !ok {
			continue
		}
		val := m.value(body)
		dec := json.NewDecoder(bytes.NewReader(val))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", name, err)
		}
		changed := false
		v = g.redactValue(v, &changed)
		if !changed {
			continue
		}
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", name, err)
		}
		edits = append(edits, edit{start: m.valStart, end: m.valEnd, text: bytes.TrimSuffix(out.Bytes(), []byte("\n"))})
	}
	if len(edits) == 0 {
		return body, ms, false, nil
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
	out := applyEdits(body, edits)
	nms, err := topLevel(out)
	if err != nil {
		return nil, nil, false, err
	}
	return out, nms, true, nil
}

// redactValue masks the strings in v (objects' values, not their keys),
// noting whether any changed.
func (g *Gateway) redactValue(v any, changed *bool) any {
	switch x := v.(type) {
	case string:
		r := g.redact.String(x)
		if r != x {
			*changed = true
		}
		return r
	case []any:
		for i := range x {
			x[i] = g.redactValue(x[i], changed)
		}
	case map[string]any:
		for k := range x {
			x[k] = g.redactValue(x[k], changed)
		}
	}
	return v
}
