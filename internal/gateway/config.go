package gateway

import (
	"errors"
	"fmt"
	"github.com/genscope/genscope/internal/bytesize"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/netguard"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/quota"
	"github.com/genscope/genscope/internal/secret"
	"github.com/genscope/genscope/internal/timeutil"
)

// UpstreamPolicy is where a gateway deployment may send its key: private
// and loopback upstreams are allowed (Ollama on 127.0.0.1 is a real use),
// link-local and cloud metadata addresses, and IPv6 forms embedding them,
// never. The gateway checks it again on every connection.
var UpstreamPolicy = netguard.Policy{AllowPrivate: true}

// Config configures the OpenAI/Azure-compatible model gateway (the
// gateway: section of genscope's config file, which package config
// assembles).
type Config struct {
	// Enabled serves the gateway's endpoints on the HTTP listener.
	Enabled bool `yaml:"enabled"`
	// Capture is what is kept of a call's content: full, metadata (no
	// content) or redacted (content with e-mail addresses, phone, card and
	// IBAN numbers, keys and tokens masked).
	Capture string `yaml:"capture"`
	// RedactPatterns are regular expressions (Go syntax) masked in content
	// besides the built-in ones, when capture is redacted.
	RedactPatterns []string `yaml:"redact_patterns"`
	// RedactUpstream masks personal data (the built-in redaction patterns
	// and RedactPatterns) in a request's messages, input or prompt before
	// it goes upstream; the call is recorded with
	// genscope.gateway.redacted_upstream when anything was masked.
	RedactUpstream bool `yaml:"redact_upstream"`
	// MaxBodyBytes bounds a request body.
	MaxBodyBytes bytesize.Size `yaml:"max_body_bytes"`
	// MaxRecordBytes bounds how much of a response is kept for recording;
	// the client always gets all of it.
	MaxRecordBytes bytesize.Size `yaml:"max_record_bytes"`
	// Service is the service name the gateway's spans carry.
	Service string `yaml:"service"`
	// Deployments are the names clients use, besides the built-in
	// simulated ones (DefaultDeployments) unless BuiltinDeployments is
	// false. A deployment named like a built-in one replaces it.
	Deployments []Deployment `yaml:"deployments"`
	// BuiltinDeployments serves the built-in simulated gpt-4o,
	// gpt-4o-mini and text-embedding-3-small beside Deployments (default
	// true); false serves Deployments alone.
	BuiltinDeployments bool `yaml:"builtin_deployments"`
	// Routes are names clients call that map to several deployments
	// (or other routes), tried by a strategy with retries and fallbacks.
	Routes []Route `yaml:"routes"`
	// Cache is the response cache, used by the routes and deployments
	// that set cache: true (or calls that send x-genscope-cache: true).
	Cache Cache `yaml:"cache"`
	// Limits are the rate limits and spend budgets of projects and end
	// users (package quota); gateway keys carry their own.
	Limits []quota.Rule `yaml:"limits"`
}

// Cache configures the gateway's exact-match response cache, kept in the
// data directory (gateway-cache/).
type Cache struct {
	// Enabled turns the cache on (default false).
	Enabled bool `yaml:"enabled"`
	// TTL is how long an answer is served from the cache; default 1h.
	TTL timeutil.Duration `yaml:"ttl"`
	// MaxBytes bounds the cache's files; least recently used answers go
	// first. Default 256 MiB.
	MaxBytes bytesize.Size `yaml:"max_bytes"`
}

// Route is a name clients call (as a model or Azure deployment) that
// maps to several targets: tried in order (fallback), one picked by
// weight (loadbalance), or picked by weight with the others as fallbacks
// (loadbalance-fallback).
type Route struct {
	// Name is what clients call; it may not be a deployment's name.
	Name string `yaml:"name"`
	// Strategy is fallback (default), loadbalance or loadbalance-fallback.
	Strategy string `yaml:"strategy"`
	// Targets are deployments or other routes.
	Targets []Target `yaml:"targets"`
	// Retries are the further attempts on the same target after a
	// failure worth retrying (429, 408, 5xx, timeout, connection failure).
	Retries int `yaml:"retries"`
	// RetryBackoff is the first wait before a retry (doubled each time,
	// with jitter; an upstream's Retry-After replaces it); default 250ms.
	RetryBackoff timeutil.Duration `yaml:"retry_backoff"`
	// MaxRetryTime bounds the time from the call's start within which a
	// new attempt may start (waits included); default 1m.
	MaxRetryTime timeutil.Duration `yaml:"max_retry_time"`
	// CooldownAfter consecutive failures of a target take it out of every
	// route for Cooldown; defaults 3 and 30s.
	CooldownAfter int               `yaml:"cooldown_after"`
	Cooldown      timeutil.Duration `yaml:"cooldown"`
	// Cache serves repeated calls of the route from the response cache.
	Cache bool `yaml:"cache"`
}

// Target is one of a route's targets.
type Target struct {
	// Deployment names a deployment, or another route.
	Deployment string `yaml:"deployment"`
	// Weight is the target's share of a loadbalance route's calls
	// (default 1; 0: only as a fallback of loadbalance-fallback).
	Weight *int `yaml:"weight"`
}

// Route strategies.
const (
	StrategyFallback            = "fallback"
	StrategyLoadbalance         = "loadbalance"
	StrategyLoadbalanceFallback = "loadbalance-fallback"
)

// WithDefaults fills a route's unset fields.
func (r Route) WithDefaults() Route {
	if r.Strategy == "" {
		r.Strategy = StrategyFallback
	}
	if r.RetryBackoff <= 0 {
		r.RetryBackoff = timeutil.Duration(250 * time.Millisecond)
	}
	if r.MaxRetryTime <= 0 {
		r.MaxRetryTime = timeutil.Duration(time.Minute)
	}
	if r.CooldownAfter <= 0 {
		r.CooldownAfter = 3
	}
	if r.Cooldown <= 0 {
		r.Cooldown = timeutil.Duration(30 * time.Second)
	}
	return r
}

// weight is the target's weight (default 1).
func (t Target) weight() int {
	if t.Weight == nil {
		return 1
	}
	return *t.Weight
}

// AllDeployments are the deployments the gateway serves: Deployments,
// then the built-in ones they do not name (when BuiltinDeployments).
func (g Config) AllDeployments() []Deployment {
	out := append([]Deployment(nil), g.Deployments...)
	if !g.BuiltinDeployments {
		return out
	}
	named := map[string]bool{}
	for _, d := range g.Deployments {
		named[d.Name] = true
	}
	for _, d := range DefaultDeployments() {
		if !named[d.Name] {
			out = append(out, d)
		}
	}
	return out
}

// Deployment is one name clients call, mapped to an upstream.
type Deployment struct {
	// Name is what clients use: the model field of an OpenAI request, or
	// the deployment in an Azure OpenAI path.
	Name string `yaml:"name"`
	// Type is openai, azure-openai, openai-compatible or simulated.
	Type string `yaml:"type"`
	// Model is the upstream's model name (openai and openai-compatible:
	// written into the request's model field; simulated: the family it
	// imitates). Defaults to Name.
	Model string `yaml:"model"`
	// Provider is the gen_ai provider the calls are recorded with;
	// defaults by type (openai, azure.ai.openai, openai, azure.ai.openai).
	Provider string `yaml:"provider"`
	// BaseURL: openai, default https://api.openai.com/v1;
	// openai-compatible, required (e.g. http://127.0.0.1:11434/v1 for
	// Ollama); azure-openai, the resource endpoint
	// (https://NAME.openai.azure.com).
	BaseURL string `yaml:"base_url"`
	// APIKey is the upstream's credential; when empty the client's own
	// Authorization or api-key header is passed through.
	APIKey secret.Secret `yaml:"api_key"`
	// APIVersion (azure-openai) is used when the client sends none.
	APIVersion string `yaml:"api_version"`
	// AzureDeployment (azure-openai) is the deployment's name in Azure;
	// defaults to Name.
	AzureDeployment string `yaml:"azure_deployment"`
	// Timeout bounds a whole call, streaming included.
	Timeout timeutil.Duration `yaml:"timeout"`
	// ResponseHeaderTimeout bounds the wait for the upstream's answer to
	// begin (a non-streamed call answers only when it is complete).
	ResponseHeaderTimeout timeutil.Duration `yaml:"response_header_timeout"`
	// StreamIdleTimeout bounds the gap between two chunks of a stream.
	StreamIdleTimeout timeutil.Duration `yaml:"stream_idle_timeout"`
	// Simulated tunes a simulated deployment.
	Simulated Simulated `yaml:"simulated"`
	// Cache serves repeated calls from the response cache.
	Cache bool `yaml:"cache"`
}

// Simulated tunes the simulated deployment's behaviour. Zero values take
// the model family's defaults.
type Simulated struct {
	ContextWindow     int               `yaml:"context_window"`
	TokensPerMinute   int               `yaml:"tokens_per_minute"`
	RequestsPerMinute int               `yaml:"requests_per_minute"`
	TimeToFirstToken  timeutil.Duration `yaml:"time_to_first_token"`
	TimePerToken      timeutil.Duration `yaml:"time_per_token"`
	Jitter            *float64          `yaml:"jitter"`
	// NoLatency answers at once (tests and benchmarks).
	NoLatency bool `yaml:"no_latency"`
}

// Deployment types.
const (
	DeploymentOpenAI           = "openai"
	DeploymentAzureOpenAI      = "azure-openai"
	DeploymentOpenAICompatible = "openai-compatible"
	DeploymentSimulated        = "simulated"
)

// DefaultDeployments are the built-in simulated deployments
// (Config.BuiltinDeployments).
func DefaultDeployments() []Deployment {
	return []Deployment{
		{Name: "gpt-4o", Type: DeploymentSimulated},
		{Name: "gpt-4o-mini", Type: DeploymentSimulated},
		{Name: "text-embedding-3-small", Type: DeploymentSimulated},
	}
}

// DefaultConfig is the gateway's configuration when the file sets none.
func DefaultConfig() Config {
	return Config{
		Enabled:        true,
		Capture:        "full",
		MaxBodyBytes:   32 << 20,
		MaxRecordBytes: 4 << 20,
		Service:        "genscope-gateway",
		Cache:          Cache{TTL: timeutil.Duration(time.Hour), MaxBytes: 256 << 20},

		BuiltinDeployments: true,
	}
}

// WithDefaults fills a deployment's unset fields.
func (d Deployment) WithDefaults() Deployment {
	if d.Model == "" {
		d.Model = d.Name
	}
	if d.Provider == "" {
		switch d.Type {
		case DeploymentAzureOpenAI, DeploymentSimulated:
			d.Provider = "azure.ai.openai"
		default:
			d.Provider = "openai"
		}
	}
	if d.Type == DeploymentOpenAI && d.BaseURL == "" {
		d.BaseURL = "https://api.openai.com/v1"
	}
	if d.Type == DeploymentAzureOpenAI {
		if d.AzureDeployment == "" {
			d.AzureDeployment = d.Name
		}
		if d.APIVersion == "" {
			d.APIVersion = "2024-10-21"
		}
	}
	if d.Timeout <= 0 {
		d.Timeout = timeutil.Duration(10 * time.Minute)
	}
	if d.ResponseHeaderTimeout <= 0 {
		d.ResponseHeaderTimeout = timeutil.Duration(5 * time.Minute)
	}
	if d.StreamIdleTimeout <= 0 {
		d.StreamIdleTimeout = timeutil.Duration(2 * time.Minute)
	}
	return d
}

// Validate reports every problem of the configuration, each naming its
// field under prefix (e.g. "gateway").
func (g Config) Validate(prefix string) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, field, fmt.Sprintf(format, args...)))
	}
	switch g.Capture {
	case privacy.Full, privacy.Metadata, privacy.Redacted:
	default:
		bad("capture", "%q is not one of full, metadata, redacted", g.Capture)
	}
	for i, p := range g.RedactPatterns {
		if _, err := regexp.Compile(p); err != nil {
			bad(fmt.Sprintf("redact_patterns[%d]", i), "%v", err)
		}
	}
	if g.MaxBodyBytes < 1024 || g.MaxBodyBytes > 1<<30 {
		bad("max_body_bytes", "%d is outside 1 KiB .. 1 GiB", g.MaxBodyBytes)
	}
	if g.MaxRecordBytes < 0 {
		bad("max_record_bytes", "must not be negative")
	}
	if g.Enabled && !g.BuiltinDeployments && len(g.Deployments) == 0 {
		bad("deployments", "none: name some, or keep builtin_deployments: true")
	}
	seen := map[string]bool{}
	for i, d := range g.Deployments {
		f := fmt.Sprintf("deployments[%d]", i)
		if d.Name == "" {
			bad(f+".name", "required")
		} else if seen[d.Name] {
			bad(f+".name", "%q is defined twice", d.Name)
		}
		seen[d.Name] = true
		if strings.ContainsAny(d.Name, "/?#") {
			bad(f+".name", "%q may not contain / ? or #", d.Name)
		}
		switch d.Type {
		case DeploymentOpenAI, DeploymentAzureOpenAI, DeploymentOpenAICompatible, DeploymentSimulated:
		default:
			bad(f+".type", "%q is not one of openai, azure-openai, openai-compatible, simulated", d.Type)
		}
		needURL := d.Type == DeploymentOpenAICompatible || d.Type == DeploymentAzureOpenAI
		if d.BaseURL == "" && needURL {
			bad(f+".base_url", "required for type %s", d.Type)
		}
		if d.BaseURL != "" {
			u, err := url.Parse(d.BaseURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				bad(f+".base_url", "%q is not an http(s) URL", d.BaseURL)
			} else if u.User != nil {
				bad(f+".base_url", "credentials belong in api_key, not in the URL")
			} else if err := UpstreamPolicy.Host(u.Hostname()); err != nil {
				bad(f+".base_url", "%v: the deployment's key would be sent there", err)
			}
			if d.Type == DeploymentSimulated {
				bad(f+".base_url", "a simulated deployment has no upstream")
			}
		}
		for _, t := range []struct {
			name string
			v    timeutil.Duration
		}{{"timeout", d.Timeout}, {"response_header_timeout", d.ResponseHeaderTimeout}, {"stream_idle_timeout", d.StreamIdleTimeout}} {
			if t.v < 0 {
				bad(f+"."+t.name, "must not be negative")
			}
		}
		s := d.Simulated
		if s != (Simulated{}) && d.Type != DeploymentSimulated {
			bad(f+".simulated", "only for type simulated")
		}
		if s.ContextWindow < 0 || s.TokensPerMinute < 0 || s.RequestsPerMinute < 0 || s.TimeToFirstToken < 0 || s.TimePerToken < 0 {
			bad(f+".simulated", "values must not be negative")
		}
		if s.Jitter != nil && (*s.Jitter < 0 || *s.Jitter > 1) {
			bad(f+".simulated.jitter", "must be within 0 .. 1")
		}
	}
	if g.Cache.TTL < 0 {
		bad("cache.ttl", "must not be negative")
	}
	if g.Cache.MaxBytes < 0 {
		bad("cache.max_bytes", "must not be negative")
	}
	errs = append(errs, validateRoutes(prefix, g.Routes, g.AllDeployments())...)
	if err := quota.ValidateRules(prefix+".limits", g.Limits); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateRoutes reports every problem of the routes: names, strategies,
// targets that name nothing, weights, retry settings and cycles.
func validateRoutes(prefix string, routes []Route, deps []Deployment) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, field, fmt.Sprintf(format, args...)))
	}
	isDep := map[string]bool{}
	for _, d := range deps {
		isDep[d.Name] = true
	}
	byName := map[string]Route{}
	for i, r := range routes {
		f := fmt.Sprintf("routes[%d]", i)
		switch {
		case r.Name == "":
			bad(f+".name", "required")
		case isDep[r.Name]:
			bad(f+".name", "%q is a deployment's name", r.Name)
		case byName[r.Name].Name != "":
			bad(f+".name", "%q is defined twice", r.Name)
		case strings.ContainsAny(r.Name, "/?#"):
			bad(f+".name", "%q may not contain / ? or #", r.Name)
		default:
			byName[r.Name] = r
		}
	}
	for i, r := range routes {
		f := fmt.Sprintf("routes[%d]", i)
		lb := r.Strategy == StrategyLoadbalance || r.Strategy == StrategyLoadbalanceFallback
		switch r.Strategy {
		case "", StrategyFallback, StrategyLoadbalance, StrategyLoadbalanceFallback:
		default:
			bad(f+".strategy", "%q is not one of fallback, loadbalance, loadbalance-fallback", r.Strategy)
		}
		if len(r.Targets) == 0 {
			bad(f+".targets", "none: name at least one deployment")
		}
		total := 0
		seen := map[string]bool{}
		for j, t := range r.Targets {
			tf := fmt.Sprintf("%s.targets[%d]", f, j)
			switch {
			case t.Deployment == "":
				bad(tf+".deployment", "required")
			case t.Deployment == r.Name:
				bad(tf+".deployment", "the route names itself")
			case !isDep[t.Deployment] && byName[t.Deployment].Name == "":
				bad(tf+".deployment", "no deployment or route is named %q", t.Deployment)
			case seen[t.Deployment]:
				bad(tf+".deployment", "%q is named twice", t.Deployment)
			}
			seen[t.Deployment] = true
			if t.Weight != nil && !lb {
				bad(tf+".weight", "weights are for the loadbalance strategies")
			}
			if t.weight() < 0 || t.weight() > 1_000_000 {
				bad(tf+".weight", "%d is outside 0 .. 1000000", t.weight())
			}
			total += max(t.weight(), 0)
		}
		if lb && len(r.Targets) > 0 && total == 0 {
			bad(f+".targets", "every weight is 0: no target would be picked")
		}
		if r.Retries < 0 || r.Retries > 10 {
			bad(f+".retries", "%d is outside 0 .. 10", r.Retries)
		}
		if r.CooldownAfter < 0 {
			bad(f+".cooldown_after", "must not be negative")
		}
		for _, t := range []struct {
			name string
			v    timeutil.Duration
		}{{"retry_backoff", r.RetryBackoff}, {"max_retry_time", r.MaxRetryTime}, {"cooldown", r.Cooldown}} {
			if t.v < 0 {
				bad(f+"."+t.name, "must not be negative")
			}
		}
	}
	// A route that reaches itself through other routes never resolves.
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) bool
	visit = func(name string) bool {
		switch state[name] {
		case visiting:
			at := slices.Index(path, name)
			bad("routes", "cycle: %s", strings.Join(append(slices.Clone(path[at:]), name), " → "))
			return false
		case done:
			return true
		}
		state[name] = visiting
		path = append(path, name)
		ok := true
		for _, t := range byName[name].Targets {
			if byName[t.Deployment].Name != "" && !visit(t.Deployment) {
				ok = false
				break
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return ok
	}
	for _, r := range routes {
		if byName[r.Name].Name != "" {
			visit(r.Name)
		}
	}
	return errs
}
