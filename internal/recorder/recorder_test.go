package recorder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memWriter is a real in-memory Writer that can be made slow or failing.
type memWriter struct {
	mu      sync.Mutex
	spans   int
	writes  int
	gate    chan struct{} // when non-nil, each write waits for a receive
	entered chan struct{} // when non-nil, each write announces itself here first
	failing bool
}

func (w *memWriter) Write(ctx context.Context, b *store.Batch) error {
	if w.entered != nil {
		w.entered <- struct{}{}
	}
	if w.gate != nil {
		select {
		case <-w.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failing {
		return errors.New("disk full")
	}
	w.spans += len(b.Spans)
	w.writes++
	return nil
}

func (w *memWriter) counts() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.spans, w.writes
}

func batch(n int) *store.Batch {
	b := &store.Batch{Spans: make([]genai.Span, n)}
	for i := range b.Spans {
		b.Spans[i] = genai.Span{Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", DurationNano: 1e9,
			Usage: genai.Usage{InputTokens: 10, OutputTokens: 20}}
	}
	return b
}

func newRec(t *testing.T, w Writer, opts Options) (*Recorder, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	r, err := New(w, opts, slog.New(slog.NewTextHandler(io.Discard, nil)), reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r, reg
}

func TestSubmitIsDurableOnReturn(t *testing.T) {
	w := &memWriter{}
	r, reg := newRec(t, w, Options{})
	if err := r.Submit(context.Background(), batch(3)); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.counts(); n != 3 {
		t.Fatalf("written %d spans at return, want 3", n)
	}
	if got := testutil.ToFloat64(r.m.written); got != 3 {
		t.Errorf("written metric = %v", got)
	}
	if c := testutil.CollectAndCount(reg, "gen_ai_client_token_usage"); c != 2 {
		t.Errorf("token usage series = %d, want input and output", c)
	}
}

func TestGroupCommit(t *testing.T) {
	w := &memWriter{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	r, _ := newRec(t, w, Options{})
	var wg sync.WaitGroup
	// The first submission blocks the writer; the next ten queue up and
	// must be written together in one store write.
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Submit(context.Background(), batch(1)) }()
	<-w.entered
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Submit(context.Background(), batch(2)) }()
	}
	for r.QueueItems() != 20 {
		time.Sleep(time.Millisecond)
	}
	w.gate <- struct{}{}
	w.gate <- struct{}{}
	wg.Wait()
	if n, writes := w.counts(); n != 21 || writes != 2 {
		t.Fatalf("spans=%d writes=%d, want 21 in 2 writes", n, writes)
	}
}

func TestFullQueuePushesBack(t *testing.T) {
	w := &memWriter{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	r, _ := newRec(t, w, Options{MaxQueueItems: 5})
	go func() { _ = r.Submit(context.Background(), batch(1)) }() // taken by the writer, blocked
	<-w.entered
	done := make(chan error, 1)
	go func() { done <- r.Submit(context.Background(), batch(4)) }()
	for r.QueueItems() != 4 {
		time.Sleep(time.Millisecond)
	}
	if err := r.Submit(context.Background(), batch(2)); !errors.Is(err, ErrFull) {
		t.Fatalf("err = %v, want ErrFull", err)
	}
	if r.Enqueue(batch(2)) {
		t.Fatal("Enqueue into a full queue reported success")
	}
	if got := testutil.ToFloat64(r.m.dropped); got != 2 {
		t.Errorf("dropped = %v, want 2", got)
	}
	close(w.gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestOversizedBatchIntoEmptyQueue(t *testing.T) {
	r, _ := newRec(t, &memWriter{}, Options{MaxQueueItems: 5})
	if err := r.Submit(context.Background(), batch(50)); err != nil {
		t.Fatalf("a batch over the bound must pass an empty queue: %v", err)
	}
}

func TestStoreFailureIsReported(t *testing.T) {
	w := &memWriter{failing: true}
	r, _ := newRec(t, w, Options{})
	if err := r.Submit(context.Background(), batch(1)); !errors.Is(err, ErrStore) {
		t.Fatalf("err = %v, want ErrStore", err)
	}
	r.Enqueue(batch(3))
	_ = r.Close(context.Background())
	if got := testutil.ToFloat64(r.m.dropped); got != 3 {
		t.Errorf("dropped = %v, want 3 (async batch lost to a failed write)", got)
	}
}

func TestCloseDrains(t *testing.T) {
	w := &memWriter{}
	r, _ := newRec(t, w, Options{})
	for range 100 {
		r.Enqueue(batch(10))
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.counts(); n != 1000 {
		t.Fatalf("after Close %d spans written, want 1000", n)
	}
	if err := r.Submit(context.Background(), batch(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func TestPrepareRuns(t *testing.T) {
	r, _ := newRec(t, &memWriter{}, Options{Prepare: func(b *store.Batch) {
		for i := range b.Spans {
			b.Spans[i].CostKnown = true
		}
	}})
	b := batch(2)
	if err := r.Submit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if !b.Spans[0].CostKnown {
		t.Fatal("Prepare did not run")
	}
}

func BenchmarkSubmit(b *testing.B) {
	for _, n := range []int{100, 512} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			r, err := New(&memWriter{}, Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close(context.Background())
			bt := batch(n)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := r.Submit(context.Background(), bt); err != nil {
						b.Error(err)
					}
				}
			})
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}

// TestAsyncBatchesShareATransaction: the gateway's one-span batches wait a
// little for each other instead of paying a store transaction each, and a
// Submit arriving meanwhile is not held back by that wait.
func TestAsyncBatchesShareATransaction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &memWriter{}
		r, _ := newRec(t, w, Options{AsyncLinger: 100 * time.Millisecond})
		for range 200 {
			if !r.Enqueue(batch(1)) {
				t.Fatal("refused")
			}
		}
		time.Sleep(99 * time.Millisecond)
		synctest.Wait()
		if spans, _ := w.counts(); spans != 0 {
			t.Fatalf("%d spans written before the linger ended", spans)
		}
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if spans, writes := w.counts(); spans != 200 || writes != 1 {
			t.Fatalf("%d spans in %d writes, want 200 in 1", spans, writes)
		}
		// A Submit ends the wait at once.
		r.Enqueue(batch(1))
		start := time.Now()
		if err := r.Submit(context.Background(), batch(1)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Submit waited %s behind the linger", d)
		}
		if spans, writes := w.counts(); spans != 202 || writes != 2 {
			t.Fatalf("%d spans in %d writes", spans, writes)
		}
		_ = r.Close(context.Background())
	})
}

// hintWriter is a store that asks for large batches (as ClickHouse does).
type hintWriter struct{ memWriter }

func (*hintWriter) BatchHint() (int, int, time.Duration) { return 100, 1000, time.Second }

// TestBatchHint: a store's hint makes synchronous submitters wait, up to
// the linger, for a batch of the minimum size; a full one goes at once.
func TestBatchHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := &hintWriter{}
		r, _ := newRec(t, w, Options{MaxBatchItems: 10})
		if r.opts.MaxBatchItems != 1000 || r.opts.MinBatchItems != 100 || r.opts.Linger != time.Second {
			t.Fatalf("options %+v: want the store's hint", r.opts)
		}
		start := time.Now()
		if err := r.Submit(context.Background(), batch(1)); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("a lone span was written after %s, want the 1s linger", d)
		}
		// Many submitters: written once the minimum is queued.
		start = time.Now()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if err := r.Submit(context.Background(), batch(10)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if d := time.Since(start); d != 0 {
			t.Errorf("a batch of the minimum size waited %s", d)
		}
		if spans, writes := w.counts(); spans != 101 || writes != 2 {
			t.Errorf("%d spans in %d writes, want 101 in 2", spans, writes)
		}
		_ = r.Close(context.Background())
	})
}

// A submitter that stops waiting (its client went away) takes its batch
// back while the writer has not taken it: after a flood of clients that
// gave up, the next request waits for no write nobody asked for.
func TestAbandonedSubmissionIsWithdrawn(t *testing.T) {
	w := &memWriter{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	r, _ := newRec(t, w, Options{MaxQueueItems: 9})
	first := make(chan error, 1)
	go func() { first <- r.Submit(context.Background(), batch(1)) }() // taken by the writer, blocked
	<-w.entered

	ctx, cancel := context.WithCancel(context.Background())
	abandoned := make(chan error, 1)
	go func() { abandoned <- r.Submit(ctx, batch(9)) }()
	for r.QueueItems() != 9 {
		time.Sleep(time.Millisecond)
	}
	if !r.Full() {
		t.Fatal("Full() = false with 9 of 9 items queued")
	}
	if err := r.Submit(context.Background(), batch(2)); !errors.Is(err, ErrFull) {
		t.Fatalf("err = %v, want ErrFull while the abandoned batch is queued", err)
	}
	cancel()
	if err := <-abandoned; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned Submit: err = %v, want context.Canceled", err)
	}
	if n := r.QueueItems(); n != 0 {
		t.Fatalf("queue holds %d items after its only waiter gave up, want 0", n)
	}
	if r.Full() {
		t.Fatal("Full() = true with an empty queue")
	}
	if got := testutil.ToFloat64(r.m.withdrawn); got != 9 {
		t.Errorf("withdrawn = %v, want 9", got)
	}
	// A submitter whose context has already ended queues nothing.
	if err := r.Submit(ctx, batch(3)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit with an ended context: err = %v", err)
	}
	next := make(chan error, 1)
	go func() { next <- r.Submit(context.Background(), batch(2)) }()
	close(w.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-next; err != nil {
		t.Fatal(err)
	}
	if spans, writes := w.counts(); spans != 3 || writes > 2 {
		t.Fatalf("wrote %d spans in %d writes, want 3 (the withdrawn 9 never written)", spans, writes)
	}
}

// The queue is bounded by time too: once the writer's speed is known, it
// takes no more than MaxQueueDelay of writing (but always a full store
// write's worth), so what arrives after a burst waits for little of it.
func TestQueueBoundedByWriteTime(t *testing.T) {
	w := &memWriter{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	r, _ := newRec(t, w, Options{MaxQueueItems: 1000, MaxBatchItems: 10, MaxQueueDelay: time.Second})
	// No speed measured yet: the item bound alone.
	r.mu.Lock()
	if n := r.maxItems(); n != 1000 {
		t.Fatalf("bound before any write = %d, want 1000", n)
	}
	r.mu.Unlock()
	// A writer at 20 items/s: a second's worth is 20 items.
	r.observeRate(20, time.Second)
	first := make(chan error, 1)
	go func() { first <- r.Submit(context.Background(), batch(1)) }() // taken by the writer, blocked
	<-w.entered
	second := make(chan error, 1)
	go func() { second <- r.Submit(context.Background(), batch(15)) }()
	for r.QueueItems() != 15 {
		time.Sleep(time.Millisecond)
	}
	if err := r.Submit(context.Background(), batch(10)); !errors.Is(err, ErrFull) {
		t.Fatalf("25 items queued at 20 items/s with a 1s bound: err = %v, want ErrFull", err)
	}
	if r.Full() {
		t.Fatal("Full() with 15 of 20 items queued")
	}
	// A slow writer (1 item/s): still a full store write's worth.
	r.observeRate(1, time.Second)
	r.observeRate(1, time.Second)
	r.mu.Lock()
	n := r.maxItems()
	r.mu.Unlock()
	if n != 10 {
		t.Fatalf("bound with a slow writer = %d, want MaxBatchItems (10)", n)
	}
	close(w.gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-second; err != nil {
		t.Fatal(err)
	}
}

// Written sees each batch once it is written, and never a batch whose
// write failed.
func TestWrittenHook(t *testing.T) {
	w := &memWriter{}
	var mu sync.Mutex
	seen := 0
	r, _ := newRec(t, w, Options{Written: func(b *store.Batch) {
		n, _ := w.counts()
		mu.Lock()
		defer mu.Unlock()
		if n < seen+len(b.Spans) {
			t.Errorf("shown %d spans before they were written (%d written)", seen+len(b.Spans), n)
		}
		seen += len(b.Spans)
	}})
	if err := r.Submit(context.Background(), batch(3)); err != nil {
		t.Fatal(err)
	}
	r.Enqueue(batch(2))
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if seen != 5 {
		t.Errorf("hook saw %d spans, want 5", seen)
	}
	mu.Unlock()

	failing := &memWriter{failing: true}
	r2, _ := newRec(t, failing, Options{Written: func(*store.Batch) { t.Error("hook shown a batch whose write failed") }})
	_ = r2.Submit(context.Background(), batch(1))
}
