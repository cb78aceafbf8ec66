package clickhouse

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store/storetest"
)

// BenchmarkOneCallRule prints what the one-call rule (pair.go) costs on
// ClickHouse: storetest.BenchOneCallRule over a database with the rule
// and one without it (noPairing).
//
//	source /work/ch.env; go test -run '^$' -bench OneCallRule -benchtime 10x ./internal/store/clickhouse/
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
	storetest.BenchOneCallRule(b, with, without, g, "bench", now, 10)
}
