package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
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

// TestMain lets the test binary act as a genscope server child process
// for the crash test.
func TestMain(m *testing.M) {
	if dir := os.Getenv("GENSCOPE_CRASH_CHILD_DATA"); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

func crashChild(dir string) {
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = dir, "127.0.0.1:0", ""
	cfg.Store.DuckDB.MemoryLimit = "256MB"
	if os.Getenv("GENSCOPE_CRASH_CHILD_RETENTION") != "" {
		cfg.Projects = crashRetention // trust_crash_test.go
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "addr"), []byte(a.HTTPAddr()), 0o600); err != nil {
		panic(err)
	}
	_ = a.Run(context.Background()) // until killed
}

// TestKill9LosesNothingAcknowledged loads a server in a child process
// with concurrent exporters, kills it with SIGKILL mid-stream, reopens its
// data directory and checks that every acknowledged span is there.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test starts a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GENSCOPE_CRASH_CHILD_DATA="+dir)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var addr []byte
	for i := 0; i < 600 && len(addr) == 0; i++ {
		time.Sleep(50 * time.Millisecond)
		addr, _ = os.ReadFile(filepath.Join(dir, "addr"))
	}
	if len(addr) == 0 {
		t.Fatal("child server did not start")
	}

	// 400 requests of 100 distinct spans each, ready to send.
	const requests, per = 400, 100
	g, err := traffic.New(traffic.Config{Seed: 3, Spans: requests * per, Start: time.Now().Add(-time.Hour), End: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	type req struct {
		body  []byte
		spans []genai.Span
	}
	var reqs []req
	for len(reqs) < requests {
		spans := g.Next(make([]genai.Span, 0, per))
		if len(spans) == 0 {
			break
		}
		body, err := traffic.MarshalProto(spans)
		if err != nil {
			t.Fatal(err)
		}
		reqs = append(reqs, req{body, spans})
	}

	var (
		mu    sync.Mutex
		acked []int
		next  int
		wg    sync.WaitGroup
	)
	client := &http.Client{Timeout: 10 * time.Second}
	for c := 0; c < 6; c++ {
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
					return // the server is gone
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
	// Kill once a good part of the load has been acknowledged.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= requests/4 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("acknowledged %d of %d requests before kill -9", len(acked), len(reqs))

	db, err := duckdb.Open(context.Background(), filepath.Join(dir, DBFile), duckdb.Options{MemoryLimit: "256MB"})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer db.Close()
	for _, i := range acked {
		want := map[string]bool{}
		for _, s := range reqs[i].spans {
			want[s.TraceID.String()+s.SpanID.String()] = true
		}
		seen := map[genai.TraceID]bool{}
		for _, s := range reqs[i].spans {
			if seen[s.TraceID] {
				continue
			}
			seen[s.TraceID] = true
			tr, err := db.Trace(context.Background(), "default", s.TraceID)
			if err != nil {
				t.Fatalf("request %d acknowledged, trace %s: %v", i, s.TraceID, err)
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
			t.Fatalf("request %d was acknowledged but %d of its spans are missing after kill -9", i, len(want))
		}
	}
}
