package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// StateStore is a store.StateStore the suite can close (and reopen by
// name, see RunState).
type StateStore interface {
	store.StateStore
	Close() error
}

// RunState runs the state contract's tests. open returns the store
// called name: a new, empty one the first time a name is given, the same
// data again (a reopen, after the suite closed it) the next time. The
// suite closes what open returns.
func RunState(t *testing.T, open func(t *testing.T, name string) StateStore) {
	t.Run("Docs", func(t *testing.T) { testStateDocs(t, open) })
	t.Run("Events", func(t *testing.T) { testStateEvents(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testStateConcurrent(t, open) })
}

func openState(t *testing.T, open func(t *testing.T, name string) StateStore, name string) StateStore {
	t.Helper()
	s := &closeOnce{StateStore: open(t, name)}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// closeOnce closes its store the first time only.
type closeOnce struct {
	StateStore
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.StateStore.Close() })
	return c.err
}

func listDocs(t *testing.T, s StateStore, kind string) string {
	t.Helper()
	var got []string
	if err := s.ListDocs(context.Background(), kind, func(id string, doc []byte) error {
		got = append(got, id+"="+string(doc))
		return nil
	}); err != nil {
		t.Fatalf("list %s: %v", kind, err)
	}
	return strings.Join(got, " ")
}

func listEvents(t *testing.T, s StateStore, kind, key string, limit int) string {
	t.Helper()
	var got []string
	if err := s.ListEvents(context.Background(), kind, key, limit, func(doc []byte) error {
		got = append(got, string(doc))
		return nil
	}); err != nil {
		t.Fatalf("list events %s %s: %v", kind, key, err)
	}
	return strings.Join(got, " ")
}

// testStateDocs: put, replace, delete, put again after a delete, id order,
// kinds apart, a read right after each write sees it, and everything
// survives a reopen.
func testStateDocs(t *testing.T, open func(t *testing.T, name string) StateStore) {
	ctx := context.Background()
	s := openState(t, open, "docs")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := listDocs(t, s, "rule"); got != "" {
		t.Fatalf("empty store lists %q", got)
	}
	must(s.DeleteDoc(ctx, "rule", "missing")) // not an error
	awkward := `{"text":"quote ' backslash \\ tab \t newline \n unicode é 漢字 🙂"}`
	must(s.PutDoc(ctx, "rule", "b", []byte(`{"v":1}`)))
	must(s.PutDoc(ctx, "rule", "a", []byte(awkward)))
	must(s.PutDoc(ctx, "group", "a", []byte(`{"g":1}`)))
	if got, want := listDocs(t, s, "rule"), `a=`+awkward+` b={"v":1}`; got != want {
		t.Errorf("after puts: %q, want %q", got, want)
	}
	must(s.PutDoc(ctx, "rule", "b", []byte(`{"v":2}`)))
	if got, want := listDocs(t, s, "rule"), `a=`+awkward+` b={"v":2}`; got != want {
		t.Errorf("after a replace: %q, want %q", got, want)
	}
	must(s.DeleteDoc(ctx, "rule", "a"))
	if got, want := listDocs(t, s, "rule"), `b={"v":2}`; got != want {
		t.Errorf("after a delete: %q, want %q", got, want)
	}
	if got, want := listDocs(t, s, "group"), `a={"g":1}`; got != want {
		t.Errorf("another kind: %q, want %q", got, want)
	}
	must(s.PutDoc(ctx, "rule", "a", []byte(`{"back":true}`)))
	must(s.PutDoc(ctx, "rule", "c", []byte(`{}`)))
	must(s.DeleteDoc(ctx, "rule", "c"))
	must(s.DeleteDoc(ctx, "rule", "c"))
	want := `a={"back":true} b={"v":2}`
	if got := listDocs(t, s, "rule"); got != want {
		t.Errorf("after a delete and a put again: %q, want %q", got, want)
	}
	// fn's error ends the listing and is returned.
	stop := errors.New("stop")
	n := 0
	if err := s.ListDocs(ctx, "rule", func(string, []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("fn error: %v after %d calls", err, n)
	}
	// A rapid series of writes to one document: the last one wins.
	for i := range 20 {
		must(s.PutDoc(ctx, "counter", "x", []byte(fmt.Sprint(i))))
	}
	if got := listDocs(t, s, "counter"); got != "x=19" {
		t.Errorf("20 rapid puts: %q, want x=19", got)
	}
	must(s.Close())
	s = openState(t, open, "docs")
	if got := listDocs(t, s, "rule"); got != want {
		t.Errorf("after a reopen: %q, want %q", got, want)
	}
}

// testStateEvents: newest first, by key or all, the limit, the default
// limit, events of the same time in the order they were appended.
func testStateEvents(t *testing.T, open func(t *testing.T, name string) StateStore) {
	ctx := context.Background()
	s := openState(t, open, "events")
	if got := listEvents(t, s, "history", "", 10); got != "" {
		t.Fatalf("empty store lists %q", got)
	}
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Appended out of time order; e3 and e4 share a time.
	for _, e := range []struct {
		key  string
		at   int
		name string
	}{{"r1", 2, "e2"}, {"r1", 1, "e1"}, {"r2", 3, "e3"}, {"r2", 3, "e4"}, {"r1", 5, "e5"}, {"r3", 4, "e6"}} {
		if err := s.AppendEvent(ctx, "history", e.key, base.Add(time.Duration(e.at)*time.Second), []byte(e.name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendEvent(ctx, "attempt", "r1", base, []byte("other-kind")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key   string
		limit int
		want  string
	}{
		{"", 10, "e5 e6 e4 e3 e2 e1"},
		{"", 2, "e5 e6"},
		{"", 0, "e5 e6 e4 e3 e2 e1"}, // 0: the default limit
		{"r1", 10, "e5 e2 e1"},
		{"r2", 1, "e4"},
		{"none", 10, ""},
	} {
		if got := listEvents(t, s, "history", c.key, c.limit); got != c.want {
			t.Errorf("events of %q, limit %d: %q, want %q", c.key, c.limit, got, c.want)
		}
	}
	for i := range 120 {
		if err := s.AppendEvent(ctx, "many", "k", base.Add(time.Duration(i)*time.Millisecond), []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if got := strings.Fields(listEvents(t, s, "many", "k", -1)); len(got) != 100 || got[0] != "119" || got[99] != "20" {
		t.Errorf("default limit: %d events, %v ... %v", len(got), got[:min(1, len(got))], got[max(len(got)-1, 0):])
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openState(t, open, "events")
	if got := listEvents(t, s, "history", "r1", 10); got != "e5 e2 e1" {
		t.Errorf("after a reopen: %q", got)
	}
}

// testStateConcurrent: concurrent writers of different documents and
// events, then a reopen.
func testStateConcurrent(t *testing.T, open func(t *testing.T, name string) StateStore) {
	ctx := context.Background()
	s := openState(t, open, "concurrent")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 5 {
				if err := s.PutDoc(ctx, "k", fmt.Sprintf("id-%d", i), []byte(fmt.Sprintf(`{"v":%d}`, j))); err != nil {
					t.Error(err)
				}
				if err := s.AppendEvent(ctx, "ev", fmt.Sprintf("r%d", i%2), time.Unix(int64(i*10+j), 0), []byte(fmt.Sprint(i*10+j))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if err := s.DeleteDoc(ctx, "k", "id-3"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openState(t, open, "concurrent")
	want := `id-0={"v":4} id-1={"v":4} id-2={"v":4} id-4={"v":4} id-5={"v":4} id-6={"v":4} id-7={"v":4}`
	if got := listDocs(t, s, "k"); got != want {
		t.Errorf("docs %q, want %q", got, want)
	}
	if got := listEvents(t, s, "ev", "r1", 3); got != "74 73 72" {
		t.Errorf("events %q", got)
	}
}
