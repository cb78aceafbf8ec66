package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/genscope/genscope/internal/score"
	"github.com/genscope/genscope/internal/store"
)

// maxScoreBody bounds the body of a score request.
const maxScoreBody = 64 << 10

// withStatus is a handler's answer with a status other than 200 (204:
// no body).
type withStatus struct {
	code int
	body any
}

// scoreList is GET /api/v1/scores's answer.
type scoreList struct {
	Scores []store.Score `json:"scores"`
}

// scoreSummary is GET /api/v1/scores/summary's answer.
type scoreSummary struct {
	Scores []store.ScoreStat `json:"scores"`
}

func (a *API) registerScores(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/scores", a.handle(a.listScores))
	mux.HandleFunc("GET /api/v1/scores/summary", a.handle(a.scoreSummary))
	mux.HandleFunc("GET /api/v1/scores/{id}", a.handle(a.getScore))
	mux.HandleFunc("POST /api/v1/scores", a.handle(a.createScore))
	mux.HandleFunc("PATCH /api/v1/scores/{id}", a.handle(a.patchScore))
	mux.HandleFunc("DELETE /api/v1/scores/{id}", a.handle(a.deleteScore))
}

var errNoScores = fmt.Errorf("%w: this server's store keeps no scores", store.ErrBadQuery)

func (a *API) scoreStore() (store.ScoreStore, error) {
	ss, ok := a.st.(store.ScoreStore)
	if !ok {
		return nil, errNoScores
	}
	return ss, nil
}

// scoreQuery reads the score filters of GET /api/v1/scores and its
// summary; the time range applies only when given, or when def is set.
func (a *API) scoreQuery(r request, def bool) (store.ScoreQuery, error) {
	q := store.ScoreQuery{Project: r.project, SpanID: strings.ToLower(r.q.Get("span_id")), SessionID: r.q.Get("session_id"),
		Name: r.q.Get("name"), Source: r.q.Get("source")}
	if t := r.q.Get("trace_id"); t != "" {
		q.TraceIDs = []string{strings.ToLower(t)}
	}
	if def || r.q.Get("from") != "" || r.q.Get("to") != "" {
		f, err := parseFilter(r.q, r.project, r.now)
		if err != nil {
			return q, err
		}
		q.From, q.To = f.From, f.To
	}
	return q, nil
}

func (a *API) listScores(r request) (any, error) {
	ss, err := a.scoreStore()
	if err != nil {
		return nil, err
	}
	q, err := a.scoreQuery(r, false)
	if err != nil {
		return nil, err
	}
	if q.Limit, err = parseLimit(r.q, 100, store.MaxScoreLimit); err != nil {
		return nil, err
	}
	out, err := ss.Scores(r.ctx, q)
	return scoreList{out}, err
}

func (a *API) scoreSummary(r request) (any, error) {
	ss, err := a.scoreStore()
	if err != nil {
		return nil, err
	}
	q, err := a.scoreQuery(r, true)
	if err != nil {
		return nil, err
	}
	out, err := ss.ScoreStats(r.ctx, q)
	return scoreSummary{out}, err
}

func (a *API) getScore(r request) (any, error) {
	ss, err := a.scoreStore()
	if err != nil {
		return nil, err
	}
	return ss.GetScore(r.ctx, r.project, r.PathValue("id"))
}

// scoreInput is the body of POST /api/v1/scores.
type scoreInput struct {
	TraceID   string   `json:"trace_id"`
	SpanID    string   `json:"span_id"`
	SessionID string   `json:"session_id"`
	Name      string   `json:"name"`
	Value     *float64 `json:"value"`
	Label     string   `json:"label"`
	Comment   string   `json:"comment"`
	Source    string   `json:"source"` // api (default), human or evaluator:<name>
}

// readBody reads a request's JSON body strictly into v.
func readBody(r request, v any) error {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxScoreBody))
	if err != nil {
		return badParam("body", "larger than %d bytes", maxScoreBody)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badParam("body", "%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// scoreWriter is who may change scores in the request's project.
func (a *API) scoreWriter(r request) (author string, editor bool, err error) {
	if a.scoreAccess == nil {
		return "", true, nil
	}
	author, canWrite, editor := a.scoreAccess(r.Request, r.project)
	if !canWrite {
		return "", false, &forbiddenParam{"scores", "these credentials may not score in this project (a user of the project or an admin may)"}
	}
	return author, editor, nil
}

func (a *API) createScore(r request) (any, error) {
	ss, err := a.scoreStore()
	if err != nil {
		return nil, err
	}
	author, _, err := a.scoreWriter(r)
	if err != nil {
		return nil, err
	}
	var in scoreInput
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	switch {
	case in.Source == "":
		in.Source = store.SourceAPI
	case in.Source == store.SourceAPI || in.Source == store.SourceHuman || strings.HasPrefix(in.Source, store.SourceEvaluator):
	default:
		return nil, badParam("source", "%q is not api, human or evaluator:<name>", in.Source)
	}
	now := r.now.UTC()
	sc := store.Score{ID: score.NewID(), Project: r.project, TraceID: strings.ToLower(in.TraceID), SpanID: strings.ToLower(in.SpanID),
		SessionID: in.SessionID, Name: strings.TrimSpace(in.Name), Value: in.Value, Label: strings.TrimSpace(in.Label), Comment: in.Comment,
		Source: in.Source, Author: author, Time: now, Updated: now, TargetTime: now}
	if sc.TraceID != "" {
		if sc.SessionID != "" {
			return nil, badParam("session_id", "give trace_id (and span_id) or session_id, not both")
		}
		if sc.TargetTime, err = score.TargetTime(r.ctx, a.st, r.project, sc.TraceID, sc.SpanID); err != nil {
			return nil, err
		}
	}
	a.keepComment(r, &sc)
	if err := ss.PutScore(r.ctx, sc); err != nil {
		return nil, err
	}
	return withStatus{http.StatusCreated, struct {
		ID string `json:"id"`
	}{sc.ID}}, nil
}

// keepComment drops the comment of a score in a project that keeps
// metadata only.
func (a *API) keepComment(r request, sc *store.Score) {
	if a.metadataOnly != nil && a.metadataOnly(r.project) {
		sc.Comment = ""
	}
}

// editable returns the score the request may change: its author's, or
// any for an editor.
func (a *API) editable(r request) (store.ScoreStore, store.Score, error) {
	ss, err := a.scoreStore()
	if err != nil {
		return nil, store.Score{}, err
	}
	author, editor, err := a.scoreWriter(r)
	if err != nil {
		return nil, store.Score{}, err
	}
	sc, err := ss.GetScore(r.ctx, r.project, r.PathValue("id"))
	if err != nil {
		return nil, store.Score{}, err
	}
	if !editor && sc.Author != author {
		return nil, store.Score{}, &forbiddenParam{"scores", "only the score's author or an editor of the project may change it"}
	}
	return ss, sc, nil
}

func (a *API) patchScore(r request) (any, error) {
	ss, sc, err := a.editable(r)
	if err != nil {
		return nil, err
	}
	var in map[string]json.RawMessage
	if err := readBody(r, &in); err != nil {
		return nil, err
	}
	for k, v := range in {
		var err error
		switch k {
		case "name":
			err = json.Unmarshal(v, &sc.Name)
		case "label":
			err = json.Unmarshal(v, &sc.Label)
		case "comment":
			err = json.Unmarshal(v, &sc.Comment)
		case "value": // null removes it
			sc.Value = nil
			err = json.Unmarshal(v, &sc.Value)
		default:
			return nil, badParam(k, "cannot be changed (name, value, label and comment can)")
		}
		if err != nil {
			return nil, badParam(k, "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	sc.Updated = r.now.UTC()
	a.keepComment(r, &sc)
	if err := ss.PutScore(r.ctx, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

func (a *API) deleteScore(r request) (any, error) {
	ss, sc, err := a.editable(r)
	if err != nil {
		return nil, err
	}
	if err := ss.DeleteScore(r.ctx, r.project, sc.ID); err != nil {
		return nil, err
	}
	return withStatus{http.StatusNoContent, nil}, nil
}

// attachScores sets the spans' Scores: per span, its scores' values (or
// labels, for scores without a value) by name, the newest of each name.
// A failure is logged, and the page shows no scores.
func (a *API) attachScores(r request, page *store.SpansPage) {
	ss, ok := a.st.(store.ScoreStore)
	if !ok || len(page.Spans) == 0 {
		return
	}
	seen := map[string]bool{}
	var traces []string
	for _, s := range page.Spans {
		if !seen[s.TraceID] {
			seen[s.TraceID] = true
			traces = append(traces, s.TraceID)
		}
	}
	scores, err := ss.Scores(r.ctx, store.ScoreQuery{Project: r.project, TraceIDs: traces, Limit: store.MaxScoreLimit})
	if err != nil {
		if !errors.Is(err, r.ctx.Err()) {
			a.log.Warn("scores of spans", "err", err)
		}
		return
	}
	by := map[[2]string]map[string]any{}
	for _, sc := range scores {
		if sc.SpanID == "" {
			continue
		}
		k := [2]string{sc.TraceID, sc.SpanID}
		m := by[k]
		if m == nil {
			m = map[string]any{}
			by[k] = m
		}
		if _, dup := m[sc.Name]; dup {
			continue // newest first: keep the newest
		}
		if sc.Value != nil {
			m[sc.Name] = *sc.Value
		} else {
			m[sc.Name] = sc.Label
		}
	}
	for i := range page.Spans {
		page.Spans[i].Scores = by[[2]string{page.Spans[i].TraceID, page.Spans[i].SpanID}]
	}
}
