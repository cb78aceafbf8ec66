package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/notify/notifytest"
	"github.com/genscope/genscope/internal/secret"
)

// memState is an in-memory store.StateStore.
type memState struct {
	mu     sync.Mutex
	docs   map[string]map[string][]byte
	events []memEvent
}

type memEvent struct {
	kind, key string
	doc       []byte
}

func newMemState() *memState { return &memState{docs: map[string]map[string][]byte{}} }

func (m *memState) PutDoc(_ context.Context, kind, id string, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.docs[kind] == nil {
		m.docs[kind] = map[string][]byte{}
	}
	m.docs[kind][id] = slices.Clone(doc)
	return nil
}

func (m *memState) DeleteDoc(_ context.Context, kind, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs[kind], id)
	return nil
}

func (m *memState) ListDocs(_ context.Context, kind string, fn func(string, []byte) error) error {
	m.mu.Lock()
	var ids []string
	for id := range m.docs[kind] {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var docs [][]byte
	for _, id := range ids {
		docs = append(docs, m.docs[kind][id])
	}
	m.mu.Unlock()
	for i, id := range ids {
		if err := fn(id, docs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (m *memState) AppendEvent(_ context.Context, kind, key string, _ time.Time, doc []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, memEvent{kind, key, slices.Clone(doc)})
	return nil
}

func (m *memState) ListEvents(_ context.Context, kind, key string, limit int, fn func([]byte) error) error {
	m.mu.Lock()
	evs := slices.Clone(m.events)
	m.mu.Unlock()
	n := 0
	for i := len(evs) - 1; i >= 0 && n < limit; i-- {
		if evs[i].kind == kind && (key == "" || evs[i].key == key) {
			n++
			if err := fn(evs[i].doc); err != nil {
				return err
			}
		}
	}
	return nil
}

func fired(groups ...string) alert.Notification {
	r := alert.NewRule()
	r.ID, r.Name, r.Signal, r.Aggregation, r.Threshold, r.Severity = "r1", "slow gpt-4o", "duration_ms", "avg", 4000, 2
	r.Filters.Model, r.ActionGroups = "gpt-4o", groups
	now := time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC)
	return alert.Notification{ID: "r1#1", Rule: r, Alert: alert.Instance{ID: "r1", RuleID: "r1", State: alert.StateFired,
		Value: 4500, HasValue: true, Operator: ">", Threshold: 4000, Query: "avg(duration_ms) WHERE ...", FiredAt: now,
		ChangedAt: now, EvaluatedAt: now, ChangeID: 1}}
}

func resolved(groups ...string) alert.Notification {
	x := fired(groups...)
	x.ID, x.Alert.State, x.Alert.ChangeID, x.Alert.Value = "r1#2", alert.StateResolved, 2, 300
	x.Alert.ResolvedAt = x.Alert.FiredAt.Add(5 * time.Minute)
	return x
}

func newNotifier(t *testing.T, st *memState, groups ...ActionGroup) *Notifier {
	t.Helper()
	n, err := New(t.Context(), Options{State: st, AllowPrivateTargets: true, Attempts: 3, AttemptTimeout: 300 * time.Millisecond,
		Backoff: 10 * time.Millisecond, ConfigGroups: groups})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCommonSchema(t *testing.T) {
	p := commonSchema(fired())
	e := p["data"].(map[string]any)["essentials"].(map[string]any)
	if p["schemaId"] != "azureMonitorCommonAlertSchema" || e["monitorCondition"] != "Fired" || e["severity"] != "Sev2" ||
		e["signalType"] != "Metric" || e["alertRule"] != "slow gpt-4o" || e["monitoringService"] != "genscope" ||
		e["firedDateTime"] != "2026-11-27T01:00:00.0000000Z" || e["resolvedDateTime"] != nil || e["alertId"] != "genscope/alerts/r1/1" {
		t.Errorf("essentials %v", e)
	}
	c := p["data"].(map[string]any)["alertContext"].(map[string]any)["condition"].(map[string]any)
	all := c["allOf"].([]map[string]any)[0]
	if c["windowSize"] != "PT5M" || all["operator"] != "GreaterThan" || all["threshold"] != "4000" || all["metricValue"] != 4500.0 ||
		all["timeAggregation"] != "Average" || all["metricName"] != "duration_ms" {
		t.Errorf("condition %v", c)
	}
	r := commonSchema(resolved())["data"].(map[string]any)["essentials"].(map[string]any)
	if r["monitorCondition"] != "Resolved" || r["alertId"] != "genscope/alerts/r1/1" || r["resolvedDateTime"] != "2026-11-27T01:05:00.0000000Z" {
		t.Errorf("resolved essentials %v", r)
	}
	for d, want := range map[time.Duration]string{time.Minute: "PT1M", 90 * time.Minute: "PT1H30M", 24 * time.Hour: "PT24H"} {
		if got := isoDuration(d); got != want {
			t.Errorf("isoDuration(%v) = %s, want %s", d, got, want)
		}
	}
	pd := pagerDutyPayload(resolved(), "key")
	if pd["event_action"] != "resolve" || pd["dedup_key"] != "genscope/alerts/r1/1" {
		t.Errorf("pagerduty %v", pd)
	}
}

func TestCheckURL(t *testing.T) {
	for _, c := range []struct {
		url          string
		allowPrivate bool
		ok           bool
	}{
		{"https://hooks.slack.com/services/x", false, true},
		{"http://169.254.169.254/latest/meta-data", true, false},
		{"http://[fe80::1]/x", true, false},
		{"http://metadata.google.internal/computeMetadata/v1/", true, false},
		{"http://100.100.100.200/", true, false},
		{"http://127.0.0.1:9000/hook", false, false},
		{"http://127.0.0.1:9000/hook", true, true},
		{"http://10.0.0.1/hook", false, false},
		{"http://[::1]/hook", false, false},
		{"http://localhost/hook", false, false},
		{"http://0.0.0.0/hook", true, false},
		{"ftp://example.com/", true, false},
		// Credentials in the URL are refused, whatever the host.
		{"http://user:pass@example.com/hook", true, false},
		{"https://token@hooks.example.com/hook", true, false},
		// IPv6 forms that reach an IPv4 host through a translator or
		// tunnel are as forbidden as that host.
		{"http://[64:ff9b::a9fe:a9fe]/latest/meta-data", true, false}, // NAT64 of 169.254.169.254
		{"http://[64:ff9b::10.0.0.1]/hook", false, false},             // NAT64 of a private address
		{"http://[64:ff9b::8.8.8.8]/hook", false, true},               // NAT64 of a public address
		{"http://[64:ff9b:1:a9fe:a9:fe00::]/hook", true, false},       // local-use NAT64 of 169.254.169.254
		{"http://[2002:a9fe:a9fe::1]/hook", true, false},              // 6to4 of 169.254.169.254
		{"http://[2002:c0a8:101::1]/hook", false, false},              // 6to4 of 192.168.1.1
		{"http://[::ffff:169.254.169.254]/hook", true, false},         // IPv4-mapped
		{"http://[::169.254.169.254]/hook", true, false},              // IPv4-compatible
		{"http://[2001:0:a9fe:a9fe::f7f7:f7f7]/hook", true, false},    // Teredo via 169.254.169.254
		{"http://[64:ff9b::a83f:8110]/hook", true, false},             // NAT64 of Azure's wire server
	} {
		err := CheckURL(c.url, c.allowPrivate)
		if (err == nil) != c.ok {
			t.Errorf("CheckURL(%s, %v) = %v", c.url, c.allowPrivate, err)
		}
	}
	// The dialer refuses too, whatever name led there.
	n, _ := New(t.Context(), Options{State: newMemState()})
	wh := notifytest.StartWebhook(t)
	_, err := n.client.Post(wh.URL, "application/json", nil)
	if !errors.Is(err, ErrForbiddenTarget) {
		t.Errorf("dial to loopback without allow_private_targets: %v", err)
	}
	if wh.Hits() != 0 {
		t.Error("the request arrived")
	}
	// At dial time too: an embedded forbidden IPv4 is refused before any
	// packet leaves (the URL check is bypassed by calling the client).
	for _, u := range []string{"http://[64:ff9b::a9fe:a9fe]/", "http://[2002:a9fe:a9fe::1]/", "http://[::ffff:127.0.0.1]/"} {
		if _, err := n.client.Post(u, "application/json", nil); !errors.Is(err, ErrForbiddenTarget) {
			t.Errorf("dial %s: %v", u, err)
		}
	}
}

func TestWebhookDelivery(t *testing.T) {
	wh := notifytest.StartWebhook(t)
	wh.Answer(func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	st := newMemState()
	n := newNotifier(t, st, ActionGroup{ID: "g", Name: "oncall", Receivers: []Receiver{
		{Type: ReceiverWebhook, URL: secret.Secret(wh.URL), HMACSecret: "s3cret"}}})
	n.Start(t.Context())
	defer n.Stop()
	if err := n.Notify(t.Context(), fired("g")); err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(t.Context(), fired("g")); err != nil { // handed over twice: delivered once
		t.Fatal(err)
	}
	notifytest.Wait(t, 5*time.Second, "the webhook", func() bool { return len(wh.Requests()) == 1 })
	notifytest.Wait(t, 5*time.Second, "the log", func() bool { return n.Deliveries(10)[0].Status == StatusSent })
	req := wh.Requests()[0]
	m := hmac.New(sha256.New, []byte("s3cret"))
	m.Write(req.Body)
	if req.Header.Get(SignatureHeader) != "sha256="+hex.EncodeToString(m.Sum(nil)) {
		t.Errorf("signature %q", req.Header.Get(SignatureHeader))
	}
	if req.Header.Get(DeliveryHeader) != "r1#1/g/0" {
		t.Errorf("delivery id %q", req.Header.Get(DeliveryHeader))
	}
	ess := req.JSON()["data"].(map[string]any)["essentials"].(map[string]any)
	if ess["monitorCondition"] != "Fired" {
		t.Errorf("payload %s", req.Body)
	}
	att, _ := n.Attempts(t.Context(), "r1#1/g/0", 10)
	if len(att) != 3 || !att[0].OK || att[1].OK || att[1].HTTPStatus != 500 || att[2].Error != "HTTP 500" {
		t.Errorf("attempts %+v", att)
	}
	time.Sleep(50 * time.Millisecond)
	if wh.Hits() != 3 {
		t.Errorf("%d hits, want 3", wh.Hits())
	}
}

// TestFailingReceivers: a receiver that hangs, one that answers 400 and
// one that is down fail on their own; a good one in the same group gets
// the notification at once.
func TestFailingReceivers(t *testing.T) {
	hang, bad, good := notifytest.StartWebhook(t), notifytest.StartWebhook(t), notifytest.StartWebhook(t)
	release := make(chan struct{})
	hang.Answer(func(int) int { <-release; return 200 })
	defer close(release)
	bad.Answer(func(int) int { return http.StatusBadRequest })
	st := newMemState()
	n := newNotifier(t, st, ActionGroup{ID: "g", Name: "g", Receivers: []Receiver{
		{Type: ReceiverWebhook, URL: secret.Secret(hang.URL)},
		{Type: ReceiverSlack, URL: secret.Secret(bad.URL)},
		{Type: ReceiverTeams, URL: "http://127.0.0.1:1/down"},
		{Type: ReceiverPagerDuty, RoutingKey: "rk", URL: secret.Secret(good.URL)},
	}})
	n.Start(t.Context())
	defer n.Stop()
	start := time.Now()
	if err := n.Notify(t.Context(), fired("g")); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 100*time.Millisecond {
		t.Errorf("Notify took %v: it must not wait for receivers", time.Since(start))
	}
	notifytest.Wait(t, time.Second, "the good receiver", func() bool { return len(good.Requests()) == 1 })
	if pd := good.Requests()[0].JSON(); pd["event_action"] != "trigger" || pd["routing_key"] != "rk" {
		t.Errorf("pagerduty event %v", pd)
	}
	notifytest.Wait(t, 5*time.Second, "the failures", func() bool {
		failed := 0
		for _, d := range n.Deliveries(10) {
			if d.Status == StatusFailed {
				failed++
			}
		}
		return failed == 3
	})
	byRecv := map[int]Delivery{}
	for _, d := range n.Deliveries(10) {
		byRecv[d.Receiver] = d
	}
	if d := byRecv[0]; d.Attempts != 3 || !strings.Contains(d.LastError, "deadline") && !strings.Contains(d.LastError, "timeout") {
		t.Errorf("hanging receiver %+v", d)
	}
	if d := byRecv[1]; d.Attempts != 1 || d.LastError != "HTTP 400" {
		t.Errorf("400 receiver %+v", d)
	}
	if d := byRecv[2]; d.Attempts != 3 || !strings.Contains(d.LastError, "refused") {
		t.Errorf("down receiver %+v", d)
	}
	if strings.Contains(byRecv[2].LastError, "/down") {
		t.Errorf("the error shows the URL: %s", byRecv[2].LastError)
	}
}

// TestRestart: a delivery interrupted by a shutdown resumes after it and
// is sent once; one already sent is not sent again.
func TestRestart(t *testing.T) {
	wh := notifytest.StartWebhook(t)
	wh.Answer(func(int) int { return http.StatusServiceUnavailable })
	st := newMemState()
	groups := ActionGroup{ID: "g", Name: "g", Receivers: []Receiver{{Type: ReceiverWebhook, URL: secret.Secret(wh.URL)}}}
	n, err := New(t.Context(), Options{State: st, AllowPrivateTargets: true, Attempts: 5, AttemptTimeout: time.Second,
		Backoff: time.Hour, ConfigGroups: []ActionGroup{groups}})
	if err != nil {
		t.Fatal(err)
	}
	n.Start(t.Context())
	n.Notify(t.Context(), fired("g"))
	notifytest.Wait(t, time.Second, "a first attempt", func() bool { return wh.Hits() == 1 })
	n.Stop() // waiting an hour to retry: stays pending
	if d := n.Deliveries(1)[0]; d.Status != StatusPending {
		t.Fatalf("after stop %+v", d)
	}
	wh.Answer(nil)
	n2 := newNotifier(t, st, groups)
	n2.Start(t.Context())
	notifytest.Wait(t, 2*time.Second, "the resumed delivery", func() bool { return len(wh.Requests()) == 1 })
	notifytest.Wait(t, 2*time.Second, "sent", func() bool { return n2.Deliveries(1)[0].Status == StatusSent })
	n2.Notify(t.Context(), fired("g")) // the engine hands it over again
	n2.Stop()
	n3 := newNotifier(t, st, groups)
	n3.Start(t.Context())
	n3.Notify(t.Context(), fired("g"))
	time.Sleep(100 * time.Millisecond)
	n3.Stop()
	if got := len(wh.Requests()); got != 1 {
		t.Errorf("%d deliveries, want 1", got)
	}
}

func TestEmail(t *testing.T) {
	srv := notifytest.StartSMTP(t)
	n, err := New(t.Context(), Options{State: newMemState(), SMTP: SMTP{Host: srv.Host, Port: srv.Port,
		From: "genscope@example.com", TLS: "none"}, ConfigGroups: []ActionGroup{{ID: "g", Name: "g",
		Receivers: []Receiver{{Type: ReceiverEmail, To: []string{"ops@example.com", "dev@example.com"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	n.Start(t.Context())
	defer n.Stop()
	n.Notify(t.Context(), fired("g"))
	notifytest.Wait(t, 5*time.Second, "the mail", func() bool { return len(srv.Mail()) == 1 })
	m := srv.Mail()[0]
	if m.From != "genscope@example.com" || len(m.To) != 2 || !strings.Contains(m.Data, "Subject: [genscope] [FIRED] Sev2 slow gpt-4o") ||
		!strings.Contains(m.Data, "Value: 4500") {
		t.Errorf("mail %+v", m)
	}
	// A server without STARTTLS is refused when STARTTLS is required.
	n2, _ := New(t.Context(), Options{State: newMemState(), SMTP: SMTP{Host: srv.Host, Port: srv.Port,
		From: "genscope@example.com", TLS: "starttls"}})
	if err := n2.sendEmail(t.Context(), []string{"ops@example.com"}, fired()); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("without STARTTLS: %v", err)
	}
}

func TestGroupsAndSecrets(t *testing.T) {
	st := newMemState()
	n, err := New(t.Context(), Options{State: st})
	if err != nil {
		t.Fatal(err)
	}
	_, err = n.Create(t.Context(), Group{Name: "x", Receivers: []Receiver{{Type: ReceiverWebhook, URL: "http://169.254.169.254/"},
		{Type: ReceiverEmail, To: []string{"a@b.c"}}, {Type: "fax"}}})
	var ve *ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "receivers[0].url: forbidden target") ||
		!strings.Contains(err.Error(), "receivers[1]: email needs") || !strings.Contains(err.Error(), "receivers[2].type") {
		t.Errorf("create: %v", err)
	}
	g, err := n.Create(t.Context(), Group{Name: "slack", Receivers: []Receiver{{Type: ReceiverSlack, URL: "https://hooks.slack.com/services/T/B/token-canary"}}})
	if err != nil {
		t.Fatal(err)
	}
	g.Receivers[0].URL = redactedValue // what the API showed
	g.Name = "slack 2"
	if _, err := n.Update(t.Context(), g.ID, g); err != nil {
		t.Fatal(err)
	}
	n2, _ := New(t.Context(), Options{State: st})
	got, _ := n2.Group(g.ID)
	if got.Name != "slack 2" || got.Receivers[0].URL.Reveal() != "https://hooks.slack.com/services/T/B/token-canary" {
		t.Errorf("after restart %+v", got)
	}
}
