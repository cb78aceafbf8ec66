package score

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tenancy"
)

// maxFeedbackBody bounds a feedback request's body.
const maxFeedbackBody = 64 << 10

// FeedbackName is the score name of feedback that names none.
const FeedbackName = "user-feedback"

// FeedbackOptions configure the feedback endpoint.
type FeedbackOptions struct {
	// ProjectFor names the project of a request from its ingest key, or
	// returns an error to refuse it with 401. Nil: tenancy.DefaultProject.
	ProjectFor func(r *http.Request) (string, error)
	// MetadataOnly reports whether a project keeps metadata only: its
	// feedback loses its comment. Nil: none does.
	MetadataOnly func(project string) bool
	// Lookback is how far back a response id is looked for; default 48h.
	Lookback time.Duration
	// Timeout bounds one request's store work; default 10s.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Feedback serves POST /v1/feedback: an app's backend reports what its
// user thought of a response (thumbs up or down, a value or a label, and
// a comment), with the project's ingest key, naming the response by the
// id its provider gave it or by its trace (and span) id.
type Feedback struct {
	st   store.Store
	ss   store.ScoreStore
	rf   store.ResponseFinder
	opts FeedbackOptions
	log  *slog.Logger
}

// NewFeedback returns the endpoint over st, which must be a
// store.ScoreStore (and, to take response ids, a store.ResponseFinder).
func NewFeedback(st store.Store, opts FeedbackOptions, log *slog.Logger) (*Feedback, error) {
	ss, ok := st.(store.ScoreStore)
	if !ok {
		return nil, errors.New("feedback: the store keeps no scores")
	}
	if opts.Lookback <= 0 {
		opts.Lookback = 48 * time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	f := &Feedback{st: st, ss: ss, opts: opts, log: log}
	f.rf, _ = st.(store.ResponseFinder)
	return f, nil
}

// Register adds POST /v1/feedback to mux.
func (f *Feedback) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/feedback", f.serve)
}

// feedbackRequest is the body of POST /v1/feedback.
type feedbackRequest struct {
	ResponseID string   `json:"response_id"`
	TraceID    string   `json:"trace_id"`
	SpanID     string   `json:"span_id"`
	Name       string   `json:"name"`
	Thumbs     string   `json:"thumbs"` // up or down
	Value      *float64 `json:"value"`
	Label      string   `json:"label"`
	Comment    string   `json:"comment"`
	User       string   `json:"user"` // the app's end user, kept as the author
}

func (f *Feedback) serve(w http.ResponseWriter, r *http.Request) {
	project := tenancy.DefaultProject
	if f.opts.ProjectFor != nil {
		p, err := f.opts.ProjectFor(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="genscope"`)
			jsonhttp.Write(w, http.StatusUnauthorized, jsonhttp.ErrorBody{Error: "an ingest key is required (Authorization: Bearer gsk_... or x-genscope-key)"})
			return
		}
		project = p
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFeedbackBody))
	if err != nil {
		jsonhttp.Write(w, http.StatusRequestEntityTooLarge, jsonhttp.ErrorBody{Error: fmt.Sprintf("body: larger than %d bytes", maxFeedbackBody)})
		return
	}
	var in feedbackRequest
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		jsonhttp.Write(w, http.StatusBadRequest, jsonhttp.ErrorBody{Error: "body: " + strings.TrimPrefix(err.Error(), "json: ")})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.opts.Timeout)
	defer cancel()
	sc, err := f.score(ctx, project, in)
	if err == nil {
		err = f.ss.PutScore(ctx, sc)
	}
	switch {
	case err == nil:
		jsonhttp.Write(w, http.StatusCreated, struct {
			ID      string `json:"id"`
			TraceID string `json:"trace_id"`
			SpanID  string `json:"span_id,omitempty"`
		}{sc.ID, sc.TraceID, sc.SpanID})
	case errors.Is(err, store.ErrBadQuery):
		jsonhttp.Write(w, http.StatusBadRequest, jsonhttp.ErrorBody{Error: err.Error()})
	case errors.Is(err, store.ErrNotFound):
		jsonhttp.Write(w, http.StatusNotFound, jsonhttp.ErrorBody{Error: err.Error() + " (the call may not be stored yet: retry later)"})
	default:
		f.log.Error("feedback not stored", "project", project, "err", err)
		jsonhttp.Write(w, http.StatusServiceUnavailable, jsonhttp.ErrorBody{Error: "feedback not stored; retry later"})
	}
}

// score turns a feedback request into a score, its target resolved.
func (f *Feedback) score(ctx context.Context, project string, in feedbackRequest) (store.Score, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", store.ErrBadQuery, fmt.Sprintf(format, a...))
	}
	now := f.opts.Now().UTC()
	sc := store.Score{ID: NewID(), Project: project, Name: strings.TrimSpace(in.Name), Value: in.Value, Label: strings.TrimSpace(in.Label),
		Comment: in.Comment, Source: store.SourceFeedback, Author: in.User, Time: now, Updated: now}
	if sc.Name == "" {
		sc.Name = FeedbackName
	}
	switch strings.ToLower(strings.TrimSpace(in.Thumbs)) {
	case "":
	case "up":
		if sc.Value == nil {
			sc.Value = new(float64)
			*sc.Value = 1
		}
		if sc.Label == "" {
			sc.Label = "up"
		}
	case "down":
		if sc.Value == nil {
			sc.Value = new(float64)
		}
		if sc.Label == "" {
			sc.Label = "down"
		}
	default:
		return store.Score{}, bad("thumbs: %q is not up or down", in.Thumbs)
	}
	if sc.Value == nil && sc.Label == "" {
		return store.Score{}, bad("thumbs, value or label is required")
	}
	if f.opts.MetadataOnly != nil && f.opts.MetadataOnly(project) {
		sc.Comment = ""
	}
	switch {
	case in.TraceID != "":
		if in.ResponseID != "" {
			return store.Score{}, bad("give response_id or trace_id, not both")
		}
		sc.TraceID, sc.SpanID = strings.ToLower(in.TraceID), strings.ToLower(in.SpanID)
		t, err := TargetTime(ctx, f.st, project, sc.TraceID, sc.SpanID)
		if err != nil {
			return store.Score{}, err
		}
		sc.TargetTime = t
	case in.ResponseID != "":
		if in.SpanID != "" {
			return store.Score{}, bad("span_id needs its trace_id")
		}
		if len(in.ResponseID) > 1000 {
			return store.Score{}, bad("response_id is longer than 1000 bytes")
		}
		if f.rf == nil {
			return store.Score{}, bad("this server's store cannot look up response ids: give trace_id and span_id")
		}
		ref, err := f.rf.FindResponse(ctx, project, in.ResponseID, now.Add(-f.opts.Lookback), now.Add(time.Minute))
		if err != nil {
			return store.Score{}, err
		}
		sc.TraceID, sc.SpanID, sc.TargetTime = ref.TraceID, ref.SpanID, ref.Start
	default:
		return store.Score{}, bad("response_id or trace_id (and span_id) is required")
	}
	return sc, sc.Validate()
}
