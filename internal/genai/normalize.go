package genai

import (
	"iter"
	"math"
	"strconv"
	"strings"
)

// DefaultService is the service name of a span whose resource has no
// service.name, as the OpenTelemetry SDKs name it.
const DefaultService = "unknown_service"

// Normalize turns a span of any GenAI semantic-convention generation into
// the canonical record. It reads, in order of precedence when a value is
// given more than once:
//
//   - the current gen_ai.* attributes (gen_ai.provider.name,
//     gen_ai.usage.input_tokens, gen_ai.input.messages, ...) and their
//     deprecated forms (gen_ai.system, gen_ai.usage.prompt_tokens, ...);
//   - content as span events: gen_ai.client.inference.operation.details,
//     then gen_ai.system.message / gen_ai.user.message /
//     gen_ai.assistant.message / gen_ai.tool.message / gen_ai.choice, then
//     gen_ai.content.prompt / gen_ai.content.completion;
//   - OpenLLMetry/Traceloop attributes (gen_ai.prompt.N.*,
//     gen_ai.completion.N.*, llm.request.type, llm.usage.*);
//   - OpenInference attributes (openinference.span.kind, llm.model_name,
//     llm.token_count.*, llm.input_messages.N.*, llm.output_messages.N.*,
//     llm.invocation_parameters).
//
// Keys mapped to typed fields are removed from the attributes; events
// folded into the content are removed from the events; everything else is
// kept. The system message is stored once: the parts of role=system (and
// developer) input messages become SystemInstructions when the span has
// no explicit system instructions, and leave InputMessages; with
// explicit ones, the system messages of InputMessages that repeat them
// leave InputMessages (others stay, in their place).
//
// Normalize takes ownership of r.Attributes and r.Events (it removes what
// it maps, in place); it only reads r.Resource, which may be shared by
// many spans and becomes the span's ResourceAttributes. It never panics,
// whatever the attribute values.
func Normalize(r RawSpan) Span {
	n := norm{attrs: r.Attributes}
	for k, v := range r.Attributes {
		if n.attr(k, AnyValue(v)) {
			delete(r.Attributes, k)
		}
	}
	return n.span(&r)
}

// NormalizeAttrs is Normalize for a source that iterates attributes of
// its own representation: attrs yields them (r.Attributes is not read),
// and only those not mapped to typed fields are boxed into the span's
// Attributes map.
func NormalizeAttrs(r RawSpan, attrs iter.Seq2[string, Value]) Span {
	var n norm
	for k, v := range attrs {
		if !n.attr(k, v) {
			n.keep(k, v.Any())
		}
	}
	return n.span(&r)
}

// span builds the span from r and what n read of the attributes.
func (n *norm) span(r *RawSpan) Span {
	s := Span{
		Project:       r.Project,
		TraceID:       r.TraceID,
		SpanID:        r.SpanID,
		ParentSpanID:  r.ParentSpanID,
		Name:          r.Name,
		Kind:          NormalizeKind(r.Kind),
		Service:       DefaultService,
		ScopeName:     r.ScopeName,
		Source:        r.Source,
		StartUnixNano: r.StartUnixNano,
		Status:        r.Status,
		StatusMessage: r.StatusMessage,
	}
	if r.EndUnixNano > r.StartUnixNano {
		s.DurationNano = r.EndUnixNano - r.StartUnixNano
	}
	if s.Status == "" {
		s.Status = StatusUnset
	}
	if name, ok := r.Resource["service.name"].(string); ok && name != "" {
		s.Service = name
	}
	if len(r.Resource) > 0 {
		s.ResourceAttributes = r.Resource
	}

	n.events(r.Events)
	n.resolve(&s)

	if len(n.attrs) > 0 {
		s.Attributes = n.attrs
	}
	if len(n.keptEvents) > 0 {
		s.Events = n.keptEvents
	}
	if s.ErrorType != "" {
		s.Status = StatusError
	}
	return s
}

// slot is a value with the precedence of the key it came from; a value
// from a key of higher precedence replaces it.
type slot[T any] struct {
	v   T
	pri int8
}

func (s *slot[T]) set(v T, pri int8) {
	if pri > s.pri {
		s.v, s.pri = v, pri
	}
}

func (s *slot[T]) ok() bool { return s.pri > 0 }

// The precedences of the conventions: current over deprecated over
// vendor-specific.
const (
	priVendor     int8 = 1
	priDeprecated int8 = 2
	priCurrent    int8 = 3
)

// norm accumulates what the attributes and events of one span say.
type norm struct {
	op, provider, reqModel, respModel, respID slot[string]
	session, user, errType                    slot[string]
	finish                                    slot[[]string]
	httpStatus                                slot[int64]
	in, out, total, cached, reasoning         slot[int64]
	ttft                                      slot[int64]
	temperature, topP                         slot[float64]
	maxTokens                                 slot[int64]
	stream                                    slot[bool]

	agent, tool                                slot[string]
	oiKind, oiProvider, oiSystem, oiInvocation string
	oiFinish, tlKind, tlEntity                 string

	// Content, kept raw until the end so a value that fails to parse can
	// go back to the attributes.
	inputAttr, outputAttr, systemAttr any

	flat []flatAttr

	// The attributes not mapped to typed fields.
	attrs map[string]any

	// Content from span events.
	detIn, detOut                  []Message
	detSys                         []Part
	evIn, evOut                    []Message
	evSys                          []Part
	legacyIn, legacyOut            []Message
	hasDetIn, hasDetOut, hasDetSys bool
	hasEvIn, hasEvOut, hasEvSys    bool
	hasLegacyIn, hasLegacyOut      bool
	keptEvents                     []Event
}

// keep puts an attribute back into (or leaves it in) the attributes.
func (n *norm) keep(k string, v any) {
	if n.attrs == nil {
		n.attrs = make(map[string]any)
	}
	n.attrs[k] = v
}

// attr reads one span attribute; it reports whether the key is mapped to
// a typed field (and so leaves the attributes).
func (n *norm) attr(k string, v Value) bool {
	switch k {
	// Operation, provider, models.
	case "gen_ai.operation.name":
		if s, ok := v.str(); ok && s != "" {
			n.op.set(NormalizeOperation(s), priCurrent)
		}
	case "llm.request.type":
		if s, ok := v.str(); ok && s != "" {
			if op := NormalizeOperation(s); op != "" {
				n.op.set(op, priVendor)
			}
		}
	case "openinference.span.kind":
		s, _ := v.str()
		n.oiKind = s
		// Only a kind that becomes the operation leaves the attributes;
		// the others (CHAIN, RETRIEVER, ...) stay visible.
		return openInferenceOperation(s) != ""
	case "traceloop.span.kind":
		n.tlKind, _ = v.str()
		return false
	case "traceloop.entity.name":
		n.tlEntity, _ = v.str()
		return false
	case "gen_ai.agent.name":
		n.setStr(&n.agent, v, priCurrent)
	case "agent.name":
		n.setStr(&n.agent, v, priVendor)
	case "gen_ai.tool.name":
		n.setStr(&n.tool, v, priCurrent)
	case "tool.name":
		n.setStr(&n.tool, v, priVendor)
	case "gen_ai.provider.name":
		n.setStr(&n.provider, v, priCurrent)
	case "gen_ai.system":
		n.setStr(&n.provider, v, priDeprecated)
	case "llm.provider":
		n.oiProvider, _ = v.str()
	case "llm.system":
		n.oiSystem, _ = v.str()
	case "gen_ai.request.model":
		n.setStr(&n.reqModel, v, priCurrent)
	case "llm.request.model":
		n.setStr(&n.reqModel, v, priVendor)
	case "gen_ai.response.model":
		n.setStr(&n.respModel, v, priCurrent)
	case "llm.model_name", "llm.response.model", "embedding.model_name":
		n.setStr(&n.respModel, v, priVendor)
	case "gen_ai.response.id":
		n.setStr(&n.respID, v, priCurrent)
	case "gen_ai.response.finish_reasons":
		if fr, ok := asStrings(v.Any()); ok {
			n.finish.set(fr, priCurrent)
		}
	case "llm.finish_reason":
		n.oiFinish, _ = v.str()

	// Request parameters.
	case "gen_ai.request.temperature", "llm.request.temperature":
		if f, ok := v.float(); ok {
			n.temperature.set(f, pri(k))
		}
	case "gen_ai.request.top_p", "llm.request.top_p", "llm.top_p":
		if f, ok := v.float(); ok {
			n.topP.set(f, pri(k))
		}
	case "gen_ai.request.max_tokens", "llm.request.max_tokens":
		if i, ok := v.count(); ok {
			n.maxTokens.set(i, pri(k))
		}
	case "gen_ai.request.stream", "gen_ai.request.streaming", "gen_ai.response.streaming", "llm.is_streaming":
		if b, ok := v.boolean(); ok {
			n.stream.set(b, pri(k))
		}
	case "llm.invocation_parameters":
		n.oiInvocation, _ = v.str()
		return false // the whole parameter set stays visible

	// Usage.
	case "gen_ai.usage.input_tokens":
		n.setCount(&n.in, v, priCurrent)
	case "gen_ai.usage.prompt_tokens":
		n.setCount(&n.in, v, priDeprecated)
	case "llm.usage.prompt_tokens", "llm.token_count.prompt":
		n.setCount(&n.in, v, priVendor)
	case "gen_ai.usage.output_tokens":
		n.setCount(&n.out, v, priCurrent)
	case "gen_ai.usage.completion_tokens":
		n.setCount(&n.out, v, priDeprecated)
	case "llm.usage.completion_tokens", "llm.token_count.completion":
		n.setCount(&n.out, v, priVendor)
	case "gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total":
		// Not a typed field (it is derived), so it stays; used to fill a
		// missing input or output count.
		if c, ok := v.count(); ok {
			n.total.set(c, priVendor)
		}
		return false
	case "gen_ai.usage.cache_read.input_tokens":
		n.setCount(&n.cached, v, priCurrent)
	case "gen_ai.usage.cached_tokens", "gen_ai.usage.cache_read_input_tokens",
		"gen_ai.usage.input_cached_tokens", "gen_ai.usage.cached_input_tokens":
		n.setCount(&n.cached, v, priDeprecated)
	case "llm.token_count.prompt_details.cache_read", "llm.usage.cache_read_input_tokens":
		n.setCount(&n.cached, v, priVendor)
	case "gen_ai.usage.reasoning.output_tokens":
		n.setCount(&n.reasoning, v, priCurrent)
	case "gen_ai.usage.reasoning_tokens", "gen_ai.usage.output_reasoning_tokens":
		n.setCount(&n.reasoning, v, priDeprecated)
	case "llm.token_count.completion_details.reasoning", "llm.usage.reasoning_tokens":
		n.setCount(&n.reasoning, v, priVendor)

	// Time to first token, in seconds.
	case "gen_ai.response.time_to_first_chunk":
		n.setSeconds(&n.ttft, v, priCurrent)
	case "gen_ai.response.time_to_first_token", "gen_ai.server.time_to_first_token":
		n.setSeconds(&n.ttft, v, priDeprecated)

	// Session, user, outcome.
	case "gen_ai.conversation.id":
		n.setStr(&n.session, v, priCurrent)
	case "session.id":
		n.setStr(&n.session, v, priDeprecated)
	case "user.id":
		n.setStr(&n.user, v, priCurrent)
	case "enduser.id":
		n.setStr(&n.user, v, priDeprecated)
	case "error.type":
		n.setStr(&n.errType, v, priCurrent)
	case "http.response.status_code":
		n.setInt(&n.httpStatus, v, priCurrent)
	case "http.status_code":
		n.setInt(&n.httpStatus, v, priDeprecated)

	// Content.
	case "gen_ai.input.messages":
		n.inputAttr = v.Any()
	case "gen_ai.output.messages":
		n.outputAttr = v.Any()
	case "gen_ai.system_instructions":
		n.systemAttr = v.Any()
	default:
		if len(k) > 14 && (k[0] == 'g' || k[0] == 'l') {
			if a, ok := parseIndexedKey(k, v.Any()); ok {
				n.flat = append(n.flat, a)
				return true
			}
		}
		return false
	}
	return true
}

// pri is the precedence of a key by its namespace.
func pri(k string) int8 {
	if strings.HasPrefix(k, "gen_ai.") {
		return priCurrent
	}
	return priVendor
}

func (n *norm) setStr(s *slot[string], v Value, p int8) {
	if x, ok := v.str(); ok && x != "" {
		s.set(x, p)
	} else if v.kind == kindInt {
		s.set(strconv.FormatInt(int64(v.n), 10), p)
	} else if i, ok := v.a.(int64); ok && v.kind == kindAny {
		s.set(strconv.FormatInt(i, 10), p)
	}
}

func (n *norm) setCount(s *slot[int64], v Value, p int8) {
	if c, ok := v.count(); ok {
		s.set(c, p)
	}
}

func (n *norm) setInt(s *slot[int64], v Value, p int8) {
	if c, ok := v.integer(); ok && c > 0 && c < 1000 {
		s.set(c, p)
	}
}

func (n *norm) setSeconds(s *slot[int64], v Value, p int8) {
	f, ok := v.float()
	if !ok || f <= 0 {
		return
	}
	ns := f * 1e9
	if ns >= math.MaxInt64 {
		return
	}
	s.set(int64(ns), p)
}

// events folds the gen_ai content events into the content and keeps the
// others.
func (n *norm) events(evs []Event) {
	kept := evs[:0]
	for _, e := range evs {
		if !n.event(e) {
			kept = append(kept, e)
		}
	}
	n.keptEvents = kept
}

// event reads one span event; it reports whether the event was folded
// into the content.
func (n *norm) event(e Event) bool {
	switch e.Name {
	case EventSystemMessage, EventUserMessage, EventAssistantMessage, EventToolMessage, EventChoice:
		kind, msg, ok := eventMessage(e.Name, eventBody(e.Attributes), e.Attributes)
		if !ok {
			return false
		}
		switch kind {
		case KindSystem:
			n.evSys, n.hasEvSys = append(n.evSys, msg.Parts...), true
		case KindInput:
			n.evIn, n.hasEvIn = append(n.evIn, msg), true
		case KindOutput:
			n.evOut, n.hasEvOut = append(n.evOut, msg), true
		}
		return true
	case EventContentPrompt:
		msgs, ok := legacyContent(e.Attributes["gen_ai.prompt"], "user")
		if !ok {
			return false
		}
		n.legacyIn, n.hasLegacyIn = append(n.legacyIn, msgs...), true
		return true
	case EventContentCompletion:
		msgs, ok := legacyContent(e.Attributes["gen_ai.completion"], "assistant")
		if !ok {
			return false
		}
		n.legacyOut, n.hasLegacyOut = append(n.legacyOut, msgs...), true
		return true
	case EventInferenceDetails:
		sys, in, out, ok := detailsContent(e.Attributes)
		if !ok {
			return false
		}
		if sys != nil {
			n.detSys, n.hasDetSys = append(n.detSys, sys...), true
		}
		if in != nil {
			n.detIn, n.hasDetIn = append(n.detIn, in...), true
		}
		if out != nil {
			n.detOut, n.hasDetOut = append(n.detOut, out...), true
		}
		return true
	}
	return false
}

// resolve resolves the accumulated values into s. The attributes get
// back the content attributes that could not be parsed.
func (n *norm) resolve(s *Span) {
	// Operation.
	if !n.op.ok() && n.oiKind != "" {
		n.op.set(openInferenceOperation(n.oiKind), priVendor)
	}
	// Provider.
	if !n.provider.ok() && (n.oiProvider != "" || n.oiSystem != "") {
		n.provider.set(openInferenceProvider(n.oiProvider, n.oiSystem), priVendor)
		delete(n.attrs, "llm.provider")
		delete(n.attrs, "llm.system")
	} else if n.oiProvider != "" || n.oiSystem != "" {
		// Keep what the typed field does not say.
		if n.oiProvider != "" {
			n.keep("llm.provider", n.oiProvider)
		}
		if n.oiSystem != "" {
			n.keep("llm.system", n.oiSystem)
		}
	}
	if n.oiInvocation != "" {
		n.invocation(n.oiInvocation)
	}
	if n.oiFinish != "" && !n.finish.ok() {
		n.finish.set([]string{n.oiFinish}, priVendor)
	}

	s.Provider = NormalizeProvider(n.provider.v)
	s.RequestModel = n.reqModel.v
	s.ResponseModel = n.respModel.v
	s.ResponseID = n.respID.v
	s.SessionID = n.session.v
	s.UserID = n.user.v
	s.ErrorType = n.errType.v
	s.HTTPStatus = int(n.httpStatus.v)
	s.TTFTNano = n.ttft.v

	// Usage; a missing side is derived from the total when possible.
	in, out := n.in.v, n.out.v
	if n.total.ok() {
		switch {
		case n.in.ok() && !n.out.ok() && n.total.v >= in:
			out = n.total.v - in
		case !n.in.ok() && n.out.ok() && n.total.v >= out:
			in = n.total.v - out
		}
	}
	s.Usage = Usage{InputTokens: in, OutputTokens: out, CachedInputTokens: n.cached.v, ReasoningTokens: n.reasoning.v}

	// Parameters: one allocation for all of them.
	if n.temperature.ok() || n.topP.ok() || n.maxTokens.ok() || n.stream.ok() {
		box := &struct {
			t, p float64
			m    int64
			s    bool
		}{n.temperature.v, n.topP.v, n.maxTokens.v, n.stream.v}
		if n.temperature.ok() {
			s.Params.Temperature = &box.t
		}
		if n.topP.ok() {
			s.Params.TopP = &box.p
		}
		if n.maxTokens.ok() {
			s.Params.MaxTokens = &box.m
		}
		if n.stream.ok() {
			s.Params.Stream = &box.s
		}
	}

	n.content(s)

	s.FinishReasons = n.finish.v
	if !n.finish.ok() {
		for i := range s.OutputMessages {
			if fr := s.OutputMessages[i].FinishReason; fr != "" {
				s.FinishReasons = append(s.FinishReasons, fr)
			}
		}
	}

	// Operation: explicit, else a span that names a provider and a model or
	// reports usage is a call of the conventions before
	// gen_ai.operation.name (chat was their only operation).
	s.Operation = n.op.v
	if s.Operation == "" && s.Provider != "" && n.provider.pri >= priDeprecated &&
		(s.RequestModel != "" || s.ResponseModel != "" || n.in.ok() || n.out.ok()) {
		s.Operation = "chat"
	}
	n.classify(s)
}

// classify settles the operation of a span a framework marks as an agent
// or tool step (OpenInference AGENT/TOOL, Traceloop agent/tool) or as a
// step that is no model call (CHAIN, RETRIEVER, workflow, task, ...),
// whatever model attributes it carries, so that Class (ClassOf the
// operation) counts it right; and names the agent and tool.
func (n *norm) classify(s *Span) {
	if n.oiKind != "" && n.op.pri <= priVendor {
		switch op := openInferenceOperation(n.oiKind); op {
		case OpInvokeAgent, OpExecuteTool:
			s.Operation = op
		case "":
			s.Operation = ""
		}
	}
	switch strings.ToLower(n.tlKind) {
	case "agent":
		s.Operation = OpInvokeAgent
	case "tool":
		s.Operation = OpExecuteTool
	case "workflow", "task":
		if ClassOf(s.Operation) == ClassCall {
			s.Operation = ""
		}
	}
	s.AgentName, s.ToolName = n.agent.v, n.tool.v
	switch ClassOf(s.Operation) {
	case ClassAgent:
		s.AgentName = stepName(s.AgentName, n.tlEntity, s.Name, OpInvokeAgent)
	case ClassTool:
		s.ToolName = stepName(s.ToolName, n.tlEntity, s.Name, OpExecuteTool)
	}
}

// stepName is an agent's or tool's name: the attribute's, else
// Traceloop's entity name, else what the span name says after the
// operation ("execute_tool get_weather").
func stepName(attr, entity, spanName, op string) string {
	switch {
	case attr != "":
		return attr
	case entity != "":
		return entity
	}
	if rest, ok := strings.CutPrefix(spanName, op+" "); ok {
		return strings.TrimSpace(rest)
	}
	return ""
}

// content resolves the messages, in order of precedence of their sources.
func (n *norm) content(s *Span) {
	var idx [4][]Message
	if len(n.flat) > 0 {
		idx = buildIndexed(n.flat)
	}

	if n.inputAttr != nil {
		if msgs, ok := parseMessages(n.inputAttr, "user"); ok {
			s.InputMessages = msgs
		} else {
			n.keep("gen_ai.input.messages", n.inputAttr)
		}
	}
	if s.InputMessages == nil {
		switch {
		case n.hasDetIn:
			s.InputMessages = n.detIn
		case n.hasEvIn:
			s.InputMessages = n.evIn
		case n.hasLegacyIn:
			s.InputMessages = n.legacyIn
		case idx[famPrompt] != nil:
			s.InputMessages = idx[famPrompt]
		case idx[famOIInput] != nil:
			s.InputMessages = idx[famOIInput]
		}
	}

	if n.outputAttr != nil {
		if msgs, ok := parseMessages(n.outputAttr, "assistant"); ok {
			s.OutputMessages = msgs
		} else {
			n.keep("gen_ai.output.messages", n.outputAttr)
		}
	}
	if s.OutputMessages == nil {
		switch {
		case n.hasDetOut:
			s.OutputMessages = n.detOut
		case n.hasEvOut:
			s.OutputMessages = n.evOut
		case n.hasLegacyOut:
			s.OutputMessages = n.legacyOut
		case idx[famCompletion] != nil:
			s.OutputMessages = idx[famCompletion]
		case idx[famOIOutput] != nil:
			s.OutputMessages = idx[famOIOutput]
		}
	}
	for i := range s.OutputMessages {
		if s.OutputMessages[i].Role == "" {
			s.OutputMessages[i].Role = "assistant"
		}
	}
	if n.oiFinish != "" && len(s.OutputMessages) == 1 && s.OutputMessages[0].FinishReason == "" {
		s.OutputMessages[0].FinishReason = n.oiFinish
	}

	if n.systemAttr != nil {
		if parts, ok := parseSystemInstructions(n.systemAttr); ok {
			s.SystemInstructions = parts
		} else {
			n.keep("gen_ai.system_instructions", n.systemAttr)
		}
	}
	if s.SystemInstructions == nil {
		switch {
		case n.hasDetSys:
			s.SystemInstructions = n.detSys
		case n.hasEvSys:
			s.SystemInstructions = n.evSys
		default:
			s.SystemInstructions = systemParts(s.InputMessages)
			s.InputMessages = dropSystem(s.InputMessages, nil)
			return
		}
	}
	if s.SystemInstructions != nil {
		s.InputMessages = dropSystem(s.InputMessages, s.SystemInstructions)
	}
}

// invocation reads OpenInference's llm.invocation_parameters JSON.
func (n *norm) invocation(js string) {
	v, ok := decodeJSON(js)
	if !ok {
		return
	}
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if s, ok := asString(m["model"]); ok && s != "" {
		n.reqModel.set(s, priVendor)
	}
	if f, ok := asFloat(m["temperature"]); ok {
		n.temperature.set(f, priVendor)
	}
	if f, ok := asFloat(m["top_p"]); ok {
		n.topP.set(f, priVendor)
	}
	for _, k := range [...]string{"max_tokens", "max_completion_tokens", "max_output_tokens"} {
		if c, ok := asCount(m[k]); ok {
			n.maxTokens.set(c, priVendor)
			break
		}
	}
	if b, ok := asBool(m["stream"]); ok {
		n.stream.set(b, priVendor)
	}
}
