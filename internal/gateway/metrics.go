package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests    *prometheus.CounterVec
	failures    *prometheus.CounterVec
	inflight    prometheus.Gauge
	dropped     prometheus.Counter
	notRecorded prometheus.Counter

	attemptFailures *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, g *Gateway) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "genscope_gateway_requests_total",
			Help: "Model calls proxied by the gateway, by deployment and the status class the client got.",
		}, []string{"deployment", "code"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "genscope_gateway_failures_total",
			Help: "Failed model calls, by deployment and error type (upstream_unreachable, upstream_timeout, upstream_interrupted, client_disconnected, or the upstream's error code).",
		}, []string{"deployment", "error_type"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "genscope_gateway_inflight_requests",
			Help: "Model calls in progress through the gateway.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_gateway_records_dropped_total",
			Help: "Finished calls not recorded because the gateway's record queue was full (the calls themselves succeeded).",
		}),
		notRecorded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_gateway_records_refused_total",
			Help: "Finished calls the recorder refused (queue full or store down); see genscope_spans_dropped_total.",
		}),
	}
	m.attemptFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "genscope_gateway_attempt_failures_total",
		Help: "Failed attempts of routed calls that the gateway retried or fell back from (or gave up on), by deployment and error type.",
	}, []string{"deployment", "error_type"})
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "genscope_gateway_record_queue_length",
		Help: "Finished calls waiting to be turned into records.",
	}, func() float64 { return float64(len(g.jobs)) })
	for _, c := range []prometheus.Collector{m.requests, m.failures, m.inflight, m.dropped, m.notRecorded, m.attemptFailures, queue} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("gateway metrics: %w", err)
		}
	}
	return m, nil
}
