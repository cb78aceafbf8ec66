package spanrows

import (
	"context"
	"fmt"
	"time"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/keyset"
)

// List is what a backend's span listing reads: up to Limit rows of the
// GenAI calls (or all spans) Filter selects, in the spans order (by
// start, span id, trace id, descending; ascending when Asc), with the
// order's first sort key (Sort, a keyset kind: keyset.SpansDuration
// sorts on duration_ns, keyset.SpansTokens on input_tokens +
// output_tokens) before those, after the key After when set. The rows
// come back resolved (Queries.Resolve).
type List struct {
	Filter store.Filter
	All    bool
	Asc    bool
	Sort   byte
	After  *keyset.Key
	Limit  int
}

// ListFunc is a backend's span listing.
type ListFunc func(ctx context.Context, l List) ([]Row, error)

// SessionsFunc is a backend's sessions listing: up to limit sessions of
// the calls f selects (the "" session excluded), by last call (desc) then
// session id, after the key (Start: the last call, Session: the id).
type SessionsFunc func(ctx context.Context, f store.Filter, after *keyset.Key, limit int) ([]store.SessionSummary, error)

// orderKinds are the cursor kinds of the spans orders.
var orderKinds = map[string]byte{
	store.OrderTime:     keyset.Spans,
	store.OrderDuration: keyset.SpansDuration,
	store.OrderTokens:   keyset.SpansTokens,
}

// Spans answers a spans query with the backend's listing.
func Spans(ctx context.Context, q store.SpansQuery, list ListFunc) (store.SpansPage, error) {
	if err := q.Normalize(); err != nil {
		return store.SpansPage{}, err
	}
	l := List{Filter: q.Filter, All: q.All, Sort: orderKinds[q.Order], Limit: q.Limit + 1}
	if q.Cursor != "" {
		k, err := keyset.Decode(l.Sort, q.Cursor)
		if err != nil {
			return store.SpansPage{}, fmt.Errorf("spans: %w", err)
		}
		l.After = &k
	}
	var rows []Row
	var stopped *keyset.Key
	var err error
	if q.Filter.Text != "" && l.Sort == keyset.Spans {
		budget := q.Budget
		if budget <= 0 {
			budget = store.SearchBudget
		}
		rows, stopped, err = search(ctx, l, list, budget)
	} else {
		rows, err = list(ctx, l)
	}
	if err != nil {
		return store.SpansPage{}, fmt.Errorf("spans: %w", err)
	}
	page := store.SpansPage{}
	if stopped != nil && len(rows) <= q.Limit {
		page.NextCursor = keyset.Encode(l.Sort, *stopped)
		t := time.Unix(0, stopped.Start).UTC()
		page.SearchedFrom = &t
	} else if len(rows) > q.Limit {
		rows = rows[:q.Limit]
		last := rows[q.Limit-1]
		k := last.Key()
		switch l.Sort {
		case keyset.SpansDuration:
			k.Sort = last.Dur
		case keyset.SpansTokens:
			k.Sort = last.In + last.Out
		}
		page.NextCursor = keyset.Encode(l.Sort, k)
	}
	page.Spans = Summaries(rows)
	return page, nil
}

// firstSlice is the time slice a text search scans first; each next
// slice is four times as long as the one before (30 days take 6 slices).
const firstSlice = time.Hour

// search lists l's rows (a text search in the time order) slice by slice,
// newest first, and stops when it has l.Limit rows, when the slices
// reach l.Filter.From, or when budget has passed after a slice: then it
// returns the position it searched down to (a key before every span
// starting at or after it), for the next page to continue from. Slices
// are disjoint in start time, so the rows are those one listing of the
// whole range would return, in the same order: a common word fills the
// page from the newest hour, and a rare or absent one costs at most
// about the budget per page.
func search(ctx context.Context, l List, list ListFunc, budget time.Duration) ([]Row, *keyset.Key, error) {
	began := time.Now()
	var hi int64 // the slice's end (exclusive); the filter's To when open
	open := false
	switch {
	case l.After != nil:
		hi = l.After.Start + 1
		if !l.Filter.To.IsZero() {
			hi = min(hi, l.Filter.To.UnixNano())
		}
	case !l.Filter.To.IsZero():
		hi = l.Filter.To.UnixNano()
	default:
		// No end: the first slice is open above (spans from clocks ahead
		// of this one) and starts firstSlice before now.
		hi, open = time.Now().UnixNano(), true
	}
	from, bounded := l.Filter.From.UnixNano(), !l.Filter.From.IsZero()
	var rows []Row
	width := int64(firstSlice)
	if l.After != nil {
		// A later page goes on growing: its first slice is three times
		// what lies between the range's end (or now) and the cursor, so
		// each page searches four times as far back as the one before.
		top := time.Now().UnixNano()
		if !l.Filter.To.IsZero() {
			top = l.Filter.To.UnixNano()
		}
		width = max(width, 3*(top-hi))
	}
	for {
		lo := hi - width
		last := bounded && lo <= from
		if last {
			lo = from
		}
		if !bounded && width >= int64(366*24*time.Hour) {
			last = true // a year back without a start: search the rest at once
		}
		sl := l
		sl.Limit = l.Limit - len(rows)
		sl.Filter.From = time.Time{}
		if !last || bounded {
			sl.Filter.From = time.Unix(0, lo)
		}
		if !open {
			sl.Filter.To = time.Unix(0, hi)
		}
		got, err := list(ctx, sl)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, got...)
		if len(rows) >= l.Limit || last {
			return rows, nil, nil
		}
		if time.Since(began) >= budget {
			return rows, &keyset.Key{Start: lo}, nil
		}
		hi, open, width = lo, false, width*4
	}
}

// Sessions answers a sessions query with the backend's listing.
func Sessions(ctx context.Context, q store.SessionsQuery, list SessionsFunc) (store.SessionsPage, error) {
	if err := q.Normalize(); err != nil {
		return store.SessionsPage{}, err
	}
	var after *keyset.Key
	if q.Cursor != "" {
		k, err := keyset.Decode(keyset.Sessions, q.Cursor)
		if err != nil {
			return store.SessionsPage{}, fmt.Errorf("sessions: %w", err)
		}
		after = &k
	}
	sessions, err := list(ctx, q.Filter, after, q.Limit+1)
	if err != nil {
		return store.SessionsPage{}, fmt.Errorf("sessions: %w", err)
	}
	page := store.SessionsPage{Sessions: sessions}
	if len(sessions) > q.Limit {
		page.Sessions = sessions[:q.Limit]
		last := sessions[q.Limit-1]
		page.NextCursor = keyset.Encode(keyset.Sessions, keyset.Key{Start: last.LastTime.UnixNano(), Session: last.Session})
	}
	return page, nil
}

// Session answers a session's detail with the backend's listings: its
// totals and its first store.SessionCallsLimit calls in time order.
func Session(ctx context.Context, project, id string, f store.Filter, sessions SessionsFunc, list ListFunc) (store.SessionDetail, error) {
	f, err := store.SessionFilter(project, id, f)
	if err != nil {
		return store.SessionDetail{}, err
	}
	totals, err := sessions(ctx, f, nil, 1)
	if err != nil {
		return store.SessionDetail{}, fmt.Errorf("session %s: %w", id, err)
	}
	if len(totals) == 0 {
		return store.SessionDetail{}, fmt.Errorf("session %s: %w", id, store.ErrNotFound)
	}
	rows, err := list(ctx, List{Filter: f, Asc: true, Sort: keyset.Spans, Limit: store.SessionCallsLimit})
	if err != nil {
		return store.SessionDetail{}, fmt.Errorf("session %s: %w", id, err)
	}
	return store.SessionDetail{SessionSummary: totals[0], Calls: Summaries(rows)}, nil
}

// ScanSessions reads rows of (session, user, calls, errors, input
// tokens, output tokens, cost, calls of unknown cost, first start, last
// start).
func ScanSessions(rs Rows) ([]store.SessionSummary, error) {
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

// Keyset is the SQL of a page in the spans order over a backend's
// columns: Start, Span, Hi and Lo name the start, span id and trace id
// halves, Sort the first sort key of l's order ("" for the time order).
type Keyset struct {
	Start, Span, Hi, Lo, Sort string
}

// After is the predicates (to AND) that select the rows after l.After in
// l's order, none when l.After is nil; lit writes a value (int64 or
// uint64) as SQL.
func (c Keyset) After(l List, lit func(v any) string) []string {
	if l.After == nil {
		return nil
	}
	cmp := "<"
	if l.Asc {
		cmp = ">"
	}
	a := l.After
	st, sp, hi, lo := lit(a.Start), lit(a.Span), lit(a.Hi), lit(a.Lo)
	cond := "(" + c.Start + " " + cmp + " " + st + " OR (" + c.Start + " = " + st + " AND (" + c.Span + " " + cmp + " " + sp +
		" OR (" + c.Span + " = " + sp + " AND (" + c.Hi + " " + cmp + " " + hi + " OR (" + c.Hi + " = " + hi + " AND " + c.Lo + " " + cmp + " " + lo + "))))))"
	if c.Sort == "" {
		return []string{c.Start + " " + cmp + "= " + st, cond}
	}
	v := lit(a.Sort)
	return []string{c.Sort + " " + cmp + "= " + v, "(" + c.Sort + " " + cmp + " " + v + " OR (" + c.Sort + " = " + v + " AND " + cond + "))"}
}

// OrderBy is the ORDER BY clause of l's order; sort names the first sort
// key in it (an alias may do), "" for the time order.
func (c Keyset) OrderBy(l List, sort string) string {
	dir := " DESC"
	if l.Asc {
		dir = " ASC"
	}
	order := " ORDER BY "
	if sort != "" {
		order += sort + dir + ", "
	}
	return order + c.Start + dir + ", " + c.Span + dir + ", " + c.Hi + dir + ", " + c.Lo + dir
}
