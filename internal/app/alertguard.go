package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/genscope/genscope/internal/auth"
	"github.com/genscope/genscope/internal/tenancy"
)

// alertGuard scopes the alerting endpoints to the caller's projects when
// auth is on (the alert and notify packages know nothing of principals):
//
//   - a rule belongs to the project its filters name (none: default);
//     reading it, its preview, alerts and history needs read access to
//     that project, creating, changing, deleting or evaluating it the
//     editor role there;
//   - lists (rules, alerts, history) are filtered to readable projects;
//   - action groups hold receivers' addresses: users may list them (to
//     pick one for a rule), admins change them; the notification log is
//     for admins. Project keys reach none of them.
func alertGuard(next http.Handler, al func() *alerting) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		rules := path == "/api/v1/alert-rules" || strings.HasPrefix(path, "/api/v1/alert-rules/")
		alerts := path == "/api/v1/alerts" || path == "/api/v1/alerts/history"
		groups := path == "/api/v1/action-groups" || strings.HasPrefix(path, "/api/v1/action-groups/")
		notes := path == "/api/v1/notifications" || strings.HasPrefix(path, "/api/v1/notifications/")
		p := auth.FromContext(r.Context())
		if (!rules && !alerts && !groups && !notes) || (p != nil && p.Admin) {
			next.ServeHTTP(w, r)
			return
		}
		a := al()
		if p == nil || a == nil {
			next.ServeHTTP(w, r) // unreachable behind the middleware; alerting off answers 404
			return
		}
		forbid := func() { writeForbidden(w) }
		switch {
		case groups:
			if r.Method != http.MethodGet || p.User == "" {
				forbid()
				return
			}
			next.ServeHTTP(w, r)
		case notes:
			forbid()
		case path == "/api/v1/alert-rules" && r.Method == http.MethodGet:
			filtered(w, r, next, "rules", func(m map[string]any) bool {
				f, _ := m["filters"].(map[string]any)
				pr, _ := f["project"].(string)
				return p.CanRead(projectOr(pr))
			})
		case path == "/api/v1/alert-rules" || path == "/api/v1/alert-rules/preview":
			pr, ok := bodyProject(r)
			need := p.CanRead
			if path == "/api/v1/alert-rules" {
				need = func(pr string) bool { return p.HasRole(pr, auth.RoleEditor) }
			}
			if !ok || !need(pr) {
				forbid()
				return
			}
			next.ServeHTTP(w, r)
		case rules:
			rest := strings.TrimPrefix(path, "/api/v1/alert-rules/")
			id, sub, _ := strings.Cut(rest, "/")
			rule, err := a.engine.Rule(id)
			if err != nil {
				next.ServeHTTP(w, r) // the engine answers 404
				return
			}
			pr := projectOr(rule.Filters.Project)
			write := r.Method != http.MethodGet && !(sub == "preview")
			if !p.CanRead(pr) || (write && !p.HasRole(pr, auth.RoleEditor)) {
				forbid()
				return
			}
			if r.Method == http.MethodPut {
				if np, ok := bodyProject(r); !ok || !p.HasRole(np, auth.RoleEditor) {
					forbid()
					return
				}
			}
			next.ServeHTTP(w, r)
		case alerts:
			if id := r.URL.Query().Get("rule_id"); id != "" {
				if rule, err := a.engine.Rule(id); err == nil && !p.CanRead(projectOr(rule.Filters.Project)) {
					forbid()
					return
				}
			}
			key := "alerts"
			if path == "/api/v1/alerts/history" {
				key = "history"
			}
			filtered(w, r, next, key, func(m map[string]any) bool {
				id, _ := m["rule_id"].(string)
				rule, err := a.engine.Rule(id)
				return err == nil && p.CanRead(projectOr(rule.Filters.Project))
			})
		}
	})
}

func writeForbidden(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(`{"error":"forbidden: not permitted in this project"}` + "\n"))
}

func projectOr(p string) string {
	if p == "" {
		return tenancy.DefaultProject
	}
	return p
}

// bodyProject reads the project a rule in the request body names,
// leaving the body readable for the handler. ok is false for a body too
// large or not JSON (the handler would refuse it anyway).
func bodyProject(r *http.Request) (string, bool) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(raw) > 1<<20 {
		return "", false
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var in struct {
		Filters struct {
			Project string `json:"project"`
		} `json:"filters"`
	}
	if json.Unmarshal(raw, &in) != nil {
		return "", false
	}
	return projectOr(in.Filters.Project), true
}

// filtered serves a list through next and keeps the items of the array
// under key that keep accepts.
func filtered(w http.ResponseWriter, r *http.Request, next http.Handler, key string, keep func(map[string]any) bool) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	res := rec.Result()
	var body map[string]json.RawMessage
	if res.StatusCode != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &body) != nil {
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		_, _ = w.Write(rec.Body.Bytes())
		return
	}
	var items []map[string]any
	if err := json.Unmarshal(body[key], &items); err != nil {
		writeForbidden(w) // an answer this guard does not understand is not passed on
		return
	}
	out := []map[string]any{}
	for _, it := range items {
		if keep(it) {
			out = append(out, it)
		}
	}
	body[key], _ = json.Marshal(out)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(body)
}
