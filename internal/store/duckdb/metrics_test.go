package duckdb

import (
	"context"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/storetest"
)

func TestMetricsConformance(t *testing.T) {
	storetest.RunMetrics(t, func(t *testing.T) store.Store { return openTest(t) })
}

// TestMetricsRetention: span retention deletes a project's metric rows of
// the same time, and only those.
func TestMetricsRetention(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	pt := func(project string, at time.Time) genai.MetricPoint {
		return genai.MetricPoint{Project: project, Name: genai.MetricOperationDuration, Service: "s", Model: "m",
			StartUnixNano: at.Add(-time.Minute).UnixNano(), TimeUnixNano: at.UnixNano(), Count: 1, Sum: 1}
	}
	if err := db.WriteMetrics(ctx, []genai.MetricPoint{pt("a", old), pt("a", old.Add(48*time.Hour)), pt("b", old)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.DeleteSpansBefore(ctx, "a", old.Add(24*time.Hour), 1000); err != nil {
		t.Fatal(err)
	}
	for project, want := range map[string]int64{"a": 1, "b": 1} {
		tot, err := db.MetricTotals(ctx, store.Filter{Project: project})
		if ov := store.OverviewOfMetrics(tot); err != nil || ov.Calls != want {
			t.Errorf("project %s after retention: %d calls, %v; want %d", project, ov.Calls, err, want)
		}
	}
}
