package httpbody

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Gate bounds the bytes of request bodies held in memory at once, across
// every receiver that shares it: a request is admitted only while its
// bytes fit, before they are read, and answered 429 (gRPC
// RESOURCE_EXHAUSTED) at once otherwise. Without it memory grows with the
// number of concurrent requests (48 concurrent 8 MB batches reached
// 2.8 GB before the recorder's queue limit could refuse any). It is safe
// for concurrent use.
type Gate struct {
	limit int64
	full  func() bool   // nil: no downstream check
	work  chan struct{} // work slots (see Work)

	mu       sync.Mutex
	used     int64
	peak     int64
	refusals int64
}

// NewGate returns a Gate admitting at most limit bytes at once.
func NewGate(limit int64) *Gate { return NewGateBefore(limit, nil) }

// NewGateBefore is NewGate for a Gate in front of a queue: while full
// reports true (the queue the admitted requests go to has no room), a
// new request is refused at once, before a byte of it is read, instead
// of being read and decoded only for the queue to refuse it. Under a
// flood that keeps the CPU for the writer that drains the queue. full
// must be quick and safe for concurrent use.
func NewGateBefore(limit int64, full func() bool) *Gate {
	return &Gate{limit: limit, full: full, work: make(chan struct{}, runtime.GOMAXPROCS(0))}
}

// Work waits for one of the gate's work slots — as many as the CPUs Go
// runs on — for the CPU-bound part of an admitted request (decoding and
// converting it), and returns the function that gives the slot back; it
// may be called more than once. Admitted requests beyond the slots wait
// here holding only their bytes, and are decoded a few at a time rather
// than all at once: under a flood of large batches each is ready for the
// queue in the time it takes to decode it, not in that time multiplied by
// the number admitted (15 concurrent 4 MiB decodes on 2 busy cores had
// none reach the queue in 15 s), and the memory of decoded requests is
// bounded by the slots, not by the gate's bytes. It returns ctx's error
// if ctx ends first, and a Busy *Error if, when a slot is free, the queue
// behind the gate is full (NewGateBefore): a request the queue would
// refuse is refused before it is decoded. A nil Gate has a slot for
// everyone.
func (g *Gate) Work(ctx context.Context) (done func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	select {
	case g.work <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if g.full != nil && g.full() {
		<-g.work
		g.mu.Lock()
		g.refusals++
		g.mu.Unlock()
		return nil, &Error{Kind: Busy, Msg: g.BusyMessage()}
	}
	var once sync.Once
	return func() { once.Do(func() { <-g.work }) }, nil
}

// Limit is the gate's limit in bytes.
func (g *Gate) Limit() int64 { return g.limit }

// InFlight is the number of bytes admitted and not yet released.
func (g *Gate) InFlight() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.used
}

// Peak is the most bytes ever in flight at once.
func (g *Gate) Peak() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak
}

// Refusals counts the requests refused because the gate was full.
func (g *Gate) Refusals() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refusals
}

// TryAcquire admits n more bytes if they fit, and reports whether they
// did. Bytes acquired are given back with Release.
func (g *Gate) TryAcquire(n int64) bool { return g.acquire(n, false) }

// acquire is TryAcquire; a new request (first) is also refused while the
// queue behind the gate is full.
func (g *Gate) acquire(n int64, first bool) bool {
	queueFull := first && g.full != nil && g.full()
	g.mu.Lock()
	defer g.mu.Unlock()
	if queueFull || g.used+n > g.limit {
		g.refusals++
		return false
	}
	g.used += n
	g.peak = max(g.peak, g.used)
	return true
}

// BusyMessage is what a refused client is told.
func (g *Gate) BusyMessage() string {
	if g.full != nil {
		return fmt.Sprintf("server busy: more than %d bytes of requests in flight, or the write queue full; retry later", g.limit)
	}
	return fmt.Sprintf("server busy: more than %d bytes of requests in flight; retry later", g.limit)
}

// Release gives back n bytes acquired with TryAcquire.
func (g *Gate) Release(n int64) {
	g.mu.Lock()
	g.used -= n
	g.mu.Unlock()
}

// Lease is the bytes one request holds of a Gate; its zero value (and a
// nil one) holds nothing and admits everything.
type Lease struct {
	gate *Gate
	held int64
}

// Lease returns an empty lease on g (nil g: a lease that admits
// everything).
func (g *Gate) Lease() *Lease { return &Lease{gate: g} }

// Grow makes the lease hold at least n bytes, and reports whether the gate
// admitted them (on false the lease keeps what it held). The first Grow
// of a lease admits a new request: it is also refused while the queue
// behind the gate is full (NewGateBefore).
func (l *Lease) Grow(n int64) bool {
	if l == nil || l.gate == nil || n <= l.held {
		return true
	}
	if !l.gate.acquire(n-l.held, l.held == 0) {
		return false
	}
	l.held = n
	return true
}

// Shrink gives back what the lease holds above n bytes: a reservation
// made before a message's size was known, cut to its size once read.
func (l *Lease) Shrink(n int64) {
	if l == nil || l.gate == nil || n >= l.held {
		return
	}
	l.gate.Release(l.held - max(n, 0))
	l.held = max(n, 0)
}

// Held is the bytes the lease holds.
func (l *Lease) Held() int64 {
	if l == nil {
		return 0
	}
	return l.held
}

// Release gives back everything the lease holds. It may be called more
// than once.
func (l *Lease) Release() {
	if l == nil || l.gate == nil || l.held == 0 {
		return
	}
	l.gate.Release(l.held)
	l.held = 0
}

var (
	inflightDesc = prometheus.NewDesc("genscope_ingest_inflight_bytes",
		"Bytes of ingestion request bodies (after decompression) admitted and held now.", nil, nil)
	inflightLimitDesc = prometheus.NewDesc("genscope_ingest_inflight_limit_bytes",
		"The bound on genscope_ingest_inflight_bytes (ingest.max_inflight_bytes).", nil, nil)
	inflightRefusedDesc = prometheus.NewDesc("genscope_ingest_inflight_refused_total",
		"Ingestion requests refused with 429 / RESOURCE_EXHAUSTED because their bytes did not fit in flight.", nil, nil)
)

// Describe implements prometheus.Collector.
func (g *Gate) Describe(ch chan<- *prometheus.Desc) {
	ch <- inflightDesc
	ch <- inflightLimitDesc
	ch <- inflightRefusedDesc
}

// Collect implements prometheus.Collector.
func (g *Gate) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	used, refusals := g.used, g.refusals
	g.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(inflightDesc, prometheus.GaugeValue, float64(used))
	ch <- prometheus.MustNewConstMetric(inflightLimitDesc, prometheus.GaugeValue, float64(g.limit))
	ch <- prometheus.MustNewConstMetric(inflightRefusedDesc, prometheus.CounterValue, float64(refusals))
}
