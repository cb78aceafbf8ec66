package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/genscope/genscope/internal/api"
	"github.com/genscope/genscope/internal/config"
	"github.com/genscope/genscope/internal/eval"
	"github.com/genscope/genscope/internal/gateway"
	"github.com/genscope/genscope/internal/ingest/appinsights"
	"github.com/genscope/genscope/internal/ingest/httpbody"
	"github.com/genscope/genscope/internal/ingest/otlp"
	"github.com/genscope/genscope/internal/jsonhttp"
	"github.com/genscope/genscope/internal/labelcap"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/process"
	"github.com/genscope/genscope/internal/quota"
	"github.com/genscope/genscope/internal/recorder"
	"github.com/genscope/genscope/internal/score"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tlsutil"
	"github.com/genscope/genscope/internal/web"
)

// cacheService is the service of the gateway's calls when a gateway with
// a response cache is configured (on this node or another sharing the
// store), for the overview's cache savings; "" otherwise.
func cacheService(cfg config.Config) string {
	if !cfg.Gateway.Enabled || !cfg.Gateway.Cache.Enabled {
		return ""
	}
	return cfg.Gateway.Service
}

// LimitsFile is the file in the data directory that keeps the gateway's
// usage against its rate limits and budgets across restarts.
const LimitsFile = "gateway-limits.json"

// DBFile is the name of the DuckDB file in the data directory.
const DBFile = "genscope.duckdb"

// App is a running genscope: listeners bound, store open.
type App struct {
	cfg  config.Config
	log  *slog.Logger
	reg  *prometheus.Registry
	st   store.Store
	lock io.Closer // the data directory's lock, with the DuckDB store
	rec  *recorder.Recorder
	proc *process.Stage // receivers and the gateway submit here; it passes batches to rec
	gw   *gateway.Gateway
	// limits are the gateway's rate limits and budgets; nil without the
	// gateway.
	limits *quota.Limiter
	http   *http.Server
	grpc   *grpc.Server

	httpLn, grpcLn net.Listener
	ready          atomic.Bool
	alerting       *alerting                   // nil when the store keeps no alert state, or the node runs neither api nor alerts
	trust          *trust                      // projects, keys, users; privacy; retention (trust.go)
	scores         *score.Writer               // stores OTLP evaluation results; nil when ingest is off or the store keeps no scores
	evals          atomic.Pointer[eval.Engine] // online evaluators; nil when the store keeps no state or scores
	sync           *stateSync                  // rereads shared state; nil unless the store is shared (statesync.go)
	hooks          hooks
}

// hooks are what in-process tests change in an App's timing.
type hooks struct {
	// alertFirstDelay replaces the alert engine's random first delay.
	alertFirstDelay func(time.Duration) time.Duration
}

// New opens the store and binds the listeners; Run serves. On error
// everything opened so far is closed. cfg.Components says which parts
// run: without ingest there are no OTLP or Application Insights
// receivers (and no gRPC listener), without gateway no proxy, without api
// no /api/v1 and no UI, and without alerts nothing evaluates or notifies.
func New(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	return newApp(ctx, cfg, log, hooks{})
}

func newApp(ctx context.Context, cfg config.Config, log *slog.Logger, h hooks) (_ *App, err error) {
	if err := cfg.Components.Validate(); err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, reg: prometheus.NewRegistry(), hooks: h}
	defer func() {
		if err != nil {
			a.closeAll()
		}
	}()
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	prices, err := pricing.New(cfg.Pricing)
	if err != nil {
		return nil, fmt.Errorf("price table: %w", err)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if a.lock, err = lockData(cfg); err != nil {
		return nil, err
	}
	if a.st, err = openStore(ctx, cfg, log); err != nil {
		return nil, err
	}
	if a.trust, err = a.newTrust(ctx); err != nil {
		return nil, err
	}

	labels, err := labelcap.New(cfg.Metrics.MaxLabelValues, a.reg)
	if err != nil {
		return nil, err
	}
	a.rec, err = recorder.New(a.st, recorder.Options{
		Labels:        labels,
		MaxQueueItems: cfg.Recorder.MaxQueueItems,
		MaxQueueBytes: int64(cfg.Recorder.MaxQueueBytes),
		MaxBatchItems: cfg.Recorder.MaxBatchItems,
		MaxQueueDelay: cfg.Recorder.MaxQueueDelay.D(),
		WriteTimeout:  cfg.Recorder.WriteTimeout.D(),
		Written:       a.observe,
	}, log, a.reg)
	if err != nil {
		return nil, err
	}
	// receiver → normalize → process → recorder → store
	a.proc = process.New(a.rec, prices, a.trust.privacy)

	comps := cfg.Components
	mux := http.NewServeMux()
	var rcv *otlp.Receiver
	outer := func(h http.Handler) http.Handler { return h }
	if comps.Has(config.ComponentIngest) {
		if rcv, outer, err = a.newIngest(mux); err != nil {
			return nil, err
		}
	}
	if cfg.Gateway.Enabled && comps.Has(config.ComponentGateway) {
		cacheDir := ""
		if cfg.Gateway.Cache.Enabled {
			cacheDir = filepath.Join(cfg.Data, "gateway-cache")
		}
		a.limits, err = quota.New(quota.Options{Rules: cfg.Gateway.Limits, Path: filepath.Join(cfg.Data, LimitsFile), Log: log})
		if err != nil {
			return nil, fmt.Errorf("gateway limits: %w", err)
		}
		a.gw, err = gateway.New(a.proc, gateway.Options{
			CacheDir:       cacheDir,
			CacheTTL:       cfg.Gateway.Cache.TTL.D(),
			CacheMaxBytes:  int64(cfg.Gateway.Cache.MaxBytes),
			Deployments:    cfg.Gateway.AllDeployments(),
			Routes:         cfg.Gateway.Routes,
			Capture:        cfg.Gateway.Capture,
			Redact:         cfg.Gateway.RedactPatterns,
			RedactUpstream: cfg.Gateway.RedactUpstream,
			MaxBodyBytes:   int64(cfg.Gateway.MaxBodyBytes),
			MaxRecordBytes: int64(cfg.Gateway.MaxRecordBytes),
			Service:        cfg.Gateway.Service,
			CallerFor:      a.trust.gatewayCaller(),
			Limits:         a.limits,
			Cost:           prices.SpanCost,
			Labels:         labels,
		}, log, a.reg)
		if err != nil {
			return nil, err
		}
		a.gw.Register(mux)
	}
	if comps.Has(config.ComponentAPI) {
		var deployments []string
		gwService := ""
		var limits func(string) []quota.Usage
		if a.gw != nil {
			deployments, gwService, limits = a.gw.Deployments(), cfg.Gateway.Service, a.limits.Usage
		}
		api.New(a.st, prices, log, api.Options{GRPCListen: cfg.GRPCListen, Deployments: deployments,
			ProjectFor: a.trust.apiProject(), Content: a.trust.apiContent(), MetadataOnly: a.trust.apiMetadataOnly(), KeysRequired: cfg.Auth.Enabled, GatewayService: gwService,
			ScoreAccess: a.trust.scoreAccess(), Limits: limits, CacheService: cacheService(cfg)}).Register(mux)
		a.trust.register(mux)
		web.New(web.Options{Log: log}).Register(mux)
	}
	if a.alerting, err = a.newAlerting(ctx, mux); err != nil {
		return nil, err
	}
	evals, err := a.newEvals(ctx, mux)
	if err != nil {
		return nil, err
	}
	a.evals.Store(evals)
	a.sync = a.newStateSync()
	if err := a.serveMisc(mux, outer); err != nil {
		return nil, err
	}
	if rcv != nil && cfg.GRPCListen != "" {
		a.grpc = grpc.NewServer(rcv.GRPCServerOptions()...)
		rcv.RegisterGRPC(a.grpc)
		if a.grpcLn, err = net.Listen("tcp", cfg.GRPCListen); err != nil {
			return nil, fmt.Errorf("listen %s: %w", cfg.GRPCListen, err)
		}
	}
	return a, nil
}

// newIngest builds the OTLP and Application Insights receivers, registers
// their endpoints, and returns the OTLP receiver (for gRPC) and the
// wrapper the server's handler needs.
func (a *App) newIngest(mux *http.ServeMux) (*otlp.Receiver, func(http.Handler) http.Handler, error) {
	cfg, log := a.cfg, a.log
	// One bound on request bytes in flight, shared by every receiver.
	// A request the recorder's full queue would refuse after decoding is
	// refused before it is read.
	gate := httpbody.NewGateBefore(int64(cfg.Ingest.MaxInflightBytes), a.rec.Full)
	if err := a.reg.Register(gate); err != nil {
		return nil, nil, err
	}
	opts := otlp.Options{
		MaxBodyBytes:   int64(cfg.Ingest.MaxBodyBytes),
		RetryAfter:     cfg.Ingest.RetryAfter.D(),
		ProjectFor:     a.trust.ingestProject(),
		GRPCProjectFor: a.trust.grpcProject(),
		Gate:           gate,
	}
	if ms, ok := a.st.(store.MetricStore); ok {
		opts.Metrics = ms // GenAI metrics go to the store directly: no content, nothing to process
	}
	if ss, ok := a.st.(store.ScoreStore); ok {
		w, err := score.NewWriter(ss, score.Options{MetadataOnly: a.trust.apiMetadataOnly()}, log, a.reg)
		if err != nil {
			return nil, nil, err
		}
		a.scores = w
		opts.Evaluations = a.scores.Add
		fb, err := score.NewFeedback(a.st, score.FeedbackOptions{ProjectFor: a.trust.ingestProject(), MetadataOnly: a.trust.apiMetadataOnly()}, log)
		if err != nil {
			return nil, nil, err
		}
		fb.Register(mux)
	}
	rcv, err := otlp.New(a.proc, opts, log, a.reg)
	if err != nil {
		return nil, nil, err
	}

	ai, err := appinsights.New(a.proc, appinsights.Options{
		MaxBodyBytes: int64(cfg.Ingest.MaxBodyBytes),
		RetryAfter:   cfg.Ingest.RetryAfter.D(),
		ProjectFor:   a.trust.ikeyProject(),
		Gate:         gate,
	}, log, a.reg)
	if err != nil {
		return nil, nil, err
	}
	rcv.Register(mux)
	ai.Register(mux)
	// Application Insights exporters post to //v2.1/track when their
	// endpoint ends with a slash, and do not follow the mux's redirect.
	return rcv, ai.Wrap, nil
}

// serveMisc adds metrics, health and profiling to mux, builds the HTTP
// server (its handler outer(mux behind auth)) and binds the listener.
//
// The API's JSON answers are gzipped for clients that accept it
// (jsonhttp.Gzip); OTLP, the gateway and the dashboard's files (which
// have precompressed copies) are left as they are.
func (a *App) serveMisc(mux *http.ServeMux, outer func(http.Handler) http.Handler) error {
	cfg, log := a.cfg, a.log
	mux.Handle("GET /metrics", a.trust.metricsGuard(cfg.Metrics.Public,
		promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !a.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if cfg.Debug.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	a.http = &http.Server{
		Handler:           outer(a.trust.wrap(apiGzip(mux))),
		ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout.D(),
		ReadTimeout:       cfg.HTTP.ReadTimeout.D(),
		WriteTimeout:      cfg.HTTP.WriteTimeout.D(),
		IdleTimeout:       cfg.HTTP.IdleTimeout.D(),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if cfg.TLS.SelfSigned {
		dir := filepath.Join(cfg.Data, "tls")
		cert, key, created, err := tlsutil.SelfSigned(dir, nil, time.Now())
		if err != nil {
			return fmt.Errorf("self-signed certificate: %w", err)
		}
		a.cfg.TLS.CertFile, a.cfg.TLS.KeyFile = cert, key
		log.Info("serving HTTPS with a self-signed certificate; to trust it, point clients at it",
			"certificate", cert, "created", created,
			"node", "NODE_EXTRA_CA_CERTS="+cert, "openssl", "SSL_CERT_FILE="+cert, "python_requests", "REQUESTS_CA_BUNDLE="+cert)
	}
	if a.cfg.TLS.Enabled() {
		pair, err := tls.LoadX509KeyPair(a.cfg.TLS.CertFile, a.cfg.TLS.KeyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		a.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	var err error
	if a.httpLn, err = net.Listen("tcp", cfg.Listen); err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Listen, err)
	}
	return nil
}

// HTTPAddr is the address the HTTP listener is bound to.
func (a *App) HTTPAddr() string { return a.httpLn.Addr().String() }

// GRPCAddr is the address the gRPC listener is bound to, or "" when off.
func (a *App) GRPCAddr() string {
	if a.grpcLn == nil {
		return ""
	}
	return a.grpcLn.Addr().String()
}

// Store is the app's store, for in-process tests and tools.
func (a *App) Store() store.Store { return a.st }

// Run serves until ctx ends, then shuts down gracefully: listeners stop
// taking requests, in-flight requests finish, everything acknowledged is
// written, and the store is closed.
func (a *App) Run(ctx context.Context) error {
	// Read before serving: ServeTLS adjusts the server's TLS config.
	scheme := "http"
	if a.http.TLSConfig != nil {
		scheme = "https"
	}
	errc := make(chan error, 2)
	go func() {
		var err error
		if a.http.TLSConfig != nil {
			err = a.http.ServeTLS(a.httpLn, "", "")
		} else {
			err = a.http.Serve(a.httpLn)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http server: %w", err)
		}
	}()
	if a.grpc != nil {
		go func() {
			if err := a.grpc.Serve(a.grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- fmt.Errorf("grpc server: %w", err)
			}
		}()
	}
	a.alerting.start(ctx)
	a.trust.start(ctx)
	a.sync.start(ctx)
	if a.scores != nil {
		a.scores.Start()
	}
	if e := a.evals.Load(); e != nil && a.evaluates() {
		e.Start()
	}
	a.ready.Store(true)
	a.log.Info("genscope is serving", "http", scheme+"://"+a.HTTPAddr(), "grpc", a.GRPCAddr(), "data", a.cfg.Data,
		"components", a.cfg.Components.String())
	a.trust.announceSetup(scheme, a.HTTPAddr())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	a.ready.Store(false)
	a.log.Info("shutting down")
	if err := a.shutdown(); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

func (a *App) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout.D())
	defer cancel()
	var errs []error
	if err := a.http.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	if a.grpc != nil {
		stopped := make(chan struct{})
		go func() { a.grpc.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			a.grpc.Stop()
		}
	}
	if a.gw != nil {
		// Calls already answered are handed to the recorder before it
		// drains.
		if err := a.gw.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.limits != nil {
		// after the gateway: the last calls' usage is counted
		if err := a.limits.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	a.sync.stop()
	a.alerting.stop()
	a.trust.stop()
	if a.scores != nil {
		a.scores.Stop()
	}
	if err := a.rec.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	if e := a.evals.Load(); e != nil {
		e.Stop() // after the recorder: the last batches may still be shown to it
	}
	if err := a.st.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	if a.lock != nil {
		_ = a.lock.Close()
	}
	return errors.Join(errs...)
}

// closeAll releases what New opened when New fails.
func (a *App) closeAll() {
	if a.httpLn != nil {
		a.httpLn.Close()
	}
	if a.grpcLn != nil {
		a.grpcLn.Close()
	}
	if a.gw != nil {
		_ = a.gw.Close(context.Background())
	}
	if a.limits != nil {
		_ = a.limits.Close()
	}
	if a.rec != nil {
		_ = a.rec.Close(context.Background())
	}
	if a.st != nil {
		_ = a.st.Close()
	}
	if a.lock != nil {
		_ = a.lock.Close()
	}
}

// Logger returns a text logger at the named level (debug, info, warn,
// error) writing to standard error; used by main.
func Logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// Wait for readiness in tests and tools.
func (a *App) waitReady(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if a.ready.Load() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// apiGzip compresses the answers under /api/ (jsonhttp.Gzip).
func apiGzip(next http.Handler) http.Handler {
	gz := jsonhttp.Gzip(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			gz.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
