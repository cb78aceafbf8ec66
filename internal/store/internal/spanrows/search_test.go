package spanrows

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/keyset"
)

// listOver is a listing of rows (sorted newest first) that applies the
// filter's time range, the cursor and the limit as the backends' SQL
// does, and records the ranges it was asked for.
func listOver(rows []Row, calls *[][2]time.Time) ListFunc {
	return func(_ context.Context, l List) ([]Row, error) {
		*calls = append(*calls, [2]time.Time{l.Filter.From, l.Filter.To})
		var out []Row
		for _, r := range rows {
			if (!l.Filter.From.IsZero() && r.Start < l.Filter.From.UnixNano()) ||
				(!l.Filter.To.IsZero() && r.Start >= l.Filter.To.UnixNano()) {
				continue
			}
			if a := l.After; a != nil && !(r.Start < a.Start || (r.Start == a.Start && r.Span < a.Span)) {
				continue
			}
			if len(out) == l.Limit {
				break
			}
			out = append(out, r)
		}
		return out, nil
	}
}

func TestSearchSlices(t *testing.T) {
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	from := end.Add(-30 * 24 * time.Hour)
	// One matching span every 10 minutes over the 30 days.
	var rows []Row
	for ts := end.Add(-time.Minute); !ts.Before(from); ts = ts.Add(-10 * time.Minute) {
		rows = append(rows, Row{Start: ts.UnixNano(), Span: uint64(ts.Unix())})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Start > rows[j].Start })
	f := store.Filter{Project: "p", From: from, To: end, Text: "word"}

	// A common word: the first page comes from the newest hour alone.
	var calls [][2]time.Time
	page, err := Spans(context.Background(), store.SpansQuery{Filter: f, Limit: 5}, listOver(rows, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Spans) != 5 || page.NextCursor == "" || page.SearchedFrom != nil {
		t.Fatalf("page of %d, cursor %q, searched_from %v", len(page.Spans), page.NextCursor, page.SearchedFrom)
	}
	if len(calls) != 1 || !calls[0][0].Equal(end.Add(-firstSlice)) || !calls[0][1].Equal(end) {
		t.Fatalf("slices %v, want the newest hour only", calls)
	}

	// A page larger than an hour holds takes wider slices, each newest
	// first, and still answers the rows in order.
	calls = nil
	page, err = Spans(context.Background(), store.SpansQuery{Filter: f, Limit: 100}, listOver(rows, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Spans) != 100 || len(calls) < 3 {
		t.Fatalf("page of %d in %d slices", len(page.Spans), len(calls))
	}
	for i, s := range page.Spans {
		if want := time.Unix(0, rows[i].Start).UTC(); !s.StartTime.Equal(want) {
			t.Fatalf("row %d at %s, want %s", i, s.StartTime, want)
		}
	}
	for i := 1; i < len(calls); i++ {
		if !calls[i][1].Equal(calls[i-1][0]) || calls[i][1].Sub(calls[i][0]) != 4*calls[i-1][1].Sub(calls[i-1][0]) && !calls[i][0].Equal(from) {
			t.Fatalf("slice %d %v after %v: want adjacent and four times as long", i, calls[i], calls[i-1])
		}
	}

	// An absent word out of budget: a partial (empty) page that says how
	// far back it searched, and a cursor continuing from there.
	calls = nil
	q := store.SpansQuery{Filter: f, Limit: 5, Budget: time.Nanosecond}
	q.Filter.Text = "absent"
	page, err = Spans(context.Background(), q, listOver(nil, &calls))
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Spans) != 0 || page.SearchedFrom == nil || !page.SearchedFrom.Equal(end.Add(-firstSlice)) || page.NextCursor == "" {
		t.Fatalf("partial page: %d spans, searched_from %v, cursor %q", len(page.Spans), page.SearchedFrom, page.NextCursor)
	}
	k, err := keyset.Decode(keyset.Spans, page.NextCursor)
	if err != nil || k.Start != end.Add(-firstSlice).UnixNano() {
		t.Fatalf("cursor %+v %v", k, err)
	}
	// Followed to the end, the search covers the range in a few pages,
	// each continuing where the last stopped with a longer slice.
	pages := 1
	for page.NextCursor != "" {
		q.Cursor = page.NextCursor
		prev := page.SearchedFrom
		if page, err = Spans(context.Background(), q, listOver(nil, &calls)); err != nil {
			t.Fatal(err)
		}
		if page.SearchedFrom != nil && !page.SearchedFrom.Before(*prev) {
			t.Fatalf("searched_from %s after %s", page.SearchedFrom, prev)
		}
		if pages++; pages > 10 {
			t.Fatalf("more than 10 pages for 30 days: %v", calls)
		}
	}
	if last := calls[len(calls)-1]; !last[0].Equal(from) {
		t.Fatalf("the last slice %v does not reach the range's start", last)
	}

	// Without a text filter, or in another order, one listing.
	calls = nil
	q = store.SpansQuery{Filter: f, Limit: 5, Order: store.OrderDuration}
	if _, err := Spans(context.Background(), q, listOver(rows, &calls)); err != nil || len(calls) != 1 || !calls[0][0].Equal(from) {
		t.Fatalf("duration order: %v %v", calls, err)
	}
}
