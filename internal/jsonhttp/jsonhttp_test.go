package jsonhttp

import (
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestWrite(t *testing.T) {
	f := func(v any, want string) {
		t.Helper()
		w := httptest.NewRecorder()
		Write(w, 418, v)
		h := w.Result().Header
		if w.Code != 418 || w.Body.String() != want || h.Get("Content-Type") != "application/json" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("Write(%v) = %d %q %v", v, w.Code, w.Body.String(), h)
		}
		if want != "" && h.Get("Content-Length") != strconv.Itoa(len(want)) {
			t.Errorf("Content-Length %q for %d bytes", h.Get("Content-Length"), len(want))
		}
	}
	f(ErrorBody{Error: "bad <input>"}, "{\"error\":\"bad \\u003cinput\\u003e\"}\n")
	f(nil, "")
	f(map[string]any{"x": func() {}}, "{}\n") // does not marshal
}
