package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/queryparam"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/timeutil"
)

// maxBody bounds a rule's JSON.
const maxBody = 1 << 20

// Register adds the alert rule and alert endpoints to mux.
func (e *Engine) Register(mux *http.ServeMux) {
	e.routes().Register(mux, time.Minute, func(r *http.Request, err error) (int, any) { return errorStatus(e.log, r, err) })
}

// routes are the endpoints; each handler checks the request's Access
// against the rule it touches.
func (e *Engine) routes() jsonhttp.Routes {
	return jsonhttp.Routes{
		{Pattern: "POST /api/v1/alert-rules", F: e.httpCreate},
		{Pattern: "GET /api/v1/alert-rules", F: e.httpList},
		{Pattern: "POST /api/v1/alert-rules/preview", F: e.httpPreviewNew},
		{Pattern: "GET /api/v1/alert-rules/{id}", F: e.httpGet},
		{Pattern: "PUT /api/v1/alert-rules/{id}", F: e.httpUpdate},
		{Pattern: "DELETE /api/v1/alert-rules/{id}", F: e.httpDelete},
		{Pattern: "POST /api/v1/alert-rules/{id}/evaluate", F: e.httpEvaluate},
		{Pattern: "GET /api/v1/alert-rules/{id}/preview", F: e.httpPreview},
		{Pattern: "GET /api/v1/alerts", F: e.httpAlerts},
		{Pattern: "GET /api/v1/alerts/history", F: e.httpHistory},
	}
}

// Routes lists the patterns Register adds, so that a test can check
// every one of them against a caller without permission.
func (e *Engine) Routes() []string { return e.routes().Patterns() }

// badRequest is a request error whose message names the field.
type badRequest struct{ msg string }

func (b *badRequest) Error() string { return b.msg }

func errorStatus(log *slog.Logger, r *http.Request, err error) (int, any) {
	var fe *FieldError
	var br *badRequest
	switch {
	case errors.As(err, &fe), errors.As(err, &br), errors.Is(err, store.ErrBadQuery):
		return http.StatusBadRequest, jsonhttp.ErrorBody{Error: strings.ReplaceAll(err.Error(), "\n", "; ")}
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, jsonhttp.ErrorBody{Error: "no such alert rule"}
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, jsonhttp.ErrorBody{Error: ErrForbidden.Error()}
	case errors.Is(err, ErrReadOnly):
		return http.StatusConflict, jsonhttp.ErrorBody{Error: "alert rule is read-only: it is defined in the config file"}
	case errors.Is(err, ErrPassive):
		return http.StatusConflict, jsonhttp.ErrorBody{Error: ErrPassive.Error() + " (genscope serve --components)"}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, jsonhttp.ErrorBody{Error: "timed out"}
	}
	log.Error("alert API", "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, jsonhttp.ErrorBody{Error: "internal error; see the server log"}
}

// decodeRule reads a rule over the defaults of NewRule, refusing unknown
// fields and naming the field of a bad value.
func decodeRule(r *http.Request) (Rule, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return Rule{}, &badRequest{"body: " + err.Error()}
	}
	rule := NewRule()
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rule); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Rule{}, &badRequest{fmt.Sprintf("%s: want a %s", te.Field, te.Type)}
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) == nil {
			for _, f := range []string{"window", "frequency"} {
				var d timeutil.Duration
				if v, ok := fields[f]; ok && json.Unmarshal(v, &d) != nil {
					return Rule{}, &badRequest{f + ": " + strings.Trim(string(v), " ") + " is not a duration like 5m or 1h"}
				}
			}
		}
		return Rule{}, &badRequest{"body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	return rule, nil
}

// ruleView is a rule with its state, as the API shows it.
type ruleView struct {
	Rule
	State State `json:"state"`
	// LastEvaluation is what the engine saw the last time it evaluated
	// the rule; absent before the first evaluation.
	LastEvaluation *lastEvaluation `json:"last_evaluation,omitempty"`
}

// lastEvaluation is a rule's last evaluation. Value is null when it had
// no data; for a split rule it is the value nearest to (or furthest past)
// the threshold among its alerts, and Alerts counts them.
type lastEvaluation struct {
	At     time.Time `json:"at"`
	Value  *float64  `json:"value"`
	Alerts int       `json:"alerts"`
}

func (e *Engine) view(r Rule) ruleView {
	return ruleView{Rule: r, State: e.RuleState(r.ID), LastEvaluation: e.lastEvaluation(r)}
}

// lastEvaluation summarises the alerts of r at their latest evaluation.
func (e *Engine) lastEvaluation(r Rule) *lastEvaluation {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out *lastEvaluation
	higher := r.Operator == ">" || r.Operator == ">="
	for _, in := range e.alerts {
		if in.RuleID != r.ID || in.EvaluatedAt.IsZero() {
			continue
		}
		if out == nil {
			out = &lastEvaluation{}
		}
		out.Alerts++
		if in.EvaluatedAt.After(out.At) {
			out.At = in.EvaluatedAt
		}
		if !in.HasValue {
			continue
		}
		if v := in.Value; out.Value == nil || (higher && v > *out.Value) || (!higher && v < *out.Value) {
			out.Value = &v
		}
	}
	return out
}

// ruleFor returns the rule the request's path names, when the request
// may read it (and, with edit, change it).
func (e *Engine) ruleFor(r *http.Request, edit bool) (Rule, error) {
	rule, err := e.Rule(r.PathValue("id"))
	if err != nil {
		return Rule{}, err
	}
	a, pr := e.access(r), e.project(rule)
	if !a.CanRead(pr) || (edit && !a.CanEdit(pr)) {
		return Rule{}, ErrForbidden
	}
	return rule, nil
}

func (e *Engine) httpCreate(r *http.Request) (int, any, error) {
	rule, err := decodeRule(r)
	if err != nil {
		return 0, nil, err
	}
	if !e.access(r).CanEdit(e.project(rule)) {
		return 0, nil, ErrForbidden
	}
	rule, err = e.Create(r.Context(), rule)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, e.view(rule), nil
}

func (e *Engine) httpList(r *http.Request) (int, any, error) {
	a := e.access(r)
	out := []ruleView{}
	for _, rule := range e.Rules() {
		if a.CanRead(e.project(rule)) {
			out = append(out, e.view(rule))
		}
	}
	return http.StatusOK, map[string]any{"rules": out}, nil
}

func (e *Engine) httpGet(r *http.Request) (int, any, error) {
	rule, err := e.ruleFor(r, false)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, e.view(rule), nil
}

func (e *Engine) httpUpdate(r *http.Request) (int, any, error) {
	if old, err := e.ruleFor(r, true); err != nil {
		return 0, nil, err
	} else if old.ReadOnly {
		return 0, nil, ErrReadOnly
	}
	rule, err := decodeRule(r)
	if err != nil {
		return 0, nil, err
	}
	if !e.access(r).CanEdit(e.project(rule)) { // the project it moves to
		return 0, nil, ErrForbidden
	}
	rule, err = e.Update(r.Context(), r.PathValue("id"), rule)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, e.view(rule), nil
}

func (e *Engine) httpDelete(r *http.Request) (int, any, error) {
	if _, err := e.ruleFor(r, true); err != nil {
		return 0, nil, err
	}
	if err := e.Delete(r.Context(), r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (e *Engine) httpEvaluate(r *http.Request) (int, any, error) {
	if _, err := e.ruleFor(r, true); err != nil {
		return 0, nil, err
	}
	res, err := e.Evaluate(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, res, nil
}

// queryParams are the query parameters the alert endpoints take, each
// once.
var queryParams = []string{"points", "state", "limit", "rule_id"}

// query reads r's query strictly (see queryparam.Parse): a bad one is a
// 400 naming the parameter.
func query(r *http.Request) (url.Values, error) {
	q, err := queryparam.Parse(r.URL.RawQuery, queryParams)
	if err != nil {
		return nil, &badRequest{err.Error()}
	}
	return q, nil
}

// intParam reads an integer parameter of r's query, def when absent.
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	q, err := query(r)
	if err != nil {
		return 0, err
	}
	n, err := queryparam.Int(q, name, def, lo, hi)
	if err != nil {
		return 0, &badRequest{err.Error()}
	}
	return n, nil
}

func points(r *http.Request) (int, error) { return intParam(r, "points", 30, 1, 200) }

func (e *Engine) httpPreview(r *http.Request) (int, any, error) {
	n, err := points(r)
	if err != nil {
		return 0, nil, err
	}
	rule, err := e.ruleFor(r, false)
	if err != nil {
		return 0, nil, err
	}
	p, err := e.Preview(r.Context(), rule, n)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

// httpPreviewNew previews a rule that is not saved yet (the create form).
func (e *Engine) httpPreviewNew(r *http.Request) (int, any, error) {
	n, err := points(r)
	if err != nil {
		return 0, nil, err
	}
	rule, err := decodeRule(r)
	if err != nil {
		return 0, nil, err
	}
	if !e.access(r).CanRead(e.project(rule)) {
		return 0, nil, ErrForbidden
	}
	if rule.Name == "" {
		rule.Name = "preview"
	}
	p, err := e.Preview(r.Context(), rule, n)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, p, nil
}

func (e *Engine) httpAlerts(r *http.Request) (int, any, error) {
	q, err := query(r)
	if err != nil {
		return 0, nil, err
	}
	want := State(q.Get("state"))
	if want != "" && want != StateFired && want != StateResolved {
		return 0, nil, &badRequest{"state: " + strconv.Quote(queryparam.Clip(string(want))) + " is not fired or resolved"}
	}
	a := e.access(r)
	if err := e.checkRuleParam(q.Get("rule_id"), a); err != nil {
		return 0, nil, err
	}
	out := []Instance{}
	for _, in := range e.Alerts() {
		if (want == "" || in.State == want) && e.canRead(a, in.RuleID) {
			out = append(out, in)
		}
	}
	return http.StatusOK, map[string]any{"alerts": out}, nil
}

func (e *Engine) httpHistory(r *http.Request) (int, any, error) {
	q, err := query(r)
	if err != nil {
		return 0, nil, err
	}
	limit, err := queryparam.Int(q, "limit", 100, 1, 1000)
	if err != nil {
		return 0, nil, &badRequest{err.Error()}
	}
	a := e.access(r)
	if err := e.checkRuleParam(q.Get("rule_id"), a); err != nil {
		return 0, nil, err
	}
	h, err := e.History(r.Context(), q.Get("rule_id"), limit)
	if err != nil {
		return 0, nil, err
	}
	out := h[:0]
	for _, ev := range h {
		if e.canRead(a, ev.RuleID) {
			out = append(out, ev)
		}
	}
	return http.StatusOK, map[string]any{"history": out}, nil
}

// checkRuleParam refuses a list asked for by the rule_id of a rule the
// request may not read.
func (e *Engine) checkRuleParam(id string, a Access) error {
	if id == "" {
		return nil
	}
	if rule, err := e.Rule(id); err == nil && !a.CanRead(e.project(rule)) {
		return ErrForbidden
	}
	return nil
}
