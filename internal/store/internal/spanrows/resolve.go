package spanrows

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// Queries are the queries of a backend that read span rows and complete
// them. Each is over the traces whose trace_hi is in his, or the spans
// whose span_id is in ids (U64List), and the time range [from, to] of its
// table's time column (start_ns, time_ns).
type Queries struct {
	// Spans selects the summary columns (Row.Dest) of the spans of ids
	// that start in [from, to].
	Spans func(ctx context.Context, project, ids string, from, to int64) (Rows, error)
	// Inherited selects, per trace (trace_hi, trace_lo), the session and
	// the user of its earliest span (by start_ns, span_id) that carries
	// one, "" when none does: four columns. [from, to] is already
	// widened by store.CorrelationWindow.
	Inherited func(ctx context.Context, project, his string, from, to int64) (Rows, error)
	// Records selects the message records (trace_hi, trace_lo, span_id,
	// kind, time_ns, seq, text, message, truncated) ordered by trace_hi,
	// trace_lo, span_id, time_ns, seq; message is the record's JSON when
	// full, else anything (it is not read). [from, to] is already
	// widened by store.CorrelationWindow.
	Records func(ctx context.Context, project, his string, from, to int64, full bool) (Rows, error)
}

// Page reads a page of span rows in two phases: the page's keys, which
// keys queries (the narrow key columns, see ScanKeys), then the rows of
// those keys (q.Spans), returned in the keys' order and resolved.
func (q Queries) Page(ctx context.Context, project string, sortCol bool, keys func() (Rows, error)) ([]Row, error) {
	rs, err := keys()
	if err != nil {
		return nil, err
	}
	ks, err := ScanKeys(rs, sortCol)
	if err != nil || len(ks) == 0 {
		return nil, err
	}
	spanIDs, lo, hi := KeySpan(ks)
	if rs, err = q.Spans(ctx, project, U64List(spanIDs), lo, hi); err != nil {
		return nil, err
	}
	rows, err := InKeyOrder(rs, ks)
	if err != nil {
		return nil, err
	}
	return rows, q.Resolve(ctx, project, rows)
}

// RecKey is a span's identity among message records.
type RecKey struct{ Hi, Lo, Span uint64 }

// Record is a message record as a span's content.
type Record struct {
	Kind      genai.MessageKind
	Time      int64
	Seq       int32
	Text      string
	Message   string // JSON, when asked for
	Truncated bool
}

var window = store.CorrelationWindow.Nanoseconds()

// Resolve fills the rows' effective session and user and their content
// from message records.
func (q Queries) Resolve(ctx context.Context, project string, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	minStart, maxStart := rows[0].Start, rows[0].Start
	var needCtx, needRec []uint64
	for i := range rows {
		r := &rows[i]
		minStart, maxStart = min(minStart, r.Start), max(maxStart, r.Start)
		r.EffSession, r.EffUser = r.Session, r.User
		if r.Session == "" || r.User == "" {
			needCtx = append(needCtx, r.Hi)
		}
		if r.Mask != store.MaskAll {
			needRec = append(needRec, r.Hi)
		}
	}
	if len(needCtx) > 0 {
		if err := q.inherit(ctx, project, needCtx, minStart, maxStart, rows); err != nil {
			return fmt.Errorf("inherited session: %w", err)
		}
	}
	if len(needRec) == 0 {
		return nil
	}
	recs, err := q.records(ctx, project, needRec, minStart, maxStart, false)
	if err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		for _, m := range recs[RecKey{r.Hi, r.Lo, r.Span}] {
			switch m.Kind {
			case genai.KindSystem:
				r.RecSys = append(r.RecSys, m.Text)
			case genai.KindInput:
				r.RecIn = append(r.RecIn, m.Text)
			case genai.KindOutput:
				r.RecOut = append(r.RecOut, m.Text)
			}
		}
	}
	return nil
}

// inherit sets the effective session and user the rows lack from those
// of their traces.
func (q Queries) inherit(ctx context.Context, project string, his []uint64, minStart, maxStart int64, rows []Row) error {
	rs, err := q.Inherited(ctx, project, U64List(his), minStart-window, maxStart+window)
	if err != nil {
		return err
	}
	defer rs.Close()
	type traceKey struct{ hi, lo uint64 }
	inh := map[traceKey][2]string{}
	for rs.Next() {
		var k traceKey
		var v [2]string
		if err := rs.Scan(&k.hi, &k.lo, &v[0], &v[1]); err != nil {
			return err
		}
		inh[k] = v
	}
	if err := rs.Err(); err != nil {
		return err
	}
	for i := range rows {
		r := &rows[i]
		v := inh[traceKey{r.Hi, r.Lo}]
		if r.EffSession == "" {
			r.EffSession = v[0]
		}
		if r.EffUser == "" {
			r.EffUser = v[1]
		}
	}
	return nil
}

// records reads the message records of the traces (by trace_hi) near the
// time range, by span, in (time, seq) order, each once.
func (q Queries) records(ctx context.Context, project string, his []uint64, minStart, maxStart int64, full bool) (map[RecKey][]Record, error) {
	rs, err := q.Records(ctx, project, U64List(his), minStart-window, maxStart+window, full)
	if err != nil {
		return nil, fmt.Errorf("message records: %w", err)
	}
	defer rs.Close()
	out := map[RecKey][]Record{}
	for rs.Next() {
		var k RecKey
		var m Record
		var kind string
		if err := rs.Scan(&k.Hi, &k.Lo, &k.Span, &kind, &m.Time, &m.Seq, &m.Text, &m.Message, &m.Truncated); err != nil {
			return nil, fmt.Errorf("message records: %w", err)
		}
		m.Kind = genai.MessageKind(kind)
		list := out[k]
		dup := false
		// Copies of a record (a backend may still hold them) are adjacent:
		// same time and seq.
		for j := len(list) - 1; j >= 0 && list[j].Time == m.Time && list[j].Seq == m.Seq; j-- {
			if list[j].Kind == m.Kind {
				dup = true
				break
			}
		}
		if !dup {
			out[k] = append(list, m)
		}
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("message records: %w", err)
	}
	return out, nil
}

// ExportRecords reads rows of message records (project, trace_hi,
// trace_lo, span_id, kind, time_ns, seq, truncated, message) and calls fn
// with them in batches of at most batchSize, as store.Exporter's Export
// does.
func ExportRecords(rs Rows, batchSize int, fn func(*store.Batch) error) error {
	defer rs.Close()
	b := &store.Batch{}
	for rs.Next() {
		var m genai.MessageRecord
		var hi, lo, span uint64
		var kind, msg string
		var seq int32
		if err := rs.Scan(&m.Project, &hi, &lo, &span, &kind, &m.TimeUnixNano, &seq, &m.Truncated, &msg); err != nil {
			return fmt.Errorf("export message records: %w", err)
		}
		m.TraceID, m.SpanID, m.Kind, m.Seq = store.TraceFromHiLo(hi, lo), store.SpanFromU64(span), genai.MessageKind(kind), int(seq)
		if err := json.Unmarshal([]byte(msg), &m.Message); err != nil {
			return fmt.Errorf("export message record: decode: %w", err)
		}
		b.Messages = append(b.Messages, m)
		if len(b.Messages) >= batchSize {
			if err := fn(b); err != nil {
				return err
			}
			b = &store.Batch{}
		}
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("export message records: %w", err)
	}
	if len(b.Messages) > 0 {
		return fn(b)
	}
	return nil
}
