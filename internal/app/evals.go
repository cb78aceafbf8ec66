package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/genscope/genscope/internal/auth"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/eval"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tenancy"
)

// newEvals builds the online evaluators over the store (when it keeps
// state and scores) and, on a node running api, registers their
// endpoints. Calls are evaluated where they are recorded (nodes running
// ingest or the gateway): the recorder shows each written batch to the
// engine (App.observe). A judge calls through this node's gateway.
func (a *App) newEvals(ctx context.Context, mux *http.ServeMux) (*eval.Engine, error) {
	state, okS := a.st.(store.StateStore)
	scores, okC := a.st.(store.ScoreStore)
	if !okS || !okC {
		if len(a.cfg.Evaluators) > 0 {
			a.log.Warn("online evaluators are off: the store backend keeps no evaluator state or scores", "driver", a.cfg.Store.Driver)
		}
		return nil, nil
	}
	c := a.cfg
	var evs []eval.Evaluator
	for _, e := range c.Evaluators {
		evs = append(evs, e.ToEvaluator())
	}
	var deployments []string
	if c.Gateway.Enabled {
		for _, d := range c.Gateway.AllDeployments() {
			deployments = append(deployments, d.Name)
		}
		for _, r := range c.Gateway.Routes {
			deployments = append(deployments, r.Name)
		}
	}
	opts := eval.Options{
		State: state, Scores: scores, Reader: a.st,
		Deployments:      deployments,
		DefaultProject:   tenancy.DefaultProject,
		ConfigEvaluators: evs,
		MetadataOnly:     a.trust.apiMetadataOnly(),
		Metrics:          a.reg,
		Log:              a.log.With("component", "eval"),
	}
	if a.gw != nil {
		opts.Judge = eval.GatewayJudge(a.gw)
	}
	if c.Auth.Enabled {
		opts.AccessFor = func(r *http.Request) eval.Access { return principalAccess{auth.FromContext(r.Context())} }
	}
	e, err := eval.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("evaluators: %w", err)
	}
	if c.Components.Has(config.ComponentAPI) {
		e.Register(mux)
	}
	return e, nil
}

// evaluates reports whether this node evaluates the calls it records.
func (a *App) evaluates() bool {
	return a.cfg.Components.Has(config.ComponentIngest) || a.cfg.Components.Has(config.ComponentGateway)
}

// observe is the recorder's Written hook: it shows written batches to
// the evaluators, once they exist (the gateway they judge through is
// built after the recorder).
func (a *App) observe(b *store.Batch) {
	if e := a.evals.Load(); e != nil {
		e.Observe(b)
	}
}

// Evaluators is the evaluator engine, for in-process tests and tools;
// nil when evaluators are off.
func (a *App) Evaluators() *eval.Engine { return a.evals.Load() }
