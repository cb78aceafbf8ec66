package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/duckdb"
)

// crashRetention is the crash child's retention (with
// GENSCOPE_CRASH_CHILD_RETENTION set): spans 3h, content 1h, so every
// start sweeps while the exporters send.
var crashRetention = []config.Project{{Name: "default",
	Retention: config.Retention{Spans: config.Duration(3 * time.Hour), Content: config.Duration(time.Hour)}}}

// TestKill9LoopDuringIngestAndRetention kills the server with SIGKILL at
// random moments, 20 times, while exporters send spans (some already past
// retention, some with content past content retention) and the retention
// enforcer deletes: after each kill the store opens cleanly and holds
// every acknowledged span that retention may not have deleted.
func TestKill9LoopDuringIngestAndRetention(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts child processes")
	}
	dir := t.TempDir()
	const rounds, requests, per = 20, 40, 50
	now := time.Now()
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range rounds {
		_ = os.Remove(filepath.Join(dir, "addr"))
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "GENSCOPE_CRASH_CHILD_DATA="+dir, "GENSCOPE_CRASH_CHILD_RETENTION=1")
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// The child replays the previous round's WAL before it listens;
		// on a loaded machine under the race detector that can take
		// many seconds, so wait for its address or its exit, not a
		// fixed short time.
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		var addr []byte
		deadline := time.Now().Add(2 * time.Minute)
		for len(addr) == 0 && time.Now().Before(deadline) {
			select {
			case err := <-exited:
				t.Fatalf("round %d: child server exited before it listened: %v", round, err)
			case <-time.After(20 * time.Millisecond):
			}
			addr, _ = os.ReadFile(filepath.Join(dir, "addr"))
		}
		if len(addr) == 0 {
			_ = cmd.Process.Kill()
			t.Fatalf("round %d: child server did not start in 2 minutes", round)
		}
		// Half the requests are 4-5h old (retention deletes them), the
		// others 0-2h (retention drops the content of the older half).
		type req struct {
			body  []byte
			spans []genai.Span
			keep  bool
		}
		var reqs []req
		for i := range requests {
			start, end := now.Add(-2*time.Hour), now
			if i%2 == 1 {
				start, end = now.Add(-5*time.Hour), now.Add(-4*time.Hour)
			}
			g, err := traffic.New(traffic.Config{Seed: int64(round*1000 + i + 1), Spans: per, Start: start, End: end})
			if err != nil {
				t.Fatal(err)
			}
			spans := g.Next(make([]genai.Span, 0, per))
			body, err := traffic.MarshalProto(spans)
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, req{body, spans, i%2 == 0})
		}
		var (
			mu    sync.Mutex
			acked []int
			next  int
			wg    sync.WaitGroup
		)
		client := &http.Client{Timeout: 10 * time.Second}
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= len(reqs) {
						return
					}
					resp, err := client.Post("http://"+string(addr)+"/v1/traces", "application/x-protobuf", bytes.NewReader(reqs[i].body))
					if err != nil {
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						mu.Lock()
						acked = append(acked, i)
						mu.Unlock()
					}
				}
			}()
		}
		// Kill after a random number of acknowledgements, with requests
		// in flight (or, rarely, when the sending is over).
		target := 1 + rng.IntN(requests-2)
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= target {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-exited
		wg.Wait()

		db, err := duckdb.Open(context.Background(), filepath.Join(dir, DBFile), duckdb.Options{MemoryLimit: "256MB"})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		missing := 0
		for _, i := range acked {
			if !reqs[i].keep {
				continue
			}
			missing += missingSpans(t, db, reqs[i].spans)
		}
		if err := db.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
		if missing > 0 {
			t.Fatalf("round %d: %d acknowledged spans missing after kill -9", round, missing)
		}
		t.Logf("round %d: %d of %d requests acknowledged before kill -9", round, len(acked), len(reqs))
	}
}

// missingSpans counts the spans not in db.
func missingSpans(t *testing.T, db *duckdb.DB, spans []genai.Span) int {
	t.Helper()
	want := map[string]bool{}
	for _, s := range spans {
		want[s.TraceID.String()+s.SpanID.String()] = true
	}
	seen := map[genai.TraceID]bool{}
	for _, s := range spans {
		if seen[s.TraceID] {
			continue
		}
		seen[s.TraceID] = true
		tr, err := db.Trace(context.Background(), "default", s.TraceID)
		if err != nil {
			t.Fatalf("trace %s: %v", s.TraceID, err)
		}
		var walk func(ns []*store.TraceNode)
		walk = func(ns []*store.TraceNode) {
			for _, n := range ns {
				delete(want, n.TraceID+n.SpanID)
				walk(n.Children)
			}
		}
		walk(tr.Roots)
	}
	if len(want) > 0 {
		fmt.Fprintf(os.Stderr, "missing %d spans\n", len(want))
	}
	return len(want)
}
