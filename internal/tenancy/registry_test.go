package tenancy

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/timeutil"
)

// docs is a document store in memory.
type docs struct {
	mu sync.Mutex
	m  map[string]map[string][]byte
	// listed, when not nil, is called inside ListDocs after it has read.
	listed func()
}

func (d *docs) PutDoc(_ context.Context, kind, id string, doc []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]map[string][]byte{}
	}
	if d.m[kind] == nil {
		d.m[kind] = map[string][]byte{}
	}
	d.m[kind][id] = append([]byte(nil), doc...)
	return nil
}

func (d *docs) ListDocs(_ context.Context, kind string, fn func(id string, doc []byte) error) error {
	d.mu.Lock()
	ids := make([]string, 0, len(d.m[kind]))
	for id := range d.m[kind] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	copies := make([][]byte, len(ids))
	for i, id := range ids {
		copies[i] = d.m[kind][id]
	}
	d.mu.Unlock()
	if d.listed != nil {
		d.listed()
	}
	for i, id := range ids {
		if err := fn(id, copies[i]); err != nil {
			return err
		}
	}
	return nil
}

var cfgProjects = []Project{{Name: "cfg", Capture: privacy.Metadata, SpanRetention: timeutil.Duration(48 * time.Hour)}}

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	st := &docs{}
	r, err := NewRegistry(ctx, st, cfgProjects, nil)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := r.Project(DefaultProject); !ok || !p.Config {
		t.Fatalf("the default project: %+v %v", p, ok)
	}
	if _, err := r.Create(ctx, Project{Name: "team-a", Capture: privacy.Redacted, RedactPatterns: []string{`ticket-\d+`}}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []Project{
		{Name: "team-a"},
		{Name: "Bad Name"},
		{Name: "x", Capture: "some"},
		{Name: "x", RedactPatterns: []string{"("}},
		{Name: "x", SpanRetention: timeutil.Duration(time.Hour), ContentRetention: timeutil.Duration(2 * time.Hour)},
		{Name: "x", SpanRetention: timeutil.Duration(-time.Hour)},
	} {
		if _, err := r.Create(ctx, bad); err == nil {
			t.Errorf("created %+v", bad)
		}
	}
	if _, err := r.Create(ctx, Project{Name: "team-a"}); !errors.Is(err, ErrExists) {
		t.Errorf("created twice: %v", err)
	}
	if _, err := r.Create(ctx, Project{Name: "Bad Name"}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "name:") {
		t.Errorf("a bad name: %v", err)
	}
	if _, err := r.Update(ctx, Project{Name: "cfg"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("updated a config project: %v", err)
	}
	if _, err := r.Update(ctx, Project{Name: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("updated a missing project: %v", err)
	}
	up, err := r.Update(ctx, Project{Name: "team-a", Capture: privacy.Metadata, ContentRetention: timeutil.Duration(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if got := up.ContentPolicy(); got.Capture != privacy.Metadata || got.RedactPatterns != nil {
		t.Errorf("the updated policy: %+v", got)
	}

	// A restart reads what was stored; the config's projects are over it.
	r2, err := NewRegistry(ctx, st, cfgProjects, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range r2.Projects() {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "cfg,default,team-a" {
		t.Errorf("after a restart: %v", names)
	}
	if p, _ := r2.Project("team-a"); p.Capture != privacy.Metadata || p.ContentRetention.D() != time.Hour || !p.Created.Equal(up.Created) {
		t.Errorf("team-a after a restart: %+v", p)
	}
	if p, _ := r2.Project("cfg"); !p.Config || p.SpanRetention.D() != 48*time.Hour {
		t.Errorf("cfg after a restart: %+v", p)
	}
}

// TestRegistryReload: what another node's registry creates shows after a
// reload; the config's projects keep their creation time; a reload that
// read the store before the registry's own write never undoes it.
func TestRegistryReload(t *testing.T) {
	ctx := context.Background()
	st := &docs{}
	a, _ := NewRegistry(ctx, st, cfgProjects, nil)
	b, _ := NewRegistry(ctx, st, cfgProjects, nil)
	cfgCreated, _ := b.Project("cfg")
	if _, err := a.Create(ctx, Project{Name: "team"}); err != nil {
		t.Fatal(err)
	}
	if b.Exists("team") {
		t.Fatal("b knows team before reloading")
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !b.Exists("team") {
		t.Fatal("b does not know team after a reload")
	}
	if p, ok := b.Project("cfg"); !ok || !p.Config || p.Capture != privacy.Metadata || !p.Created.Equal(cfgCreated.Created) {
		t.Errorf("the config project after a reload: %+v %v", p, ok)
	}

	// A reload that has listed the store, then a write before it installs.
	entered, gate := make(chan struct{}), make(chan struct{})
	var once sync.Once
	st.listed = func() { once.Do(func() { close(entered); <-gate }) }
	done := make(chan error, 1)
	go func() { done <- b.Reload(ctx) }()
	<-entered
	if _, err := b.Create(ctx, Project{Name: "late"}); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !b.Exists("late") {
		t.Fatal("a reload undid a project made while it read")
	}
}
