package genai

// The GenAI metrics genscope keeps (OpenTelemetry GenAI metrics
// conventions): all are histograms. Client metrics are recorded by
// instrumented applications, server metrics by model servers (vLLM ...).
const (
	MetricTokenUsage            = "gen_ai.client.token.usage"                     // {token}, by gen_ai.token.type
	MetricOperationDuration     = "gen_ai.client.operation.duration"              // s
	MetricTimeToFirstChunk      = "gen_ai.client.operation.time_to_first_chunk"   // s
	MetricTimePerOutputChunk    = "gen_ai.client.operation.time_per_output_chunk" // s
	MetricServerRequestDuration = "gen_ai.server.request.duration"                // s
	MetricServerTimeToFirstTok  = "gen_ai.server.time_to_first_token"             // s
	MetricServerTimePerOutTok   = "gen_ai.server.time_per_output_token"           // s
)

// KeptMetric reports whether name is a metric genscope stores.
func KeptMetric(name string) bool {
	switch name {
	case MetricTokenUsage, MetricOperationDuration, MetricTimeToFirstChunk, MetricTimePerOutputChunk,
		MetricServerRequestDuration, MetricServerTimeToFirstTok, MetricServerTimePerOutTok:
		return true
	}
	return false
}

// Token types of gen_ai.client.token.usage (gen_ai.token.type).
const (
	TokenInput  = "input"
	TokenOutput = "output"
)

// NormalizeTokenType maps gen_ai.token.type values, old and new, to
// TokenInput or TokenOutput ("" for anything else).
func NormalizeTokenType(t string) string {
	switch t {
	case "input", "prompt":
		return TokenInput
	case "output", "completion":
		return TokenOutput
	}
	return ""
}

// MetricPoint is one histogram data point of a GenAI metric, with the
// attributes that name its series.
type MetricPoint struct {
	Project       string
	Name          string // one of the Metric* names
	Service       string // service.name of the resource
	Provider      string // gen_ai.provider.name (or gen_ai.system), normalized
	Operation     string // gen_ai.operation.name, normalized
	Model         string // gen_ai.request.model, else gen_ai.response.model
	ResponseModel string // gen_ai.response.model
	TokenType     string // token usage only: TokenInput or TokenOutput
	ErrorType     string // error.type: set on failed operations
	// Cumulative is the point's aggregation temporality: true when it
	// counts everything since StartUnixNano, false when it counts the
	// interval [StartUnixNano, TimeUnixNano) alone (delta).
	Cumulative    bool
	StartUnixNano int64
	TimeUnixNano  int64
	Count         int64   // observations
	Sum           float64 // their sum, in the metric's unit (s or tokens)
	// Bounds are the explicit bucket boundaries, ascending; Buckets has
	// len(Bounds)+1 counts (bucket i holds values in (Bounds[i-1],
	// Bounds[i]]). Both are empty for points without buckets.
	Bounds  []float64
	Buckets []int64
}
