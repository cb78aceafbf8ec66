package spanrows

import (
	"cmp"
	"context"
	"fmt"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// SpanFunc builds the span of rows[i] (its columns and Detail) for a
// trace view; Trace sets its ids and content from records.
type SpanFunc func(i int, r *Row) (genai.Span, error)

// Trace is the tree of trace id's spans: rows, in (start, span id)
// order, each once, with their content completed from message records.
// No rows is store.ErrNotFound.
func (q Queries) Trace(ctx context.Context, project string, id genai.TraceID, rows []Row, span SpanFunc) (store.Trace, error) {
	if len(rows) == 0 {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, store.ErrNotFound)
	}
	// Effective session and user: inherited from the earliest span of the
	// trace carrying one.
	var sess, user string
	minStart, maxStart := rows[0].Start, rows[0].Start
	needRec := false
	for _, r := range rows {
		sess, user = cmp.Or(sess, r.Session), cmp.Or(user, r.User)
		minStart, maxStart = min(minStart, r.Start), max(maxStart, r.Start)
		needRec = needRec || r.Mask != store.MaskAll
	}
	var recs map[RecKey][]Record
	if needRec {
		var err error
		recs, err = q.records(ctx, project, []uint64{rows[0].Hi}, minStart, maxStart, true)
		if err != nil {
			return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
		}
	}
	var tb store.TraceBuilder
	for i := range rows {
		r := &rows[i]
		sp, err := span(i, r)
		if err != nil {
			return store.Trace{}, fmt.Errorf("trace %s: span %s: decode: %w", id, store.SpanFromU64(r.Span), err)
		}
		sp.TraceID, sp.SpanID, sp.ParentSpanID = id, store.SpanFromU64(r.Span), store.SpanFromU64(r.Parent)
		for _, m := range recs[RecKey{r.Hi, r.Lo, r.Span}] {
			if err := store.ApplyRecord(&sp, r.Mask, m.Kind, m.Message, m.Truncated); err != nil {
				return store.Trace{}, fmt.Errorf("trace %s: span %s: %w", id, sp.SpanID, err)
			}
		}
		if n := tb.Add(sp, r.Start, r.Dur, cmp.Or(r.Session, sess), cmp.Or(r.User, user)); r.Paired {
			n.SeenBy = store.SeenByBoth()
		}
	}
	return tb.Trace(id), nil
}
