package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// One call, one count (store.Store; doc.go says how): the writer pairs the
// app's and the gateway's records of a model call when the second of them
// (or the HTTP client span between them) is written. The record written
// now holds the call's merged values and its partner; a stored record of
// the pair gets a new copy (same key, so the table's merges replace the
// old one) with its partner, and not counting unless it holds the call
// (when an HTTP span linked two stored records), and its old copy goes to
// the uncounted table: readers of the spans skip it (counted) and the
// retraction views take it out of the rollups.

// spansCols are the spans table's columns in order.
const spansCols = `day, project, start_ns, span_id, trace_hi, trace_lo, parent_id, duration_ns, ttft_ns, name, service,
	status, error_type, is_genai, operation, provider, model, request_model, response_model, input_tokens, output_tokens,
	cached_tokens, reasoning_tokens, cost_known, cost_usd, session_id, user_id, eff_session, eff_user, content_mask,
	content_text, detail, class, agent_name, tool_name, source, response_id, partner, own`

// uncountedCols are the uncounted table's columns, read from the spans.
const uncountedCols = `day, project, start_ns, span_id, trace_hi, trace_lo, duration_ns, ttft_ns, service, status, operation,
	provider, model, request_model, response_model, input_tokens, output_tokens, cached_tokens, reasoning_tokens,
	cost_known, cost_usd`

// loadGate reads where the gateway's call records are.
func (s *DB) loadGate(ctx context.Context) error {
	var n, rn uint64
	var lo, hi, rlo, rhi int64
	err := s.conn.QueryRow(ctx, `SELECT count(), toInt64(min(start_ns)), toInt64(max(start_ns)),
		countIf(parent_id = 0), toInt64(minIf(start_ns, parent_id = 0)), toInt64(maxIf(start_ns, parent_id = 0))
		FROM `+s.db+`.spans WHERE source = 'gateway' AND class = 'call'`).Scan(&n, &lo, &hi, &rn, &rlo, &rhi)
	if err != nil {
		return fmt.Errorf("load gateway record range: %w", err)
	}
	s.gate = spanrows.PairGate{}
	if n > 0 {
		s.gate.Add(lo, false)
		s.gate.Add(hi, false)
	}
	if rn > 0 {
		s.gate.Add(rlo, true)
		s.gate.Add(rhi, true)
	}
	return nil
}

// pairs finds the pairs the batch's spans (idx) complete, with the
// stored spans; nil when none.
func (s *DB) pairs(ctx context.Context, spans []genai.Span, idx []int) (*spanrows.PairPlan, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	pb := spanrows.ScanPairBatch(spans, idx)
	lo, hi := pb.Lo, pb.Hi
	if !pb.Gateway && !s.gate.Near(lo, hi, false) {
		return nil, nil
	}
	var set spanrows.PairSet
	projects := map[string]bool{}
	var traces []string
	for _, i := range idx {
		sp := &spans[i]
		var mask uint8
		var content string
		if sp.IsCall() {
			mask, content = store.OwnContent(sp)
		}
		n := spanrows.BatchNode(sp, i, mask, content)
		if set.Add(n) {
			traces = append(traces, "("+u64(n.Key.Hi)+", "+u64(n.Key.Lo)+")")
		}
		projects[sp.Project] = true
	}
	var plist []string
	for p := range projects {
		plist = append(plist, lit(p))
	}
	from, to := lo-spanrows.PairWindowNS, hi+spanrows.PairWindowNS
	rng := dayFrom(from) + " AND " + dayThrough(to) + " AND start_ns >= " + i64(from) + " AND start_ns <= " + i64(to)
	where := []string{"(trace_hi, trace_lo) IN (" + strings.Join(traces, ", ") + ")"}
	if pb.Root || (pb.Resp && s.gate.Near(lo, hi, true)) {
		var ids []string
		for _, i := range idx {
			if sp := &spans[i]; sp.IsCall() && sp.ResponseID != "" {
				ids = append(ids, lit(sp.ResponseID))
			}
		}
		where = append(where, "(class = 'call' AND partner = 0 AND response_id IN ("+strings.Join(ids, ", ")+"))")
	}
	projs := "project IN (" + strings.Join(plist, ", ") + ")"
	// A record is paired when a copy has its partner, or its copy is
	// uncounted; the copy with the partner first.
	q := `SELECT project, trace_hi, trace_lo, span_id, start_ns, parent_id, class = 'call', source = 'gateway', response_id,
		partner != 0 OR (trace_hi, trace_lo, span_id) ` + s.global + `IN (SELECT trace_hi, trace_lo, span_id FROM ` + s.db +
		`.uncounted WHERE ` + projs + ` AND ` + rng + `),
		duration_ns, ttft_ns, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_known, cost_usd,
		status, error_type, operation, provider, request_model, response_model, content_mask, service,
		if(session_id != '', session_id, eff_session), if(user_id != '', user_id, eff_user), if(class = 'call', content_text, '')
		FROM ` + s.db + `.spans WHERE ` + projs + ` AND ` + rng + ` AND (` + strings.Join(where, " OR ") + `)
		ORDER BY partner DESC`
	rs, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read spans to pair: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		n := &spanrows.PairNode{Batch: -1}
		var call, gw, paired, costKnown uint8
		var cost float64
		v := &n.Vals
		if err := rs.Scan(&n.Key.Project, &n.Key.Hi, &n.Key.Lo, &n.Key.Span, &n.Key.Start, &n.Parent, &call, &gw,
			&n.RespID, &paired, &v.Dur, &v.TTFT, &v.In, &v.Out, &v.Cached, &v.Reasoning, &costKnown, &cost,
			&v.Status, &v.ErrType, &v.Op, &v.Provider, &v.ReqModel, &v.RespModel, &v.Mask, &v.Service, &v.Session, &v.User,
			&v.Content); err != nil {
			return nil, fmt.Errorf("read spans to pair: %w", err)
		}
		n.Call, n.Gateway, n.Paired = call == 1, gw == 1, paired == 1
		if costKnown == 1 {
			v.Cost = &cost
		}
		set.Add(n)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read spans to pair: %w", err)
	}
	return set.Plan(), nil
}

// pairCols are a batch span's row values as its pair overrides them: the
// call's merged values (when it holds the call) in a copy of the span
// (the detail keeps the record as recorded), whether it counts, its
// content, its partner and own values.
func pairCols(sp *genai.Span, ov *spanrows.PairOverride) (cols genai.Span, mask uint8, content string) {
	cols = *sp
	mask, content = store.OwnContent(sp)
	v := ov.Vals
	if v == nil {
		return cols, mask, content
	}
	cols.DurationNano, cols.TTFTNano = v.Dur, v.TTFT
	cols.Usage.InputTokens, cols.Usage.OutputTokens = v.In, v.Out
	cols.Usage.CachedInputTokens, cols.Usage.ReasoningTokens = v.Cached, v.Reasoning
	cols.CostKnown, cols.CostUSD = v.Cost != nil, 0
	if v.Cost != nil {
		cols.CostUSD = *v.Cost
	}
	cols.Status, cols.ErrorType = genai.Status(v.Status), v.ErrType
	cols.Operation, cols.Provider, cols.RequestModel, cols.ResponseModel = v.Op, v.Provider, v.ReqModel, v.RespModel
	cols.Service, cols.SessionID, cols.UserID = v.Service, v.Session, v.User
	return cols, v.Mask, v.Content
}

// updatePairs writes the stored records' side of the pairs: a new copy of
// each (with its partner; not counting, or holding the call), then their
// old copies into the uncounted table. A failure between the two leaves
// the call counted twice rather than not at all.
func (s *DB) updatePairs(ctx context.Context, ups []spanrows.PairUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	if s.cluster != "" {
		// Synchronous through the Distributed tables, as the writer's
		// inserts: readers after Write see them.
		ctx = ch.Context(ctx, ch.WithSettings(ch.Settings{"insert_distributed_sync": 1}))
	}
	var keys, names, partners []string
	projects := map[string]bool{}
	var plist []string
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range ups {
		k := ups[i].Key
		lo, hi = min(lo, k.Start), max(hi, k.Start)
		if !projects[k.Project] {
			projects[k.Project] = true
			plist = append(plist, lit(k.Project))
		}
		keys = append(keys, "("+u64(k.Hi)+", "+u64(k.Lo)+", "+u64(k.Span)+", "+i64(k.Start)+")")
	}
	// The old copies of keys, in a subquery: the outer select's aliases
	// (named as the columns) would shadow the columns in its WHERE.
	oldCopies := func(keys []string) string {
		return ` FROM (SELECT * FROM ` + s.db + `.spans WHERE project IN (` + strings.Join(plist, ", ") + `) AND ` + dayFrom(lo) +
			` AND ` + dayThrough(hi) + ` AND start_ns >= ` + i64(lo) + ` AND start_ns <= ` + i64(hi) +
			` AND partner = 0 AND (trace_hi, trace_lo, span_id, start_ns) IN (` + strings.Join(keys, ", ") +
			`) LIMIT 1 BY project, trace_hi, trace_lo, span_id, start_ns)`
	}
	// The old copies' counted values, read before any new copy goes in: a
	// background merge replaces an old copy by its new copy (same sorting
	// key) at any moment after that, and an INSERT ... SELECT of the old
	// copies then would find none, leaving the rollups counting the call
	// twice (issue 15: it did, about every other cluster run).
	old, err := s.uncountedRows(ctx, oldCopies(keys))
	if err != nil {
		return err
	}
	var plain []string
	for i := range ups {
		u := &ups[i]
		k := u.Key
		key := "(" + u64(k.Hi) + ", " + u64(k.Lo) + ", " + u64(k.Span) + ", " + i64(k.Start) + ")"
		if u.Vals == nil {
			plain = append(plain, key)
			names = append(names, lit(u64(k.Hi)+"-"+u64(k.Lo)+"-"+u64(k.Span)))
			partners = append(partners, u64(u.Partner))
			continue
		}
		// The stored record holds the call (an HTTP span linked two
		// stored records): its new copy gets the merged values.
		v := u.Vals
		cost, known := "toFloat64(0)", "toUInt8(0)"
		if v.Cost != nil {
			cost, known = "toFloat64("+strconv.FormatFloat(*v.Cost, 'g', -1, 64)+")", "toUInt8(1)"
		}
		set := map[string]string{"duration_ns": "toInt64(" + i64(v.Dur) + ")", "ttft_ns": "toInt64(" + i64(v.TTFT) + ")",
			"service": lit(v.Service), "status": lit(v.Status), "error_type": lit(v.ErrType), "is_genai": "toUInt8(1)",
			"operation": lit(v.Op), "provider": lit(v.Provider), "model": lit(v.Model()), "request_model": lit(v.ReqModel),
			"response_model": lit(v.RespModel), "input_tokens": "toInt64(" + i64(v.In) + ")",
			"output_tokens": "toInt64(" + i64(v.Out) + ")", "cached_tokens": "toInt64(" + i64(v.Cached) + ")",
			"reasoning_tokens": "toInt64(" + i64(v.Reasoning) + ")", "cost_known": known, "cost_usd": cost,
			"session_id": lit(v.Session), "user_id": lit(v.User), "content_mask": "toUInt8(" + strconv.Itoa(int(v.Mask)) + ")",
			"content_text": lit(v.Content), "partner": "toUInt64(" + u64(u.Partner) + ")", "own": lit(u.Own)}
		if err := s.conn.Exec(ctx, "INSERT INTO "+s.db+".spans ("+spansCols+") SELECT "+selectCols(set)+oldCopies([]string{key})); err != nil {
			return fmt.Errorf("pair update: %w", err)
		}
	}
	if len(plain) > 0 {
		set := map[string]string{"is_genai": "toUInt8(0)", "partner": "transform(concat(toString(trace_hi), '-', toString(trace_lo), '-', toString(span_id)), [" +
			strings.Join(names, ", ") + "], [" + strings.Join(partners, ", ") + "], toUInt64(0))"}
		if err := s.conn.Exec(ctx, "INSERT INTO "+s.db+".spans ("+spansCols+") SELECT "+selectCols(set)+oldCopies(plain)); err != nil {
			return fmt.Errorf("pair update: %w", err)
		}
	}
	if len(old) == 0 {
		return nil
	}
	if err := s.ins.insert(ctx, s.db+".uncounted ("+uncountedCols+")", old); err != nil {
		return fmt.Errorf("pair update: %w", err)
	}
	return nil
}

// uncountedRows reads the counted old copies that from (a FROM clause
// over the spans) selects as the uncounted table's rows, in RowBinary.
func (s *DB) uncountedRows(ctx context.Context, from string) ([]byte, error) {
	rs, err := s.conn.Query(ctx, "SELECT toUInt16(day), "+strings.TrimPrefix(uncountedCols, "day, ")+from+" WHERE is_genai = 1")
	if err != nil {
		return nil, fmt.Errorf("pair update: read old copies: %w", err)
	}
	defer rs.Close()
	var r rowBinary
	for rs.Next() {
		var day uint16
		var project, service, status, op, provider, model, reqModel, respModel string
		var start, dur, ttft, in, out, cached, reasoning int64
		var span, hi, lo uint64
		var costKnown uint8
		var cost float64
		if err := rs.Scan(&day, &project, &start, &span, &hi, &lo, &dur, &ttft, &service, &status, &op, &provider, &model,
			&reqModel, &respModel, &in, &out, &cached, &reasoning, &costKnown, &cost); err != nil {
			return nil, fmt.Errorf("pair update: read old copies: %w", err)
		}
		r.buf = binary.LittleEndian.AppendUint16(r.buf, day)
		r.str(project)
		r.i64(start)
		r.u64(span)
		r.u64(hi)
		r.u64(lo)
		r.i64(dur)
		r.i64(ttft)
		for _, v := range []string{service, status, op, provider, model, reqModel, respModel} {
			r.str(v)
		}
		for _, v := range []int64{in, out, cached, reasoning} {
			r.i64(v)
		}
		r.u8(costKnown)
		r.f64(cost)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("pair update: read old copies: %w", err)
	}
	return r.buf, nil
}

// selectCols is spansCols with the columns of set replaced by their
// expressions.
func selectCols(set map[string]string) string {
	cols := strings.Split(spansCols, ",")
	for i, c := range cols {
		c = strings.TrimSpace(c)
		if x, ok := set[c]; ok {
			c = x + " AS " + c
		}
		cols[i] = c
	}
	return strings.Join(cols, ", ")
}
