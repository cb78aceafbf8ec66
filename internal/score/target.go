package score

import (
	"context"
	"fmt"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// TargetTime checks that a score's trace (and span, when spanID is not
// "") is stored in the project and returns the start the score is kept
// with: the span's, or the trace's earliest. A missing trace or span is
// an error wrapping store.ErrNotFound; malformed ids wrap
// store.ErrBadQuery.
func TargetTime(ctx context.Context, st store.Store, project, traceID, spanID string) (time.Time, error) {
	tid, err := genai.ParseTraceID(traceID)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: trace_id %q is not 32 hex digits", store.ErrBadQuery, traceID)
	}
	if spanID != "" {
		if _, err := genai.ParseSpanID(spanID); err != nil {
			return time.Time{}, fmt.Errorf("%w: span_id %q is not 16 hex digits", store.ErrBadQuery, spanID)
		}
	}
	tr, err := st.Trace(ctx, project, tid)
	if err != nil {
		return time.Time{}, fmt.Errorf("trace %s: %w", traceID, err)
	}
	var first time.Time
	var found *store.TraceNode
	var walk func(ns []*store.TraceNode)
	walk = func(ns []*store.TraceNode) {
		for _, n := range ns {
			if first.IsZero() || n.StartTime.Before(first) {
				first = n.StartTime
			}
			if n.SpanID == spanID && found == nil {
				found = n
			}
			walk(n.Children)
		}
	}
	walk(tr.Roots)
	switch {
	case first.IsZero():
		return time.Time{}, fmt.Errorf("trace %s: %w", traceID, store.ErrNotFound)
	case spanID == "":
		return first, nil
	case found == nil:
		return time.Time{}, fmt.Errorf("span %s in trace %s: %w", spanID, traceID, store.ErrNotFound)
	}
	return found.StartTime, nil
}
