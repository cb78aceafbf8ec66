package eval

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	picked     *prometheus.CounterVec
	runs       *prometheus.CounterVec
	seconds    *prometheus.HistogramVec
	unrecorded prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, e *Engine) (*metrics, error) {
	m := &metrics{
		picked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "genscope_evaluator_calls_total",
			Help: "Calls an evaluator picked to evaluate, by result: queued, full (dropped: the queue was full), over_budget (not evaluated: the evaluator's max_per_minute was used).",
		}, []string{"result"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "genscope_evaluator_runs_total",
			Help: "Evaluator runs, by status: ok (a score was written), failed, skipped (nothing to evaluate).",
		}, []string{"status"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "genscope_evaluator_run_seconds",
			Help:    "Time an evaluator run took (reading the call, evaluating with retries, writing the score), by evaluator type.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"type"}),
		unrecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_evaluator_runs_unrecorded_total",
			Help: "Evaluator runs whose record the store refused.",
		}),
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "genscope_evaluator_queue_calls",
		Help: "Calls waiting to be evaluated.",
	}, func() float64 { return float64(len(e.queue)) })
	if reg != nil {
		for _, c := range []prometheus.Collector{m.picked, m.runs, m.seconds, m.unrecorded, queue} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}
