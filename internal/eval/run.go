package eval

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// Run statuses.
const (
	StatusOK      = "ok"      // a score was written
	StatusFailed  = "failed"  // no score: Error says why
	StatusSkipped = "skipped" // nothing to evaluate: Reason says why
)

// Run is the record of one evaluation of one call. It holds no content:
// the score's explanation is kept with the score only.
type Run struct {
	ID          string    `json:"id"`
	EvaluatorID string    `json:"evaluator_id"`
	Evaluator   string    `json:"evaluator"` // its name
	Type        string    `json:"type"`
	Project     string    `json:"project"`
	TraceID     string    `json:"trace_id"`
	SpanID      string    `json:"span_id"`
	Status      string    `json:"status"`
	Attempts    int       `json:"attempts"`
	Value       *float64  `json:"value,omitempty"`
	Label       string    `json:"label,omitempty"`
	ScoreID     string    `json:"score_id,omitempty"`
	Error       string    `json:"error,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Time        time.Time `json:"time"`
	DurationMS  float64   `json:"duration_ms"`
}

// errNoContent is a call that holds nothing to evaluate.
var errNoContent = errors.New("no content")

// run evaluates one call and records the run.
func (e *Engine) run(ctx context.Context, j job) {
	start := time.Now()
	ev := j.ev
	r := Run{ID: newID(), EvaluatorID: ev.ID, Evaluator: ev.Name, Type: ev.Type, Project: j.project,
		TraceID: j.traceID.String(), SpanID: j.spanID.String(), Time: start.UTC()}
	res, attempts, err := e.evaluate(ctx, j)
	r.Attempts = attempts
	if err == nil {
		sc := e.score(j, res)
		var n int
		n, err = e.retry(ctx, func(ctx context.Context) error {
			if err := e.opts.Scores.PutScore(ctx, sc); err != nil {
				return Transient(fmt.Errorf("store the score: %w", err))
			}
			return nil
		})
		r.Attempts += n - 1
		if err == nil {
			r.Status, r.Value, r.Label, r.ScoreID = StatusOK, res.Value, res.Label, sc.ID
		}
	}
	var skip *skipError
	switch {
	case err == nil:
	case errors.As(err, &skip):
		r.Status, r.Reason = StatusSkipped, skip.reason
	default:
		r.Status, r.Error = StatusFailed, truncate(err.Error(), 2000)
	}
	if ctx.Err() != nil && r.Status == StatusFailed {
		return // shutting down: not a failure of the evaluator
	}
	took := time.Since(start)
	r.DurationMS = float64(took.Microseconds()) / 1000
	e.m.runs.WithLabelValues(r.Status).Inc()
	e.m.seconds.WithLabelValues(ev.Type).Observe(took.Seconds())
	doc, _ := json.Marshal(r)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.opts.State.AppendEvent(wctx, KindRun, ev.ID, r.Time, doc); err != nil {
		e.m.unrecorded.Inc()
		e.log.Warn("evaluator run not recorded", "evaluator", ev.Name, "err", err)
	}
}

// skipError is a run with nothing to evaluate.
type skipError struct{ reason string }

func (s *skipError) Error() string { return s.reason }

// evaluate reads the call back and judges it, retrying transient
// failures; it returns the attempts made.
func (e *Engine) evaluate(ctx context.Context, j job) (Result, int, error) {
	ev := j.ev
	if e.opts.MetadataOnly != nil && e.opts.MetadataOnly(j.project) {
		// Never read: the project's content is not to be read by anyone.
		return Result{}, 1, &skipError{"the project keeps metadata only (capture: metadata): there is no content to evaluate"}
	}
	var call Call
	n1, err := e.retry(ctx, func(ctx context.Context) error {
		c, err := e.readCall(ctx, j)
		call = c
		return err
	})
	if err != nil {
		return Result{}, n1, err
	}
	field := cmp.Or(ev.Field, FieldOutput)
	if ev.Type == TypeLLMJudge {
		field = FieldOutput
	}
	if call.text(field) == "" && !(ev.Type == TypeRefusal && len(call.FinishReasons) > 0) {
		return Result{}, n1, &skipError{fmt.Sprintf("the call has no %s text (content not captured, or not text)", field)}
	}
	if ev.Type != TypeLLMJudge {
		return ev.rule(&call), n1, nil
	}
	if e.opts.Judge == nil {
		return Result{}, n1, errors.New("this node runs no gateway to call the judge through")
	}
	var res Result
	n2, err := e.retry(ctx, func(ctx context.Context) error {
		answer, err := e.opts.Judge(ctx, JudgeRequest{Project: j.project, Deployment: ev.Deployment, EvaluatorID: ev.ID,
			EvaluatorName: ev.Name, Prompt: render(ev.Template, &call)})
		if err != nil {
			return fmt.Errorf("judge %s: %w", ev.Deployment, err)
		}
		res, err = parseAnswer(answer, ev.Labels)
		return err
	})
	return res, n1 + n2 - 1, err
}

// readCall reads the call's texts from the store.
func (e *Engine) readCall(ctx context.Context, j job) (Call, error) {
	tr, err := e.opts.Reader.Trace(ctx, j.project, j.traceID)
	if errors.Is(err, store.ErrNotFound) {
		return Call{}, fmt.Errorf("the call is not in the store (removed by retention?)")
	}
	if err != nil {
		return Call{}, Transient(fmt.Errorf("read the call: %w", err))
	}
	want := j.spanID.String()
	var found *store.TraceNode
	var walk func([]*store.TraceNode)
	walk = func(ns []*store.TraceNode) {
		for _, n := range ns {
			if found != nil {
				return
			}
			if n.SpanID == want {
				found = n
				return
			}
			walk(n.Children)
		}
	}
	walk(tr.Roots)
	if found == nil {
		return Call{}, fmt.Errorf("the call is not in the store (removed by retention?)")
	}
	sp := &found.Span
	return Call{System: store.PartsText(sp.SystemInstructions), Input: store.MessagesText(sp.InputMessages),
		Output: store.MessagesText(sp.OutputMessages), FinishReasons: sp.FinishReasons}, nil
}

// retry runs f until it succeeds, fails for good, or Attempts are used,
// waiting Backoff (doubled each time) between attempts; each attempt
// gets Timeout. It returns the attempts made.
func (e *Engine) retry(ctx context.Context, f func(context.Context) error) (int, error) {
	var err error
	wait := e.opts.Backoff
	for n := 1; ; n++ {
		actx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
		err = f(actx)
		cancel()
		if err == nil || !isTransient(err) || n >= e.opts.Attempts {
			if err != nil && isTransient(err) {
				err = fmt.Errorf("%w (gave up after %d attempts)", err, n)
			}
			return n, err
		}
		if !sleep(ctx, wait) {
			return n, err
		}
		wait *= 2
	}
}

// score is the score a result makes: one per evaluator and call, so a
// call evaluated again gets its score replaced.
func (e *Engine) score(j job, res Result) store.Score {
	now := time.Now().UTC()
	h := sha256.Sum256([]byte(j.ev.ID + "\x00" + j.project + "\x00" + j.traceID.String() + "\x00" + j.spanID.String()))
	return store.Score{
		ID: "eval-" + hex.EncodeToString(h[:12]), Project: j.project, TraceID: j.traceID.String(), SpanID: j.spanID.String(),
		Name: j.ev.Name, Value: res.Value, Label: truncate(res.Label, store.MaxScoreLabel), Comment: truncate(res.Comment, store.MaxScoreComment),
		Source: store.SourceEvaluator + j.ev.Name, Time: now, Updated: now, TargetTime: j.spanTime,
	}
}

// Runs returns an evaluator's newest runs (at most limit), newest first;
// status, when set, keeps those of that status.
func (e *Engine) Runs(ctx context.Context, id, status string, limit int) ([]Run, error) {
	out := []Run{}
	fetch := limit
	if status != "" {
		fetch = min(limit*10, 10000) // runs of other statuses are read and left out
	}
	err := e.opts.State.ListEvents(ctx, KindRun, id, fetch, func(doc []byte) error {
		var r Run
		if err := json.Unmarshal(doc, &r); err != nil {
			return nil
		}
		if (status == "" || r.Status == status) && len(out) < limit {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list evaluator runs: %w", err)
	}
	return out, nil
}
