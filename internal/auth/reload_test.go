package auth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/tenancy"
	"golang.org/x/crypto/bcrypt"
)

// countingStore counts the listings of a MemStore, and can hold the
// listing of one kind until released.
type countingStore struct {
	MemStore
	lists atomic.Int64
	// When gate is not nil, listing gateKind closes entered and waits
	// for gate.
	gateKind      string
	entered, gate chan struct{}
	once          sync.Once
}

func (c *countingStore) ListDocs(ctx context.Context, kind string, fn func(id string, doc []byte) error) error {
	c.lists.Add(1)
	if c.gate != nil && kind == c.gateKind {
		c.once.Do(func() { close(c.entered) })
		<-c.gate
	}
	return c.MemStore.ListDocs(ctx, kind, fn)
}

// TestReload: two services on one store (two genscope nodes): what one
// creates or revokes takes effect on the other at its next Reload; an
// unknown key rereads at once with ReloadOnMiss, throttled. (Projects
// reload on their own: tenancy.TestRegistryReload.)
func TestReload(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	opts := func(miss time.Duration) Options {
		return Options{AdminToken: adminToken, BcryptCost: bcrypt.MinCost, ReloadOnMiss: miss,
			Projects: newRegistry(t, st),
			Now:      func() time.Time { return time.Unix(0, clock.Load()) }}
	}
	a, err := New(ctx, st, opts(0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(ctx, st, opts(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.projects.Create(ctx, tenancy.Project{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	info, key, err := a.CreateKey(ctx, Key{Project: "team", Scope: ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyProject(key, ScopeIngest); err == nil {
		t.Fatal("b knows the key before reloading (ReloadOnMiss is off)")
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if p, err := b.KeyProject(key, ScopeIngest); err != nil || p != "team" {
		t.Fatalf("after a reload: %q, %v", p, err)
	}
	if err := a.RevokeKey(ctx, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyProject(key, ScopeIngest); err != nil {
		t.Fatal("b refused the key before reloading") // it has not reread yet
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.KeyProject(key, ScopeIngest); err == nil {
		t.Fatal("a revoked key works after a reload")
	}

	// ReloadOnMiss: a new key works at once; unknown keys reread at most
	// once a second.
	c, err := New(ctx, st, opts(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	_, key2, err := a.CreateKey(ctx, Key{Project: "team", Scope: ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}
	if p, err := c.KeyProject(key2, ScopeIngest); err != nil || p != "team" {
		t.Fatalf("a new key on a miss: %q, %v", p, err)
	}
	before := st.lists.Load()
	for range 50 {
		if _, err := c.KeyProject(newToken(KeyPrefix), ScopeIngest); err == nil {
			t.Fatal("an unknown key worked")
		}
	}
	if n := st.lists.Load() - before; n != 0 {
		t.Errorf("unknown keys within the throttle reread %d times", n)
	}
	clock.Add(int64(2 * time.Second))
	_, _ = c.KeyProject(newToken(KeyPrefix), ScopeIngest)
	_, _ = c.KeyProject(newToken(KeyPrefix), ScopeIngest)
	if n := st.lists.Load() - before; n != 3 { // one reload: keys, users, sessions
		t.Errorf("after the throttle: %d listings, want 3", n)
	}

	// Sessions started on a are known to c on a miss.
	if _, err := a.CreateUser(ctx, "jane", "password-1234", false); err != nil {
		t.Fatal(err)
	}
	sid, _, err := a.Login(ctx, "jane", "password-1234", "")
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(int64(2 * time.Second))
	if u, ok := c.sessionUser(sid); !ok || u.Name != "jane" {
		t.Errorf("a session started on another node: %+v %v", u, ok)
	}
}

// TestReloadKeepsOwnWrites: a reload that read the store before this
// service's own change never undoes it, however they interleave.
func TestReloadKeepsOwnWrites(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{}
	s := newService(t, st)
	if _, err := s.projects.Create(ctx, tenancy.Project{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	// A reload that has read the keys, then waits while a key is made.
	st.gateKind, st.entered, st.gate = kindSession, make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- s.Reload(ctx) }()
	<-st.entered
	_, key, err := s.CreateKey(ctx, Key{Project: "team", Scope: ScopeIngest})
	if err != nil {
		t.Fatal(err)
	}
	close(st.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyProject(key, ScopeIngest); err != nil {
		t.Fatal("the reload undid a key made while it read")
	}
	st.gate = nil

	// Many writers and reloads at once (run with -race).
	var wg sync.WaitGroup
	keys := make(chan string, 40)
	for i := range 4 {
		wg.Go(func() {
			for j := range 10 {
				_, k, err := s.CreateKey(ctx, Key{Project: "team", Scope: ScopeIngest, Name: fmt.Sprint(i, j)})
				if err != nil {
					t.Error(err)
					return
				}
				keys <- k
			}
		})
	}
	stop := make(chan struct{})
	var rg sync.WaitGroup
	rg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				_ = s.Reload(ctx)
			}
		}
	})
	wg.Wait()
	close(stop)
	rg.Wait()
	close(keys)
	for k := range keys {
		if _, err := s.KeyProject(k, ScopeIngest); err != nil {
			t.Fatal("a key made during reloads was lost")
		}
	}
}
