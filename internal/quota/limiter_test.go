package quota

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 31, 23, 58, 10, 0, time.UTC)} }

func TestRequestsPerMinute(t *testing.T) {
	ck := newClock()
	l, err := New(Options{Rules: []Rule{{User: "*", Limits: Limits{RequestsPerMinute: 3}}}, Now: ck.now})
	if err != nil {
		t.Fatal(err)
	}
	alice := Caller{Project: "p", User: "alice"}
	for i := range 3 {
		if _, r := l.Admit(alice); r != nil {
			t.Fatalf("call %d refused: %v", i, r)
		}
	}
	_, r := l.Admit(alice)
	if r == nil || r.Scope != ScopeUser || r.Name != "alice" || r.Limit != RequestsPerMinute || r.Used != 3 || r.Max != 3 {
		t.Fatalf("4th call: %+v", r)
	}
	if got := r.RetryAfter(ck.now()); got != 50 {
		t.Errorf("retry after %d, want 50 (the minute ends at :59:00)", got)
	}
	if !strings.Contains(r.Error(), `user "alice" reached its requests_per_minute limit (3 of 3); it resets at 2026-03-31T23:59:00Z`) {
		t.Errorf("message %q", r.Error())
	}
	// Another user, and a call without a user, are not limited by alice.
	if _, r := l.Admit(Caller{Project: "p", User: "bob"}); r != nil {
		t.Errorf("bob: %v", r)
	}
	if _, r := l.Admit(Caller{Project: "p"}); r != nil {
		t.Errorf("no user: %v", r)
	}
	// The same user name in another project is another end user.
	if _, r := l.Admit(Caller{Project: "q", User: "alice"}); r != nil {
		t.Errorf("alice of q: %v", r)
	}
	ck.add(50 * time.Second)
	if _, r := l.Admit(alice); r != nil {
		t.Errorf("next minute: %v", r)
	}
}

func TestTokensAndSpend(t *testing.T) {
	ck := newClock()
	l, err := New(Options{Rules: []Rule{
		{Project: "default", Limits: Limits{TokensPerMinute: 100, USDPerDay: 1}},
		{Project: "*", Limits: Limits{USDPerMonth: 2}},
	}, Now: ck.now})
	if err != nil {
		t.Fatal(err)
	}
	c := Caller{Project: "default"}
	tk, r := l.Admit(c)
	if r != nil {
		t.Fatal(r)
	}
	l.Record(tk, 150, 0.25)
	_, r = l.Admit(c)
	if r == nil || r.Limit != TokensPerMinute || r.Used != 150 || r.Spend() {
		t.Fatalf("over tokens: %+v", r)
	}
	ck.add(time.Minute)
	tk, r = l.Admit(c)
	if r != nil {
		t.Fatal(r)
	}
	l.Record(tk, 1, 0.80)
	_, r = l.Admit(c)
	if r == nil || r.Limit != USDPerDay || !r.Spend() || r.Reset != time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) {
		t.Fatalf("over the day's budget: %+v", r)
	}
	u := l.Usage("default")
	if len(u) != 1 || u[0].Scope != ScopeProject || u[0].Limits != (Limits{TokensPerMinute: 100, USDPerDay: 1, USDPerMonth: 2}) ||
		u[0].USDToday != 1.05 || u[0].BudgetUsedPercent < 104.9 || u[0].BudgetUsedPercent > 105.1 {
		t.Fatalf("usage %+v", u)
	}
	// A new day (and a new month: it was March 31st) starts afresh.
	ck.add(2 * time.Minute)
	if _, r := l.Admit(c); r != nil {
		t.Fatalf("next day: %v", r)
	}
	if got := l.BudgetUsedPercent("default"); got != 0 {
		t.Errorf("budget used %v after the reset", got)
	}
}

func TestKeyLimits(t *testing.T) {
	l, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := Caller{Project: "p", Key: "k1", KeyLimits: Limits{RequestsPerMinute: 1}}
	if _, r := l.Admit(c); r != nil {
		t.Fatal(r)
	}
	if _, r := l.Admit(c); r == nil || r.Scope != ScopeKey || r.Name != "k1" {
		t.Fatalf("second call: %+v", r)
	}
	// A key without limits is not tracked.
	if tk, r := l.Admit(Caller{Project: "p", Key: "k2"}); r != nil || tk.n != 0 {
		t.Fatalf("key without limits: %+v %v", tk, r)
	}
	if u := l.Usage("p"); len(u) != 1 || u[0].Name != "k1" || u[0].UsedPercent != 100 {
		t.Errorf("usage %+v", u)
	}
}

// TestRefusalCountsNothing: a call refused by one subject's limit
// uses none of another's room.
func TestRefusalCountsNothing(t *testing.T) {
	l, _ := New(Options{Rules: []Rule{{Project: "p", Limits: Limits{RequestsPerMinute: 10}}, {User: "*", Limits: Limits{RequestsPerMinute: 1}}}})
	l.Admit(Caller{Project: "p", User: "a"})
	for range 5 {
		if _, r := l.Admit(Caller{Project: "p", User: "a"}); r == nil {
			t.Fatal("admitted over the user's limit")
		}
	}
	if u := l.Usage("p"); u[len(u)-1].Scope != ScopeProject || u[len(u)-1].RequestsThisMinute != 1 {
		t.Errorf("the project counted refused calls: %+v", u)
	}
}

// TestConcurrentAdmit: however many calls arrive at once, exactly the
// limit is admitted.
func TestConcurrentAdmit(t *testing.T) {
	l, _ := New(Options{Rules: []Rule{{Project: "p", Limits: Limits{RequestsPerMinute: 50}}}})
	var ok atomic.Int64
	var wg sync.WaitGroup
	for range 400 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, r := l.Admit(Caller{Project: "p"}); r == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != 50 {
		t.Fatalf("admitted %d, want 50", ok.Load())
	}
}

func TestPersist(t *testing.T) {
	ck := newClock()
	path := filepath.Join(t.TempDir(), "limits.json")
	rules := []Rule{{Project: "p", Limits: Limits{USDPerMonth: 1}}}
	l, err := New(Options{Rules: rules, Path: path, Now: ck.now})
	if err != nil {
		t.Fatal(err)
	}
	tk, _ := l.Admit(Caller{Project: "p"})
	l.Record(tk, 10, 1.5)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = New(Options{Rules: rules, Path: path, Now: ck.now})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, r := l.Admit(Caller{Project: "p"}); r == nil || r.Limit != USDPerMonth || r.Used != 1.5 {
		t.Fatalf("after a restart: %+v", r)
	}
}

// TestBadState: a damaged file is moved aside and the limiter starts.
func TestBadState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "limits.json")
	os.WriteFile(path, []byte(`{"version":1,"subjects":`), 0o600)
	l, err := New(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if raw, err := os.ReadFile(path + ".bad"); err != nil || string(raw) != `{"version":1,"subjects":` {
		t.Fatalf("not kept aside: %q %v", raw, err)
	}
}

func TestMaxSubjects(t *testing.T) {
	ck := newClock()
	l, _ := New(Options{Rules: []Rule{{User: "*", Limits: Limits{RequestsPerMinute: 1}}}, MaxSubjects: 32, Now: ck.now})
	for i := range 1000 {
		ck.add(time.Millisecond)
		l.Admit(Caller{Project: "p", User: "u" + string(rune('a'+i%26)) + string(rune(i))})
	}
	if n := len(l.subj); n > 32 {
		t.Fatalf("%d subjects tracked, max 32", n)
	}
	// the most recent user is still limited
	if _, r := l.Admit(Caller{Project: "p", User: "u" + string(rune('a'+999%26)) + string(rune(999))}); r == nil {
		t.Error("the newest user was forgotten")
	}
}

func TestValidate(t *testing.T) {
	err := ValidateRules("gateway.limits", []Rule{{}, {Project: "p"}, {User: "*", Limits: Limits{RequestsPerMinute: -1, USDPerDay: -2}}})
	for _, want := range []string{"gateway.limits[0].project or user: required", "gateway.limits[1]: no limit set",
		"gateway.limits[2].requests_per_minute: must not be negative", "gateway.limits[2].usd_per_day: must be a finite number"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
}
