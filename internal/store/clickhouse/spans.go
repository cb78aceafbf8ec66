package clickhouse

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"

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
	store.OrderDuration: {cursorSpansDuration, "duration_ns"},
	store.OrderTokens:   {cursorSpansTokens, "(input_tokens + output_tokens)"},
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

// summaryCols are the columns row.dest reads.
const summaryCols = `trace_hi, trace_lo, span_id, parent_id, name, service, start_ns, status,
	error_type, duration_ns, ttft_ns, operation, provider, model, response_model,
	input_tokens, output_tokens, cost_known, cost_usd, session_id, user_id, content_mask, content_text`

// row is one span as read for a summary or a trace.
type row struct {
	hi, lo, span, parent  uint64
	name, service         string
	start, dur, ttft      int64
	status, errType       string
	op, provider, model   string
	respModel             string
	in, out               int64
	costKnown             uint8
	cost                  float64
	session, user         string
	mask                  uint8
	content               string
	detail                string
	effSession, effUser   string
	recSys, recIn, recOut []string
}

func (r *row) dest() []any {
	return []any{&r.hi, &r.lo, &r.span, &r.parent, &r.name, &r.service, &r.start, &r.status,
		&r.errType, &r.dur, &r.ttft, &r.op, &r.provider, &r.model, &r.respModel,
		&r.in, &r.out, &r.costKnown, &r.cost, &r.session, &r.user, &r.mask, &r.content}
}

func (r *row) key() spanKey { return spanKey{start: r.start, span: r.span, hi: r.hi, lo: r.lo} }

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
	if r.costKnown == 1 && r.op != "" {
		v := r.cost
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
		k := last.key()
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
	sc := s.newScope(f, scopeOpts{all: all})
	dir, cmp := "DESC", "<"
	if asc {
		dir, cmp = "ASC", ">"
	}
	if after != nil {
		st, sp, hi, lo := i64(after.start), u64(after.span), u64(after.hi), u64(after.lo)
		cond := "(start_ns " + cmp + " " + st + " OR (start_ns = " + st + " AND (span_id " + cmp + " " + sp +
			" OR (span_id = " + sp + " AND (trace_hi " + cmp + " " + hi + " OR (trace_hi = " + hi + " AND trace_lo " + cmp + " " + lo + "))))))"
		if sortKey == "" {
			sc.where = append(sc.where, "start_ns "+cmp+"= "+st, cond)
		} else {
			v := i64(after.sortv)
			sc.where = append(sc.where, sortKey+" "+cmp+"= "+v,
				"("+sortKey+" "+cmp+" "+v+" OR ("+sortKey+" = "+v+" AND "+cond+"))")
		}
	}
	// Two phases: the page's keys from the narrow key columns, then the
	// page's rows, found by the sorting key.
	order := " ORDER BY start_ns " + dir + ", span_id " + dir + ", trace_hi " + dir + ", trace_lo " + dir
	sortCol := "toInt64(0)"
	if sortKey != "" {
		order = " ORDER BY sortv " + dir + "," + order[len(" ORDER BY"):]
		sortCol = "toInt64(" + sortKey + ")"
	}
	rs, err := s.conn.Query(ctx, "SELECT DISTINCT start_ns, span_id, trace_hi, trace_lo, "+sortCol+" AS sortv"+s.from(sc)+order+" LIMIT "+strconv.Itoa(limit))
	if err != nil {
		return nil, err
	}
	var keys []spanKey
	for rs.Next() {
		var k spanKey
		if err := rs.Scan(&k.start, &k.span, &k.hi, &k.lo, &k.sortv); err != nil {
			rs.Close()
			return nil, err
		}
		k.sortv = 0 // byKey is keyed without it
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
	rs, err = s.conn.Query(ctx, "SELECT "+summaryCols+" FROM "+s.db+".spans WHERE project = "+lit(f.Project)+
		" AND "+dayFrom(lo)+" AND "+dayThrough(hi)+" AND start_ns >= "+i64(lo)+" AND start_ns <= "+i64(hi)+" AND span_id IN ("+u64List(spanIDs)+")")
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
		if _, dup := byKey[r.key()]; !dup { // a copy not merged away yet
			byKey[r.key()] = r
		}
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

type traceKey struct{ hi, lo uint64 }

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
		if r.mask != maskAll {
			needRec = append(needRec, r.hi)
		}
	}
	if len(needCtx) > 0 {
		q := `SELECT trace_hi, trace_lo,
				argMinIf(session_id, tuple(start_ns, span_id), session_id != ''),
				argMinIf(user_id, tuple(start_ns, span_id), user_id != '')
			FROM ` + s.db + `.trace_ctx WHERE project = ` + lit(project) + ` AND ` + dayFrom(minStart-window) + ` AND ` + dayThrough(maxStart+window) +
			` AND start_ns >= ` + i64(minStart-window) + ` AND start_ns <= ` + i64(maxStart+window) + ` AND trace_hi IN (` + u64List(needCtx) + `)
			GROUP BY trace_hi, trace_lo`
		rs, err := s.conn.Query(ctx, q)
		if err != nil {
			return fmt.Errorf("inherited session: %w", err)
		}
		inh := map[traceKey][2]string{}
		for rs.Next() {
			var k traceKey
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
			v := inh[traceKey{r.hi, r.lo}]
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

type recKey struct{ hi, lo, span uint64 }

type record struct {
	kind      genai.MessageKind
	time      int64
	seq       int32
	text      string
	message   string // JSON, when asked for
	truncated bool
}

// records reads the message records of the traces (by trace_hi) near the
// time range, by span, in (time, seq) order, each once.
func (s *DB) records(ctx context.Context, project string, his []uint64, minStart, maxStart int64, full bool) (map[recKey][]record, error) {
	msgCol := "''"
	if full {
		msgCol = "message"
	}
	q := `SELECT trace_hi, trace_lo, span_id, kind, time_ns, seq, text, ` + msgCol + `, truncated FROM ` + s.db + `.message_records
		WHERE project = ` + lit(project) + ` AND time_ns >= ` + i64(minStart-window) + ` AND time_ns <= ` + i64(maxStart+window) +
		` AND trace_hi IN (` + u64List(his) + `)
		ORDER BY trace_hi, trace_lo, span_id, time_ns, seq, kind`
	rs, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("message records: %w", err)
	}
	defer rs.Close()
	out := map[recKey][]record{}
	for rs.Next() {
		var k recKey
		var m record
		var kind string
		var trunc uint8
		if err := rs.Scan(&k.hi, &k.lo, &k.span, &kind, &m.time, &m.seq, &m.text, &m.message, &trunc); err != nil {
			return nil, fmt.Errorf("message records: %w", err)
		}
		m.kind, m.truncated = genai.MessageKind(kind), trunc == 1
		l := out[k]
		dup := false
		// Copies of a record are adjacent (same time and seq).
		for j := len(l) - 1; j >= 0 && l[j].time == m.time && l[j].seq == m.seq; j-- {
			if l[j].kind == m.kind {
				dup = true
				break
			}
		}
		if !dup {
			out[k] = append(l, m)
		}
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
	q := `SELECT ` + summaryCols + `, detail FROM ` + s.db + `.spans WHERE project = ` + lit(project) +
		` AND trace_hi = ` + u64(hi) + ` AND trace_lo = ` + u64(lo) + ` ORDER BY start_ns, span_id`
	rs, err := s.conn.Query(ctx, q)
	if err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	var rows []row
	seen := map[spanKey]bool{}
	for rs.Next() {
		var r row
		if err := rs.Scan(append(r.dest(), &r.detail)...); err != nil {
			rs.Close()
			return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
		}
		if seen[r.key()] {
			continue // a copy not merged away yet
		}
		seen[r.key()] = true
		rows = append(rows, r)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
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
		needRec = needRec || r.mask != maskAll
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
		var sp genai.Span
		if err := json.Unmarshal([]byte(r.detail), &sp); err != nil {
			return store.Trace{}, fmt.Errorf("trace %s: span %s: decode: %w", id, store.SpanFromU64(r.span), err)
		}
		sp.Project, sp.Status = project, genai.Status(r.status)
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
	sc := s.newScope(f, scopeOpts{session: true, user: true})
	sc.where = append(sc.where, sc.session+" != ''")
	having := ""
	if after != nil {
		st, k := i64(after.start), lit(after.sessionKey)
		having = " HAVING last < " + st + " OR (last = " + st + " AND k > " + k + ")"
	}
	q := "SELECT " + sc.session + " AS k, minIf(" + sc.user + ", " + sc.user + " != ''), " +
		`toInt64(count()), toInt64(countIf(status = 'error')),
		toInt64(sum(input_tokens)), toInt64(sum(output_tokens)),
		toFloat64(sum(cost_usd)), toInt64(countIf(cost_known = 0)),
		toInt64(min(start_ns)), toInt64(max(start_ns)) AS last` + s.from(sc) + "GROUP BY k" + having +
		" ORDER BY last DESC, k LIMIT " + strconv.Itoa(limit)
	rs, err := s.conn.Query(ctx, q)
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
