package alert

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tenancy"
)

// Errors the engine's callers map to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	// ErrReadOnly is returned for changes to rules from the config file.
	ErrReadOnly = errors.New("read-only: defined in the config file")
	// ErrPassive is returned by Evaluate on a passive engine.
	ErrPassive = errors.New("this node does not evaluate alert rules: the genscope node running the alerts component does")
)

// Querier is what evaluation and previews read from the store.
type Querier interface {
	Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error)
	Timeseries(ctx context.Context, q store.TimeseriesQuery) ([]store.Series, error)
}

// Options configure an Engine.
type Options struct {
	Query Querier
	// Scores answers score signals (score.<name>); nil refuses them at
	// evaluation.
	Scores ScoreQuerier
	State  store.StateStore
	Notify NotifyFunc
	// DefaultProject is the project of rules whose filters name none.
	DefaultProject string
	// ConfigRules are the rules from the config file: read-only, not
	// stored (their alert state is).
	ConfigRules []Rule
	// GroupExists checks a rule's action group ids; nil accepts any.
	GroupExists func(id string) bool
	// MaxConcurrent bounds concurrent evaluations; 0 means 4.
	MaxConcurrent int
	// EvalTimeout bounds one evaluation's query; 0 means 30s (and never
	// more than the rule's frequency).
	EvalTimeout time.Duration
	// MaxSplit bounds the alerts of one split rule; 0 means 100.
	MaxSplit int
	// Now is the clock windows end at; nil means time.Now (benchmarks
	// over an old dataset set it).
	Now func() time.Time
	// Passive engines keep and serve rules but never evaluate or notify:
	// another node sharing the store does. Start does nothing, Evaluate
	// returns ErrPassive, and Reload rereads the alerts too (the
	// evaluating node's), so that the alerts and rule states shown are
	// that node's as last stored.
	Passive bool
	// FirstDelay is how long after it is scheduled a rule is first
	// evaluated; nil means a random offset within its first period, so
	// that rules do not all query at once.
	FirstDelay func(frequency time.Duration) time.Duration
	// AccessFor is what an API request may do (the app builds it from the
	// request's principal); nil lets every request do everything, as when
	// authentication is off. See Access.
	AccessFor func(r *http.Request) Access
	// Metrics registers the engine's metrics; nil means none.
	Metrics prometheus.Registerer
	Log     *slog.Logger
}

// Engine holds the rules and their alerts, evaluates them on schedule
// and hands state changes to the notify function. Its methods are safe
// for concurrent use.
type Engine struct {
	opts    Options
	log     *slog.Logger
	sem     chan struct{}
	metrics *metrics

	mu     sync.Mutex
	rules  map[string]*ruleEntry
	alerts map[string]*Instance // by instance id
	runCtx context.Context      // set by Start
	wg     sync.WaitGroup

	// writes counts the rule changes this engine stored, each counted
	// after the store has it: a Reload that read the store while one
	// happened may have missed it, so it reads again.
	writes atomic.Uint64
}

type ruleEntry struct {
	rule   Rule
	evalMu sync.Mutex // one evaluation of a rule at a time
	cancel context.CancelFunc
}

// New loads the stored rules and alert state and adds the config rules.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Query == nil || opts.State == nil || opts.Notify == nil {
		return nil, errors.New("alert engine: Query, State and Notify are required")
	}
	opts.MaxConcurrent = cmp.Or(opts.MaxConcurrent, 4)
	opts.EvalTimeout = cmp.Or(opts.EvalTimeout, 30*time.Second)
	opts.MaxSplit = cmp.Or(opts.MaxSplit, 100)
	opts.DefaultProject = cmp.Or(opts.DefaultProject, tenancy.DefaultProject)
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FirstDelay == nil {
		opts.FirstDelay = func(freq time.Duration) time.Duration { return time.Duration(mrand.Int64N(int64(freq))) }
	}
	e := &Engine{opts: opts, log: opts.Log, sem: make(chan struct{}, opts.MaxConcurrent),
		rules: map[string]*ruleEntry{}, alerts: map[string]*Instance{}}
	e.metrics = newMetrics(opts.Metrics, e)
	err := opts.State.ListDocs(ctx, KindRule, func(id string, doc []byte) error {
		var r Rule
		if err := json.Unmarshal(doc, &r); err != nil {
			return fmt.Errorf("rule %s: %w", id, err)
		}
		e.rules[r.ID] = &ruleEntry{rule: r}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load alert rules: %w", err)
	}
	for i, r := range opts.ConfigRules {
		if r.ID == "" {
			return nil, fmt.Errorf("config alert rule %d (%s): no id", i, r.Name)
		}
		if err := r.Validate(); err != nil {
			return nil, fmt.Errorf("config alert rule %s: %w", r.ID, err)
		}
		r.ReadOnly = true
		e.rules[r.ID] = &ruleEntry{rule: r}
	}
	err = opts.State.ListDocs(ctx, KindInstance, func(id string, doc []byte) error {
		var in Instance
		if err := json.Unmarshal(doc, &in); err != nil {
			return fmt.Errorf("alert %s: %w", id, err)
		}
		e.alerts[in.ID] = &in
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load alert state: %w", err)
	}
	// Alerts of rules that are gone (removed from the config file) go too
	// (by the evaluating node: a passive one writes no alert state).
	for id, in := range e.alerts {
		if e.rules[in.RuleID] == nil && !opts.Passive {
			delete(e.alerts, id)
			if err := opts.State.DeleteDoc(ctx, KindInstance, id); err != nil {
				return nil, fmt.Errorf("drop alert state %s: %w", id, err)
			}
		}
	}
	return e, nil
}

// Start starts evaluating every enabled rule at its frequency (each at a
// random offset within its first period, so rules do not all query at
// once) and hands over the notifications a previous run left pending.
// Stop ends it.
func (e *Engine) Start(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.runCtx != nil || e.opts.Passive {
		return
	}
	e.runCtx = ctx
	for _, re := range e.rules {
		e.startLocked(re)
	}
	var pending []*Instance
	for _, in := range e.alerts {
		if in.NotifiedChange < in.ChangeID {
			pending = append(pending, in)
		}
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for _, in := range pending {
			e.mu.Lock()
			re := e.rules[in.RuleID]
			e.mu.Unlock()
			if re == nil {
				continue
			}
			re.evalMu.Lock()
			e.notify(ctx, re.rule, in)
			re.evalMu.Unlock()
		}
	}()
}

// Stop stops the scheduler and waits for running evaluations.
func (e *Engine) Stop() {
	e.mu.Lock()
	for _, re := range e.rules {
		if re.cancel != nil {
			re.cancel()
			re.cancel = nil
		}
	}
	e.runCtx = nil
	e.mu.Unlock()
	e.wg.Wait()
}

// startLocked starts a rule's evaluation loop if the engine runs and the
// rule is enabled. Callers hold e.mu.
func (e *Engine) startLocked(re *ruleEntry) {
	if e.runCtx == nil || !re.rule.Enabled || re.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(e.runCtx)
	re.cancel = cancel
	freq := re.rule.Frequency.D()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		first := time.NewTimer(e.opts.FirstDelay(freq))
		defer first.Stop()
		select {
		case <-ctx.Done():
			return
		case <-first.C:
		}
		tick := time.NewTicker(freq)
		defer tick.Stop()
		for {
			if _, err := e.evaluate(ctx, re); err != nil && ctx.Err() == nil {
				e.log.Warn("alert rule evaluation failed", "rule", re.rule.ID, "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
}

func (e *Engine) stopLocked(re *ruleEntry) {
	if re.cancel != nil {
		re.cancel()
		re.cancel = nil
	}
}

// Result is what one evaluation of a rule saw.
type Result struct {
	RuleID string `json:"rule_id"`
	// Value is the aggregate (of the first alert when split); null when
	// there was no data.
	Value *float64 `json:"value"`
	// State is the rule's: fired if any of its alerts is, else resolved if
	// any is, else ok.
	State       State      `json:"state"`
	Changed     bool       `json:"changed"`
	Query       string     `json:"query"`
	EvaluatedAt time.Time  `json:"evaluated_at"`
	Alerts      []Instance `json:"alerts"`
}

// Evaluate evaluates a rule now (enabled or not) and notifies the state
// changes.
func (e *Engine) Evaluate(ctx context.Context, id string) (Result, error) {
	if e.opts.Passive {
		return Result{}, ErrPassive
	}
	e.mu.Lock()
	re := e.rules[id]
	e.mu.Unlock()
	if re == nil {
		return Result{}, ErrNotFound
	}
	return e.evaluate(ctx, re)
}

func (e *Engine) evaluate(ctx context.Context, re *ruleEntry) (Result, error) {
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	defer func() { <-e.sem }()
	re.evalMu.Lock()
	defer re.evalMu.Unlock()
	e.mu.Lock()
	r := re.rule
	e.mu.Unlock()

	now := e.opts.Now()
	f := r.filter(e.opts.DefaultProject, now)
	query := r.queryText(f)
	rows, err := e.query(ctx, r, f)
	if err != nil {
		return Result{}, err
	}
	touched, changes := e.step(re, r, rows, query, now)
	if err := e.persist(ctx, r, touched, changes, query, now); err != nil {
		return Result{}, err
	}
	e.notifyPending(ctx, r)
	return e.result(r, touched, len(changes) > 0, query, now), nil
}

// query runs a rule's aggregate over its window, counting the evaluation.
func (e *Engine) query(ctx context.Context, r Rule, f store.Filter) ([]store.AggregateRow, error) {
	qctx, cancel := context.WithTimeout(ctx, min(e.opts.EvalTimeout, r.Frequency.D()))
	defer cancel()
	t0 := time.Now()
	var rows []store.AggregateRow
	var err error
	if _, ok := r.scoreName(); ok {
		rows, err = e.scoreRows(qctx, r, f)
	} else {
		rows, err = e.opts.Query.Aggregate(qctx, store.AggregateQuery{Filter: f, Metric: r.Signal, Agg: r.agg(),
			SplitBy: r.SplitBy, Limit: e.opts.MaxSplit})
	}
	e.metrics.duration.Observe(time.Since(t0).Seconds())
	if err != nil {
		e.metrics.evaluations.WithLabelValues("error").Inc()
		return nil, fmt.Errorf("evaluate rule %s: %w", r.ID, err)
	}
	e.metrics.evaluations.WithLabelValues("ok").Inc()
	return rows, nil
}

// change is an alert whose state an evaluation changed, and its state
// before.
type change struct {
	in   *Instance
	from State
}

// step moves the rule's alerts one evaluation on, under one hold of e.mu:
// one alert per row (per split value), and for a split rule the values
// without calls in the window as having no data. It returns copies of
// the alerts it stepped and the changes (live instances); nothing when
// the rule was deleted while it was queried.
func (e *Engine) step(re *ruleEntry, r Rule, rows []store.AggregateRow, query string, now time.Time) ([]*Instance, []change) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rules[r.ID] != re {
		return nil, nil // deleted while evaluating
	}
	var touched []*Instance
	var changes []change
	seen := map[string]bool{}
	apply := func(id, key string, o outcome, v float64) {
		seen[id] = true
		in := e.alerts[id]
		if in == nil {
			in = &Instance{ID: id, RuleID: r.ID, SplitBy: r.SplitBy, Key: key, State: StateOK,
				Operator: r.Operator, Threshold: r.Threshold}
			e.alerts[id] = in
		}
		in.RuleName, in.Severity = r.Name, r.Severity
		from := in.State
		if in.step(&r, o, v, query, now) {
			changes = append(changes, change{in, from})
		}
		cp := *in
		cp.Recent = slices.Clone(in.Recent)
		touched = append(touched, &cp)
	}
	for _, row := range rows {
		o := noData
		if r.hasValue(row) {
			o = notViolated
			if r.violated(row.Value) {
				o = violated
			}
		}
		apply(instanceID(r.ID, r.SplitBy, row.Key), row.Key, o, row.Value)
	}
	if r.SplitBy != "" {
		// Split values without calls in the window have no data.
		var missing []*Instance
		for _, in := range e.alerts {
			if in.RuleID == r.ID && !seen[in.ID] {
				missing = append(missing, in)
			}
		}
		for _, in := range missing {
			apply(in.ID, in.Key, noData, 0)
		}
	}
	return touched, changes
}

// persist stores the changed alerts with a history event each, and, for
// rules that look at more than one evaluation, every stepped alert (its
// recent outcomes).
func (e *Engine) persist(ctx context.Context, r Rule, touched []*Instance, changes []change, query string, now time.Time) error {
	for _, c := range changes {
		ev := Event{Time: now, AlertID: c.in.ID, RuleID: r.ID, RuleName: r.Name, Severity: r.Severity, Key: c.in.Key,
			From: c.from, To: c.in.State, Value: c.in.Value, HasValue: c.in.HasValue, Operator: r.Operator,
			Threshold: r.Threshold, Query: query, ChangeID: c.in.ChangeID}
		if err := e.saveInstance(ctx, c.in); err != nil {
			return err
		}
		doc, err := json.Marshal(ev)
		if err != nil {
			return fmt.Errorf("alert history: %w", err)
		}
		if err := e.opts.State.AppendEvent(ctx, KindHistory, r.ID, now, doc); err != nil {
			return fmt.Errorf("alert history: %w", err)
		}
		e.log.Info("alert state changed", "rule", r.ID, "alert", c.in.ID, "from", c.from, "to", c.in.State, "value", c.in.Value)
	}
	if r.Evaluations > 1 {
		for _, in := range touched {
			if err := e.saveInstance(ctx, in); err != nil {
				return err
			}
		}
	}
	return nil
}

// notifyPending hands over every change of the rule's alerts not yet
// handed over (this evaluation's, and any an earlier failure left
// pending).
func (e *Engine) notifyPending(ctx context.Context, r Rule) {
	e.mu.Lock()
	var pending []*Instance
	for _, in := range e.alerts {
		if in.RuleID == r.ID && in.NotifiedChange < in.ChangeID {
			pending = append(pending, in)
		}
	}
	e.mu.Unlock()
	for _, in := range pending {
		e.notify(ctx, r, in)
	}
}

// result is what an evaluation reports: the stepped alerts as they are
// now (after notifying), the rule's overall state, and the first alert's
// value.
func (e *Engine) result(r Rule, touched []*Instance, changed bool, query string, now time.Time) Result {
	res := Result{RuleID: r.ID, State: StateOK, Changed: changed, Query: query, EvaluatedAt: now, Alerts: []Instance{}}
	e.mu.Lock()
	for _, t := range touched {
		in, ok := e.alerts[t.ID]
		if !ok {
			continue // the rule was deleted meanwhile
		}
		cur := *in
		cur.Recent = slices.Clone(cur.Recent)
		res.Alerts = append(res.Alerts, cur)
	}
	e.mu.Unlock()
	for _, in := range res.Alerts {
		if in.State == StateFired {
			res.State = StateFired
		} else if in.State == StateResolved && res.State == StateOK {
			res.State = StateResolved
		}
	}
	if len(res.Alerts) > 0 && res.Alerts[0].HasValue {
		v := res.Alerts[0].Value
		res.Value = &v
	}
	return res
}

// notify hands an instance's latest change to the notify function and
// records that it did. Callers hold the rule's evalMu.
func (e *Engine) notify(ctx context.Context, r Rule, in *Instance) {
	e.mu.Lock()
	cp := *in
	cp.Recent = slices.Clone(in.Recent)
	e.mu.Unlock()
	if cp.NotifiedChange >= cp.ChangeID {
		return
	}
	n := Notification{ID: fmt.Sprintf("%s#%d", cp.ID, cp.ChangeID), Rule: r, Alert: cp}
	if err := e.opts.Notify(ctx, n); err != nil {
		e.log.Warn("alert notification not queued; will retry", "rule", r.ID, "alert", cp.ID, "err", err)
		return
	}
	e.mu.Lock()
	in.NotifiedChange = cp.ChangeID
	cp.NotifiedChange = cp.ChangeID
	e.mu.Unlock()
	if err := e.saveInstance(ctx, &cp); err != nil {
		// The notifier deduplicates by notification id: handing it over
		// again after a restart is harmless.
		e.log.Warn("save alert state", "alert", cp.ID, "err", err)
	}
}

func (e *Engine) saveInstance(ctx context.Context, in *Instance) error {
	doc, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if err := e.opts.State.PutDoc(ctx, KindInstance, in.ID, doc); err != nil {
		return fmt.Errorf("save alert %s: %w", in.ID, err)
	}
	return nil
}

// Rules returns every rule, by name then id.
func (e *Engine) Rules() []Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Rule, 0, len(e.rules))
	for _, re := range e.rules {
		out = append(out, re.rule)
	}
	slices.SortFunc(out, func(a, b Rule) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return out
}

// Rule returns one rule.
func (e *Engine) Rule(id string) (Rule, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	re := e.rules[id]
	if re == nil {
		return Rule{}, ErrNotFound
	}
	return re.rule, nil
}

// RuleState is the state of a rule's alerts: fired if any is, else
// resolved if any is, else ok.
func (e *Engine) RuleState(id string) State {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := StateOK
	for _, in := range e.alerts {
		if in.RuleID != id {
			continue
		}
		if in.State == StateFired {
			return StateFired
		}
		if in.State == StateResolved {
			st = StateResolved
		}
	}
	return st
}

func (e *Engine) check(r *Rule) error {
	errs := []error{r.Validate()}
	if e.opts.GroupExists != nil {
		for i, g := range r.ActionGroups {
			if g != "" && !e.opts.GroupExists(g) {
				errs = append(errs, &FieldError{Field: fmt.Sprintf("action_groups[%d]", i), Msg: fmt.Sprintf("no action group %q", g)})
			}
		}
	}
	return errors.Join(errs...)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (e *Engine) saveRule(ctx context.Context, r Rule) error {
	doc, err := json.Marshal(r)
	if err != nil {
		return err
	}
	err = e.opts.State.PutDoc(ctx, KindRule, r.ID, doc)
	e.writes.Add(1)
	if err != nil {
		return fmt.Errorf("save rule %s: %w", r.ID, err)
	}
	return nil
}

// Create validates and stores a new rule (with a new id) and schedules
// it. Validation errors are *FieldError values joined.
func (e *Engine) Create(ctx context.Context, r Rule) (Rule, error) {
	if err := e.check(&r); err != nil {
		return Rule{}, err
	}
	r.ID, r.ReadOnly = newID(), false
	r.CreatedAt = time.Now().UTC()
	r.UpdatedAt = r.CreatedAt
	if err := e.saveRule(ctx, r); err != nil {
		return Rule{}, err
	}
	e.mu.Lock()
	re := &ruleEntry{rule: r}
	e.rules[r.ID] = re
	e.startLocked(re)
	e.mu.Unlock()
	return r, nil
}

// Update replaces a rule. Its alerts keep their state, but their recent
// evaluations are forgotten; when the split dimension changes, its old
// alerts are removed.
func (e *Engine) Update(ctx context.Context, id string, r Rule) (Rule, error) {
	e.mu.Lock()
	re := e.rules[id]
	e.mu.Unlock()
	if re == nil {
		return Rule{}, ErrNotFound
	}
	if re.rule.ReadOnly {
		return Rule{}, ErrReadOnly
	}
	if err := e.check(&r); err != nil {
		return Rule{}, err
	}
	re.evalMu.Lock()
	defer re.evalMu.Unlock()
	r.ID, r.ReadOnly, r.CreatedAt, r.UpdatedAt = id, false, re.rule.CreatedAt, time.Now().UTC()
	if err := e.saveRule(ctx, r); err != nil {
		return Rule{}, err
	}
	e.mu.Lock()
	old := re.rule
	re.rule = r
	var drop []string
	for aid, in := range e.alerts {
		if in.RuleID != id {
			continue
		}
		in.Recent = nil
		if old.SplitBy != r.SplitBy {
			drop = append(drop, aid)
			delete(e.alerts, aid)
		}
	}
	e.stopLocked(re)
	e.startLocked(re)
	e.mu.Unlock()
	for _, aid := range drop {
		if err := e.opts.State.DeleteDoc(ctx, KindInstance, aid); err != nil {
			e.log.Warn("delete alert state", "alert", aid, "err", err)
		}
	}
	return r, nil
}

// Delete removes a rule and its alerts' state; its history is kept.
func (e *Engine) Delete(ctx context.Context, id string) error {
	e.mu.Lock()
	re := e.rules[id]
	e.mu.Unlock()
	if re == nil {
		return ErrNotFound
	}
	if re.rule.ReadOnly {
		return ErrReadOnly
	}
	// The store first, then memory: a Reload running meanwhile either
	// still finds the rule in both or reads again (e.writes).
	err := e.opts.State.DeleteDoc(ctx, KindRule, id)
	e.writes.Add(1)
	if err != nil {
		return fmt.Errorf("delete rule %s: %w", id, err)
	}
	e.mu.Lock()
	if e.rules[id] == re {
		e.stopLocked(re)
		delete(e.rules, id)
	}
	var drop []string
	for aid, in := range e.alerts {
		if in.RuleID == id {
			drop = append(drop, aid)
			delete(e.alerts, aid)
		}
	}
	e.mu.Unlock()
	for _, aid := range drop {
		if err := e.opts.State.DeleteDoc(ctx, KindInstance, aid); err != nil {
			return fmt.Errorf("delete alert %s: %w", aid, err)
		}
	}
	return nil
}

// Reload rereads the rules from the store, so that rules created,
// changed or deleted through another genscope node sharing it take effect
// here: new rules are scheduled, changed ones rescheduled (their alerts
// forget their recent evaluations, and go when the split dimension
// changed, as with Update), deleted ones stopped and their alerts
// dropped. Rules from the config file stay as they are. A passive engine
// also rereads the alerts. This engine's own changes are never undone: a
// Reload that overlapped one reads again.
func (e *Engine) Reload(ctx context.Context) error {
	for range 5 {
		before := e.writes.Load()
		stored := map[string]Rule{}
		err := e.opts.State.ListDocs(ctx, KindRule, func(id string, doc []byte) error {
			var r Rule
			if err := json.Unmarshal(doc, &r); err != nil {
				return fmt.Errorf("rule %s: %w", id, err)
			}
			stored[r.ID] = r
			return nil
		})
		if err != nil {
			return fmt.Errorf("reload alert rules: %w", err)
		}
		var alerts map[string]*Instance
		if e.opts.Passive {
			alerts = map[string]*Instance{}
			err := e.opts.State.ListDocs(ctx, KindInstance, func(id string, doc []byte) error {
				var in Instance
				if err := json.Unmarshal(doc, &in); err != nil {
					return fmt.Errorf("alert %s: %w", id, err)
				}
				alerts[in.ID] = &in
				return nil
			})
			if err != nil {
				return fmt.Errorf("reload alert state: %w", err)
			}
		}
		e.mu.Lock()
		if e.writes.Load() != before {
			e.mu.Unlock()
			continue
		}
		drop := e.reloadLocked(stored, alerts)
		e.mu.Unlock()
		if e.opts.Passive {
			return nil
		}
		for _, aid := range drop {
			if err := e.opts.State.DeleteDoc(ctx, KindInstance, aid); err != nil {
				return fmt.Errorf("drop alert %s: %w", aid, err)
			}
		}
		return nil
	}
	return errors.New("reload alert rules: they kept changing while they were read; retrying at the next reload")
}

// reloadLocked applies the stored rules (and alerts, when not nil) and
// returns the ids of the alerts it dropped. Callers hold e.mu.
func (e *Engine) reloadLocked(stored map[string]Rule, alerts map[string]*Instance) []string {
	var drop []string
	dropAlerts := func(ruleID string) {
		for aid, in := range e.alerts {
			if in.RuleID == ruleID {
				delete(e.alerts, aid)
				drop = append(drop, aid)
			}
		}
	}
	for id, re := range e.rules {
		if _, ok := stored[id]; !ok && !re.rule.ReadOnly {
			e.stopLocked(re)
			delete(e.rules, id)
			dropAlerts(id)
		}
	}
	for id, r := range stored {
		re := e.rules[id]
		switch {
		case re == nil:
			re = &ruleEntry{rule: r}
			e.rules[id] = re
			e.startLocked(re)
		case re.rule.ReadOnly:
			// The config file's rule wins, as in New.
		case !re.rule.UpdatedAt.Equal(r.UpdatedAt):
			// A new entry: an evaluation of the old one still running
			// sees the rule as deleted and records nothing.
			e.stopLocked(re)
			if re.rule.SplitBy != r.SplitBy {
				dropAlerts(id)
			}
			for _, in := range e.alerts {
				if in.RuleID == id {
					in.Recent = nil
				}
			}
			re = &ruleEntry{rule: r}
			e.rules[id] = re
			e.startLocked(re)
		}
	}
	if alerts != nil {
		for id, in := range alerts {
			if e.rules[in.RuleID] == nil {
				delete(alerts, id)
			}
		}
		e.alerts = alerts
	}
	return drop
}

// Alerts returns the alerts that fired at least once (fired or resolved),
// fired first, then by last change (newest first).
func (e *Engine) Alerts() []Instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []Instance{}
	for _, in := range e.alerts {
		if in.State == StateOK {
			continue
		}
		cp := *in
		cp.Recent = slices.Clone(in.Recent)
		out = append(out, cp)
	}
	rank := func(s State) int {
		if s == StateFired {
			return 0
		}
		return 1
	}
	slices.SortFunc(out, func(a, b Instance) int {
		return cmp.Or(cmp.Compare(rank(a.State), rank(b.State)), b.ChangedAt.Compare(a.ChangedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// History returns the newest limit state changes, of one rule or all
// (ruleID "").
func (e *Engine) History(ctx context.Context, ruleID string, limit int) ([]Event, error) {
	out := []Event{}
	err := e.opts.State.ListEvents(ctx, KindHistory, ruleID, limit, func(doc []byte) error {
		var ev Event
		if err := json.Unmarshal(doc, &ev); err != nil {
			return err
		}
		out = append(out, ev)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("alert history: %w", err)
	}
	return out, nil
}

// Preview is a rule's signal over recent time against its threshold.
type Preview struct {
	Threshold float64        `json:"threshold"`
	Operator  string         `json:"operator"`
	Interval  string         `json:"interval"`
	From      time.Time      `json:"from"`
	To        time.Time      `json:"to"`
	Series    []store.Series `json:"series"`
	// Current is the value an evaluation would see now (per split value).
	Current []store.AggregateRow `json:"current"`
}

// Preview computes the rule's signal per window-sized bucket over the
// last points windows (1..200), as the rule form shows it. The rule need
// not be saved; it must be valid.
func (e *Engine) Preview(ctx context.Context, r Rule, points int) (Preview, error) {
	if err := r.Validate(); err != nil {
		return Preview{}, err
	}
	points = min(max(points, 1), 200)
	now := e.opts.Now()
	iv := r.Window.D()
	f := r.filter(e.opts.DefaultProject, now)
	if _, ok := r.scoreName(); ok {
		// A score signal's preview: its value now, and per window over
		// the last points windows (one ScoreStats each, at most 24).
		cur, err := e.scoreRows(ctx, r, f)
		if err != nil {
			return Preview{}, err
		}
		points = min(points, 24)
		from := now.Add(-time.Duration(points) * iv).Truncate(iv)
		s := store.Series{Points: []store.Point{}}
		for t := from; t.Before(now); t = t.Add(iv) {
			g := f
			g.From, g.To = t, t.Add(iv)
			if g.To.After(now) {
				g.To = now
			}
			rows, err := e.scoreRows(ctx, r, g)
			if err != nil {
				return Preview{}, err
			}
			if r.hasValue(rows[0]) {
				s.Points = append(s.Points, store.Point{Time: t, Value: rows[0].Value})
			}
		}
		return Preview{Threshold: r.Threshold, Operator: r.Operator, Interval: iv.String(), From: from, To: now,
			Series: []store.Series{s}, Current: cur}, nil
	}
	cur, err := e.opts.Query.Aggregate(ctx, store.AggregateQuery{Filter: f, Metric: r.Signal, Agg: r.agg(), SplitBy: r.SplitBy, Limit: 10})
	if err != nil {
		return Preview{}, err
	}
	f.From = now.Add(-time.Duration(points) * iv).Truncate(iv)
	series, err := e.opts.Query.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: r.Signal, Agg: r.agg(),
		Interval: iv, GroupBy: r.SplitBy, Limit: 10})
	if err != nil {
		return Preview{}, err
	}
	return Preview{Threshold: r.Threshold, Operator: r.Operator, Interval: iv.String(), From: f.From, To: now,
		Series: series, Current: cur}, nil
}
