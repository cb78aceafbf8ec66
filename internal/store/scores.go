package store

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/genscope/genscope/internal/genai"
)

// ScoreStore is implemented by backends that keep scores: judgements of a
// GenAI call (a span), a trace or a session, by a person, an app's user,
// an evaluator or an instrumentation library. storetest.RunScores checks
// it against a reference model.
//
// Semantics:
//   - A score is identified by (Project, ID); the caller chooses the ID.
//     PutScore creates it or replaces it whole, durably (like Write: when
//     it returns nil every later read, on any node, sees it). A score
//     failing Score.Validate is refused with an error wrapping ErrBadQuery
//     and nothing is stored.
//   - DeleteScore removes it, durably; a missing score is not an error.
//   - GetScore returns one score, or an error wrapping ErrNotFound.
//   - Scores lists the scores ScoreQuery selects, newest (Time) first,
//     then by ID; at most Limit.
//   - ScoreStats aggregates the selected scores per name, by name:
//     numeric values (average, minimum, maximum over the scores that have
//     one) and the count of each label.
//   - Retention (Retainer.DeleteSpansBefore) deletes a project's scores
//     whose TargetTime is before the cutoff, with the spans of that time.
//   - Projects never see each other's scores.
type ScoreStore interface {
	PutScore(ctx context.Context, s Score) error
	DeleteScore(ctx context.Context, project, id string) error
	GetScore(ctx context.Context, project, id string) (Score, error)
	Scores(ctx context.Context, q ScoreQuery) ([]Score, error)
	ScoreStats(ctx context.Context, q ScoreQuery) ([]ScoreStat, error)
}

// Score sources: where a score came from. An evaluator's scores have the
// source SourceEvaluator + its name.
const (
	SourceAPI       = "api"        // POST /api/v1/scores
	SourceHuman     = "human"      // a person, in the dashboard
	SourceFeedback  = "feedback"   // an app's end user, through the feedback endpoint
	SourceOTel      = "otel"       // a gen_ai.evaluation.result event
	SourceEvaluator = "evaluator:" // prefix of an evaluator's name
)

// Limits of a score's fields, in bytes.
const (
	MaxScoreName    = 200
	MaxScoreLabel   = 200
	MaxScoreComment = 16 << 10
	MaxScoreAuthor  = 200
	MaxScoreID      = 64
	MaxScoreSession = 256
	MaxScoreLimit   = 1000
)

// Score is one judgement of a span, a trace or a session. A span score
// has TraceID and SpanID, a trace score TraceID only, a session score
// SessionID only. It has a numeric Value, a Label, or both.
type Score struct {
	ID        string   `json:"id"`
	Project   string   `json:"project"`
	TraceID   string   `json:"trace_id,omitempty"`   // 32 lower-case hex digits
	SpanID    string   `json:"span_id,omitempty"`    // 16 lower-case hex digits
	SessionID string   `json:"session_id,omitempty"` // the effective session
	Name      string   `json:"name"`
	Value     *float64 `json:"value,omitempty"`
	Label     string   `json:"label,omitempty"`
	// Comment is the explanation or the user's comment: content, hidden
	// from readers without the content permission.
	Comment string    `json:"comment,omitempty"`
	Source  string    `json:"source"`
	Author  string    `json:"author,omitempty"` // who made it: a user, "key:<id>", "admin"; "" when auth is off
	Time    time.Time `json:"time"`             // when it was made
	Updated time.Time `json:"updated"`          // when it was last changed
	// TargetTime is the start of the scored span or trace (the time of
	// the score for a session): retention removes the score with it.
	TargetTime time.Time `json:"target_time"`
}

// Validate checks a score before it is stored; errors wrap ErrBadQuery.
func (s *Score) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: score: %s", ErrBadQuery, fmt.Sprintf(format, a...))
	}
	text := func(field, v string, limit int, required bool) error {
		switch {
		case v == "" && required:
			return bad("%s is required", field)
		case len(v) > limit:
			return bad("%s is longer than %d bytes", field, limit)
		case !utf8.ValidString(v):
			return bad("%s is not valid UTF-8", field)
		}
		return nil
	}
	for _, f := range []struct {
		name, v  string
		limit    int
		required bool
	}{
		{"project", s.Project, MaxScoreName, true}, {"id", s.ID, MaxScoreID, true}, {"name", s.Name, MaxScoreName, true},
		{"label", s.Label, MaxScoreLabel, false}, {"comment", s.Comment, MaxScoreComment, false},
		{"author", s.Author, MaxScoreAuthor, false}, {"session_id", s.SessionID, MaxScoreSession, false},
		{"source", s.Source, MaxScoreName, true},
	} {
		if err := text(f.name, f.v, f.limit, f.required); err != nil {
			return err
		}
	}
	if !ValidScoreSource(s.Source) {
		return bad("source %q is not api, human, feedback, otel or evaluator:<name>", s.Source)
	}
	if s.Value == nil && s.Label == "" {
		return bad("a value or a label is required")
	}
	if s.Value != nil && (math.IsNaN(*s.Value) || math.IsInf(*s.Value, 0)) {
		return bad("the value is not a finite number")
	}
	switch {
	case s.TraceID != "":
		if _, err := genai.ParseTraceID(s.TraceID); err != nil || s.TraceID != strings.ToLower(s.TraceID) {
			return bad("trace_id %q is not 32 lower-case hex digits", s.TraceID)
		}
		if s.SpanID != "" {
			if _, err := genai.ParseSpanID(s.SpanID); err != nil || s.SpanID != strings.ToLower(s.SpanID) {
				return bad("span_id %q is not 16 lower-case hex digits", s.SpanID)
			}
		}
		if s.SessionID != "" {
			return bad("a score is of a trace (or one of its spans) or of a session, not both")
		}
	case s.SpanID != "":
		return bad("span_id needs its trace_id")
	case s.SessionID == "":
		return bad("a target is required: trace_id (and span_id) or session_id")
	}
	if s.Time.IsZero() || s.TargetTime.IsZero() {
		return bad("time and target time are required")
	}
	return nil
}

// ValidScoreSource reports whether src is one of the sources.
func ValidScoreSource(src string) bool {
	switch src {
	case SourceAPI, SourceHuman, SourceFeedback, SourceOTel:
		return true
	}
	name, ok := strings.CutPrefix(src, SourceEvaluator)
	return ok && name != ""
}

// ScoreQuery selects scores: those of the project that match every field
// set. Time is the score's time, in [From, To).
type ScoreQuery struct {
	Project   string   // required
	TraceIDs  []string // any of these traces (at most MaxScoreLimit)
	SpanID    string
	SessionID string
	Name      string
	Source    string
	From, To  time.Time
	Limit     int // Scores only: 0 means 100, at most MaxScoreLimit
}

// Validate checks the query and fills in the default limit; errors wrap
// ErrBadQuery.
func (q *ScoreQuery) Validate() error {
	if q.Project == "" {
		return fmt.Errorf("%w: project is required", ErrBadQuery)
	}
	if len(q.TraceIDs) > MaxScoreLimit {
		return fmt.Errorf("%w: more than %d trace ids", ErrBadQuery, MaxScoreLimit)
	}
	if q.Limit < 0 || q.Limit > MaxScoreLimit {
		return fmt.Errorf("%w: limit must be 1 to %d", ErrBadQuery, MaxScoreLimit)
	}
	if q.Limit == 0 {
		q.Limit = 100
	}
	return nil
}

// ScoreStat is ScoreStats' row of one score name.
type ScoreStat struct {
	Name   string           `json:"name"`
	Count  int64            `json:"count"`  // scores
	Values int64            `json:"values"` // of them, with a value
	Avg    float64          `json:"avg"`    // of the values; 0 when none
	Min    float64          `json:"min"`
	Max    float64          `json:"max"`
	Labels map[string]int64 `json:"labels"` // scores per label (those with one)
}

// ScoreGroup is a backend's aggregate of the scores of one name and label
// (GROUP BY name, label), which FoldScoreGroups turns into ScoreStats.
type ScoreGroup struct {
	Name, Label   string
	Count, Values int64
	Sum, Min, Max float64 // over the scores with a value
}

// FoldScoreGroups folds the groups into one ScoreStat per name, by name.
func FoldScoreGroups(groups []ScoreGroup) []ScoreStat {
	out := []ScoreStat{}
	var sum float64
	for _, g := range groups {
		if len(out) == 0 || out[len(out)-1].Name != g.Name {
			if len(out) > 0 {
				out[len(out)-1].finish(sum)
			}
			out = append(out, ScoreStat{Name: g.Name, Labels: map[string]int64{}})
			sum = 0
		}
		st := &out[len(out)-1]
		st.Count += g.Count
		if g.Label != "" {
			st.Labels[g.Label] += g.Count
		}
		if g.Values > 0 {
			if st.Values == 0 || g.Min < st.Min {
				st.Min = g.Min
			}
			if st.Values == 0 || g.Max > st.Max {
				st.Max = g.Max
			}
			st.Values += g.Values
			sum += g.Sum
		}
	}
	if len(out) > 0 {
		out[len(out)-1].finish(sum)
	}
	return out
}

func (st *ScoreStat) finish(sum float64) {
	if st.Values > 0 {
		st.Avg = sum / float64(st.Values)
	}
}

// ScoreFilter selects the spans with a score of their own (not their
// trace's or session's) named Name that satisfies Op: ScoreHas (any
// score of the name), ScoreLT / ScoreGT (its value is less / greater
// than Value; a score without a value never is) or ScoreLabelIs (its
// label is Label). One of the span's scores of the name satisfying it is
// enough.
type ScoreFilter struct {
	Name  string  `json:"name"`
	Op    string  `json:"op"`
	Value float64 `json:"value,omitempty"`
	Label string  `json:"label,omitempty"`
}

// The operators of a ScoreFilter.
const (
	ScoreHas     = "has"
	ScoreLT      = "lt"
	ScoreGT      = "gt"
	ScoreLabelIs = "label"
)

// MaxScoreFilters bounds a Filter's Scores.
const MaxScoreFilters = 8

func (f ScoreFilter) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: score filter %q: %s", ErrBadQuery, f.Name, fmt.Sprintf(format, a...))
	}
	if f.Name == "" || len(f.Name) > MaxScoreName || !utf8.ValidString(f.Name) {
		return bad("the name must be 1 to %d bytes of UTF-8", MaxScoreName)
	}
	switch f.Op {
	case ScoreHas:
	case ScoreLT, ScoreGT:
		if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
			return bad("the value is not a finite number")
		}
	case ScoreLabelIs:
		if f.Label == "" || len(f.Label) > MaxScoreLabel || !utf8.ValidString(f.Label) {
			return bad("the label must be 1 to %d bytes of UTF-8", MaxScoreLabel)
		}
	default:
		return bad("operator %q is not has, lt, gt or label", f.Op)
	}
	return nil
}

// Matches reports whether the score sc (of the span) satisfies f.
func (f ScoreFilter) Matches(sc Score) bool {
	if sc.Name != f.Name {
		return false
	}
	switch f.Op {
	case ScoreLT:
		return sc.Value != nil && *sc.Value < f.Value
	case ScoreGT:
		return sc.Value != nil && *sc.Value > f.Value
	case ScoreLabelIs:
		return sc.Label == f.Label
	}
	return true
}

// ResponseFinder is implemented by backends that can find a call by the
// id its provider gave the response (genai.Span.ResponseID), so that
// feedback and evaluation results naming only a response id land on
// their call. storetest.RunScores checks it.
//
// FindResponse returns the newest span of the project started in [from,
// to) whose ResponseID is id, or an error wrapping ErrNotFound. It may
// read every span of the range: callers keep the range short.
type ResponseFinder interface {
	FindResponse(ctx context.Context, project, id string, from, to time.Time) (SpanRef, error)
}

// SpanRef names a span and when it started.
type SpanRef struct {
	TraceID, SpanID string
	Start           time.Time
}

// ResponseNeedle is the text a span's stored detail holds when its
// ResponseID is id ("response_id":"<id>", JSON-escaped, with <, > and &
// escaped when escapeHTML, as the backend's encoder writes them), which
// backends search for before they check the field itself.
func ResponseNeedle(id string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(id)
	return `"response_id":` + strings.TrimSuffix(b.String(), "\n")
}
