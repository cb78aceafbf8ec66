package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/api"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/duckdb"
	"github.com/genscope/genscope/internal/tenancy"
)

// TestParameterErrors: every endpoint answers a bad parameter with 400
// naming it, and a value holding ";" filters by that value (url.ParseQuery
// dropped the pair and answered unfiltered).
func TestParameterErrors(t *testing.T) {
	ctx := context.Background()
	db, err := duckdb.Open(ctx, filepath.Join(t.TempDir(), "g.duckdb"), duckdb.Options{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	prices, err := pricing.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.New(db, prices, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	start := time.Now().Add(-time.Minute)
	var spans []genai.Span
	for i, svc := range []string{"a;b", "a", "b"} {
		spans = append(spans, genai.Span{Project: tenancy.DefaultProject, TraceID: genai.TraceID{1, byte(i)}, SpanID: genai.SpanID{2, byte(i)},
			Name: "chat", Operation: "chat", Service: svc, StartUnixNano: start.UnixNano(), DurationNano: int64(time.Second)})
	}
	if err := db.Write(ctx, &store.Batch{Spans: spans}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	for _, svc := range []string{"a;b", "a%3Bb"} {
		code, body := get("/api/v1/spans?from=1h&service=" + svc)
		var page store.SpansPage
		if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Spans) != 1 || page.Spans[0].Service != "a;b" {
			t.Errorf("service=%s: %d %s, want the one span of service a;b", svc, code, body)
		}
	}

	for _, tc := range []struct{ path, param string }{
		{"/api/v1/overview?from=NaNd", "from"},
		{"/api/v1/overview?from=Infd", "from"},
		{"/api/v1/overview?to=1e400d", "to"},
		{"/api/v1/overview?from=-1h", "from"},
		{"/api/v1/overview?from=9223372036854775807", "from"},
		{"/api/v1/overview?from=1h&from=2h", "from"},
		{"/api/v1/overview?service=%zz", "service"},
		{"/api/v1/overview?service=a&service=b", "service"},
		{"/api/v1/timeseries?interval=NaNd", "interval"},
		{"/api/v1/timeseries?interval=1h&interval=1m", "interval"},
		{"/api/v1/timeseries?metric=calls&metric=errors", "metric"},
		{"/api/v1/breakdown?by=model&by=user", "by"},
		{"/api/v1/breakdown?by=model&limit=99999999999999999999", "limit"},
		{"/api/v1/spans?limit=-1", "limit"},
		{"/api/v1/spans?sort=time&sort=tokens", "sort"},
		{"/api/v1/spans?all=1&all=0", "all"},
		{"/api/v1/sessions?cursor=a&cursor=b", "cursor"},
		{"/api/v1/sessions/s1?from=NaNw", "from"},
		{"/api/v1/pricing/unknown?to=Infw", "to"},
	} {
		code, body := get(tc.path)
		var eb struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(body), &eb); code != 400 || err != nil || !strings.HasPrefix(eb.Error, tc.param+": ") {
			t.Errorf("GET %s: %d %s, want 400 naming %s", tc.path, code, body, tc.param)
		}
	}
}
