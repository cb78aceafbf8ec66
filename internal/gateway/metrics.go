package gateway

import (
	"fmt"

	"github.com/genscope/genscope/internal/quota"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests    *prometheus.CounterVec
	failures    *prometheus.CounterVec
	inflight    prometheus.Gauge
	dropped     prometheus.Counter
	notRecorded prometheus.Counter

	attemptFailures *prometheus.CounterVec
	limited         *prometheus.CounterVec
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
	m.limited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "genscope_gateway_limited_total",
		Help: "Calls refused (429) before going upstream because a rate limit or spend budget was reached, by the limit's scope (key, project, user) and name.",
	}, []string{"scope", "limit"})
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "genscope_gateway_record_queue_length",
		Help: "Finished calls waiting to be turned into records.",
	}, func() float64 { return float64(len(g.jobs)) })
	cs := []prometheus.Collector{m.requests, m.failures, m.inflight, m.dropped, m.notRecorded, m.attemptFailures, m.limited, queue}
	if g.opts.Limits != nil {
		cs = append(cs, budgetCollector{l: g.opts.Limits, desc: prometheus.NewDesc("genscope_gateway_budget_used_percent",
			"The highest share of a spend budget (USD per day or month) used in each project, by the project itself, one of its end users or one of its keys, in percent; for alerting before calls are refused at 100.",
			[]string{"project"}, nil)})
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("gateway metrics: %w", err)
		}
	}
	return m, nil
}

// budgetCollector reports each project's budget used, read from the
// limiter when scraped.
type budgetCollector struct {
	l    *quota.Limiter
	desc *prometheus.Desc
}

func (b budgetCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b budgetCollector) Collect(ch chan<- prometheus.Metric) {
	for p, v := range b.l.BudgetUsedByProject() {
		ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, v, p)
	}
}
