package genai

import (
	"math"
	"strconv"
	"strings"
)

// The gen_ai.evaluation.result event of the OpenTelemetry GenAI semantic
// conventions: the result of evaluating a GenAI output, parented to the
// evaluated span (as a span event, or a log record with its trace and
// span ids) or naming the evaluated response by gen_ai.response.id.
const (
	EventEvaluationResult   = "gen_ai.evaluation.result"
	AttrEvaluationName      = "gen_ai.evaluation.name"
	AttrEvaluationValue     = "gen_ai.evaluation.score.value"
	AttrEvaluationLabel     = "gen_ai.evaluation.score.label"
	AttrEvaluationExplain   = "gen_ai.evaluation.explanation"
	AttrResponseID          = "gen_ai.response.id"
	attrEvaluationErrorType = "error.type"
)

// Evaluation is one gen_ai.evaluation.result event.
type Evaluation struct {
	Project      string
	TraceID      TraceID // zero when the event names the response only
	SpanID       SpanID
	ResponseID   string
	TimeUnixNano int64
	// SpanStartUnixNano is the evaluated span's start when the event came
	// with it (a span event); 0 otherwise.
	SpanStartUnixNano int64
	Name              string
	Value             *float64
	Label             string
	Explanation       string
}

// EvaluationOf reads an evaluation event's attributes. It reports false
// when the event has no name, or neither a finite value nor a label (an
// evaluation that failed: error.type without a score).
func EvaluationOf(attrs map[string]any) (Evaluation, bool) {
	var e Evaluation
	e.Name = strings.TrimSpace(attrString(attrs[AttrEvaluationName]))
	e.Label = strings.TrimSpace(attrString(attrs[AttrEvaluationLabel]))
	e.Explanation = attrString(attrs[AttrEvaluationExplain])
	e.ResponseID = strings.TrimSpace(attrString(attrs[AttrResponseID]))
	switch v := attrs[AttrEvaluationValue].(type) {
	case float64:
		e.Value = &v
	case int64:
		f := float64(v)
		e.Value = &f
	case string: // some SDKs send numbers as strings
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			e.Value = &f
		}
	}
	if e.Value != nil && (math.IsNaN(*e.Value) || math.IsInf(*e.Value, 0)) {
		e.Value = nil
	}
	return e, e.Name != "" && (e.Value != nil || e.Label != "")
}

// attrString is a string attribute's value, "" for other types.
func attrString(v any) string {
	s, _ := v.(string)
	return s
}

// SpanEvaluations returns the evaluation events the spans carry, each
// parented to its span.
func SpanEvaluations(spans []Span) []Evaluation {
	var out []Evaluation
	for i := range spans {
		sp := &spans[i]
		for _, ev := range sp.Events {
			if ev.Name != EventEvaluationResult {
				continue
			}
			e, ok := EvaluationOf(ev.Attributes)
			if !ok {
				continue
			}
			e.Project, e.TraceID, e.SpanID = sp.Project, sp.TraceID, sp.SpanID
			e.TimeUnixNano, e.SpanStartUnixNano = ev.TimeUnixNano, sp.StartUnixNano
			out = append(out, e)
		}
	}
	return out
}
