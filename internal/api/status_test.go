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

// testStore opens a DuckDB store in a temp dir (closed when the test
// ends) and the default price table.
func testStore(t *testing.T) (*duckdb.DB, *pricing.Table) {
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

func TestStatusAndSort(t *testing.T) {
	ctx := context.Background()
	db, prices := testStore(t)
	mux := http.NewServeMux()
	api.New(db, prices, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{GRPCListen: "127.0.0.1:4317", Deployments: []string{"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	get := func(path string, want int) []byte {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, b, want)
		}
		return b
	}
	var st api.Status
	if err := json.Unmarshal(get("/api/v1/status", 200), &st); err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(srv.URL, "http://")
	if st.HasData || st.LastSpanTime != nil || st.Endpoints.OpenAIBaseURL != srv.URL+"/v1" ||
		st.Endpoints.OTLPGRPC != "http://127.0.0.1:4317" || !strings.Contains(st.ConnectionString, "IngestionEndpoint="+srv.URL+"/") ||
		len(st.Deployments) != 3 || !st.Gateway || !strings.HasPrefix(host, "127.0.0.1:") {
		t.Errorf("empty status = %+v", st)
	}

	// With auth on, the instrumentation key is a secret issued per project:
	// no derived connection string is handed out.
	mux2 := http.NewServeMux()
	api.New(db, prices, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{KeysRequired: true}).Register(mux2)
	rec := httptest.NewRecorder()
	mux2.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/status", nil))
	var st2 api.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &st2); err != nil || !st2.KeysRequired || st2.ConnectionString != "" {
		t.Errorf("status with keys required: %v %s", err, rec.Body.Bytes())
	}

	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	var spans []genai.Span
	for i, d := range []time.Duration{3, 1, 2} {
		spans = append(spans, genai.Span{Project: tenancy.DefaultProject, TraceID: genai.TraceID{1, byte(i)}, SpanID: genai.SpanID{2, byte(i)},
			Name: "chat", Operation: "chat", StartUnixNano: start.Add(time.Duration(i) * time.Second).UnixNano(), DurationNano: int64(d * time.Second),
			Usage: genai.Usage{InputTokens: int64(10 * i)}})
	}
	if err := db.Write(ctx, &store.Batch{Spans: spans}); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(get("/api/v1/status", 200), &st); err != nil {
		t.Fatal(err)
	}
	if !st.HasData || st.LastSpanTime == nil || !st.LastSpanTime.Equal(start.Add(2*time.Second)) {
		t.Errorf("status = %+v, want the newest span's time %v", st, start.Add(2*time.Second))
	}

	order := func(sort string) string {
		var p store.SpansPage
		if err := json.Unmarshal(get("/api/v1/spans?from=1h&sort="+sort, 200), &p); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range p.Spans {
			ids = append(ids, s.SpanID[2:4])
		}
		return strings.Join(ids, ",")
	}
	for sort, want := range map[string]string{"time": "02,01,00", "duration": "00,02,01", "tokens": "02,01,00"} {
		if got := order(sort); got != want {
			t.Errorf("sort=%s: %s, want %s", sort, got, want)
		}
	}
	if b := get("/api/v1/spans?sort=cost", 400); !strings.Contains(string(b), `"sort: `) {
		t.Errorf("sort=cost: %s", b)
	}
	p1 := get("/api/v1/spans?from=1h&sort=duration&limit=1", 200)
	var page store.SpansPage
	_ = json.Unmarshal(p1, &page)
	if page.NextCursor == "" {
		t.Fatal("no cursor")
	}
	get("/api/v1/spans?from=1h&sort=time&limit=1&cursor="+page.NextCursor, 400)
	get("/api/v1/spans?from=1h&sort=duration&limit=1&cursor="+page.NextCursor, 200)
}
