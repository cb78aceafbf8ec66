// Package jsonhttp writes the JSON answers of genscope's management
// endpoints (auth, alert rules, action groups).
package jsonhttp

import (
	"encoding/json"
	"net/http"
)

// ErrorBody is the shape of an error answer.
type ErrorBody struct {
	Error string `json:"error"`
}

// Write writes v (nothing when nil) as a JSON answer that is not cached.
func Write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}
