package notify

import (
	"testing"
	"time"

	"github.com/genscope/genscope/internal/notify/notifytest"
	"github.com/genscope/genscope/internal/secret"
)

// TestReload: two notifiers on one store (an API node and the alerts
// node). Groups made, changed and deleted through one reach the other at
// its Reload; config groups stay; the one that does not run shows the
// running one's notification log after a Reload, and the running one
// keeps its own.
func TestReload(t *testing.T) {
	ctx := t.Context()
	wh := notifytest.StartWebhook(t)
	st := newMemState()
	cfgGroup := ActionGroup{ID: "ops", Name: "ops", Receivers: []Receiver{{Type: ReceiverWebhook, URL: secret.Secret(wh.URL)}}}
	api := newNotifier(t, st, cfgGroup)
	alerts := newNotifier(t, st, cfgGroup)
	alerts.Start(ctx)
	defer alerts.Stop()

	g, err := api.Create(ctx, Group{Name: "oncall", Receivers: []Receiver{{Type: ReceiverWebhook, URL: secret.Secret(wh.URL)}}})
	if err != nil {
		t.Fatal(err)
	}
	if alerts.Exists(g.ID) {
		t.Fatal("known before a reload")
	}
	if err := alerts.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !alerts.Exists(g.ID) || !alerts.Exists("ops") {
		t.Fatalf("after a reload: %+v", alerts.Groups())
	}
	if err := alerts.Notify(ctx, fired(g.ID)); err != nil {
		t.Fatal(err)
	}
	notifytest.Wait(t, 5*time.Second, "the webhook", func() bool { return len(wh.Requests()) == 1 })
	notifytest.Wait(t, 5*time.Second, "the log", func() bool { return alerts.Deliveries(10)[0].Status == StatusSent })
	if len(api.Deliveries(10)) != 0 {
		t.Fatal("the API node's log changed before a reload")
	}
	if err := api.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if d := api.Deliveries(10); len(d) != 1 || d[0].Status != StatusSent {
		t.Errorf("the API node's log after a reload: %+v", d)
	}

	g.Name = "renamed"
	if _, err := api.Update(ctx, g.ID, g); err != nil {
		t.Fatal(err)
	}
	if err := alerts.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got, _ := alerts.Group(g.ID); got.Name != "renamed" || len(alerts.Deliveries(10)) != 1 {
		t.Errorf("after an update and a reload: %+v, %d deliveries", got, len(alerts.Deliveries(10)))
	}
	if err := api.Delete(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if err := alerts.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if alerts.Exists(g.ID) || !alerts.Exists("ops") {
		t.Errorf("after a delete and a reload: %+v", alerts.Groups())
	}
}
