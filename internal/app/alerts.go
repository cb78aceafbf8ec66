package app

import (
	"context"
	"fmt"
	"net/http"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/auth"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/notify"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tenancy"
)

// alerting is the alert engine and the notifier, wired together.
type alerting struct {
	engine   *alert.Engine
	notifier *notify.Notifier
	// evaluate: the node runs the alerts component. Without it the engine
	// is passive and the notifier never starts: the rules, groups, alerts
	// and log are only served (and edited) through the API.
	evaluate bool
}

// newAlerting builds alerting over the store (when the backend can hold
// alert state and compute aggregates) and, on a node running api,
// registers its endpoints. It is nil on a node running neither api nor
// alerts.
func (a *App) newAlerting(ctx context.Context, mux *http.ServeMux) (*alerting, error) {
	evaluate, serve := a.cfg.Components.Has(config.ComponentAlerts), a.cfg.Components.Has(config.ComponentAPI)
	if !evaluate && !serve {
		return nil, nil
	}
	q, okQ := a.st.(alert.Querier)
	state, okS := a.st.(store.StateStore)
	if !okQ || !okS {
		a.log.Warn("alerting is off: the store backend keeps no alert state", "driver", a.cfg.Store.Driver)
		return nil, nil
	}
	c := a.cfg
	var groupAccess func(*http.Request) notify.Access
	var ruleAccess func(*http.Request) alert.Access
	if c.Auth.Enabled {
		groupAccess = func(r *http.Request) notify.Access { return principalAccess{auth.FromContext(r.Context())} }
		ruleAccess = func(r *http.Request) alert.Access { return principalAccess{auth.FromContext(r.Context())} }
	}
	n, err := notify.New(ctx, notify.Options{
		State:               state,
		AllowPrivateTargets: c.Notify.AllowPrivateTargets,
		SMTP:                c.Notify.SMTP,
		Attempts:            c.Notify.Attempts,
		AttemptTimeout:      c.Notify.AttemptTimeout.D(),
		Backoff:             c.Notify.Backoff.D(),
		ConfigGroups:        c.ActionGroups,
		AccessFor:           groupAccess,
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
		Scores:         scoreQuerier(a.st),
		State:          state,
		Notify:         n.Notify,
		DefaultProject: tenancy.DefaultProject,
		ConfigRules:    rules,
		GroupExists:    n.Exists,
		Metrics:        a.reg,
		Log:            a.log.With("component", "alert"),
		Passive:        !evaluate,
		FirstDelay:     a.hooks.alertFirstDelay,
		AccessFor:      ruleAccess,
	})
	if err != nil {
		return nil, fmt.Errorf("alert engine: %w", err)
	}
	if serve {
		n.Register(mux)
		e.Register(mux)
	}
	if !evaluate {
		a.log.Info("this node does not evaluate alert rules or notify (no alerts component); one node sharing the store must")
	}
	return &alerting{engine: e, notifier: n, evaluate: evaluate}, nil
}

// start starts delivering and evaluating (on a node running alerts); ctx
// ends both.
func (al *alerting) start(ctx context.Context) {
	if al == nil || !al.evaluate {
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

// principalAccess is what a request's principal may do with alert rules
// (alert.Access: read them with read access to their project, change them
// as an editor there) and with action groups and the notification log
// (notify.Access: users list groups, administrators change them and read
// the log). A nil principal may do nothing.
type principalAccess struct{ p *auth.Principal }

var (
	_ alert.Access  = principalAccess{}
	_ notify.Access = principalAccess{}
)

func (a principalAccess) CanRead(project string) bool { return a.p.CanRead(project) }
func (a principalAccess) CanEdit(project string) bool { return a.p.HasRole(project, auth.RoleEditor) }
func (a principalAccess) CanReadAll() bool            { return a.p != nil && a.p.Admin }
func (a principalAccess) CanListGroups() bool         { return a.p != nil && (a.p.Admin || a.p.User != "") }
func (a principalAccess) CanManage() bool             { return a.p != nil && a.p.Admin }

// scoreQuerier is the store's score statistics for score signals, or nil
// when the store keeps no scores.
func scoreQuerier(st any) alert.ScoreQuerier {
	if ss, ok := st.(store.ScoreStore); ok {
		return ss
	}
	return nil
}
