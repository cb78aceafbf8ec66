package recorder

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/labelcap"
	"github.com/genscope/genscope/internal/process"
	"github.com/genscope/genscope/internal/store"
)

// The errors the recorder returns are the processing stage's, so that
// receivers see them without importing the recorder.
var (
	// ErrFull means the queue has no room: the caller should answer with
	// 429 / RESOURCE_EXHAUSTED and a Retry-After, and the client retries.
	ErrFull = process.ErrFull
	// ErrClosed means the recorder is shutting down.
	ErrClosed = process.ErrClosed
	// ErrStore wraps a failed store write: nothing of the batch was stored
	// and the client should retry later.
	ErrStore = process.ErrStore
)

var _ process.Next = (*Recorder)(nil)

// Writer is where batches go: a store.Store.
type Writer interface {
	Write(ctx context.Context, b *store.Batch) error
}

// Options bound the queue and shape the batches.
type Options struct {
	// MaxQueueItems bounds spans plus message records waiting to be written.
	MaxQueueItems int
	// MaxQueueBytes bounds their approximate size in memory.
	MaxQueueBytes int64
	// MaxBatchItems is the most items one store write takes.
	MaxBatchItems int
	// MaxQueueDelay bounds the queue by time as well: while the items
	// queued would take the writer longer than this to write at the speed
	// of its recent writes, a new submission is refused (ErrFull), though
	// a full store write's worth (MaxBatchItems) is always taken. So a
	// request that arrives after a flood waits for at most this much of
	// the flood's backlog, whatever the store's speed on the machine at
	// the time. 0 means 2s; negative means no such bound.
	MaxQueueDelay time.Duration
	// WriteTimeout bounds one store write.
	WriteTimeout time.Duration
	// Prepare, if set, runs on each batch in the submitter's goroutine
	// before it is queued (cost computation, redaction).
	Prepare func(*store.Batch)
	// AsyncLinger is how long the writer waits for more work when only
	// asynchronous batches (Enqueue: the gateway) are queued, so that
	// they share one store transaction instead of paying one each; a
	// Submit, a full batch or Close ends the wait. 0 means 50ms; negative
	// means no wait.
	AsyncLinger time.Duration
	// MinBatchItems and Linger are for stores that pay much per write
	// (ClickHouse makes a data part per insert): while fewer than
	// MinBatchItems items are queued, the writer waits up to Linger for
	// more, even when submitters wait for their write. 0 means no such
	// wait, unless the store asks for one (store.BatchHinter).
	MinBatchItems int
	Linger        time.Duration
	// Labels bounds the distinct model, provider, operation and error
	// type values of the gen_ai_* metrics (nil: unbounded).
	Labels *labelcap.Limiter
	// Written, if set, is shown each batch once the store has written it
	// (the online evaluators). It runs in the writer's goroutine, so it
	// must not block: it may keep the batch's spans but not change them.
	Written func(*store.Batch)
}

// DefaultOptions are sized for a 2-core machine with a few hundred MiB.
func DefaultOptions() Options {
	return Options{
		MaxQueueItems: 100_000,
		MaxQueueBytes: 64 << 20,
		MaxBatchItems: 8192,
		MaxQueueDelay: 2 * time.Second,
		WriteTimeout:  30 * time.Second,
	}
}

type request struct {
	batch *store.Batch
	bytes int64
	done  chan error // nil for asynchronous submissions
}

// Recorder queues batches and writes them to the store from one goroutine.
type Recorder struct {
	w    Writer
	opts Options
	log  *slog.Logger
	m    *metrics

	mu       sync.Mutex
	queue    []request
	waiters  int // queued requests that wait for their write (Submit)
	items    int
	bytes    int64
	closed   bool
	rate     float64 // items per second the writer writes, recently; 0: not measured yet
	wake     chan struct{}
	finished chan struct{}
}

// New starts a recorder writing to w. Stop it with Close.
func New(w Writer, opts Options, log *slog.Logger, reg prometheus.Registerer) (*Recorder, error) {
	def := DefaultOptions()
	if opts.MaxQueueItems <= 0 {
		opts.MaxQueueItems = def.MaxQueueItems
	}
	if opts.MaxQueueBytes <= 0 {
		opts.MaxQueueBytes = def.MaxQueueBytes
	}
	if opts.MaxBatchItems <= 0 {
		opts.MaxBatchItems = def.MaxBatchItems
	}
	if opts.MaxQueueDelay == 0 {
		opts.MaxQueueDelay = def.MaxQueueDelay
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = def.WriteTimeout
	}
	if opts.AsyncLinger == 0 {
		opts.AsyncLinger = 50 * time.Millisecond
	}
	if h, ok := w.(store.BatchHinter); ok {
		minItems, maxItems, linger := h.BatchHint()
		opts.MaxBatchItems = max(opts.MaxBatchItems, maxItems)
		if opts.MinBatchItems == 0 {
			opts.MinBatchItems = minItems
		}
		if opts.Linger == 0 {
			opts.Linger = linger
		}
	}
	r := &Recorder{
		w:        w,
		opts:     opts,
		log:      log,
		wake:     make(chan struct{}, 1),
		finished: make(chan struct{}),
	}
	m, err := newMetrics(reg, r)
	if err != nil {
		return nil, err
	}
	r.m = m
	go r.run()
	return r, nil
}

// Submit queues b and waits until it is durable in the store. It returns
// ErrFull at once when the queue has no room, ErrClosed after Close, an
// error wrapping ErrStore when the write failed, or ctx.Err() when the
// caller gave up waiting (the batch is taken back if the writer has not
// taken it yet, and may be written otherwise).
func (r *Recorder) Submit(ctx context.Context, b *store.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if err := r.prepare(b); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // the caller is gone: nobody would learn of the write
	}
	done := make(chan error, 1)
	if err := r.enqueue(request{batch: b, bytes: approxBytes(b), done: done}); err != nil {
		return err
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		// Nobody will be told the batch is stored, so a batch the writer
		// has not taken yet is taken back: after a flood of clients that
		// gave up, the writer is free for the next request at once
		// instead of writing what no one waits for.
		r.withdraw(done)
		return ctx.Err()
	}
}

// withdraw removes the queued request whose answer goes to done, if the
// writer has not taken it yet, and reports whether it did.
func (r *Recorder) withdraw(done chan error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.queue {
		q := r.queue[i]
		if q.done != done {
			continue
		}
		copy(r.queue[i:], r.queue[i+1:])
		r.queue[len(r.queue)-1] = request{} // drop the batch's reference
		r.queue = r.queue[:len(r.queue)-1]
		r.items -= q.batch.Len()
		r.bytes -= q.bytes
		r.waiters--
		r.m.withdrawn.Add(float64(q.batch.Len()))
		return true
	}
	return false
}

// Full reports whether the queue is at its bound, so that a receiver can
// refuse a request before reading it rather than after decoding it.
func (r *Recorder) Full() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.items >= r.maxItems() || r.bytes >= r.opts.MaxQueueBytes
}

// maxItems is the queue's bound in items: MaxQueueItems, or fewer when
// the writer's recent speed says they would take longer than
// MaxQueueDelay to write. r.mu is held.
func (r *Recorder) maxItems() int {
	n := r.opts.MaxQueueItems
	if r.opts.MaxQueueDelay > 0 && r.rate > 0 {
		byTime := int(r.rate * r.opts.MaxQueueDelay.Seconds())
		n = min(n, max(byTime, r.opts.MaxBatchItems))
	}
	return n
}

// observeRate folds one write of items in d into the writer's speed.
func (r *Recorder) observeRate(items int, d time.Duration) {
	if items == 0 || d <= 0 {
		return
	}
	v := float64(items) / d.Seconds()
	r.mu.Lock()
	if r.rate == 0 {
		r.rate = v
	} else {
		r.rate = 0.7*r.rate + 0.3*v // a moving average: one slow write does not close the queue
	}
	r.mu.Unlock()
}

// Enqueue queues b without waiting for it to be written, for sources that
// must never wait on storage (the gateway). It reports whether b was
// queued; when it was not, the loss is counted as dropped.
func (r *Recorder) Enqueue(b *store.Batch) bool {
	if b.Len() == 0 {
		return true
	}
	if err := r.prepare(b); err != nil {
		r.log.Warn("batch could not be prepared for the store", "items", b.Len(), "err", err)
		r.m.dropped.Add(float64(b.Len()))
		return false
	}
	if err := r.enqueue(request{batch: b, bytes: approxBytes(b)}); err != nil {
		r.m.dropped.Add(float64(b.Len()))
		return false
	}
	return true
}

// prepare runs the Prepare option, then the store's own preparation, on
// the submitter's goroutine: that work runs in parallel across
// submitters instead of in the single writer.
func (r *Recorder) prepare(b *store.Batch) error {
	if r.opts.Prepare != nil {
		r.opts.Prepare(b)
	}
	if p, ok := r.w.(store.Preparer); ok {
		if err := p.Prepare(b); err != nil {
			return fmt.Errorf("%w: prepare: %v", ErrStore, err)
		}
	}
	return nil
}

func (r *Recorder) enqueue(req request) error {
	n := req.batch.Len()
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return ErrClosed
	// A batch larger than the whole queue is still taken when the queue is
	// empty, so one oversized (but body-limited) request cannot wedge.
	case r.items > 0 && (r.items+n > r.maxItems() || r.bytes+req.bytes > r.opts.MaxQueueBytes):
		r.mu.Unlock()
		r.m.full.Inc()
		return ErrFull
	}
	r.queue = append(r.queue, req)
	if req.done != nil {
		r.waiters++
	}
	r.items += n
	r.bytes += req.bytes
	// Signal under the lock: Close closes wake under it too.
	select {
	case r.wake <- struct{}{}:
	default:
	}
	r.mu.Unlock()
	return nil
}

// QueueItems is the number of items waiting to be written.
func (r *Recorder) QueueItems() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.items
}

// Close stops taking submissions, writes everything already queued and
// returns when that is done or ctx ends.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.wake)
	}
	r.mu.Unlock()
	select {
	case <-r.finished:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("recorder drain: %w", ctx.Err())
	}
}

func (r *Recorder) run() {
	defer close(r.finished)
	for {
		r.linger()
		reqs, closed := r.take()
		if len(reqs) == 0 {
			if closed {
				return
			}
			if _, ok := <-r.wake; !ok {
				// Closed: loop once more to drain what is left.
				continue
			}
			continue
		}
		r.write(reqs)
	}
}

// linger waits while only asynchronous batches are queued, up to
// AsyncLinger, for more to share their transaction; and while fewer than
// MinBatchItems are queued, up to Linger.
func (r *Recorder) linger() {
	start := time.Now()
	for {
		r.mu.Lock()
		items, waiters, closed := r.items, r.waiters, r.closed
		r.mu.Unlock()
		if items == 0 || closed || items >= r.opts.MaxBatchItems {
			return
		}
		var d time.Duration
		if items < r.opts.MinBatchItems {
			d = r.opts.Linger
		}
		if waiters == 0 {
			d = max(d, r.opts.AsyncLinger)
		}
		left := d - time.Since(start)
		if left <= 0 {
			return
		}
		timer := time.NewTimer(left)
		select {
		case <-r.wake: // more work (or Close): look again
			timer.Stop()
		case <-timer.C:
			return
		}
	}
}

// take removes up to MaxBatchItems items' worth of requests from the queue
// (at least one request).
func (r *Recorder) take() ([]request, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, items := 0, 0
	for n < len(r.queue) {
		k := r.queue[n].batch.Len()
		if n > 0 && items+k > r.opts.MaxBatchItems {
			break
		}
		items += k
		n++
	}
	reqs := make([]request, n)
	copy(reqs, r.queue[:n])
	clear(r.queue[:n])
	r.queue = r.queue[n:]
	if len(r.queue) == 0 {
		r.queue = nil
	}
	for _, q := range reqs {
		r.items -= q.batch.Len()
		r.bytes -= q.bytes
		if q.done != nil {
			r.waiters--
		}
	}
	return reqs, r.closed
}

func (r *Recorder) write(reqs []request) {
	var b *store.Batch
	if len(reqs) == 1 {
		b = reqs[0].batch
	} else {
		b = &store.Batch{}
		for _, q := range reqs {
			b.Merge(q.batch)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.WriteTimeout)
	start := time.Now()
	err := r.w.Write(ctx, b)
	cancel()
	took := time.Since(start)
	r.m.writeSeconds.Observe(took.Seconds())
	if err == nil {
		r.observeRate(b.Len(), took)
	}
	if err != nil {
		r.m.writeErrors.Inc()
		r.log.Error("store write failed", "items", b.Len(), "err", err)
		err = fmt.Errorf("%w: %v", ErrStore, err)
		for _, q := range reqs {
			if q.done == nil {
				r.m.dropped.Add(float64(q.batch.Len()))
			}
		}
	} else {
		r.m.written.Add(float64(len(b.Spans)))
		r.m.writtenMessages.Add(float64(len(b.Messages)))
		r.m.observeCalls(b)
		if r.opts.Written != nil {
			r.opts.Written(b)
		}
	}
	for _, q := range reqs {
		if q.done != nil {
			q.done <- err
		}
	}
}

// approxBytes estimates the memory a batch holds, for the queue bound.
func approxBytes(b *store.Batch) int64 {
	n := int64(0)
	for i := range b.Spans {
		s := &b.Spans[i]
		n += 512 + int64(len(s.Name)+len(s.StatusMessage))
		for _, p := range s.SystemInstructions {
			n += int64(len(p.Content))
		}
		for _, m := range s.InputMessages {
			for _, p := range m.Parts {
				n += 64 + int64(len(p.Content))
			}
		}
		for _, m := range s.OutputMessages {
			for _, p := range m.Parts {
				n += 64 + int64(len(p.Content))
			}
		}
		n += int64(64 * (len(s.Attributes) + len(s.ResourceAttributes) + len(s.Events)))
	}
	for i := range b.Messages {
		n += 256
		for _, p := range b.Messages[i].Message.Parts {
			n += int64(len(p.Content))
		}
	}
	return n
}
