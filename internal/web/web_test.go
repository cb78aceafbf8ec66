package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/genscope/genscope/internal/web"
)

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Bytes()
}

func serve(files fs.FS) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "api", http.StatusTeapot) })
	web.New(web.Options{FS: files}).Register(mux)
	return httptest.NewServer(mux)
}

type result struct {
	code int
	h    http.Header
	body string
}

func get(t *testing.T, srv *httptest.Server, method, path, enc string) result {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	if enc != "" {
		req.Header.Set("Accept-Encoding", enc)
	}
	// A transport that does not decompress on its own.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{resp.StatusCode, resp.Header, string(b)}
}

func TestServe(t *testing.T) {
	const index = `<!doctype html><script type="module" src="/assets/main-ABC.js"></script>`
	srv := serve(fstest.MapFS{
		"index.html":             {Data: []byte(index)},
		"index.html.gz":          {Data: gz(index)},
		"assets/main-ABC.js":     {Data: []byte("console.log(1)")},
		"assets/main-ABC.js.gz":  {Data: gz("console.log(1)")},
		"assets/main-DEF.css":    {Data: []byte("body{}")},
		"assets/uncompressed.js": {Data: []byte("1")},
	})
	defer srv.Close()

	// Every page path of the dashboard answers index.html, not cached, with the CSP.
	for _, p := range []string{"/", "/overview", "/spans", "/traces/0123456789abcdef0123456789abcdef", "/sessions", "/sessions/s.1", "/sessions/a/b", "/users", "/agents", "/accounts", "/connect", "/alerts",
		"/alerts/fired", "/alerts/history", "/alerts/rules/new", "/alerts/rules/abc123", "/alerts/action-groups", "/alerts/action-groups/new", "/projects", "/projects/team-a"} {
		r := get(t, srv, "GET", p, "")
		if r.code != 200 || r.body != index || r.h.Get("Content-Type") != "text/html; charset=utf-8" ||
			r.h.Get("Cache-Control") != "no-cache" || r.h.Get("Content-Security-Policy") != web.CSP {
			t.Errorf("GET %s = %d %q %v", p, r.code, r.body, r.h)
		}
	}
	if r := get(t, srv, "GET", "/spans", "gzip, deflate, br"); r.code != 200 || r.h.Get("Content-Encoding") != "gzip" || r.body != string(gz(index)) {
		t.Errorf("gzip index: %d %v", r.code, r.h)
	}
	if r := get(t, srv, "HEAD", "/", ""); r.code != 200 || r.body != "" {
		t.Errorf("HEAD / = %d %q", r.code, r.body)
	}
	if r := get(t, srv, "POST", "/spans", ""); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST /spans = %d", r.code)
	}
	// Other handlers' paths and file-like paths are not the dashboard.
	for _, p := range []string{"/unknown", "/v1/nothing", "/v2/track/x", "/openai/deployments", "/favicon.ico", "/assets/missing.js", "/assets/main-ABC.js.gz"} {
		if r := get(t, srv, "GET", p, "gzip"); r.code != 404 {
			t.Errorf("GET %s = %d, want 404", p, r.code)
		}
	}
	if r := get(t, srv, "GET", "/api/v1/overview", ""); r.code != http.StatusTeapot {
		t.Errorf("the API's paths went to the UI: %d", r.code)
	}

	// Assets: immutable, precompressed when accepted.
	r := get(t, srv, "GET", "/assets/main-ABC.js", "gzip")
	if r.code != 200 || r.h.Get("Content-Encoding") != "gzip" || r.body != string(gz("console.log(1)")) ||
		!strings.HasPrefix(r.h.Get("Content-Type"), "text/javascript") || !strings.Contains(r.h.Get("Cache-Control"), "immutable") ||
		r.h.Get("Vary") != "Accept-Encoding" {
		t.Errorf("gzip asset: %d %v", r.code, r.h)
	}
	r = get(t, srv, "GET", "/assets/main-ABC.js", "identity")
	if r.code != 200 || r.h.Get("Content-Encoding") != "" || r.body != "console.log(1)" {
		t.Errorf("plain asset: %d %v %q", r.code, r.h, r.body)
	}
	if r = get(t, srv, "GET", "/assets/main-ABC.js", "gzip;q=0"); r.h.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 got gzip")
	}
	if r = get(t, srv, "GET", "/assets/main-DEF.css", "gzip"); r.code != 200 || r.h.Get("Content-Encoding") != "" || !strings.HasPrefix(r.h.Get("Content-Type"), "text/css") {
		t.Errorf("css without .gz: %d %v", r.code, r.h)
	}
}

func TestNotBuilt(t *testing.T) {
	srv := serve(fstest.MapFS{"placeholder.txt": {Data: []byte("x")}})
	defer srv.Close()
	r := get(t, srv, "GET", "/", "")
	if r.code != http.StatusServiceUnavailable || !strings.Contains(r.body, "UI not built: run make build") {
		t.Errorf("GET / before the build = %d %q", r.code, r.body)
	}
	if web.New(web.Options{FS: fstest.MapFS{}}).Built() {
		t.Error("Built() with no index.html")
	}
}

// TestSizeBudget: the JavaScript and CSS shipped weigh under 300 KB
// compressed, and every one has its precompressed copy.
func TestSizeBudget(t *testing.T) {
	requireBuilt(t)
	const budget = 300 << 10
	var total int64
	files, _ := filepath.Glob("dist/assets/*")
	n := 0
	for _, f := range files {
		if !strings.HasSuffix(f, ".js") && !strings.HasSuffix(f, ".css") {
			continue
		}
		n++
		st, err := os.Stat(f + ".gz")
		if err != nil {
			t.Errorf("%s has no .gz copy", f)
			continue
		}
		total += st.Size()
	}
	if n < 2 {
		t.Fatalf("%d JS/CSS files in dist/assets, want the bundle and its styles", n)
	}
	t.Logf("JS+CSS: %d files, %.1f KB gzip (budget %d KB)", n, float64(total)/1024, budget>>10)
	if total >= budget {
		t.Errorf("JS+CSS weigh %d bytes gzip, over the %d budget", total, budget)
	}
	if !web.New(web.Options{}).Built() {
		t.Error("dist/index.html exists but the embedded UI is not built")
	}
}

// TestAppRoutes: in the whole app, the dashboard's pages sit beside the
// API and the receivers without taking their paths.
func TestAppRoutes(t *testing.T) {
	base := startApp(t)
	f := func(method, path string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s %s = %d, want %d", method, path, resp.StatusCode, want)
		}
	}
	page := http.StatusOK
	if !web.New(web.Options{}).Built() {
		page = http.StatusServiceUnavailable
	}
	f("GET", "/", page)
	f("GET", "/spans", page)
	f("GET", "/traces/0123456789abcdef0123456789abcdef", page)
	f("GET", "/v1/traces", http.StatusMethodNotAllowed)
	f("GET", "/api/v1/nothing", http.StatusNotFound)
	f("GET", "/api/v1/status", http.StatusOK)
	f("GET", "/healthz", http.StatusOK)
	f("GET", "/nothing", http.StatusNotFound)
	f("POST", "/spans", http.StatusMethodNotAllowed)

	// A browser asking for a path that is no page gets an HTML 404 with
	// links to the pages; other clients the mux's plain text.
	for _, c := range []struct{ accept, ctype, body string }{
		{"text/html,application/xhtml+xml", "text/html", "<h1>Not found</h1>"},
		{"*/*", "text/plain", "404 page not found"},
	} {
		req, _ := http.NewRequest("GET", base+"/no/such/page", nil)
		req.Header.Set("Accept", c.accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(b), c.body) {
			t.Errorf("GET /no/such/page (Accept %s) = %d %s %q", c.accept, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
}

// TestBundleBudget: the dashboard's JavaScript and CSS stay under 150 KB
// gzipped (issue 18), measured on the gzip copies the build writes and
// the server sends.
func TestBundleBudget(t *testing.T) {
	requireBuilt(t)
	const budget = 150 << 10
	var total int64
	for _, pat := range []string{"dist/assets/*.js.gz", "dist/assets/*.css.gz"} {
		ms, err := filepath.Glob(pat)
		if err != nil || len(ms) == 0 {
			t.Fatalf("no %s (%v): run make ui", pat, err)
		}
		for _, m := range ms {
			st, err := os.Stat(m)
			if err != nil {
				t.Fatal(err)
			}
			total += st.Size()
		}
	}
	t.Logf("JS+CSS: %.1f KB gzip", float64(total)/1024)
	if total > budget {
		t.Errorf("JS+CSS are %.1f KB gzip, over the %d KB budget", float64(total)/1024, budget>>10)
	}
}
