package bench

import (
	"bufio"
	"bytes"
	"context"
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
)

type gatewayOpts struct {
	server      string
	requests    int
	duration    time.Duration
	concurrency int
	chunks      int
	gap         time.Duration
	streamRuns  int
	manyStreams int
}

// gatewayMain runs "genscope bench gateway": the gateway against the same
// zero-delay loopback upstream called directly, side by side, with the
// same load generator, recording on (DuckDB store).
func gatewayMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o gatewayOpts
	fs.StringVar(&o.server, "server", "", "genscope binary to measure (default: this one)")
	fs.IntVar(&o.requests, "requests", 4000, "sequential requests for the concurrency-1 latency, per side")
	fs.DurationVar(&o.duration, "duration", 8*time.Second, "how long each side of the throughput run lasts")
	fs.IntVar(&o.concurrency, "concurrency", 32, "concurrent clients of the throughput run")
	fs.IntVar(&o.chunks, "chunks", 64, "chunks per streamed answer")
	fs.DurationVar(&o.gap, "gap", 20*time.Millisecond, "time between two chunks")
	fs.IntVar(&o.streamRuns, "stream-runs", 10, "streams, one after another, per side of the streaming latency run")
	fs.IntVar(&o.manyStreams, "many-streams", 512, "concurrent streams of the integrity run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := defaultServer(&o.server); err != nil {
		return err
	}
	return runGateway(ctx, o, stdout)
}

// chatAnswer is the upstream's non-streamed answer: a typical short
// chat completion.
const chatAnswer = `{"id":"chatcmpl-bench","object":"chat.completion","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Pack a tent, a warm sleeping bag, layers, a stove, water filter, map and first-aid kit.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":36,"completion_tokens":22,"total_tokens":58,"prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_bench"}`

const chatRequest = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are an AI assistant that acts as a travel guide."},{"role":"user","content":"What are some recommended supplies for a camping trip in the mountains?"}]}`

// upstream is the zero-delay loopback model server. Streamed chunks carry
// the time they were sent, so the client can tell how long each took to
// arrive.
type upstream struct {
	srv    *http.Server
	addr   string
	chunks int
	gap    time.Duration
}

func startUpstream(chunks int, gap time.Duration) (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := &upstream{addr: ln.Addr().String(), chunks: chunks, gap: gap}
	answer := []byte(chatAnswer)
	u.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
			_, _ = w.Write(answer)
			return
		}
		usage := bytes.Contains(body, []byte(`"include_usage":true`))
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		buf := make([]byte, 0, 512)
		next := time.Now()
		for i := range u.chunks {
			next = next.Add(u.gap)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			buf = buf[:0]
			buf = append(buf, `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"tok`...)
			buf = strconv.AppendInt(buf, int64(i), 10)
			buf = append(buf, ` sent="},"finish_reason":null}]`...)
			// the send time (Unix ns, one clock for every process on the
			// machine), inside the content
			buf = buf[:len(buf)-len(`"},"finish_reason":null}]`)]
			buf = strconv.AppendInt(buf, time.Now().UnixNano(), 10)
			buf = append(buf, `"},"finish_reason":null}]`...)
			if usage {
				buf = append(buf, `,"usage":null`...)
			}
			buf = append(buf, "}\n\n"...)
			if _, err := w.Write(buf); err != nil {
				return
			}
			_ = rc.Flush()
		}
		tail := `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n"
		if usage {
			tail += `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":36,"completion_tokens":` + strconv.Itoa(u.chunks) + `,"total_tokens":` + strconv.Itoa(36+u.chunks) + `}}` + "\n\n"
		}
		_, _ = io.WriteString(w, tail+"data: [DONE]\n\n")
	})}
	go func() { _ = u.srv.Serve(ln) }()
	return u, nil
}

// upstreamMain runs the benchmark's upstream in a process of its own
// ("genscope bench gateway-upstream"): it prints its address and serves
// until its standard input closes.
func upstreamMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench gateway-upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	chunks := fs.Int("chunks", 64, "chunks per streamed answer")
	gap := fs.Duration("gap", 20*time.Millisecond, "time between two chunks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	up, err := startUpstream(*chunks, *gap)
	if err != nil {
		return err
	}
	defer up.srv.Close()
	fmt.Fprintln(stdout, up.addr)
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	return nil
}

// spawnUpstream starts the upstream process and returns its address.
func spawnUpstream(ctx context.Context, bin string, o gatewayOpts) (*upstream, func(), error) {
	cmd := exec.CommandContext(ctx, bin, "bench", "gateway-upstream", "-chunks", strconv.Itoa(o.chunks), "-gap", o.gap.String())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start the upstream: %w", err)
	}
	stop := func() { _ = stdin.Close(); _ = cmd.Wait() }
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("the upstream did not start: %w", err)
	}
	return &upstream{addr: strings.TrimSpace(line), chunks: o.chunks, gap: o.gap}, stop, nil
}

func runGateway(ctx context.Context, o gatewayOpts, out io.Writer) error {
	// The upstream runs in a process of its own, as a model server would:
	// direct calls cross one process boundary, gateway calls two.
	up, stopUp, err := spawnUpstream(ctx, o.server, o)
	if err != nil {
		return err
	}
	defer stopUp()
	cfgFile, err := os.CreateTemp("", "genscope-bench-gateway-*.yaml")
	if err != nil {
		return err
	}
	defer os.Remove(cfgFile.Name())
	fmt.Fprintf(cfgFile, "gateway:\n  deployments:\n    - {name: gpt-4o, type: openai-compatible, base_url: \"http://%s/v1\"}\n", up.addr)
	cfgFile.Close()
	srv, err := startServerArgs(ctx, o.server, "--config", cfgFile.Name())
	if err != nil {
		return err
	}
	defer srv.stop()
	direct := "http://" + up.addr + "/v1/chat/completions"
	via := "http://" + srv.addr + "/v1/chat/completions"
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxIdleConns: 2048, IdleConnTimeout: time.Minute}}

	fmt.Fprintf(out, "genscope gateway vs the same upstream called directly (zero-delay loopback upstream in its own process, recording on, DuckDB store)\n\n")

	if err := gatewayLatency(client, direct, via, o, out); err != nil {
		return err
	}
	// 2. Throughput at concurrency N, and the gateway's CPU per request.
	fmt.Fprintf(out, "\nthroughput, concurrency %d, %s per side\n", o.concurrency, o.duration)
	dRate, _ := throughput(ctx, client, direct, o.concurrency, o.duration)
	cpu0 := procCPU(srv.cmd.Process.Pid)
	gRate, gN := throughput(ctx, client, via, o.concurrency, o.duration)
	cpu1 := procCPU(srv.cmd.Process.Pid)
	fmt.Fprintf(out, "  direct   %10.0f req/s\n  gateway  %10.0f req/s   ratio %.2fx\n", dRate, gRate, gRate/dRate)
	if gN > 0 && cpu1 > cpu0 {
		fmt.Fprintf(out, "  gateway CPU time per proxied request: %s (whole genscope process, recording included)\n", us((cpu1-cpu0)/time.Duration(gN)))
	}

	if err := gatewayStreaming(ctx, client, direct, via, up, o, out); err != nil {
		return err
	}
	if err := gatewayManyStreams(ctx, client, direct, via, up, o, out); err != nil {
		return err
	}

	// Recording: every proxied call is stored (or its loss counted).
	time.Sleep(2 * time.Second)
	stored, err := storedCalls(srv.addr)
	if err == nil {
		fmt.Fprintf(out, "recorded calls in the store: %d\n", stored)
	}
	return nil
}

// gatewayLatency measures latency at concurrency 1 in interleaved blocks, so drift in the
// machine's load hits both sides alike.
func gatewayLatency(client *http.Client, direct, via string, o gatewayOpts, out io.Writer) error {
	var dLat, gLat []time.Duration
	for range 3 { // warm-up
		_, _ = callOnce(client, direct)
		_, _ = callOnce(client, via)
	}
	block := 200
	for done := 0; done < o.requests; done += block {
		for _, side := range []struct {
			url string
			lat *[]time.Duration
		}{{direct, &dLat}, {via, &gLat}} {
			for range min(block, o.requests-done) {
				d, err := callOnce(client, side.url)
				if err != nil {
					return err
				}
				*side.lat = append(*side.lat, d)
			}
		}
	}
	dLat, gLat = sortDurations(dLat), sortDurations(gLat)
	fmt.Fprintf(out, "latency, concurrency 1, %d requests per side\n", o.requests)
	fmt.Fprintf(out, "  %-8s %12s %12s %12s\n", "", "direct", "gateway", "added")
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}} {
		d, g := quantile(dLat, q.q), quantile(gLat, q.q)
		fmt.Fprintf(out, "  %-8s %12s %12s %12s\n", q.name, us(d), us(g), us(g-d))
	}
	return nil
}

// gatewayStreaming runs one stream at a time: time to first token, each
// chunk's delivery delay (arrival minus the upstream's send time) and
// the gap between consecutive chunks.
func gatewayStreaming(ctx context.Context, client *http.Client, direct, via string, up *upstream, o gatewayOpts, out io.Writer) error {
	fmt.Fprintf(out, "\nstreaming, %d chunks %s apart, %d streams one after another per side\n", o.chunks, o.gap, o.streamRuns)
	var dS, gS streamStats
	for range o.streamRuns { // interleaved, like the latency run
		for _, side := range []struct {
			url string
			st  *streamStats
		}{{direct, &dS}, {via, &gS}} {
			st, err := streamRun(ctx, client, side.url, up, 1, o.chunks, false)
			if err != nil {
				return err
			}
			side.st.merge(st)
		}
	}
	dS.sort()
	gS.sort()
	fmt.Fprintf(out, "  %-26s %12s %12s %12s\n", "", "direct", "gateway", "added")
	for _, row := range []struct {
		name string
		d, g []time.Duration
		q    float64
	}{
		{"time to first token p50", dS.ttft, gS.ttft, 0.5}, {"time to first token p99", dS.ttft, gS.ttft, 0.99},
		{"chunk delivery delay p50", dS.delay, gS.delay, 0.5}, {"chunk delivery delay p99", dS.delay, gS.delay, 0.99},
		{"inter-chunk gap p50", dS.gaps, gS.gaps, 0.5}, {"inter-chunk gap p99", dS.gaps, gS.gaps, 0.99},
	} {
		d, g := quantile(row.d, row.q), quantile(row.g, row.q)
		fmt.Fprintf(out, "  %-26s %12s %12s %12s\n", row.name, us(d), us(g), us(g-d))
	}
	return nil
}

// gatewayManyStreams checks integrity under many streams: every chunk, in order, one event
// each, none held back and merged with the next; the same load sent
// directly shows what the machine itself adds.
func gatewayManyStreams(ctx context.Context, client *http.Client, direct, via string, up *upstream, o gatewayOpts, out io.Writer) error {
	fmt.Fprintf(out, "\n%d concurrent streams of %d chunks\n", o.manyStreams, o.chunks)
	for _, side := range []struct{ name, url string }{{"direct", direct}, {"gateway", via}} {
		many, err := streamRun(ctx, client, side.url, up, o.manyStreams, o.chunks, true)
		many.sort()
		if err != nil {
			return fmt.Errorf("%d streams %s: %w", o.manyStreams, side.name, err)
		}
		fmt.Fprintf(out, "  %-8s received %d of %d chunks, %d dropped, %d out of order, %d held back past the next chunk; delivery delay p50 %s p99 %s\n",
			side.name, many.received, o.manyStreams*o.chunks, many.dropped, many.disordered, many.merged, us(quantile(many.delay, 0.5)), us(quantile(many.delay, 0.99)))
	}
	return nil
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/1e3) }

func callOnce(c *http.Client, url string) (time.Duration, error) {
	start := time.Now()
	resp, err := c.Post(url, "application/json", strings.NewReader(chatRequest))
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("%s answered %d", url, resp.StatusCode)
	}
	return time.Since(start), err
}

func throughput(ctx context.Context, c *http.Client, url string, conc int, d time.Duration) (float64, int64) {
	var n atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := callOnce(c, url); err == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), n.Load()
}

type streamStats struct {
	ttft, delay, gaps                     []time.Duration
	received, dropped, disordered, merged int
}

func (s *streamStats) merge(o streamStats) {
	s.ttft = append(s.ttft, o.ttft...)
	s.delay = append(s.delay, o.delay...)
	s.gaps = append(s.gaps, o.gaps...)
	s.received += o.received
	s.dropped += o.dropped
	s.disordered += o.disordered
	s.merged += o.merged
}

func (s *streamStats) sort() {
	s.ttft, s.delay, s.gaps = sortDurations(s.ttft), sortDurations(s.delay), sortDurations(s.gaps)
}

// streamRun opens n streams and reads them to the end; stagger spreads
// their starts over one chunk gap, as independent clients would be.
func streamRun(ctx context.Context, c *http.Client, url string, up *upstream, n, chunks int, stagger bool) (streamStats, error) {
	var mu sync.Mutex
	var st streamStats
	var firstErr error
	var wg sync.WaitGroup
	body := strings.Replace(chatRequest, `"model":"gpt-4o"`, `"model":"gpt-4o","stream":true`, 1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if stagger {
				time.Sleep(up.gap * time.Duration(i) / time.Duration(n))
			}
			start := time.Now()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				mu.Lock()
				firstErr = errors.Join(firstErr, err)
				mu.Unlock()
				return
			}
			defer resp.Body.Close()
			var ttft, prev time.Duration
			var delays, gaps []time.Duration
			next, disordered, merged := 0, 0, 0
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				line := sc.Bytes()
				i := bytes.Index(line, []byte(`"content":"tok`))
				if i < 0 {
					continue
				}
				now := time.Duration(time.Now().UnixNano())
				if ttft == 0 {
					ttft = time.Since(start)
				}
				rest := line[i+len(`"content":"tok`):]
				sp := bytes.IndexByte(rest, ' ')
				eq := bytes.Index(rest, []byte("sent="))
				q := bytes.IndexByte(rest[max(eq, 0):], '"')
				if sp < 0 || eq < 0 || q < 0 {
					continue
				}
				seq, _ := strconv.Atoi(string(rest[:sp]))
				sent, _ := strconv.ParseInt(string(rest[eq+5:eq+q]), 10, 64)
				if seq != next {
					disordered++
				}
				next = seq + 1
				d := now - time.Duration(sent)
				delays = append(delays, d)
				if prev > 0 {
					gaps = append(gaps, now-prev)
				}
				prev = now
				if d >= up.gap {
					merged++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if ttft > 0 {
				st.ttft = append(st.ttft, ttft)
			}
			st.delay = append(st.delay, delays...)
			st.gaps = append(st.gaps, gaps...)
			st.received += len(delays)
			st.dropped += chunks - len(delays)
			st.disordered += disordered
			st.merged += merged
		}()
	}
	wg.Wait()
	return st, firstErr
}

// procCPU is the user+system CPU time a process has used.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+stt) * time.Second / 100 // USER_HZ is 100 on Linux
}

// startServerArgs runs "genscope serve" with extra arguments on a free
// loopback port with a fresh data directory and waits until it is ready.
func startServerArgs(ctx context.Context, bin string, extra ...string) (*server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	dir, err := os.MkdirTemp("", "genscope-bench-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", addr, "--grpc-listen", "", "--data", dir}, extra...)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s := &server{cmd: cmd, addr: addr, dir: dir}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("server did not become ready in 60s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
