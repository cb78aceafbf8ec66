package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/queryparam"
)

// maxBody bounds an evaluator's JSON.
const maxBody = 256 << 10

// Register adds the evaluator endpoints to mux.
func (e *Engine) Register(mux *http.ServeMux) {
	for _, rt := range e.routes() {
		f := rt.f
		mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), time.Minute)
			defer cancel()
			code, out, err := f(r.WithContext(ctx))
			if err != nil {
				code, out = e.errorStatus(r, err)
			}
			jsonhttp.Write(w, code, out)
		})
	}
}

type route struct {
	pattern string
	f       func(*http.Request) (int, any, error)
}

func (e *Engine) routes() []route {
	return []route{
		{"POST /api/v1/evaluators", e.httpCreate},
		{"GET /api/v1/evaluators", e.httpList},
		{"GET /api/v1/evaluators/{id}", e.httpGet},
		{"PUT /api/v1/evaluators/{id}", e.httpUpdate},
		{"DELETE /api/v1/evaluators/{id}", e.httpDelete},
		{"GET /api/v1/evaluators/{id}/runs", e.httpRuns},
	}
}

// Routes lists the patterns Register adds, so that a test can check
// every one of them against a caller without permission.
func (e *Engine) Routes() []string {
	var out []string
	for _, rt := range e.routes() {
		out = append(out, rt.pattern)
	}
	return out
}

type badRequest struct{ msg string }

func (b *badRequest) Error() string { return b.msg }

func (e *Engine) errorStatus(r *http.Request, err error) (int, any) {
	var fe *FieldError
	var br *badRequest
	switch {
	case errors.As(err, &fe), errors.As(err, &br):
		return http.StatusBadRequest, jsonhttp.ErrorBody{Error: strings.ReplaceAll(err.Error(), "\n", "; ")}
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, jsonhttp.ErrorBody{Error: ErrNotFound.Error()}
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, jsonhttp.ErrorBody{Error: ErrForbidden.Error()}
	case errors.Is(err, ErrReadOnly):
		return http.StatusConflict, jsonhttp.ErrorBody{Error: ErrReadOnly.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, jsonhttp.ErrorBody{Error: "timed out"}
	}
	e.log.Error("evaluator API", "path", r.URL.Path, "err", err)
	return http.StatusInternalServerError, jsonhttp.ErrorBody{Error: "internal error; see the server log"}
}

type allowAll struct{}

func (allowAll) CanRead(string) bool { return true }
func (allowAll) CanEdit(string) bool { return true }

func (e *Engine) access(r *http.Request) Access {
	if e.opts.AccessFor == nil {
		return allowAll{}
	}
	return e.opts.AccessFor(r)
}

// decode reads an evaluator over NewEvaluator's defaults, refusing
// unknown fields and fields the API sets.
func decode(r *http.Request) (Evaluator, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return Evaluator{}, &badRequest{"body: " + err.Error()}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Evaluator{}, &badRequest{"body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	for _, f := range []string{"id", "read_only", "created_at", "updated_at"} {
		delete(fields, f) // set by genscope; a client sending back what it read is fine
	}
	clean, _ := json.Marshal(fields)
	ev := NewEvaluator()
	dec := json.NewDecoder(strings.NewReader(string(clean)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return Evaluator{}, &badRequest{fmt.Sprintf("%s: want a %s", te.Field, te.Type)}
		}
		return Evaluator{}, &badRequest{"body: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	return ev, nil
}

// project is the project an evaluator belongs to.
func (e *Engine) project(ev Evaluator) string {
	if ev.Project == "" {
		return e.opts.DefaultProject
	}
	return ev.Project
}

// evaluatorFor returns the evaluator the path names, when the request may
// read it (and, with edit, change it).
func (e *Engine) evaluatorFor(r *http.Request, edit bool) (Evaluator, error) {
	ev, err := e.Evaluator(r.PathValue("id"))
	if err != nil {
		return Evaluator{}, err
	}
	a, p := e.access(r), e.project(ev)
	if !a.CanRead(p) {
		return Evaluator{}, ErrForbidden
	}
	if edit && !a.CanEdit(p) {
		return Evaluator{}, ErrForbidden
	}
	return ev, nil
}

func (e *Engine) httpCreate(r *http.Request) (int, any, error) {
	ev, err := decode(r)
	if err != nil {
		return 0, nil, err
	}
	if !e.access(r).CanEdit(e.project(ev)) {
		return 0, nil, ErrForbidden
	}
	ev, err = e.Create(r.Context(), ev)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, ev, nil
}

func (e *Engine) httpList(r *http.Request) (int, any, error) {
	if _, err := queryparam.Parse(r.URL.RawQuery, nil); err != nil {
		return 0, nil, &badRequest{err.Error()}
	}
	a := e.access(r)
	out := []Evaluator{}
	for _, ev := range e.Evaluators() {
		if a.CanRead(e.project(ev)) {
			out = append(out, ev)
		}
	}
	return http.StatusOK, map[string]any{"evaluators": out}, nil
}

func (e *Engine) httpGet(r *http.Request) (int, any, error) {
	ev, err := e.evaluatorFor(r, false)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ev, nil
}

func (e *Engine) httpUpdate(r *http.Request) (int, any, error) {
	if old, err := e.evaluatorFor(r, true); err != nil {
		return 0, nil, err
	} else if old.ReadOnly {
		return 0, nil, ErrReadOnly
	}
	ev, err := decode(r)
	if err != nil {
		return 0, nil, err
	}
	if !e.access(r).CanEdit(e.project(ev)) { // the project it moves to
		return 0, nil, ErrForbidden
	}
	ev, err = e.Update(r.Context(), r.PathValue("id"), ev)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, ev, nil
}

func (e *Engine) httpDelete(r *http.Request) (int, any, error) {
	if _, err := e.evaluatorFor(r, true); err != nil {
		return 0, nil, err
	}
	if err := e.Delete(r.Context(), r.PathValue("id")); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (e *Engine) httpRuns(r *http.Request) (int, any, error) {
	q, err := queryparam.Parse(r.URL.RawQuery, []string{"limit", "status"})
	if err != nil {
		return 0, nil, &badRequest{err.Error()}
	}
	limit, err := queryparam.Int(q, "limit", 100, 1, 1000)
	if err != nil {
		return 0, nil, &badRequest{err.Error()}
	}
	status := q.Get("status")
	switch status {
	case "", StatusOK, StatusFailed, StatusSkipped:
	default:
		return 0, nil, &badRequest{"status: " + strconv.Quote(queryparam.Clip(status)) + " is not ok, failed or skipped"}
	}
	ev, err := e.evaluatorFor(r, false)
	if err != nil {
		return 0, nil, err
	}
	runs, err := e.Runs(r.Context(), ev.ID, status, limit)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, map[string]any{"runs": runs}, nil
}
