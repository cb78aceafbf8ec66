package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/traffic"
)

type ingestOpts struct {
	duration, warmup time.Duration
	clients, batch   int
	templates        int
	encoding         string
	server           string
	target           string
	baseline         time.Duration
}

func ingestMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := ingestOpts{}
	fs.DurationVar(&o.duration, "duration", 20*time.Second, "how long to measure, after the warm-up")
	fs.DurationVar(&o.warmup, "warmup", 3*time.Second, "load before measuring starts")
	fs.DurationVar(&o.baseline, "baseline", 5*time.Second, "how long to measure the bare-HTTP baseline")
	fs.IntVar(&o.clients, "clients", 8, "concurrent exporters")
	fs.IntVar(&o.batch, "batch", 512, "spans per request (OpenTelemetry SDKs send up to 512)")
	fs.IntVar(&o.templates, "templates", 32, "distinct generated requests (ids are made fresh on every send)")
	fs.StringVar(&o.encoding, "encoding", "proto", "proto or json")
	fs.StringVar(&o.server, "server", "", "genscope binary to measure (default: this one)")
	fs.StringVar(&o.target, "target", "", "host:port of a running genscope to load instead of starting one (no RSS or stored-calls check)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.encoding != "proto" && o.encoding != "json" {
		return fmt.Errorf("-encoding: %q is not proto or json", o.encoding)
	}
	if err := defaultServer(&o.server); err != nil {
		return err
	}
	return runIngest(ctx, o, stdout)
}

// defaultServer sets an empty -server flag to this binary.
func defaultServer(server *string) error {
	if *server != "" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("-server: %w", err)
	}
	*server = exe
	return nil
}

func runIngest(ctx context.Context, o ingestOpts, out io.Writer) error {
	fmt.Fprintf(out, "genscope bench ingest: %d spans/request, %s, %d clients, %s measured after %s warm-up\n",
		o.batch, o.encoding, o.clients, o.duration, o.warmup)
	payloads, callsPer, err := makePayloads(o)
	if err != nil {
		return err
	}
	size := 0
	for _, p := range payloads {
		size += len(p.body)
	}
	fmt.Fprintf(out, "payloads: %d requests of %d spans, %.0f bytes/span on the wire\n",
		len(payloads), o.batch, float64(size)/float64(len(payloads)*o.batch))

	// Baseline: a bare HTTP server that reads each body and answers 200.
	base, err := bareServer()
	if err != nil {
		return err
	}
	bres := load(ctx, "http://"+base.addr+"/v1/traces", o, payloads, callsPer, 500*time.Millisecond, o.baseline, nil)
	base.close()
	fmt.Fprintf(out, "baseline  bare HTTP server (read body, answer 200): %9.0f spans/s  p50 %s  p99 %s\n",
		bres.spansPerSec(), ms(bres.p50), ms(bres.p99))

	if o.target != "" {
		res := load(ctx, "http://"+o.target+"/v1/traces", o, payloads, callsPer, o.warmup, o.duration, nil)
		fmt.Fprintf(out, "genscope  at %s: %9.0f spans/s  p50 %s  p99 %s  refused %d  errors %d  ratio to baseline %.2f\n",
			o.target, res.spansPerSec(), ms(res.p50), ms(res.p99), res.refused, res.failed, res.spansPerSec()/bres.spansPerSec())
		return nil
	}
	srv, err := startServer(ctx, o.server)
	if err != nil {
		return err
	}
	defer srv.stop()
	rss := &rssSampler{pid: srv.cmd.Process.Pid}
	res := load(ctx, "http://"+srv.addr+"/v1/traces", o, payloads, callsPer, o.warmup, o.duration, rss)
	fmt.Fprintf(out, "genscope  decode+normalize+price+durable commit:    %9.0f spans/s  p50 %s  p99 %s  refused %d (429/503)  errors %d\n",
		res.spansPerSec(), ms(res.p50), ms(res.p99), res.refused, res.failed)
	fmt.Fprintf(out, "ratio     genscope / baseline: %.2f\n", res.spansPerSec()/bres.spansPerSec())
	peak := rss.max()
	fmt.Fprintf(out, "memory    server peak RSS while loaded: %.0f MiB (target <= 300 MiB)\n", float64(peak)/(1<<20))
	verdict := "MEETS"
	if res.spansPerSec() < 50000 || peak > 300<<20 {
		verdict = "MISSES"
	}
	fmt.Fprintf(out, "target    >= 50,000 spans/s sustained with RSS <= 300 MiB: %s\n", verdict)

	// Every acknowledged call must be stored: compare the server's count
	// of GenAI calls with what it acknowledged.
	got, err := storedCalls(srv.addr)
	if err != nil {
		return err
	}
	// Requests cut off when the load stopped may have been stored without
	// their answer arriving: at most one per client.
	slack := int64(0)
	for _, c := range callsPer {
		slack = max(slack, int64(c))
	}
	slack *= int64(o.clients)
	status := "ok"
	if got < res.ackedCallsTotal || got > res.ackedCallsTotal+slack {
		status = "MISMATCH"
	}
	fmt.Fprintf(out, "check     acknowledged GenAI calls %d, stored %d (at most %d more from requests cut off at the end): %s\n",
		res.ackedCallsTotal, got, slack, status)
	if status != "ok" {
		return errors.New("stored calls do not match acknowledged calls")
	}
	return srv.stop()
}

func makePayloads(o ingestOpts) ([]*payload, []int, error) {
	now := time.Now()
	g, err := traffic.New(traffic.Config{Seed: 7, Spans: o.templates * o.batch, Start: now.Add(-30 * time.Minute), End: now})
	if err != nil {
		return nil, nil, err
	}
	var payloads []*payload
	var calls []int
	buf := make([]genai.Span, 0, o.batch)
	for len(payloads) < o.templates {
		buf = g.Next(buf[:0])
		if len(buf) == 0 {
			break
		}
		p := &payload{spans: len(buf), json: o.encoding == "json"}
		if p.json {
			p.body, err = traffic.MarshalJSON(buf)
			p.offsets = jsonIDOffsets(p.body)
		} else {
			if p.body, err = traffic.MarshalProto(buf); err == nil {
				p.offsets, err = protoIDOffsets(p.body)
			}
		}
		if err != nil {
			return nil, nil, err
		}
		if len(p.offsets) != len(buf) {
			return nil, nil, fmt.Errorf("found %d trace ids in a request of %d spans", len(p.offsets), len(buf))
		}
		n := 0
		for i := range buf {
			if buf[i].IsCall() {
				n++
			}
		}
		payloads = append(payloads, p)
		calls = append(calls, n)
	}
	return payloads, calls, nil
}

type loadResult struct {
	elapsed         time.Duration
	spans           int64 // acknowledged while measuring
	ackedCallsTotal int64 // GenAI calls acknowledged over the whole run
	refused, failed int64
	p50, p99        time.Duration
}

func (r loadResult) spansPerSec() float64 { return float64(r.spans) / r.elapsed.Seconds() }

// load runs o.clients exporters against url for warmup+measure and counts
// what was acknowledged during measure. A refused request (429/503) is
// retried after a pause, as OpenTelemetry exporters do.
func load(ctx context.Context, url string, o ingestOpts, payloads []*payload, callsPer []int, warmup, measure time.Duration, rss *rssSampler) loadResult {
	ct := "application/x-protobuf"
	if o.encoding == "json" {
		ct = "application/json"
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.clients}}
	defer client.CloseIdleConnections()
	var (
		seq                        atomic.Uint64
		measuring                  atomic.Bool
		spans, calls, refused, bad atomic.Int64
		mu                         sync.Mutex
		lat                        []time.Duration
	)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for c := 0; c < o.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			var mine []time.Duration
			for ctx.Err() == nil {
				n := seq.Add(1)
				i := int(n % uint64(len(payloads)))
				body = payloads[i].stamp(body, n)
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
					req.Header.Set("Content-Type", ct)
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						if ctx.Err() == nil {
							bad.Add(1)
							time.Sleep(100 * time.Millisecond)
						}
						break
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
						refused.Add(1)
						time.Sleep(200 * time.Millisecond)
						continue
					}
					if resp.StatusCode != http.StatusOK {
						bad.Add(1)
						break
					}
					calls.Add(int64(callsPer[i]))
					if measuring.Load() {
						spans.Add(int64(payloads[i].spans))
						mine = append(mine, time.Since(t0))
					}
					break
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	time.Sleep(warmup)
	measuring.Store(true)
	start := time.Now()
	if rss != nil {
		go rss.run(ctx)
	}
	time.Sleep(measure)
	measuring.Store(false)
	elapsed := time.Since(start)
	cancel()
	wg.Wait()
	s := sortDurations(lat)
	return loadResult{elapsed: elapsed, spans: spans.Load(), ackedCallsTotal: calls.Load(),
		refused: refused.Load(), failed: bad.Load(), p50: quantile(s, 0.5), p99: quantile(s, 0.99)}
}

type bare struct {
	addr  string
	close func()
}

func bareServer() (*bare, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = srv.Serve(ln) }()
	return &bare{addr: ln.Addr().String(), close: func() { _ = srv.Close() }}, nil
}

type server struct {
	cmd     *exec.Cmd
	addr    string
	dir     string
	stopped bool
}

// startServer runs "genscope serve" on a free loopback port with a fresh
// data directory and waits until it is ready.
func startServer(ctx context.Context, bin string) (*server, error) {
	return startServerArgs(ctx, bin)
}

func (s *server) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	defer os.RemoveAll(s.dir)
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		return errors.New("server did not stop in 60s")
	}
}

func storedCalls(addr string) (int64, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/overview?from=7d")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var ov struct {
		Calls int64 `json:"calls"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ov); err != nil {
		return 0, fmt.Errorf("overview: %w", err)
	}
	return ov.Calls, nil
}

// rssSampler records the largest resident set size of a process.
type rssSampler struct {
	pid  int
	mu   sync.Mutex
	peak int64
}

func (r *rssSampler) run(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if v := readRSS(r.pid); v > 0 {
			r.mu.Lock()
			r.peak = max(r.peak, v)
			r.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *rssSampler) max() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peak
}

// readRSS reads VmRSS from /proc (Linux); 0 when unavailable.
func readRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
