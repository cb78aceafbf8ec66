package clickhouse

import (
	"context"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/storetest"
)

// BenchmarkOneCallRule prints what the one-call rule (pair.go) costs on
// ClickHouse, in one run: the same writes and queries on a database with
// the rule and one without it (noPairing), interleaved so both see the
// same load. Worst case, as the DuckDB benchmark's: every model call is
// also recorded by the gateway, beneath it, in a batch of its own after
// the app's.
//
//	source /work/ch.env; go test -run '^$' -bench OneCallRule -benchtime 10x ./internal/store/clickhouse/
//
// Each iteration writes one round (an app batch of about 2,000 spans,
// then its gateway batch); then each query runs 10 times on both.
func BenchmarkOneCallRule(b *testing.B) {
	addr := serverAddr(b)
	ctx := context.Background()
	open := func(noPairing bool) *DB {
		s, err := Open(ctx, Options{Addrs: []string{addr}, HTTPAddr: os.Getenv("GENSCOPE_CLICKHOUSE_HTTP"),
			Database: testDatabase(b, addr), ReadTimeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close() })
		s.noPairing = noPairing
		return s
	}
	with, without := open(false), open(true)
	now := time.Now()
	g, err := traffic.New(traffic.Config{Seed: 5, Spans: 1 << 16, Start: now.Add(-6 * time.Hour), End: now, Project: "bench",
		Cost: func(sp *genai.Span) (float64, bool) { return float64(sp.Usage.Total()) * 1e-6, true }})
	if err != nil {
		b.Fatal(err)
	}
	var apps, gws [][]genai.Span
	for buf := g.Next(make([]genai.Span, 0, 2048)); len(buf) > 0; buf = g.Next(buf) {
		app := slices.Clone(buf)
		apps, gws = append(apps, app), append(gws, storetest.GatewayRecords(app))
	}
	spans, round := 0, 0
	var tWith, tWithout time.Duration
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

	f := store.Filter{Project: "bench", From: now.Add(-7 * time.Hour), To: now.Add(time.Hour)}
	queries := []func(db *DB) error{
		func(db *DB) error { _, err := db.Overview(ctx, f); return err },
		func(db *DB) error {
			_, err := db.Breakdown(ctx, store.BreakdownQuery{Filter: f, By: store.DimModel})
			return err
		},
		func(db *DB) error {
			_, err := db.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: store.MetricDurationMS, Agg: store.AggP95, Interval: 10 * time.Minute})
			return err
		},
		func(db *DB) error { _, err := db.Spans(ctx, store.SpansQuery{Filter: f}); return err },
		func(db *DB) error { _, err := db.Sessions(ctx, store.SessionsQuery{Filter: f}); return err },
	}
	var qWith, qWithout time.Duration
	n := 0
	for rep := range 10 {
		for _, q := range queries {
			for k, db := range []*DB{with, without} {
				if rep%2 == 1 {
					db = []*DB{without, with}[k]
				}
				t0 := time.Now()
				if err := q(db); err != nil {
					b.Fatal(err)
				}
				if db == with {
					qWith += time.Since(t0)
				} else {
					qWithout += time.Since(t0)
				}
			}
			n++
		}
	}
	b.ReportMetric(float64(qWith.Nanoseconds())/float64(n), "ns/query-rule")
	b.ReportMetric(float64(qWithout.Nanoseconds())/float64(n), "ns/query-norule")
	b.ReportMetric(float64(qWith)/float64(qWithout), "query-ratio")
}
