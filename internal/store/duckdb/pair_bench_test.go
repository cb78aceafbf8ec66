package duckdb

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/storetest"
)

// queryReps is how many times each query runs on each store.
const queryReps = 20

// BenchmarkOneCallRule prints what the one-call rule (pair.go) costs, in
// one run: the same writes and queries on a store with the rule and on
// one without it (noPairing), interleaved so both see the same machine
// load. The traffic is the worst case: every model call of the
// synthetic traffic is also recorded by the gateway, beneath it, and the
// gateway's records arrive in their own batches after the app's.
//
//	go test -run '^$' -bench OneCallRule -benchtime 20x ./internal/store/duckdb/
//
// Each iteration writes one round (an app batch of about 2,000 spans,
// then its gateway batch); after the last, each query runs queryReps times on
// both stores. Reported: ns per written span with and without the rule,
// the same per query, and their ratios (rule / no rule).
func BenchmarkOneCallRule(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	with, err := Open(ctx, filepath.Join(dir, "with.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer with.Close()
	without, err := Open(ctx, filepath.Join(dir, "without.duckdb"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer without.Close()
	without.noPairing = true

	now := time.Now()
	g := benchGen(b, 5, 1<<18, now.Add(-6*time.Hour), now)
	var apps, gws [][]genai.Span
	for buf := g.Next(make([]genai.Span, 0, 2048)); len(buf) > 0; buf = g.Next(buf) {
		app := slices.Clone(buf)
		apps, gws = append(apps, app), append(gws, storetest.GatewayRecords(app))
	}
	spans := 0
	var tWith, tWithout time.Duration
	round := 0
	for b.Loop() {
		if round == len(apps) {
			b.Fatal("out of generated traffic: use a smaller -benchtime")
		}
		for k, db := range []*DB{with, without} {
			if round%2 == 1 {
				db = []*DB{without, with}[k]
			}
			t0 := time.Now()
			for _, batch := range [][]genai.Span{apps[round], gws[round]} {
				if err := db.Write(ctx, &store.Batch{Spans: slices.Clone(batch)}); err != nil {
					b.Fatal(err)
				}
			}
			if db == with {
				tWith += time.Since(t0)
			} else {
				tWithout += time.Since(t0)
			}
		}
		spans += len(apps[round]) + len(gws[round])
		round++
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(spans) }
	b.ReportMetric(per(tWith), "ns/span-rule")
	b.ReportMetric(per(tWithout), "ns/span-norule")
	b.ReportMetric(float64(tWith)/float64(tWithout), "ingest-ratio")

	f := store.Filter{Project: benchProject, From: now.Add(-7 * time.Hour), To: now.Add(time.Hour)}
	queries := []struct {
		name string
		run  func(db *DB) error
	}{
		{"overview", func(db *DB) error { _, err := db.Overview(ctx, f); return err }},
		{"breakdown", func(db *DB) error {
			_, err := db.Breakdown(ctx, store.BreakdownQuery{Filter: f, By: store.DimModel})
			return err
		}},
		{"timeseries", func(db *DB) error {
			_, err := db.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: store.MetricDurationMS, Agg: store.AggP95, Interval: 10 * time.Minute})
			return err
		}},
		{"spans", func(db *DB) error { _, err := db.Spans(ctx, store.SpansQuery{Filter: f}); return err }},
		{"sessions", func(db *DB) error { _, err := db.Sessions(ctx, store.SessionsQuery{Filter: f}); return err }},
	}
	var qWith, qWithout time.Duration
	for rep := range queryReps {
		for _, q := range queries {
			for k, db := range []*DB{with, without} {
				if rep%2 == 1 {
					db = []*DB{without, with}[k]
				}
				t0 := time.Now()
				if err := q.run(db); err != nil {
					b.Fatalf("%s: %v", q.name, err)
				}
				if db == with {
					qWith += time.Since(t0)
				} else {
					qWithout += time.Since(t0)
				}
			}
		}
	}
	b.ReportMetric(float64(qWith.Nanoseconds())/float64(queryReps*len(queries)), "ns/query-rule")
	b.ReportMetric(float64(qWithout.Nanoseconds())/float64(queryReps*len(queries)), "ns/query-norule")
	b.ReportMetric(float64(qWith)/float64(qWithout), "query-ratio")
	ow, err := with.Overview(ctx, f)
	if err != nil {
		b.Fatal(err)
	}
	on, err := without.Overview(ctx, f)
	if err != nil {
		b.Fatal(err)
	}
	if ow.Calls*2 != on.Calls {
		b.Fatalf("the rule counted %d calls, without it %d: want half", ow.Calls, on.Calls)
	}
}
