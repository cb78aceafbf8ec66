package recorder

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/labelcap"
	"github.com/genscope/genscope/internal/store"
)

type metrics struct {
	written         prometheus.Counter
	writtenMessages prometheus.Counter
	dropped         prometheus.Counter
	full            prometheus.Counter
	withdrawn       prometheus.Counter
	writeErrors     prometheus.Counter
	writeSeconds    prometheus.Histogram
	tokenUsage      *prometheus.HistogramVec
	opDuration      *prometheus.HistogramVec
	labels          *labelcap.Limiter
}

// Bucket boundaries advised by the OpenTelemetry GenAI metrics conventions.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
)

// The gen_ai_* metrics' labels taken from ingested data.
var (
	tuLabels = []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"}
	odLabels = []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model", "error_type"}
)

func newMetrics(reg prometheus.Registerer, r *Recorder) (*metrics, error) {
	m := &metrics{
		labels: r.opts.Labels,
		written: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_store_spans_written_total", Help: "Spans durably written to the store.",
		}),
		writtenMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_store_messages_written_total", Help: "Message records (content sent apart from spans) written to the store.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_spans_dropped_total", Help: "Spans and message records accepted without waiting (gateway) that could not be stored.",
		}),
		full: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_recorder_full_total", Help: "Submissions refused because the queue was full.",
		}),
		withdrawn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_recorder_withdrawn_total", Help: "Items taken back from the queue unwritten because their submitter stopped waiting (its client went away).",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "genscope_store_write_errors_total", Help: "Store writes that failed.",
		}),
		writeSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "genscope_store_write_duration_seconds", Help: "Latency of one batched store write.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		tokenUsage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gen_ai_client_token_usage", Help: "Tokens used per GenAI call, derived from stored calls (OpenTelemetry gen_ai.client.token.usage).",
			Buckets: tokenBuckets,
		}, append(tuLabels, "gen_ai_token_type")),
		opDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gen_ai_client_operation_duration_seconds", Help: "Duration of GenAI calls, derived from stored calls (OpenTelemetry gen_ai.client.operation.duration).",
			Buckets: durationBuckets,
		}, odLabels),
	}
	depth := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "genscope_recorder_queue_items", Help: "Spans and message records waiting to be written.",
	}, func() float64 { return float64(r.QueueItems()) })
	limit := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "genscope_recorder_queue_limit_items",
		Help: "The queue's bound in items now: max_queue_items, or fewer while the writer's recent speed would take longer than the queue delay bound to write them.",
	}, func() float64 {
		r.mu.Lock()
		defer r.mu.Unlock()
		return float64(r.maxItems())
	})
	for _, c := range []prometheus.Collector{m.written, m.writtenMessages, m.dropped, m.full, m.withdrawn, m.writeErrors, m.writeSeconds, m.tokenUsage, m.opDuration, depth, limit} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register recorder metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) observeCalls(b *store.Batch) {
	skip := map[int]bool{}
	for _, i := range b.Uncounted {
		skip[i] = true
	}
	for i := range b.Spans {
		s := &b.Spans[i]
		if !s.IsCall() || skip[i] {
			continue // not a call, or a call counted already (one call, one count)
		}
		// Label values come from ingested data: each label keeps a
		// bounded number of them, and each metric a bounded number of
		// combinations (labelcap); the rest are "other".
		tu := []string{s.Operation, s.Provider, s.Model()}
		m.labels.Series("gen_ai_client_token_usage", tuLabels, tu)
		op, prov, model := tu[0], tu[1], tu[2]
		if s.Usage.InputTokens > 0 {
			m.tokenUsage.WithLabelValues(op, prov, model, "input").Observe(float64(s.Usage.InputTokens))
		}
		if s.Usage.OutputTokens > 0 {
			m.tokenUsage.WithLabelValues(op, prov, model, "output").Observe(float64(s.Usage.OutputTokens))
		}
		errType := s.ErrorType
		if errType == "" && s.Status == "error" {
			errType = "_OTHER"
		}
		if errType == "" && s.HTTPStatus >= 400 {
			errType = strconv.Itoa(s.HTTPStatus)
		}
		od := []string{s.Operation, s.Provider, s.Model(), errType}
		m.labels.Series("gen_ai_client_operation_duration_seconds", odLabels, od)
		m.opDuration.WithLabelValues(od...).Observe(float64(s.DurationNano) / 1e9)
	}
}
