package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
)

// BenchOneCallRule measures what the one-call rule costs a backend, in
// one run: the same writes and queries on a store with the rule (with)
// and one without it (without), interleaved so both see the same machine
// load. The traffic (g, from now-6h to now, in project) is the worst
// case: every model call is also recorded by the gateway, beneath it
// (GatewayRecords), in a batch of its own after the app's. Each
// iteration writes one round (an app batch, then its gateway batch);
// after the last, each query runs reps times on both. Reported: ns per
// written span and per query with and without the rule, and their
// ratios (rule / no rule). At the end the rule must count half the calls.
func BenchOneCallRule(b *testing.B, with, without store.Store, g *traffic.Generator, project string, now time.Time, reps int) {
	ctx := context.Background()
	var apps, gws [][]genai.Span
	for buf := g.Next(make([]genai.Span, 0, 2048)); len(buf) > 0; buf = g.Next(buf) {
		app := slices.Clone(buf)
		apps, gws = append(apps, app), append(gws, GatewayRecords(app))
	}
	// timed runs f on both stores, the first one alternating, and adds
	// each one's time to its total.
	timed := func(alternate bool, tWith, tWithout *time.Duration, f func(st store.Store) error) {
		order := []store.Store{with, without}
		if alternate {
			order = []store.Store{without, with}
		}
		for _, st := range order {
			t0 := time.Now()
			if err := f(st); err != nil {
				b.Fatal(err)
			}
			if st == with {
				*tWith += time.Since(t0)
			} else {
				*tWithout += time.Since(t0)
			}
		}
	}
	spans, round := 0, 0
	var tWith, tWithout time.Duration
	for b.Loop() {
		if round == len(apps) {
			b.Fatal("out of generated traffic: use a smaller -benchtime")
		}
		timed(round%2 == 1, &tWith, &tWithout, func(st store.Store) error {
			for _, batch := range [][]genai.Span{apps[round], gws[round]} {
				if err := st.Write(ctx, &store.Batch{Spans: slices.Clone(batch)}); err != nil {
					return err
				}
			}
			return nil
		})
		spans += len(apps[round]) + len(gws[round])
		round++
	}
	b.StopTimer()
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(spans) }
	b.ReportMetric(per(tWith), "ns/span-rule")
	b.ReportMetric(per(tWithout), "ns/span-norule")
	b.ReportMetric(float64(tWith)/float64(tWithout), "ingest-ratio")

	f := store.Filter{Project: project, From: now.Add(-7 * time.Hour), To: now.Add(time.Hour)}
	queries := []struct {
		name string
		run  func(st store.Store) error
	}{
		{"overview", func(st store.Store) error { _, err := st.Overview(ctx, f); return err }},
		{"breakdown", func(st store.Store) error {
			_, err := st.Breakdown(ctx, store.BreakdownQuery{Filter: f, By: store.DimModel})
			return err
		}},
		{"timeseries", func(st store.Store) error {
			_, err := st.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: store.MetricDurationMS, Agg: store.AggP95, Interval: 10 * time.Minute})
			return err
		}},
		{"spans", func(st store.Store) error { _, err := st.Spans(ctx, store.SpansQuery{Filter: f}); return err }},
		{"sessions", func(st store.Store) error { _, err := st.Sessions(ctx, store.SessionsQuery{Filter: f}); return err }},
	}
	var qWith, qWithout time.Duration
	for rep := range reps {
		for _, q := range queries {
			timed(rep%2 == 1, &qWith, &qWithout, func(st store.Store) error {
				if err := q.run(st); err != nil {
					return fmt.Errorf("%s: %w", q.name, err)
				}
				return nil
			})
		}
	}
	n := float64(reps * len(queries))
	b.ReportMetric(float64(qWith.Nanoseconds())/n, "ns/query-rule")
	b.ReportMetric(float64(qWithout.Nanoseconds())/n, "ns/query-norule")
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
