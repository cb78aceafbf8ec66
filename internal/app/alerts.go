package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/api"
	"github.com/genscope/genscope/internal/notify"
)

// alerting is the alert engine and the notifier, wired together.
type alerting struct {
	engine   *alert.Engine
	notifier *notify.Notifier
}

// newAlerting builds alerting over the store (when the backend can hold
// alert state and compute aggregates) and registers its endpoints.
func (a *App) newAlerting(ctx context.Context, mux *http.ServeMux) (*alerting, error) {
	q, okQ := a.st.(alert.Querier)
	state, okS := a.st.(alert.StateStore)
	if !okQ || !okS {
		a.log.Warn("alerting is off: the store backend keeps no alert state", "driver", a.cfg.Store.Driver)
		return nil, nil
	}
	c := a.cfg
	n, err := notify.New(ctx, notify.Options{
		State:               state,
		AllowPrivateTargets: c.Notify.AllowPrivateTargets,
		SMTP:                c.Notify.SMTP,
		Attempts:            c.Notify.Attempts,
		AttemptTimeout:      c.Notify.AttemptTimeout.D(),
		Backoff:             c.Notify.Backoff.D(),
		ConfigGroups:        c.ActionGroups,
		Metrics:             a.reg,
		Log:                 a.log.With("component", "notify"),
	})
	if err != nil {
		return nil, fmt.Errorf("notifier: %w", err)
	}
	var rules []alert.Rule
	for _, r := range c.Alerts {
		rules = append(rules, r.ToRule())
	}
	e, err := alert.New(ctx, alert.Options{
		Query:          q,
		State:          state,
		Notify:         n.Notify,
		DefaultProject: api.DefaultProject,
		ConfigRules:    rules,
		GroupExists:    n.Exists,
		Metrics:        a.reg,
		Log:            a.log.With("component", "alert"),
	})
	if err != nil {
		return nil, fmt.Errorf("alert engine: %w", err)
	}
	n.Register(mux)
	e.Register(mux)
	return &alerting{engine: e, notifier: n}, nil
}

// start starts delivering and evaluating; ctx ends both.
func (al *alerting) start(ctx context.Context) {
	if al == nil {
		return
	}
	al.notifier.Start(ctx)
	al.engine.Start(ctx)
}

// stop stops evaluating, then delivering (deliveries not done stay
// pending for the next start).
func (al *alerting) stop() {
	if al == nil {
		return
	}
	al.engine.Stop()
	al.notifier.Stop()
}

// Alerts is the alert engine, for in-process tests and tools; nil when
// alerting is off.
func (a *App) Alerts() *alert.Engine {
	if a.alerting == nil {
		return nil
	}
	return a.alerting.engine
}
