package jsonhttp

import (
	"context"
	"net/http"
	"time"
)

// Route is one JSON endpoint: a ServeMux pattern and its handler, which
// answers a status and a value to encode, or an error.
type Route struct {
	Pattern string
	F       func(*http.Request) (int, any, error)
}

// Routes are the endpoints of one API area (alert rules, evaluators).
type Routes []Route

// Register adds the routes to mux. Each request gets timeout to answer;
// a handler's error becomes the status and body errorStatus gives it.
func (rs Routes) Register(mux *http.ServeMux, timeout time.Duration, errorStatus func(*http.Request, error) (int, any)) {
	for _, rt := range rs {
		f := rt.F
		mux.HandleFunc(rt.Pattern, func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			code, out, err := f(r.WithContext(ctx))
			if err != nil {
				code, out = errorStatus(r, err)
			}
			Write(w, code, out)
		})
	}
}

// Patterns lists the routes' patterns, so that a test can check every
// one of them against a caller without permission.
func (rs Routes) Patterns() []string {
	out := make([]string, 0, len(rs))
	for _, rt := range rs {
		out = append(out, rt.Pattern)
	}
	return out
}
