package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/fixture"
)

// startApp runs a whole genscope on loopback ports with a fresh data
// directory and stops it when the test ends.
func startApp(t *testing.T, dir string) *App {
	t.Helper()
	return startAppWith(t, dir, nil)
}

// startAppWith is startApp with a change to the configuration.
func startAppWith(t *testing.T, dir string, change func(*config.Config)) *App {
	t.Helper()
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = dir, "127.0.0.1:0", "127.0.0.1:0"
	cfg.Store.DuckDB.MemoryLimit = "256MB"
	if change != nil {
		change(&cfg)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	if !a.waitReady(10 * time.Second) {
		t.Fatal("app not ready")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a
}

// readTraces loads a traces fixture moved so its first span starts at
// base: the fixtures were captured on another day.
func readTraces(t *testing.T, name string, base time.Time) ptrace.Traces {
	t.Helper()
	td := fixture.Traces(t, "otlp/"+name)
	fixture.TracesAt(td, base)
	return td
}

// readLogs loads a logs fixture, moved by the same duration as its traces
// fixture (so records stay within their spans).
func readLogs(t *testing.T, name string, tracesName string, base time.Time) plog.Logs {
	t.Helper()
	d := fixture.TracesAt(fixture.Traces(t, "otlp/"+tracesName), base)
	ld := fixture.Logs(t, "otlp/"+name)
	fixture.MoveLogs(ld, d)
	return ld
}

func postHTTP(t *testing.T, a *App, path string, body []byte, contentType string) {
	t.Helper()
	resp, err := http.Post("http://"+a.HTTPAddr()+path, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s %q", path, resp.Status, b)
	}
}

func getJSON(t *testing.T, a *App, path string, v any) {
	t.Helper()
	resp, err := http.Get("http://" + a.HTTPAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

type overview struct {
	Calls        int64   `json:"calls"`
	Errors       int64   `json:"errors"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	TotalTokens  int64   `json:"total_tokens"`
	CostUSD      float64 `json:"cost_usd"`
}

type spanRow struct {
	TraceID      string  `json:"trace_id"`
	SpanID       string  `json:"span_id"`
	Status       string  `json:"status"`
	DurationMS   float64 `json:"duration_ms"`
	Operation    string  `json:"operation"`
	Provider     string  `json:"provider"`
	Model        string  `json:"model"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	Session      string  `json:"session"`
	System       string  `json:"system"`
	Input        string  `json:"input"`
	Output       string  `json:"output"`
	Service      string  `json:"service"`
}

// TestEndToEnd posts every fixture over OTLP/HTTP and OTLP/gRPC, in both
// orders of spans and their log records, then checks the API's answers.
func TestEndToEnd(t *testing.T) {
	a := startApp(t, t.TempDir())
	base := time.Now().Add(-10 * time.Minute)

	// OTLP/HTTP JSON: the OpenTelemetry instrumentation, traces then logs.
	td := readTraces(t, "lab-otel-openai.traces.json", base)
	body, _ := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	postHTTP(t, a, "/v1/traces", body, "application/json")
	ld := readLogs(t, "lab-otel-openai.logs.json", "lab-otel-openai.traces.json", base)
	body, _ = plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	postHTTP(t, a, "/v1/logs", body, "application/json")

	// OTLP/HTTP protobuf: Traceloop.
	td = readTraces(t, "lab-traceloop.traces.json", base.Add(time.Minute))
	body, _ = ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	postHTTP(t, a, "/v1/traces", body, "application/x-protobuf")

	// OTLP/gRPC: the protobuf capture, logs BEFORE their spans, and OpenInference.
	conn, err := grpc.NewClient(a.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	ld = readLogs(t, "lab-otel-openai.logs.pb", "lab-otel-openai.traces.pb", base.Add(2*time.Minute))
	if _, err := plogotlp.NewGRPCClient(conn).Export(ctx, plogotlp.NewExportRequestFromLogs(ld)); err != nil {
		t.Fatal(err)
	}
	td = readTraces(t, "lab-otel-openai.traces.pb", base.Add(2*time.Minute))
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatal(err)
	}
	td = readTraces(t, "lab-openinference.traces.json", base.Add(3*time.Minute))
	if _, err := ptraceotlp.NewGRPCClient(conn).Export(ctx, ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatal(err)
	}

	// Totals: 5 + 5 calls from the OpenTelemetry instrumentation (199 + 299
	// tokens and 1 error each), 4 + 4 from Traceloop and OpenInference
	// (153 + 207 tokens each, no span for the failed call).
	var ov overview
	getJSON(t, a, "/api/v1/overview?from=1h", &ov)
	want := overview{Calls: 18, Errors: 2, InputTokens: 2*199 + 2*153, OutputTokens: 2*299 + 2*207}
	want.TotalTokens = want.InputTokens + want.OutputTokens
	if ov.Calls != want.Calls || ov.Errors != want.Errors || ov.InputTokens != want.InputTokens ||
		ov.OutputTokens != want.OutputTokens || ov.TotalTokens != want.TotalTokens {
		t.Errorf("overview = %+v, want %+v", ov, want)
	}
	if ov.CostUSD <= 0 {
		t.Errorf("cost = %v, want gpt-4o priced", ov.CostUSD)
	}

	// Per service.
	var bd struct {
		Rows []struct {
			Key          string `json:"key"`
			Calls        int64  `json:"calls"`
			InputTokens  int64  `json:"input_tokens"`
			OutputTokens int64  `json:"output_tokens"`
		} `json:"rows"`
	}
	getJSON(t, a, "/api/v1/breakdown?by=model&from=1h", &bd)
	if len(bd.Rows) != 1 || bd.Rows[0].Key != "gpt-4o" || bd.Rows[0].Calls != 18 {
		t.Errorf("breakdown by model = %+v", bd.Rows)
	}

	// The spans table: the lab's "Gen AI spans" view with status, duration,
	// system message, input and output — content that came as log records.
	var page struct {
		Spans      []spanRow `json:"spans"`
		NextCursor string    `json:"next_cursor"`
	}
	getJSON(t, a, "/api/v1/spans?from=1h&service=lab-prompts-otel&limit=100", &page)
	if len(page.Spans) != 10 {
		t.Fatalf("otel spans = %d, want 10", len(page.Spans))
	}
	var errs, withContent, withOutput int
	for _, s := range page.Spans {
		if s.Status == "error" {
			errs++
			if !strings.Contains(s.Input, "…") && len(s.Input) < 100 {
				t.Errorf("error call input preview %q: want the long prompt, cut", s.Input)
			}
			continue
		}
		if strings.Contains(s.System, "travel guide") && strings.Contains(s.Input, "camping trip") {
			withContent++
		}
		if s.Output != "" {
			withOutput++
		}
		if s.Session == "" {
			t.Errorf("span %s has no session: it must inherit generate_completion's session.id", s.SpanID)
		}
	}
	// The instrumentation logs no gen_ai.choice for a streamed call, so
	// the two streamed calls have no output.
	if errs != 2 || withContent != 8 || withOutput != 6 {
		t.Errorf("errors %d (want 2), calls with system+input %d (want 8), with output %d (want 6)", errs, withContent, withOutput)
	}

	// The trace: generate_completion with its chat child, full messages.
	var tr struct {
		TraceID string `json:"trace_id"`
		Roots   []struct {
			Span struct {
				Name string `json:"name"`
			} `json:"span"`
			Session  string `json:"session"`
			Children []struct {
				Span struct {
					Name           string `json:"name"`
					Operation      string `json:"operation"`
					InputMessages  []any  `json:"input_messages"`
					OutputMessages []any  `json:"output_messages"`
				} `json:"span"`
			} `json:"children"`
		} `json:"roots"`
	}
	getJSON(t, a, "/api/v1/traces/"+page.Spans[0].TraceID, &tr)
	if len(tr.Roots) != 1 || tr.Roots[0].Span.Name != "generate_completion" || len(tr.Roots[0].Children) != 1 ||
		tr.Roots[0].Children[0].Span.Name != "chat gpt-4o" || tr.Roots[0].Children[0].Span.Operation != "chat" {
		t.Fatalf("trace = %+v", tr)
	}
	if c := tr.Roots[0].Children[0].Span; len(c.InputMessages) == 0 {
		t.Errorf("trace chat span has no input messages")
	}

	// Sessions: the OpenTelemetry captures, Traceloop and OpenInference each ran one.
	var ss struct {
		Sessions []struct {
			Session string `json:"session"`
			Calls   int64  `json:"calls"`
		} `json:"sessions"`
	}
	getJSON(t, a, "/api/v1/sessions?from=1h", &ss)
	var calls int64
	for _, s := range ss.Sessions {
		calls += s.Calls
	}
	if len(ss.Sessions) < 3 || calls != 18 {
		t.Errorf("sessions = %+v: want every call in a session", ss.Sessions)
	}

	// Filters, text search and the metrics endpoint.
	getJSON(t, a, "/api/v1/overview?from=1h&status=error", &ov)
	if ov.Calls != 2 {
		t.Errorf("status=error calls = %d", ov.Calls)
	}
	getJSON(t, a, "/api/v1/overview?from=1h&q=CAMPING+TRIP", &ov)
	if ov.Calls < 8 {
		t.Errorf("q=camping trip calls = %d", ov.Calls)
	}
	resp, err := http.Get("http://" + a.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"gen_ai_client_token_usage_bucket", "gen_ai_client_operation_duration_seconds_bucket",
		"genscope_otlp_spans_received_total", "genscope_recorder_queue_items", "genscope_store_write_duration_seconds"} {
		if !bytes.Contains(m, []byte(s)) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
}

func TestAPIRejectsBadParameters(t *testing.T) {
	a := startApp(t, t.TempDir())
	for path, param := range map[string]string{
		"/api/v1/overview?from=yesterday":         "from",
		"/api/v1/overview?from=1h&to=2h":          "from",
		"/api/v1/overview?status=maybe":           "status",
		"/api/v1/timeseries?metric=vibes":         "metric",
		"/api/v1/timeseries?metric=calls&agg=p42": "agg",
		"/api/v1/timeseries?interval=1ms":         "interval",
		"/api/v1/timeseries?from=30d&interval=1s": "interval",
		"/api/v1/breakdown":                       "by",
		"/api/v1/breakdown?by=color":              "by",
		"/api/v1/spans?limit=0":                   "limit",
		"/api/v1/spans?limit=many":                "limit",
		"/api/v1/spans?cursor=%25%25":             "cursor",
		"/api/v1/spans?cursor=bm90IGEgY3Vyc29y":   "cursor",
		"/api/v1/traces/xyz":                      "trace_id",
	} {
		resp, err := http.Get("http://" + a.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(body.Error, param) {
			t.Errorf("%s: %d %q, want 400 naming %s", path, resp.StatusCode, body.Error, param)
		}
	}
	resp, err := http.Get("http://" + a.HTTPAddr() + "/api/v1/traces/" + strings.Repeat("ab", 16))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown trace: %d, want 404", resp.StatusCode)
	}
	for _, p := range []string{"/healthz", "/readyz", "/api/v1/overview", "/api/v1/pricing", "/api/v1/pricing/unknown", "/api/v1/sessions"} {
		resp, err := http.Get("http://" + a.HTTPAddr() + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}

// A failure half-way through New (here: the port is taken) closes what
// was opened and returns the error, so the data directory can be reused.
func TestNewFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir)
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = t.TempDir(), a.HTTPAddr(), ""
	if _, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("New on a taken port succeeded")
	}
	cfg.Listen = "127.0.0.1:0"
	b, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("reopening the same data directory after a failed New: %v", err)
	}
	b.closeAll()
}

// TestSecondAppOnOneDataDirectory: a second App on a data directory one
// in this process is using fails with one clear line (before, DuckDB's
// lock, per process, did not stop it), the first keeps serving; a text
// file in place of the database is "not a genscope database".
func TestSecondAppOnOneDataDirectory(t *testing.T) {
	dir := t.TempDir()
	a := startApp(t, dir)
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = dir, "127.0.0.1:0", ""
	_, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if want := fmt.Sprintf("another genscope (pid %d) is using %s", os.Getpid(), dir); err == nil || err.Error() != want {
		t.Fatalf("second New: %v, want %q", err, want)
	}
	var st map[string]any
	getJSON(t, a, "/api/v1/status", &st)
	dir2 := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir2, DBFile), []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg.Data = dir2
	if _, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || err.Error() != "not a genscope database: "+filepath.Join(dir2, DBFile) {
		t.Fatalf("New on a text file: %v", err)
	}
}

// TestAppInsightsEndToEnd posts what the Azure Monitor exporter sent in
// the lab to //v2.1/track (the doubled slash exporters produce) and finds
// the same calls, tokens and content the OTLP capture gives.
func TestAppInsightsEndToEnd(t *testing.T) {
	a := startApp(t, t.TempDir())
	var first, last time.Time
	for _, name := range []string{"lab-azure-exporter.logs.json", "lab-azure-exporter.traces.json", "lab-azure-exporter.metrics.json"} {
		body := fixture.AppInsights(t, "appinsights/"+name)
		f, l, err := fixture.AppInsightsRange(body)
		if err != nil {
			t.Fatal(err)
		}
		if first.IsZero() || f.Before(first) {
			first = f
		}
		if l.After(last) {
			last = l
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Post("http://"+a.HTTPAddr()+"//v2.1/track", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %s %s", name, resp.Status, b)
		}
	}
	// The capture's own time range (the envelopes carry their times; the
	// shifted run of make test moves them a year back).
	rng := "from=" + first.Add(-time.Minute).UTC().Format(time.RFC3339) + "&to=" + last.Add(time.Minute).UTC().Format(time.RFC3339)
	var ov overview
	getJSON(t, a, "/api/v1/overview?"+rng, &ov)
	if ov.Calls != 5 || ov.Errors != 1 || ov.InputTokens != 199 || ov.OutputTokens != 299 {
		t.Fatalf("overview = %+v, want 5 calls, 1 error, 199 + 299 tokens", ov)
	}
	var page struct {
		Spans []spanRow `json:"spans"`
	}
	getJSON(t, a, "/api/v1/spans?limit=10&"+rng, &page)
	withContent := 0
	for _, s := range page.Spans {
		if strings.Contains(s.System, "travel guide") && strings.Contains(s.Input, "camping") {
			withContent++
		}
		if s.Session == "" {
			t.Errorf("span %s has no session", s.SpanID)
		}
	}
	if withContent != 4 {
		t.Errorf("calls with system message and input = %d, want 4 (the error call's prompt is cut)", withContent)
	}
}

// TestSelfSignedHTTPS: with tls.self_signed the HTTP listener speaks
// HTTPS with a certificate kept in the data directory, which a client
// told to trust that file (as NODE_EXTRA_CA_CERTS does) accepts.
func TestSelfSignedHTTPS(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.Data, cfg.Listen, cfg.GRPCListen = dir, "127.0.0.1:0", ""
	cfg.TLS.SelfSigned = true
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	pemBytes, err := os.ReadFile(filepath.Join(dir, "tls", "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemBytes)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	body := fixture.AppInsights(t, "appinsights/lab-azure-exporter.traces.json")
	resp, err := client.Post("https://"+a.HTTPAddr()+"/v2.1/track", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HTTPS track: %s", resp.Status)
	}
	if _, err := http.Get("http://" + a.HTTPAddr() + "/healthz"); err == nil {
		// A plain-HTTP request to a TLS listener gets a 400 from net/http,
		// not a served page.
		resp, _ := http.Get("http://" + a.HTTPAddr() + "/healthz")
		if resp != nil && resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP served on the TLS listener")
		}
	}
}

// The API's JSON answers are gzipped when the client accepts it; OTLP and
// the dashboard's own files keep their encodings.
func TestAPIAnswersGzipped(t *testing.T) {
	a := startApp(t, t.TempDir())
	get := func(path, accept string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+a.HTTPAddr()+path, nil)
		req.Header.Set("Accept-Encoding", accept) // set by hand: the transport leaves the body encoded
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	// The pricing table is a few KB of JSON.
	resp, raw := get("/api/v1/pricing", "gzip")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("pricing with gzip accepted: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil || !json.Valid(plain) {
		t.Fatalf("gunzipped answer: %v %q", err, plain[:min(len(plain), 80)])
	}
	resp, same := get("/api/v1/pricing", "")
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Equal(same, plain) {
		t.Errorf("without gzip: encoding %q, %d bytes, want the %d bytes gunzipped", resp.Header.Get("Content-Encoding"), len(same), len(plain))
	}
	if len(raw)*2 > len(plain) {
		t.Errorf("gzip saved little: %d of %d bytes", len(raw), len(plain))
	}
}
