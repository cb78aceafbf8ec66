package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/genscope/genscope/internal/config"
)

// overloadBody is a request of n chat spans, each in its own trace
// numbered from first.
func overloadBody(first uint64, n int, start time.Time) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "overload")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i := range n {
		sp := spans.AppendEmpty()
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], first+uint64(i))
		tid[0] = 0x0f
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
		sp.SetName("chat gpt-4o")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
		at := sp.Attributes()
		at.PutStr("gen_ai.operation.name", "chat")
		at.PutStr("gen_ai.system", "openai")
		at.PutStr("gen_ai.request.model", "gpt-4o")
		at.PutInt("gen_ai.usage.input_tokens", 100)
		at.PutStr("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+strings.Repeat("lorem ipsum ", 40)+`"}]}]`)
	}
	b, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	return b
}

// TestOverload sends OTLP as fast as 24 senders can to a server with a
// small queue (far more than its writer takes) for GENSCOPE_OVERLOAD_SECONDS
// (default 8; the check is 60): clients get 200, or 429/503 with
// Retry-After and nothing else; memory stays bounded; every acknowledged
// span is stored; and a request after the load succeeds at once.
func TestOverload(t *testing.T) {
	if testing.Short() {
		t.Skip("overload test runs for seconds")
	}
	secs := 8
	if v, err := strconv.Atoi(os.Getenv("GENSCOPE_OVERLOAD_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	a := startAppWith(t, t.TempDir(), func(c *config.Config) {
		c.Recorder.MaxQueueItems = 1_000 // 24 senders of 100 spans overflow it
		c.Recorder.MaxQueueBytes = 4 << 20
		c.GRPCListen = ""
	})
	url := "http://" + a.HTTPAddr() + "/v1/traces"
	const per = 100
	var (
		next                     atomic.Uint64
		acked, refused, requests atomic.Int64
		mu                       sync.Mutex
		bad                      []string
		peakHeap, peakRSS        atomic.Uint64
	)
	start := time.Now().Add(-time.Minute)
	stopLoad := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopLoad:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peakHeap.Load() {
				peakHeap.Store(ms.HeapInuse)
			}
			if r := uint64(selfRSS()); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
		}
	}()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	var wg sync.WaitGroup
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				first := next.Add(per) - per
				resp, err := client.Post(url, "application/x-protobuf", bytes.NewReader(overloadBody(first, per, start)))
				if err != nil {
					mu.Lock()
					bad = append(bad, err.Error())
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				requests.Add(1)
				switch resp.StatusCode {
				case http.StatusOK:
					acked.Add(per)
				case http.StatusTooManyRequests, http.StatusServiceUnavailable:
					refused.Add(1)
					if resp.Header.Get("Retry-After") == "" {
						mu.Lock()
						bad = append(bad, resp.Status+" without Retry-After")
						mu.Unlock()
					}
				default:
					mu.Lock()
					bad = append(bad, resp.Status)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	close(stopLoad)
	sampler.Wait()
	t.Logf("%d s: %d requests, %d spans acknowledged (%.0f/s), %d refused; peak Go heap %d MiB, peak RSS %d MiB",
		secs, requests.Load(), acked.Load(), float64(acked.Load())/float64(secs), refused.Load(), peakHeap.Load()>>20, peakRSS.Load()>>20)
	if len(bad) > 0 {
		t.Errorf("%d unexpected answers, e.g. %q", len(bad), bad[0])
	}
	if refused.Load() == 0 {
		t.Error("the server never pushed back: the load was not an overload")
	}
	// Bounds: the queue's 4 MiB plus request buffers for the Go heap;
	// DuckDB's 256 MB memory limit on top for the process.
	if h := peakHeap.Load(); h > 384<<20 {
		t.Errorf("peak Go heap %d MiB > 384 MiB", h>>20)
	}
	if r := peakRSS.Load(); r > 1<<30 {
		t.Errorf("peak RSS %d MiB > 1 GiB", r>>20)
	}
	// Nothing acknowledged was lost (acknowledged means durable).
	f := storeFilter(2 * time.Hour)
	ov, err := a.Store().Overview(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if ov.Calls < acked.Load() {
		t.Errorf("%d calls stored, %d acknowledged", ov.Calls, acked.Load())
	}
	// And it recovers: the next request is taken within a few retries.
	ok := false
	for i := 0; i < 50 && !ok; i++ {
		resp, err := client.Post(url, "application/x-protobuf", bytes.NewReader(overloadBody(next.Add(per)-per, per, start)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ok = resp.StatusCode == http.StatusOK
		if !ok {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !ok {
		t.Error("not accepting again after the load")
	}
}

// selfRSS reads this process's VmRSS from /proc (Linux); 0 elsewhere.
func selfRSS() int64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
