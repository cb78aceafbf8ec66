package api_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/api"
	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tenancy"
)

// TestExport: the spans table, a session and a trace as CSV, JSON Lines
// and Parquet, with the filters, every page (more rows than one store
// query reads), and no content for a reader without the permission.
func TestExport(t *testing.T) {
	ctx := context.Background()
	db, prices := testStore(t)
	content := true
	mux := http.NewServeMux()
	api.New(db, prices, slog.New(slog.NewTextHandler(io.Discard, nil)), api.Options{Content: func(*http.Request, string) bool { return content }}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// 2,500 calls (three store pages) in two sessions; every tenth an
	// error; the first trace has a parent span and a formula-like input.
	const n = 2500
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var spans []genai.Span
	for i := range n {
		s := genai.Span{Project: tenancy.DefaultProject, TraceID: genai.TraceID{1, byte(i >> 8), byte(i)}, SpanID: genai.SpanID{2, byte(i >> 8), byte(i)},
			Name: "chat gpt-4o", Service: "svc", Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", Status: genai.StatusOK,
			StartUnixNano: start.Add(time.Duration(i) * time.Millisecond).UnixNano(), DurationNano: int64(time.Duration(i+1) * time.Millisecond),
			Usage: genai.Usage{InputTokens: 10, OutputTokens: 20}, SessionID: []string{"s-even", "s-odd"}[i%2],
			SystemInstructions: []genai.Part{{Type: "text", Content: "be brief"}},
			InputMessages:      []genai.Message{{Role: "user", Parts: []genai.Part{{Type: "text", Content: "question, \"quoted\"\nline two"}}}},
			OutputMessages:     []genai.Message{{Role: "assistant", Parts: []genai.Part{{Type: "text", Content: "answer " + strings.Repeat("x", 400)}}}}}
		if i%10 == 0 {
			s.Status = genai.StatusError
		}
		if i == 0 {
			s.ParentSpanID = genai.SpanID{9}
			s.InputMessages[0].Parts[0].Content = "=HYPERLINK(\"http://evil\")"
			spans = append(spans, genai.Span{Project: tenancy.DefaultProject, TraceID: s.TraceID, SpanID: s.ParentSpanID, Name: "agent", Service: "svc",
				StartUnixNano: s.StartUnixNano - 1e6, DurationNano: s.DurationNano + 2e6})
		}
		spans = append(spans, s)
	}
	if err := db.Write(ctx, &store.Batch{Spans: spans}); err != nil {
		t.Fatal(err)
	}

	get := func(path string, want int) (*http.Response, []byte) {
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
		return resp, b
	}
	readCSV := func(path string) [][]string {
		t.Helper()
		resp, b := get(path, 200)
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), ".csv") {
			t.Errorf("%s: %s, %s", path, ct, resp.Header.Get("Content-Disposition"))
		}
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return rows
	}

	// The spans table: every call once, with the columns named.
	rows := readCSV("/api/v1/export/spans?from=2h&format=csv")
	if len(rows) != n+1 || rows[0][0] != "trace_id" || rows[0][len(rows[0])-1] != "output" {
		t.Fatalf("spans CSV: %d rows, header %q", len(rows), rows[0])
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if seen[r[1]] {
			t.Fatalf("span %s twice", r[1])
		}
		seen[r[1]] = true
	}
	last := rows[n]
	if last[20] != "'=HYPERLINK(\"http://evil\")" {
		t.Errorf("a formula-like input is exported as %q, want it defused with a leading apostrophe", last[20])
	}
	// Filters apply; all adds the parent span.
	if rows := readCSV("/api/v1/export/spans?from=2h&status=error"); len(rows) != n/10+1 {
		t.Errorf("status=error: %d rows, want %d", len(rows)-1, n/10)
	}
	if rows := readCSV("/api/v1/export/spans?from=2h&all=true"); len(rows) != n+2 {
		t.Errorf("all=true: %d rows, want %d", len(rows)-1, n+1)
	}
	// sort=duration: slowest first.
	if rows := readCSV("/api/v1/export/spans?from=2h&sort=duration"); rows[1][8] != "2500" {
		t.Errorf("sort=duration: first row's duration %s", rows[1][8])
	}

	// JSON Lines: one span summary a line.
	_, b := get("/api/v1/export/spans?from=2h&format=jsonl&session=s-odd", 200)
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s store.SpanSummary
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("line %d: %v", lines+1, err)
		}
		if s.Session != "s-odd" || !strings.HasPrefix(s.Output, "answer ") {
			t.Fatalf("line %d: %+v", lines+1, s)
		}
		lines++
	}
	if lines != n/2 {
		t.Errorf("session filter: %d lines, want %d", lines, n/2)
	}

	// A session's calls.
	if rows := readCSV("/api/v1/export/sessions/s-even?from=2h"); len(rows) != n/2+1 {
		t.Errorf("session export: %d rows, want %d", len(rows)-1, n/2)
	}

	// A trace: parent first, whole messages (not previews).
	tid := rows[n][0]
	trows := readCSV("/api/v1/export/traces/" + tid)
	if len(trows) != 3 || trows[1][4] != "agent" || trows[2][2] != trows[1][1] || len(trows[2][21]) != len("answer ")+400 {
		t.Errorf("trace CSV: %q", trows)
	}
	_, b = get("/api/v1/export/traces/"+tid+"?format=jsonl", 200)
	var line struct {
		SpanID string     `json:"span_id"`
		Span   genai.Span `json:"span"`
	}
	if err := json.Unmarshal(bytes.SplitN(b, []byte("\n"), 3)[1], &line); err != nil || line.Span.OutputMessages == nil || line.Span.Usage.OutputTokens != 20 {
		t.Errorf("trace JSONL second line: %v %s", err, b)
	}

	// Parquet, read back with DuckDB.
	resp, b := get("/api/v1/export/spans?from=2h&format=parquet&status=error", 200)
	if !bytes.HasPrefix(b, []byte("PAR1")) || !strings.Contains(resp.Header.Get("Content-Disposition"), ".parquet") {
		t.Fatalf("parquet: %q…", b[:min(len(b), 16)])
	}
	pq := filepath.Join(t.TempDir(), "x.parquet")
	if err := os.WriteFile(pq, b, 0o600); err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var count, tokens int64
	var status string
	if err := conn.QueryRow(`SELECT count(*), sum(input_tokens + output_tokens), min(status) FROM read_parquet('`+pq+`')`).Scan(&count, &tokens, &status); err != nil {
		t.Fatal(err)
	}
	if count != n/10 || tokens != 30*n/10 || status != "error" {
		t.Errorf("parquet: %d rows, %d tokens, status %s", count, tokens, status)
	}

	// Without the content permission: the rows, but no message text.
	content = false
	for _, r := range readCSV("/api/v1/export/traces/" + tid)[1:] {
		if r[19] != "" || r[20] != "" || r[21] != "" {
			t.Errorf("content without the permission: %q", r)
		}
	}
	for _, r := range readCSV("/api/v1/export/spans?from=2h")[1:] {
		if r[19] != "" || r[20] != "" || r[21] != "" {
			t.Fatalf("content without the permission: %q", r)
		}
	}
	get("/api/v1/export/spans?from=2h&q=answer", 403)
	content = true

	// Bad input: a clear 400 (or 404) and nothing half-written.
	for path, want := range map[string]int{
		"/api/v1/export/spans?format=xlsx":                                      400,
		"/api/v1/export/spans?from=nonsense":                                    400,
		"/api/v1/export/spans?all=maybe":                                        400,
		"/api/v1/export/traces/xyz":                                             400,
		"/api/v1/export/traces/00000000000000000000000000000042?a=b":            404,
		"/api/v1/export/traces/00000000000000000000000000000042?format=parquet": 404,
	} {
		resp, b := get(path, want)
		if resp.Header.Get("Content-Disposition") != "" || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s: %s %q", path, resp.Header.Get("Content-Disposition"), b)
		}
	}
}
