package jsonhttp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRoutes: a handler's answer is written as JSON, its error goes
// through errorStatus, and each request carries the deadline.
func TestRoutes(t *testing.T) {
	rs := Routes{
		{Pattern: "GET /ok", F: func(r *http.Request) (int, any, error) {
			d, ok := r.Context().Deadline()
			return 200, map[string]bool{"deadline": ok && time.Until(d) <= time.Second}, nil
		}},
		{Pattern: "POST /bad", F: func(*http.Request) (int, any, error) { return 0, nil, errors.New("no such thing") }},
	}
	mux := http.NewServeMux()
	rs.Register(mux, time.Second, func(_ *http.Request, err error) (int, any) { return 404, ErrorBody{Error: err.Error()} })
	for _, c := range []struct{ method, path, want string }{
		{"GET", "/ok", `{"deadline":true}`},
		{"POST", "/bad", `{"error":"no such thing"}`},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if got := strings.TrimSpace(w.Body.String()); got != c.want || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s (%s), want %s", c.method, c.path, w.Code, got, w.Header().Get("Content-Type"), c.want)
		}
	}
	if got := rs.Patterns(); !slices.Equal(got, []string{"GET /ok", "POST /bad"}) {
		t.Errorf("patterns %v", got)
	}
}
