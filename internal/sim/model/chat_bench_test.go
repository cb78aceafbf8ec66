package model

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discard is a ResponseWriter that keeps nothing, so the benchmarks
// measure the handler alone.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}

func BenchmarkChat(b *testing.B) {
	m, err := New(Options{Model: "gpt-4o", NoLatency: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, stream := range []bool{false, true} {
		name := "stream=false"
		extra := map[string]any{}
		if stream {
			name = "stream=true"
			extra["stream"] = true
			extra["stream_options"] = map[string]any{"include_usage": true}
		}
		body := []byte(chatBody(b, extra, "system", labSystem, "user", labQuestion))
		b.Run(name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", nil)
			w := &discard{h: http.Header{}}
			r := bytes.NewReader(body)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(body)
				req.Body = io.NopCloser(r)
				clear(w.h)
				m.ServeHTTP(w, req)
			}
		})
	}
}

func BenchmarkCountChat(b *testing.B) {
	body := []byte(chatBody(b, nil, "system", labSystem, "user", labQuestion))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CountChat(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbeddings(b *testing.B) {
	m, err := New(Options{Model: "text-embedding-3-small", NoLatency: true})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"input":"The food was delicious and the waiter was friendly."}`)
	req := httptest.NewRequest(http.MethodPost, "/v1/embeddings", nil)
	w := &discard{h: http.Header{}}
	r := bytes.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		req.Body = io.NopCloser(r)
		m.ServeHTTP(w, req)
	}
}
