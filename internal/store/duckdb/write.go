package duckdb

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// Content kinds in spans.content_mask.
const (
	maskSystem = 1
	maskInput  = 2
	maskOutput = 4
)

// rangeGap splits a batch's start times into separate ranges for the
// duplicate check when they are further apart than this, so a late span
// does not widen the scan of stored rows to everything in between.
const rangeGap = int64(10 * 60 * 1e9)

// maxRanges caps the ranges of one duplicate check; past it one range
// covers the whole batch.
const maxRanges = 16

func traceHiLo(t genai.TraceID) (uint64, uint64) {
	return binary.BigEndian.Uint64(t[:8]), binary.BigEndian.Uint64(t[8:])
}

func spanU64(s genai.SpanID) uint64 { return binary.BigEndian.Uint64(s[:]) }

func traceFromHiLo(hi, lo uint64) genai.TraceID {
	var t genai.TraceID
	binary.BigEndian.PutUint64(t[:8], hi)
	binary.BigEndian.PutUint64(t[8:], lo)
	return t
}

func spanFromU64(v uint64) genai.SpanID {
	var s genai.SpanID
	binary.BigEndian.PutUint64(s[:], v)
	return s
}

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
	if err := s.write(ctx, b); err != nil {
		return fmt.Errorf("write batch of %d spans, %d messages: %w", len(b.Spans), len(b.Messages), err)
	}
	return nil
}

func (s *DB) write(ctx context.Context, b *store.Batch) (err error) {
	c := s.wconn
	if _, err := c.ExecContext(ctx, "BEGIN TRANSACTION"); err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			// Rolls back the staging tables too.
			_, _ = c.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	err = s.withDriverConn(func(dc driver.Conn) error {
		if len(b.Spans) > 0 {
			if err := appendSpans(dc, b.Spans); err != nil {
				return fmt.Errorf("append spans: %w", err)
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
	if len(b.Spans) > 0 {
		starts := make([]int64, len(b.Spans))
		for i := range b.Spans {
			starts[i] = b.Spans[i].StartUnixNano
		}
		q := `INSERT INTO spans SELECT * FROM temp.stage_spans st
			WHERE NOT EXISTS (SELECT 1 FROM spans s
				WHERE s.project = st.project AND s.trace_hi = st.trace_hi AND s.trace_lo = st.trace_lo
				AND s.span_id = st.span_id AND s.start_ns = st.start_ns AND (` + rangesSQL("s.start_ns", starts) + `))
			QUALIFY row_number() OVER (PARTITION BY project, trace_hi, trace_lo, span_id, start_ns) = 1`
		if _, err := c.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("insert spans: %w", err)
		}
		if _, err := c.ExecContext(ctx, `DELETE FROM temp.stage_spans`); err != nil {
			return fmt.Errorf("clear staged spans: %w", err)
		}
	}
	if len(b.Messages) > 0 {
		times := make([]int64, len(b.Messages))
		for i := range b.Messages {
			times[i] = messageTime(&b.Messages[i])
		}
		q := `INSERT INTO message_records SELECT * FROM temp.stage_messages st
			WHERE NOT EXISTS (SELECT 1 FROM message_records m
				WHERE m.project = st.project AND m.trace_hi = st.trace_hi AND m.trace_lo = st.trace_lo
				AND m.span_id = st.span_id AND m.time_ns = st.time_ns AND m.seq = st.seq AND m.kind = st.kind
				AND (` + rangesSQL("m.time_ns", times) + `))
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
	return nil
}

// rangesSQL is a predicate on col covering the values in a few ranges, so
// zone maps prune the stored rows the duplicate check reads.
func rangesSQL(col string, vals []int64) string {
	vals = slices.Clone(vals)
	slices.Sort(vals)
	type rng struct{ lo, hi int64 }
	var rs []rng
	for _, v := range vals {
		if n := len(rs); n > 0 && v-rs[n-1].hi <= rangeGap {
			rs[n-1].hi = v
			continue
		}
		rs = append(rs, rng{v, v})
	}
	if len(rs) > maxRanges {
		rs = []rng{{vals[0], vals[len(vals)-1]}}
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = col + " BETWEEN " + strconv.FormatInt(r.lo, 10) + " AND " + strconv.FormatInt(r.hi, 10)
	}
	return strings.Join(parts, " OR ")
}

// messageTime is the stored time of a record; a record without one gets 0
// and is then joined to no span (the normalizer stamps records it gets
// without a time with their observed time).
func messageTime(m *genai.MessageRecord) int64 { return m.TimeUnixNano }

func appendSpans(dc driver.Conn, spans []genai.Span) error {
	a, err := duckdb.NewAppender(dc, "temp", "main", "stage_spans")
	if err != nil {
		return err
	}
	for i := range spans {
		sp := &spans[i]
		hi, lo := traceHiLo(sp.TraceID)
		detail, err := json.Marshal(sp)
		if err != nil {
			_ = a.Close()
			return fmt.Errorf("span %s/%s: encode: %w", sp.TraceID, sp.SpanID, err)
		}
		var mask uint8
		if sp.SystemInstructions != nil {
			mask |= maskSystem
		}
		if sp.InputMessages != nil {
			mask |= maskInput
		}
		if sp.OutputMessages != nil {
			mask |= maskOutput
		}
		sys := store.PartsText(sp.SystemInstructions)
		in := store.MessagesText(sp.InputMessages)
		out := store.MessagesText(sp.OutputMessages)
		search := ""
		if mask != 0 {
			search = strings.ToLower(sys + "\x00" + in + "\x00" + out)
		}
		var cost any
		if sp.CostKnown {
			cost = sp.CostUSD
		}
		status := string(sp.Status)
		if status == "" {
			status = string(genai.StatusUnset)
		}
		err = a.AppendRow(
			sp.Project, hi, lo, spanU64(sp.SpanID), spanU64(sp.ParentSpanID),
			sp.StartUnixNano, sp.DurationNano, sp.TTFTNano,
			sp.Name, sp.Service, status, sp.ErrorType, sp.IsGenAI(),
			sp.Operation, sp.Provider, sp.Model(), sp.RequestModel, sp.ResponseModel,
			sp.Usage.InputTokens, sp.Usage.OutputTokens, sp.Usage.CachedInputTokens, sp.Usage.ReasoningTokens,
			cost, sp.SessionID, sp.UserID, mask, sys, in, out, search, string(detail),
		)
		if err != nil {
			_ = a.Close()
			return fmt.Errorf("span %s/%s: %w", sp.TraceID, sp.SpanID, err)
		}
	}
	return a.Close()
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
		hi, lo := traceHiLo(m.TraceID)
		js, err := json.Marshal(m.Message)
		if err != nil {
			_ = a.Close()
			return fmt.Errorf("message record %s/%s: encode: %w", m.TraceID, m.SpanID, err)
		}
		text := store.PartsText(m.Message.Parts)
		err = a.AppendRow(m.Project, hi, lo, spanU64(m.SpanID), messageTime(m), int32(m.Seq), string(m.Kind),
			m.Truncated, string(js), text, strings.ToLower(text))
		if err != nil {
			_ = a.Close()
			return fmt.Errorf("message record %s/%s: %w", m.TraceID, m.SpanID, err)
		}
	}
	return a.Close()
}
