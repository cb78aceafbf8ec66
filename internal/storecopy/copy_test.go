package storecopy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
)

// clickhouseURL is a store URL of a fresh database on the test server
// (scripts/clickhouse.sh start), dropped at the end of the test.
func clickhouseURL(t *testing.T) string {
	addr := os.Getenv("GENSCOPE_CLICKHOUSE")
	if addr == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GENSCOPE_CLICKHOUSE is not set in CI: start the servers with scripts/clickhouse.sh start")
		}
		t.Skip("no ClickHouse server: GENSCOPE_CLICKHOUSE is not set (scripts/clickhouse.sh start prints it)")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	db := "genscope_copy_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		c, err := ch.Open(&ch.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second, ReadTimeout: time.Minute})
		if err == nil {
			_ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`")
			_ = c.Close()
		}
	})
	u := "clickhouse://" + addr + "/" + db
	if h := os.Getenv("GENSCOPE_CLICKHOUSE_HTTP"); h != "" {
		u += "?http_addr=" + h
	}
	return u
}

func TestCopyRoundTrip(t *testing.T) {
	ctx := context.Background()
	chURL := clickhouseURL(t)
	dir := t.TempDir()
	srcURL := "duckdb:" + filepath.Join(dir, "src.duckdb")
	src, err := Open(ctx, srcURL)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	g, err := traffic.New(traffic.Config{Seed: 7, Spans: 20000, Project: "p", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		End: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	var spans = g.Next(nil)
	for len(spans) > 0 {
		if err := src.Write(ctx, &store.Batch{Spans: spans}); err != nil {
			t.Fatal(err)
		}
		spans = g.Next(nil)
	}
	// GenAI metrics of a service that sends no spans: a cumulative
	// series exported twice.
	mstart := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	pt := func(at time.Duration, n int64) genai.MetricPoint {
		return genai.MetricPoint{Project: "p", Name: genai.MetricOperationDuration, Service: "metrics-only", Model: "m",
			Cumulative: true, StartUnixNano: mstart.UnixNano(), TimeUnixNano: mstart.Add(at).UnixNano(), Count: n, Sum: float64(n),
			Bounds: []float64{1, 2}, Buckets: []int64{0, n, 0}}
	}
	for _, p := range []genai.MetricPoint{pt(time.Minute, 3), pt(2*time.Minute, 5)} {
		if err := src.(store.MetricStore).WriteMetrics(ctx, []genai.MetricPoint{p}); err != nil {
			t.Fatal(err)
		}
	}
	want, err := src.Overview(ctx, store.Filter{Project: "p"})
	if err != nil || want.Calls == 0 {
		t.Fatalf("source overview: %+v, %v", want, err)
	}
	check := func(name string, s store.Store) {
		t.Helper()
		got, err := s.Overview(ctx, store.Filter{Project: "p"})
		if err != nil {
			t.Fatalf("%s overview: %v", name, err)
		}
		if got.Calls != want.Calls || got.InputTokens != want.InputTokens || got.Errors != want.Errors || got.CostUnknownCalls != want.CostUnknownCalls {
			t.Errorf("%s overview = %+v, want %+v", name, got, want)
		}
		tot, err := s.(store.MetricStore).MetricTotals(ctx, store.Filter{Project: "p", Service: "metrics-only"})
		if ov := store.OverviewOfMetrics(tot); err != nil || ov.Calls != 5 {
			t.Errorf("%s metrics: %d calls, %v; want 5", name, ov.Calls, err)
		}
	}
	cp := filepath.Join(dir, "copy.checkpoint")
	dst, err := Open(ctx, chURL)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	var bar bytes.Buffer
	res, err := Copy(ctx, src, dst, srcURL, chURL, Options{Checkpoint: cp, Progress: &bar})
	if err != nil {
		t.Fatalf("copy to clickhouse: %v", err)
	}
	if res.Spans == 0 || res.Resumed || !bytes.Contains(bar.Bytes(), []byte("100.0%")) {
		t.Errorf("copy: %+v, progress %q", res, bar.String())
	}
	check("clickhouse", dst)
	// Started again with its checkpoint, the copy has nothing left to do.
	res, err = Copy(ctx, src, dst, srcURL, chURL, Options{Checkpoint: cp})
	if err != nil || !res.Resumed || res.Spans != 0 {
		t.Errorf("resumed copy: %+v, %v", res, err)
	}
	// Without it, everything is copied again and nothing is doubled.
	if _, err := Copy(ctx, src, dst, srcURL, chURL, Options{}); err != nil {
		t.Errorf("copy again: %v", err)
	}
	check("clickhouse after a second copy", dst)
	// And back into a new embedded store.
	backURL := "duckdb:" + filepath.Join(dir, "back.duckdb")
	back, err := Open(ctx, backURL)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if _, err := Copy(ctx, dst, back, chURL, backURL, Options{}); err != nil {
		t.Fatalf("copy back: %v", err)
	}
	check("duckdb copy", back)
	// A checkpoint of another pair of stores is refused.
	if _, err := Copy(ctx, dst, back, chURL, backURL, Options{Checkpoint: cp}); err == nil {
		t.Error("a checkpoint of another copy was accepted")
	}
}
