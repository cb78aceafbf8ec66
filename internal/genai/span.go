package genai

import (
	"encoding/hex"
	"errors"
)

// TraceID is a W3C / OpenTelemetry 16-byte trace identifier.
type TraceID [16]byte

// SpanID is a W3C / OpenTelemetry 8-byte span identifier.
type SpanID [8]byte

// String returns the lowercase hex form used on the wire and in the API.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// IsZero reports whether t is the invalid all-zero id.
func (t TraceID) IsZero() bool { return t == TraceID{} }

// String returns the lowercase hex form used on the wire and in the API.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// IsZero reports whether s is the invalid all-zero id.
func (s SpanID) IsZero() bool { return s == SpanID{} }

var errBadID = errors.New("bad id: want lowercase or uppercase hex of the right length")

// ParseTraceID parses 32 hex characters.
func ParseTraceID(s string) (TraceID, error) {
	var t TraceID
	if len(s) != 32 {
		return t, errBadID
	}
	if _, err := hex.Decode(t[:], []byte(s)); err != nil {
		return t, errBadID
	}
	return t, nil
}

// ParseSpanID parses 16 hex characters.
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if len(s) != 16 {
		return id, errBadID
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, errBadID
	}
	return id, nil
}

// Source says how a span reached genscope.
type Source string

// The sources of spans.
const (
	SourceOTLP        Source = "otlp"
	SourceAppInsights Source = "appinsights"
	SourceGateway     Source = "gateway"
)

// Status is the outcome of a span.
type Status string

// The span statuses, as in OpenTelemetry.
const (
	StatusUnset Status = "unset"
	StatusOK    Status = "ok"
	StatusError Status = "error"
)

// Span is the canonical record: the generic span fields plus typed GenAI
// fields. Every source (OTLP, Application Insights, the gateway) produces
// it and everything downstream (store, queries, alerts, UI) knows only it.
//
// A span is a GenAI call when Operation is not empty.
type Span struct {
	// Identity.
	Project      string  `json:"project"`
	TraceID      TraceID `json:"-"`
	SpanID       SpanID  `json:"-"`
	ParentSpanID SpanID  `json:"-"` // zero for a root span
	Name         string  `json:"name"`
	Kind         string  `json:"kind"` // internal, server, client, producer, consumer or unspecified
	Service      string  `json:"service"`
	ScopeName    string  `json:"scope_name,omitempty"`
	Source       Source  `json:"source"`

	// Time, in nanoseconds.
	StartUnixNano int64 `json:"start_unix_nano"`
	DurationNano  int64 `json:"duration_nano"`
	TTFTNano      int64 `json:"ttft_nano,omitempty"` // time to first token of a streamed call; 0 when unknown

	// Outcome.
	Status        Status `json:"status"`
	StatusMessage string `json:"status_message,omitempty"`
	ErrorType     string `json:"error_type,omitempty"`
	HTTPStatus    int    `json:"http_status,omitempty"`

	// GenAI.
	Operation     string   `json:"operation,omitempty"` // chat, text_completion, embeddings, execute_tool, invoke_agent, ...
	Provider      string   `json:"provider,omitempty"`  // openai, azure.ai.openai, anthropic, ...
	RequestModel  string   `json:"request_model,omitempty"`
	ResponseModel string   `json:"response_model,omitempty"`
	ResponseID    string   `json:"response_id,omitempty"`
	FinishReasons []string `json:"finish_reasons,omitempty"`
	Params        Params   `json:"params"`
	Usage         Usage    `json:"usage"`
	// CostUSD is the call's cost; meaningful only when CostKnown.
	CostUSD   float64 `json:"cost_usd"`
	CostKnown bool    `json:"cost_known"`
	SessionID string  `json:"session_id,omitempty"`
	UserID    string  `json:"user_id,omitempty"`
	// AgentName is the agent a span belongs to (gen_ai.agent.name, the
	// name of an agent run); ToolName the tool an execute_tool span ran.
	AgentName string `json:"agent_name,omitempty"`
	ToolName  string `json:"tool_name,omitempty"`

	// Content. Nil when the source sent none (or capture is off).
	SystemInstructions []Part    `json:"system_instructions,omitempty"`
	InputMessages      []Message `json:"input_messages,omitempty"`
	OutputMessages     []Message `json:"output_messages,omitempty"`
	ContentTruncated   bool      `json:"content_truncated,omitempty"`

	// Everything else the source sent: span attributes (minus the keys
	// mapped to typed fields above), resource attributes and events.
	Attributes         map[string]any `json:"attributes,omitempty"`
	ResourceAttributes map[string]any `json:"resource_attributes,omitempty"`
	Events             []Event        `json:"events,omitempty"`
}

// IsGenAI reports whether the span is a GenAI operation of any class: a
// model call, an agent run or a tool call (see Class).
func (s *Span) IsGenAI() bool { return s.Operation != "" }

// IsCall reports whether the span is a model call: what genscope counts
// as calls, prices and aggregates.
func (s *Span) IsCall() bool { return ClassOf(s.Operation) == ClassCall }

// Class is the class of the span's operation (ClassOf).
func (s *Span) Class() Class { return ClassOf(s.Operation) }

// Class says what kind of step a GenAI operation is. Only model calls are
// calls: agent runs and tool calls are counted on their own.
type Class string

// The classes of spans.
const (
	ClassNone  Class = ""      // not a GenAI operation (or one of no class: create_agent)
	ClassCall  Class = "call"  // a model call: chat, text_completion, generate_content, embeddings, ...
	ClassAgent Class = "agent" // an agent run: invoke_agent
	ClassTool  Class = "tool"  // a tool call: execute_tool
)

// ClassOf classifies a normalized operation name (NormalizeOperation):
// invoke_agent is an agent run, execute_tool a tool call, create_agent
// (and the empty operation) no class, and every other operation a model
// call (chat, text_completion, generate_content, embeddings and what
// future conventions add). Normalize maps the agent and tool span kinds
// of other conventions (OpenInference, Traceloop) to these operations,
// and leaves their other framework steps (chains, retrievers, workflows,
// tasks) without an operation, so the class follows from the operation
// alone and every store derives the same one.
func ClassOf(op string) Class {
	switch op {
	case "":
		return ClassNone
	case OpInvokeAgent:
		return ClassAgent
	case OpExecuteTool:
		return ClassTool
	case OpCreateAgent:
		return ClassNone
	}
	return ClassCall
}

// The agent and tool operations of the GenAI conventions.
const (
	OpInvokeAgent = "invoke_agent"
	OpCreateAgent = "create_agent"
	OpExecuteTool = "execute_tool"
)

// Model is the model name the span is grouped and filtered by: the
// requested model when known (the name the application used), else the
// model the response reported.
func (s *Span) Model() string {
	if s.RequestModel != "" {
		return s.RequestModel
	}
	return s.ResponseModel
}

// Params are the request parameters of a GenAI call; nil fields were not set.
type Params struct {
	Temperature *float64 `json:"temperature,omitempty"`
	TopP        *float64 `json:"top_p,omitempty"`
	MaxTokens   *int64   `json:"max_tokens,omitempty"`
	Stream      *bool    `json:"stream,omitempty"`
}

// Usage is a GenAI call's token usage. CachedInputTokens and
// ReasoningTokens are parts of InputTokens and OutputTokens respectively,
// as OpenAI reports them.
type Usage struct {
	InputTokens       int64 `json:"input_tokens"`
	OutputTokens      int64 `json:"output_tokens"`
	CachedInputTokens int64 `json:"cached_input_tokens,omitempty"`
	ReasoningTokens   int64 `json:"reasoning_tokens,omitempty"`
}

// Total is input plus output tokens.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Message is one chat message in the shape of the current GenAI semantic
// conventions (gen_ai.input.messages / gen_ai.output.messages).
type Message struct {
	Role         string `json:"role"`
	Name         string `json:"name,omitempty"`
	Parts        []Part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// Part is one part of a message: text, a tool call, a tool call's
// response, or any other kind the source sent (kept in Type, with the raw
// value in Content or Response).
type Part struct {
	Type      string `json:"type"` // text, tool_call, tool_call_response, reasoning, uri, blob, ...
	Content   string `json:"content,omitempty"`
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	Arguments any    `json:"arguments,omitempty"`
	Response  any    `json:"response,omitempty"`
}

// Event is a span event that was not folded into the typed fields.
type Event struct {
	TimeUnixNano int64          `json:"time_unix_nano"`
	Name         string         `json:"name"`
	Attributes   map[string]any `json:"attributes,omitempty"`
}

// MessageKind says where a message delivered apart from its span belongs.
type MessageKind string

// The kinds of a MessageRecord.
const (
	KindSystem MessageKind = "system" // part of the system instructions
	KindInput  MessageKind = "input"  // one input message
	KindOutput MessageKind = "output" // one output message (a choice)
)

// MessageRecord is message content that arrived apart from its span, as an
// OpenTelemetry log record (gen_ai.user.message, gen_ai.choice, ...) or an
// Application Insights MessageData item. It belongs to the span with the
// same project, trace id and span id, whichever of the two arrives first;
// the store joins them when the span is read.
type MessageRecord struct {
	Project      string
	TraceID      TraceID
	SpanID       SpanID
	TimeUnixNano int64
	// Seq orders records with the same time: the position of the record
	// within the request that carried it.
	Seq       int
	Kind      MessageKind
	Message   Message // for KindSystem, its Parts are the instructions
	Truncated bool    // the source cut the content
}
