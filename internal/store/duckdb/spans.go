package duckdb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/keyset"
)

// spanKey is the keyset of the spans order.
type spanKey struct {
	start      int64
	span       uint64
	hi, lo     uint64
	sessionKey string // Sessions cursors only
	sortv      int64  // the first sort key of the duration and tokens orders
}

const (
	cursorSpans         = keyset.Spans
	cursorSessions      = keyset.Sessions
	cursorSpansDuration = keyset.SpansDuration
	cursorSpansTokens   = keyset.SpansTokens
)

// spanOrders maps SpansQuery.Order to its cursor kind and the SQL of its
// first sort key ("" for the time order).
var spanOrders = map[string]struct {
	kind byte
	key  string
}{
	"":                  {cursorSpans, ""},
	store.OrderTime:     {cursorSpans, ""},
	store.OrderDuration: {cursorSpansDuration, "s.duration_ns"},
	store.OrderTokens:   {cursorSpansTokens, "(s.input_tokens + s.output_tokens)"},
}

// isSpansKind reports whether a cursor kind is a spans one.
func isSpansKind(kind byte) bool { return keyset.IsSpans(kind) }

func encodeCursor(kind byte, k spanKey) string {
	return keyset.Encode(kind, keyset.Key{Start: k.start, Span: k.span, Hi: k.hi, Lo: k.lo, Session: k.sessionKey, Sort: k.sortv})
}

func decodeCursor(kind byte, c string) (spanKey, error) {
	k, err := keyset.Decode(kind, c)
	return spanKey{start: k.Start, span: k.Span, hi: k.Hi, lo: k.Lo, sessionKey: k.Session, sortv: k.Sort}, err
}

// summaryCols are the columns scanRow reads.
const summaryCols = `s.trace_hi, s.trace_lo, s.span_id, s.parent_id, s.name, s.service, s.start_ns, s.status,
	s.error_type, s.duration_ns, s.ttft_ns, s.operation, s.provider, s.model, s.response_model,
	s.input_tokens, s.output_tokens, s.cost_usd, s.session_id, s.user_id, s.content_mask,
	s.content_text`

// row is one span as read for a summary or a trace.
type row struct {
	hi, lo, span, parent  uint64
	name, service         string
	start, dur, ttft      int64
	status, errType       string
	op, provider, model   string
	respModel             string
	in, out               int64
	cost                  sql.NullFloat64
	session, user         string
	mask                  uint8
	content               string // own system, input and output text joined by NUL
	detail                string
	effSession, effUser   string
	recSys, recIn, recOut []string // text of message records, per kind
}

func (r *row) dest() []any {
	return []any{&r.hi, &r.lo, &r.span, &r.parent, &r.name, &r.service, &r.start, &r.status,
		&r.errType, &r.dur, &r.ttft, &r.op, &r.provider, &r.model, &r.respModel,
		&r.in, &r.out, &r.cost, &r.session, &r.user, &r.mask, &r.content}
}

func (r *row) summary() store.SpanSummary {
	sys, rest, _ := strings.Cut(r.content, "\x00")
	input, output, _ := strings.Cut(rest, "\x00")
	ss := store.SpanSummary{
		TraceID:       store.TraceFromHiLo(r.hi, r.lo).String(),
		SpanID:        store.SpanFromU64(r.span).String(),
		Name:          r.name,
		Service:       r.service,
		StartTime:     time.Unix(0, r.start).UTC(),
		Status:        genai.Status(r.status),
		ErrorType:     r.errType,
		DurationMS:    float64(r.dur) / 1e6,
		Operation:     r.op,
		Provider:      r.provider,
		Model:         r.model,
		ResponseModel: r.respModel,
		InputTokens:   r.in,
		OutputTokens:  r.out,
		Session:       r.effSession,
		User:          r.effUser,
		System:        store.Preview(pick(r.mask&maskSystem != 0, sys, r.recSys)),
		Input:         store.Preview(pick(r.mask&maskInput != 0, input, r.recIn)),
		Output:        store.Preview(pick(r.mask&maskOutput != 0, output, r.recOut)),
	}
	if r.parent != 0 {
		ss.ParentSpanID = store.SpanFromU64(r.parent).String()
	}
	if r.ttft > 0 {
		v := float64(r.ttft) / 1e6
		ss.TTFTMS = &v
	}
	if r.cost.Valid && r.op != "" {
		v := r.cost.Float64
		ss.CostUSD = &v
	}
	return ss
}

func pick(own bool, text string, rec []string) string {
	if own {
		return text
	}
	var nonEmpty []string
	for _, t := range rec {
		if t != "" {
			nonEmpty = append(nonEmpty, t)
		}
	}
	return strings.Join(nonEmpty, "\n")
}

// Spans returns a page of spans, newest first or by q.Order.
func (s *DB) Spans(ctx context.Context, q store.SpansQuery) (store.SpansPage, error) {
	if err := checkFilter(q.Filter); err != nil {
		return store.SpansPage{}, err
	}
	order, ok := spanOrders[q.Order]
	if !ok {
		return store.SpansPage{}, fmt.Errorf("%w: order %q is not one of time, duration, tokens", store.ErrBadQuery, q.Order)
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 1000:
		return store.SpansPage{}, fmt.Errorf("%w: limit %d out of 1..1000", store.ErrBadQuery, limit)
	}
	var after *spanKey
	if q.Cursor != "" {
		k, err := decodeCursor(order.kind, q.Cursor)
		if err != nil {
			return store.SpansPage{}, fmt.Errorf("spans: %w", err)
		}
		after = &k
	}
	rows, err := s.listSpans(ctx, q.Filter, q.All, false, order.key, after, limit+1)
	if err != nil {
		return store.SpansPage{}, fmt.Errorf("spans: %w", err)
	}
	page := store.SpansPage{Spans: []store.SpanSummary{}}
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		k := spanKey{start: last.start, span: last.span, hi: last.hi, lo: last.lo}
		switch order.kind {
		case cursorSpansDuration:
			k.sortv = last.dur
		case cursorSpansTokens:
			k.sortv = last.in + last.out
		}
		page.NextCursor = encodeCursor(order.kind, k)
	}
	for i := range rows {
		page.Spans = append(page.Spans, rows[i].summary())
	}
	return page, nil
}

// listSpans reads up to limit span rows in the spans order (asc reverses
// it; a non-empty sortKey is an SQL expression sorted on first) after the
// key, with their effective session, user and content from message
// records.
func (s *DB) listSpans(ctx context.Context, f store.Filter, all, asc bool, sortKey string, after *spanKey, limit int) ([]row, error) {
	var b sqlb
	sc := newScope(&b, f, scopeOpts{all: all})
	dir, cmp := "DESC", "<"
	if asc {
		dir, cmp = "ASC", ">"
	}
	if after != nil {
		st, sp, hi, lo := b.arg(after.start), b.arg(after.span), b.arg(after.hi), b.arg(after.lo)
		cond := "(s.start_ns " + cmp + " " + st + " OR (s.start_ns = " + st + " AND (s.span_id " + cmp + " " + sp +
			" OR (s.span_id = " + sp + " AND (s.trace_hi " + cmp + " " + hi + " OR (s.trace_hi = " + hi + " AND s.trace_lo " + cmp + " " + lo + "))))))"
		if sortKey == "" {
			sc.where = append(sc.where, "s.start_ns "+cmp+"= "+st, cond)
		} else {
			v := b.arg(after.sortv)
			sc.where = append(sc.where, sortKey+" "+cmp+"= "+v,
				"("+sortKey+" "+cmp+" "+v+" OR ("+sortKey+" = "+v+" AND "+cond+"))")
		}
	}
	// Two phases: the keys of the page from a narrow Top-N (which reads
	// only the filtered and key columns), then the page's rows, found by
	// zone maps on start_ns.
	order := " ORDER BY s.start_ns " + dir + ", s.span_id " + dir + ", s.trace_hi " + dir + ", s.trace_lo " + dir
	if sortKey != "" {
		order = " ORDER BY " + sortKey + " " + dir + "," + order[len(" ORDER BY"):]
	}
	q := sc.with() + "SELECT s.start_ns, s.span_id, s.trace_hi, s.trace_lo" + sc.from() + order + " LIMIT " + strconv.Itoa(limit)
	rs, err := s.sqlDB().QueryContext(ctx, q, b.args...)
	if err != nil {
		return nil, err
	}
	var keys []spanKey
	for rs.Next() {
		var k spanKey
		if err := rs.Scan(&k.start, &k.span, &k.hi, &k.lo); err != nil {
			rs.Close()
			return nil, err
		}
		keys = append(keys, k)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, nil
	}
	lo, hi := keys[0].start, keys[0].start
	spanIDs := make([]uint64, len(keys))
	for i, k := range keys {
		lo, hi = min(lo, k.start), max(hi, k.start)
		spanIDs[i] = k.span
	}
	q = "SELECT " + summaryCols + " FROM spans s WHERE s.project = $1 AND s.start_ns >= $2 AND s.start_ns <= $3 AND s.span_id IN (" + u64List(spanIDs) + ")"
	rs, err = s.sqlDB().QueryContext(ctx, q, f.Project, lo, hi)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	byKey := make(map[spanKey]row, len(keys))
	for rs.Next() {
		var r row
		if err := rs.Scan(r.dest()...); err != nil {
			return nil, err
		}
		byKey[spanKey{start: r.start, span: r.span, hi: r.hi, lo: r.lo}] = r
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	out := make([]row, 0, len(keys))
	for _, k := range keys {
		if r, ok := byKey[k]; ok {
			out = append(out, r)
		}
	}
	if err := s.resolve(ctx, f.Project, out); err != nil {
		return nil, err
	}
	return out, nil
}

// resolve fills the rows' effective session and user and their content
// from message records.
func (s *DB) resolve(ctx context.Context, project string, rows []row) error {
	if len(rows) == 0 {
		return nil
	}
	minStart, maxStart := rows[0].start, rows[0].start
	var needCtx, needRec []uint64
	for i := range rows {
		r := &rows[i]
		minStart, maxStart = min(minStart, r.start), max(maxStart, r.start)
		r.effSession, r.effUser = r.session, r.user
		if r.session == "" || r.user == "" {
			needCtx = append(needCtx, r.hi)
		}
		if r.mask != maskSystem|maskInput|maskOutput {
			needRec = append(needRec, r.hi)
		}
	}
	type tk struct{ hi, lo uint64 }
	if len(needCtx) > 0 {
		q := `SELECT trace_hi, trace_lo,
				coalesce(arg_min(session_id, (start_ns, span_id)) FILTER (WHERE session_id <> ''), ''),
				coalesce(arg_min(user_id, (start_ns, span_id)) FILTER (WHERE user_id <> ''), '')
			FROM trace_ctx WHERE project = $1 AND start_ns >= $2 AND start_ns <= $3 AND trace_hi IN (` + u64List(needCtx) + `)
			GROUP BY trace_hi, trace_lo`
		rs, err := s.sqlDB().QueryContext(ctx, q, project, minStart-window, maxStart+window)
		if err != nil {
			return fmt.Errorf("inherited session: %w", err)
		}
		inh := map[tk][2]string{}
		for rs.Next() {
			var k tk
			var v [2]string
			if err := rs.Scan(&k.hi, &k.lo, &v[0], &v[1]); err != nil {
				rs.Close()
				return fmt.Errorf("inherited session: %w", err)
			}
			inh[k] = v
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return fmt.Errorf("inherited session: %w", err)
		}
		for i := range rows {
			r := &rows[i]
			v := inh[tk{r.hi, r.lo}]
			if r.effSession == "" {
				r.effSession = v[0]
			}
			if r.effUser == "" {
				r.effUser = v[1]
			}
		}
	}
	if len(needRec) > 0 {
		recs, err := s.records(ctx, project, needRec, minStart, maxStart, false)
		if err != nil {
			return err
		}
		for i := range rows {
			r := &rows[i]
			for _, m := range recs[recKey{r.hi, r.lo, r.span}] {
				switch m.kind {
				case genai.KindSystem:
					r.recSys = append(r.recSys, m.text)
				case genai.KindInput:
					r.recIn = append(r.recIn, m.text)
				case genai.KindOutput:
					r.recOut = append(r.recOut, m.text)
				}
			}
		}
	}
	return nil
}

func u64List(vs []uint64) string {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	vs = slices.Compact(vs)
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(parts, ",")
}

type recKey struct{ hi, lo, span uint64 }

type record struct {
	kind      genai.MessageKind
	text      string
	message   string // JSON, when asked for
	truncated bool
}

// records reads the message records of the traces (by trace_hi) near the
// time range, by span, in (time, seq) order.
func (s *DB) records(ctx context.Context, project string, his []uint64, minStart, maxStart int64, full bool) (map[recKey][]record, error) {
	msgCol := "''"
	if full {
		msgCol = "message"
	}
	q := `SELECT trace_hi, trace_lo, span_id, kind, text, ` + msgCol + `, truncated FROM message_records
		WHERE project = $1 AND time_ns >= $2 AND time_ns <= $3 AND trace_hi IN (` + u64List(his) + `)
		ORDER BY trace_hi, trace_lo, span_id, time_ns, seq`
	rs, err := s.sqlDB().QueryContext(ctx, q, project, minStart-window, maxStart+window)
	if err != nil {
		return nil, fmt.Errorf("message records: %w", err)
	}
	defer rs.Close()
	out := map[recKey][]record{}
	for rs.Next() {
		var k recKey
		var m record
		var kind string
		if err := rs.Scan(&k.hi, &k.lo, &k.span, &kind, &m.text, &m.message, &m.truncated); err != nil {
			return nil, fmt.Errorf("message records: %w", err)
		}
		m.kind = genai.MessageKind(kind)
		out[k] = append(out[k], m)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("message records: %w", err)
	}
	return out, nil
}

// Trace returns every span of a trace as a tree.
func (s *DB) Trace(ctx context.Context, project string, id genai.TraceID) (store.Trace, error) {
	if project == "" {
		return store.Trace{}, fmt.Errorf("trace: %w: project is required", store.ErrBadQuery)
	}
	hi, lo := store.TraceHiLo(id)
	idSQL := `trace_hi = ` + strconv.FormatUint(hi, 10) + ` AND trace_lo = ` + strconv.FormatUint(lo, 10)
	// The trace's time range from the small index, so the spans scan
	// reads only the row groups whose start_ns zone maps overlap it.
	var from, to sql.NullInt64
	if err := s.sqlDB().QueryRowContext(ctx, `SELECT min(min_start), max(max_start) FROM trace_index WHERE project = $1 AND `+idSQL,
		project).Scan(&from, &to); err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	if !from.Valid {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, store.ErrNotFound)
	}
	q := `SELECT ` + summaryCols + `, s.detail, s.request_model, s.cached_tokens, s.reasoning_tokens, s.resource_hash FROM spans s WHERE s.project = $1 AND s.start_ns >= $2 AND s.start_ns <= $3 AND s.` +
		strings.ReplaceAll(idSQL, "trace_lo", "s.trace_lo") + `
		ORDER BY s.start_ns, s.span_id`
	rs, err := s.sqlDB().QueryContext(ctx, q, project, from.Int64, to.Int64)
	if err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	var rows []row
	var ext []traceCols
	for rs.Next() {
		var r row
		var x traceCols
		if err := rs.Scan(append(r.dest(), &r.detail, &x.reqModel, &x.cached, &x.reasoning, &x.resource)...); err != nil {
			rs.Close()
			return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
		}
		rows = append(rows, r)
		ext = append(ext, x)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	resources, err := s.loadResources(ctx, ext)
	if err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	if len(rows) == 0 {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, store.ErrNotFound)
	}
	// Effective session and user: inherited from the earliest span of the
	// trace carrying one (rows are in start, span id order).
	var sess, user string
	minStart, maxStart := rows[0].start, rows[0].start
	needRec := false
	for _, r := range rows {
		if sess == "" {
			sess = r.session
		}
		if user == "" {
			user = r.user
		}
		minStart, maxStart = min(minStart, r.start), max(maxStart, r.start)
		needRec = needRec || r.mask != maskSystem|maskInput|maskOutput
	}
	var recs map[recKey][]record
	if needRec {
		recs, err = s.records(ctx, project, []uint64{hi}, minStart, maxStart, true)
		if err != nil {
			return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
		}
	}
	var tb store.TraceBuilder
	for i := range rows {
		r := &rows[i]
		sp := r.span0(project, &ext[i], resources)
		if err := decodeDetail(r.detail, &sp); err != nil {
			return store.Trace{}, fmt.Errorf("trace %s: span %s: decode: %w", id, store.SpanFromU64(r.span), err)
		}
		sp.TraceID, sp.SpanID, sp.ParentSpanID = id, store.SpanFromU64(r.span), store.SpanFromU64(r.parent)
		if err := applyRecords(&sp, r.mask, recs[recKey{r.hi, r.lo, r.span}]); err != nil {
			return store.Trace{}, fmt.Errorf("trace %s: span %s: %w", id, sp.SpanID, err)
		}
		tb.Add(sp, r.start, r.dur, cmp.Or(r.session, sess), cmp.Or(r.user, user))
	}
	return tb.Trace(id), nil
}

// applyRecords sets the kinds of content the span lacks from its records.
func applyRecords(sp *genai.Span, mask uint8, recs []record) error {
	for _, m := range recs {
		if err := store.ApplyRecord(sp, mask, m.kind, m.message, m.truncated); err != nil {
			return err
		}
	}
	return nil
}

// Sessions returns sessions with calls in the filter's range, most recent
// activity first.
func (s *DB) Sessions(ctx context.Context, q store.SessionsQuery) (store.SessionsPage, error) {
	if err := checkFilter(q.Filter); err != nil {
		return store.SessionsPage{}, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > 1000:
		return store.SessionsPage{}, fmt.Errorf("%w: limit %d out of 0..1000", store.ErrBadQuery, limit)
	}
	var after *spanKey
	if q.Cursor != "" {
		k, err := decodeCursor(cursorSessions, q.Cursor)
		if err != nil {
			return store.SessionsPage{}, fmt.Errorf("sessions: %w", err)
		}
		after = &k
	}
	list, err := s.sessions(ctx, q.Filter, after, limit+1)
	if err != nil {
		return store.SessionsPage{}, fmt.Errorf("sessions: %w", err)
	}
	page := store.SessionsPage{Sessions: list}
	if len(list) > limit {
		page.Sessions = list[:limit]
		last := list[limit-1]
		page.NextCursor = encodeCursor(cursorSessions, spanKey{start: last.LastTime.UnixNano(), sessionKey: last.Session})
	}
	return page, nil
}

func (s *DB) sessions(ctx context.Context, f store.Filter, after *spanKey, limit int) ([]store.SessionSummary, error) {
	var b sqlb
	sc := newScope(&b, f, scopeOpts{session: true, user: true})
	sc.where = append(sc.where, sc.session+" <> ''")
	having := ""
	if after != nil {
		st, k := b.arg(after.start), b.arg(after.sessionKey)
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
	defer rs.Close()
	out := []store.SessionSummary{}
	for rs.Next() {
		var ss store.SessionSummary
		var first, last int64
		if err := rs.Scan(&ss.Session, &ss.User, &ss.Calls, &ss.Errors, &ss.InputTokens, &ss.OutputTokens,
			&ss.CostUSD, &ss.CostUnknownCalls, &first, &last); err != nil {
			return nil, err
		}
		ss.TotalTokens = ss.InputTokens + ss.OutputTokens
		ss.FirstTime, ss.LastTime = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		out = append(out, ss)
	}
	return out, rs.Err()
}

// Session returns a session's totals and its calls in time order.
func (s *DB) Session(ctx context.Context, project, id string, f store.Filter) (store.SessionDetail, error) {
	f.Project, f.Session = project, id
	if err := checkFilter(f); err != nil {
		return store.SessionDetail{}, err
	}
	if id == "" {
		return store.SessionDetail{}, fmt.Errorf("session: %w: empty session id", store.ErrBadQuery)
	}
	list, err := s.sessions(ctx, f, nil, 1)
	if err != nil {
		return store.SessionDetail{}, fmt.Errorf("session %s: %w", id, err)
	}
	if len(list) == 0 {
		return store.SessionDetail{}, fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	rows, err := s.listSpans(ctx, f, false, true, "", nil, store.SessionCallsLimit)
	if err != nil {
		return store.SessionDetail{}, fmt.Errorf("session %s: %w", id, err)
	}
	d := store.SessionDetail{SessionSummary: list[0], Calls: make([]store.SpanSummary, 0, len(rows))}
	for i := range rows {
		d.Calls = append(d.Calls, rows[i].summary())
	}
	return d, nil
}

// traceCols are the columns a trace view reads beyond a summary's.
type traceCols struct {
	reqModel          string
	cached, reasoning int64
	resource          uint64
}

// span0 builds the span from its columns; decodeDetail adds the rest.
func (r *row) span0(project string, x *traceCols, resources map[uint64]map[string]any) genai.Span {
	sp := genai.Span{
		Project: project, Name: r.name, Service: r.service,
		StartUnixNano: r.start, DurationNano: r.dur, TTFTNano: r.ttft,
		Status: genai.Status(r.status), ErrorType: r.errType,
		Operation: r.op, Provider: r.provider, RequestModel: x.reqModel, ResponseModel: r.respModel,
		Usage:     genai.Usage{InputTokens: r.in, OutputTokens: r.out, CachedInputTokens: x.cached, ReasoningTokens: x.reasoning},
		SessionID: r.session, UserID: r.user,
		ResourceAttributes: resources[x.resource],
	}
	if r.cost.Valid {
		sp.CostUSD, sp.CostKnown = r.cost.Float64, true
	}
	return sp
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
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf("resource %d: %w", h, err)
		}
		out[h] = m
	}
	return out, rs.Err()
}
