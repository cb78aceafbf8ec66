package notify

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/secret"
	"github.com/genscope/genscope/internal/store"
)

// Kinds of documents and events the notifier stores.
const (
	KindGroup    = "action_group"
	KindDelivery = "notification"
	KindAttempt  = "notification_attempt"
)

// Errors callers map to HTTP statuses.
var (
	ErrNotFound = errors.New("not found")
	ErrReadOnly = errors.New("read-only: defined in the config file")
)

// ValidationError is a bad action group; its message names the fields.
type ValidationError struct{ Err error }

func (e *ValidationError) Error() string { return strings.ReplaceAll(e.Err.Error(), "\n", "; ") }
func (e *ValidationError) Unwrap() error { return e.Err }

// Options configure a Notifier.
type Options struct {
	State               store.StateStore
	AllowPrivateTargets bool
	SMTP                SMTP
	Attempts            int           // tries per delivery; 0 means 5
	AttemptTimeout      time.Duration // 0 means 10s
	Backoff             time.Duration // before the second try, doubled after each; 0 means 2s
	ConfigGroups        []ActionGroup
	// MaxConcurrent bounds concurrent sends; 0 means 16.
	MaxConcurrent int
	PagerDutyURL  string // "" means DefaultPagerDutyURL
	// Retention is how long the log keeps deliveries that are done; 0
	// means 30 days.
	Retention time.Duration
	// AccessFor is what an API request may do (the app builds it from the
	// request's principal); nil lets every request do everything, as when
	// authentication is off. See Access.
	AccessFor func(r *http.Request) Access
	// Metrics registers the notifier's metrics; nil means none.
	Metrics prometheus.Registerer
	Log     *slog.Logger
}

// Group is an action group: a named set of receivers.
type Group struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Receivers []Receiver `json:"receivers"`
	ReadOnly  bool       `json:"read_only"`
	CreatedAt time.Time  `json:"created_at,omitzero"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
}

// storedReceiver is a receiver as stored: with its secrets (secret.Secret
// redacts itself in JSON).
type storedReceiver struct {
	Type       string   `json:"type"`
	Name       string   `json:"name,omitempty"`
	URL        string   `json:"url,omitempty"`
	HMACSecret string   `json:"hmac_secret,omitempty"`
	RoutingKey string   `json:"routing_key,omitempty"`
	To         []string `json:"to,omitempty"`
}

type storedGroup struct {
	ID        string           `json:"id"`
	Name      string           `json:"name"`
	Receivers []storedReceiver `json:"receivers"`
	CreatedAt time.Time        `json:"created_at"`
	UpdatedAt time.Time        `json:"updated_at"`
}

func toStored(g Group) storedGroup {
	s := storedGroup{ID: g.ID, Name: g.Name, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
	for _, r := range g.Receivers {
		s.Receivers = append(s.Receivers, storedReceiver{Type: r.Type, Name: r.Name, URL: r.URL.Reveal(),
			HMACSecret: r.HMACSecret.Reveal(), RoutingKey: r.RoutingKey.Reveal(), To: r.To})
	}
	return s
}

func fromStored(s storedGroup) Group {
	g := Group{ID: s.ID, Name: s.Name, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, Receivers: []Receiver{}}
	for _, r := range s.Receivers {
		g.Receivers = append(g.Receivers, Receiver{Type: r.Type, Name: r.Name, URL: secret.Secret(r.URL),
			HMACSecret: secret.Secret(r.HMACSecret), RoutingKey: secret.Secret(r.RoutingKey), To: r.To})
	}
	return g
}

// Delivery is one notification to one receiver, as the notification log
// records it.
type Delivery struct {
	ID             string             `json:"id"` // notification id + "/" + group id + "/" + receiver index
	NotificationID string             `json:"notification_id"`
	GroupID        string             `json:"group_id"`
	Receiver       int                `json:"receiver"`
	ReceiverType   string             `json:"receiver_type"`
	Status         string             `json:"status"` // pending, sent, failed
	Attempts       int                `json:"attempts"`
	LastError      string             `json:"last_error,omitempty"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
	Notification   alert.Notification `json:"notification"`
}

// Delivery statuses.
const (
	StatusPending = "pending"
	StatusSent    = "sent"
	StatusFailed  = "failed"
)

// Attempt is the outcome of one try of a delivery.
type Attempt struct {
	DeliveryID   string    `json:"delivery_id"`
	Attempt      int       `json:"attempt"`
	Time         time.Time `json:"time"`
	DurationMS   float64   `json:"duration_ms"`
	OK           bool      `json:"ok"`
	HTTPStatus   int       `json:"http_status,omitempty"`
	Error        string    `json:"error,omitempty"`
	ReceiverType string    `json:"receiver_type"`
	Test         bool      `json:"test,omitempty"`
}

// Notifier keeps action groups and delivers notifications to their
// receivers. Its methods are safe for concurrent use.
type Notifier struct {
	opts    Options
	log     *slog.Logger
	client  *http.Client
	sem     chan struct{}
	metrics *metrics

	mu         sync.Mutex
	groups     map[string]Group
	deliveries map[string]*Delivery
	runCtx     context.Context
	cancel     context.CancelFunc
	wg         sync.WaitGroup

	// writes counts the group changes this notifier stored, each counted
	// after the store has it (see Reload).
	writes atomic.Uint64
}

// New loads the stored action groups and notification log and adds the
// config groups.
func New(ctx context.Context, opts Options) (*Notifier, error) {
	if opts.State == nil {
		return nil, errors.New("notifier: State is required")
	}
	opts.Attempts = cmp.Or(opts.Attempts, 5)
	opts.AttemptTimeout = cmp.Or(opts.AttemptTimeout, 10*time.Second)
	opts.Backoff = cmp.Or(opts.Backoff, 2*time.Second)
	opts.MaxConcurrent = cmp.Or(opts.MaxConcurrent, 16)
	opts.PagerDutyURL = cmp.Or(opts.PagerDutyURL, DefaultPagerDutyURL)
	opts.Retention = cmp.Or(opts.Retention, 30*24*time.Hour)
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	n := &Notifier{opts: opts, log: opts.Log, client: newClient(opts.AllowPrivateTargets, opts.AttemptTimeout),
		sem: make(chan struct{}, opts.MaxConcurrent), groups: map[string]Group{}, deliveries: map[string]*Delivery{}}
	n.metrics = newMetrics(opts.Metrics, n)
	err := opts.State.ListDocs(ctx, KindGroup, func(id string, doc []byte) error {
		var s storedGroup
		if err := json.Unmarshal(doc, &s); err != nil {
			return fmt.Errorf("action group %s: %w", id, err)
		}
		n.groups[s.ID] = fromStored(s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load action groups: %w", err)
	}
	for _, cg := range opts.ConfigGroups {
		g := Group{ID: cg.ID, Name: cg.Name, Receivers: cg.Receivers, ReadOnly: true}
		if err := n.check(&g); err != nil {
			return nil, fmt.Errorf("config action group %s: %w", cg.ID, err)
		}
		n.groups[g.ID] = g
	}
	err = opts.State.ListDocs(ctx, KindDelivery, func(id string, doc []byte) error {
		var d Delivery
		if err := json.Unmarshal(doc, &d); err != nil {
			return fmt.Errorf("notification %s: %w", id, err)
		}
		n.deliveries[d.ID] = &d
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load notification log: %w", err)
	}
	// Deliveries done long ago leave the log. A state change is handed
	// over again only until it is logged, so old entries are not needed
	// to keep it from being sent twice.
	cutoff := time.Now().Add(-opts.Retention)
	for id, d := range n.deliveries {
		if d.Status != StatusPending && d.UpdatedAt.Before(cutoff) {
			if err := opts.State.DeleteDoc(ctx, KindDelivery, id); err != nil {
				return nil, fmt.Errorf("prune notification log: %w", err)
			}
			delete(n.deliveries, id)
		}
	}
	return n, nil
}

// Start resumes the deliveries a previous run left pending and lets new
// ones start. Stop ends them.
func (n *Notifier) Start(ctx context.Context) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.runCtx != nil {
		return
	}
	n.runCtx, n.cancel = context.WithCancel(ctx)
	for _, d := range n.deliveries {
		if d.Status == StatusPending {
			n.goDeliver(d.ID)
		}
	}
}

// Stop cancels retries and waits for attempts in flight (each bounded by
// the attempt timeout). Deliveries not done stay pending in the log and
// resume at the next Start.
func (n *Notifier) Stop() {
	n.mu.Lock()
	if n.cancel != nil {
		n.cancel()
	}
	n.runCtx, n.cancel = nil, nil
	n.mu.Unlock()
	n.wg.Wait()
}

// Notify records a delivery per receiver of the rule's action groups in
// the notification log, then delivers them in the background. A
// notification already logged (same notification id, group, receiver) is
// not delivered again: a state change is notified once, even when the
// alert engine hands it over again after a restart.
func (n *Notifier) Notify(ctx context.Context, x alert.Notification) error {
	var todo []*Delivery
	now := time.Now().UTC()
	for _, gid := range x.Rule.ActionGroups {
		n.mu.Lock()
		g, ok := n.groups[gid]
		n.mu.Unlock()
		if !ok {
			n.log.Warn("alert rule names a missing action group", "rule", x.Rule.ID, "action_group", gid)
			continue
		}
		for i, r := range g.Receivers {
			id := fmt.Sprintf("%s/%s/%d", x.ID, gid, i)
			n.mu.Lock()
			_, seen := n.deliveries[id]
			n.mu.Unlock()
			if seen {
				continue
			}
			todo = append(todo, &Delivery{ID: id, NotificationID: x.ID, GroupID: gid, Receiver: i, ReceiverType: r.Type,
				Status: StatusPending, CreatedAt: now, UpdatedAt: now, Notification: x})
		}
	}
	for _, d := range todo {
		if err := n.save(ctx, d); err != nil {
			return err
		}
		n.mu.Lock()
		n.deliveries[d.ID] = d
		n.goDeliver(d.ID)
		n.mu.Unlock()
	}
	return nil
}

func (n *Notifier) save(ctx context.Context, d *Delivery) error {
	doc, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if err := n.opts.State.PutDoc(ctx, KindDelivery, d.ID, doc); err != nil {
		return fmt.Errorf("notification log: %w", err)
	}
	return nil
}

// goDeliver starts delivering if the notifier runs. Callers hold n.mu.
func (n *Notifier) goDeliver(id string) {
	if n.runCtx == nil {
		return
	}
	ctx := n.runCtx
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.deliver(ctx, id)
	}()
}

// deliver tries a delivery up to Attempts times with exponential backoff,
// recording every attempt, until it is sent, fails for good, or ctx ends
// (then it stays pending).
func (n *Notifier) deliver(ctx context.Context, id string) {
	n.mu.Lock()
	d := *n.deliveries[id]
	n.mu.Unlock()
	backoff := n.opts.Backoff
	for d.Attempts < n.opts.Attempts {
		if d.Attempts > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff *= 2
		}
		n.mu.Lock()
		g, ok := n.groups[d.GroupID]
		n.mu.Unlock()
		if !ok || d.Receiver >= len(g.Receivers) {
			d.Status, d.LastError = StatusFailed, "the action group or receiver was removed"
			n.finish(&d)
			return
		}
		select {
		case n.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		d.Attempts++
		a, err := n.attempt(ctx, g.Receivers[d.Receiver], d.ID, d.Attempts, d.Notification)
		<-n.sem
		if ctx.Err() != nil && err != nil {
			d.Attempts-- // interrupted by shutdown: not the receiver's failure
			return
		}
		n.record(a)
		d.UpdatedAt = time.Now().UTC()
		if err == nil {
			d.Status, d.LastError = StatusSent, ""
			n.finish(&d)
			return
		}
		d.LastError = err.Error()
		var pe *permanentError
		if errors.As(err, &pe) {
			break
		}
		n.log.Warn("notification attempt failed", "delivery", d.ID, "receiver_type", d.ReceiverType, "attempt", d.Attempts, "err", err)
		n.mu.Lock()
		*n.deliveries[id] = d
		n.mu.Unlock()
		_ = n.save(context.WithoutCancel(ctx), &d)
	}
	d.Status = StatusFailed
	n.log.Error("notification failed", "delivery", d.ID, "receiver_type", d.ReceiverType, "attempts", d.Attempts, "err", d.LastError)
	n.finish(&d)
}

func (n *Notifier) finish(d *Delivery) {
	d.UpdatedAt = time.Now().UTC()
	n.metrics.deliveries.WithLabelValues(d.ReceiverType, d.Status).Inc()
	// Saved before it shows here, so that whoever sees the final status
	// (another node reloading the log included) finds it stored.
	if err := n.save(context.Background(), d); err != nil {
		n.log.Error("save notification log", "delivery", d.ID, "err", err)
	}
	n.mu.Lock()
	*n.deliveries[d.ID] = *d
	n.mu.Unlock()
}

// attempt sends once, bounded by the attempt timeout.
func (n *Notifier) attempt(ctx context.Context, r Receiver, id string, k int, x alert.Notification) (Attempt, error) {
	actx, cancel := context.WithTimeout(ctx, n.opts.AttemptTimeout)
	defer cancel()
	start := time.Now()
	status, err := n.send(actx, r, id, x)
	a := Attempt{DeliveryID: id, Attempt: k, Time: start.UTC(), DurationMS: float64(time.Since(start).Microseconds()) / 1000,
		OK: err == nil, HTTPStatus: status, ReceiverType: r.Type, Test: x.Test}
	if err != nil {
		a.Error = err.Error()
	}
	return a, err
}

func (n *Notifier) record(a Attempt) {
	result := "ok"
	if !a.OK {
		result = "error"
	}
	n.metrics.attempts.WithLabelValues(a.ReceiverType, result).Inc()
	doc, _ := json.Marshal(a)
	if err := n.opts.State.AppendEvent(context.Background(), KindAttempt, a.DeliveryID, a.Time, doc); err != nil {
		n.log.Warn("record notification attempt", "delivery", a.DeliveryID, "err", err)
	}
}

// Deliveries returns the newest limit entries of the notification log.
func (n *Notifier) Deliveries(limit int) []Delivery {
	n.mu.Lock()
	out := make([]Delivery, 0, len(n.deliveries))
	for _, d := range n.deliveries {
		out = append(out, *d)
	}
	n.mu.Unlock()
	slices.SortFunc(out, func(a, b Delivery) int { return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(a.ID, b.ID)) })
	return out[:min(len(out), max(limit, 1))]
}

// Attempts returns the newest limit attempts (of one delivery, or all).
func (n *Notifier) Attempts(ctx context.Context, deliveryID string, limit int) ([]Attempt, error) {
	out := []Attempt{}
	err := n.opts.State.ListEvents(ctx, KindAttempt, deliveryID, limit, func(doc []byte) error {
		var a Attempt
		if err := json.Unmarshal(doc, &a); err != nil {
			return err
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// TestResult is the outcome of a test notification to one receiver.
type TestResult struct {
	Receiver int     `json:"receiver"`
	Type     string  `json:"type"`
	Attempt  Attempt `json:"attempt"`
}

// Test sends a test notification (a fired alert of a made-up rule) to
// every receiver of a group, once each, and returns the outcomes.
func (n *Notifier) Test(ctx context.Context, id string) ([]TestResult, error) {
	g, err := n.Group(id)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	r := alert.NewRule()
	r.ID, r.Name, r.Description, r.Signal, r.Aggregation, r.Threshold = "test", "Test notification from genscope",
		"Sent from action group "+g.Name+" to check its receivers.", "duration_ms", "avg", 4000
	r.ActionGroups = []string{g.ID}
	x := alert.Notification{ID: "test-" + newID(), Test: true, Rule: r, Alert: alert.Instance{ID: "test", RuleID: "test",
		RuleName: r.Name, Severity: r.Severity, State: alert.StateFired, Value: 4500, HasValue: true, Operator: ">",
		Threshold: 4000, Query: "a test notification: no query", FiredAt: now, ChangedAt: now, EvaluatedAt: now, FiredValue: 4500, ChangeID: 1}}
	out := make([]TestResult, len(g.Receivers))
	var wg sync.WaitGroup
	for i, rc := range g.Receivers {
		wg.Go(func() {
			a, _ := n.attempt(ctx, rc, fmt.Sprintf("%s/%s/%d", x.ID, g.ID, i), 1, x)
			n.record(a)
			out[i] = TestResult{Receiver: i, Type: rc.Type, Attempt: a}
		})
	}
	wg.Wait()
	return out, nil
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
