package eval

import (
	"cmp"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// Kinds of the documents and events the engine stores.
const (
	KindEvaluator = "evaluator"
	KindRun       = "evaluator_run"
)

// AttrEvaluator is the span attribute that marks a judge's own call
// (its value is the evaluator's name): such calls are never evaluated.
const AttrEvaluator = "genscope.evaluator.name"

// Errors of the engine's operations.
var (
	ErrNotFound  = errors.New("no such evaluator")
	ErrReadOnly  = errors.New("evaluator is read-only: it is defined in the config file")
	ErrForbidden = errors.New("forbidden: not permitted in this project")
)

// Reader reads a stored trace, with its calls' content.
type Reader interface {
	Trace(ctx context.Context, project string, id genai.TraceID) (store.Trace, error)
}

// Access is what one API request may do with evaluators, project by
// project (as with alert rules).
type Access interface {
	// CanRead: see the project's evaluators and their runs.
	CanRead(project string) bool
	// CanEdit: create, change and delete them.
	CanEdit(project string) bool
}

// Options configure an Engine.
type Options struct {
	State  store.StateStore // evaluators and their runs
	Scores store.ScoreStore // where results go
	Reader Reader           // where calls are read back
	// Judge calls a gateway deployment (nil on a node without the
	// gateway: judges' runs fail there). Deployments are the names of
	// the gateway's deployments and routes; none: llm_judge evaluators
	// are refused.
	Judge       Judge
	Deployments []string
	// DefaultProject is the project of an evaluator naming none.
	DefaultProject string
	// ConfigEvaluators come from the config file: read-only.
	ConfigEvaluators []Evaluator
	// MetadataOnly reports whether a project keeps metadata only: its
	// calls have no content, and evaluating them is a skipped run.
	MetadataOnly func(project string) bool
	// QueueSize bounds the calls waiting to be evaluated (default 1000);
	// more are dropped and counted. Workers evaluate (default 2).
	QueueSize int
	Workers   int
	// Delay is how long after a call is stored it is evaluated (default
	// 2s), so that content sent apart from its span (OTLP log records)
	// is stored too.
	Delay time.Duration
	// Attempts (default 3) and Backoff (default 1s, doubled each time)
	// retry transient failures: a judge's upstream, the store.
	Attempts int
	Backoff  time.Duration
	// Timeout bounds one attempt (default 60s).
	Timeout time.Duration
	// AccessFor is what a request may do; nil: everything.
	AccessFor func(*http.Request) Access
	Metrics   prometheus.Registerer
	Log       *slog.Logger
}

// Engine keeps the evaluators and runs them on the calls it is shown.
type Engine struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	config []*compiled          // from the file, in file order
	stored map[string]*compiled // by id
	active atomic.Pointer[[]*compiled]

	queue   chan job
	running atomic.Bool
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	m *metrics
}

// job is one call to evaluate with one evaluator.
type job struct {
	ev       *compiled
	project  string
	traceID  genai.TraceID
	spanID   genai.SpanID
	spanTime time.Time
	due      time.Time
}

// New loads the evaluators: the config file's and the stored ones.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1000
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Delay == 0 {
		opts.Delay = 2 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{opts: opts, log: opts.Log, stored: map[string]*compiled{}, queue: make(chan job, opts.QueueSize), stop: make(chan struct{})}
	m, err := newMetrics(opts.Metrics, e)
	if err != nil {
		return nil, err
	}
	e.m = m
	var errs []error
	ids := map[string]bool{}
	for i, ev := range opts.ConfigEvaluators {
		ev.ID = cmp.Or(ev.ID, ev.Name)
		ev.ReadOnly = true
		c, err := e.check(ev)
		if err != nil {
			errs = append(errs, fmt.Errorf("evaluators[%d]: %w", i, err))
			continue
		}
		if ids[ev.ID] {
			errs = append(errs, fmt.Errorf("evaluators[%d]: id %q is defined twice", i, ev.ID))
		}
		ids[ev.ID] = true
		e.config = append(e.config, c)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// check validates ev and compiles it; the judge's deployment must be
// served.
func (e *Engine) check(ev Evaluator) (*compiled, error) {
	ev.Project = cmp.Or(ev.Project, e.opts.DefaultProject)
	c, err := compile(ev)
	if err != nil {
		return nil, err
	}
	if ev.Type == TypeLLMJudge {
		switch {
		case len(e.opts.Deployments) == 0:
			return nil, &FieldError{"type", "llm_judge needs the gateway (gateway.enabled)"}
		case !slices.Contains(e.opts.Deployments, ev.Deployment):
			return nil, &FieldError{"deployment", fmt.Sprintf("%q is not a gateway deployment (%v)", ev.Deployment, e.opts.Deployments)}
		}
	}
	return c, nil
}

// Reload rereads the stored evaluators (changes made through another
// node sharing the store).
func (e *Engine) Reload(ctx context.Context) error {
	stored := map[string]*compiled{}
	err := e.opts.State.ListDocs(ctx, KindEvaluator, func(id string, doc []byte) error {
		var ev Evaluator
		if err := json.Unmarshal(doc, &ev); err != nil {
			e.log.Warn("stored evaluator unreadable; skipped", "id", id, "err", err)
			return nil
		}
		ev.ID, ev.ReadOnly = id, false
		c, err := e.check(ev)
		if err != nil {
			// Kept, but it cannot run (say, its deployment is gone).
			e.log.Warn("stored evaluator invalid; not run", "id", id, "name", ev.Name, "err", err)
			c = &compiled{Evaluator: ev}
			c.Enabled = false
		}
		stored[id] = c
		return nil
	})
	if err != nil {
		return fmt.Errorf("load evaluators: %w", err)
	}
	e.mu.Lock()
	e.stored = stored
	e.activateLocked()
	e.mu.Unlock()
	return nil
}

// activateLocked publishes the enabled evaluators to Observe.
func (e *Engine) activateLocked() {
	var act []*compiled
	for _, c := range e.config {
		if c.Enabled {
			act = append(act, c)
		}
	}
	for _, c := range e.stored {
		if c.Enabled {
			act = append(act, c)
		}
	}
	e.active.Store(&act)
}

// Evaluators returns every evaluator, the config file's first, then by
// name and id.
func (e *Engine) Evaluators() []Evaluator {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Evaluator, 0, len(e.config)+len(e.stored))
	for _, c := range e.config {
		out = append(out, c.Evaluator)
	}
	n := len(out)
	for _, c := range e.stored {
		out = append(out, c.Evaluator)
	}
	slices.SortFunc(out[n:], func(a, b Evaluator) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Evaluator returns one evaluator.
func (e *Engine) Evaluator(id string) (Evaluator, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.findLocked(id); c != nil {
		return c.Evaluator, nil
	}
	return Evaluator{}, ErrNotFound
}

func (e *Engine) findLocked(id string) *compiled {
	for _, c := range e.config {
		if c.ID == id {
			return c
		}
	}
	return e.stored[id]
}

// nameTakenLocked reports whether another evaluator (not id) of the
// project has the name: its scores would mix with ev's.
func (e *Engine) nameTakenLocked(ev Evaluator, id string) bool {
	for _, c := range e.config {
		if c.ID != id && c.Name == ev.Name && c.Project == ev.Project {
			return true
		}
	}
	for _, c := range e.stored {
		if c.ID != id && c.Name == ev.Name && c.Project == ev.Project {
			return true
		}
	}
	return false
}

// Create validates and stores a new evaluator with a new id.
func (e *Engine) Create(ctx context.Context, ev Evaluator) (Evaluator, error) {
	return e.put(ctx, "", ev)
}

// Update replaces an evaluator made through the API.
func (e *Engine) Update(ctx context.Context, id string, ev Evaluator) (Evaluator, error) {
	return e.put(ctx, id, ev)
}

func (e *Engine) put(ctx context.Context, id string, ev Evaluator) (Evaluator, error) {
	ev.Project = cmp.Or(ev.Project, e.opts.DefaultProject)
	c, err := e.check(ev)
	if err != nil {
		return Evaluator{}, err
	}
	now := time.Now().UTC()
	e.mu.Lock()
	defer e.mu.Unlock()
	if id == "" {
		id = newID()
		c.CreatedAt = now
	} else {
		old := e.findLocked(id)
		switch {
		case old == nil:
			return Evaluator{}, ErrNotFound
		case old.ReadOnly:
			return Evaluator{}, ErrReadOnly
		}
		c.CreatedAt = old.CreatedAt
	}
	if e.nameTakenLocked(c.Evaluator, id) {
		return Evaluator{}, &FieldError{"name", fmt.Sprintf("%q is already an evaluator of project %s", ev.Name, c.Project)}
	}
	c.ID, c.ReadOnly, c.UpdatedAt = id, false, now
	doc, err := json.Marshal(c.Evaluator)
	if err != nil {
		return Evaluator{}, err
	}
	if err := e.opts.State.PutDoc(ctx, KindEvaluator, id, doc); err != nil {
		return Evaluator{}, fmt.Errorf("save evaluator %s: %w", id, err)
	}
	e.stored[id] = c
	e.activateLocked()
	return c.Evaluator, nil
}

// Delete removes an evaluator made through the API; its scores and runs
// stay.
func (e *Engine) Delete(ctx context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := e.findLocked(id)
	switch {
	case old == nil:
		return ErrNotFound
	case old.ReadOnly:
		return ErrReadOnly
	}
	if err := e.opts.State.DeleteDoc(ctx, KindEvaluator, id); err != nil {
		return fmt.Errorf("delete evaluator %s: %w", id, err)
	}
	delete(e.stored, id)
	e.activateLocked()
	return nil
}

func newID() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Start starts the workers; Stop ends them. Before Start, Observe
// ignores what it is shown (a node that does not ingest evaluates
// nothing).
func (e *Engine) Start() {
	for range e.opts.Workers {
		e.wg.Add(1)
		go e.work()
	}
	e.running.Store(true)
}

// Stop stops the workers and waits for the runs in progress; what is
// still queued is not evaluated.
func (e *Engine) Stop() {
	e.running.Store(false)
	e.once.Do(func() { close(e.stop) })
	e.wg.Wait()
}

// Observe is shown every batch the store has just written. It never
// blocks: it picks the calls each enabled evaluator wants (project,
// filters, sample, budget) and queues them; what does not fit is dropped
// and counted. A judge's own calls (AttrEvaluator) are never picked.
func (e *Engine) Observe(b *store.Batch) {
	act := e.active.Load()
	if act == nil || len(*act) == 0 || !e.running.Load() {
		return
	}
	now := time.Now()
	for i := range b.Spans {
		sp := &b.Spans[i]
		if !sp.IsCall() {
			continue
		}
		if _, judge := sp.Attributes[AttrEvaluator]; judge {
			continue
		}
		project := sp.Project
		for _, c := range *act {
			if !c.matches(sp, project) || (c.Sample < 1 && rand.Float64() >= c.Sample) {
				continue
			}
			if !c.budget.take(now) {
				e.m.picked.WithLabelValues("over_budget").Inc()
				continue
			}
			select {
			case e.queue <- job{ev: c, project: project, traceID: sp.TraceID, spanID: sp.SpanID,
				spanTime: time.Unix(0, sp.StartUnixNano).UTC(), due: now.Add(e.opts.Delay)}:
				e.m.picked.WithLabelValues("queued").Inc()
			default:
				e.m.picked.WithLabelValues("full").Inc()
			}
		}
	}
}

// matches reports whether the evaluator wants the call.
func (c *compiled) matches(sp *genai.Span, project string) bool {
	f := &c.Filters
	return c.Project == project &&
		(f.Model == "" || f.Model == sp.RequestModel || f.Model == sp.ResponseModel) &&
		(f.Service == "" || f.Service == sp.Service) &&
		(f.Operation == "" || f.Operation == sp.Operation) &&
		(f.Provider == "" || f.Provider == sp.Provider)
}

func (e *Engine) work() {
	defer e.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-e.stop
		cancel()
	}()
	for {
		select {
		case <-e.stop:
			return
		case j := <-e.queue:
			if !sleep(ctx, time.Until(j.due)) {
				return
			}
			e.run(ctx, j)
		}
	}
}

// sleep waits d, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
