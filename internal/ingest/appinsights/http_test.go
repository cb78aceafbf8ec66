package appinsights

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/genscope/genscope/internal/recorder"
	"github.com/genscope/genscope/internal/store"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sink records what it is given, or fails with err.
type sink struct {
	mu      sync.Mutex
	err     error
	batches []*store.Batch
}

func (s *sink) Submit(_ context.Context, b *store.Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.batches = append(s.batches, b)
	return nil
}

func (s *sink) counts() (spans, msgs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.batches {
		spans += len(b.Spans)
		msgs += len(b.Messages)
	}
	return spans, msgs
}

// server runs a Receiver behind a real ServeMux and Wrap.
func server(t *testing.T, sk *sink, opts Options) *httptest.Server {
	t.Helper()
	r, err := New(sk, opts, nil, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	r.Register(mux)
	srv := httptest.NewServer(r.Wrap(mux))
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	code       int
	retryAfter string
	resp       response
}

func post(t *testing.T, srv *httptest.Server, path string, body []byte, encoding string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	a := answer{code: res.StatusCode, retryAfter: res.Header.Get("Retry-After")}
	if err := json.Unmarshal(b, &a.resp); err != nil {
		t.Fatalf("answer %d %q: %v", res.StatusCode, b, err)
	}
	return a
}

const dep = `{"ver":1,"name":"x","time":"2026-11-26T21:24:39.336Z","iKey":"k",` +
	`"tags":{"ai.operation.id":"78759b389a0bfed04a57c55069337372","ai.operation.parentId":"6e26e7ca8a047a0d","ai.cloud.role":"svc"},` +
	`"data":{"baseType":"RemoteDependencyData","baseData":{"id":"34fd5a2f6b415c6d","name":"chat gpt-4o","duration":"00:00:01.5","success":true,` +
	`"properties":{"gen_ai.operation.name":"chat","gen_ai.request.model":"gpt-4o","gen_ai.usage.input_tokens":"46","gen_ai.response.finish_reasons":"('stop',)"}}}}`

func TestTrack(t *testing.T) {
	fixture := readFixture(t, "lab-azure-exporter.traces.json")
	var gz, zl, raw bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(fixture)
	zw.Close()
	lw := zlib.NewWriter(&zl)
	lw.Write(fixture)
	lw.Close()
	fw, _ := flate.NewWriter(&raw, flate.BestSpeed)
	fw.Write(fixture)
	fw.Close()
	lower := strings.NewReplacer(`"iKey"`, `"ikey"`, `"baseType"`, `"basetype"`, `"baseData"`, `"BASEDATA"`, `"ai.operation.id"`, `"AI.Operation.Id"`).Replace(dep)

	for _, tt := range []struct {
		name, path, encoding string
		body                 []byte
		code, items, spans   int
	}{
		{"fixture", "/v2.1/track", "", fixture, 200, 12, 10},
		{"v2", "/v2/track", "", fixture, 200, 12, 10},
		{"double slash", "//v2.1/track", "", fixture, 200, 12, 10},
		{"triple slash v2", "///v2/track", "", fixture, 200, 12, 10},
		{"gzip", "/v2.1/track", "gzip", gz.Bytes(), 200, 12, 10},
		{"deflate", "/v2.1/track", "deflate", zl.Bytes(), 200, 12, 10},
		{"raw deflate", "/v2.1/track", "deflate", raw.Bytes(), 200, 12, 10},
		{"single object", "/v2.1/track", "", []byte(dep), 200, 1, 1},
		{"ndjson", "/v2.1/track", "", []byte(dep + "\n" + dep + "\n"), 200, 2, 2},
		{"lowercase names", "/v2.1/track", "", []byte(lower), 200, 1, 1},
		{"bad item", "/v2.1/track", "", []byte("[" + dep + `,{"time":"x","data":{"baseType":"RequestData"}},` + dep + "]"), 206, 3, 2},
		{"bad line", "/v2.1/track", "", []byte(dep + "\n{oops\n"), 206, 2, 1},
		{"malformed", "/v2.1/track", "", []byte(`[{"time":`), 400, 0, 0},
		{"all bad", "/v2.1/track", "", []byte(`[{"time":"x"}]`), 400, 1, 0},
		{"bad gzip", "/v2.1/track", "gzip", []byte("not gzip"), 400, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sk := &sink{}
			a := post(t, server(t, sk, Options{}), tt.path, tt.body, tt.encoding)
			if a.code != tt.code || a.resp.ItemsReceived != tt.items {
				t.Fatalf("got %d %+v, want %d with %d items", a.code, a.resp, tt.code, tt.items)
			}
			if spans, _ := sk.counts(); spans != tt.spans {
				t.Errorf("stored %d spans, want %d", spans, tt.spans)
			}
			if tt.code == 206 && (len(a.resp.Errors) != 1 || a.resp.Errors[0].StatusCode != 400 || a.resp.ItemsAccepted != tt.items-1) {
				t.Errorf("partial answer %+v", a.resp)
			}
		})
	}
}

func TestTrackSpanFields(t *testing.T) {
	sk := &sink{}
	if a := post(t, server(t, sk, Options{}), "/v2.1/track", []byte(dep), ""); a.code != 200 {
		t.Fatalf("got %d", a.code)
	}
	s := sk.batches[0].Spans[0]
	if s.DurationNano != int64(1500*time.Millisecond) || s.Usage.InputTokens != 46 || s.Service != "svc" ||
		len(s.FinishReasons) != 1 || s.FinishReasons[0] != "stop" || s.Kind != "client" || s.TraceID.String() != "78759b389a0bfed04a57c55069337372" {
		t.Errorf("span %+v", s)
	}
}

func TestTrackProjects(t *testing.T) {
	sk := &sink{}
	srv := server(t, sk, Options{ProjectFor: func(ikey string) (string, error) {
		if ikey == "k" {
			return "p1", nil
		}
		return "", errUnknownKey
	}})
	if a := post(t, srv, "/v2.1/track", []byte(dep), ""); a.code != 200 || sk.batches[0].Spans[0].Project != "p1" {
		t.Errorf("known key: %d", a.code)
	}
	other := strings.Replace(dep, `"iKey":"k"`, `"iKey":"nope"`, 1)
	if a := post(t, srv, "/v2.1/track", []byte(other), ""); a.code != 400 {
		t.Errorf("unknown key: got %d, want 400", a.code)
	}
}

var errUnknownKey = &keyError{}

type keyError struct{}

func (*keyError) Error() string { return "unknown key" }

func TestTrackSinkRefuses(t *testing.T) {
	for _, err := range []error{recorder.ErrFull, recorder.ErrClosed, recorder.ErrStore} {
		sk := &sink{err: err}
		a := post(t, server(t, sk, Options{RetryAfter: 1500 * time.Millisecond}), "/v2.1/track", []byte(dep), "")
		if a.code != 503 || a.retryAfter != "2" || a.resp.ItemsAccepted != 0 {
			t.Errorf("%v: got %d, Retry-After %q, %+v", err, a.code, a.retryAfter, a.resp)
		}
	}
}

func TestTrackTooLarge(t *testing.T) {
	// A gzip bomb: 16 MiB of zeros in about 16 KiB, against a 256 KiB limit.
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zeros := make([]byte, 1<<20)
	for range 16 {
		zw.Write(zeros)
	}
	zw.Close()
	sk := &sink{}
	srv := server(t, sk, Options{MaxBodyBytes: 256 << 10})
	start := time.Now()
	if a := post(t, srv, "/v2.1/track", gz.Bytes(), "gzip"); a.code != 413 {
		t.Errorf("gzip bomb: got %d, want 413", a.code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gzip bomb took %v", d)
	}
	if a := post(t, srv, "/v2.1/track", bytes.Repeat([]byte(" "), 1<<20), ""); a.code != 413 {
		t.Errorf("large body: got %d, want 413", a.code)
	}
}

func TestTrackTruncatedPython(t *testing.T) {
	// The Python exporter: the message is the event name, the content is a
	// property, cut at 8192 characters.
	content := `{"content":"` + strings.Repeat("a", 8192-len(`{"content":"`))
	prop, _ := json.Marshal(content)
	item := `{"time":"2026-11-26T21:24:39.336Z","iKey":"k","tags":{"ai.operation.id":"78759b389a0bfed04a57c55069337372","ai.operation.parentId":"34fd5a2f6b415c6d"},` +
		`"data":{"baseType":"MessageData","baseData":{"message":"gen_ai.user.message","properties":{"gen_ai.event.content":` + string(prop) + `}}}}`
	sk := &sink{}
	if a := post(t, server(t, sk, Options{}), "/v2.1/track", []byte(item), ""); a.code != 200 {
		t.Fatalf("got %d", a.code)
	}
	recs := sk.batches[0].Messages
	if len(recs) != 1 || !recs[0].Truncated || recs[0].Message.Parts[0].Content != content || recs[0].SpanID.String() != "34fd5a2f6b415c6d" {
		t.Errorf("records %+v", recs)
	}
}
