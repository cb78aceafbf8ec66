package store

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genscope/genscope/internal/genai"
)

// ErrNotFound is returned when a requested trace or session does not exist.
var ErrNotFound = errors.New("not found")

// ErrBadCursor is wrapped by the error a query returns for a cursor it did
// not issue (malformed, truncated, from another query kind), so the API can
// answer 400.
var ErrBadCursor = errors.New("bad cursor")

// ErrBadQuery is wrapped by the error a query returns for an invalid
// request: no project, an unknown metric, aggregation or dimension, a
// non-positive interval, a limit out of range. The API answers 400.
var ErrBadQuery = errors.New("bad query")

// CorrelationWindow bounds how far apart in time two related records may
// be for a backend to join them: a span inherits the session and user of
// spans of its trace that start within this window of it, and takes
// content from MessageRecords whose time is within this window of its
// start. It lets backends prune by time instead of scanning everything.
const CorrelationWindow = 24 * time.Hour

// PairWindow bounds how far apart the starts of the app's and the
// gateway's records of one call may be for a backend to pair them (see
// Store: one call, one count).
const PairWindow = time.Hour

// SessionCallsLimit is the most calls SessionDetail.Calls holds (the
// earliest ones); the totals always cover every call.
const SessionCallsLimit = 1000

// Batch is one unit of durable writing.
type Batch struct {
	Spans    []genai.Span
	Messages []genai.MessageRecord
	// Prepared is set by a backend's Prepare: one backend-specific value
	// per span, in the order of Spans. Whoever merges batches keeps it
	// aligned (or drops it: Write makes what is missing).
	Prepared []any
	// Uncounted is set by Write: the indexes of the spans that are the
	// second record of a call already counted (store.Store: one call, one
	// count), so what counts calls as they are written (/metrics) skips
	// them. Merge drops it.
	Uncounted []int
}

// Merge appends o to b, keeping Prepared aligned with Spans.
func (b *Batch) Merge(o *Batch) {
	aligned := len(b.Prepared) == len(b.Spans) && len(o.Prepared) == len(o.Spans)
	b.Spans = append(b.Spans, o.Spans...)
	b.Uncounted = nil
	b.Messages = append(b.Messages, o.Messages...)
	if aligned {
		b.Prepared = append(b.Prepared, o.Prepared...)
	} else {
		b.Prepared = nil
	}
}

// Len is the number of items in the batch.
func (b *Batch) Len() int { return len(b.Spans) + len(b.Messages) }

// Store is a storage backend.
//
// Semantics every backend guarantees (storetest checks them):
//   - Write is atomic and durable: when it returns nil, every span and
//     message record of the batch survives a crash of the process (kill -9)
//     and is visible to queries started after it returned. On error nothing
//     of the batch is visible. Write may be called from one goroutine at a
//     time (the recorder); queries may run concurrently with it and with
//     each other.
//   - Writing the same span (project, trace id, span id) twice keeps one of
//     the copies: OTLP clients retry.
//     Backends recognise a retry by (project, trace id, span id) among the
//     spans with the same start time (a retry resends the identical span).
//   - A span's content is, for each kind (system instructions, input
//     messages, output messages), the content of that kind it carried
//     itself, else the MessageRecords of that kind with its project, trace
//     id and span id (and a time within CorrelationWindow of its start),
//     in (TimeUnixNano, Seq) order, whichever was written first. Records
//     written twice (same span, kind, time and seq) count once.
//   - A span's session and user are its own, else those of the earliest
//     starting span (ties: smallest span id) of the same trace that carries
//     one (the application usually sets them on an ancestor), whichever was
//     written first. Session and user are inherited independently. Backends
//     look for those spans only within CorrelationWindow of the queried
//     time range (or of the span), so a trace is assumed to last less.
//     A backend may resolve the inherited value when the span is written,
//     from the spans of its trace in the same batch (SDKs export a trace
//     together); then a carrier of the same trace that arrives in a later
//     batch with a different value and an earlier start does not change it.
//   - Text filters match a case-insensitive (Unicode lower-case) substring
//     of the span's effective system text, input text or output text, as
//     computed by PartsText and MessagesText.
//   - Percentiles (p50, p90, p95, p99) are exact quantiles with linear
//     interpolation between closest ranks (type 7 of Hyndman and Fan, as
//     numpy's default, DuckDB's quantile_cont and ClickHouse's
//     quantileExactInclusive): for sorted values x[0..n-1] and level q,
//     h = q*(n-1), value = x[floor(h)] + (h-floor(h))*(x[ceil(h)]-x[floor(h)]).
//     storetest accepts 0.5% relative error, so a backend may approximate.
//   - Timeseries: a bucket starts at start - start mod Interval (UTC,
//     aligned to the Unix epoch). For duration_ms, ttft_ms and cost_usd only
//     the calls with a value count (ttft_ms: TTFT > 0; cost_usd: cost
//     known). sum and count are 0 over no values; a bucket whose other
//     aggregate has no value is omitted. Agg is ignored for calls, errors
//     and error_rate. Groups are ordered by calls (desc) then key.
//   - Breakdown and group keys are the plain values; calls without a value
//     (no session, no provider ...) form the group "". Rows are ordered by
//     calls (desc) then key.
//   - Spans are ordered by start time, then span id (as hex), then trace id
//     (as hex), all descending; Session.Calls ascending by the same keys.
//     SpansQuery.Order may put a key before those: the duration or the
//     total (input + output) tokens, descending; the cursor carries that
//     key, and a cursor from another order is ErrBadCursor.
//     Sessions (the "" session excluded) are ordered by last call (desc)
//     then session id; a session's User is its smallest non-empty user.
//   - Invalid requests return errors wrapping ErrBadQuery or ErrBadCursor;
//     an empty store (or project) answers zeros and empty lists, not errors.
//   - Only model calls are calls (Span.IsCall: genai.ClassOf its
//     operation, as normalization settled it): aggregates (Overview,
//     Timeseries, Breakdown, Sessions, UnknownModels, Aggregate) count
//     them only, and Spans lists them only unless SpansQuery.All. Agent
//     runs and tool calls (genai.ClassAgent, genai.ClassTool) are never
//     calls, never priced and never "cost unknown": Steps counts them.
//     Trace returns every span of the trace.
//   - One call, one count. A model call recorded both by the application
//     (its GenAI client span: source otlp or appinsights) and by the
//     gateway (source gateway) is one call. Two call records of a project
//     are partners when the gateway record's parent is the app record,
//     or its parent's parent is (the HTTP client span an HTTP
//     instrumentation adds between them), in the same trace; or, for a
//     gateway record without a parent (no traceparent), when both carry
//     the same non-empty response id. Partners start within PairWindow of
//     each other. A record has at most one partner: the first found when
//     it or its partner is written (the trace relation before the
//     response id; among candidates written together, the one with the
//     same response id, then the latest start). A pair counts as one call
//     everywhere calls are counted (aggregates, Spans without All,
//     Sessions, UnknownModels, Aggregate), as one row whose span and
//     trace id and start are those of the record written last (the
//     app's when both are written together or an HTTP span written last
//     links them; the two start within PairWindow, usually milliseconds
//     apart), with the app record's service, session, user (its own,
//     else inherited from the spans of its batch), operation, provider
//     and models (the gateway's where the app's are empty), the gateway's
//     duration, time to first token, tokens and cost (the app's when the
//     gateway reported no tokens, or no time to first token), status
//     error when either record is an error (the gateway's error type
//     first), and for each content kind (system, input, output) the app
//     record's content when it carries that kind, else the gateway's.
//     This holds whichever record arrives first, in the same batch or
//     batches apart (and whichever arrives last of an HTTP span between
//     them). Spans with All, Trace and Export show both records as
//     recorded; SpanSummary.SeenBy and TraceNode.SeenBy are
//     ["app", "gateway"] for both records of a pair.
//   - Cost sums add known costs only; CostUnknownCalls counts the calls
//     whose cost is unknown, so a caller never mistakes unknown for zero.
type Store interface {
	Write(ctx context.Context, b *Batch) error
	Overview(ctx context.Context, f Filter) (Overview, error)
	Timeseries(ctx context.Context, q TimeseriesQuery) ([]Series, error)
	Breakdown(ctx context.Context, q BreakdownQuery) ([]BreakdownRow, error)
	Spans(ctx context.Context, q SpansQuery) (SpansPage, error)
	Trace(ctx context.Context, project string, id genai.TraceID) (Trace, error)
	Sessions(ctx context.Context, q SessionsQuery) (SessionsPage, error)
	Session(ctx context.Context, project, id string, f Filter) (SessionDetail, error)
	UnknownModels(ctx context.Context, f Filter) ([]UnknownModel, error)
	Steps(ctx context.Context, q StepsQuery) (Steps, error)
	Close() error
}

// Filter selects GenAI calls. Empty fields do not filter. The time range
// is [From, To) on the span's start time.
type Filter struct {
	Project   string // required
	From, To  time.Time
	Service   string
	Provider  string
	Model     string // matches the request model or the response model
	Operation string
	Status    genai.Status
	Session   string // effective session (own or inherited through the trace)
	User      string // effective user (own or inherited through the trace)
	Text      string // case-insensitive substring of the content (system, input, output)

	// The filter bar's filters, each ANDed with the fields above and
	// with one another (see Match, Threshold and AttrFilter).
	Services   Match         // the span's service
	Models     Match         // the request model or the response model
	Users      Match         // the effective user
	Thresholds []Threshold   // all must hold
	Attrs      []AttrFilter  // all must hold
	Scores     []ScoreFilter // all must hold (backends that keep scores)
}

// Match selects by a text field: a value matches when it is one of In
// (exactly), or when Contains is set and the value contains it as a
// case-insensitive (Unicode lower-case) substring. The zero Match selects
// everything.
type Match struct {
	In       []string `json:"in,omitempty"`
	Contains string   `json:"contains,omitempty"`
}

// IsZero reports whether m selects everything.
func (m Match) IsZero() bool { return len(m.In) == 0 && m.Contains == "" }

// Matches reports whether v is selected by a non-zero m.
func (m Match) Matches(v string) bool {
	for _, x := range m.In {
		if v == x {
			return true
		}
	}
	return m.Contains != "" && strings.Contains(strings.ToLower(v), strings.ToLower(m.Contains))
}

// Threshold selects the calls whose value of a per-call metric is greater
// (ThresholdGT) or less (ThresholdLT) than Value. Metric is one of
// MetricDurationMS, MetricTTFTMS, MetricInputTokens, MetricOutputTokens,
// MetricTotalTokens and MetricCostUSD; a call without a value of it (no
// time to first token, unknown cost) is never selected.
type Threshold struct {
	Metric string  `json:"metric"`
	Op     string  `json:"op"`
	Value  float64 `json:"value"`
}

// The comparisons of a Threshold.
const (
	ThresholdGT = "gt"
	ThresholdLT = "lt"
)

// AttrFilter selects spans by one of their own attributes
// (genai.Span.Attributes; not the resource's, not events'): AttrExists
// when the span has the key (any value), AttrEquals when the value's
// text (AttrText) is Value, AttrContains when it contains Value as a
// case-insensitive substring. Only scalar values (strings, numbers,
// booleans) have a text: a list or map attribute matches AttrExists only.
type AttrFilter struct {
	Key   string `json:"key"`
	Op    string `json:"op"`
	Value string `json:"value,omitempty"`
}

// The operators of an AttrFilter.
const (
	AttrExists   = "exists"
	AttrEquals   = "eq"
	AttrContains = "contains"
)

// Overview is the totals of the GenAI calls a filter selects.
type Overview struct {
	Calls            int64       `json:"calls"`
	Errors           int64       `json:"errors"`
	ErrorRate        float64     `json:"error_rate"` // errors / calls, 0 when no calls
	InputTokens      int64       `json:"input_tokens"`
	OutputTokens     int64       `json:"output_tokens"`
	TotalTokens      int64       `json:"total_tokens"`
	CachedTokens     int64       `json:"cached_input_tokens"`
	ReasoningTokens  int64       `json:"reasoning_tokens"`
	CostUSD          float64     `json:"cost_usd"`
	CostUnknownCalls int64       `json:"cost_unknown_calls"`
	DurationMS       Latency     `json:"duration_ms"`
	TTFTMS           TTFTLatency `json:"ttft_ms"`
}

// Latency summarizes a distribution of durations in milliseconds.
type Latency struct {
	Avg float64 `json:"avg"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
}

// TTFTLatency summarizes time to first token in milliseconds over the calls
// that reported it (streamed calls); Count is how many did.
type TTFTLatency struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
}

// Metrics that Timeseries (and alert rules) compute per bucket.
const (
	MetricCalls        = "calls"
	MetricErrors       = "errors"
	MetricErrorRate    = "error_rate"
	MetricInputTokens  = "input_tokens"
	MetricOutputTokens = "output_tokens"
	MetricTotalTokens  = "total_tokens"
	MetricCostUSD      = "cost_usd"
	MetricDurationMS   = "duration_ms"
	MetricTTFTMS       = "ttft_ms"
)

// Aggregations of a metric over the calls in a bucket. For calls, errors
// and error_rate only the default applies. For the token and cost metrics
// the default is sum; for duration_ms and ttft_ms it is avg.
const (
	AggSum   = "sum"
	AggAvg   = "avg"
	AggMin   = "min"
	AggMax   = "max"
	AggCount = "count"
	AggP50   = "p50"
	AggP90   = "p90"
	AggP95   = "p95"
	AggP99   = "p99"
)

// Dimensions to group or break down by.
const (
	DimModel     = "model"
	DimProvider  = "provider"
	DimService   = "service"
	DimOperation = "operation"
	DimStatus    = "status"
	DimSession   = "session"
	DimUser      = "user"
)

// TimeseriesQuery asks for one metric per time bucket, optionally one
// series per value of GroupBy. Buckets are aligned to multiples of
// Interval since the Unix epoch; buckets with no calls are omitted.
type TimeseriesQuery struct {
	Filter   Filter
	Metric   string
	Agg      string // empty: the metric's default
	Interval time.Duration
	GroupBy  string // empty, or a Dim* constant
	Limit    int    // at most this many groups (largest by calls first); 0 means 10
}

// Series is one group's points, in time order.
type Series struct {
	Group  string  `json:"group"` // empty when not grouped
	Points []Point `json:"points"`
}

// Point is one bucket's value.
type Point struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
}

// BreakdownQuery asks for totals per value of a dimension.
type BreakdownQuery struct {
	Filter Filter
	By     string // a Dim* constant
	Limit  int    // rows, largest by calls first; 0 means 100
}

// BreakdownRow is the totals of one value of the dimension.
type BreakdownRow struct {
	Key              string  `json:"key"`
	Calls            int64   `json:"calls"`
	Errors           int64   `json:"errors"`
	ErrorRate        float64 `json:"error_rate"`
	InputTokens      int64   `json:"input_tokens"`
	OutputTokens     int64   `json:"output_tokens"`
	TotalTokens      int64   `json:"total_tokens"`
	CostUSD          float64 `json:"cost_usd"`
	CostUnknownCalls int64   `json:"cost_unknown_calls"`
	DurationMS       Latency `json:"duration_ms"`
	// LastSeen is the start of the value's newest call, for the
	// dimensions DimUser and DimSession (nil for the others): a users
	// or sessions list with when each was last seen, in one query.
	LastSeen *time.Time `json:"last_seen,omitempty"`
}

// LastSeenDim says whether a breakdown by the dimension carries
// BreakdownRow.LastSeen.
func LastSeenDim(dim string) bool { return dim == DimUser || dim == DimSession }

// SpansQuery asks for a page of spans, newest first (by start time, then
// span id), keyset-paginated.
type SpansQuery struct {
	Filter Filter
	All    bool   // include non-GenAI spans
	Limit  int    // 1..1000; 0 means 50
	Cursor string // opaque, from SpansPage.NextCursor; empty for the first page
	// Order is the first sort key, descending: "" or OrderTime (start
	// time), OrderDuration, OrderTokens (input + output). Ties keep the
	// time order. Anything else is ErrBadQuery.
	Order string
	// Budget bounds a text search (Filter.Text in the time order): it
	// scans time slices newest first, and once Budget has passed it
	// answers with what it found (0: SearchBudget). Not part of the API.
	Budget time.Duration `json:"-"`
}

// SearchBudget is how long a text search scans before it answers with
// the rows found so far and how far back it searched.
const SearchBudget = 2 * time.Second

// Orders of the spans table (SpansQuery.Order).
const (
	OrderTime     = "time"
	OrderDuration = "duration"
	OrderTokens   = "tokens"
)

// SpansPage is one page of spans.
type SpansPage struct {
	Spans      []SpanSummary `json:"spans"`
	NextCursor string        `json:"next_cursor"` // empty on the last page
	// SearchedFrom is set when a text search stopped at its budget
	// before the page was full: the spans starting at or after it were
	// searched, older ones not yet; NextCursor continues from it.
	SearchedFrom *time.Time `json:"searched_from,omitempty"`
}

// PreviewLen is the longest a content preview gets, in runes; a longer one
// is cut and ends with "…".
const PreviewLen = 300

// SpanSummary is one row of the spans table.
type SpanSummary struct {
	TraceID       string       `json:"trace_id"`
	SpanID        string       `json:"span_id"`
	ParentSpanID  string       `json:"parent_span_id,omitempty"`
	Name          string       `json:"name"`
	Service       string       `json:"service"`
	StartTime     time.Time    `json:"start_time"`
	Status        genai.Status `json:"status"`
	ErrorType     string       `json:"error_type,omitempty"`
	DurationMS    float64      `json:"duration_ms"`
	TTFTMS        *float64     `json:"ttft_ms"`
	Operation     string       `json:"operation"`
	Class         genai.Class  `json:"class"` // call, agent, tool or "" (genai.ClassOf the operation)
	Provider      string       `json:"provider"`
	Model         string       `json:"model"`
	ResponseModel string       `json:"response_model,omitempty"`
	InputTokens   int64        `json:"input_tokens"`
	OutputTokens  int64        `json:"output_tokens"`
	CostUSD       *float64     `json:"cost_usd"` // nil when unknown
	Session       string       `json:"session"`
	User          string       `json:"user"`
	SeenBy        []string     `json:"seen_by,omitempty"` // ["app", "gateway"] when both recorded the call
	System        string       `json:"system"`            // previews of the content, text parts only
	Input         string       `json:"input"`
	Output        string       `json:"output"`
	// Scores are the span's scores (store.ScoreStore) by name: the newest
	// value, or label when it has none. The API fills them; backends
	// leave them nil.
	Scores map[string]any `json:"scores,omitempty"`
}

// Trace is a whole trace as a tree.
type Trace struct {
	TraceID string       `json:"trace_id"`
	Roots   []*TraceNode `json:"roots"` // spans without a parent in the trace, by start time
}

// TraceNode is a span with its full content and its children by start time.
type TraceNode struct {
	TraceID      string       `json:"trace_id"`
	SpanID       string       `json:"span_id"`
	ParentSpanID string       `json:"parent_span_id,omitempty"`
	StartTime    time.Time    `json:"start_time"`
	DurationMS   float64      `json:"duration_ms"`
	Session      string       `json:"session"` // effective
	User         string       `json:"user"`    // effective
	Class        genai.Class  `json:"class"`   // call, agent, tool or ""
	SeenBy       []string     `json:"seen_by,omitempty"`
	Span         genai.Span   `json:"span"`
	Children     []*TraceNode `json:"children"`
}

// SessionsQuery asks for sessions with calls in the filter's range, most
// recent activity first.
type SessionsQuery struct {
	Filter Filter
	Limit  int    // 0 means 50
	Cursor string // opaque, from SessionsPage.NextCursor
}

// SessionsPage is one page of sessions.
type SessionsPage struct {
	Sessions   []SessionSummary `json:"sessions"`
	NextCursor string           `json:"next_cursor"`
}

// SessionSummary is a session's totals.
type SessionSummary struct {
	Session          string    `json:"session"`
	User             string    `json:"user"` // one of the session's users
	Calls            int64     `json:"calls"`
	Errors           int64     `json:"errors"`
	InputTokens      int64     `json:"input_tokens"`
	OutputTokens     int64     `json:"output_tokens"`
	TotalTokens      int64     `json:"total_tokens"`
	CostUSD          float64   `json:"cost_usd"`
	CostUnknownCalls int64     `json:"cost_unknown_calls"`
	FirstTime        time.Time `json:"first_time"`
	LastTime         time.Time `json:"last_time"`
}

// SessionDetail is a session's totals and its calls in time order.
type SessionDetail struct {
	SessionSummary
	Calls []SpanSummary `json:"calls_detail"`
}

// UnknownModel is a model seen in calls whose cost could not be computed.
type UnknownModel struct {
	Provider string    `json:"provider"`
	Model    string    `json:"model"`
	Calls    int64     `json:"calls"`
	LastSeen time.Time `json:"last_seen"`
}

// StepsQuery asks for the agent runs and tool calls (the spans of class
// genai.ClassAgent and genai.ClassTool) that Filter selects, as it selects
// calls (its time range, service, status, session, user ... apply to the
// steps themselves). Agent keeps the runs of that agent name and the
// tool calls of the traces with such a run; Tool keeps the tool calls of
// that tool name and the runs of the traces with such a call.
type StepsQuery struct {
	Filter Filter
	Agent  string
	Tool   string
	Limit  int // rows per list, largest count first; 0 means 100
}

// Steps is what the agents of a project did: totals of their runs and
// their tool calls, and the same per agent name and per tool name
// (ordered by count desc, then name; a step without a name is "").
type Steps struct {
	Runs      StepTotals `json:"runs"`
	ToolCalls StepTotals `json:"tool_calls"`
	Agents    []StepRow  `json:"agents"`
	Tools     []StepRow  `json:"tools"`
}

// StepTotals counts steps of one class.
type StepTotals struct {
	Count     int64   `json:"count"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"` // errors / count, 0 when none
	AvgMS     float64 `json:"avg_ms"`     // mean duration, 0 when none
	MaxMS     float64 `json:"max_ms"`
}

// StepRow is the totals of the steps of one agent or tool name.
type StepRow struct {
	Name string `json:"name"`
	StepTotals
}

// Finish derives ErrorRate.
func (t *StepTotals) Finish() {
	t.ErrorRate = 0
	if t.Count > 0 {
		t.ErrorRate = float64(t.Errors) / float64(t.Count)
	}
}

// PartsText is the text of content parts as previews and text filters see
// it: the Content of the parts of type "text" (or no type), joined by "\n".
func PartsText(parts []genai.Part) string {
	var b strings.Builder
	for _, p := range parts {
		if (p.Type != "text" && p.Type != "") || p.Content == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.Content)
	}
	return b.String()
}

// MessagesText is the text of messages: the non-empty PartsText of each
// message, joined by "\n".
func MessagesText(msgs []genai.Message) string { return joinText(msgs, nil) }

// joinText joins the non-empty PartsText of msgs by "\n", leaving out the
// messages whose role skip reports (none when skip is nil).
func joinText(msgs []genai.Message, skip func(role string) bool) string {
	var b strings.Builder
	for _, m := range msgs {
		if skip != nil && skip(m.Role) {
			continue
		}
		t := PartsText(m.Parts)
		if t == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(t)
	}
	return b.String()
}

// Preview cuts s to at most PreviewLen runes: a longer s keeps its first
// PreviewLen-1 runes followed by "…".
func Preview(s string) string {
	if utf8.RuneCountInString(s) <= PreviewLen {
		return s
	}
	n := 0
	for i := range s {
		if n == PreviewLen-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
