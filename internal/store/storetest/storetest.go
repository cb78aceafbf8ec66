package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// Tolerances of the comparisons: sums of floats may be added in any
// order; percentiles may be approximated by a backend (see store.Store).
const (
	sumTolerance        = 1e-9  // relative
	percentileTolerance = 0.005 // relative
)

// Project is the project the suite's main data set is written to; Other
// holds a second data set with the same trace ids that must never leak.
const (
	Project = "proj-a"
	Other   = "proj-b"
)

// traces is the size of the main data set.
const traces = 60

// Run runs the conformance suite. open must return a new, empty store
// each call; Run closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("Empty", func(t *testing.T) { testEmpty(t, openClosed(t, open)) })
	t.Run("BadInput", func(t *testing.T) { testBadInput(t, openClosed(t, open)) })
	t.Run("DeepValues", func(t *testing.T) { testDeepValues(t, openClosed(t, open)) })

	s := openClosed(t, open)
	d := genDataset(Project, traces)
	other := genDataset(Other, traces/2)
	for i := range other.batches {
		// Different content under the same ids, in another project.
		for j := range other.batches[i] {
			other.batches[i][j].Service = "other-service"
			other.batches[i][j].DurationNano *= 3
		}
	}
	other.rebuild()
	writeAll(t, s, other)
	writeAll(t, s, d)
	// OTLP retries: write some batches again.
	for i := 0; i < len(d.batches); i += 3 {
		write(t, s, d.batches[i], d.records[i])
	}
	r := d.ref

	t.Run("Overview", func(t *testing.T) { testOverview(t, s, r) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, s, r) })
	t.Run("Timeseries", func(t *testing.T) { testTimeseries(t, s, r) })
	t.Run("Breakdown", func(t *testing.T) { testBreakdown(t, s, r) })
	t.Run("Spans", func(t *testing.T) { testSpans(t, s, r) })
	t.Run("Trace", func(t *testing.T) { testTrace(t, s, r) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, s, r) })
	t.Run("UnknownModels", func(t *testing.T) { testUnknownModels(t, s, r) })
	t.Run("Steps", func(t *testing.T) { testSteps(t, s, r) })
	t.Run("CallClasses", func(t *testing.T) { testCallClasses(t, openClosed(t, open)) })
	t.Run("OneCall", func(t *testing.T) { testOneCall(t, openClosed(t, open)) })
	t.Run("Aggregate", func(t *testing.T) { testAggregate(t, s, r) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, s, other.ref) })
	t.Run("PagingWhileWriting", func(t *testing.T) { testPagingWhileWriting(t, openClosed(t, open)) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, openClosed(t, open)) })
}

func openClosed(t *testing.T, open func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := open(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func write(t *testing.T, s store.Store, spans []genai.Span, recs []genai.MessageRecord) {
	t.Helper()
	if err := s.Write(context.Background(), &store.Batch{Spans: spans, Messages: recs}); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func writeAll(t *testing.T, s store.Store, d *dataset) {
	t.Helper()
	for i := range d.batches {
		write(t, s, d.batches[i], d.records[i])
	}
}

func all(p string) store.Filter { return store.Filter{Project: p} }

func near(a, b, rel float64) bool {
	if a == b {
		return true
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))+1e-12
}

func checkLatency(t *testing.T, what string, got, want store.Latency) {
	t.Helper()
	if !near(got.Avg, want.Avg, sumTolerance) || !near(got.P50, want.P50, percentileTolerance) ||
		!near(got.P95, want.P95, percentileTolerance) || !near(got.P99, want.P99, percentileTolerance) {
		t.Errorf("%s latency = %+v, want %+v", what, got, want)
	}
}

func checkOverview(t *testing.T, what string, got, want store.Overview) {
	t.Helper()
	g, w := got, want
	if g.Calls != w.Calls || g.Errors != w.Errors || g.InputTokens != w.InputTokens || g.OutputTokens != w.OutputTokens ||
		g.TotalTokens != w.TotalTokens || g.CachedTokens != w.CachedTokens || g.ReasoningTokens != w.ReasoningTokens ||
		g.CostUnknownCalls != w.CostUnknownCalls || g.TTFTMS.Count != w.TTFTMS.Count ||
		!near(g.CostUSD, w.CostUSD, sumTolerance) || !near(g.ErrorRate, w.ErrorRate, sumTolerance) ||
		!near(g.TTFTMS.P50, w.TTFTMS.P50, percentileTolerance) || !near(g.TTFTMS.P95, w.TTFTMS.P95, percentileTolerance) {
		t.Errorf("%s overview =\n%+v\nwant\n%+v", what, got, want)
	}
	checkLatency(t, what, got.DurationMS, want.DurationMS)
}

func testEmpty(t *testing.T, s store.Store) {
	ctx := context.Background()
	f := all(Project)
	o, err := s.Overview(ctx, f)
	if err != nil || !reflect.DeepEqual(o, store.Overview{}) {
		t.Errorf("Overview = %+v, %v; want zeros", o, err)
	}
	ts, err := s.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: store.MetricCalls, Interval: time.Minute, GroupBy: store.DimModel})
	if err != nil || len(ts) != 0 {
		t.Errorf("Timeseries = %+v, %v; want none", ts, err)
	}
	for _, dim := range dims {
		b, err := s.Breakdown(ctx, store.BreakdownQuery{Filter: f, By: dim})
		if err != nil || len(b) != 0 {
			t.Errorf("Breakdown by %s = %+v, %v; want none", dim, b, err)
		}
	}
	p, err := s.Spans(ctx, store.SpansQuery{Filter: f, All: true})
	if err != nil || len(p.Spans) != 0 || p.NextCursor != "" {
		t.Errorf("Spans = %+v, %v; want empty", p, err)
	}
	ss, err := s.Sessions(ctx, store.SessionsQuery{Filter: f})
	if err != nil || len(ss.Sessions) != 0 || ss.NextCursor != "" {
		t.Errorf("Sessions = %+v, %v; want empty", ss, err)
	}
	if _, err := s.Session(ctx, Project, "sess-1", f); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session: %v, want ErrNotFound", err)
	}
	um, err := s.UnknownModels(ctx, f)
	if err != nil || len(um) != 0 {
		t.Errorf("UnknownModels = %+v, %v; want none", um, err)
	}
	if _, err := s.Trace(ctx, Project, traceID(Project, 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Trace: %v, want ErrNotFound", err)
	}
	if err := s.Write(ctx, &store.Batch{}); err != nil {
		t.Errorf("Write(empty batch): %v", err)
	}
}

func testBadInput(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := genDataset(Project, 12)
	writeAll(t, s, d)
	f := all(Project)
	for _, c := range []string{"%%%", "AAAA", "not-a-cursor!", strings.Repeat("A", 200)} {
		if _, err := s.Spans(ctx, store.SpansQuery{Filter: f, Cursor: c}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("Spans(cursor %q): %v, want ErrBadCursor", c, err)
		}
		if _, err := s.Sessions(ctx, store.SessionsQuery{Filter: f, Cursor: c}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("Sessions(cursor %q): %v, want ErrBadCursor", c, err)
		}
	}
	if _, err := s.Overview(ctx, store.Filter{}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("Overview(no project): %v, want ErrBadQuery", err)
	}
	if _, err := s.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: "bogus", Interval: time.Minute}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("Timeseries(bad metric): %v, want ErrBadQuery", err)
	}
	if _, err := s.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: store.MetricCostUSD, Agg: "median", Interval: time.Minute}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("Timeseries(bad agg): %v, want ErrBadQuery", err)
	}
	if _, err := s.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: store.MetricCalls}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("Timeseries(no interval): %v, want ErrBadQuery", err)
	}
	if _, err := s.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: store.MetricCalls, Interval: time.Minute, GroupBy: "color"}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("Timeseries(bad group): %v, want ErrBadQuery", err)
	}
	if _, err := s.Breakdown(ctx, store.BreakdownQuery{Filter: f, By: "color"}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("Breakdown(bad dim): %v, want ErrBadQuery", err)
	}
	if _, err := s.Spans(ctx, store.SpansQuery{Filter: f, Limit: 5000}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("Spans(limit 5000): %v, want ErrBadQuery", err)
	}
	if _, err := s.Spans(ctx, store.SpansQuery{Filter: f, Order: "color"}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("Spans(order color): %v, want ErrBadQuery", err)
	}
	// A cursor is only good for the order that issued it.
	for _, o := range [][2]string{{"", store.OrderDuration}, {store.OrderDuration, store.OrderTokens}, {store.OrderTokens, store.OrderTime}} {
		p, err := s.Spans(ctx, store.SpansQuery{Filter: f, Limit: 2, Order: o[0]})
		if err != nil || p.NextCursor == "" {
			t.Fatalf("Spans(order %q, limit 2) = %+v, %v; want a cursor", o[0], p, err)
		}
		if _, err := s.Spans(ctx, store.SpansQuery{Filter: f, Limit: 2, Order: o[1], Cursor: p.NextCursor}); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("Spans(order %q, cursor of order %q): %v, want ErrBadCursor", o[1], o[0], err)
		}
	}
	// Odd but valid text: SQL metacharacters match literally.
	for _, q := range []string{"%", "_", "'", `\`, "capital' OR '1'='1"} {
		o, err := s.Overview(ctx, store.Filter{Project: Project, Text: q})
		if err != nil {
			t.Errorf("Overview(text %q): %v", q, err)
			continue
		}
		checkOverview(t, "text "+q, o, overviewOf(d.ref.selected(store.Filter{Project: Project, Text: q}, false)))
	}
}

// filters are the filters checked against the reference: each field
// alone and some combinations.
func filters(r *ref) []store.Filter {
	p := Project
	from, to := Base.Add(20*97*time.Second), Base.Add(45*97*time.Second)
	return append([]store.Filter{
		{Project: p},
		{Project: p, From: from},
		{Project: p, To: to},
		{Project: p, From: from, To: to},
		{Project: p, From: to, To: from.Add(-time.Hour)}, // empty
		{Project: p, Service: "support-bot"},
		{Project: p, Provider: "anthropic"},
		{Project: p, Provider: "nobody"},
		{Project: p, Model: "gpt-4o"},
		{Project: p, Model: "gpt-4o-2024-08-06"}, // a response model
		{Project: p, Model: "gpt-4o-mini-2024-08-06"},
		{Project: p, Operation: "embeddings"},
		{Project: p, Operation: "execute_tool"},
		{Project: p, Status: genai.StatusError},
		{Project: p, Status: genai.StatusOK},
		{Project: p, Session: "sess-1"},
		{Project: p, Session: "own-sess-2"},
		{Project: p, Session: "sess-404"},
		{Project: p, User: "user-2"},
		{Project: p, User: "user-own"},
		{Project: p, Text: "capital"},
		{Project: p, Text: "CITY-12"},            // case-insensitive, own content
		{Project: p, Text: "zanzibar"},           // only in message records
		{Project: p, Text: "via record"},         // input from records, output own
		{Project: p, Text: "ÜNÏCØDÉ SYSTÈME"},    // Unicode case folding
		{Project: p, Text: "assistant number 3"}, // system text
		{Project: p, Text: "lookup"},             // a tool call's name: not text
		{Project: p, Service: "chat-api", Model: "gpt-4o", Status: genai.StatusOK},
		{Project: p, Session: "sess-2", User: "user-2", Text: "question"},
		{Project: p, From: from, To: to, Provider: "openai", Session: "sess-3"},
	}, barFilters()...)
}

// barFilters are the filter bar's filters: multi-select and contains,
// thresholds, attributes.
func barFilters() []store.Filter {
	p := Project
	gt := func(m string, v float64) store.Threshold {
		return store.Threshold{Metric: m, Op: store.ThresholdGT, Value: v}
	}
	lt := func(m string, v float64) store.Threshold {
		return store.Threshold{Metric: m, Op: store.ThresholdLT, Value: v}
	}
	attr := func(k, op, v string) []store.AttrFilter { return []store.AttrFilter{{Key: k, Op: op, Value: v}} }
	from, to := Base.Add(20*97*time.Second), Base.Add(45*97*time.Second)
	return []store.Filter{
		{Project: p, Services: store.Match{In: []string{"chat-api", "support-bot"}}},
		{Project: p, Services: store.Match{Contains: "BOT"}}, // case-insensitive
		{Project: p, Services: store.Match{In: []string{"chat-api"}, Contains: "worker"}},
		{Project: p, Services: store.Match{In: []string{"nobody"}}},
		{Project: p, Models: store.Match{In: []string{"gpt-4o-mini-2024-08-06", "claude-3-5-sonnet"}}}, // response, request model
		{Project: p, Models: store.Match{Contains: "GPT-4O"}},
		{Project: p, Users: store.Match{In: []string{"user-1", "user-own"}}}, // inherited, own
		{Project: p, Users: store.Match{Contains: "R-3"}},                    // case-insensitive
		{Project: p, Users: store.Match{Contains: "user-"}, Session: "sess-2"},
		{Project: p, Thresholds: []store.Threshold{gt(store.MetricDurationMS, 1500)}},
		{Project: p, Thresholds: []store.Threshold{gt(store.MetricDurationMS, 500), lt(store.MetricDurationMS, 1200)}},
		{Project: p, Thresholds: []store.Threshold{gt(store.MetricTotalTokens, 400)}},
		{Project: p, Thresholds: []store.Threshold{gt(store.MetricCostUSD, 0.002)}}, // unknown costs never pass
		{Project: p, Thresholds: []store.Threshold{lt(store.MetricCostUSD, 0.001)}},
		{Project: p, Thresholds: []store.Threshold{lt(store.MetricTTFTMS, 300)}}, // calls without a TTFT never pass
		{Project: p, Thresholds: []store.Threshold{gt(store.MetricInputTokens, 500), lt(store.MetricOutputTokens, 200)}},
		{Project: p, Thresholds: []store.Threshold{lt(store.MetricDurationMS, 0)}}, // none
		{Project: p, Attrs: attr("n", store.AttrEquals, "2")},
		{Project: p, Attrs: attr("http.route", store.AttrExists, "")}, // root spans: with all only
		{Project: p, Attrs: attr("score", store.AttrEquals, "1.0499999999999998")},
		{Project: p, Attrs: attr("score", store.AttrContains, "0.7")},
		{Project: p, Attrs: attr("region", store.AttrContains, "eu")},
		{Project: p, Attrs: attr("region", store.AttrEquals, "Ünïcødé-Zone")},
		{Project: p, Attrs: attr("region", store.AttrContains, "ÜNÏCØDÉ")},
		{Project: p, Attrs: attr("cached", store.AttrEquals, "true")},
		{Project: p, Attrs: attr("tags", store.AttrExists, "")},
		{Project: p, Attrs: attr("tags", store.AttrContains, "t1")}, // a list has no text
		{Project: p, Attrs: attr("meta", store.AttrContains, "gold")},
		{Project: p, Attrs: attr("path/to~x", store.AttrEquals, "slash")},
		{Project: p, Attrs: attr("service.name", store.AttrExists, "")}, // a resource attribute
		{Project: p, Attrs: attr("k", store.AttrExists, "")},            // an event's attribute
		{Project: p, Attrs: attr("name", store.AttrExists, "")},         // a span field, not an attribute
		{Project: p, Attrs: attr("gen_ai.openai.api_base", store.AttrEquals, "https://example.test")},
		{Project: p, Attrs: attr("n", store.AttrEquals, "")},
		{Project: p, From: from, To: to, Services: store.Match{Contains: "api"}, Models: store.Match{In: []string{"gpt-4o"}, Contains: "claude"},
			Users: store.Match{In: []string{"user-2", "user-3"}}, Thresholds: []store.Threshold{gt(store.MetricDurationMS, 300)},
			Attrs: []store.AttrFilter{{Key: "cached", Op: store.AttrExists}, {Key: "region", Op: store.AttrContains, Value: "E"}}},
	}
}

var dims = []string{store.DimModel, store.DimProvider, store.DimService, store.DimOperation, store.DimStatus, store.DimSession, store.DimUser}

func testOverview(t *testing.T, s store.Store, r *ref) {
	got, err := s.Overview(context.Background(), all(Project))
	if err != nil {
		t.Fatal(err)
	}
	want := overviewOf(r.selected(all(Project), false))
	checkOverview(t, "all", got, want)
	// Sanity of the reference itself and of the data set: it covers
	// errors, unknown costs, streaming, several models.
	if want.Calls < 80 || want.Errors == 0 || want.CostUnknownCalls == 0 || want.TTFTMS.Count == 0 || want.CostUSD <= 0 {
		t.Fatalf("data set too poor: %+v", want)
	}
	// Hand-checked percentile semantics on a tiny filter.
	es := r.selected(store.Filter{Project: Project, Service: "chat-api", Status: genai.StatusError}, false)
	if len(es) >= 2 {
		o, err := s.Overview(context.Background(), store.Filter{Project: Project, Service: "chat-api", Status: genai.StatusError})
		if err != nil {
			t.Fatal(err)
		}
		checkOverview(t, "chat-api errors", o, overviewOf(es))
	}
}

func testFilters(t *testing.T, s store.Store, r *ref) {
	ctx := context.Background()
	for _, f := range filters(r) {
		name := fmt.Sprintf("%+v", f)
		o, err := s.Overview(ctx, f)
		if err != nil {
			t.Errorf("%s: Overview: %v", name, err)
			continue
		}
		checkOverview(t, name, o, overviewOf(r.selected(f, false)))
		for _, all := range []bool{false, true} {
			got := pageAll(t, s, store.SpansQuery{Filter: f, All: all, Limit: 17})
			checkSummaries(t, fmt.Sprintf("%s all=%v", name, all), got, r, r.selected(f, all))
			if f.Text != "" {
				// A search out of time after each slice answers partial
				// pages; followed to the end they are the same rows.
				got := pageAll(t, s, store.SpansQuery{Filter: f, All: all, Limit: 17, Budget: time.Nanosecond})
				checkSummaries(t, fmt.Sprintf("%s all=%v budget=1ns", name, all), got, r, r.selected(f, all))
			}
		}
	}
	// Some filters select something, some nothing.
	if n := len(r.selected(store.Filter{Project: Project, Text: "zanzibar"}, false)); n == 0 {
		t.Fatal("data set: no span with content from message records")
	}
	if n := len(r.selected(store.Filter{Project: Project, Session: "sess-1"}, false)); n == 0 {
		t.Fatal("data set: no call inheriting a session")
	}
	// Most filter bar filters select something, and never everything.
	selecting := 0
	for _, f := range barFilters() {
		if n := len(r.selected(f, true)); n > 0 && n < len(r.selected(all(Project), true)) {
			selecting++
		}
	}
	if selecting < 24 {
		t.Fatalf("data set: only %d of %d filter bar filters select some spans", selecting, len(barFilters()))
	}
}

func pageAll(t *testing.T, s store.Store, q store.SpansQuery) []store.SpanSummary {
	t.Helper()
	var out []store.SpanSummary
	seen := map[string]bool{}
	for page := 0; ; page++ {
		p, err := s.Spans(context.Background(), q)
		if err != nil {
			t.Fatalf("Spans page %d: %v", page, err)
		}
		if len(p.Spans) > q.Limit {
			t.Fatalf("page of %d spans, limit %d", len(p.Spans), q.Limit)
		}
		for _, sp := range p.Spans {
			k := sp.TraceID + sp.SpanID
			if seen[k] {
				t.Fatalf("span %s twice across pages", k)
			}
			seen[k] = true
		}
		out = append(out, p.Spans...)
		if p.NextCursor == "" {
			return out
		}
		// A text search that stopped at its budget may have found nothing
		// yet in the time it searched: it says how far back it got.
		if (len(p.Spans) == 0 && p.SearchedFrom == nil) || page > 10000 {
			t.Fatalf("page %d: no spans but a cursor", page)
		}
		if p.SearchedFrom != nil {
			if q.Filter.Text == "" || (q.Order != "" && q.Order != store.OrderTime) {
				t.Fatalf("page %d: searched_from on a query that is not a text search in time order", page)
			}
			for _, sp := range p.Spans {
				if sp.StartTime.Before(*p.SearchedFrom) {
					t.Fatalf("page %d: span %s starts at %s, before searched_from %s", page, sp.SpanID, sp.StartTime, p.SearchedFrom)
				}
			}
		}
		q.Cursor = p.NextCursor
	}
}

func checkSummaries(t *testing.T, what string, got []store.SpanSummary, r *ref, want []effective) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d spans, want %d", what, len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		w := r.summary(want[i])
		if d := diffSummary(got[i], w); d != "" {
			t.Errorf("%s: span %d: %s", what, i, d)
			return
		}
	}
}

func diffSummary(g, w store.SpanSummary) string {
	if !g.StartTime.Equal(w.StartTime) {
		return fmt.Sprintf("start %v, want %v (span %s, want %s)", g.StartTime, w.StartTime, g.SpanID, w.SpanID)
	}
	g.StartTime, w.StartTime = time.Time{}, time.Time{}
	if (g.TTFTMS == nil) != (w.TTFTMS == nil) || (g.TTFTMS != nil && !near(*g.TTFTMS, *w.TTFTMS, 1e-9)) {
		return fmt.Sprintf("span %s: ttft %v, want %v", w.SpanID, g.TTFTMS, w.TTFTMS)
	}
	if (g.CostUSD == nil) != (w.CostUSD == nil) || (g.CostUSD != nil && !near(*g.CostUSD, *w.CostUSD, 1e-12)) {
		return fmt.Sprintf("span %s: cost %v, want %v", w.SpanID, g.CostUSD, w.CostUSD)
	}
	g.TTFTMS, w.TTFTMS, g.CostUSD, w.CostUSD = nil, nil, nil, nil
	if !near(g.DurationMS, w.DurationMS, 1e-12) {
		return fmt.Sprintf("span %s: duration %v, want %v", w.SpanID, g.DurationMS, w.DurationMS)
	}
	g.DurationMS = w.DurationMS
	if !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("\n got %+v\nwant %+v", g, w)
	}
	return ""
}

func testTimeseries(t *testing.T, s store.Store, r *ref) {
	ctx := context.Background()
	metrics := []string{store.MetricCalls, store.MetricErrors, store.MetricErrorRate, store.MetricInputTokens,
		store.MetricOutputTokens, store.MetricTotalTokens, store.MetricCostUSD, store.MetricDurationMS, store.MetricTTFTMS}
	aggs := []string{"", store.AggSum, store.AggAvg, store.AggMin, store.AggMax, store.AggCount, store.AggP50, store.AggP90, store.AggP95, store.AggP99}
	check := func(q store.TimeseriesQuery) {
		t.Helper()
		name := fmt.Sprintf("%s/%s/%v/%s", q.Metric, q.Agg, q.Interval, q.GroupBy)
		got, err := s.Timeseries(ctx, q)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		want := r.timeseries(q)
		if len(got) != len(want) {
			t.Errorf("%s: %d series, want %d", name, len(got), len(want))
			return
		}
		tol := sumTolerance
		if strings.HasPrefix(q.Agg, "p") {
			tol = percentileTolerance
		}
		for i := range got {
			if got[i].Group != want[i].Group || len(got[i].Points) != len(want[i].Points) {
				t.Errorf("%s: series %d = %q with %d points, want %q with %d", name, i, got[i].Group, len(got[i].Points), want[i].Group, len(want[i].Points))
				return
			}
			for j, p := range got[i].Points {
				w := want[i].Points[j]
				if !p.Time.Equal(w.Time) || !near(p.Value, w.Value, tol) {
					t.Errorf("%s: series %q point %d = %v %v, want %v %v", name, got[i].Group, j, p.Time, p.Value, w.Time, w.Value)
					return
				}
				if p.Time.UnixNano()%q.Interval.Nanoseconds() != 0 {
					t.Errorf("%s: bucket %v not aligned to %v", name, p.Time, q.Interval)
				}
			}
		}
	}
	f := all(Project)
	for _, m := range metrics {
		for _, a := range aggs {
			check(store.TimeseriesQuery{Filter: f, Metric: m, Agg: a, Interval: 15 * time.Minute})
		}
	}
	for _, iv := range []time.Duration{time.Minute, 7 * time.Minute, time.Hour, 24 * time.Hour} {
		check(store.TimeseriesQuery{Filter: f, Metric: store.MetricCalls, Interval: iv})
	}
	for _, g := range dims {
		check(store.TimeseriesQuery{Filter: f, Metric: store.MetricTotalTokens, Interval: 30 * time.Minute, GroupBy: g})
		check(store.TimeseriesQuery{Filter: f, Metric: store.MetricDurationMS, Agg: store.AggP95, Interval: 30 * time.Minute, GroupBy: g, Limit: 2})
	}
	for _, fl := range filters(r) {
		check(store.TimeseriesQuery{Filter: fl, Metric: store.MetricCostUSD, Interval: 20 * time.Minute, GroupBy: store.DimModel})
	}
}

func testBreakdown(t *testing.T, s store.Store, r *ref) {
	ctx := context.Background()
	check := func(q store.BreakdownQuery) {
		t.Helper()
		got, err := s.Breakdown(ctx, q)
		if err != nil {
			t.Errorf("by %s: %v", q.By, err)
			return
		}
		want := r.breakdown(q)
		if len(got) != len(want) {
			t.Errorf("by %s %+v: %d rows, want %d:\n%+v\n%+v", q.By, q.Filter, len(got), len(want), got, want)
			return
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.Key != w.Key || g.Calls != w.Calls || g.Errors != w.Errors || g.InputTokens != w.InputTokens ||
				g.OutputTokens != w.OutputTokens || g.TotalTokens != w.TotalTokens || g.CostUnknownCalls != w.CostUnknownCalls ||
				!near(g.CostUSD, w.CostUSD, sumTolerance) || !near(g.ErrorRate, w.ErrorRate, sumTolerance) {
				t.Errorf("by %s %+v: row %d =\n%+v\nwant\n%+v", q.By, q.Filter, i, g, w)
			}
			checkLatency(t, "breakdown by "+q.By+" "+w.Key, g.DurationMS, w.DurationMS)
			if (g.LastSeen == nil) != (w.LastSeen == nil) || g.LastSeen != nil && !g.LastSeen.Equal(*w.LastSeen) {
				t.Errorf("by %s %+v: row %s last seen %v, want %v", q.By, q.Filter, w.Key, g.LastSeen, w.LastSeen)
			}
		}
	}
	for _, d := range dims {
		check(store.BreakdownQuery{Filter: all(Project), By: d})
		check(store.BreakdownQuery{Filter: all(Project), By: d, Limit: 2})
	}
	for _, f := range filters(r) {
		check(store.BreakdownQuery{Filter: f, By: store.DimModel})
		check(store.BreakdownQuery{Filter: f, By: store.DimSession})
		check(store.BreakdownQuery{Filter: f, By: store.DimUser})
	}
}

func testSpans(t *testing.T, s store.Store, r *ref) {
	ctx := context.Background()
	f := all(Project)
	p, err := s.Spans(ctx, store.SpansQuery{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if want := min(50, len(r.selected(f, false))); len(p.Spans) != want {
		t.Errorf("default page: %d spans, want %d", len(p.Spans), want)
	}
	for _, limit := range []int{1, 3, 50, 1000} {
		checkSummaries(t, fmt.Sprintf("limit %d", limit), pageAll(t, s, store.SpansQuery{Filter: f, Limit: limit}), r, r.selected(f, false))
	}
	// The other orders, paged, with and without filters and non-GenAI spans.
	for _, order := range []string{store.OrderTime, store.OrderDuration, store.OrderTokens} {
		for _, limit := range []int{1, 7, 1000} {
			checkSummaries(t, fmt.Sprintf("order %s limit %d", order, limit),
				pageAll(t, s, store.SpansQuery{Filter: f, Limit: limit, Order: order}), r, r.ordered(f, false, order))
		}
		for i, ff := range filters(r) {
			if i%3 != 0 {
				continue
			}
			checkSummaries(t, fmt.Sprintf("order %s %+v all", order, ff),
				pageAll(t, s, store.SpansQuery{Filter: ff, All: true, Limit: 5, Order: order}), r, r.ordered(ff, true, order))
		}
	}
	// Previews: a long multi-byte system prompt is cut with "…"; content
	// from message records appears (input: the last record with text);
	// the input is the user's last message, never the system message.
	var long, fromRecords, history bool
	for _, sp := range pageAll(t, s, store.SpansQuery{Filter: f, Limit: 1000}) {
		if n := utf8.RuneCountInString(sp.System); n > store.PreviewLen {
			t.Errorf("span %s: system preview of %d runes", sp.SpanID, n)
		}
		if strings.HasPrefix(sp.System, "Ünïcødé") {
			long = true
			if !strings.HasSuffix(sp.System, "…") || utf8.RuneCountInString(sp.System) != store.PreviewLen {
				t.Errorf("long system preview %q", sp.System)
			}
		}
		if strings.Contains(sp.Input, "Zanzibar") {
			fromRecords = true
			if sp.Input != "Follow-up about Zanzibar" || sp.Output == "" || sp.System == "" {
				t.Errorf("content from records: %+v", sp)
			}
		}
		if sp.System != "" && strings.Contains(sp.Input, sp.System) {
			t.Errorf("span %s: input preview %q repeats the system message", sp.SpanID, sp.Input)
		}
		if strings.Contains(sp.Output, "Answer") && strings.HasPrefix(sp.System, "You are assistant") && !strings.Contains(sp.Input, "Zanzibar") {
			if !strings.HasPrefix(sp.Input, "Question ") {
				t.Errorf("span %s: input preview %q, want the user's last question", sp.SpanID, sp.Input)
			}
		}
		if sp.Input != "" && strings.Contains(sp.Input, "Earlier") {
			t.Errorf("span %s: input preview %q is not the user's last message", sp.SpanID, sp.Input)
		}
		history = history || strings.HasPrefix(sp.Input, "Question ")
	}
	if !long || !fromRecords || !history {
		t.Errorf("previews: saw long=%v fromRecords=%v question=%v", long, fromRecords, history)
	}
}

func normJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func testTrace(t *testing.T, s store.Store, r *ref) {
	ctx := context.Background()
	for i := range traces {
		id := traceID(Project, i)
		want := r.traceSpans(Project, id)
		tr, err := s.Trace(ctx, Project, id)
		if err != nil {
			t.Errorf("trace %d: %v", i, err)
			continue
		}
		if tr.TraceID != id.String() {
			t.Errorf("trace id %s, want %s", tr.TraceID, id)
		}
		byID := map[string]effective{}
		for _, e := range want {
			byID[e.SpanID.String()] = e
		}
		seen := 0
		var walk func(n *store.TraceNode, parent *store.TraceNode)
		walk = func(n *store.TraceNode, parent *store.TraceNode) {
			seen++
			e, ok := byID[n.SpanID]
			if !ok {
				t.Errorf("trace %d: unexpected span %s", i, n.SpanID)
				return
			}
			if parent == nil && !e.ParentSpanID.IsZero() {
				if _, ok := byID[e.ParentSpanID.String()]; ok {
					t.Errorf("trace %d: span %s is a root but its parent is in the trace", i, n.SpanID)
				}
			}
			if parent != nil && parent.SpanID != e.ParentSpanID.String() {
				t.Errorf("trace %d: span %s under %s, want %s", i, n.SpanID, parent.SpanID, e.ParentSpanID)
			}
			if n.Session != e.session || n.User != e.user || n.StartTime.UnixNano() != e.StartUnixNano || !near(n.DurationMS, ms(e.DurationNano), 1e-12) {
				t.Errorf("trace %d: span %s: session %q user %q start %v, want %q %q %v", i, n.SpanID, n.Session, n.User, n.StartTime, e.session, e.user, time.Unix(0, e.StartUnixNano))
			}
			w := *e.Span
			w.SystemInstructions, w.InputMessages, w.OutputMessages, w.ContentTruncated = e.sys, e.in, e.out, e.truncated
			if n.Span.TraceID != w.TraceID || n.Span.SpanID != w.SpanID || n.Span.ParentSpanID != w.ParentSpanID {
				t.Errorf("trace %d: span ids %s/%s/%s", i, n.Span.TraceID, n.Span.SpanID, n.Span.ParentSpanID)
			}
			if g, wj := normJSON(t, n.Span), normJSON(t, w); !reflect.DeepEqual(g, wj) {
				t.Errorf("trace %d: span %s =\n%v\nwant\n%v", i, n.SpanID, g, wj)
			}
			for k, c := range n.Children {
				if k > 0 && c.StartTime.Before(n.Children[k-1].StartTime) {
					t.Errorf("trace %d: children of %s not in start order", i, n.SpanID)
				}
				walk(c, n)
			}
		}
		for k, root := range tr.Roots {
			if k > 0 && root.StartTime.Before(tr.Roots[k-1].StartTime) {
				t.Errorf("trace %d: roots not in start order", i)
			}
			walk(root, nil)
		}
		if seen != len(want) {
			t.Errorf("trace %d: %d spans, want %d", i, seen, len(want))
		}
	}
	if _, err := s.Trace(ctx, Project, traceID(Project, 100000)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing trace: %v, want ErrNotFound", err)
	}
	if _, err := s.Trace(ctx, "no-such-project", traceID(Project, 1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("trace of another project: %v, want ErrNotFound", err)
	}
}

func testSessions(t *testing.T, s store.Store, r *ref) {
	ctx := context.Background()
	for _, f := range []store.Filter{all(Project), {Project: Project, Provider: "openai"}, {Project: Project, From: Base.Add(time.Hour)}} {
		want := r.sessions(f)
		for _, limit := range []int{0, 1, 2, 100} {
			var got []store.SessionSummary
			q := store.SessionsQuery{Filter: f, Limit: limit}
			for range 1000 {
				p, err := s.Sessions(ctx, q)
				if err != nil {
					t.Fatalf("Sessions: %v", err)
				}
				got = append(got, p.Sessions...)
				if p.NextCursor == "" {
					break
				}
				q.Cursor = p.NextCursor
			}
			if len(got) != len(want) {
				t.Errorf("%+v limit %d: %d sessions, want %d", f, limit, len(got), len(want))
				continue
			}
			for i := range got {
				g, w := got[i], want[i]
				if !near(g.CostUSD, w.CostUSD, sumTolerance) || !g.FirstTime.Equal(w.FirstTime) || !g.LastTime.Equal(w.LastTime) {
					t.Errorf("session %d = %+v, want %+v", i, g, w)
				}
				g.CostUSD, g.FirstTime, g.LastTime = w.CostUSD, w.FirstTime, w.LastTime
				if g != w {
					t.Errorf("session %d = %+v, want %+v", i, g, w)
				}
			}
		}
	}
	if len(r.sessions(all(Project))) < 4 {
		t.Fatal("data set: too few sessions")
	}
	for _, w := range r.sessions(all(Project)) {
		d, err := s.Session(ctx, Project, w.Session, store.Filter{})
		if err != nil {
			t.Errorf("Session %s: %v", w.Session, err)
			continue
		}
		if d.Calls != nil && int64(len(d.Calls)) != w.Calls || d.SessionSummary.Calls != w.Calls || d.Session != w.Session || d.User != w.User {
			t.Errorf("Session %s: %+v, want %+v", w.Session, d.SessionSummary, w)
		}
		sel := r.selected(store.Filter{Project: Project, Session: w.Session}, false)
		// Time order: the reverse of the spans order.
		for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
			sel[i], sel[j] = sel[j], sel[i]
		}
		checkSummaries(t, "session "+w.Session, d.Calls, r, sel)
	}
	if _, err := s.Session(ctx, Project, "sess-404", store.Filter{}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing session: %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, Other, "own-sess-1", store.Filter{Service: "chat-api"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session outside the filter: %v, want ErrNotFound", err)
	}
}

func testUnknownModels(t *testing.T, s store.Store, r *ref) {
	for _, f := range filters(r) {
		got, err := s.UnknownModels(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		want := r.unknownModels(f)
		if len(got) != len(want) {
			t.Errorf("%+v: %+v, want %+v", f, got, want)
			continue
		}
		for i := range got {
			if got[i].Provider != want[i].Provider || got[i].Model != want[i].Model || got[i].Calls != want[i].Calls || !got[i].LastSeen.Equal(want[i].LastSeen) {
				t.Errorf("%+v: %+v, want %+v", f, got, want)
			}
		}
	}
	if len(r.unknownModels(all(Project))) == 0 {
		t.Fatal("data set: no unknown model")
	}
}

// testIsolation checks project B's answers: the main tests already check
// that project A's never include B's spans (which share A's trace ids).
func testIsolation(t *testing.T, s store.Store, r *ref) {
	ctx := context.Background()
	f := all(Other)
	o, err := s.Overview(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	checkOverview(t, "other project", o, overviewOf(r.selected(f, false)))
	checkSummaries(t, "other project", pageAll(t, s, store.SpansQuery{Filter: f, All: true, Limit: 100}), r, r.selected(f, true))
	tr, err := s.Trace(ctx, Other, traceID(Other, 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Roots) != 1 || tr.Roots[0].Span.Service != "other-service" || tr.Roots[0].Span.Project != Other {
		t.Errorf("other project's trace: %+v", tr.Roots)
	}
	b, err := s.Breakdown(ctx, store.BreakdownQuery{Filter: all(Project), By: store.DimService})
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range b {
		if row.Key == "other-service" {
			t.Errorf("project %s sees %s's service", Project, Other)
		}
	}
}

func testPagingWhileWriting(t *testing.T, s store.Store) {
	ctx := context.Background()
	d := genDataset(Project, 30)
	writeAll(t, s, d)
	f := all(Project)
	want := d.ref.selected(f, true)
	q := store.SpansQuery{Filter: f, All: true, Limit: 9}
	var got []store.SpanSummary
	for n := 30; ; n++ {
		p, err := s.Spans(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Spans...)
		if p.NextCursor == "" {
			break
		}
		q.Cursor = p.NextCursor
		// Newer traces arrive between pages.
		spans, recs := genTrace(Project, n+1000)
		write(t, s, spans, recs)
	}
	checkSummaries(t, "paging while writing", got, d.ref, want)
}

func testConcurrency(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := genDataset(Project, 50)
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last int64
			for ctx.Err() == nil {
				o, err := s.Overview(ctx, all(Project))
				if err != nil {
					if ctx.Err() == nil {
						errc <- fmt.Errorf("reader %d: overview: %w", w, err)
					}
					return
				}
				if o.Calls < last {
					errc <- fmt.Errorf("reader %d: calls went from %d to %d", w, last, o.Calls)
					return
				}
				last = o.Calls
				if _, err := s.Spans(ctx, store.SpansQuery{Filter: all(Project), All: w%2 == 0, Limit: 20}); err != nil && ctx.Err() == nil {
					errc <- fmt.Errorf("reader %d: spans: %w", w, err)
					return
				}
				if _, err := s.Breakdown(ctx, store.BreakdownQuery{Filter: all(Project), By: store.DimSession}); err != nil && ctx.Err() == nil {
					errc <- fmt.Errorf("reader %d: breakdown: %w", w, err)
					return
				}
			}
		}()
	}
	for i := range d.batches {
		if err := s.Write(context.Background(), &store.Batch{Spans: d.batches[i], Messages: d.records[i]}); err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	cancel()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	o, err := s.Overview(context.Background(), all(Project))
	if err != nil {
		t.Fatal(err)
	}
	checkOverview(t, "after concurrent writes", o, overviewOf(d.ref.selected(all(Project), false)))
}
