package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/quota"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tenancy"
)

// API serves the query endpoints.
type API struct {
	st     store.Store
	prices *pricing.Table
	log    *slog.Logger
	now    func() time.Time
	// ProjectFor names the project a request may read, or returns an error
	// to refuse it with 401. Nil means tenancy.DefaultProject.
	projectFor   func(r *http.Request) (string, error)
	timeout      time.Duration
	grpcListen   string
	deployments  []string
	keysRequired bool
	content      func(r *http.Request, project string) bool
	metadataOnly func(project string) bool
	// gatewayService is the service name of the gateway's spans.
	gatewayService string
	scoreAccess    func(r *http.Request, project string) (author string, canWrite, editor bool)
	limits         func(project string) []quota.Usage
	cacheService   string
}

// Options tune the API.
type Options struct {
	// ProjectFor names the project a request reads; nil means tenancy.DefaultProject.
	ProjectFor func(r *http.Request) (string, error)
	// QueryTimeout bounds one store query; 0 means 30s.
	QueryTimeout time.Duration
	// Now is the clock relative times are measured from; nil means time.Now.
	Now func() time.Time
	// GRPCListen is the OTLP/gRPC listen address GET /api/v1/status
	// reports (its port); "" when gRPC is off.
	GRPCListen string
	// Deployments are the gateway's deployment names GET /api/v1/status
	// reports; nil when the gateway is off.
	Deployments []string
	// Content reports whether a request may see the project's message
	// content; nil means it may. Without it, results lose their content
	// (content.go) and the q filter is refused.
	Content func(r *http.Request, project string) bool
	// MetadataOnly reports whether a project keeps metadata only
	// (capture: metadata); nil means none does. Its readers, like those
	// without the content permission, may filter on metadata attributes
	// only (privacy.FilterKey).
	MetadataOnly func(project string) bool
	// KeysRequired says ingestion needs project keys (auth is on); the
	// status endpoint then hands out no derived connection string.
	KeysRequired bool
	// GatewayService is the service name the gateway's spans carry, which
	// GET /api/v1/status reports; "" when the gateway is off.
	GatewayService string
	// ScoreAccess says who a request is (the author of the scores it
	// makes: a user, "key:<id>", "admin"), whether it may score in the
	// project, and whether it may change others' scores (an editor).
	// Nil: anyone may, anonymously (auth off).
	ScoreAccess func(r *http.Request, project string) (author string, canWrite, editor bool)
	// Limits reports the usage of a project's gateway limits (the
	// project's, its end users', its keys'); nil when the gateway is off.
	Limits func(project string) []quota.Usage
	// CacheService is the service name of the gateway's calls, whose
	// cache hits the overview sums (what the cache saved); "" when no
	// gateway is configured, and nothing is summed.
	CacheService string
}

// New returns the API over st.
func New(st store.Store, prices *pricing.Table, log *slog.Logger, opts Options) *API {
	a := &API{st: st, prices: prices, log: log, now: opts.Now, projectFor: opts.ProjectFor, timeout: opts.QueryTimeout, grpcListen: opts.GRPCListen, deployments: opts.Deployments, content: opts.Content, metadataOnly: opts.MetadataOnly, keysRequired: opts.KeysRequired, gatewayService: opts.GatewayService, scoreAccess: opts.ScoreAccess, limits: opts.Limits, cacheService: opts.CacheService}
	if a.now == nil {
		a.now = time.Now
	}
	if a.timeout <= 0 {
		a.timeout = 30 * time.Second
	}
	return a
}

// Register adds the endpoints to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/overview", a.handle(a.overview))
	mux.HandleFunc("GET /api/v1/timeseries", a.handle(a.timeseries))
	mux.HandleFunc("GET /api/v1/breakdown", a.handle(a.breakdown))
	mux.HandleFunc("GET /api/v1/spans", a.handle(a.spans))
	mux.HandleFunc("GET /api/v1/steps", a.handle(a.steps))
	mux.HandleFunc("GET /api/v1/traces/{trace_id}", a.handle(a.trace))
	mux.HandleFunc("GET /api/v1/sessions", a.handle(a.sessions))
	mux.HandleFunc("GET /api/v1/sessions/{session_id}", a.handle(a.session))
	mux.HandleFunc("GET /api/v1/pricing", a.handle(a.pricing))
	mux.HandleFunc("GET /api/v1/pricing/unknown", a.handle(a.unknownModels))
	mux.HandleFunc("GET /api/v1/status", a.handle(a.status))
	mux.HandleFunc("GET /api/v1/limits", a.handle(a.limitsUsage))
	a.registerExport(mux)
	a.registerScores(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		jsonhttp.Write(w, http.StatusNotFound, errorBody{Error: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
}

type errorBody struct {
	Error string `json:"error"`
}

// request is what every handler gets: the project, the query's clock and
// a context bounded by the query timeout.
type request struct {
	*http.Request
	ctx     context.Context
	project string
	now     time.Time
	q       url.Values // the query, parsed strictly (parseQuery)
	// metadataOnly: the request may filter on metadata attributes only
	// (no content permission, or a project keeping metadata only).
	metadataOnly bool
}

type handlerFunc func(r request) (any, error)

// handle turns a handler into an http.HandlerFunc: it resolves the
// project, runs the handler and maps its error to a status and JSON body.
func (a *API) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req, content, cancel, ok := a.begin(w, r)
		if !ok {
			return
		}
		defer cancel()
		out, err := h(req)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		code := http.StatusOK
		if s, ok := out.(withStatus); ok {
			code, out = s.code, s.body
		}
		if !content {
			out = withoutContent(out)
		}
		w.Header().Set("Cache-Control", "no-store")
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return
		}
		jsonhttp.Write(w, code, out)
	}
}

// begin resolves a request's project and content permission and bounds it
// by the query timeout; when it answers the request itself (401, 403) ok
// is false.
func (a *API) begin(w http.ResponseWriter, r *http.Request) (req request, content bool, cancel context.CancelFunc, ok bool) {
	project := tenancy.DefaultProject
	if a.projectFor != nil {
		p, err := a.projectFor(r)
		if errors.Is(err, ErrForbidden) {
			jsonhttp.Write(w, http.StatusForbidden, errorBody{Error: "this project is not readable with these credentials"})
			return req, false, nil, false
		}
		if err != nil {
			jsonhttp.Write(w, http.StatusUnauthorized, errorBody{Error: err.Error()})
			return req, false, nil, false
		}
		project = p
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		a.writeError(w, r, err)
		return req, false, nil, false
	}
	content = a.contentAllowed(r, project)
	if !content && q.Get(contentParam) != "" {
		jsonhttp.Write(w, http.StatusForbidden, errorBody{Error: contentParam + ": searching message text needs the content permission"})
		return req, false, nil, false
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	metaOnly := !content || (a.metadataOnly != nil && a.metadataOnly(project))
	return request{Request: r, ctx: ctx, project: project, now: a.now(), q: q, metadataOnly: metaOnly}, content, cancel, true
}

func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *paramError
	var fp *forbiddenParam
	switch {
	case errors.As(err, &fp):
		jsonhttp.Write(w, http.StatusForbidden, errorBody{Error: fp.Error()})
	case errors.As(err, &pe):
		jsonhttp.Write(w, http.StatusBadRequest, errorBody{Error: pe.Error()})
	case errors.Is(err, store.ErrBadCursor):
		jsonhttp.Write(w, http.StatusBadRequest, errorBody{Error: "cursor: " + err.Error()})
	case errors.Is(err, store.ErrBadQuery):
		jsonhttp.Write(w, http.StatusBadRequest, errorBody{Error: err.Error()})
	case errors.Is(err, store.ErrNotFound):
		jsonhttp.Write(w, http.StatusNotFound, errorBody{Error: err.Error()})
	case errors.Is(err, context.DeadlineExceeded):
		a.log.Warn("query timed out", "path", r.URL.Path, "timeout", a.timeout)
		jsonhttp.Write(w, http.StatusServiceUnavailable, errorBody{Error: "query timed out"})
	case errors.Is(err, context.Canceled):
		// The client left.
	default:
		a.log.Error("query failed", "path", r.URL.Path, "err", err)
		jsonhttp.Write(w, http.StatusInternalServerError, errorBody{Error: "internal error; see the server log"})
	}
}

func (a *API) filter(r request) (store.Filter, error) {
	f, err := parseFilter(r.q, r.project, r.now)
	if err != nil || !r.metadataOnly {
		return f, err
	}
	return f, metadataAttrs(f)
}

func (a *API) overview(r request) (any, error) {
	f, err := a.filter(r)
	if err != nil {
		return nil, err
	}
	ov, err := a.st.Overview(r.ctx, f)
	if err != nil {
		return nil, err
	}
	// What apps sent as OTLP metrics only (spans win where both exist):
	// absent when the store keeps no metrics.
	var fromMetrics *store.MetricOverview
	if ms, ok := a.st.(store.MetricStore); ok {
		tot, err := ms.MetricTotals(r.ctx, f)
		if err != nil {
			return nil, err
		}
		mo := store.OverviewOfMetrics(tot)
		fromMetrics = &mo
	}
	saved, err := a.cacheSavings(r, f)
	if err != nil {
		return nil, err
	}
	return struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
		store.Overview
		Cache       CacheSavings          `json:"cache"`
		FromMetrics *store.MetricOverview `json:"from_metrics,omitempty"`
	}{f.From, f.To, ov, saved, fromMetrics}, nil
}

func (a *API) timeseries(r request) (any, error) {
	f, err := a.filter(r)
	if err != nil {
		return nil, err
	}
	tq, err := parseTimeseries(r.q, f)
	if err != nil {
		return nil, err
	}
	series, err := a.st.Timeseries(r.ctx, tq)
	if err != nil {
		return nil, err
	}
	if series == nil {
		series = []store.Series{}
	}
	return struct {
		From     time.Time      `json:"from"`
		To       time.Time      `json:"to"`
		Metric   string         `json:"metric"`
		Agg      string         `json:"agg,omitempty"`
		Interval string         `json:"interval"`
		GroupBy  string         `json:"group_by,omitempty"`
		Series   []store.Series `json:"series"`
	}{f.From, f.To, tq.Metric, tq.Agg, tq.Interval.String(), tq.GroupBy, series}, nil
}

func (a *API) breakdown(r request) (any, error) {
	f, err := a.filter(r)
	if err != nil {
		return nil, err
	}
	q := r.q
	by, err := parseDim("by", q.Get("by"), false)
	if err != nil {
		return nil, err
	}
	limit, err := parseLimit(q, 100, 1000)
	if err != nil {
		return nil, err
	}
	rows, err := a.st.Breakdown(r.ctx, store.BreakdownQuery{Filter: f, By: by, Limit: limit})
	if err != nil {
		return nil, err
	}
	if rows == nil {
		rows = []store.BreakdownRow{}
	}
	return struct {
		By   string               `json:"by"`
		Rows []store.BreakdownRow `json:"rows"`
	}{by, rows}, nil
}

// steps answers the agent runs and tool calls (not calls: they have their
// own counts), with the usual filter plus agent= and tool=.
func (a *API) steps(r request) (any, error) {
	f, err := a.filter(r)
	if err != nil {
		return nil, err
	}
	limit, err := parseLimit(r.q, 100, 1000)
	if err != nil {
		return nil, err
	}
	st, err := a.st.Steps(r.ctx, store.StepsQuery{Filter: f, Agent: r.q.Get("agent"), Tool: r.q.Get("tool"), Limit: limit})
	if err != nil {
		return nil, err
	}
	return struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
		store.Steps
	}{f.From, f.To, st}, nil
}

func (a *API) spans(r request) (any, error) {
	q, err := a.spansQuery(r)
	if err != nil {
		return nil, err
	}
	page, err := a.st.Spans(r.ctx, q)
	if err != nil {
		return nil, err
	}
	if page.Spans == nil {
		page.Spans = []store.SpanSummary{}
	}
	a.attachScores(r, &page)
	return page, nil
}

// spansQuery reads GET /api/v1/spans's parameters (and the export's).
func (a *API) spansQuery(r request) (store.SpansQuery, error) {
	f, err := a.filter(r)
	if err != nil {
		return store.SpansQuery{}, err
	}
	q := r.URL.Query()
	limit, err := parseLimit(q, 50, 1000)
	if err != nil {
		return store.SpansQuery{}, err
	}
	all := false
	switch q.Get("all") {
	case "", "false", "0":
	case "true", "1":
		all = true
	default:
		return store.SpansQuery{}, badParam("all", "%q is not true or false", q.Get("all"))
	}
	order, err := parseSort(q)
	if err != nil {
		return store.SpansQuery{}, err
	}
	return store.SpansQuery{Filter: f, All: all, Limit: limit, Cursor: q.Get("cursor"), Order: order}, nil
}

func (a *API) trace(r request) (any, error) {
	id, err := genai.ParseTraceID(r.PathValue("trace_id"))
	if err != nil {
		return nil, badParam("trace_id", "%q is not 32 hex characters", r.PathValue("trace_id"))
	}
	return a.st.Trace(r.ctx, r.project, id)
}

func (a *API) sessions(r request) (any, error) {
	f, err := a.filter(r)
	if err != nil {
		return nil, err
	}
	q := r.q
	limit, err := parseLimit(q, 50, 1000)
	if err != nil {
		return nil, err
	}
	page, err := a.st.Sessions(r.ctx, store.SessionsQuery{Filter: f, Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		return nil, err
	}
	if page.Sessions == nil {
		page.Sessions = []store.SessionSummary{}
	}
	return page, nil
}

func (a *API) session(r request) (any, error) {
	f, err := a.filter(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("session_id")
	if id == "" || len(id) > 1000 {
		return nil, badParam("session_id", "must be 1 to 1000 bytes")
	}
	return a.st.Session(r.ctx, r.project, id, f)
}

func (a *API) pricing(r request) (any, error) {
	return struct {
		Version string          `json:"version"`
		Source  string          `json:"source"`
		Entries []pricing.Entry `json:"entries"`
	}{a.prices.Version(), a.prices.Source(), a.prices.Entries()}, nil
}

func (a *API) unknownModels(r request) (any, error) {
	f, err := a.filter(r)
	if err != nil {
		return nil, err
	}
	models, err := a.st.UnknownModels(r.ctx, f)
	if err != nil {
		return nil, err
	}
	if models == nil {
		models = []store.UnknownModel{}
	}
	return struct {
		Models []store.UnknownModel `json:"models"`
		Hint   string               `json:"hint"`
	}{models, "add a price for these models under pricing: in the config file"}, nil
}
