package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// RunMetrics runs the conformance cases of store.MetricStore. open must
// return a new, empty store each call that implements it.
func RunMetrics(t *testing.T, open func(t *testing.T) store.Store) {
	ms := func(t *testing.T) (store.Store, store.MetricStore) {
		s := openClosed(t, open)
		m, ok := s.(store.MetricStore)
		if !ok {
			t.Fatalf("%T is not a store.MetricStore", s)
		}
		return s, m
	}
	t.Run("DeltaAndCumulative", func(t *testing.T) { _, m := ms(t); testMetricTemporality(t, m) })
	t.Run("Filters", func(t *testing.T) { _, m := ms(t); testMetricFilters(t, m) })
	t.Run("SpansWin", func(t *testing.T) { s, m := ms(t); testMetricSpansWin(t, s, m) })
	t.Run("Copy", func(t *testing.T) {
		_, src := ms(t)
		_, dst := ms(t)
		testMetricCopy(t, src, dst)
	})
}

// metricBase is the time of the metric cases, on a minute.
var metricBase = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// durBounds are the duration buckets the GenAI conventions advise.
var durBounds = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}

func durPoint(project, service, model string, cum bool, start, at time.Time, buckets []int64, sum float64) genai.MetricPoint {
	var n int64
	for _, b := range buckets {
		n += b
	}
	return genai.MetricPoint{Project: project, Name: genai.MetricOperationDuration, Service: service, Provider: "openai",
		Operation: "chat", Model: model, ResponseModel: model + "-2025", Cumulative: cum,
		StartUnixNano: start.UnixNano(), TimeUnixNano: at.UnixNano(), Count: n, Sum: sum,
		Bounds: durBounds, Buckets: buckets}
}

func tokenPoint(project, service, model, typ string, cum bool, start, at time.Time, n int64, sum float64) genai.MetricPoint {
	return genai.MetricPoint{Project: project, Name: genai.MetricTokenUsage, Service: service, Provider: "openai",
		Operation: "chat", Model: model, TokenType: typ, Cumulative: cum,
		StartUnixNano: start.UnixNano(), TimeUnixNano: at.UnixNano(), Count: n, Sum: sum}
}

// buckets15 is a bucket vector with the given counts at given indexes.
func buckets15(at map[int]int64) []int64 {
	b := make([]int64, len(durBounds)+1)
	for i, n := range at {
		b[i] = n
	}
	return b
}

func metricOverview(t *testing.T, m store.MetricStore, f store.Filter) store.MetricOverview {
	t.Helper()
	tot, err := m.MetricTotals(context.Background(), f)
	if err != nil {
		t.Fatalf("MetricTotals: %v", err)
	}
	return store.OverviewOfMetrics(tot)
}

func writeMetrics(t *testing.T, m store.MetricStore, pts ...genai.MetricPoint) {
	t.Helper()
	if err := m.WriteMetrics(context.Background(), pts); err != nil {
		t.Fatalf("WriteMetrics: %v", err)
	}
}

func testMetricTemporality(t *testing.T, m store.MetricStore) {
	b := metricBase
	ctx := context.Background()
	if tot, err := m.MetricTotals(ctx, store.Filter{}); err == nil {
		t.Errorf("MetricTotals without a project = %v, want an error", tot)
	}
	if ov := metricOverview(t, m, all(Project)); ov.Calls != 0 || len(ov.Groups) != 0 {
		t.Errorf("empty store: %+v", ov)
	}
	// A cumulative series: 3 calls by 10:01, 5 by 10:02 (exported in
	// another request), the 10:02 point again (a retry), then the
	// application restarts and has 2 calls by 10:04.
	start := b.Add(-10 * time.Second)
	writeMetrics(t, m,
		durPoint(Project, "app", "gpt-4o", true, start, b.Add(time.Minute), buckets15(map[int]int64{5: 2, 6: 1}), 1.2),
		tokenPoint(Project, "app", "gpt-4o", genai.TokenInput, true, start, b.Add(time.Minute), 3, 300),
		tokenPoint(Project, "app", "gpt-4o", genai.TokenOutput, true, start, b.Add(time.Minute), 3, 60))
	writeMetrics(t, m,
		durPoint(Project, "app", "gpt-4o", true, start, b.Add(2*time.Minute), buckets15(map[int]int64{5: 3, 6: 2}), 2.2),
		tokenPoint(Project, "app", "gpt-4o", genai.TokenInput, true, start, b.Add(2*time.Minute), 5, 500),
		tokenPoint(Project, "app", "gpt-4o", genai.TokenOutput, true, start, b.Add(2*time.Minute), 5, 100))
	writeMetrics(t, m, // retry
		durPoint(Project, "app", "gpt-4o", true, start, b.Add(2*time.Minute), buckets15(map[int]int64{5: 3, 6: 2}), 2.2),
		tokenPoint(Project, "app", "gpt-4o", genai.TokenInput, true, start, b.Add(2*time.Minute), 5, 500))
	// Nothing new at 10:03: stored as nothing, and the next delta still
	// counts from 10:02.
	writeMetrics(t, m, tokenPoint(Project, "app", "gpt-4o", genai.TokenOutput, true, start, b.Add(3*time.Minute), 5, 100))
	restart := b.Add(3*time.Minute + 30*time.Second)
	writeMetrics(t, m,
		durPoint(Project, "app", "gpt-4o", true, restart, b.Add(4*time.Minute), buckets15(map[int]int64{7: 2}), 2.0),
		tokenPoint(Project, "app", "gpt-4o", genai.TokenInput, true, restart, b.Add(4*time.Minute), 2, 40),
		tokenPoint(Project, "app", "gpt-4o", genai.TokenOutput, true, restart, b.Add(4*time.Minute), 2, 10))
	// A delta series of another service: two intervals, one retried.
	d1 := durPoint(Project, "worker", "llama-3", false, b, b.Add(time.Minute), buckets15(map[int]int64{8: 4}), 8)
	d2 := durPoint(Project, "worker", "llama-3", false, b.Add(time.Minute), b.Add(2*time.Minute), buckets15(map[int]int64{9: 1}), 3)
	d2.ErrorType = "timeout"
	writeMetrics(t, m, d1, d2)
	writeMetrics(t, m, d1)

	ov := metricOverview(t, m, all(Project))
	if ov.Calls != 5+2+5 || ov.Errors != 1 || ov.InputTokens != 540 || ov.OutputTokens != 110 {
		t.Errorf("overview = calls %d errors %d in %d out %d; want 12, 1, 540, 110", ov.Calls, ov.Errors, ov.InputTokens, ov.OutputTokens)
	}
	if want := (2.2 + 2.0 + 8 + 3) / 12 * 1000; math.Abs(ov.DurationMS.Avg-want) > 1e-6 {
		t.Errorf("avg duration %v ms, want %v", ov.DurationMS.Avg, want)
	}
	// Buckets over every point: 3 in (0.16,0.32], 2 in (0.32,0.64], 2 in
	// (0.64,1.28], 4 in (1.28,2.56] (the worker's first bounds), and one
	// error in (2.56,5.12]: the median (rank 6 of 12) is in (0.64,1.28].
	if p := ov.DurationMS.P50; p <= 640 || p > 1280 {
		t.Errorf("p50 %v ms, want in (640, 1280]", p)
	}
	if len(ov.Groups) != 2 || ov.Groups[0].Service != "app" || ov.Groups[0].Calls != 7 || ov.Groups[1].Calls != 5 ||
		ov.Groups[0].InputTokens != 540 || ov.Groups[0].Provider != "openai" || ov.Groups[0].Model != "gpt-4o" {
		t.Errorf("groups = %+v", ov.Groups)
	}
	// The time range selects rows by their time.
	f := all(Project)
	f.From, f.To = b.Add(90*time.Second), b.Add(150*time.Second)
	if ov := metricOverview(t, m, f); ov.Calls != 2+1 || ov.InputTokens != 200 {
		t.Errorf("10:01:30-10:02:30: calls %d input %d, want 3, 200", ov.Calls, ov.InputTokens)
	}
}

func testMetricFilters(t *testing.T, m store.MetricStore) {
	b := metricBase
	ok := durPoint(Project, "app", "gpt-4o", false, b, b.Add(time.Minute), buckets15(map[int]int64{3: 2}), 0.2)
	bad := ok
	bad.ErrorType, bad.Buckets, bad.Count, bad.Sum = "429", buckets15(map[int]int64{1: 1}), 1, 0.015
	other := durPoint(Other, "app", "gpt-4o", false, b, b.Add(time.Minute), buckets15(map[int]int64{3: 7}), 0.7)
	claude := durPoint(Project, "bot", "claude", false, b, b.Add(time.Minute), buckets15(map[int]int64{3: 1}), 0.1)
	claude.Provider = "anthropic"
	writeMetrics(t, m, ok, bad, other, claude)
	for _, c := range []struct {
		name  string
		f     store.Filter
		calls int64
	}{
		{"all", all(Project), 4},
		{"other project", all(Other), 7},
		{"service", store.Filter{Project: Project, Service: "bot"}, 1},
		{"provider", store.Filter{Project: Project, Provider: "openai"}, 3},
		{"request model", store.Filter{Project: Project, Model: "gpt-4o"}, 3},
		{"response model", store.Filter{Project: Project, Model: "gpt-4o-2025"}, 3},
		{"operation", store.Filter{Project: Project, Operation: "embeddings"}, 0},
		{"errors", store.Filter{Project: Project, Status: genai.StatusError}, 1},
		{"ok", store.Filter{Project: Project, Status: genai.StatusOK}, 3},
		{"session", store.Filter{Project: Project, Session: "s"}, 0},
		{"user", store.Filter{Project: Project, User: "u"}, 0},
		{"text", store.Filter{Project: Project, Text: "hello"}, 0},
		{"before", store.Filter{Project: Project, To: b.Add(time.Minute)}, 0},
	} {
		if ov := metricOverview(t, m, c.f); ov.Calls != c.calls {
			t.Errorf("%s: calls %d, want %d", c.name, ov.Calls, c.calls)
		}
	}
}

// testMetricSpansWin: an application that sends spans and metrics for
// the same calls is counted once, by its spans; metrics of the minutes
// (and services, models) without spans still count.
func testMetricSpansWin(t *testing.T, s store.Store, m store.MetricStore) {
	b := metricBase
	span := genai.Span{Project: Project, TraceID: traceID(Project, 1), SpanID: spanID(1, 1), Name: "chat gpt-4o",
		Kind: "client", Service: "both", Source: genai.SourceOTLP, StartUnixNano: b.Add(70 * time.Second).UnixNano(),
		DurationNano: int64(time.Second), Status: genai.StatusOK, Operation: "chat", Provider: "openai",
		RequestModel: "gpt-4o", Usage: genai.Usage{InputTokens: 10, OutputTokens: 5}}
	write(t, s, []genai.Span{span}, nil)
	start := b.Add(-5 * time.Minute)
	writeMetrics(t, m,
		// 10:00-10:01: no span in these minutes: counted.
		durPoint(Project, "both", "gpt-4o", true, start, b.Add(time.Minute), buckets15(map[int]int64{6: 1}), 0.5),
		// 10:01-10:02 holds the span: left out.
		durPoint(Project, "both", "gpt-4o", true, start, b.Add(2*time.Minute), buckets15(map[int]int64{6: 2}), 1.5),
		// 10:02-10:03: counted again.
		durPoint(Project, "both", "gpt-4o", true, start, b.Add(3*time.Minute), buckets15(map[int]int64{6: 4}), 3.5),
		// Another model of the same service, same minutes: counted.
		durPoint(Project, "both", "gpt-4o-mini", false, b.Add(time.Minute), b.Add(2*time.Minute), buckets15(map[int]int64{6: 3}), 1))
	ov := metricOverview(t, m, all(Project))
	if ov.Calls != 1+2+3 {
		t.Errorf("calls from metrics = %d, want 6 (the interval holding a span of the same service and model left out)", ov.Calls)
	}
}

func testMetricCopy(t *testing.T, src, dst store.MetricStore) {
	b := metricBase
	start := b.Add(-time.Minute)
	writeMetrics(t, src,
		durPoint(Project, "app", "gpt-4o", true, start, b.Add(time.Minute), buckets15(map[int]int64{2: 2}), 0.05),
		tokenPoint(Project, "app", "gpt-4o", genai.TokenInput, false, b, b.Add(time.Minute), 2, 30))
	writeMetrics(t, src, durPoint(Project, "app", "gpt-4o", true, start, b.Add(2*time.Minute), buckets15(map[int]int64{2: 5}), 0.1))
	ctx := context.Background()
	var n int
	copyAll := func() {
		err := src.MetricRows(ctx, b.Add(-time.Hour), b.Add(time.Hour), 2, func(rows []store.MetricRow) error {
			if len(rows) > 2 {
				t.Errorf("batch of %d rows, want at most 2", len(rows))
			}
			n += len(rows)
			return dst.WriteMetricRows(ctx, rows)
		})
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
	}
	copyAll()
	copyAll() // a second copy adds nothing
	if n != 6 {
		t.Errorf("rows read %d, want 3 per copy", n)
	}
	want := metricOverview(t, src, all(Project))
	got := metricOverview(t, dst, all(Project))
	if got.Calls != 5 || got.InputTokens != 30 || got.Calls != want.Calls || got.DurationMS != want.DurationMS {
		t.Errorf("copy: %+v, source %+v", got, want)
	}
	// The copy keeps the cumulative state: the series' next point counts
	// only what is new.
	writeMetrics(t, dst, durPoint(Project, "app", "gpt-4o", true, start, b.Add(3*time.Minute), buckets15(map[int]int64{2: 6}), 0.12))
	if ov := metricOverview(t, dst, all(Project)); ov.Calls != 6 {
		t.Errorf("after the copy, the next cumulative point: calls %d, want 6", ov.Calls)
	}
}
