package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// openStore opens an empty DuckDB store, closed when the test ends, and
// the default price table.
func openStore(t *testing.T) (*duckdb.DB, *pricing.Table) {
	t.Helper()
	db, err := duckdb.Open(context.Background(), filepath.Join(t.TempDir(), "g.duckdb"), duckdb.Options{MemoryLimit: "256MB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	prices, err := pricing.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return db, prices
}

// TestParameterErrors: every endpoint answers a bad parameter with 400
// naming it, and a value holding ";" filters by that value (url.ParseQuery
// dropped the pair and answered unfiltered).
func TestParameterErrors(t *testing.T) {
	ctx := context.Background()
	db, prices := openStore(t)
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
	spans[1].Attributes = map[string]any{"http.route": "/a"}
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

	// The filter bar's parameters reach the store.
	for path, want := range map[string]int{
		"/api/v1/spans?from=1h&service_in=a&service_in=b":         2,
		"/api/v1/spans?from=1h&service_contains=%3B":              1,
		"/api/v1/spans?from=1h&service_in=a&service_contains=%3B": 2,
		"/api/v1/spans?from=1h&duration_ms_gt=999.5":              3,
		"/api/v1/spans?from=1h&duration_ms_lt=1e3":                0,
		"/api/v1/spans?from=1h&attr=http.route":                   1,
		"/api/v1/spans?from=1h&attr=http.route==/a":               1,
		"/api/v1/spans?from=1h&attr=http.route~=%2FA":             1,
		"/api/v1/spans?from=1h&attr=http.route==/b":               0,
	} {
		code, body := get(path)
		var page store.SpansPage
		if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Spans) != want {
			t.Errorf("GET %s: %d %s, want %d spans", path, code, body, want)
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
		{"/api/v1/overview?duration_ms_gt=NaN", "duration_ms_gt"},
		{"/api/v1/spans?cost_usd_lt=0x10", "cost_usd_lt"},
		{"/api/v1/spans?total_tokens_gt=1e999", "total_tokens_gt"},
		{"/api/v1/spans?total_tokens_gt=1&total_tokens_gt=2", "total_tokens_gt"},
		{"/api/v1/timeseries?ttft_ms_lt=abc", "ttft_ms_lt"},
		{"/api/v1/spans?service_contains=a&service_contains=b", "service_contains"},
		{"/api/v1/spans?model_in=" + strings.Repeat("m", 1001), "model_in"},
		{"/api/v1/breakdown?by=model&attr=%22quoted%22", "attr"},
		{"/api/v1/spans?attr=%3D%3Dx", "attr"}, // no key
		{"/api/v1/spans?attr=region~=", "attr"},
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

// TestAttrFilterPrivacy: without the content permission, or in a project
// keeping metadata only, an attribute filter on a key outside the
// metadata allowlist (or on a URL, whose query is content) is refused
// with 403 naming attr; metadata keys filter.
func TestAttrFilterPrivacy(t *testing.T) {
	ctx := context.Background()
	db, prices := openStore(t)
	start := time.Now().Add(-time.Minute)
	if err := db.Write(ctx, &store.Batch{Spans: []genai.Span{{Project: tenancy.DefaultProject, TraceID: genai.TraceID{1}, SpanID: genai.SpanID{2},
		Name: "chat", Operation: "chat", Service: "s", StartUnixNano: start.UnixNano(), DurationNano: int64(time.Second),
		Attributes: map[string]any{"app.secret_prompt": "the password is swordfish", "http.route": "/chat", "url.full": "https://x.test/?q=secret"}}}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name              string
		content, metaOnly bool
		attr              string
		want              int
	}{
		{"content", true, false, "app.secret_prompt~=swordfish", 200},
		{"no content permission", false, false, "app.secret_prompt~=swordfish", 403},
		{"no content permission, exists", false, false, "app.secret_prompt", 403},
		{"no content permission, URL", false, false, "url.full~=secret", 403},
		{"no content permission, metadata key", false, false, "http.route==/chat", 200},
		{"metadata project", true, true, "app.secret_prompt~=swordfish", 403},
		{"metadata project, metadata key", true, true, "http.route", 200},
	} {
		mux := http.NewServeMux()
		api.New(db, prices, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{
			Content:      func(*http.Request, string) bool { return c.content },
			MetadataOnly: func(string) bool { return c.metaOnly },
		}).Register(mux)
		srv := httptest.NewServer(mux)
		for _, ep := range []string{"/api/v1/spans", "/api/v1/overview", "/api/v1/export/spans"} {
			resp, err := http.Get(srv.URL + ep + "?from=1h&attr=" + url.QueryEscape(c.attr))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want || c.want == 403 && !strings.HasPrefix(string(b), `{"error":"attr: `) {
				t.Errorf("%s: GET %s attr=%s: %d %s, want %d", c.name, ep, c.attr, resp.StatusCode, b, c.want)
			}
		}
		srv.Close()
	}
}
