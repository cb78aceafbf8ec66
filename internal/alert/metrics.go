package alert

import "github.com/prometheus/client_golang/prometheus"

// metrics are the engine's Prometheus metrics.
type metrics struct {
	evaluations *prometheus.CounterVec
	duration    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, e *Engine) *metrics {
	m := &metrics{
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genscope_alert_evaluations_total",
			Help: "Alert rule evaluations, by result (ok, error)."}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "genscope_alert_evaluation_duration_seconds",
			Help: "Time one alert rule evaluation took (waiting for a slot excluded).", Buckets: prometheus.ExponentialBuckets(0.001, 4, 9)}),
	}
	m.evaluations.WithLabelValues("ok")
	m.evaluations.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m.evaluations, m.duration,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "genscope_alert_rules", Help: "Alert rules."}, func() float64 {
				e.mu.Lock()
				defer e.mu.Unlock()
				return float64(len(e.rules))
			}),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "genscope_alerts_fired", Help: "Alerts in the fired state."}, func() float64 {
				e.mu.Lock()
				defer e.mu.Unlock()
				n := 0
				for _, in := range e.alerts {
					if in.State == StateFired {
						n++
					}
				}
				return float64(n)
			}))
	}
	return m
}
