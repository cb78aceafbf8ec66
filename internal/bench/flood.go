package bench

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// floodMain runs "genscope bench flood": many clients sending large
// batches at once, for as long as it takes to see whether the server's
// memory stays bounded by its limits rather than by the number of
// requests, and whether it serves a normal request at once afterwards.
func floodMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench flood", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := ingestOpts{templates: 4, encoding: "proto"}
	var mib int
	var target int64
	var normal time.Duration
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "how long to flood")
	fs.DurationVar(&normal, "ingest", 5*time.Second, "how long to measure normal ingestion (8 clients, 512-span requests) before and after the flood, and the bare-HTTP baseline; 0 to skip")
	fs.IntVar(&o.clients, "clients", 32, "concurrent clients")
	fs.IntVar(&mib, "batch-mib", 4, "size of each request, in MiB (of ~1 KB GenAI spans)")
	fs.Int64Var(&target, "target-mib", 1024, "the peak RSS to stay under, in MiB")
	fs.StringVar(&o.server, "server", "", "genscope binary to measure (default: this one)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := defaultServer(&o.server); err != nil {
		return err
	}
	// Size the batch: measure the bytes per span of a small request first.
	o.batch = 512
	probe, _, err := makePayloads(ingestOpts{templates: 1, batch: o.batch, encoding: "proto"})
	if err != nil {
		return err
	}
	perSpan := float64(len(probe[0].body)) / float64(o.batch)
	o.batch = int(float64(mib<<20) / perSpan)
	payloads, callsPer, err := makePayloads(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "genscope bench flood: %d clients, requests of %d spans (%.1f MiB protobuf), for %s, default settings\n",
		o.clients, o.batch, float64(len(payloads[0].body))/(1<<20), o.duration)

	// Normal ingestion, as "genscope bench ingest" sends it, measured
	// against a bare HTTP server and on the server before and after the
	// flood: the admission that bounds the flood must not slow it.
	n := ingestOpts{clients: 8, batch: 512, templates: 8, encoding: "proto"}
	var normalPayloads []*payload
	var normalCalls []int
	var bare float64
	if normal > 0 {
		if normalPayloads, normalCalls, err = makePayloads(n); err != nil {
			return err
		}
		base, err := bareServer()
		if err != nil {
			return err
		}
		bare = load(ctx, "http://"+base.addr+"/v1/traces", n, normalPayloads, normalCalls, 500*time.Millisecond, normal, nil).spansPerSec()
		base.close()
	}
	srv, err := startServer(ctx, o.server)
	if err != nil {
		return err
	}
	defer srv.stop()
	url := "http://" + srv.addr + "/v1/traces"
	var before loadResult
	if normal > 0 {
		before = load(ctx, url, n, normalPayloads, normalCalls, time.Second, normal, nil)
		fmt.Fprintf(stdout, "ingest    before the flood, %d clients x %d spans: %.0f spans/s p50 %s, %.2f of a bare HTTP server's %.0f spans/s\n",
			n.clients, n.batch, before.spansPerSec(), ms(before.p50), before.spansPerSec()/bare, bare)
	}
	rss := &rssSampler{pid: srv.cmd.Process.Pid}
	idle := readRSS(srv.cmd.Process.Pid)
	res := load(ctx, url, o, payloads, callsPer, 0, o.duration, rss)
	peak := rss.max()
	fmt.Fprintf(stdout, "flood     %d requests accepted (%.0f spans/s), %d refused with 429/503, %d failed; p50 %s p99 %s\n",
		res.spans/int64(o.batch), res.spansPerSec(), res.refused, res.failed, ms(res.p50), ms(res.p99))
	verdict := "MEETS"
	if peak >= target<<20 {
		verdict = "MISSES"
	}
	fmt.Fprintf(stdout, "memory    server RSS idle %.0f MiB, peak under the flood %.0f MiB: target < %d MiB: %s\n",
		float64(idle)/(1<<20), float64(peak)/(1<<20), target, verdict)

	// Recovery: one normal request (512 spans) right after the flood.
	small, _, err := makePayloads(ingestOpts{templates: 1, batch: 512, encoding: "proto"})
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	t0 := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+srv.addr+"/v1/traces", bytes.NewReader(small[0].stamp(nil, 1<<40)))
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("request after the flood: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(t0)
	recovered := "ok"
	if resp.StatusCode != http.StatusOK {
		recovered = "FAILED"
	}
	fmt.Fprintf(stdout, "recovery  a 512-span request right after the flood: %d in %s: %s\n", resp.StatusCode, ms(took), recovered)
	if normal > 0 {
		after := load(ctx, url, n, normalPayloads, normalCalls, 0, normal, nil)
		fmt.Fprintf(stdout, "ingest    after the flood: %.0f spans/s p50 %s, %.2f of before, %.2f of the bare HTTP server\n",
			after.spansPerSec(), ms(after.p50), after.spansPerSec()/before.spansPerSec(), after.spansPerSec()/bare)
	}
	if err := srv.stop(); err != nil {
		return err
	}
	if recovered != "ok" {
		return errors.New("the server did not serve a normal request after the flood")
	}
	return nil
}
