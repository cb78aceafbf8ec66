package alert

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzDecodeRule feeds the rule decoder arbitrary bodies: it never
// panics, a refused body gets an error naming a field or the body, and a
// rule that validates compares and describes itself without trouble.
func FuzzDecodeRule(f *testing.F) {
	for _, s := range []string{
		`{"name":"slow gpt-4o","severity":2,"signal":"duration_ms","aggregation":"avg","operator":">","threshold":4000,"window":"5m","frequency":"1m","filters":{"model":"gpt-4o"},"action_groups":["g"]}`,
		`{"name":"x","signal":"calls","window":"5 minutes"}`,
		`{"name":"x","signal":"error_rate","split_by":"model","violations":2,"evaluations":3,"no_data":"fire"}`,
		`{"severity":"high"}`, `[]`, `{"name":"x","unknown":1}`, ``,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r, err := decodeRule(httptest.NewRequest("POST", "/api/v1/alert-rules", strings.NewReader(body)))
		if err != nil {
			if !strings.Contains(err.Error(), ":") {
				t.Fatalf("error %q names no field", err)
			}
			return
		}
		if r.Validate() != nil {
			return
		}
		_ = r.violated(1)
		_ = r.queryText(r.filter("default", r.CreatedAt))
	})
}
