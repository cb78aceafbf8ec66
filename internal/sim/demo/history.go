package demo

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/sim/traffic"
	"github.com/genscope/genscope/internal/timeutil"
)

// HistoryOptions says what History sends and where.
type HistoryOptions struct {
	// Server is genscope's HTTP address, e.g. http://127.0.0.1:4318.
	Server string
	// Span is how far back the history reaches from now (e.g. 30 days).
	Span time.Duration
	// Spans is how many spans to send, parents included.
	Spans int
	// IngestKey is sent as x-genscope-key when auth is on.
	IngestKey string
	// Out receives progress lines; nil prints nothing.
	Out io.Writer
	// Clients is how many requests are in flight at once (default 2).
	Clients int
	// Batch is the spans per request (default 1000, about 2 MB).
	Batch int
	// Seed makes the history reproducible (default 1).
	Seed int64
}

// History sends a stretch of simulated traffic (50 models, 1,000 users,
// sessions, agents and tools, about 5% errors) ending now to genscope's
// OTLP endpoint, as an instrumented fleet would have over that time, so a
// new user sees a month of data in the dashboard. A refused request (429 or
// 503: the server is busy) is retried after its Retry-After. It returns
// the spans acknowledged.
func History(ctx context.Context, o HistoryOptions) (int, error) {
	if o.Spans <= 0 || o.Span <= 0 || o.Clients < 0 || o.Batch < 0 {
		return 0, fmt.Errorf("history: want a positive number of spans and duration (and no negative clients or batch), got %d spans over %s", o.Spans, o.Span)
	}
	o.Clients, o.Batch, o.Seed = cmp.Or(o.Clients, 2), cmp.Or(o.Batch, 1000), cmp.Or(o.Seed, 1)
	prices, err := pricing.New(nil)
	if err != nil {
		return 0, err
	}
	end := time.Now()
	g, err := traffic.New(traffic.Config{Seed: o.Seed, Spans: o.Spans, Start: end.Add(-o.Span), End: end,
		Cost: func(s *genai.Span) (float64, bool) { prices.Apply(s); return s.CostUSD, s.CostKnown }})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	bodies := make(chan hist, o.Clients)
	go func() { // generate and encode while the clients send
		defer close(bodies)
		buf := make([]genai.Span, 0, o.Batch)
		for {
			buf = g.Next(buf[:0])
			if len(buf) == 0 {
				return
			}
			body, err := traffic.MarshalProto(buf)
			if err != nil {
				cancel(fmt.Errorf("history: encode: %w", err))
				return
			}
			select {
			case bodies <- hist{body: body, spans: len(buf)}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var sent atomic.Int64
	var wg sync.WaitGroup
	var outMu sync.Mutex // the clients share o.Out
	c := &http.Client{Timeout: 2 * time.Minute}
	url := strings.TrimRight(o.Server, "/") + "/v1/traces"
	t0, step := time.Now(), max(o.Spans/10, 1)
	for range o.Clients {
		wg.Go(func() {
			for b := range bodies {
				if err := postTraces(ctx, c, url, o.IngestKey, b.body); err != nil {
					cancel(err)
					return
				}
				n := sent.Add(int64(b.spans))
				if o.Out != nil && (n/int64(step)) != (n-int64(b.spans))/int64(step) {
					outMu.Lock()
					fmt.Fprintf(o.Out, "  %d of %d spans (%.0f spans/s)\n", n, o.Spans, float64(n)/time.Since(t0).Seconds())
					outMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return int(sent.Load()), err
	}
	return int(sent.Load()), nil
}

type hist struct {
	body  []byte
	spans int
}

// postTraces sends one OTLP/protobuf request, waiting and retrying while
// the server says it is busy.
func postTraces(ctx context.Context, c *http.Client, url, key string, body []byte) error {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		if key != "" {
			req.Header.Set("x-genscope-key", key)
		}
		resp, err := c.Do(req)
		if err != nil {
			return fmt.Errorf("history: send: %w", err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			return nil
		case (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) && attempt < 60:
			wait := time.Second
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = time.Duration(min(s, 30)) * time.Second
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		default:
			return fmt.Errorf("history: %s answered %s: %s", url, resp.Status, bytes.TrimSpace(msg))
		}
	}
}

// ParseHistory reads a --history value ("30d", "12h"); "" or "0" means
// none (ok false).
func ParseHistory(s string) (time.Duration, bool, error) {
	if s == "" || s == "0" {
		return 0, false, nil
	}
	d, err := timeutil.Parse(s)
	switch {
	case err != nil:
		return 0, false, fmt.Errorf("--history: %w", err)
	case d < 0:
		return 0, false, fmt.Errorf("--history %q: negative", s)
	case d > 400*24*time.Hour:
		return 0, false, fmt.Errorf("--history %q: at most 400d", s)
	}
	return d, d > 0, nil
}
