package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// Write stores the batch atomically and durably; see store.Store.
func (s *DB) Write(ctx context.Context, b *store.Batch) error {
	if b == nil || b.Len() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("write batch: store closed")
	}
	if s.wconn == nil { // a reopen after a fatal error failed: try again
		if err := s.reopen(ctx); err != nil {
			return fmt.Errorf("write batch: database unavailable: %w", err)
		}
	}
	if err := s.write(ctx, b); err != nil {
		err = fmt.Errorf("write batch of %d spans, %d messages: %w", len(b.Spans), len(b.Messages), err)
		if isFatal(err) {
			// DuckDB refuses everything after a fatal error (a full disk
			// during a checkpoint): restart it so reads work again and
			// writes resume once there is room.
			if rerr := s.reopen(context.WithoutCancel(ctx)); rerr != nil {
				return errors.Join(err, rerr)
			}
		}
		return err
	}
	return nil
}

func (s *DB) write(ctx context.Context, b *store.Batch) (err error) {
	c := s.wconn
	// Drop retries (and duplicates within the batch) before appending.
	idx, keys, err := s.fresh(ctx, b.Spans)
	if err != nil {
		return err
	}
	if len(idx) == 0 && len(b.Messages) == 0 {
		return nil
	}
	rows, err := preparedRows(b)
	if err != nil {
		return err
	}
	plan, err := s.pairs(ctx, b.Spans, rows, idx)
	if err != nil {
		return err
	}
	if plan == nil {
		plan = &spanrows.PairPlan{}
	}
	if _, err := c.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			// Rolls back the appended rows and the staging table too.
			_, _ = c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	added := map[uint64]string{}
	err = s.withDriverConn(func(dc driver.Conn) error {
		if len(idx) > 0 {
			if err := s.appendSpans(dc, b.Spans, rows, idx, plan.Batch, added); err != nil {
				return fmt.Errorf("append spans: %w", err)
			}
		}
		if len(plan.Updates) > 0 {
			if err := stagePairs(dc, plan.Updates); err != nil {
				return fmt.Errorf("stage pairs: %w", err)
			}
		}
		if len(b.Messages) > 0 {
			if err := appendMessages(dc, b.Messages); err != nil {
				return fmt.Errorf("append messages: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := updatePairs(ctx, c, plan.Updates); err != nil {
		return err
	}
	b.Uncounted = plan.Uncounted()
	if len(b.Messages) > 0 {
		times := make([]int64, len(b.Messages))
		for i := range b.Messages {
			times[i] = messageTime(&b.Messages[i])
		}
		q := `INSERT INTO message_records SELECT * FROM temp.stage_messages st
			WHERE NOT EXISTS (SELECT 1 FROM message_records m
				WHERE m.project = st.project AND m.trace_hi = st.trace_hi AND m.trace_lo = st.trace_lo
				AND m.span_id = st.span_id AND m.time_ns = st.time_ns AND m.seq = st.seq AND m.kind = st.kind
				AND (` + spanrows.RangesSQL("m.time_ns", times) + `))
			QUALIFY row_number() OVER (PARTITION BY project, trace_hi, trace_lo, span_id, time_ns, seq, kind) = 1`
		if _, err := c.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("insert messages: %w", err)
		}
		if _, err := c.ExecContext(ctx, `DELETE FROM temp.stage_messages`); err != nil {
			return fmt.Errorf("clear staged messages: %w", err)
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for i, j := range idx {
		sp := &b.Spans[j]
		s.recent.add(keys[i], sp.StartUnixNano)
		gw := sp.Source == genai.SourceGateway && sp.IsCall()
		if gw {
			s.gate.Add(sp.StartUnixNano, sp.ParentSpanID.IsZero())
		}
		hi, lo := store.TraceHiLo(sp.TraceID)
		s.traces.add(spanrows.TraceKey{Project: sp.Project, Hi: hi, Lo: lo}, sp.StartUnixNano, gw)
	}
	for h := range added {
		s.resources.stored[h] = true
	}
	return nil
}

// fresh returns the spans of the batch not stored yet, each once, with
// their keys in the recent set. A span whose key is in the set (a retry,
// or a hash collision) or that starts at or before the set's floor is
// looked up in the table, so a collision never drops a span.
func (s *DB) fresh(ctx context.Context, spans []genai.Span) ([]int, []uint64, error) {
	out := make([]int, 0, len(spans))
	keys := make([]uint64, 0, len(spans))
	var check []*genai.Span
	seen := make(map[spanrows.FullKey]struct{}, len(spans))
	for i := range spans {
		sp := &spans[i]
		fk := spanrows.KeyOf(sp)
		if _, dup := seen[fk]; dup {
			continue
		}
		seen[fk] = struct{}{}
		k := s.recent.key(fk.Project, fk.Hi, fk.Lo, fk.Span, fk.Start)
		if sp.StartUnixNano <= s.recent.floor || s.recent.has(k) {
			check = append(check, sp)
		}
		out = append(out, i)
		keys = append(keys, k)
	}
	if len(check) == 0 {
		return out, keys, nil
	}
	stored, err := s.recent.storedKeys(ctx, s.wconn, check)
	if err != nil {
		return nil, nil, err
	}
	if len(stored) == 0 {
		return out, keys, nil
	}
	n := 0
	for i := range out {
		if stored[spanrows.KeyOf(&spans[out[i]])] {
			continue
		}
		out[n], keys[n] = out[i], keys[i]
		n++
	}
	return out[:n], keys[:n], nil
}

// messageTime is the stored time of a record; a record without one gets 0
// and is then joined to no span (the normalizer stamps records it gets
// without a time with their observed time).
func messageTime(m *genai.MessageRecord) int64 { return m.TimeUnixNano }

// traceRange is one trace's start times within a batch, and the earliest
// span carrying a session or user.
type traceRange struct {
	project       string
	hi, lo        uint64
	minStart, max int64
}

func (s *DB) appendSpans(dc driver.Conn, spans []genai.Span, rows []*row0, idx []int, pairs map[int]*spanrows.PairOverride, added map[uint64]string) error {
	a, err := duckdb.NewAppender(dc, "", "main", "spans")
	if err != nil {
		return err
	}
	type tk struct {
		project string
		hi, lo  uint64
	}
	traces := make(map[tk]*traceRange, len(idx)/2+1)
	var order []*traceRange
	var ctx []*genai.Span
	carriers := store.BatchCarriers(spans, idx)
	vals := make([]driver.Value, 38)
	for _, i := range idx {
		sp, r := &spans[i], rows[i]
		hi, lo := store.TraceHiLo(sp.TraceID)
		if r.resHash != 0 && !s.resources.stored[r.resHash] {
			added[r.resHash] = r.resJSON
		}
		var cost driver.Value
		if sp.CostKnown {
			cost = sp.CostUSD
		}
		status := string(sp.Status)
		if status == "" {
			status = string(genai.StatusUnset)
		}
		vals = append(vals[:0],
			sp.Project, hi, lo, store.SpanU64(sp.SpanID), store.SpanU64(sp.ParentSpanID),
			sp.StartUnixNano, sp.DurationNano, sp.TTFTNano,
			sp.Name, sp.Service, status, sp.ErrorType, sp.IsCall(),
			sp.Operation, sp.Provider, sp.Model(), sp.RequestModel, sp.ResponseModel,
			sp.Usage.InputTokens, sp.Usage.OutputTokens, sp.Usage.CachedInputTokens, sp.Usage.ReasoningTokens,
			cost, sp.SessionID, sp.UserID, r.mask, r.detail, r.content, r.resHash,
			carriers.Session(sp.TraceID), carriers.User(sp.TraceID),
			string(sp.Class()), sp.AgentName, sp.ToolName,
			string(sp.Source), sp.ResponseID, uint64(0), "")
		if ov := pairs[i]; ov != nil {
			applyOverride(ov, vals)
		}
		if err := a.AppendRow(vals...); err != nil {
			_ = a.Close()
			return fmt.Errorf("span %s/%s: %w", sp.TraceID, sp.SpanID, err)
		}
		k := tk{sp.Project, hi, lo}
		if t := traces[k]; t != nil {
			t.minStart, t.max = min(t.minStart, sp.StartUnixNano), max(t.max, sp.StartUnixNano)
		} else {
			t = &traceRange{project: sp.Project, hi: hi, lo: lo, minStart: sp.StartUnixNano, max: sp.StartUnixNano}
			traces[k] = t
			order = append(order, t)
		}
		if sp.SessionID != "" || sp.UserID != "" {
			ctx = append(ctx, sp)
		}
	}
	if err := a.Close(); err != nil {
		return err
	}
	if err := appendRows(dc, "trace_index", "trace index", len(order), func(i int) []driver.Value {
		t := order[i]
		return []driver.Value{t.project, t.hi, t.lo, t.minStart, t.max}
	}); err != nil {
		return err
	}
	if len(added) > 0 {
		hashes := make([]uint64, 0, len(added))
		for h := range added {
			hashes = append(hashes, h)
		}
		if err := appendRows(dc, "resources", "resources", len(hashes), func(i int) []driver.Value {
			return []driver.Value{hashes[i], added[hashes[i]]}
		}); err != nil {
			return err
		}
	}
	if len(ctx) == 0 {
		return nil
	}
	return appendRows(dc, "trace_ctx", "trace context", len(ctx), func(i int) []driver.Value {
		sp := ctx[i]
		hi, lo := store.TraceHiLo(sp.TraceID)
		return []driver.Value{sp.Project, hi, lo, sp.StartUnixNano, store.SpanU64(sp.SpanID), sp.SessionID, sp.UserID}
	})
}

// appendRows appends n rows (row(i) each) to table through an appender;
// errors name what.
func appendRows(dc driver.Conn, table, what string, n int, row func(i int) []driver.Value) error {
	a, err := duckdb.NewAppender(dc, "", "main", table)
	if err != nil {
		return err
	}
	for i := range n {
		if err := a.AppendRow(row(i)...); err != nil {
			_ = a.Close()
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	if err := a.Close(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func appendMessages(dc driver.Conn, msgs []genai.MessageRecord) error {
	a, err := duckdb.NewAppender(dc, "temp", "main", "stage_messages")
	if err != nil {
		return err
	}
	for i := range msgs {
		m := &msgs[i]
		switch m.Kind {
		case genai.KindSystem, genai.KindInput, genai.KindOutput:
		default:
			_ = a.Close()
			return fmt.Errorf("message record %s/%s: unknown kind %q", m.TraceID, m.SpanID, m.Kind)
		}
		hi, lo := store.TraceHiLo(m.TraceID)
		js, err := json.Marshal(m.Message)
		if err != nil {
			_ = a.Close()
			return fmt.Errorf("message record %s/%s: encode: %w", m.TraceID, m.SpanID, err)
		}
		text := store.PartsText(m.Message.Parts)
		err = a.AppendRow(m.Project, hi, lo, store.SpanU64(m.SpanID), messageTime(m), int32(m.Seq), string(m.Kind),
			m.Truncated, string(js), text, strings.ToLower(text))
		if err != nil {
			_ = a.Close()
			return fmt.Errorf("message record %s/%s: %w", m.TraceID, m.SpanID, err)
		}
	}
	return a.Close()
}
