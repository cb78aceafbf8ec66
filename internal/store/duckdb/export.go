package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

var _ store.Exporter = (*DB)(nil)

// Export streams the spans, then the message records, of [from, to).
func (s *DB) Export(ctx context.Context, from, to time.Time, batchSize int, fn func(*store.Batch) error) error {
	if batchSize <= 0 {
		batchSize = 1000
	}
	lo, hi := from.UnixNano(), to.UnixNano()
	// Rows are read a batch at a time (keyset on start, span id, trace,
	// project: projects may hold the same ids) so no query holds the whole
	// range.
	after := struct {
		start    int64
		span     uint64
		thi, tlo uint64
		project  string
		first    bool
	}{start: lo, first: true}
	for {
		cond := "s.start_ns >= $1"
		args := []any{after.start, hi}
		if !after.first {
			args = append(args, after.project)
			cond = fmt.Sprintf(`(s.start_ns > $1 OR (s.start_ns = $1 AND (s.span_id > %d OR (s.span_id = %d AND (s.trace_hi > %d OR (s.trace_hi = %d AND (s.trace_lo > %d OR (s.trace_lo = %d AND s.project > $3))))))))`,
				after.span, after.span, after.thi, after.thi, after.tlo, after.tlo)
		}
		q := `SELECT s.project, ` + fullCols + `
			FROM spans s WHERE ` + cond + ` AND s.start_ns < $2 ORDER BY s.start_ns, s.span_id, s.trace_hi, s.trace_lo, s.project LIMIT ` + fmt.Sprint(batchSize)
		rs, err := s.sqlDB().QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("export spans: %w", err)
		}
		rows, projects, ext, err := scanFull(rs, true)
		if err != nil {
			return fmt.Errorf("export spans: %w", err)
		}
		if len(rows) == 0 {
			break
		}
		resources, err := s.loadResources(ctx, ext)
		if err != nil {
			return fmt.Errorf("export spans: %w", err)
		}
		b := &store.Batch{Spans: make([]genai.Span, 0, len(rows))}
		for i := range rows {
			r := &rows[i]
			sp := span0(r, projects[i], &ext[i], resources)
			if err := decodeDetail(r.Detail, &sp); err != nil {
				return fmt.Errorf("export span %s: decode: %w", store.SpanFromU64(r.Span), err)
			}
			sp.TraceID, sp.SpanID, sp.ParentSpanID = store.TraceFromHiLo(r.Hi, r.Lo), store.SpanFromU64(r.Span), store.SpanFromU64(r.Parent)
			b.Spans = append(b.Spans, sp)
		}
		last := rows[len(rows)-1]
		after.start, after.span, after.thi, after.tlo, after.first = last.Start, last.Span, last.Hi, last.Lo, false
		after.project = projects[len(rows)-1]
		if err := fn(b); err != nil {
			return err
		}
		if len(rows) < batchSize {
			break
		}
	}
	rs, err := s.sqlDB().QueryContext(ctx, `SELECT project, trace_hi, trace_lo, span_id, kind, time_ns, seq, truncated, message
		FROM message_records WHERE time_ns >= $1 AND time_ns < $2 ORDER BY time_ns, seq`, lo, hi)
	if err != nil {
		return fmt.Errorf("export message records: %w", err)
	}
	return spanrows.ExportRecords(rs, batchSize, fn)
}

// Count counts the spans and message records of [from, to).
func (s *DB) Count(ctx context.Context, from, to time.Time) (int64, int64, error) {
	var spans, msgs int64
	err := s.sqlDB().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM spans WHERE start_ns >= $1 AND start_ns < $2),
		(SELECT count(*) FROM message_records WHERE time_ns >= $1 AND time_ns < $2)`, from.UnixNano(), to.UnixNano()).Scan(&spans, &msgs)
	if err != nil {
		return 0, 0, fmt.Errorf("count: %w", err)
	}
	return spans, msgs, nil
}

// Bounds returns the earliest and latest span start or record time.
func (s *DB) Bounds(ctx context.Context) (time.Time, time.Time, bool, error) {
	var lo, hi sql.NullInt64
	err := s.sqlDB().QueryRowContext(ctx, `SELECT min(t), max(t) FROM (SELECT start_ns AS t FROM spans UNION ALL SELECT time_ns FROM message_records)`).Scan(&lo, &hi)
	if err != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("store bounds: %w", err)
	}
	if !lo.Valid {
		return time.Time{}, time.Time{}, false, nil
	}
	return time.Unix(0, lo.Int64).UTC(), time.Unix(0, hi.Int64).UTC(), true, nil
}
