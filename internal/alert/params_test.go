package alert

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestQueryParams: the alert endpoints read their queries strictly (the
// read API's queryparam): ";" is part of a value, not a separator that
// drops the pair; NaN, exponents, signs and out-of-range numbers, a
// parameter given twice and a bad escape are each a 400 naming the
// parameter, never a silent default.
func TestQueryParams(t *testing.T) {
	e := newEngine(t, &fakeStore{}, newMemState(), &notifications{})
	mux := http.NewServeMux()
	e.Register(mux)
	for _, c := range []struct{ target, name string }{
		{"/api/v1/alerts?state=fired;resolved", "state"},
		{"/api/v1/alerts?state=fired&state=resolved", "state"},
		{"/api/v1/alerts?state=%zz", "state"},
		{"/api/v1/alerts?rule_id=a&rule_id=b", "rule_id"},
		{"/api/v1/alerts/history?limit=NaN", "limit"},
		{"/api/v1/alerts/history?limit=1e2", "limit"},
		{"/api/v1/alerts/history?limit=%2B5", "limit"},
		{"/api/v1/alerts/history?limit=0", "limit"},
		{"/api/v1/alerts/history?limit=5;rule_id=x", "limit"},
		{"/api/v1/alerts/history?limit=5&limit=6", "limit"},
		{"/api/v1/alert-rules/nope/preview?points=NaN", "points"},
		{"/api/v1/alert-rules/nope/preview?points=201", "points"},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, c.target, nil))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"`+c.name+`: `) {
			t.Errorf("GET %s: %d %s, want 400 naming %s", c.target, w.Code, w.Body, c.name)
		}
	}
	for _, target := range []string{"/api/v1/alerts?state=fired", "/api/v1/alerts/history?limit=5&rule_id=x"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", target, w.Code, w.Body)
		}
	}
}
