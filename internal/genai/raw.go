package genai

// RawSpan is a span as a source delivered it, before normalization.
// Attribute values are string, bool, int64, float64, []byte, []any or
// map[string]any (OTLP AnyValue), or strings a source flattened them into.
type RawSpan struct {
	Project       string
	TraceID       TraceID
	SpanID        SpanID
	ParentSpanID  SpanID
	Name          string
	Kind          string
	ScopeName     string
	Source        Source
	StartUnixNano int64
	EndUnixNano   int64
	Status        Status
	StatusMessage string
	Attributes    map[string]any
	Resource      map[string]any
	Events        []Event
}

// RawLog is a log record as a source delivered it, before normalization.
// EventName is the record's event name (OTLP eventName field, or the
// event.name attribute); Body is its body as an AnyValue-shaped Go value.
type RawLog struct {
	Project      string
	TraceID      TraceID
	SpanID       SpanID
	TimeUnixNano int64
	Seq          int
	EventName    string
	Attributes   map[string]any
	Body         any
}
