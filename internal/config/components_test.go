package config

import (
	"os"
	"strings"
	"testing"
)

func TestComponents(t *testing.T) {
	f := func(list string, want string) {
		t.Helper()
		if got := ParseComponents(list).String(); got != want {
			t.Errorf("components %q run %q, want %q", list, got, want)
		}
	}
	f("", "ingest,gateway,api,alerts")
	f("ingest, api", "ingest,api")
	f("ui", "api")
	f("alerts,", "alerts")
	f("API,Alerts", "api,alerts")

	raw, _ := os.ReadFile("testdata/components.good.yaml")
	c, err := Parse(raw, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Components.Has(ComponentAlerts) || !c.Components.Has(ComponentAPI) || c.StateReloadInterval.D().String() != "2s" {
		t.Errorf("decoded components %v, reload %v", c.Components, c.StateReloadInterval.D())
	}
	if d := Default(); !d.Components.Has(ComponentAlerts) || d.StateReloadInterval.D().String() != "5s" {
		t.Errorf("default components %v, reload %v", d.Components, d.StateReloadInterval.D())
	}

	raw, _ = os.ReadFile("testdata/components.bad.yaml")
	_, err = Parse(raw, lookup)
	if err == nil {
		t.Fatal("unknown component accepted")
	}
	for _, m := range []string{`components[1]: "alerting" is not a component: the components are ingest, gateway, api, alerts`,
		"state_reload_interval:"} {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
	if strings.Contains(err.Error(), "components[0]") || strings.Contains(err.Error(), "components[2]") {
		t.Errorf("error %q names a valid component", err)
	}
}
