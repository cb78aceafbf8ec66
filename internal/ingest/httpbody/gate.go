package httpbody

import (
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

	mu       sync.Mutex
	used     int64
	peak     int64
	refusals int64
}

// NewGate returns a Gate admitting at most limit bytes at once.
func NewGate(limit int64) *Gate { return &Gate{limit: limit} }

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
func (g *Gate) TryAcquire(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.used+n > g.limit {
		g.refusals++
		return false
	}
	g.used += n
	g.peak = max(g.peak, g.used)
	return true
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
// admitted them (on false the lease keeps what it held).
func (l *Lease) Grow(n int64) bool {
	if l == nil || l.gate == nil || n <= l.held {
		return true
	}
	if !l.gate.TryAcquire(n - l.held) {
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
