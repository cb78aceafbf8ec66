package demo

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/app"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/store"
)

// TestHistory sends two days of simulated traffic to a real genscope
// (DuckDB) and finds every call of it stored, spread over the two days.
func TestHistory(t *testing.T) {
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = t.TempDir(), "127.0.0.1:0", ""
	a, err := app.New(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	const spans = 3000
	var out bytes.Buffer
	n, err := History(t.Context(), HistoryOptions{Server: "http://" + a.HTTPAddr(), Span: 48 * time.Hour, Spans: spans, Batch: 400, Out: &out})
	if err != nil || n < spans {
		t.Fatalf("sent %d of %d spans: %v", n, spans, err)
	}
	if !strings.Contains(out.String(), "of 3000 spans") {
		t.Errorf("no progress printed: %q", out.String())
	}
	// The same generator, seed and size make the same calls whatever the window.
	g, err := traffic.New(traffic.Config{Seed: 1, Spans: spans, Start: time.Unix(0, 0), End: time.Unix(0, 0).Add(48 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for sp := range g.All() {
		if sp.IsCall() {
			want++
		}
	}
	now := time.Now()
	all, err := a.Store().Overview(t.Context(), store.Filter{Project: "default", From: now.Add(-49 * time.Hour), To: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if all.Calls != int64(want) {
		t.Errorf("%d calls stored, want the %d generated", all.Calls, want)
	}
	first, err := a.Store().Overview(t.Context(), store.Filter{Project: "default", From: now.Add(-49 * time.Hour), To: now.Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if first.Calls < int64(want)/4 || first.Calls > int64(want)*3/4 {
		t.Errorf("%d of %d calls in the first day: not spread over the two days", first.Calls, want)
	}
}

// TestHistoryServerAnswers: a busy server (429 with Retry-After) is waited
// for and retried; a refusal ends the history with the server's words.
func TestHistoryServerAnswers(t *testing.T) {
	var calls atomic.Int32
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || r.Header.Get("x-genscope-key") != "k" {
			t.Errorf("%s %s %v", r.Method, r.URL, r.Header)
		}
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer busy.Close()
	n, err := History(t.Context(), HistoryOptions{Server: busy.URL, Span: time.Hour, Spans: 50, Batch: 100, Clients: 1, IngestKey: "k"})
	if err != nil || n != 50 || calls.Load() != 2 {
		t.Errorf("busy server: %d spans, %d requests, %v", n, calls.Load(), err)
	}

	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "ingest key required", http.StatusUnauthorized)
	}))
	defer refuse.Close()
	n, err = History(t.Context(), HistoryOptions{Server: refuse.URL, Span: time.Hour, Spans: 500, Batch: 100})
	if err == nil || n != 0 || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "ingest key required") {
		t.Errorf("refusing server: %d spans, %v", n, err)
	}
	if _, err := History(t.Context(), HistoryOptions{Server: refuse.URL, Span: 0, Spans: 5}); err == nil {
		t.Error("a history of no time was accepted")
	}
}

func TestParseHistory(t *testing.T) {
	for in, want := range map[string]time.Duration{"": 0, "0": 0, "30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour} {
		d, ok, err := ParseHistory(in)
		if err != nil || d != want || ok != (want > 0) {
			t.Errorf("%q: %v %v %v", in, d, ok, err)
		}
	}
	for _, in := range []string{"soon", "-3h", "500d"} {
		if _, _, err := ParseHistory(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}
