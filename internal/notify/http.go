package notify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/queryparam"
)

// Register adds the action group and notification log endpoints to mux,
// each with the permission it needs (see Access).
func (n *Notifier) Register(mux *http.ServeMux) {
	h := func(need permission, f func(*http.Request) (int, any, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
			defer cancel()
			var code int
			var out any
			err := n.allowed(r, need)
			if err == nil {
				code, out, err = f(r.WithContext(ctx))
			}
			if err != nil {
				code, out = n.errorStatus(r, err)
			}
			jsonhttp.Write(w, code, out)
		}
	}
	for _, rt := range n.routes() {
		mux.HandleFunc(rt.pattern, h(rt.need, rt.f))
	}
}

type route struct {
	pattern string
	need    permission
	f       func(*http.Request) (int, any, error)
}

// routes are the endpoints, each with the permission it needs.
func (n *Notifier) routes() []route {
	return []route{
		{"POST /api/v1/action-groups", manage, n.httpCreate},
		{"GET /api/v1/action-groups", listGroups, n.httpList},
		{"GET /api/v1/action-groups/{id}", listGroups, n.httpGet},
		{"PUT /api/v1/action-groups/{id}", manage, n.httpUpdate},
		{"DELETE /api/v1/action-groups/{id}", manage, n.httpDelete},
		{"POST /api/v1/action-groups/{id}/test", manage, n.httpTest},
		{"GET /api/v1/notifications", manage, n.httpDeliveries},
		{"GET /api/v1/notifications/attempts", manage, n.httpAttempts},
	}
}

// Routes lists the patterns Register adds, so that a test can check
// every one of them against a caller without permission.
func (n *Notifier) Routes() []string {
	var out []string
	for _, rt := range n.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

func (n *Notifier) errorStatus(r *http.Request, err error) (int, any) {
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return http.StatusBadRequest, jsonhttp.ErrorBody{Error: ve.Error()}
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, jsonhttp.ErrorBody{Error: "no such action group"}
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, jsonhttp.ErrorBody{Error: ErrForbidden.Error()}
	case errors.Is(err, ErrReadOnly):
		return http.StatusConflict, jsonhttp.ErrorBody{Error: "action group is read-only: it is defined in the config file"}
	}
	n.log.Error("action group API", "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, jsonhttp.ErrorBody{Error: "internal error; see the server log"}
}

// groupView is a group as the API shows it: secrets redacted, and for
// URLs only where they point.
type groupView struct {
	Group
	Receivers []receiverView `json:"receivers"`
}

type receiverView struct {
	Receiver
	Target string `json:"target,omitempty"` // scheme://host of the URL
}

func view(g Group) groupView {
	v := groupView{Group: g, Receivers: []receiverView{}}
	for _, r := range g.Receivers {
		rv := receiverView{Receiver: r}
		if u, err := url.Parse(r.URL.Reveal()); err == nil && r.URL.IsSet() {
			rv.Target = u.Scheme + "://" + u.Host
		}
		v.Receivers = append(v.Receivers, rv)
	}
	return v
}

func decodeGroup(r *http.Request) (Group, error) {
	var g Group
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return Group{}, &ValidationError{errors.New("body: " + strings.TrimPrefix(err.Error(), "json: "))}
	}
	return g, nil
}

func (n *Notifier) httpCreate(r *http.Request) (int, any, error) {
	g, err := decodeGroup(r)
	if err != nil {
		return 0, nil, err
	}
	if g, err = n.Create(r.Context(), g); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, view(g), nil
}

func (n *Notifier) httpList(*http.Request) (int, any, error) {
	out := []groupView{}
	for _, g := range n.Groups() {
		out = append(out, view(g))
	}
	return http.StatusOK, map[string]any{"action_groups": out}, nil
}

func (n *Notifier) httpGet(r *http.Request) (int, any, error) {
	g, err := n.Group(r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, view(g), nil
}

func (n *Notifier) httpUpdate(r *http.Request) (int, any, error) {
	if old, err := n.Group(r.PathValue("id")); err != nil {
		return 0, nil, err
	} else if old.ReadOnly {
		return 0, nil, ErrReadOnly
	}
	g, err := decodeGroup(r)
	if err != nil {
		return 0, nil, err
	}
	if g, err = n.Update(r.Context(), r.PathValue("id"), g); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, view(g), nil
}

func (n *Notifier) httpDelete(r *http.Request) (int, any, error) {
	if err := n.Delete(r.Context(), r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (n *Notifier) httpTest(r *http.Request) (int, any, error) {
	res, err := n.Test(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	ok := true
	for _, x := range res {
		ok = ok && x.Attempt.OK
	}
	return http.StatusOK, map[string]any{"ok": ok, "results": res}, nil
}

// query reads r's query strictly (see queryparam.Parse): a bad one is a
// 400 naming the parameter.
func query(r *http.Request) (url.Values, error) {
	q, err := queryparam.Parse(r.URL.RawQuery, []string{"limit", "delivery_id"})
	if err != nil {
		return nil, &ValidationError{err}
	}
	return q, nil
}

// limit reads r's limit parameter, and its query.
func limit(r *http.Request) (int, url.Values, error) {
	q, err := query(r)
	if err != nil {
		return 0, nil, err
	}
	k, err := queryparam.Int(q, "limit", 100, 1, 1000)
	if err != nil {
		return 0, nil, &ValidationError{err}
	}
	return k, q, nil
}

func (n *Notifier) httpDeliveries(r *http.Request) (int, any, error) {
	k, _, err := limit(r)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"notifications": n.Deliveries(k)}, nil
}

func (n *Notifier) httpAttempts(r *http.Request) (int, any, error) {
	k, q, err := limit(r)
	if err != nil {
		return 0, nil, err
	}
	a, err := n.Attempts(r.Context(), q.Get("delivery_id"), k)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"attempts": a}, nil
}
