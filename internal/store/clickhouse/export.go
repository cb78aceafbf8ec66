package clickhouse

import (
	"context"
	"fmt"
	"time"

	json "github.com/goccy/go-json"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

var _ store.Exporter = (*DB)(nil)

// spanKeyCols are the columns that identify a span copy, for LIMIT 1 BY.
const spanKeyCols = "project, trace_hi, trace_lo, span_id, start_ns"

// Export streams the spans, then the message records, of [from, to).
func (s *DB) Export(ctx context.Context, from, to time.Time, batchSize int, fn func(*store.Batch) error) error {
	if batchSize <= 0 {
		batchSize = 1000
	}
	rng := " >= " + i64(from.UnixNano()) + " AND %s < " + i64(to.UnixNano())
	// Each record as recorded: the status a pair's record had before the
	// pair's (own), the copy with its partner (one call, one count).
	q := "SELECT project, trace_hi, trace_lo, span_id, parent_id, start_ns, if(own != '', visitParamExtractString(own, 'status'), status), detail FROM " +
		s.db + ".spans WHERE start_ns" + fmt.Sprintf(rng, "start_ns") + " ORDER BY start_ns, span_id, partner DESC LIMIT 1 BY " + spanKeyCols
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("export spans: %w", err)
	}
	b := &store.Batch{}
	for rows.Next() {
		var project, status, detail string
		var hi, lo, span, parent uint64
		var start int64
		if err := rows.Scan(&project, &hi, &lo, &span, &parent, &start, &status, &detail); err != nil {
			rows.Close()
			return fmt.Errorf("export spans: %w", err)
		}
		var sp genai.Span
		if err := json.Unmarshal([]byte(store.CutTooDeep(detail)), &sp); err != nil {
			rows.Close()
			return fmt.Errorf("export span %s/%s: decode: %w", store.TraceFromHiLo(hi, lo), store.SpanFromU64(span), err)
		}
		sp.Project, sp.StartUnixNano = project, start
		sp.TraceID, sp.SpanID, sp.ParentSpanID = store.TraceFromHiLo(hi, lo), store.SpanFromU64(span), store.SpanFromU64(parent)
		b.Spans = append(b.Spans, sp)
		if len(b.Spans) >= batchSize {
			if err := fn(b); err != nil {
				rows.Close()
				return err
			}
			b = &store.Batch{}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export spans: %w", err)
	}
	if len(b.Spans) > 0 {
		if err := fn(b); err != nil {
			return err
		}
	}
	q = "SELECT project, trace_hi, trace_lo, span_id, kind, time_ns, seq, truncated, message FROM " + s.db + ".message_records WHERE time_ns" +
		fmt.Sprintf(rng, "time_ns") + " ORDER BY time_ns, seq LIMIT 1 BY project, trace_hi, trace_lo, span_id, kind, time_ns, seq"
	rows, err = s.conn.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("export message records: %w", err)
	}
	return spanrows.ExportRecords(rows, batchSize, fn)
}

// Count counts the spans and message records of [from, to), each once.
func (s *DB) Count(ctx context.Context, from, to time.Time) (int64, int64, error) {
	var spans, msgs int64
	q := "SELECT toInt64(count()) FROM (SELECT 1 FROM " + s.db + ".spans WHERE start_ns >= " + i64(from.UnixNano()) +
		" AND start_ns < " + i64(to.UnixNano()) + " LIMIT 1 BY " + spanKeyCols + ")"
	if err := s.conn.QueryRow(ctx, q).Scan(&spans); err != nil {
		return 0, 0, fmt.Errorf("count spans: %w", err)
	}
	q = "SELECT toInt64(count()) FROM (SELECT 1 FROM " + s.db + ".message_records WHERE time_ns >= " + i64(from.UnixNano()) +
		" AND time_ns < " + i64(to.UnixNano()) + " LIMIT 1 BY project, trace_hi, trace_lo, span_id, kind, time_ns, seq)"
	if err := s.conn.QueryRow(ctx, q).Scan(&msgs); err != nil {
		return 0, 0, fmt.Errorf("count message records: %w", err)
	}
	return spans, msgs, nil
}

// Bounds returns the earliest and latest span start or record time.
func (s *DB) Bounds(ctx context.Context) (time.Time, time.Time, bool, error) {
	var n uint64
	var lo, hi int64
	q := "SELECT count(), toInt64(min(t)), toInt64(max(t)) FROM (SELECT start_ns AS t FROM " + s.db + ".spans UNION ALL SELECT time_ns AS t FROM " + s.db + ".message_records)"
	if err := s.conn.QueryRow(ctx, q).Scan(&n, &lo, &hi); err != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("store bounds: %w", err)
	}
	if n == 0 {
		return time.Time{}, time.Time{}, false, nil
	}
	return time.Unix(0, lo).UTC(), time.Unix(0, hi).UTC(), true, nil
}
