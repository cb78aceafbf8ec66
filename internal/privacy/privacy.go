package privacy

import (
	"strings"
	"sync"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/redact"
	"github.com/genscope/genscope/internal/store"
)

// The capture policies.
const (
	Full     = "full"
	Metadata = "metadata"
	Redacted = "redacted"
)

// Policy is what a project keeps of message content.
type Policy struct {
	Capture        string // full ("" too), metadata or redacted
	RedactPatterns []string
}

// Applier applies each record's project policy. It is safe for concurrent
// use.
type Applier struct {
	lookup func(project string) Policy

	mu    sync.Mutex
	cache map[string]compiled // by project
}

type compiled struct {
	key string // the policy it was compiled from
	r   *redact.Redactor
}

// New returns an Applier reading policies through lookup (called for
// every batch, so it should be a map access).
func New(lookup func(project string) Policy) *Applier {
	return &Applier{lookup: lookup, cache: map[string]compiled{}}
}

// redactor returns the compiled redactor of a policy (patterns were
// validated when the project was saved; a pattern that does not compile
// falls back to the built-in rules).
func (a *Applier) redactor(project string, p Policy) *redact.Redactor {
	key := strings.Join(p.RedactPatterns, "\x00")
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.cache[project]; ok && c.key == key {
		return c.r
	}
	r, err := redact.New(p.RedactPatterns)
	if err != nil {
		r, _ = redact.New(nil)
	}
	a.cache[project] = compiled{key: key, r: r}
	return r
}

// Apply enforces the policies on a batch in place, before it is stored.
func (a *Applier) Apply(b *store.Batch) {
	if a == nil || b == nil {
		return
	}
	type pol struct {
		capture string
		r       *redact.Redactor
	}
	pols := map[string]pol{}
	get := func(project string) pol {
		if p, ok := pols[project]; ok {
			return p
		}
		lp := a.lookup(project)
		p := pol{capture: lp.Capture}
		if p.capture == Redacted {
			p.r = a.redactor(project, lp)
		}
		pols[project] = p
		return p
	}
	changed := false
	for i := range b.Spans {
		sp := &b.Spans[i]
		switch p := get(sp.Project); p.capture {
		case Metadata:
			StripSpan(sp)
			changed = true
		case Redacted:
			RedactSpan(sp, p.r)
			changed = true
		}
	}
	msgs := b.Messages[:0]
	for _, m := range b.Messages {
		switch p := get(m.Project); p.capture {
		case Metadata:
			changed = true
			continue
		case Redacted:
			redactParts(m.Message.Parts, p.r)
			changed = true
		}
		msgs = append(msgs, m)
	}
	b.Messages = msgs
	if changed {
		b.Prepared = nil // rows encoded before the policy applied are stale
	}
}

// ContentKey reports whether an attribute or event name carries message
// content in one of the conventions genai reads (kept as attributes
// when the normalizer could not fold them into the typed fields).
func ContentKey(k string) bool {
	for _, p := range contentPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

var contentPrefixes = []string{
	"gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages",
	"gen_ai.system_instructions", "gen_ai.content.", "gen_ai.system.message", "gen_ai.user.message",
	"gen_ai.assistant.message", "gen_ai.tool.message", "gen_ai.choice", "gen_ai.tool.call.arguments",
	"gen_ai.tool.call.result", "llm.input_messages", "llm.output_messages", "llm.prompts", "llm.prompt_template",
	"input.value", "output.value", "traceloop.entity.input", "traceloop.entity.output",
}

// RedactSpan masks what r finds in a span's content, its string
// attribute values, event attributes and status message.
func RedactSpan(sp *genai.Span, r *redact.Redactor) {
	redactParts(sp.SystemInstructions, r)
	for i := range sp.InputMessages {
		redactParts(sp.InputMessages[i].Parts, r)
	}
	for i := range sp.OutputMessages {
		redactParts(sp.OutputMessages[i].Parts, r)
	}
	sp.StatusMessage = r.String(sp.StatusMessage)
	for k, v := range sp.Attributes {
		sp.Attributes[k] = redactAny(v, r, 0)
	}
	for _, e := range sp.Events {
		for k, v := range e.Attributes {
			e.Attributes[k] = redactAny(v, r, 0)
		}
	}
}

func redactParts(parts []genai.Part, r *redact.Redactor) {
	for i := range parts {
		p := &parts[i]
		p.Content = r.String(p.Content)
		p.Arguments = redactAny(p.Arguments, r, 0)
		p.Response = redactAny(p.Response, r, 0)
	}
}

// redactAny masks the strings inside a decoded JSON-like value.
func redactAny(v any, r *redact.Redactor, depth int) any {
	if depth > 64 {
		return nil
	}
	switch x := v.(type) {
	case string:
		if len(x) < 6 {
			return x
		}
		return r.String(x)
	case map[string]any:
		for k, e := range x {
			x[k] = redactAny(e, r, depth+1)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = redactAny(e, r, depth+1)
		}
		return x
	case []string:
		for i, e := range x {
			x[i] = r.String(e)
		}
		return x
	}
	return v
}

// StripSummary removes the content previews of a spans-table row.
func StripSummary(s *store.SpanSummary) { s.System, s.Input, s.Output = "", "", "" }

// StripTrace removes the message content of every span of a trace.
func StripTrace(t *store.Trace) {
	var walk func(n []*store.TraceNode)
	walk = func(ns []*store.TraceNode) {
		for _, n := range ns {
			StripSpan(&n.Span)
			walk(n.Children)
		}
	}
	walk(t.Roots)
}
