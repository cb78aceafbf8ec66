package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/genscope/genscope/internal/bytesize"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/genscope/genscope/internal/gateway"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/secret"
	"github.com/genscope/genscope/internal/timeutil"
)

// Config is everything genscope serve reads. Flags override the matching
// fields after the file is loaded.
type Config struct {
	// Listen is the HTTP listener: OTLP/HTTP, the API, the UI, /metrics.
	Listen string `yaml:"listen"`
	// GRPCListen is the OTLP/gRPC listener; empty disables it.
	GRPCListen string `yaml:"grpc_listen"`
	// Data is the data directory (the DuckDB file lives there).
	Data string `yaml:"data"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `yaml:"log_level"`
	// Components are the parts of genscope this node runs (components.go):
	// ingest, gateway, api (with the UI) and alerts; empty means all.
	// Several nodes sharing a ClickHouse store split them, with exactly
	// one running alerts.
	Components Components `yaml:"components"`
	// StateReloadInterval is how often a node sharing its store with
	// others (ClickHouse) rereads the shared state: projects, keys, users,
	// sessions, alert rules and action groups (and, on nodes that do not
	// run alerts, the alert state and notification log). Changes made
	// through another node take effect here within it.
	StateReloadInterval Duration `yaml:"state_reload_interval"`

	HTTP     HTTP     `yaml:"http"`
	TLS      TLS      `yaml:"tls"`
	Ingest   Ingest   `yaml:"ingest"`
	Recorder Recorder `yaml:"recorder"`
	Store    Store    `yaml:"store"`
	Debug    Debug    `yaml:"debug"`
	Metrics  Metrics  `yaml:"metrics"`
	Gateway  Gateway  `yaml:"gateway"`
	// Pricing adds models to the built-in price table or replaces entries.
	Pricing []pricing.Override `yaml:"pricing"`
	// Notify, ActionGroups and Alerts are alerting (alerts.go); groups
	// and rules from the file are read-only through the API.
	Notify       Notify        `yaml:"notify"`
	ActionGroups []ActionGroup `yaml:"action_groups"`
	Alerts       []AlertRule   `yaml:"alerts"`
	// Evaluators are online evaluators (evaluators.go), read-only through
	// the API.
	Evaluators []Evaluator `yaml:"evaluators"`
	// Auth and Projects are access control and per-project privacy and
	// retention (auth.go).
	Auth     Auth      `yaml:"auth"`
	Projects []Project `yaml:"projects"`
}

// HTTP bounds the HTTP server.
type HTTP struct {
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	ShutdownTimeout   Duration `yaml:"shutdown_timeout"`
}

// TLS serves the HTTP listener over HTTPS: with a certificate and key,
// or with a self-signed certificate kept in the data directory (for local
// use with clients that only speak HTTPS, such as the Node.js Azure
// Monitor exporter).
type TLS struct {
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	SelfSigned bool   `yaml:"self_signed"`
}

// Enabled reports whether the HTTP listener serves HTTPS.
func (t TLS) Enabled() bool { return t.SelfSigned || t.CertFile != "" }

// Debug turns on diagnostics.
type Debug struct {
	// Pprof serves Go's profiler at /debug/pprof/ on the HTTP listener.
	Pprof bool `yaml:"pprof"`
}

// Metrics configures the Prometheus endpoint, /metrics.
type Metrics struct {
	// Public serves /metrics without a credential even when auth is on.
	// Off by default: the metrics name every project's models, providers
	// and error types. With auth on, a scraper sends the admin token or a
	// "metrics" key as a bearer token.
	Public bool `yaml:"public"`
	// MaxLabelValues is how many distinct values each label taken from
	// ingested data (model, provider, operation, error type) keeps;
	// further values are reported as "other".
	MaxLabelValues int `yaml:"max_label_values"`
}

// Ingest bounds what the receivers accept.
type Ingest struct {
	// MaxBodyBytes is the largest request body, after decompression.
	MaxBodyBytes bytesize.Size `yaml:"max_body_bytes"`
	// RetryAfter is what an overloaded receiver tells clients to wait.
	RetryAfter Duration `yaml:"retry_after"`
	// MaxInflightBytes bounds the request bodies (after decompression) all
	// receivers hold at once; a request that does not fit is refused with
	// 429 / RESOURCE_EXHAUSTED before it is read or decoded.
	MaxInflightBytes bytesize.Size `yaml:"max_inflight_bytes"`
}

// Recorder sizes the queue between receivers and the store.
type Recorder struct {
	MaxQueueItems int           `yaml:"max_queue_items"`
	MaxQueueBytes bytesize.Size `yaml:"max_queue_bytes"`
	MaxBatchItems int           `yaml:"max_batch_items"`
	// MaxQueueDelay bounds the queue by the writer's speed: no more is
	// queued than it writes in this time (see recorder.Options).
	MaxQueueDelay Duration `yaml:"max_queue_delay"`
	WriteTimeout  Duration `yaml:"write_timeout"`
}

// Store selects and tunes the storage backend.
type Store struct {
	// Driver is "duckdb" (the default, embedded) or "clickhouse".
	Driver     string     `yaml:"driver"`
	DuckDB     DuckDB     `yaml:"duckdb"`
	ClickHouse ClickHouse `yaml:"clickhouse"`
}

// DuckDB tunes the embedded store.
type DuckDB struct {
	// MemoryLimit is DuckDB's memory_limit, e.g. "256MB": it bounds the
	// database's buffers, not the whole process.
	MemoryLimit string `yaml:"memory_limit"`
	// Threads is DuckDB's thread count; 0 means one per core.
	Threads int `yaml:"threads"`
	// CheckpointThreshold is the write-ahead log size that triggers a
	// checkpoint, e.g. "256MB".
	CheckpointThreshold string `yaml:"checkpoint_threshold"`
}

// Secret is the config's name for secret.Secret: a credential that
// redacts itself wherever it is printed, logged or marshalled.
type Secret = secret.Secret

// Duration is the config's name for timeutil.Duration, the one duration
// type ("30s", "5m", "720h", "30d").
type Duration = timeutil.Duration

// Default is the configuration genscope runs with when given none.
func Default() Config {
	return Config{
		Listen:     "127.0.0.1:4318",
		GRPCListen: "127.0.0.1:4317",
		Data:       "./genscope-data",
		LogLevel:   "info",

		StateReloadInterval: Duration(5 * time.Second),
		HTTP: HTTP{
			ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:       Duration(60 * time.Second),
			WriteTimeout:      Duration(5 * time.Minute), // long model calls through the gateway
			IdleTimeout:       Duration(2 * time.Minute),
			ShutdownTimeout:   Duration(30 * time.Second),
		},
		Ingest: Ingest{
			MaxBodyBytes:     16 << 20,
			RetryAfter:       Duration(2 * time.Second),
			MaxInflightBytes: 64 << 20,
		},
		Recorder: Recorder{
			MaxQueueItems: 100_000,
			MaxQueueBytes: 64 << 20,
			MaxBatchItems: 8192,
			MaxQueueDelay: Duration(2 * time.Second),
			WriteTimeout:  Duration(30 * time.Second),
		},
		Gateway: gateway.DefaultConfig(),
		Metrics: Metrics{MaxLabelValues: 100},
		Auth:    defaultAuth(),
		Notify: Notify{Attempts: 5, AttemptTimeout: Duration(10 * time.Second), Backoff: Duration(2 * time.Second),
			SMTP: SMTP{Port: 587, TLS: "starttls"}},
		Store: Store{
			Driver: "duckdb",
			DuckDB: DuckDB{MemoryLimit: "256MB", CheckpointThreshold: "256MB"},
		},
	}
}

// Load reads a YAML file over Default: unknown keys are errors, ${VAR}
// is replaced by the environment variable VAR (an unset variable is an
// error), and the result is validated.
func Load(path string) (Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(raw, os.LookupEnv)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

var varRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse decodes raw over Default, expanding ${VAR} with lookup, and
// validates the result.
func Parse(raw []byte, lookup func(string) (string, bool)) (Config, error) {
	var missing []error
	expanded := varRef.ReplaceAllFunc(raw, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, fmt.Errorf("${%s}: environment variable is not set", name))
		}
		return []byte(v)
	})
	if len(missing) > 0 {
		return Config{}, errors.Join(missing...)
	}
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) { // an empty file means all defaults
		return Config{}, fmt.Errorf("decode: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem, each with its field path.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	checkAddr := func(field, v string, optional bool) {
		if v == "" {
			if !optional {
				bad(field, "required")
			}
			return
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			bad(field, "%q is not host:port", v)
		}
	}
	checkAddr("listen", c.Listen, false)
	checkAddr("grpc_listen", c.GRPCListen, true)
	if c.Data == "" {
		bad("data", "required")
	}
	switch {
	case (c.TLS.CertFile == "") != (c.TLS.KeyFile == ""):
		bad("tls", "cert_file and key_file go together")
	case c.TLS.SelfSigned && c.TLS.CertFile != "":
		bad("tls.self_signed", "not with cert_file and key_file")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	for _, d := range []struct {
		name string
		v    Duration
	}{
		{"http.read_header_timeout", c.HTTP.ReadHeaderTimeout}, {"http.read_timeout", c.HTTP.ReadTimeout},
		{"http.write_timeout", c.HTTP.WriteTimeout}, {"http.idle_timeout", c.HTTP.IdleTimeout},
		{"http.shutdown_timeout", c.HTTP.ShutdownTimeout}, {"ingest.retry_after", c.Ingest.RetryAfter},
		{"recorder.write_timeout", c.Recorder.WriteTimeout}, {"recorder.max_queue_delay", c.Recorder.MaxQueueDelay},
	} {
		if d.v <= 0 {
			bad(d.name, "must be positive")
		}
	}
	if c.Metrics.MaxLabelValues < 1 || c.Metrics.MaxLabelValues > 100_000 {
		bad("metrics.max_label_values", "%d is outside 1 .. 100000", c.Metrics.MaxLabelValues)
	}
	if c.Ingest.MaxBodyBytes < 1024 || c.Ingest.MaxBodyBytes > 1<<30 {
		bad("ingest.max_body_bytes", "%d is outside 1 KiB .. 1 GiB", c.Ingest.MaxBodyBytes)
	}
	if c.Ingest.MaxInflightBytes < c.Ingest.MaxBodyBytes || c.Ingest.MaxInflightBytes > 64<<30 {
		bad("ingest.max_inflight_bytes", "%d is outside max_body_bytes (%d) .. 64 GiB: a largest body must fit", c.Ingest.MaxInflightBytes, c.Ingest.MaxBodyBytes)
	}
	if c.Recorder.MaxQueueItems < 1 {
		bad("recorder.max_queue_items", "must be at least 1")
	}
	if c.Recorder.MaxQueueBytes < 1<<20 {
		bad("recorder.max_queue_bytes", "must be at least 1 MiB")
	}
	if c.Recorder.MaxBatchItems < 1 {
		bad("recorder.max_batch_items", "must be at least 1")
	}
	switch c.Store.Driver {
	case "duckdb":
	case "clickhouse":
		c.Store.ClickHouse.validate(bad)
	default:
		bad("store.driver", "%q is not a known store (duckdb, clickhouse)", c.Store.Driver)
	}
	if c.Store.DuckDB.Threads < 0 {
		bad("store.duckdb.threads", "must not be negative")
	}
	if err := c.Gateway.Validate("gateway"); err != nil {
		errs = append(errs, err)
	}
	c.validateComponents(bad)
	c.validateAlerts(bad, &errs)
	c.validateEvaluators(bad)
	c.validateAuth(bad)
	if _, err := pricing.New(c.Pricing); err != nil {
		errs = append(errs, err) // already names each field as pricing[i].field
	}
	return errors.Join(errs...)
}
