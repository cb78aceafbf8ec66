package labelcap

import (
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Other is the value a label takes once it has its N values.
const Other = "other"

// DefaultMax is the number of distinct values a label keeps by default.
const DefaultMax = 100

// Limiter admits the first Max distinct values of each (metric, label)
// pair since start; values seen later fold into Other. Admission is
// first come: the values a deployment uses steadily arrive early, and an
// admitted series is never moved (a Prometheus counter that changed its
// labels would lose its history). Safe for concurrent use.
//
// Per-label caps alone still allow their product in label combinations,
// so each metric also keeps at most SeriesPerLabel×max combinations (see
// Series); a new combination beyond that is reported with every label
// Other.
type Limiter struct {
	max    int
	mu     sync.RWMutex
	seen   map[key]map[string]struct{}
	combos map[string]map[string]struct{}
	folded *prometheus.CounterVec
}

// SeriesPerLabel is how many label combinations a metric keeps per value
// a label keeps.
const SeriesPerLabel = 5

type key struct{ metric, label string }

// New returns a Limiter keeping max values per label (DefaultMax when
// max <= 0), registering its folded counter on reg.
func New(max int, reg prometheus.Registerer) (*Limiter, error) {
	if max <= 0 {
		max = DefaultMax
	}
	l := &Limiter{max: max, seen: make(map[key]map[string]struct{}), combos: make(map[string]map[string]struct{}),
		folded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "genscope_metrics_label_values_folded_total",
			Help: "Observations whose label value was reported as \"other\" because the label already had its maximum number of distinct values (metrics.max_label_values).",
		}, []string{"metric", "label"})}
	if reg != nil {
		if err := reg.Register(l.folded); err != nil {
			return nil, fmt.Errorf("register label limiter: %w", err)
		}
	}
	return l, nil
}

// Value returns v if it is, or may become, one of the label's values,
// Other (and counts the fold) if the label is full. A nil Limiter admits
// everything.
func (l *Limiter) Value(metric, label, v string) string {
	if l == nil {
		return v
	}
	k := key{metric, label}
	l.mu.RLock()
	_, ok := l.seen[k][v]
	l.mu.RUnlock()
	if ok {
		return v
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.seen[k]
	if s == nil {
		s = make(map[string]struct{})
		l.seen[k] = s
	}
	if _, ok := s[v]; ok {
		return v
	}
	if len(s) >= l.max {
		l.folded.WithLabelValues(metric, label).Inc()
		return Other
	}
	s[v] = struct{}{}
	return v
}

// Series caps each label of one observation (values[i] is the value of
// names[i]) with Value, then the metric's label combinations: a new one
// beyond SeriesPerLabel×max turns every value into Other (counted under
// the label "_series"). values is changed in place.
func (l *Limiter) Series(metric string, names, values []string) {
	if l == nil {
		return
	}
	// Fast path, the steady state: every value and the combination are
	// known; one read lock, no allocation.
	var buf [256]byte
	l.mu.RLock()
	known := true
	for i, v := range values {
		if _, ok := l.seen[key{metric, names[i]}][v]; !ok {
			known = false
			break
		}
	}
	if known {
		_, known = l.combos[metric][string(comboKey(buf[:0], values))]
	}
	l.mu.RUnlock()
	if known {
		return
	}
	for i := range values {
		values[i] = l.Value(metric, names[i], values[i])
	}
	combo := string(comboKey(buf[:0], values))
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.combos[metric]
	if c == nil {
		c = make(map[string]struct{})
		l.combos[metric] = c
	}
	if _, ok := c[combo]; ok {
		return
	}
	if len(c) >= SeriesPerLabel*l.max {
		l.folded.WithLabelValues(metric, "_series").Inc()
		for i := range values {
			values[i] = Other
		}
		return
	}
	c[combo] = struct{}{}
}

func comboKey(b []byte, values []string) []byte {
	for i, v := range values {
		if i > 0 {
			b = append(b, 0xff)
		}
		b = append(b, v...)
	}
	return b
}
