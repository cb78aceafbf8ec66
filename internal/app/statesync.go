package app

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/genscope/genscope/internal/config"
)

// stateSync rereads the state several genscope nodes share through their
// store (ClickHouse), every cfg.StateReloadInterval: projects (tenancy),
// keys, users and sessions (auth), alert rules and action groups, and, on a node
// that does not evaluate alerts, the alert state and notification log it
// shows. Each node keeps that state in memory (ingest checks keys without
// a query); this is how a change made through another node reaches it.
// A DuckDB file has one writer, so it needs none.
type stateSync struct {
	every  time.Duration
	log    *slog.Logger
	reload []namedReload
	expire func(context.Context) // ends expired sessions

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

type namedReload struct {
	what string
	fn   func(context.Context) error
}

// sharedStore reports whether other nodes may write the app's store.
func (a *App) sharedStore() bool { return a.cfg.Store.Driver == "clickhouse" }

// newStateSync is nil unless the store is shared.
func (a *App) newStateSync() *stateSync {
	if !a.sharedStore() {
		return nil
	}
	every := a.cfg.StateReloadInterval.D()
	if every <= 0 {
		every = config.Default().StateReloadInterval.D()
	}
	s := &stateSync{every: every, log: a.log.With("component", "state_sync")}
	s.reload = append(s.reload, namedReload{"projects", a.trust.projects.Reload}, namedReload{"auth", a.trust.svc.Reload})
	s.expire = a.trust.svc.ExpireSessions
	if e := a.evals.Load(); e != nil {
		s.reload = append(s.reload, namedReload{"evaluators", e.Reload})
	}
	if al := a.alerting; al != nil {
		s.reload = append(s.reload, namedReload{"action_groups", al.notifier.Reload}, namedReload{"alert_rules", al.engine.Reload})
	}
	return s
}

// start rereads the state every interval until ctx ends or stop.
func (s *stateSync) start(ctx context.Context) {
	if s == nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	s.cancel, s.done = cancel, make(chan struct{})
	done := s.done
	s.mu.Unlock()
	go func() {
		defer close(done)
		tick := time.NewTicker(s.every)
		defer tick.Stop()
		var lastExpire time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			s.once(ctx)
			if time.Since(lastExpire) >= time.Minute {
				s.expire(ctx)
				lastExpire = time.Now()
			}
		}
	}()
}

// once rereads everything, each part bounded by the interval (at least
// a few seconds), logging what fails (the next round tries again).
func (s *stateSync) once(ctx context.Context) {
	for _, r := range s.reload {
		rctx, cancel := context.WithTimeout(ctx, max(s.every, 5*time.Second))
		err := r.fn(rctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			s.log.Warn("reload shared state failed; retrying at the next interval", "what", r.what, "err", err)
		}
	}
}

// stop stops rereading and waits.
func (s *stateSync) stop() {
	if s == nil {
		return
	}
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}
