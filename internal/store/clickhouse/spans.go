package clickhouse

import (
	"context"
	"fmt"
	"strconv"

	json "github.com/goccy/go-json"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/keyset"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// The span queries' SQL; package spanrows turns what it reads into
// answers.

// summaryCols are the columns spanrows.Row.Dest reads.
const summaryCols = `trace_hi, trace_lo, span_id, parent_id, name, service, start_ns, status,
	error_type, duration_ns, ttft_ns, operation, provider, model, response_model,
	input_tokens, output_tokens, cost_known, cost_usd, session_id, user_id, content_mask, content_text, toUInt8(partner != 0)`

// sortKeys are the SQL of the spans orders' first sort keys.
var sortKeys = map[byte]string{
	keyset.SpansDuration: "duration_ns",
	keyset.SpansTokens:   "(input_tokens + output_tokens)",
}

// lit64 writes a keyset value as SQL.
func lit64(v any) string {
	if u, ok := v.(uint64); ok {
		return u64(u)
	}
	return i64(v.(int64))
}

// Spans returns a page of spans, newest first or by q.Order.
func (s *DB) Spans(ctx context.Context, q store.SpansQuery) (store.SpansPage, error) {
	return spanrows.Spans(ctx, q, s.listSpans)
}

// listSpans reads the rows of l, resolved.
func (s *DB) listSpans(ctx context.Context, l spanrows.List) ([]spanrows.Row, error) {
	sc := s.newScope(l.Filter, scopeOpts{all: l.All})
	ks := spanrows.Keyset{Start: "start_ns", Span: "span_id", Hi: "trace_hi", Lo: "trace_lo", Sort: sortKeys[l.Sort]}
	sc.where = append(sc.where, ks.After(l, lit64)...)
	// Two phases: the page's keys from the narrow key columns, then the
	// page's rows (spansByID).
	sortCol, sortAlias := "toInt64(0)", ""
	if ks.Sort != "" {
		sortCol, sortAlias = "toInt64("+ks.Sort+")", "sortv"
	}
	q := "SELECT DISTINCT start_ns, span_id, trace_hi, trace_lo, " + sortCol + " AS sortv" + s.from(sc) +
		ks.OrderBy(l, sortAlias) + " LIMIT " + strconv.Itoa(l.Limit)
	return s.queries().Page(ctx, l.Filter.Project, true, func() (spanrows.Rows, error) { return s.conn.Query(ctx, q) })
}

// queries are the queries spanrows runs.
func (s *DB) queries() spanrows.Queries {
	return spanrows.Queries{Spans: s.spansByID, Inherited: s.inherited, Records: s.records}
}

// spansByID selects the summary columns of spans by id and start, found
// by the sorting key.
func (s *DB) spansByID(ctx context.Context, project, ids string, from, to int64) (spanrows.Rows, error) {
	return s.conn.Query(ctx, "SELECT "+summaryCols+" FROM "+s.db+".spans WHERE project = "+lit(project)+
		" AND "+dayFrom(from)+" AND "+dayThrough(to)+" AND start_ns >= "+i64(from)+" AND start_ns <= "+i64(to)+" AND span_id IN ("+ids+") ORDER BY partner DESC")
}

// inherited selects the session and user the traces' spans carry.
func (s *DB) inherited(ctx context.Context, project, his string, from, to int64) (spanrows.Rows, error) {
	return s.conn.Query(ctx, `SELECT trace_hi, trace_lo,
			argMinIf(session_id, tuple(start_ns, span_id), session_id != ''),
			argMinIf(user_id, tuple(start_ns, span_id), user_id != '')
		FROM `+s.db+`.trace_ctx WHERE project = `+lit(project)+` AND `+dayFrom(from)+` AND `+dayThrough(to)+
		` AND start_ns >= `+i64(from)+` AND start_ns <= `+i64(to)+` AND trace_hi IN (`+his+`)
		GROUP BY trace_hi, trace_lo`)
}

// records selects the traces' message records; copies of a record not
// merged away yet are adjacent (spanrows keeps one).
func (s *DB) records(ctx context.Context, project, his string, from, to int64, full bool) (spanrows.Rows, error) {
	msgCol := "''"
	if full {
		msgCol = "message"
	}
	return s.conn.Query(ctx, `SELECT trace_hi, trace_lo, span_id, kind, time_ns, seq, text, `+msgCol+`, truncated FROM `+s.db+`.message_records
		WHERE project = `+lit(project)+` AND time_ns >= `+i64(from)+` AND time_ns <= `+i64(to)+
		` AND trace_hi IN (`+his+`)
		ORDER BY trace_hi, trace_lo, span_id, time_ns, seq, kind`)
}

// Trace returns every span of a trace as a tree.
func (s *DB) Trace(ctx context.Context, project string, id genai.TraceID) (store.Trace, error) {
	if err := store.ValidateTrace(project); err != nil {
		return store.Trace{}, err
	}
	hi, lo := store.TraceHiLo(id)
	// A record's copy with its partner first: it replaces the stored copy
	// of a record that stopped counting (one call, one count).
	rs, err := s.conn.Query(ctx, `SELECT `+summaryCols+`, detail, own FROM `+s.db+`.spans WHERE project = `+lit(project)+
		` AND trace_hi = `+u64(hi)+` AND trace_lo = `+u64(lo)+` ORDER BY start_ns, span_id, partner DESC`)
	if err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	rows, err := scanTrace(rs)
	if err != nil {
		return store.Trace{}, fmt.Errorf("trace %s: %w", id, err)
	}
	return s.queries().Trace(ctx, project, id, rows, func(_ int, r *spanrows.Row) (genai.Span, error) {
		var sp genai.Span
		err := json.Unmarshal([]byte(store.CutTooDeep(r.Detail)), &sp)
		sp.Project, sp.Status = project, genai.Status(r.Status)
		return sp, err
	})
}

// scanTrace reads the rows of a trace, each once (the first copy: a
// copy not merged away yet may follow).
func scanTrace(rs spanrows.Rows) ([]spanrows.Row, error) {
	defer rs.Close()
	var rows []spanrows.Row
	seen := map[keyset.Key]bool{}
	for rs.Next() {
		var r spanrows.Row
		var own string
		if err := rs.Scan(append(r.Dest(), &r.Detail, &own)...); err != nil {
			return nil, err
		}
		if _, err := spanrows.RestoreOwn(&r, own); err != nil {
			return nil, err
		}
		if !seen[r.Key()] {
			seen[r.Key()] = true
			rows = append(rows, r)
		}
	}
	return rows, rs.Err()
}

// Sessions returns sessions with calls in the filter's range, most recent
// activity first.
func (s *DB) Sessions(ctx context.Context, q store.SessionsQuery) (store.SessionsPage, error) {
	return spanrows.Sessions(ctx, q, s.sessions)
}

func (s *DB) sessions(ctx context.Context, f store.Filter, after *keyset.Key, limit int) ([]store.SessionSummary, error) {
	sc := s.newScope(f, scopeOpts{session: true, user: true})
	sc.where = append(sc.where, sc.session+" != ''")
	having := ""
	if after != nil {
		st, k := i64(after.Start), lit(after.Session)
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
	return spanrows.ScanSessions(rs)
}

// Session returns a session's totals and its calls in time order.
func (s *DB) Session(ctx context.Context, project, id string, f store.Filter) (store.SessionDetail, error) {
	return spanrows.Session(ctx, project, id, f, s.sessions, s.listSpans)
}
