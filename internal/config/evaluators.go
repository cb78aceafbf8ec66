package config

import (
	"errors"
	"fmt"

	"github.com/genscope/genscope/internal/eval"
)

// Evaluator is an online evaluator in the config file: eval.Evaluator's
// fields, enabled unless set and sampling every matching call unless
// sample is set. Evaluators from the file are read-only through the API.
type Evaluator struct {
	eval.Evaluator `yaml:",inline"`
	Enabled        *bool    `yaml:"enabled"`
	Sample         *float64 `yaml:"sample"`
}

// ToEvaluator returns the evaluator with the defaults of
// eval.NewEvaluator for what the file leaves out.
func (e Evaluator) ToEvaluator() eval.Evaluator {
	ev := e.Evaluator
	d := eval.NewEvaluator()
	ev.Enabled, ev.Sample = d.Enabled, d.Sample
	if e.Enabled != nil {
		ev.Enabled = *e.Enabled
	}
	if e.Sample != nil {
		ev.Sample = *e.Sample
	}
	return ev
}

// validateEvaluators checks each evaluator on its own (names unique per
// project, ids unique); whether a judge's deployment is served is
// checked when the gateway is built.
func (c *Config) validateEvaluators(bad func(field, format string, args ...any)) {
	ids, names := map[string]bool{}, map[string]bool{}
	for i, e := range c.Evaluators {
		f := fmt.Sprintf("evaluators[%d]", i)
		ev := e.ToEvaluator()
		id := ev.ID
		if id == "" {
			id = ev.Name
		}
		if ids[id] {
			bad(f+".id", "%q is defined twice", id)
		}
		ids[id] = true
		key := ev.Project + "\x00" + ev.Name
		if ev.Project == "" {
			key = "default\x00" + ev.Name
		}
		if names[key] {
			bad(f+".name", "%q is defined twice in its project", ev.Name)
		}
		names[key] = true
		if err := ev.Validate(); err != nil {
			for _, e := range unjoin(err) {
				var fe *eval.FieldError
				if errors.As(e, &fe) {
					bad(f+"."+fe.Field, "%s", fe.Msg)
				} else {
					bad(f, "%v", e)
				}
			}
		}
		if ev.Type == eval.TypeLLMJudge && ev.Deployment != "" && !c.servesDeployment(ev.Deployment) {
			bad(f+".deployment", "%q is not a gateway deployment or route (gateway.enabled with it in gateway.deployments or gateway.routes)", ev.Deployment)
		}
	}
}

// servesDeployment reports whether the gateway serves the name.
func (c *Config) servesDeployment(name string) bool {
	if !c.Gateway.Enabled {
		return false
	}
	for _, d := range c.Gateway.AllDeployments() {
		if d.Name == name {
			return true
		}
	}
	for _, r := range c.Gateway.Routes {
		if r.Name == name {
			return true
		}
	}
	return false
}
