package notify

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestQueryParams: the notification endpoints read their queries strictly
// (the read API's queryparam): every bad parameter is a 400 naming it.
func TestQueryParams(t *testing.T) {
	n := newNotifier(t, newMemState())
	mux := http.NewServeMux()
	n.Register(mux)
	for _, c := range []struct{ target, name string }{
		{"/api/v1/notifications?limit=NaN", "limit"},
		{"/api/v1/notifications?limit=5;x=1", "limit"},
		{"/api/v1/notifications?limit=1001", "limit"},
		{"/api/v1/notifications?limit=5&limit=6", "limit"},
		{"/api/v1/notifications/attempts?delivery_id=a&delivery_id=b", "delivery_id"},
		{"/api/v1/notifications/attempts?delivery_id=%zz", "delivery_id"},
	} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, c.target, nil))
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"`+c.name+`: `) {
			t.Errorf("GET %s: %d %s, want 400 naming %s", c.target, w.Code, w.Body, c.name)
		}
	}
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/notifications?limit=5", nil))
	if w.Code != http.StatusOK {
		t.Errorf("GET limit=5: %d %s", w.Code, w.Body)
	}
}
