package jsonhttp

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGzip(t *testing.T) {
	big := map[string]string{"text": strings.Repeat("a long answer ", 200)}
	h := Gzip(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			Write(w, http.StatusOK, big)
		case "/small":
			Write(w, http.StatusOK, ErrorBody{Error: "short"})
		case "/error":
			Write(w, http.StatusBadRequest, big)
		case "/stream": // an export: no length, flushed as it goes
			w.Header().Set("Content-Type", "text/csv")
			_, _ = io.WriteString(w, "a,b\n")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, strings.Repeat("1,2\n", 500))
		}
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path, accept string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("Accept-Encoding", accept) // set by hand: the client then leaves the body as sent
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body io.Reader = resp.Body
		if resp.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(b)
	}
	resp, body := get("/big", "gzip, deflate, br")
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(body, "a long answer") || resp.Header.Get("Content-Length") == "3000" {
		t.Errorf("big JSON with gzip accepted: %v %q", resp.Header, body[:min(40, len(body))])
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("no Vary: %v", resp.Header)
	}
	if resp.ContentLength >= int64(len(body)) {
		t.Errorf("compressed length %d of %d bytes", resp.ContentLength, len(body))
	}
	for _, c := range []struct{ path, accept string }{
		{"/big", ""}, {"/big", "gzip;q=0"}, {"/big", "br"}, // not accepted
		{"/small", "gzip"}, {"/error", "gzip"}, // too small, or not a 200
		{"/stream", "gzip"}, // a stream
	} {
		resp, body := get(c.path, c.accept)
		if resp.Header.Get("Content-Encoding") != "" || body == "" {
			t.Errorf("%s with %q: encoded %q, %d bytes", c.path, c.accept, resp.Header.Get("Content-Encoding"), len(body))
		}
	}
}
