package pricing

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
)

//go:embed prices.json
var builtinJSON []byte

// Origins of a price, as Entry.Origin reports them.
const (
	OriginBuiltin = "builtin" // the embedded table
	OriginConfig  = "config"  // an Override
)

// always is the effective time of a price with no effective date: in force
// since before any call.
const always = math.MinInt64

// providerAliases maps every spelling a source uses for a provider
// (gen_ai.provider.name, the older gen_ai.system, OpenInference's
// llm.provider, LiteLLM prefixes) to the name the table uses. Azure AI
// Inference is billed like Azure OpenAI for the models both serve.
var providerAliases = map[string]string{
	"openai":             "openai",
	"azure.ai.openai":    "azure.ai.openai",
	"az.ai.openai":       "azure.ai.openai",
	"azure":              "azure.ai.openai",
	"azure_openai":       "azure.ai.openai",
	"azure-openai":       "azure.ai.openai",
	"azureopenai":        "azure.ai.openai",
	"azure.openai":       "azure.ai.openai",
	"azure.ai.inference": "azure.ai.openai",
	"az.ai.inference":    "azure.ai.openai",
	"anthropic":          "anthropic",
	"gcp.gemini":         "gcp.gemini",
	"gcp.gen_ai":         "gcp.gemini",
	"gemini":             "gcp.gemini",
	"google":             "gcp.gemini",
	"google_genai":       "gcp.gemini",
	"google.genai":       "gcp.gemini",
	"gcp.vertex_ai":      "gcp.vertex_ai",
	"vertex_ai":          "gcp.vertex_ai",
	"vertexai":           "gcp.vertex_ai",
	"vertex":             "gcp.vertex_ai",
	"mistral_ai":         "mistral_ai",
	"mistralai":          "mistral_ai",
	"mistral":            "mistral_ai",
	"aws.bedrock":        "aws.bedrock",
	"bedrock":            "aws.bedrock",
	"aws":                "aws.bedrock",
}

// canonicalProvider is the table's name for a provider name or alias.
func canonicalProvider(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if c, ok := providerAliases[p]; ok {
		return c
	}
	return p
}

// Override is one price from the configuration file: it replaces or extends
// the built-in table.
//
// Without an effective date it is the model's price at all times and
// replaces the built-in history; with one it is added to that history (in
// force from that date until a later entry), replacing a built-in price of
// the same date. Without a provider it applies to every provider. A
// provider-specific override starts from what that provider was charged
// before it, so a dated one leaves earlier calls priced as they were.
type Override struct {
	// Provider as spans report it (openai, azure.ai.openai, anthropic, ...
	// or any alias); empty for every provider.
	Provider string `yaml:"provider" json:"provider,omitempty"`
	// Model name; dated variants of it match too (see Table.Cost).
	Model string `yaml:"model" json:"model"`
	// USD per million input tokens. Required.
	InputPerMTok *float64 `yaml:"input_per_mtok" json:"input_per_mtok"`
	// USD per million cached input tokens; the input price when not set.
	CachedInputPerMTok *float64 `yaml:"cached_input_per_mtok" json:"cached_input_per_mtok,omitempty"`
	// USD per million output tokens (reasoning tokens included). Required:
	// 0 for embedding models.
	OutputPerMTok *float64 `yaml:"output_per_mtok" json:"output_per_mtok"`
	// Effective is the first day (UTC, YYYY-MM-DD) the price applies; empty
	// for always.
	Effective string `yaml:"effective" json:"effective,omitempty"`
}

// Entry is one price of the table, as listed by Entries.
type Entry struct {
	// Provider is the table's provider name; empty for a price that applies
	// to every provider (an Override without one).
	Provider string `json:"provider"`
	Model    string `json:"model"`
	// Effective is the first day (UTC, YYYY-MM-DD) the price applies; empty
	// when it always has.
	Effective          string  `json:"effective,omitempty"`
	InputPerMTok       float64 `json:"input_per_mtok"`
	CachedInputPerMTok float64 `json:"cached_input_per_mtok"`
	OutputPerMTok      float64 `json:"output_per_mtok"`
	// Origin is OriginBuiltin or OriginConfig.
	Origin string `json:"origin"`
}

// price is one price in force from a time on.
type price struct {
	from            int64 // unix seconds, or always
	in, cached, out float64
	origin          string
}

// cost prices u. Negative counts are taken as 0 and cached tokens are at
// most the input tokens, so a malformed usage never bills tokens it does
// not report.
func (p *price) cost(u genai.Usage) float64 {
	in := max(u.InputTokens, 0)
	cached := min(max(u.CachedInputTokens, 0), in)
	out := max(u.OutputTokens, 0)
	return (float64(in-cached)*p.in + float64(cached)*p.cached + float64(out)*p.out) / 1e6
}

// series is a model's price history at one provider, oldest first.
type series []price

// at is the price in force at t: the latest one effective at or before t;
// the oldest one when t precedes them all (the table knows no older price);
// the newest one when t is zero (unknown).
func (s series) at(t time.Time) *price {
	if t.IsZero() {
		return &s[len(s)-1]
	}
	sec := t.Unix()
	for i := len(s) - 1; i > 0; i-- {
		if s[i].from <= sec {
			return &s[i]
		}
	}
	return &s[0]
}

// merge adds p to s: an undated price replaces the whole history, a dated
// one replaces the price of the same date or is inserted in order.
func (s series) merge(p price) series {
	if p.from == always {
		return series{p}
	}
	i, found := slices.BinarySearchFunc(s, p.from, func(q price, from int64) int {
		switch {
		case q.from < from:
			return -1
		case q.from > from:
			return 1
		}
		return 0
	})
	if found {
		s[i] = p
		return s
	}
	return slices.Insert(s, i, p)
}

// providerSeries is a model's history at one provider.
type providerSeries struct {
	provider int
	name     string // the provider's canonical name, set at the end of New
	s        series
}

// model is everything the table knows of one model name.
type model struct {
	name string
	// byProvider holds a history per provider; the first is the one
	// registered first (the model's own vendor for built-in models) and
	// prices calls from providers without their own history.
	byProvider []providerSeries
	// any is the history set by overrides without a provider; it prices
	// calls from providers without their own history, before byProvider[0].
	any series
	// choose is whether there is more than one history to choose from.
	choose bool
}

// pick is the history that prices a call to provider id pid (-1: unknown).
func (m *model) pick(pid int) series {
	if pid >= 0 {
		for i := range m.byProvider {
			if m.byProvider[i].provider == pid {
				return m.byProvider[i].s
			}
		}
	}
	if len(m.any) > 0 {
		return m.any
	}
	return m.byProvider[0].s
}

// fallback is the history a provider without its own would get.
func (m *model) fallback() series {
	if len(m.any) > 0 {
		return m.any
	}
	if len(m.byProvider) > 0 {
		return m.byProvider[0].s
	}
	return nil
}

// Table is a versioned model price table. It is immutable after New and
// safe for concurrent use.
type Table struct {
	version   string
	source    string
	providers map[string]int    // provider name or alias -> id
	names     []string          // id -> provider name
	models    map[string]*model // by normalized name
	index     *index            // models, for Cost
}

// builtinFile is the shape of prices.json.
type builtinFile struct {
	Version string `json:"version"`
	Source  string `json:"source"`
	Models  []struct {
		Providers []string `json:"providers"`
		Models    []string `json:"models"`
		Prices    []struct {
			Effective   string   `json:"effective"`
			Input       float64  `json:"input"`
			CachedInput *float64 `json:"cached_input"`
			Output      float64  `json:"output"`
		} `json:"prices"`
	} `json:"models"`
}

// New returns the built-in price table with overrides applied. It reports
// every invalid override, each with its field path (pricing[2].model).
func New(overrides []Override) (*Table, error) {
	t := &Table{
		providers: make(map[string]int, len(providerAliases)),
		models:    make(map[string]*model),
	}
	for alias, name := range providerAliases {
		t.providers[alias] = t.providerID(name)
	}
	if err := t.loadBuiltin(builtinJSON); err != nil {
		return nil, fmt.Errorf("built-in price table: %w", err)
	}
	if err := t.applyOverrides(overrides); err != nil {
		return nil, err
	}
	if len(overrides) > 0 {
		t.version += "+config." + overridesHash(overrides)
	}
	for _, m := range t.models {
		m.choose = len(m.byProvider) > 1 || len(m.byProvider) == 1 && len(m.any) > 0
		for i := range m.byProvider {
			m.byProvider[i].name = t.names[m.byProvider[i].provider]
		}
	}
	t.index = newIndex(t.models)
	return t, nil
}

// providerID returns the id of the canonical provider name, adding it.
func (t *Table) providerID(name string) int {
	for i, n := range t.names {
		if n == name {
			return i
		}
	}
	t.names = append(t.names, name)
	t.providers[name] = len(t.names) - 1
	return len(t.names) - 1
}

// lookupProvider is the id of a provider as a span names it, -1 when the
// table has no price specific to it. It does not allocate.
func (t *Table) lookupProvider(p string) int {
	var buf [maxFastName]byte
	if id, ok := t.providers[string(lowerInto(&buf, strings.TrimSpace(p)))]; ok {
		return id
	}
	return -1
}

func (t *Table) model(name string) *model {
	m := t.models[name]
	if m == nil {
		m = &model{name: name}
		t.models[name] = m
	}
	return m
}

func (t *Table) loadBuiltin(data []byte) error {
	var f builtinFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return err
	}
	if f.Version == "" {
		return errors.New("version: required")
	}
	t.version, t.source = f.Version, f.Source
	var errs []error
	for i, g := range f.Models {
		path := fmt.Sprintf("models[%d]", i)
		if len(g.Providers) == 0 || len(g.Models) == 0 || len(g.Prices) == 0 {
			errs = append(errs, fmt.Errorf("%s: want providers, models and prices", path))
			continue
		}
		var hist series
		for j, p := range g.Prices {
			from, err := parseEffective(p.Effective)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.prices[%d].effective: %w", path, j, err))
				continue
			}
			cached := p.Input
			if p.CachedInput != nil {
				cached = *p.CachedInput
			}
			for _, v := range []float64{p.Input, cached, p.Output} {
				if err := checkPrice(v); err != nil {
					errs = append(errs, fmt.Errorf("%s.prices[%d]: %w", path, j, err))
				}
			}
			if len(hist) > 0 && hist[len(hist)-1].from >= from {
				errs = append(errs, fmt.Errorf("%s.prices[%d].effective: not after the previous price's", path, j))
			}
			hist = append(hist, price{from: from, in: p.Input, cached: cached, out: p.Output, origin: OriginBuiltin})
		}
		for _, name := range g.Models {
			key := normalizeName(name)
			if key != name {
				errs = append(errs, fmt.Errorf("%s: model %q is not in normal form %q", path, name, key))
				continue
			}
			m := t.model(key)
			for _, prov := range g.Providers {
				if canonicalProvider(prov) != prov {
					errs = append(errs, fmt.Errorf("%s: provider %q is not a canonical name", path, prov))
					continue
				}
				pid := t.providerID(prov)
				for _, ps := range m.byProvider {
					if ps.provider == pid {
						errs = append(errs, fmt.Errorf("%s: %s %s listed twice", path, prov, key))
					}
				}
				m.byProvider = append(m.byProvider, providerSeries{provider: pid, s: slices.Clone(hist)})
			}
		}
	}
	return errors.Join(errs...)
}

// parseEffective parses an effective date; empty is always.
func parseEffective(s string) (int64, error) {
	if s == "" {
		return always, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("want a date as YYYY-MM-DD, got %q", s)
	}
	return d.Unix(), nil
}

func checkPrice(v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Errorf("want a finite number, got %v", v)
	case v < 0:
		return fmt.Errorf("want a price >= 0, got %v", v)
	}
	return nil
}

// validOverride is an override checked and normalized.
type validOverride struct {
	provider string // canonical; empty for any
	model    string // normalized
	p        price
}

// validate checks every override and reports all problems at once.
func validate(overrides []Override) ([]validOverride, error) {
	var errs []error
	out := make([]validOverride, 0, len(overrides))
	type key struct {
		provider, model string
		from            int64
	}
	seen := make(map[key]int)
	for i, o := range overrides {
		path := fmt.Sprintf("pricing[%d]", i)
		ok := true
		bad := func(field string, err error) {
			errs = append(errs, fmt.Errorf("%s.%s: %w", path, field, err))
			ok = false
		}
		v := validOverride{provider: canonicalProvider(o.Provider), model: normalizeName(o.Model)}
		switch {
		case strings.TrimSpace(o.Model) == "":
			bad("model", errors.New("required"))
		case v.model == "":
			bad("model", fmt.Errorf("%q has no model name after its last '/'", o.Model))
		}
		num := func(field string, p *float64, required bool) float64 {
			if p == nil {
				if required {
					bad(field, errors.New("required (USD per million tokens; 0 when free)"))
				}
				return 0
			}
			if err := checkPrice(*p); err != nil {
				bad(field, err)
				return 0
			}
			return *p
		}
		v.p.in = num("input_per_mtok", o.InputPerMTok, true)
		v.p.out = num("output_per_mtok", o.OutputPerMTok, true)
		v.p.cached = v.p.in
		if o.CachedInputPerMTok != nil {
			v.p.cached = num("cached_input_per_mtok", o.CachedInputPerMTok, false)
		}
		from, err := parseEffective(strings.TrimSpace(o.Effective))
		if err != nil {
			bad("effective", err)
		}
		v.p.from, v.p.origin = from, OriginConfig
		if !ok {
			continue
		}
		k := key{v.provider, v.model, from}
		if j, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("%s: same provider, model and effective date as pricing[%d]", path, j))
			continue
		}
		seen[k] = i
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}

// applyOverrides validates and applies overrides: those without a provider
// first, undated before dated, so the result does not depend on their order
// in the file.
func (t *Table) applyOverrides(overrides []Override) error {
	vs, err := validate(overrides)
	if err != nil {
		return err
	}
	rank := func(v validOverride) int {
		r := 0
		if v.provider != "" {
			r += 2
		}
		if v.p.from != always {
			r++
		}
		return r
	}
	slices.SortStableFunc(vs, func(a, b validOverride) int { return rank(a) - rank(b) })
	for _, v := range vs {
		m := t.model(v.model)
		if v.provider == "" {
			if len(m.any) == 0 {
				m.any = slices.Clone(m.fallback())
			}
			m.any = m.any.merge(v.p)
			for i := range m.byProvider {
				m.byProvider[i].s = m.byProvider[i].s.merge(v.p)
			}
			continue
		}
		pid := t.providerID(v.provider)
		i := slices.IndexFunc(m.byProvider, func(ps providerSeries) bool { return ps.provider == pid })
		if i < 0 {
			m.byProvider = append(m.byProvider, providerSeries{provider: pid, s: slices.Clone(m.fallback())})
			i = len(m.byProvider) - 1
		}
		m.byProvider[i].s = m.byProvider[i].s.merge(v.p)
	}
	return nil
}

// overridesHash identifies a set of overrides in the table's version.
func overridesHash(overrides []Override) string {
	h := fnv.New32a()
	f := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprint(*p)
	}
	for _, o := range overrides {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%s\n", o.Provider, o.Model,
			f(o.InputPerMTok), f(o.CachedInputPerMTok), f(o.OutputPerMTok), o.Effective)
	}
	return fmt.Sprintf("%08x", h.Sum32())
}

// Version identifies the table: the built-in table's version, followed by
// "+config." and a hash of the overrides when there are any. A cost is
// reproducible from the version and the span.
func (t *Table) Version() string { return t.version }

// Source says where the built-in prices come from, when they were
// compiled, and what they do not model.
func (t *Table) Source() string { return t.source }

// Cost is the USD cost of a call with usage u to model at provider, made at
// time at (zero: unknown, the newest price applies); ok is false when the
// model is not in the table, never a cost of 0.
//
// The model matches its name in the table case-insensitively, after
// dropping a path prefix ("openai/gpt-4o", "models/gemini-1.5-pro") and a
// Bedrock vendor prefix ("us.anthropic."): the exact name first, else the
// longest table name it extends by date or version parts only
// ("gpt-4o-mini-2024-07-18" is gpt-4o-mini, "claude-3-5-sonnet-20241022"
// is claude-3-5-sonnet). The provider picks its own prices when the table
// has some for it; otherwise the model's list price applies, whoever
// served it (Azure OpenAI global deployments, Bedrock and Vertex AI charge
// the vendor's list price, and instrumentations often report the client
// library rather than the vendor).
//
// Cost = (input - cached) * input price + cached * cached price + output *
// output price, per million tokens. Reasoning tokens are part of the
// output tokens and are not added again. Cost does not allocate.
func (t *Table) Cost(provider, model string, at time.Time, u genai.Usage) (usd float64, ok bool) {
	m := t.index.lookup(model)
	if m == nil {
		return 0, false
	}
	pid := -1
	if m.choose {
		pid = t.providerOf(m, provider)
	}
	return m.pick(pid).at(at).cost(u), true
}

// providerOf is the id of provider for pricing m: a canonical name m has
// a history for is compared directly, anything else goes through the
// alias table.
func (t *Table) providerOf(m *model, provider string) int {
	for i := range m.byProvider {
		if m.byProvider[i].name == provider {
			return m.byProvider[i].provider
		}
	}
	return t.lookupProvider(provider)
}

// Apply sets the cost of a model call (s.IsCall); other spans have no
// cost. The response model prices the call when the span has one (it is
// the precise model; the request model may be an Azure deployment name),
// else the request model; the span's start time picks the price in force.
func (t *Table) Apply(s *genai.Span) {
	s.CostUSD, s.CostKnown = t.SpanCost(s)
	if !s.IsCall() {
		return
	}
	if v, _ := s.Attributes[CacheHitAttribute].(string); v == "hit" {
		// Answered from the gateway's cache: nothing was paid upstream;
		// what the call would have cost is what the cache saved.
		if s.CostKnown {
			s.Attributes[CacheSavedAttribute] = s.CostUSD
		}
		s.CostUSD, s.CostKnown = 0, true
	}
}

// SpanCost is what a model call cost (as Apply prices it, before any
// cache hit makes it free); other spans have no cost.
func (t *Table) SpanCost(s *genai.Span) (usd float64, ok bool) {
	if !s.IsCall() {
		return 0, false // agent runs and tool calls are never priced
	}
	name := s.ResponseModel
	if name == "" {
		name = s.RequestModel
	}
	var at time.Time
	if s.StartUnixNano != 0 {
		at = time.Unix(0, s.StartUnixNano)
	}
	return t.Cost(s.Provider, name, at, s.Usage)
}

// The gateway's cache attributes: CacheHitAttribute is "hit" on a call
// answered from the response cache, which costs nothing; the cost it
// saved is set as CacheSavedAttribute (USD).
const (
	CacheHitAttribute   = "genscope.gateway.cache"
	CacheSavedAttribute = "genscope.gateway.cache_saved_usd"
)

// Entries lists every price of the table, by model, provider and date.
func (t *Table) Entries() []Entry {
	var out []Entry
	add := func(provider, name string, s series) {
		for _, p := range s {
			e := Entry{Provider: provider, Model: name, InputPerMTok: p.in,
				CachedInputPerMTok: p.cached, OutputPerMTok: p.out, Origin: p.origin}
			if p.from != always {
				e.Effective = time.Unix(p.from, 0).UTC().Format(time.DateOnly)
			}
			out = append(out, e)
		}
	}
	for name, m := range t.models {
		add("", name, m.any)
		for _, ps := range m.byProvider {
			add(t.names[ps.provider], name, ps.s)
		}
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := strings.Compare(a.Model, b.Model); c != 0 {
			return c
		}
		if c := strings.Compare(a.Provider, b.Provider); c != 0 {
			return c
		}
		// "" (always) sorts first, then dates in order.
		return strings.Compare(a.Effective, b.Effective)
	})
	return out
}
