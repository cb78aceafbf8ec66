package notify

import "github.com/prometheus/client_golang/prometheus"

// metrics are the notifier's Prometheus metrics.
type metrics struct {
	attempts   *prometheus.CounterVec
	deliveries *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, n *Notifier) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genscope_notification_attempts_total",
			Help: "Notification delivery attempts, by receiver type and result (ok, error)."}, []string{"receiver_type", "result"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "genscope_notifications_total",
			Help: "Notifications done, by receiver type and status (sent, failed)."}, []string{"receiver_type", "status"}),
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.deliveries,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "genscope_notifications_pending",
				Help: "Notifications not yet sent or failed."}, func() float64 {
				n.mu.Lock()
				defer n.mu.Unlock()
				k := 0
				for _, d := range n.deliveries {
					if d.Status == StatusPending {
						k++
					}
				}
				return float64(k)
			}))
	}
	return m
}
