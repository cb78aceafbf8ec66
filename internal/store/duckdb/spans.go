package duckdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/keyset"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// The span queries' SQL; package spanrows turns what it reads into
// answers.

// summaryCols are the columns spanrows.Row.Dest reads.
const summaryCols = `s.trace_hi, s.trace_lo, s.span_id, s.parent_id, s.name, s.service, s.start_ns, s.status,
	s.error_type, s.duration_ns, s.ttft_ns, s.operation, s.provider, s.model, s.response_model,
	s.input_tokens, s.output_tokens, s.cost_usd IS NOT NULL, coalesce(s.cost_usd, 0), s.session_id, s.user_id,
	s.content_mask, s.content_text, s.partner <> 0`

// sortKeys are the SQL of the spans orders' first sort keys.
var sortKeys = map[byte]string{
	keyset.SpansDuration: "s.duration_ns",
	keyset.SpansTokens:   "(s.input_tokens + s.output_tokens)",
}

// Spans returns a page of spans, newest first or by q.Order.
func (s *DB) Spans(ctx context.Context, q store.SpansQuery) (store.SpansPage, error) {
	return spanrows.Spans(ctx, q, s.listSpans)
}

// listSpans reads the rows of l, resolved.
func (s *DB) listSpans(ctx context.Context, l spanrows.List) ([]spanrows.Row, error) {
	var b sqlb
	sc := newScope(&b, l.Filter, scopeOpts{all: l.All})
	ks := spanrows.Keyset{Start: "s.start_ns", Span: "s.span_id", Hi: "s.trace_hi", Lo: "s.trace_lo", Sort: sortKeys[l.Sort]}
	sc.where = append(sc.where, ks.After(l, b.arg)...)
	// Two phases: the keys of the page from a narrow Top-N (which reads
	// only the filtered and key columns), then the page's rows, found by
	// zone maps on start_ns.
	q := sc.with() + "SELECT s.start_ns, s.span_id, s.trace_hi, s.trace_lo" + sc.from() + ks.OrderBy(l, ks.Sort) + " LIMIT " + strconv.Itoa(l.Limit)
	return s.queries().Page(ctx, l.Filter.Project, false, func() (spanrows.Rows, error) {
		return s.sqlDB().QueryContext(ctx, q, b.args...)
	})
}

// queries are the queries spanrows runs.
func (s *DB) queries() spanrows.Queries {
	return spanrows.Queries{Spans: s.spansByID, Inherited: s.inherited, Records: s.records}
}

// spansByID selects the summary columns of spans by id and start.
func (s *DB) spansByID(ctx context.Context, project, ids string, from, to int64) (spanrows.Rows, error) {
	return s.sqlDB().QueryContext(ctx, "SELECT "+summaryCols+" FROM spans s WHERE s.project = $1 AND s.start_ns >= $2 AND s.start_ns <= $3 AND s.span_id IN ("+ids+")",
		project, from, to)
}

// inherited selects the session and user the traces' spans carry.
func (s *DB) inherited(ctx context.Context, project, his string, from, to int64) (spanrows.Rows, error) {
	return s.sqlDB().QueryContext(ctx, `SELECT trace_hi, trace_lo,
			coalesce(arg_min(session_id, (start_ns, span_id)) FILTER (WHERE session_id <> ''), ''),
			coalesce(arg_min(user_id, (start_ns, span_id)) FILTER (WHERE user_id <> ''), '')
		FROM trace_ctx WHERE project = $1 AND start_ns >= $2 AND start_ns <= $3 AND trace_hi IN (`+his+`)
		GROUP BY trace_hi, trace_lo`, project, from, to)
}

// records selects the traces' message records.
func (s *DB) records(ctx context.Context, project, his string, from, to int64, full bool) (spanrows.Rows, error) {
	msgCol := "''"
	if full {
		msgCol = "message"
	}
	return s.sqlDB().QueryContext(ctx, `SELECT trace_hi, trace_lo, span_id, kind, time_ns, seq, text, `+msgCol+`, truncated FROM message_records
		WHERE project = $1 AND time_ns >= $2 AND time_ns <= $3 AND trace_hi IN (`+his+`)
		ORDER BY trace_hi, trace_lo, span_id, time_ns, seq`, project, from, to)
}

// Trace returns every span of a trace as a tree.
func (s *DB) Trace(ctx context.Context, project string, id genai.TraceID) (store.Trace, error) {
	if err := store.ValidateTrace(project); err != nil {
		return store.Trace{}, err
	}
	rows, ext, err := s.traceRows(ctx, project, id)
	if err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	resources, err := s.loadResources(ctx, ext)
	if err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	return s.queries().Trace(ctx, project, id, rows, func(i int, r *spanrows.Row) (genai.Span, error) {
		sp := span0(r, project, &ext[i], resources)
		return sp, decodeDetail(r.Detail, &sp)
	})
}

// traceRows reads the spans of a trace, in (start, span id) order, with
// the columns a trace view reads beyond a summary's.
func (s *DB) traceRows(ctx context.Context, project string, id genai.TraceID) ([]spanrows.Row, []traceCols, error) {
	hi, lo := store.TraceHiLo(id)
	idSQL := `trace_hi = ` + strconv.FormatUint(hi, 10) + ` AND trace_lo = ` + strconv.FormatUint(lo, 10)
	// The trace's time range from the small index, so the spans scan
	// reads only the row groups whose start_ns zone maps overlap it.
	var from, to sql.NullInt64
	if err := s.sqlDB().QueryRowContext(ctx, `SELECT min(min_start), max(max_start) FROM trace_index WHERE project = $1 AND `+idSQL,
		project).Scan(&from, &to); err != nil {
		return nil, nil, err
	}
	if !from.Valid {
		return nil, nil, nil
	}
	q := `SELECT ` + fullCols + ` FROM spans s WHERE s.project = $1 AND s.start_ns >= $2 AND s.start_ns <= $3 AND s.` +
		strings.ReplaceAll(idSQL, "trace_lo", "s.trace_lo") + `
		ORDER BY s.start_ns, s.span_id`
	rs, err := s.sqlDB().QueryContext(ctx, q, project, from.Int64, to.Int64)
	if err != nil {
		return nil, nil, err
	}
	rows, _, ext, err := scanFull(rs, false)
	return rows, ext, err
}

// fullCols are the columns of a whole span: the summary's and traceCols.
const fullCols = summaryCols + `, s.detail, s.request_model, s.cached_tokens, s.reasoning_tokens, s.resource_hash, s.agent_name, s.tool_name, s.own`

// scanFull reads rows of fullCols, each after its project when
// withProject.
func scanFull(rs *sql.Rows, withProject bool) (rows []spanrows.Row, projects []string, ext []traceCols, err error) {
	defer rs.Close()
	for rs.Next() {
		var r spanrows.Row
		var x traceCols
		var p, own string
		dest := append(r.Dest(), &r.Detail, &x.reqModel, &x.cached, &x.reasoning, &x.resource, &x.agent, &x.tool, &own)
		if withProject {
			dest = append([]any{&p}, dest...)
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, nil, nil, err
		}
		if err := restoreOwn(&r, &x, own); err != nil {
			return nil, nil, nil, err
		}
		rows, projects, ext = append(rows, r), append(projects, p), append(ext, x)
	}
	return rows, projects, ext, rs.Err()
}

// Sessions returns sessions with calls in the filter's range, most recent
// activity first.
func (s *DB) Sessions(ctx context.Context, q store.SessionsQuery) (store.SessionsPage, error) {
	return spanrows.Sessions(ctx, q, s.sessions)
}

func (s *DB) sessions(ctx context.Context, f store.Filter, after *keyset.Key, limit int) ([]store.SessionSummary, error) {
	var b sqlb
	sc := newScope(&b, f, scopeOpts{session: true, user: true})
	sc.where = append(sc.where, sc.session+" <> ''")
	having := ""
	if after != nil {
		st, k := b.arg(after.Start), b.arg(after.Session)
		having = " HAVING max(s.start_ns) < " + st + " OR (max(s.start_ns) = " + st + " AND k > " + k + ")"
	}
	q := sc.with() + "SELECT " + sc.session + " AS k, coalesce(min(" + sc.user + ") FILTER (WHERE " + sc.user + " <> ''), ''), " +
		`count(*), count(*) FILTER (WHERE s.status = 'error'),
		coalesce(sum(s.input_tokens), 0)::BIGINT, coalesce(sum(s.output_tokens), 0)::BIGINT,
		coalesce(sum(s.cost_usd), 0)::DOUBLE, count(*) FILTER (WHERE s.cost_usd IS NULL),
		min(s.start_ns), max(s.start_ns)` + sc.from() + "GROUP BY k" + having +
		" ORDER BY max(s.start_ns) DESC, k LIMIT " + strconv.Itoa(limit)
	rs, err := s.sqlDB().QueryContext(ctx, q, b.args...)
	if err != nil {
		return nil, err
	}
	return spanrows.ScanSessions(rs)
}

// Session returns a session's totals and its calls in time order.
func (s *DB) Session(ctx context.Context, project, id string, f store.Filter) (store.SessionDetail, error) {
	return spanrows.Session(ctx, project, id, f, s.sessions, s.listSpans)
}

// traceCols are the columns a trace view reads beyond a summary's.
type traceCols struct {
	reqModel          string
	agent, tool       string
	cached, reasoning int64
	resource          uint64
}

// span0 builds the span from its columns; decodeDetail adds the rest.
func span0(r *spanrows.Row, project string, x *traceCols, resources map[uint64]map[string]any) genai.Span {
	return genai.Span{
		Project: project, Name: r.Name, Service: r.Service,
		StartUnixNano: r.Start, DurationNano: r.Dur, TTFTNano: r.TTFT,
		Status: genai.Status(r.Status), ErrorType: r.ErrType,
		Operation: r.Op, Provider: r.Provider, RequestModel: x.reqModel, ResponseModel: r.RespModel,
		Usage:     genai.Usage{InputTokens: r.In, OutputTokens: r.Out, CachedInputTokens: x.cached, ReasoningTokens: x.reasoning},
		SessionID: r.Session, UserID: r.User, AgentName: x.agent, ToolName: x.tool,
		ResourceAttributes: resources[x.resource],
		CostUSD:            r.Cost, CostKnown: r.CostKnown,
	}
}

// loadResources reads the resources the rows refer to.
func (s *DB) loadResources(ctx context.Context, xs []traceCols) (map[uint64]map[string]any, error) {
	var ids []string
	seen := map[uint64]bool{0: true}
	for _, x := range xs {
		if !seen[x.resource] {
			seen[x.resource] = true
			ids = append(ids, strconv.FormatUint(x.resource, 10))
		}
	}
	out := map[uint64]map[string]any{}
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := s.sqlDB().QueryContext(ctx, `SELECT DISTINCT hash, attrs FROM resources WHERE hash IN (`+strings.Join(ids, ",")+`)`)
	if err != nil {
		return nil, fmt.Errorf("resources: %w", err)
	}
	defer rs.Close()
	for rs.Next() {
		var h uint64
		var raw string
		if err := rs.Scan(&h, &raw); err != nil {
			return nil, fmt.Errorf("resources: %w", err)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(store.CutTooDeep(raw)), &m); err != nil {
			return nil, fmt.Errorf("resource %d: %w", h, err)
		}
		out[h] = m
	}
	return out, rs.Err()
}
