package web

import (
	"bytes"
	"embed"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/jsonhttp"
)

// dist holds the built front end; a fresh clone has only a placeholder in it.
//
//go:embed all:dist
var dist embed.FS

// CSP is the Content Security Policy of every page: scripts, styles,
// fonts and API calls from genscope itself only.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Pages are the paths of the dashboard's pages, routed in the browser. They
// are listed rather than caught with "/", so that other paths keep the
// mux's answers (404, or 405 for GET /v1/traces).
var Pages = []string{"/{$}", "/overview", "/spans", "/traces/{trace_id}", "/sessions", "/sessions/{session_id...}", "/users", "/agents", "/accounts", "/connect", "/alerts",
	"/alerts/fired", "/alerts/history", "/alerts/rules/{id}", "/alerts/action-groups", "/alerts/action-groups/{id}", "/projects", "/projects/{name}", "/setup"}

// Options configure the UI.
type Options struct {
	// Log receives a warning at start when the front end is not built;
	// nil discards it.
	Log *slog.Logger
	// FS replaces the embedded dist directory (tests); nil means embedded.
	FS fs.FS
}

// UI serves the dashboard.
type UI struct {
	files          fs.FS // the dist directory
	index, indexGz []byte
}

// New returns the UI over the embedded front end.
func New(opts Options) *UI {
	files := opts.FS
	if files == nil {
		sub, err := fs.Sub(dist, "dist")
		if err != nil {
			panic(err) // the embed directive guarantees dist exists
		}
		files = sub
	}
	u := &UI{files: files}
	u.index, _ = fs.ReadFile(files, "index.html")
	u.indexGz, _ = fs.ReadFile(files, "index.html.gz")
	if u.index == nil && opts.Log != nil {
		opts.Log.Warn("the dashboard is not built; run make build", "hint", "npm ci && npm run build in web/")
	}
	return u
}

// Built reports whether the front end was built into the binary.
func (u *UI) Built() bool { return u.index != nil }

// Register adds the dashboard to mux: /assets/ and every page path.
func (u *UI) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /assets/", u.asset)
	for _, p := range Pages {
		mux.HandleFunc("GET "+p, u.page)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { notFound(mux, w, r) })
}

// notFound answers a request nothing else serves as the mux would (405
// when another method has a handler there, 404 otherwise), with an HTML
// page for browsers instead of the mux's plain text.
func notFound(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if m == r.Method || (m == http.MethodGet && r.Method == http.MethodHead) {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pat := mux.Handler(r2); pat != "" && pat != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !strings.Contains(r.Header.Get("Accept"), "text/html") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(notFoundPage))
}

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}

// page answers the dashboard's pages (routed in the browser) with index.html.
func (u *UI) page(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	securityHeaders(h)
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Type", "text/html; charset=utf-8")
	if u.index == nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(notBuilt))
		return
	}
	body := u.index
	h.Add("Vary", "Accept-Encoding")
	if u.indexGz != nil && jsonhttp.AcceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = u.indexGz
	}
	http.ServeContent(w, r, "index.html", time.Time{}, bytes.NewReader(body))
}

// asset answers /assets/NAME: content-hashed names, cached for a year.
func (u *UI) asset(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name != path.Clean(name) || strings.HasSuffix(name, ".gz") || !fs.ValidPath(name) {
		http.NotFound(w, r)
		return
	}
	body, err := fs.ReadFile(u.files, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	securityHeaders(h)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Add("Vary", "Accept-Encoding")
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	if jsonhttp.AcceptsGzip(r) {
		if gz, err := fs.ReadFile(u.files, name+".gz"); err == nil {
			h.Set("Content-Encoding", "gzip")
			body = gz
		}
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
}

// notFoundPage is what a browser gets for a path that is no page: it works
// without the dashboard's script and style (and within the CSP).
const notFoundPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Not found · genscope</title></head>
<body>
<main>
<h1>Not found</h1>
<p>genscope has no page at this address.</p>
<ul>
<li><a href="/">Overview</a></li>
<li><a href="/spans">Gen AI spans</a></li>
<li><a href="/connect">Connect an application</a></li>
</ul>
<p>The JSON API is under <a href="/api/v1/status">/api/v1/</a>.</p>
</main>
</body></html>
`

const notBuilt = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>genscope: UI not built</title></head>
<body>
<h1>UI not built: run make build</h1>
<p>This genscope binary was built without its dashboard. Build it with <code>make build</code>
(or <code>make run</code>), which runs <code>npm ci</code> and <code>npm run build</code> in <code>web/</code> before <code>go build</code>.</p>
<p>Everything else works: the JSON API is under <a href="/api/v1/overview">/api/v1/</a>, telemetry goes to <code>/v1/traces</code>.</p>
</body></html>
`
