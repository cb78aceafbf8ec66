package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/ingest/httpbody"
	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/labelcap"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/quota"
	"github.com/genscope/genscope/internal/redact"
	"github.com/genscope/genscope/internal/sim/model"
	"github.com/genscope/genscope/internal/store"
)

// Recorder takes finished calls without waiting for storage; it reports
// whether the batch was queued (a refusal is counted by the recorder).
type Recorder interface {
	Enqueue(b *store.Batch) bool
}

// Options configure a Gateway.
type Options struct {
	// Deployments are the names clients call; none means
	// DefaultDeployments.
	Deployments []Deployment
	// Routes map names to several deployments (Route); their targets
	// must name Deployments or other Routes.
	Routes []Route
	// CacheDir is where the response cache keeps its answers; empty: no
	// cache. CacheTTL (default 1h) and CacheMaxBytes (default 256 MiB)
	// bound it.
	CacheDir      string
	CacheTTL      time.Duration
	CacheMaxBytes int64
	// Capture is privacy.Full (default), privacy.Metadata or
	// privacy.Redacted: what is kept of a call's content.
	Capture string
	// MaxBodyBytes bounds a request body; default 32 MiB.
	MaxBodyBytes int64
	// MaxRecordBytes bounds how much of a response is kept for recording;
	// default 4 MiB.
	MaxRecordBytes int64
	// RedactUpstream masks personal data (the redaction patterns, with
	// Redact's) in a request's content before it goes upstream; what is
	// recorded is what went.
	RedactUpstream bool
	// Redact adds patterns (Go regular expressions) to the built-in ones
	// that privacy.Redacted masks.
	Redact []string
	// Service is the service name of the gateway's spans.
	Service string
	// ProjectFor names the project a call is recorded in, or refuses the
	// call (401). Nil records everything in tenancy.DefaultProject.
	ProjectFor func(r *http.Request) (string, error)
	// CallerFor, when set, replaces ProjectFor: the project and the
	// gateway key (its id and limits) a call is made with, or an error
	// (401).
	CallerFor func(r *http.Request) (quota.Caller, error)
	// Limits admits calls within their rate limits and budgets before
	// they go upstream (a 429 otherwise) and counts what they used; nil:
	// no limits.
	Limits *quota.Limiter
	// Cost prices a finished call's span for the spend budgets; nil: calls
	// cost nothing against them.
	Cost func(sp *genai.Span) (usd float64, ok bool)
	// Workers build the records of finished calls; default 2.
	Workers int
	// RecordQueue is how many finished calls may wait for a worker before
	// new ones are dropped (and counted); default 4096.
	RecordQueue int
	// Labels bounds the distinct error_type values (an upstream's error
	// codes) of genscope_gateway_failures_total; nil: unbounded.
	Labels *labelcap.Limiter
}

// Gateway serves the OpenAI- and Azure-OpenAI-compatible endpoints.
type Gateway struct {
	rec        Recorder
	opts       Options
	log        *slog.Logger
	m          *metrics
	deps       map[string]*deployment
	routes     map[string]*route
	order      []string
	routeOrder []string
	cache      *respCache
	body       *httpbody.Reader
	redact     *redact.Redactor
	jobs       chan *call
	wg         sync.WaitGroup
	closeMu    sync.RWMutex
	closed     bool
}

// deployment is a configured deployment, ready to call.
type deployment struct {
	cfg    Deployment
	base   *url.URL
	client *http.Client
	sim    *model.Model
	health health // routes' view of it: failures in a row, cool-down
}

// New builds the gateway; Close stops its record workers.
func New(rec Recorder, opts Options, log *slog.Logger, reg prometheus.Registerer) (*Gateway, error) {
	if len(opts.Deployments) == 0 {
		opts.Deployments = DefaultDeployments()
	}
	if opts.Capture == "" {
		opts.Capture = privacy.Full
	}
	switch opts.Capture {
	case privacy.Full, privacy.Metadata, privacy.Redacted:
	default:
		return nil, fmt.Errorf("gateway: capture %q is not full, metadata or redacted", opts.Capture)
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 32 << 20
	}
	if opts.MaxRecordBytes <= 0 {
		opts.MaxRecordBytes = 4 << 20
	}
	if opts.Service == "" {
		opts.Service = "genscope-gateway"
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.RecordQueue <= 0 {
		opts.RecordQueue = 4096
	}
	g := &Gateway{
		rec: rec, opts: opts, log: log,
		deps: make(map[string]*deployment),
		body: httpbody.New(opts.MaxBodyBytes),
		jobs: make(chan *call, opts.RecordQueue),
	}
	if opts.Capture == privacy.Redacted || opts.RedactUpstream {
		r, err := redact.New(opts.Redact)
		if err != nil {
			return nil, fmt.Errorf("gateway: %w", err)
		}
		g.redact = r
	}
	for _, c := range opts.Deployments {
		d, err := newDeployment(c.WithDefaults())
		if err != nil {
			return nil, fmt.Errorf("gateway deployment %q: %w", c.Name, err)
		}
		if _, dup := g.deps[c.Name]; dup {
			return nil, fmt.Errorf("gateway deployment %q is defined twice", c.Name)
		}
		g.deps[c.Name] = d
		g.order = append(g.order, c.Name)
	}
	if err := g.buildRoutes(opts.Routes); err != nil {
		return nil, err
	}
	if opts.CacheDir != "" {
		if opts.CacheTTL <= 0 {
			opts.CacheTTL = time.Hour
		}
		if opts.CacheMaxBytes <= 0 {
			opts.CacheMaxBytes = 256 << 20
		}
		c, err := openCache(opts.CacheDir, opts.CacheTTL, opts.CacheMaxBytes)
		if err != nil {
			return nil, err
		}
		g.cache = c
	}
	m, err := newMetrics(reg, g)
	if err != nil {
		return nil, err
	}
	g.m = m
	for range opts.Workers {
		g.wg.Add(1)
		go g.work()
	}
	return g, nil
}

func newDeployment(c Deployment) (*deployment, error) {
	d := &deployment{cfg: c}
	if c.Type == DeploymentSimulated {
		so := model.Options{
			Deployment:        c.Name,
			Model:             c.Model,
			ContextWindow:     c.Simulated.ContextWindow,
			TokensPerMinute:   c.Simulated.TokensPerMinute,
			RequestsPerMinute: c.Simulated.RequestsPerMinute,
			TimeToFirstToken:  c.Simulated.TimeToFirstToken.D(),
			TimePerToken:      c.Simulated.TimePerToken.D(),
			NoLatency:         c.Simulated.NoLatency,
		}
		if c.Simulated.Jitter != nil {
			so.Jitter = *c.Simulated.Jitter
			if so.Jitter == 0 {
				so.Jitter = -1 // sim/model: negative means none
			}
		}
		m, err := model.New(so)
		if err != nil {
			return nil, err
		}
		d.sim = m
		d.base = &url.URL{Scheme: "http", Host: "simulated.genscope.invalid", Path: "/v1"}
		d.client = &http.Client{Transport: handlerTransport{h: m}}
		return d, nil
	}
	u, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base_url %q is not an http(s) URL", c.BaseURL)
	}
	if err := UpstreamPolicy.Host(u.Hostname()); err != nil {
		return nil, fmt.Errorf("base_url: %w", err)
	}
	d.base = u
	// Every connection is checked: a name that resolves to a metadata or
	// link-local address never gets the deployment's key.
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: UpstreamPolicy.Control}
	d.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                  http.ProxyFromEnvironment,
			DialContext:            dialer.DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           1024,
			MaxIdleConnsPerHost:    512,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    10 * time.Second,
			ExpectContinueTimeout:  time.Second,
			ResponseHeaderTimeout:  c.ResponseHeaderTimeout.D(),
			MaxResponseHeaderBytes: 1 << 20,
		},
		// Never follow a redirect: it could carry the credential to
		// another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return d, nil
}

// buildRoutes resolves the routes' targets (deployments or other routes).
func (g *Gateway) buildRoutes(cfgs []Route) error {
	if len(cfgs) == 0 {
		return nil
	}
	var deps []Deployment
	for _, name := range g.order {
		deps = append(deps, g.deps[name].cfg)
	}
	if errs := validateRoutes("routes", cfgs, deps); len(errs) > 0 {
		return fmt.Errorf("gateway: %w", errors.Join(errs...))
	}
	g.routes = make(map[string]*route, len(cfgs))
	for _, c := range cfgs {
		g.routes[c.Name] = &route{cfg: c.WithDefaults()}
	}
	for _, c := range cfgs {
		rt := g.routes[c.Name]
		for _, t := range c.Targets {
			rt.targets = append(rt.targets, routeTarget{dep: g.deps[t.Deployment], route: g.routes[t.Deployment], weight: t.weight()})
		}
		g.routeOrder = append(g.routeOrder, c.Name)
	}
	return nil
}

// Register adds the gateway's endpoints to mux.
func (g *Gateway) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, opChat, "") })
	mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, opEmbeddings, "") })
	mux.HandleFunc("GET /v1/models", g.models)
	mux.HandleFunc("POST /openai/deployments/{deployment}/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		g.serve(w, r, opChat, r.PathValue("deployment"))
	})
	mux.HandleFunc("POST /openai/deployments/{deployment}/embeddings", func(w http.ResponseWriter, r *http.Request) {
		g.serve(w, r, opEmbeddings, r.PathValue("deployment"))
	})
}

// Deployments lists the deployment names, in config order.
func (g *Gateway) Deployments() []string { return slices.Clone(g.order) }

// Close waits for the calls already finished to be handed to the
// recorder, up to ctx's deadline. Calls served after Close are not
// recorded.
func (g *Gateway) Close(ctx context.Context) error {
	g.closeMu.Lock()
	if !g.closed {
		g.closed = true
		close(g.jobs)
	}
	g.closeMu.Unlock()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gateway: records still being built: %w", ctx.Err())
	}
}

// submit hands a finished call to the record workers without waiting.
func (g *Gateway) submit(c *call) {
	g.closeMu.RLock()
	defer g.closeMu.RUnlock()
	if g.closed {
		g.m.dropped.Inc()
		return
	}
	select {
	case g.jobs <- c:
	default:
		g.m.dropped.Inc()
	}
}

func (g *Gateway) work() {
	defer g.wg.Done()
	for c := range g.jobs {
		sp := g.buildSpan(c)
		spans := []genai.Span{sp}
		if c.route != nil && len(c.attempts) > 0 {
			spans = append(spans, g.routeSpans(c, &spans[0])...)
		}
		if c.cacheKey != "" && !c.cacheHit {
			g.keep(c)
		}
		g.countUsage(c, &spans[0])
		if !g.rec.Enqueue(&store.Batch{Spans: spans}) {
			g.m.notRecorded.Inc()
		}
	}
}

func (g *Gateway) models(w http.ResponseWriter, r *http.Request) {
	if _, err := g.caller(r); err != nil {
		writeError(w, http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", err.Error())
		return
	}
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	out := struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}{Object: "list", Data: []model{}}
	for _, name := range g.order {
		out.Data = append(out.Data, model{ID: name, Object: "model", OwnedBy: "genscope:" + g.deps[name].cfg.Type})
	}
	for _, name := range g.routeOrder {
		out.Data = append(out.Data, model{ID: name, Object: "model", OwnedBy: "genscope:route"})
	}
	jsonhttp.Write(w, http.StatusOK, out)
}
