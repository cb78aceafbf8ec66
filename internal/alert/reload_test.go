package alert

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestReloadAcrossNodes: a passive engine (an API node) and an
// evaluating one (the alerts node) share a state store. Rules created,
// changed and deleted through the passive one reach the evaluator at its
// next Reload; only the evaluator evaluates and notifies; the passive one
// shows the evaluator's alerts after its own Reload.
func TestReloadAcrossNodes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st, ms := &fakeStore{}, newMemState()
		apiN, evalN := &notifications{}, &notifications{}
		api, err := New(ctx, Options{Query: st, State: ms, Notify: apiN.notify, Passive: true})
		if err != nil {
			t.Fatal(err)
		}
		eval, err := New(ctx, Options{Query: st, State: ms, Notify: evalN.notify,
			FirstDelay: func(time.Duration) time.Duration { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		api.Start(ctx) // does nothing: passive
		eval.Start(ctx)
		defer eval.Stop()
		defer api.Stop()

		st.add("gpt-4o", 5000)
		r, err := api.Create(ctx, slowRule())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := api.Evaluate(ctx, r.ID); !errors.Is(err, ErrPassive) {
			t.Errorf("a passive engine evaluated: %v", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st.count() != 0 {
			t.Fatal("evaluated before the evaluator reloaded")
		}
		if err := eval.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the first evaluation, at once (FirstDelay 0)
		if eval.RuleState(r.ID) != StateFired || evalN.states() != ":fired" {
			t.Fatalf("the evaluator: state %s, notified %q", eval.RuleState(r.ID), evalN.states())
		}
		if api.RuleState(r.ID) != StateOK {
			t.Errorf("the passive engine knew the alert before reloading")
		}
		if err := api.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if al := api.Alerts(); len(al) != 1 || al[0].State != StateFired || api.RuleState(r.ID) != StateFired {
			t.Errorf("the passive engine's alerts after a reload: %+v", al)
		}

		// A change through the API node: the evaluator takes it at its
		// next reload and evaluates the new rule.
		r.Threshold = 6000
		if _, err := api.Update(ctx, r.ID, r); err != nil {
			t.Fatal(err)
		}
		if got, _ := eval.Rule(r.ID); got.Threshold != 4000 {
			t.Fatalf("changed before a reload: %v", got.Threshold)
		}
		if err := eval.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got, _ := eval.Rule(r.ID); got.Threshold != 6000 {
			t.Errorf("after a reload: threshold %v", got.Threshold)
		}
		if eval.RuleState(r.ID) != StateResolved || evalN.states() != ":fired,:resolved" {
			t.Errorf("the changed rule: state %s, notified %q", eval.RuleState(r.ID), evalN.states())
		}

		// A delete: the evaluator stops the rule and forgets its alert.
		if err := api.Delete(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := eval.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := eval.Rule(r.ID); !errors.Is(err, ErrNotFound) || len(eval.Alerts()) != 0 {
			t.Errorf("after a delete and a reload: %v, %d alerts", err, len(eval.Alerts()))
		}
		n := st.count()
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if st.count() != n {
			t.Errorf("a deleted rule was evaluated %d times", st.count()-n)
		}
		if apiN.states() != "" {
			t.Errorf("the passive engine notified %q", apiN.states())
		}
	})
}

// TestReloadKeepsOwnRules: a reload that read the store before this
// engine created a rule does not drop it.
func TestReloadKeepsOwnRules(t *testing.T) {
	ctx := context.Background()
	ms := &gatedState{memState: newMemState(), entered: make(chan struct{}), gate: make(chan struct{})}
	e, err := New(ctx, Options{Query: &fakeStore{}, State: ms, Notify: (&notifications{}).notify})
	if err != nil {
		t.Fatal(err)
	}
	ms.on.Store(true)
	done := make(chan error, 1)
	go func() { done <- e.Reload(ctx) }()
	<-ms.entered // the reload has read the rules: none
	ms.on.Store(false)
	r, err := e.Create(ctx, slowRule())
	if err != nil {
		t.Fatal(err)
	}
	close(ms.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := e.Rule(r.ID); err != nil {
		t.Fatal("the reload dropped a rule created while it read")
	}
}

func (s *fakeStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queries)
}

// gatedState holds a listing of the rules, once read, while on.
type gatedState struct {
	*memState
	on            atomic.Bool
	entered, gate chan struct{}
}

func (g *gatedState) ListDocs(ctx context.Context, kind string, fn func(string, []byte) error) error {
	err := g.memState.ListDocs(ctx, kind, fn)
	if kind == KindRule && g.on.Load() {
		close(g.entered)
		<-g.gate
	}
	return err
}
