package duckdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"strings"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// One call, one count (store.Store): the writer pairs the app's and the
// gateway's records of a model call when the second of them (or the HTTP
// client span between them) is written, in the write's transaction. The
// record being written (the app's when both are) holds the call's merged
// values in its columns, so every query counts it as it is, with no join
// and no extra predicate, and keeps its own values in column own (the
// trace and the export restore them); the stored record only stops
// counting (is_genai = false, Partner: two narrow columns updated). Both
// point at each other (partner). The write pays a lookup of the traces
// that may hold part of a pair (recentTraces: those with a gateway record,
// over the range of their stored starts; older ones within PairWindow),
// and, for gateway records without a parent, of stored calls by response
// id (only while such records are near: pairGate).

// load reads the gate from the table.
func loadGate(ctx context.Context, g *pairGate, db *sql.DB) error {
	var lo, hi, rlo, rhi sql.NullInt64
	err := db.QueryRowContext(ctx, `SELECT min(start_ns), max(start_ns),
		min(start_ns) FILTER (WHERE parent_id = 0), max(start_ns) FILTER (WHERE parent_id = 0)
		FROM spans WHERE source = 'gateway' AND class = 'call'`).Scan(&lo, &hi, &rlo, &rhi)
	if err != nil {
		return fmt.Errorf("load gateway record range: %w", err)
	}
	*g = pairGate{}
	if lo.Valid {
		g.Add(lo.Int64, false)
		g.Add(hi.Int64, false)
	}
	if rlo.Valid {
		g.Add(rlo.Int64, true)
		g.Add(rhi.Int64, true)
	}
	return nil
}

// pairs finds the pairs the batch's spans (idx) complete, with the
// stored spans.
func (s *DB) pairs(ctx context.Context, spans []genai.Span, rows []*row0, idx []int) (*pairPlan, error) {
	if s.noPairing || len(idx) == 0 {
		return nil, nil
	}
	pb := spanrows.ScanPairBatch(spans, idx)
	lo, hi := pb.Lo, pb.Hi
	if !pb.Gateway && !s.gate.Near(lo, hi, false) {
		return nil, nil
	}
	var set spanrows.PairSet
	for _, i := range idx {
		set.Add(spanrows.BatchNode(&spans[i], i, rows[i].mask, rows[i].content))
	}
	// The stored spans of the batch's traces, and the stored calls with
	// the response ids of the batch's calls that may pair by them.
	respIDs := map[string]bool{}
	if pb.Root || (pb.Resp && s.gate.Near(lo, hi, true)) {
		for _, i := range idx {
			if sp := &spans[i]; sp.IsCall() && sp.ResponseID != "" {
				respIDs[sp.ResponseID] = true
			}
		}
	}
	// Look up only the traces that may hold part of a pair: stored
	// spans, and a gateway record stored or in the batch (or an HTTP
	// span in the batch completing a pair), within the range of their
	// stored starts when the recent index knows them.
	look := map[traceKey]bool{}
	from, to := int64(math.MaxInt64), int64(math.MinInt64)
	for tk, m := range set.ByTrace {
		gwHere, other := false, false
		for _, n := range m {
			gwHere = gwHere || (n.Call && n.Gateway)
			other = other || !n.Call
		}
		info, known := s.traces.get(tk)
		tlo, thi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, n := range m {
			tlo, thi = min(tlo, n.Key.Start), max(thi, n.Key.Start)
		}
		switch {
		case tlo <= s.traces.floor: // may have stored spans the index lost
			if gwHere || other || s.gate.Near(tlo, thi, false) {
				look[tk] = true
				from, to = min(from, tlo-pairWindow), max(to, thi+pairWindow)
			}
		case known && (gwHere || info.gw || other):
			look[tk] = true
			from, to = min(from, info.min), max(to, info.max)
		}
	}
	stored, err := s.storedForPairs(ctx, look, respIDs, from, to, lo-pairWindow, hi+pairWindow)
	if err != nil {
		return nil, err
	}
	for _, n := range stored {
		set.Add(n)
	}
	return set.Plan(), nil
}

// pairCols are the columns storedForPairs reads.
const pairCols = `project, trace_hi, trace_lo, span_id, start_ns, parent_id, class = 'call', source = 'gateway', response_id,
	partner <> 0, duration_ns, ttft_ns, input_tokens, output_tokens, cached_tokens, reasoning_tokens, cost_usd,
	status, error_type, operation, provider, request_model, response_model, content_mask, service,
	CASE WHEN session_id <> '' THEN session_id ELSE eff_session END, CASE WHEN user_id <> '' THEN user_id ELSE eff_user END,
	CASE WHEN class = 'call' THEN content_text ELSE '' END`

// storedForPairs reads the stored spans of the traces starting in [from,
// to], and the stored calls with the response ids starting in [rfrom,
// rto].
func (s *DB) storedForPairs(ctx context.Context, traces map[traceKey]bool, respIDs map[string]bool, from, to, rfrom, rto int64) ([]*pairNode, error) {
	projects := map[string]bool{}
	for tk := range traces {
		projects[tk.Project] = true
	}
	var out []*pairNode
	read := func(byTrace bool, q string, args ...any) error {
		rs, err := s.wconn.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("read spans to pair: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			n := &pairNode{Batch: -1}
			var cost sql.NullFloat64
			v := &n.Vals
			if err := rs.Scan(&n.Key.Project, &n.Key.Hi, &n.Key.Lo, &n.Key.Span, &n.Key.Start, &n.Parent, &n.Call, &n.Gateway,
				&n.RespID, &n.Paired, &v.Dur, &v.TTFT, &v.In, &v.Out, &v.Cached, &v.Reasoning, &cost,
				&v.Status, &v.ErrType, &v.Op, &v.Provider, &v.ReqModel, &v.RespModel, &v.Mask, &v.Service, &v.Session, &v.User,
				&v.Content); err != nil {
				return fmt.Errorf("read spans to pair: %w", err)
			}
			if cost.Valid {
				c := cost.Float64
				v.Cost = &c
			}
			if !byTrace || traces[traceKey{Project: n.Key.Project, Hi: n.Key.Hi, Lo: n.Key.Lo}] {
				out = append(out, n)
			}
		}
		return rs.Err()
	}
	// By time range only, keeping the traces' rows here: the range is
	// that of the traces' stored starts, so it holds few others, and
	// DuckDB reads a time range through its zone maps several times
	// faster than it filters by a list of trace ids (measured: 3.5 ms
	// against 17-50 ms for a batch's 1,000 spans).
	for p := range projects {
		if err := read(true, `SELECT `+pairCols+` FROM spans WHERE project = $1 AND start_ns >= $2 AND start_ns <= $3`,
			p, from, to); err != nil {
			return nil, err
		}
	}
	if len(respIDs) > 0 {
		ids := make([]any, 0, len(respIDs)+2)
		ids = append(ids, rfrom, rto)
		ph := make([]string, 0, len(respIDs))
		for id := range respIDs {
			ids = append(ids, id)
			ph = append(ph, "$"+strconv.Itoa(len(ids)))
		}
		if err := read(false, `SELECT `+pairCols+` FROM spans WHERE start_ns >= $1 AND start_ns <= $2 AND class = 'call'
			AND partner = 0 AND response_id IN (`+strings.Join(ph, ",")+`)`, ids...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// stagePairs appends the stored rows' side of the pairs to the staging
// table that updatePairs applies.
func stagePairs(dc driver.Conn, ups []pairUpdate) error {
	a, err := duckdb.NewAppender(dc, "temp", "main", "stage_pairs")
	if err != nil {
		return err
	}
	for i := range ups {
		u := &ups[i]
		v := u.Vals
		if v == nil {
			v = &callVals{}
		}
		var cost driver.Value
		if v.Cost != nil {
			cost = *v.Cost
		}
		if err := a.AppendRow(u.Key.Project, u.Key.Hi, u.Key.Lo, u.Key.Span, u.Key.Start, u.IsCall, u.Partner, u.Vals != nil,
			v.Dur, v.TTFT, v.In, v.Out, v.Cached, v.Reasoning, cost, v.Status, v.ErrType, v.Op,
			v.Provider, v.Model(), v.ReqModel, v.RespModel, v.Mask, v.Content, u.Own, v.Service, v.Session, v.User); err != nil {
			_ = a.Close()
			return fmt.Errorf("pair update: %w", err)
		}
	}
	return a.Close()
}

// stagePairsSQL makes the staging table of stagePairs.
const stagePairsSQL = `CREATE TEMP TABLE stage_pairs (project VARCHAR, trace_hi UBIGINT, trace_lo UBIGINT, span_id UBIGINT,
	start_ns BIGINT, is_genai BOOLEAN, partner UBIGINT, set_vals BOOLEAN, duration_ns BIGINT, ttft_ns BIGINT,
	input_tokens BIGINT, output_tokens BIGINT, cached_tokens BIGINT, reasoning_tokens BIGINT, cost_usd DOUBLE,
	status VARCHAR, error_type VARCHAR, operation VARCHAR, provider VARCHAR, model VARCHAR, request_model VARCHAR,
	response_model VARCHAR, content_mask UTINYINT, content_text VARCHAR, own VARCHAR, service VARCHAR,
	session_id VARCHAR, user_id VARCHAR)`

// updatePairs applies the staged updates to the stored rows (starting in
// [lo, hi], so the scan reads only those row groups) and clears the stage.
func updatePairs(ctx context.Context, c *sql.Conn, ups []pairUpdate) error {
	if len(ups) == 0 {
		return nil
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := range ups {
		lo, hi = min(lo, ups[i].Key.Start), max(hi, ups[i].Key.Start)
	}
	match := ` FROM temp.stage_pairs u WHERE spans.project = u.project AND spans.trace_hi = u.trace_hi
		AND spans.trace_lo = u.trace_lo AND spans.span_id = u.span_id AND spans.start_ns = u.start_ns
		AND spans.start_ns >= ` + strconv.FormatInt(lo, 10) + ` AND spans.start_ns <= ` + strconv.FormatInt(hi, 10)
	for _, q := range []string{
		`UPDATE spans SET is_genai = u.is_genai, partner = u.Partner` + match + ` AND NOT u.set_vals`,
		`UPDATE spans SET is_genai = u.is_genai, partner = u.Partner, duration_ns = u.duration_ns, ttft_ns = u.ttft_ns,
			input_tokens = u.input_tokens, output_tokens = u.output_tokens, cached_tokens = u.cached_tokens,
			reasoning_tokens = u.reasoning_tokens, cost_usd = u.cost_usd, status = u.status, error_type = u.error_type,
			operation = u.operation, provider = u.provider, model = u.model, request_model = u.request_model,
			response_model = u.response_model, content_mask = u.content_mask, content_text = u.content_text, own = u.Own,
			service = u.service, session_id = u.session_id, user_id = u.user_id` +
			match + ` AND u.set_vals`,
		`DELETE FROM temp.stage_pairs`,
	} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("update pairs: %w", err)
		}
	}
	return nil
}

// restoreOwn puts a paired record's own values (column own) back in its
// row, for the trace and export, which show each record as recorded.
func restoreOwn(r *spanrows.Row, x *traceCols, own string) error {
	v, err := spanrows.RestoreOwn(r, own)
	if v != nil {
		x.reqModel, x.cached, x.reasoning = v.ReqModel, v.Cached, v.Reasoning
	}
	return err
}

// apply puts the override into a span's row values (appendSpans's
// column order: 6 duration_ns, 7 ttft_ns, 10 status, 11 error_type,
// 12 is_genai, 13..22 operation through cost_usd, 25 content_mask,
// 27 content_text, 36 partner, 37 own).
func applyOverride(ov *pairOverride, vals []driver.Value) {
	vals[12], vals[36], vals[37] = ov.IsCall, ov.Partner, ov.Own
	v := ov.Vals
	if v == nil {
		return
	}
	var cost driver.Value
	if v.Cost != nil {
		cost = *v.Cost
	}
	copy(vals[6:8], []driver.Value{v.Dur, v.TTFT})
	copy(vals[10:12], []driver.Value{v.Status, v.ErrType})
	copy(vals[13:23], []driver.Value{v.Op, v.Provider, v.Model(), v.ReqModel, v.RespModel, v.In, v.Out, v.Cached, v.Reasoning, cost})
	vals[25], vals[27] = v.Mask, v.Content
	// The call's service, session and user are the app's.
	vals[9], vals[23], vals[24] = v.Service, v.Session, v.User
	if v.Session != "" {
		vals[29] = ""
	}
	if v.User != "" {
		vals[30] = ""
	}
}

// recentTraces indexes the traces written lately (by a hash of project
// and trace id): the range of their spans' starts and whether one is a
// gateway call record, so pairing reads the table only for the traces
// that may hold part of a pair, and only over their range. Like
// recentSpans it holds two generations; traces with a span starting at or
// before floor may have stored spans it does not know (older ones, those
// stored before the process started) and are looked up by time window.
// A hash collision merges two entries, which only widens a lookup.
type recentTraces struct {
	seed      maphash.Seed
	genSize   int
	cur, prev map[uint64]traceInfo
	prevMax   int64
	curMax    int64
	floor     int64
}

type traceInfo struct {
	min, max int64
	gw       bool
}

func newRecentTraces(genSize int, floor int64) *recentTraces {
	return &recentTraces{seed: maphash.MakeSeed(), genSize: genSize, cur: map[uint64]traceInfo{},
		prevMax: math.MinInt64, curMax: math.MinInt64, floor: floor}
}

func (r *recentTraces) hash(tk traceKey) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], tk.Hi)
	binary.LittleEndian.PutUint64(b[8:], tk.Lo)
	var h maphash.Hash
	h.SetSeed(r.seed)
	h.Write(b[:])
	h.WriteString(tk.Project)
	return h.Sum64()
}

func (r *recentTraces) get(tk traceKey) (traceInfo, bool) {
	k := r.hash(tk)
	a, okA := r.cur[k]
	p, okP := r.prev[k]
	switch {
	case okA && okP:
		return traceInfo{min(a.min, p.min), max(a.max, p.max), a.gw || p.gw}, true
	case okA:
		return a, true
	}
	return p, okP
}

func (r *recentTraces) add(tk traceKey, start int64, gw bool) {
	k := r.hash(tk)
	if len(r.cur) >= r.genSize {
		if _, in := r.cur[k]; !in {
			r.floor = max(r.floor, r.prevMax)
			r.prev, r.prevMax = r.cur, r.curMax
			r.cur, r.curMax = make(map[uint64]traceInfo, r.genSize), math.MinInt64
		}
	}
	t, ok := r.cur[k]
	if !ok {
		t = traceInfo{min: start, max: start}
	}
	t.min, t.max, t.gw = min(t.min, start), max(t.max, start), t.gw || gw
	r.cur[k] = t
	r.curMax = max(r.curMax, start)
}

// The pairing types shared with the ClickHouse store (spanrows/pair.go).
type (
	callVals     = spanrows.CallVals
	pairNode     = spanrows.PairNode
	pairOverride = spanrows.PairOverride
	pairUpdate   = spanrows.PairUpdate
	pairGate     = spanrows.PairGate
	pairPlan     = spanrows.PairPlan
	traceKey     = spanrows.TraceKey
)

var pairWindow = spanrows.PairWindowNS
