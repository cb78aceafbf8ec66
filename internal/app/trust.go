package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/metadata"

	"github.com/genscope/genscope/internal/api"
	"github.com/genscope/genscope/internal/auth"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/quota"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tenancy"
)

// trust is access control (projects, keys, users; on when auth is
// enabled), the per-project content policy applied at ingest, and
// retention. Privacy and retention apply whether or not auth is on.
type trust struct {
	enabled  bool
	projects *tenancy.Registry
	svc      *auth.Service
	h        *auth.Handler
	privacy  *privacy.Applier
	ret      *retention
	log      *slog.Logger
}

// errNoKey is what a refused ingest request is told: never the key.
var errNoKey = errors.New("a valid ingest key is required (Authorization: Bearer gsk_... or x-genscope-key)")

// newTrust loads projects, keys and users from the store and builds the
// privacy and retention machinery.
func (a *App) newTrust(ctx context.Context) (*trust, error) {
	c := a.cfg
	var ds store.DocStore = &auth.MemStore{}
	if d, ok := a.st.(store.DocStore); ok {
		ds = d
	} else if c.Auth.Enabled {
		return nil, fmt.Errorf("auth: the %s store cannot keep projects, keys and users", c.Store.Driver)
	}
	cfgProjects := make([]tenancy.Project, 0, len(c.Projects))
	for _, p := range c.Projects {
		cfgProjects = append(cfgProjects, tenancy.Project{Name: p.Name, Capture: p.Capture, RedactPatterns: p.RedactPatterns,
			SpanRetention: p.Retention.Spans, ContentRetention: p.Retention.Content})
	}
	projects, err := tenancy.NewRegistry(ctx, ds, cfgProjects, nil)
	if err != nil {
		return nil, err
	}
	opts := auth.Options{AdminToken: c.Auth.AdminToken.Reveal(), SessionTTL: c.Auth.SessionTTL.D(), Projects: projects}
	if a.sharedStore() {
		// A key created through another node works here at once, not
		// only after the next periodic reload (statesync.go).
		opts.ReloadOnMiss = time.Second
		if d := c.StateReloadInterval.D(); d > 0 && d < opts.ReloadOnMiss {
			opts.ReloadOnMiss = d
		}
	}
	svc, err := auth.New(ctx, ds, opts)
	if err != nil {
		return nil, err
	}
	t := &trust{enabled: c.Auth.Enabled, projects: projects, svc: svc, log: a.log.With("component", "auth")}
	t.privacy = privacy.New(func(project string) privacy.Policy {
		p, _ := projects.Project(project)
		return p.ContentPolicy()
	})
	t.ret = newRetention(a.st, projects, svc, a.log.With("component", "retention"), a.reg)
	if t.enabled {
		proxies, err := auth.ParseTrustedProxies(c.Auth.TrustedProxies)
		if err != nil {
			return nil, fmt.Errorf("auth.%w", err)
		}
		t.h = auth.NewHandler(svc, auth.HandlerOptions{Secure: c.TLS.Enabled(), Usage: t.ret.usage, Log: t.log, TrustedProxies: proxies})
	}
	return t, nil
}

// register adds the auth endpoints (when auth is on).
func (t *trust) register(mux *http.ServeMux) {
	if t != nil && t.h != nil {
		t.h.Register(mux)
	}
}

// wrap guards the API (when auth is on): every /api/ request needs a
// principal, which the handlers then check against what they touch.
func (t *trust) wrap(next http.Handler) http.Handler {
	if t == nil || !t.enabled {
		return next
	}
	return t.h.Middleware(next)
}

// metricsGuard puts /metrics behind auth (when auth is on and the
// metrics are not public): the admin token, an admin user, or a
// "metrics" key, as Prometheus sends them (Authorization: Bearer).
func (t *trust) metricsGuard(public bool, next http.Handler) http.Handler {
	if t == nil || !t.enabled || public {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := t.svc.Authenticate(r)
		switch {
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="genscope metrics"`)
			http.Error(w, "a metrics key or the admin token is required (Authorization: Bearer)", http.StatusUnauthorized)
		case !p.CanScrapeMetrics():
			http.Error(w, "this credential may not read /metrics: use a metrics key or the admin token", http.StatusForbidden)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// ingestProject is the OTLP/HTTP hook: an ingest key's project.
func (t *trust) ingestProject() func(r *http.Request) (string, error) {
	if !t.enabled {
		return nil
	}
	return func(r *http.Request) (string, error) {
		p, err := t.svc.KeyProject(auth.BearerToken(r.Header), auth.ScopeIngest)
		if err != nil {
			return "", errNoKey
		}
		return p, nil
	}
}

// grpcProject is the OTLP/gRPC hook: the key from the authorization or
// x-genscope-key metadata.
func (t *trust) grpcProject() func(ctx context.Context, md metadata.MD) (string, error) {
	if !t.enabled {
		return nil
	}
	return func(_ context.Context, md metadata.MD) (string, error) {
		h := http.Header{}
		for _, k := range []string{"authorization", "x-genscope-key"} {
			if v := md.Get(k); len(v) > 0 {
				h.Set(k, v[0])
			}
		}
		p, err := t.svc.KeyProject(auth.BearerToken(h), auth.ScopeIngest)
		if err != nil {
			return "", errNoKey
		}
		return p, nil
	}
}

// ikeyProject is the Application Insights hook: a project's
// instrumentation key.
func (t *trust) ikeyProject() func(string) (string, error) {
	if !t.enabled {
		return nil
	}
	return func(ikey string) (string, error) {
		p, err := t.svc.IKeyProject(ikey)
		if err != nil {
			return "", errors.New("unknown instrumentation key")
		}
		return p, nil
	}
}

// gatewayCaller is the gateway hook: a gateway key in x-genscope-key,
// Authorization: Bearer gsk_... or api-key: gsk_... (none of which is
// forwarded upstream) names the project, and its id and limits the key's
// own limits.
func (t *trust) gatewayCaller() func(r *http.Request) (quota.Caller, error) {
	if !t.enabled {
		return nil
	}
	return func(r *http.Request) (quota.Caller, error) {
		tok := auth.BearerToken(r.Header)
		if !strings.HasPrefix(tok, auth.KeyPrefix) {
			if v := strings.TrimSpace(r.Header.Get("api-key")); strings.HasPrefix(v, auth.KeyPrefix) {
				tok = v
			}
		}
		p, id, lim, err := t.svc.GatewayKey(tok)
		if err != nil {
			return quota.Caller{}, errors.New("a valid genscope gateway key is required (x-genscope-key, Authorization: Bearer gsk_... or api-key)")
		}
		return quota.Caller{Project: p, Key: id, KeyLimits: lim}, nil
	}
}

// apiProject is the API hook: the project the request's principal reads.
func (t *trust) apiProject() func(r *http.Request) (string, error) {
	if !t.enabled {
		return nil
	}
	return func(r *http.Request) (string, error) {
		p, err := t.svc.ReadProject(r, auth.FromContext(r.Context()))
		switch {
		case errors.Is(err, auth.ErrForbidden):
			return "", api.ErrForbidden
		case err != nil:
			return "", errors.New("authentication required")
		}
		return p, nil
	}
}

// apiContent is the API's content permission hook.
func (t *trust) apiContent() func(r *http.Request, project string) bool {
	if !t.enabled {
		return nil
	}
	return func(r *http.Request, project string) bool {
		return auth.FromContext(r.Context()).CanSeeContent(project)
	}
}

// scoreAccess is the API's score hook: users of the project (any role)
// with its content permission and admins may score, keys may not; editors
// may change any score. The author is the user's name, or "admin" for the
// admin token.
func (t *trust) scoreAccess() func(r *http.Request, project string) (string, bool, bool) {
	if !t.enabled {
		return nil
	}
	return func(r *http.Request, project string) (string, bool, bool) {
		p := auth.FromContext(r.Context())
		switch {
		case p == nil:
			return "", false, false
		case p.User != "":
			// A person judges what they can read: scoring needs the
			// content permission (an admin has it everywhere).
			return p.User, p.HasRole(project, auth.RoleViewer) && p.CanSeeContent(project), p.HasRole(project, auth.RoleEditor)
		case p.Admin:
			return "admin", true, true
		}
		return "", false, false
	}
}

// apiMetadataOnly reports whether a project keeps metadata only, so its
// readers may filter on metadata attributes only.
func (t *trust) apiMetadataOnly() func(project string) bool {
	return func(project string) bool {
		p, _ := t.projects.Project(project)
		return p.Capture == privacy.Metadata
	}
}

// announceSetup logs the one-time setup link when auth is on and nobody
// has an account yet (auth/setup.go): base is the server's own address,
// scheme://host:port, an unspecified host (0.0.0.0, ::) as localhost.
func (t *trust) announceSetup(scheme, addr string) {
	if t == nil || !t.enabled || t.h == nil {
		return
	}
	tok := t.svc.SetupToken()
	if tok == "" {
		return
	}
	if host, port, err := net.SplitHostPort(addr); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			addr = net.JoinHostPort("localhost", port)
		}
	}
	t.log.Info("no user accounts yet: open this one-time link to create the first administrator, or sign in with the admin token",
		"setup_url", auth.SetupURL(scheme+"://"+addr, tok))
}

// start starts the retention enforcer and session expiry.
func (t *trust) start(ctx context.Context) {
	if t == nil {
		return
	}
	t.ret.start(ctx)
}

// stop stops them and waits.
func (t *trust) stop() {
	if t == nil {
		return
	}
	t.ret.stop()
}

// retention deletes expired spans and content, project by project, in
// small batches, and reports disk usage.
type retention struct {
	st       any
	projects *tenancy.Registry
	svc      *auth.Service
	log      *slog.Logger
	every    time.Duration
	batch    int
	pause    time.Duration // between batches, so ingest gets the writer
	now      func() time.Time

	deleted *prometheus.CounterVec

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	kick   chan struct{}
}

func newRetention(st any, projects *tenancy.Registry, svc *auth.Service, log *slog.Logger, reg prometheus.Registerer) *retention {
	r := &retention{st: st, projects: projects, svc: svc, log: log, every: time.Minute, batch: 5000, pause: 20 * time.Millisecond, now: time.Now,
		kick: make(chan struct{}, 1),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "genscope_retention_deleted_total",
			Help: "Rows removed by retention: spans deleted, and spans or message records whose content was dropped.",
		}, []string{"what"}),
	}
	if reg != nil {
		reg.MustRegister(r.deleted)
		if du, ok := st.(store.DiskUser); ok {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "genscope_store_disk_bytes",
				Help: "Size of the store's files on disk (DuckDB database and write-ahead log).",
			}, func() float64 {
				n, err := du.DiskBytes()
				if err != nil {
					return 0
				}
				return float64(n)
			}))
		}
	}
	return r
}

// usage is the storage figures GET /api/v1/projects shows.
func (r *retention) usage(context.Context) map[string]any {
	du, ok := r.st.(store.DiskUser)
	if !ok {
		return nil
	}
	n, err := du.DiskBytes()
	if err != nil {
		return nil
	}
	return map[string]any{"disk_bytes": n}
}

func (r *retention) start(ctx context.Context) {
	rt, ok := r.st.(store.Retainer)
	if !ok {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	r.cancel, r.done = cancel, make(chan struct{})
	done := r.done
	r.mu.Unlock()
	go func() {
		defer close(done)
		tick := time.NewTicker(r.every)
		defer tick.Stop()
		for {
			r.sweep(ctx, rt)
			r.svc.ExpireSessions(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			case <-r.kick:
			}
		}
	}()
}

func (r *retention) stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// sweep enforces every project's retention once.
func (r *retention) sweep(ctx context.Context, rt store.Retainer) {
	now := r.now()
	for _, p := range r.projects.Projects() {
		if d := time.Duration(p.ContentRetention); d > 0 {
			r.loop(ctx, "content", p.Name, func() (int64, error) { return rt.DropContentBefore(ctx, p.Name, now.Add(-d), r.batch) })
		}
		if d := time.Duration(p.SpanRetention); d > 0 {
			r.loop(ctx, "spans", p.Name, func() (int64, error) { return rt.DeleteSpansBefore(ctx, p.Name, now.Add(-d), r.batch) })
		}
	}
}

// loop runs one kind of deletion in batches until there is nothing left.
func (r *retention) loop(ctx context.Context, what, project string, f func() (int64, error)) {
	for ctx.Err() == nil {
		n, err := f()
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("retention failed; retrying at the next sweep", "what", what, "project", project, "err", err)
			}
			return
		}
		r.deleted.WithLabelValues(what).Add(float64(n))
		if n < int64(r.batch) {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(r.pause):
		}
	}
}
