package alert

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/timeutil"
)

// memState is an in-memory store.StateStore.
type memState struct {
	mu     sync.Mutex
	docs   map[string]map[string][]byte
	events []memEvent
	fail   error
}

type memEvent struct {
	kind, key string
	t         time.Time
	doc       []byte
}

func newMemState() *memState { return &memState{docs: map[string]map[string][]byte{}} }

func (m *memState) PutDoc(_ context.Context, kind, id string, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	if m.docs[kind] == nil {
		m.docs[kind] = map[string][]byte{}
	}
	m.docs[kind][id] = slices.Clone(doc)
	return nil
}

func (m *memState) DeleteDoc(_ context.Context, kind, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs[kind], id)
	return nil
}

func (m *memState) ListDocs(_ context.Context, kind string, fn func(string, []byte) error) error {
	m.mu.Lock()
	var ids []string
	for id := range m.docs[kind] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	docs := map[string][]byte{}
	for _, id := range ids {
		docs[id] = m.docs[kind][id]
	}
	m.mu.Unlock()
	for _, id := range ids {
		if err := fn(id, docs[id]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memState) AppendEvent(_ context.Context, kind, key string, t time.Time, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, memEvent{kind, key, t, slices.Clone(doc)})
	return nil
}

func (m *memState) ListEvents(_ context.Context, kind, key string, limit int, fn func([]byte) error) error {
	m.mu.Lock()
	evs := slices.Clone(m.events)
	m.mu.Unlock()
	n := 0
	for i := len(evs) - 1; i >= 0 && n < limit; i-- {
		if evs[i].kind == kind && (key == "" || evs[i].key == key) {
			n++
			if err := fn(evs[i].doc); err != nil {
				return err
			}
		}
	}
	return nil
}

// fakeStore holds calls (time, model, duration) and aggregates
// duration_ms (avg) and calls over a filter, as the store would.
type fakeStore struct {
	mu      sync.Mutex
	calls   []fakeCall
	queries []store.AggregateQuery
	delay   time.Duration
	// slowModel, when set, limits the delay to queries of that model.
	slowModel string
}

type fakeCall struct {
	t     time.Time
	model string
	ms    float64
}

func (s *fakeStore) add(model string, ms float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fakeCall{time.Now().Add(-time.Second), model, ms})
}

func (s *fakeStore) Aggregate(ctx context.Context, q store.AggregateQuery) ([]store.AggregateRow, error) {
	s.mu.Lock()
	s.queries = append(s.queries, q)
	delay := s.delay
	if s.slowModel != "" && q.Filter.Model != s.slowModel {
		delay = 0
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	by := map[string]*store.AggregateRow{}
	var keys []string
	for _, c := range s.calls {
		if c.t.Before(q.Filter.From) || !c.t.Before(q.Filter.To) || (q.Filter.Model != "" && q.Filter.Model != c.model) {
			continue
		}
		k := ""
		if q.SplitBy == store.DimModel {
			k = c.model
		}
		r := by[k]
		if r == nil {
			r = &store.AggregateRow{Key: k}
			by[k] = r
			keys = append(keys, k)
		}
		r.Calls++
		r.Count++
		r.Value += c.ms
	}
	out := []store.AggregateRow{}
	sort.Strings(keys)
	for _, k := range keys {
		r := by[k]
		if q.Metric == store.MetricCalls {
			r.Value = float64(r.Calls)
		} else {
			r.Value /= float64(r.Count)
		}
		out = append(out, *r)
	}
	if q.SplitBy == "" && len(out) == 0 {
		out = append(out, store.AggregateRow{})
	}
	return out, nil
}

func (s *fakeStore) Timeseries(context.Context, store.TimeseriesQuery) ([]store.Series, error) {
	return []store.Series{}, nil
}

// notifications records what the engine hands over.
type notifications struct {
	mu   sync.Mutex
	got  []Notification
	fail bool
}

func (n *notifications) notify(_ context.Context, x Notification) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail {
		return errors.New("queue down")
	}
	n.got = append(n.got, x)
	return nil
}

func (n *notifications) states() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var s []string
	for _, x := range n.got {
		s = append(s, x.Alert.Key+":"+string(x.Alert.State))
	}
	return strings.Join(s, ",")
}

func slowRule() Rule {
	r := NewRule()
	r.Name, r.Signal, r.Aggregation, r.Operator, r.Threshold = "slow gpt-4o", "duration_ms", "avg", ">", 4000
	r.Filters.Model = "gpt-4o"
	return r
}

func newEngine(t *testing.T, st *fakeStore, ms *memState, n *notifications) *Engine {
	t.Helper()
	e, err := New(context.Background(), Options{Query: st, State: ms, Notify: n.notify})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestValidate(t *testing.T) {
	r := NewRule()
	r.Severity, r.Signal, r.Aggregation, r.Operator = 7, "latency", "median", "=="
	r.Window, r.Frequency, r.Violations, r.Evaluations, r.NoData, r.SplitBy = timeutil.Duration(time.Second), timeutil.Duration(2*time.Hour), 3, 2, "maybe", "session"
	r.Filters.Status = "bad"
	err := r.Validate()
	for _, f := range []string{"name:", "severity:", "signal:", "aggregation:", "operator:", "window:", "frequency:", "violations:", "no_data:", "split_by:", "filters.status:"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() = %v, want a problem with %s", err, f)
		}
	}
	if r := slowRule(); r.Validate() != nil {
		err := r.Validate()
		t.Errorf("a good rule: %v", err)
	}
}

// TestFireAndResolve walks the lab's rule through fire and resolve with a
// fake clock: the window only sees the last 5 minutes.
func TestFireAndResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, ms, n := &fakeStore{}, newMemState(), &notifications{}
		e := newEngine(t, st, ms, n)
		r, err := e.Create(t.Context(), slowRule())
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		res, err := e.Evaluate(ctx, r.ID)
		if err != nil || res.State != StateOK || res.Value != nil {
			t.Fatalf("no data: %+v %v", res, err)
		}
		st.add("gpt-4o", 4500)
		st.add("gpt-4o-mini", 100000) // another model: filtered out
		res, _ = e.Evaluate(ctx, r.ID)
		if res.State != StateFired || *res.Value != 4500 || !res.Changed {
			t.Fatalf("slow: %+v", res)
		}
		if !strings.Contains(res.Query, `avg(duration_ms) WHERE project = "default" AND model = "gpt-4o"`) {
			t.Errorf("query %q", res.Query)
		}
		res, _ = e.Evaluate(ctx, r.ID)
		if res.State != StateFired || res.Changed {
			t.Fatalf("still slow: %+v", res)
		}
		// Six minutes later the slow call left the window; a fast one came.
		time.Sleep(6 * time.Minute)
		st.add("gpt-4o", 300)
		res, _ = e.Evaluate(ctx, r.ID)
		if res.State != StateResolved || *res.Value != 300 {
			t.Fatalf("fast: %+v", res)
		}
		if got := n.states(); got != ":fired,:resolved" {
			t.Errorf("notifications %s", got)
		}
		h, _ := e.History(ctx, "", 10)
		if len(h) != 2 || h[0].To != StateResolved || h[1].To != StateFired || h[1].Value != 4500 || h[1].Query == "" {
			t.Errorf("history %+v", h)
		}
		if a := e.Alerts(); len(a) != 1 || a[0].State != StateResolved || a[0].FiredValue != 4500 || a[0].ResolvedAt.IsZero() {
			t.Errorf("alerts %+v", a)
		}
	})
}

func TestMofN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, n := &fakeStore{}, &notifications{}
		e := newEngine(t, st, newMemState(), n)
		r := slowRule()
		r.Window, r.Violations, r.Evaluations = timeutil.Duration(time.Minute), 2, 3
		r, _ = e.Create(t.Context(), r)
		var states []State
		for _, ms := range []float64{5000, 100, 100, 5000, 100, 5000, 100, 100} {
			st.add("gpt-4o", ms)
			res, err := e.Evaluate(t.Context(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			states = append(states, res.State)
			time.Sleep(time.Minute)
		}
		// The last 3: [v] [v n] [v n n] [n n v] [n v n] ok; [v n v] fired;
		// [n v n] resolved (fewer than 2 of 3); [v n n] stays resolved.
		want := []State{"ok", "ok", "ok", "ok", "ok", "fired", "resolved", "resolved"}
		if !slices.Equal(states, want) {
			t.Errorf("states %v, want %v", states, want)
		}
	})
}

func TestNoData(t *testing.T) {
	for _, c := range []struct {
		policy string
		want   []State
	}{
		{NoDataKeep, []State{"fired", "fired", "resolved"}},
		{NoDataOK, []State{"fired", "resolved", "resolved"}},
		{NoDataFire, []State{"fired", "fired", "resolved"}},
	} {
		t.Run(c.policy, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &fakeStore{}
				e := newEngine(t, st, newMemState(), &notifications{})
				r := slowRule()
				r.NoData = c.policy
				r, _ = e.Create(t.Context(), r)
				var states []State
				st.add("gpt-4o", 5000)
				res, _ := e.Evaluate(t.Context(), r.ID)
				states = append(states, res.State)
				time.Sleep(10 * time.Minute) // nothing in the window
				res, _ = e.Evaluate(t.Context(), r.ID)
				states = append(states, res.State)
				st.add("gpt-4o", 10)
				res, _ = e.Evaluate(t.Context(), r.ID)
				states = append(states, res.State)
				if !slices.Equal(states, c.want) {
					t.Errorf("states %v, want %v", states, c.want)
				}
			})
		})
	}
	// No data firing a rule that watches for traffic stopping: calls < 1.
	synctest.Test(t, func(t *testing.T) {
		e := newEngine(t, &fakeStore{}, newMemState(), &notifications{})
		r := slowRule()
		r.Signal, r.Aggregation, r.Operator, r.Threshold = "calls", "", "<", 1
		r, _ = e.Create(t.Context(), r)
		if res, _ := e.Evaluate(t.Context(), r.ID); res.State != StateFired || res.Value == nil || *res.Value != 0 {
			t.Errorf("no calls: %+v", res)
		}
	})
}

func TestNoAutoResolve(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &fakeStore{}
		e := newEngine(t, st, newMemState(), &notifications{})
		r := slowRule()
		r.AutoResolve = false
		r, _ = e.Create(t.Context(), r)
		st.add("gpt-4o", 5000)
		e.Evaluate(t.Context(), r.ID)
		time.Sleep(10 * time.Minute)
		st.add("gpt-4o", 10)
		if res, _ := e.Evaluate(t.Context(), r.ID); res.State != StateFired {
			t.Errorf("without auto-resolve: %s", res.State)
		}
	})
}

func TestSplitBy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, n := &fakeStore{}, &notifications{}
		e := newEngine(t, st, newMemState(), n)
		r := slowRule()
		r.Filters.Model, r.SplitBy = "", "model"
		r, _ = e.Create(t.Context(), r)
		st.add("gpt-4o", 5000)
		st.add("gpt-4o-mini", 50)
		res, _ := e.Evaluate(t.Context(), r.ID)
		if res.State != StateFired || len(res.Alerts) != 2 {
			t.Fatalf("%+v", res)
		}
		time.Sleep(10 * time.Minute)
		st.add("gpt-4o-mini", 9000) // gpt-4o has no data now: keeps its state
		e.Evaluate(t.Context(), r.ID)
		if got := n.states(); got != "gpt-4o:fired,gpt-4o-mini:fired" {
			t.Errorf("notifications %s", got)
		}
		if a := e.Alerts(); len(a) != 2 || a[0].ID != r.ID+"/gpt-4o-mini" {
			t.Errorf("alerts %+v", a)
		}
	})
}

// TestScheduler checks rules run at their frequency with a jittered first
// evaluation, and that a slow rule does not hold up the others.
func TestScheduler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, slow := &fakeStore{}, &fakeStore{delay: time.Hour}
		ms := newMemState()
		n := &notifications{}
		e := newEngine(t, st, ms, n)
		// A second engine's store hangs: its own rules only wait for their timeout.
		ctx, cancel := context.WithCancel(t.Context())
		e.Start(ctx)
		r := slowRule()
		r, _ = e.Create(ctx, r)
		r2 := slowRule()
		r2.Frequency = timeutil.Duration(5 * time.Minute)
		r2, _ = e.Create(ctx, r2)
		st.add("gpt-4o", 5000)
		// Just short of 10 minutes: a first offset j in [0, 1m) gives
		// evaluations at j, j+1m, …, j+9m whatever j is (a second more would
		// count an 11th when j < 1s).
		time.Sleep(10*time.Minute - time.Nanosecond)
		st.mu.Lock()
		count := map[string]int{}
		for _, q := range st.queries {
			count[q.Filter.From.Format(time.RFC3339)]++
		}
		nq := len(st.queries)
		st.mu.Unlock()
		// 10 for the 1m rule, 2 for the 5m rule, for any first offset.
		if nq != 12 {
			t.Errorf("%d evaluations in 10 minutes, want 12", nq)
		}
		if e.RuleState(r.ID) != StateFired || e.RuleState(r2.ID) != StateFired {
			t.Errorf("states %s %s", e.RuleState(r.ID), e.RuleState(r2.ID))
		}
		cancel()
		e.Stop()

		es, _ := New(t.Context(), Options{Query: slow, State: newMemState(), Notify: n.notify, MaxConcurrent: 1, EvalTimeout: 10 * time.Second})
		ctx2, cancel2 := context.WithCancel(t.Context())
		es.Start(ctx2)
		hung, _ := es.Create(ctx2, slowRule())
		_ = hung
		time.Sleep(5 * time.Minute)
		slow.mu.Lock()
		got := len(slow.queries)
		slow.mu.Unlock()
		if got < 4 {
			t.Errorf("a hanging store: %d evaluations in 5 minutes, want the timeout to free the slot", got)
		}
		cancel2()
		es.Stop()
	})
}

// TestRestartPending checks a change whose notification could not be
// handed over is handed over after a restart, once.
func TestRestartPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st, ms, n := &fakeStore{}, newMemState(), &notifications{fail: true}
		e := newEngine(t, st, ms, n)
		r, _ := e.Create(t.Context(), slowRule())
		st.add("gpt-4o", 5000)
		if res, _ := e.Evaluate(t.Context(), r.ID); res.State != StateFired {
			t.Fatal(res.State)
		}
		if len(n.got) != 0 {
			t.Fatal("notified while failing")
		}
		n.fail = false
		e2 := newEngine(t, st, ms, n)
		if got := e2.RuleState(r.ID); got != StateFired {
			t.Errorf("state after restart %s", got)
		}
		ctx, cancel := context.WithCancel(t.Context())
		e2.Start(ctx)
		synctest.Wait()
		e2.Evaluate(ctx, r.ID)
		cancel()
		e2.Stop()
		if len(n.got) != 1 || n.got[0].ID != r.ID+"#1" {
			t.Errorf("notifications after restart %+v", n.got)
		}
		e3 := newEngine(t, st, ms, n)
		e3.Start(t.Context())
		synctest.Wait()
		e3.Stop()
		if len(n.got) != 1 {
			t.Errorf("notified again after a second restart: %d", len(n.got))
		}
	})
}

func TestCRUD(t *testing.T) {
	ms := newMemState()
	cfg := slowRule()
	cfg.ID = "from-config"
	e, err := New(t.Context(), Options{Query: &fakeStore{}, State: ms, Notify: (&notifications{}).notify, ConfigRules: []Rule{cfg},
		GroupExists: func(id string) bool { return id == "g1" }})
	if err != nil {
		t.Fatal(err)
	}
	r := slowRule()
	r.ActionGroups = []string{"g2"}
	if _, err := e.Create(t.Context(), r); err == nil || !strings.Contains(err.Error(), "action_groups[0]: no action group") {
		t.Errorf("unknown group: %v", err)
	}
	r.ActionGroups = []string{"g1"}
	r, err = e.Create(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	r.Threshold = 100
	if _, err := e.Update(t.Context(), r.ID, r); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Update(t.Context(), "from-config", r); !errors.Is(err, ErrReadOnly) {
		t.Errorf("update config rule: %v", err)
	}
	if err := e.Delete(t.Context(), "from-config"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("delete config rule: %v", err)
	}
	e2, _ := New(t.Context(), Options{Query: &fakeStore{}, State: ms, Notify: (&notifications{}).notify})
	got, err := e2.Rule(r.ID)
	if err != nil || got.Threshold != 100 {
		t.Errorf("after restart %+v %v", got, err)
	}
	if err := e2.Delete(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.Rule(r.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted: %v", err)
	}
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"window":"5m0s"`) {
		t.Errorf("json %s", b)
	}
}

// TestSlowRuleIsolation: rules whose queries hang (until the evaluation
// timeout) do not hold up another rule's schedule.
func TestSlowRuleIsolation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &fakeStore{delay: time.Hour, slowModel: "slow"}
		e, _ := New(t.Context(), Options{Query: st, State: newMemState(), Notify: (&notifications{}).notify, MaxConcurrent: 2, EvalTimeout: 50 * time.Second})
		ctx, cancel := context.WithCancel(t.Context())
		e.Start(ctx)
		for range 3 {
			r := slowRule()
			r.Filters.Model = "slow"
			e.Create(ctx, r)
		}
		fast, _ := e.Create(ctx, slowRule())
		st.add("gpt-4o", 5000)
		// Just short of 10 minutes: a first offset j in [0, 1m) gives
		// evaluations at j, j+1m, …, j+9m whatever j is (a second more would
		// count an 11th when j < 1s).
		time.Sleep(10*time.Minute - time.Nanosecond)
		st.mu.Lock()
		n := 0
		for _, q := range st.queries {
			if q.Filter.Model == "gpt-4o" {
				n++
			}
		}
		st.mu.Unlock()
		if n < 9 {
			t.Errorf("the fast rule ran %d times in 10 minutes next to 3 hanging rules, want about 10", n)
		}
		if e.RuleState(fast.ID) != StateFired {
			t.Errorf("fast rule %s", e.RuleState(fast.ID))
		}
		cancel()
		e.Stop()
	})
}
