package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The components a genscope node may run (Config.Components).
const (
	// ComponentIngest is the OTLP/HTTP and OTLP/gRPC receivers and the
	// Application Insights receiver.
	ComponentIngest = "ingest"
	// ComponentGateway is the OpenAI- and Azure-OpenAI-compatible proxy.
	ComponentGateway = "gateway"
	// ComponentAPI is the JSON API under /api/v1 (including the alert
	// rule, action group and auth endpoints) and the web UI, which is the
	// API's client and is served with it ("ui" is another name for it).
	ComponentAPI = "api"
	// ComponentAlerts is the alert evaluator and scheduler and the
	// notifier: exactly one node sharing a store should run it.
	ComponentAlerts = "alerts"
)

// AllComponents are the components, in the order they are listed.
var AllComponents = []string{ComponentIngest, ComponentGateway, ComponentAPI, ComponentAlerts}

// Components is the set of components a node runs; empty means all.
type Components []string

// ParseComponents reads a comma-separated list, as --components takes it.
func ParseComponents(s string) Components {
	var out Components
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// Has reports whether the node runs component c (one of the Component
// constants).
func (cs Components) Has(c string) bool {
	if len(cs) == 0 {
		return true
	}
	for _, x := range cs {
		x = strings.ToLower(strings.TrimSpace(x))
		if x == "ui" {
			x = ComponentAPI
		}
		if x == c {
			return true
		}
	}
	return false
}

// String lists the components the node runs.
func (cs Components) String() string {
	var on []string
	for _, c := range AllComponents {
		if cs.Has(c) {
			on = append(on, c)
		}
	}
	return strings.Join(on, ",")
}

// Validate reports every unknown component, naming the valid ones.
func (cs Components) Validate() error {
	var errs []error
	cs.validate(func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	})
	return errors.Join(errs...)
}

func (cs Components) validate(bad func(field, format string, args ...any)) {
	for i, x := range cs {
		n := strings.ToLower(strings.TrimSpace(x))
		if !slices.Contains(AllComponents, n) && n != "ui" {
			bad(fmt.Sprintf("components[%d]", i), "%q is not a component: the components are %s (ui is served with api)",
				x, strings.Join(AllComponents, ", "))
		}
	}
}

// validateComponents reports unknown components and a bad reload
// interval, by field path.
func (c *Config) validateComponents(bad func(field, format string, args ...any)) {
	c.Components.validate(bad)
	if d := c.StateReloadInterval; d < Duration(100*time.Millisecond) || d > Duration(time.Hour) {
		bad("state_reload_interval", "%v is not between 100ms and 1h", d.D())
	}
}
