package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/store"
)

// discard is a Recorder that drops what it gets after the record is built.
type discard struct{}

func (discard) Enqueue(*store.Batch) bool { return true }

func benchEnv(b *testing.B, upstream http.Handler, change ...func(*Options)) (string, *http.Client) {
	up := httptest.NewServer(upstream)
	b.Cleanup(up.Close)
	opts := Options{Deployments: []Deployment{{Name: "gpt-4o", Type: DeploymentOpenAICompatible, BaseURL: up.URL}}}
	for _, f := range change {
		f(&opts)
	}
	gw, err := New(discard{}, opts,
		slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	gw.Register(mux)
	srv := httptest.NewServer(mux)
	b.Cleanup(srv.Close)
	return srv.URL + "/v1/chat/completions", &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

func BenchmarkProxy(b *testing.B) {
	for _, stream := range []bool{false, true} {
		b.Run("stream="+map[bool]string{false: "false", true: "true"}[stream], func(b *testing.B) {
			var body string
			up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				raw, _ := io.ReadAll(r.Body)
				if strings.Contains(string(raw), `"stream":true`) {
					w.Header().Set("Content-Type", "text/event-stream")
					_, _ = io.WriteString(w, sseBody(chunks(true)))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, upstreamAnswer)
			})
			url, c := benchEnv(b, up)
			body = `{"model":"gpt-4o","messages":[{"role":"system","content":"You are an AI assistant that acts as a travel guide."},{"role":"user","content":"What are some recommended supplies for a camping trip in the mountains?"}]`
			if stream {
				body += `,"stream":true`
			}
			body += "}"
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Post(url, "application/json", strings.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}

// BenchmarkBuildSpan is the record workers' cost per call.
func BenchmarkBuildSpan(b *testing.B) {
	g := &Gateway{opts: Options{Capture: privacy.Full, Service: "genscope-gateway"}}
	d, _ := newDeployment(Deployment{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: "http://x"}.WithDefaults())
	var evs []event
	var evBuf []byte
	for _, c := range chunks(true) {
		evs = append(evs, event{at: 1000, start: len(evBuf), end: len(evBuf) + len(c)})
		evBuf = append(evBuf, c...)
	}
	for _, stream := range []bool{false, true} {
		b.Run("stream="+map[bool]string{false: "false", true: "true"}[stream], func(b *testing.B) {
			c := &call{deployment: d, op: opChat, reqBody: []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are an AI assistant that acts as a travel guide."},{"role":"user","content":"What are some recommended supplies for a camping trip in the mountains?"}]}`), status: 200}
			if stream {
				c.stream, c.events, c.evBuf = true, evs, evBuf
			} else {
				c.respBody = []byte(upstreamAnswer)
			}
			b.ReportAllocs()
			var sp genai.Span
			for b.Loop() {
				sp = g.buildSpan(c)
			}
			_ = sp
		})
	}
}

func BenchmarkSSE(b *testing.B) {
	in := strings.Repeat(sseBody(chunks(true)), 16)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		sr := newSSEReader(strings.NewReader(in), 1<<20)
		for {
			raw, data, _, err := sr.next()
			_ = stripUsageEvent(raw, data)
			if err != nil {
				break
			}
		}
	}
}
