package jsonhttp

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ErrorBody is the shape of an error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Write writes v (nothing when nil) as a JSON answer with its
// Content-Length that is not cached. A value that does not marshal is
// written as {} (the callers' values always do).
func Write(w http.ResponseWriter, code int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	if v == nil {
		w.WriteHeader(code)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte("{}")
	}
	b = append(b, '\n')
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	_, _ = w.Write(b) // the client may be gone; nothing to do about it
}
