package pricing

import (
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
)

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr(v float64) *float64 { return &v }

// million is a usage whose cost is the sum of the input and output prices.
var million = genai.Usage{InputTokens: 1_000_000, OutputTokens: 1_000_000}

func newTable(t testing.TB, overrides ...Override) *Table {
	t.Helper()
	tab, err := New(overrides)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tab
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestCostMatching(t *testing.T) {
	tab := newTable(t)
	now := day("2026-06-01")
	tests := []struct {
		provider, model string
		at              time.Time
		want            float64 // input + output price; -1: unknown
	}{
		// Exact names.
		{"openai", "gpt-4o", now, 12.5},
		{"openai", "gpt-4o-mini", now, 0.75},
		{"openai", "gpt-4.1", now, 10},
		{"openai", "gpt-4.1-nano", now, 0.5},
		{"anthropic", "claude-opus-4-6", now, 30},
		{"mistral_ai", "mistral-embed", now, 0.1},
		// Dated and versioned variants.
		{"openai", "gpt-4o-2024-11-20", now, 12.5},
		{"openai", "gpt-4o-mini-2024-07-18", now, 0.75}, // gpt-4o-mini, not gpt-4o
		{"openai", "gpt-4.1-mini-2025-04-14", now, 2},
		{"openai", "gpt-4-0613", now, 90},
		{"openai", "gpt-4-turbo-2024-04-09", now, 40},
		{"openai", "gpt-4-1106-preview", now, 40}, // listed: not gpt-4
		{"openai", "o3-mini-2025-01-31", now, 5.5},
		{"openai", "o4-mini-2025-04-16", now, 5.5},
		{"openai", "o1-preview", now, 75},
		{"openai", "gpt-5-2025-08-07", now, 11.25},
		{"openai", "gpt-5-mini-2025-08-07", now, 2.25},
		{"openai", "gpt-5.1-2025-11-13", now, 11.25},
		{"azure.ai.openai", "gpt-35-turbo-0125", now, 2},
		{"anthropic", "claude-3-5-sonnet-20241022", now, 18},
		{"anthropic", "claude-3-5-sonnet-latest", now, 18},
		{"anthropic", "claude-3-5-haiku-20241022", now, 4.8},
		{"anthropic", "claude-sonnet-4-20250514", now, 18},
		{"anthropic", "claude-sonnet-4-0", now, 18},
		{"anthropic", "claude-opus-4-1-20250805", now, 90},
		{"anthropic", "claude-opus-4-5-20251101", now, 30}, // not claude-opus-4
		{"gcp.gemini", "gemini-2.0-flash-001", now, 0.5},
		{"gcp.gemini", "gemini-1.5-flash-8b-001", now, 0.1875},
		{"gcp.gemini", "gemini-2.5-pro-preview-05-06", now, 11.25},
		{"gcp.gemini", "gemini-1.5-pro-latest", now, 6.25},
		{"mistral_ai", "mistral-large-2411", now, 8},
		{"mistral_ai", "mistral-large-latest", now, 8},
		{"mistral_ai", "mistral-small-2503", now, 0.4},
		{"mistral_ai", "codestral-2501", now, 1.2},
		// Prefixes, case and spaces.
		{"openai", "openai/gpt-4o", now, 12.5},
		{"azure", "azure/gpt-4o-2024-08-06", now, 12.5},
		{"OpenAI", "OpenAI/GPT-4O-Mini", now, 0.75},
		{"openai", "  gpt-4o\t", now, 12.5},
		{"gcp.gemini", "models/gemini-1.5-pro-002", now, 6.25},
		{"gcp.vertex_ai", "projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash-001", now, 0.5},
		{"gcp.vertex_ai", "claude-3-5-sonnet-v2@20241022", now, 18},
		{"aws.bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", now, 18},
		{"aws.bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", now, 18},
		{"aws.bedrock", "mistral.mistral-large-2407-v1:0", day("2024-08-01"), 12},
		// Effective dates.
		{"openai", "gpt-4o", day("2024-07-01"), 20},
		{"openai", "gpt-4o", day("2024-10-02"), 12.5},
		{"openai", "gpt-4o", time.Time{}, 12.5},     // unknown time: newest
		{"openai", "gpt-4o", day("2020-01-01"), 20}, // before the table: oldest
		{"openai", "gpt-4o-2024-05-13", now, 20},    // its own snapshot price
		{"openai", "gpt-4o-2024-08-06", day("2024-09-01"), 12.5},
		{"openai", "o3", day("2025-05-01"), 50},
		{"openai", "o3", now, 10},
		{"openai", "o1-mini", day("2024-10-01"), 15},
		{"openai", "o1-mini", now, 5.5},
		{"gcp.gemini", "gemini-1.5-pro", day("2024-06-01"), 14},
		{"gcp.gemini", "gemini-1.5-pro", now, 6.25},
		{"mistral_ai", "mistral-small-latest", day("2024-12-01"), 0.8},
		// Another provider serving the model: its list price.
		{"openai", "claude-3-5-sonnet", now, 18},
		{"", "gpt-4o", now, 12.5},
		{"some-proxy", "gemini-2.5-flash", now, 2.8},
		// Unknown: never 0.
		{"openai", "", now, -1},
		{"ollama", "llama3", now, -1},
		{"azure.ai.openai", "my-gpt4o-deployment", now, -1},
		{"openai", "gpt-4o-realtime-preview-2024-12-17", now, -1}, // not gpt-4o
		{"openai", "gpt-4o-", now, -1},
		{"openai", "gpt-4.5-preview", now, -1}, // not gpt-4
		{"openai", "gpt-5.3", now, -1},         // not gpt-5
		{"anthropic", "claude-opus-4-9", now, -1},
		{"openai", "text-embedding-3", now, -1},
		{"openai", "openai/", now, -1},
	}
	for _, tt := range tests {
		got, ok := tab.Cost(tt.provider, tt.model, tt.at, million)
		if tt.want < 0 {
			if ok {
				t.Errorf("Cost(%q, %q, %v) = %v, want unknown", tt.provider, tt.model, tt.at, got)
			}
			continue
		}
		if !ok || !near(got, tt.want) {
			t.Errorf("Cost(%q, %q, %v) = %v, %v; want %v", tt.provider, tt.model, tt.at.Format(time.DateOnly), got, ok, tt.want)
		}
	}
}

func TestCostUsage(t *testing.T) {
	tab := newTable(t)
	now := day("2026-06-01")
	tests := []struct {
		name, provider, model string
		u                     genai.Usage
		want                  float64
	}{
		{"cached", "openai", "gpt-4o", genai.Usage{InputTokens: 1000, CachedInputTokens: 400, OutputTokens: 200},
			(600*2.5 + 400*1.25 + 200*10) / 1e6},
		{"cache read", "anthropic", "claude-3-5-sonnet-20241022", genai.Usage{InputTokens: 10000, CachedInputTokens: 8000, OutputTokens: 500},
			(2000*3 + 8000*0.3 + 500*15) / 1e6},
		{"no cache discount", "openai", "gpt-3.5-turbo", genai.Usage{InputTokens: 1000, CachedInputTokens: 1000},
			1000 * 0.5 / 1e6},
		{"reasoning is output", "openai", "o3", genai.Usage{InputTokens: 100, OutputTokens: 1000, ReasoningTokens: 800},
			(100*2 + 1000*8) / 1e6},
		{"embeddings", "openai", "text-embedding-3-large", genai.Usage{InputTokens: 2_000_000},
			0.26},
		{"zero usage", "openai", "gpt-4o", genai.Usage{}, 0},
		{"cached over input", "openai", "gpt-4o", genai.Usage{InputTokens: 100, CachedInputTokens: 500},
			100 * 1.25 / 1e6},
		{"negative", "openai", "gpt-4o", genai.Usage{InputTokens: -5, CachedInputTokens: -1, OutputTokens: -7}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tab.Cost(tt.provider, tt.model, now, tt.u)
			if !ok || !near(got, tt.want) {
				t.Errorf("Cost = %v, %v; want %v", got, ok, tt.want)
			}
		})
	}
}

func TestOverrides(t *testing.T) {
	now := day("2026-06-01")
	type check struct {
		provider, model string
		at              time.Time
		want            float64 // -1: unknown
	}
	tests := []struct {
		name      string
		overrides []Override
		checks    []check
	}{
		{
			name:      "replace for every provider",
			overrides: []Override{{Model: "gpt-4o", InputPerMTok: ptr(1), OutputPerMTok: ptr(2)}},
			checks: []check{
				{"openai", "gpt-4o", now, 3},
				{"azure.ai.openai", "gpt-4o-2024-11-20", now, 3},
				{"", "gpt-4o", day("2024-06-01"), 3}, // undated: the whole history
				{"openai", "gpt-4o-mini", now, 0.75},
				{"openai", "gpt-4o-2024-05-13", now, 20}, // a longer name still wins
			},
		},
		{
			name: "replace for one provider, by alias",
			overrides: []Override{{Provider: "Azure", Model: "GPT-4o",
				InputPerMTok: ptr(3), CachedInputPerMTok: ptr(0), OutputPerMTok: ptr(4)}},
			checks: []check{
				{"azure.ai.openai", "gpt-4o", now, 7},
				{"az.ai.openai", "gpt-4o-2024-11-20", now, 7},
				{"openai", "gpt-4o", now, 12.5},
				{"", "gpt-4o", now, 12.5},
			},
		},
		{
			name: "add models",
			overrides: []Override{
				{Provider: "ollama", Model: "llama3", InputPerMTok: ptr(0), OutputPerMTok: ptr(0)},
				{Model: "my-model", InputPerMTok: ptr(1), OutputPerMTok: ptr(1)},
			},
			checks: []check{
				{"ollama", "llama3", now, 0}, // known and free
				{"openai", "llama3", now, 0},
				{"ollama", "llama3.1", now, -1},
				{"", "my-model", now, 2},
				{"anthropic", "My-Model-20250101", now, 2},
			},
		},
		{
			name:      "dated price added to the history",
			overrides: []Override{{Model: "gpt-4o", Effective: "2027-01-01", InputPerMTok: ptr(1), OutputPerMTok: ptr(1)}},
			checks: []check{
				{"openai", "gpt-4o", day("2024-06-01"), 20},
				{"azure.ai.openai", "gpt-4o", now, 12.5},
				{"openai", "gpt-4o", day("2026-12-31").Add(23 * time.Hour), 12.5},
				{"openai", "gpt-4o", day("2027-01-01"), 2},
				{"azure.ai.openai", "gpt-4o", day("2027-02-01"), 2},
				{"unknown", "gpt-4o", day("2027-02-01"), 2},
			},
		},
		{
			name: "dated price replaces the built-in one of its date",
			overrides: []Override{{Provider: "openai", Model: "o3", Effective: "2025-06-10",
				InputPerMTok: ptr(1), OutputPerMTok: ptr(1)}},
			checks: []check{
				{"openai", "o3", now, 2},
				{"openai", "o3", day("2025-05-01"), 50},
				{"azure.ai.openai", "o3", now, 10},
			},
		},
		{
			name: "new provider history starts from the list price",
			overrides: []Override{{Provider: "azure.ai.inference", Model: "mistral-large", Effective: "2026-01-01",
				InputPerMTok: ptr(1), OutputPerMTok: ptr(1)}},
			checks: []check{
				{"azure.ai.openai", "mistral-large-2411", day("2025-06-01"), 8},
				{"azure.ai.openai", "mistral-large-2411", now, 2},
				{"mistral_ai", "mistral-large-2411", now, 8},
			},
		},
		{
			name: "provider-specific beats any-provider, whatever the order",
			overrides: []Override{
				{Provider: "openai", Model: "gpt-4.1", InputPerMTok: ptr(5), OutputPerMTok: ptr(5)},
				{Model: "gpt-4.1", InputPerMTok: ptr(1), OutputPerMTok: ptr(1)},
			},
			checks: []check{
				{"openai", "gpt-4.1", now, 10},
				{"azure.ai.openai", "gpt-4.1", now, 2},
				{"x", "gpt-4.1", now, 2},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := newTable(t, tt.overrides...)
			for _, c := range tt.checks {
				got, ok := tab.Cost(c.provider, c.model, c.at, million)
				if c.want < 0 {
					if ok {
						t.Errorf("Cost(%q, %q) = %v, want unknown", c.provider, c.model, got)
					}
					continue
				}
				if !ok || !near(got, c.want) {
					t.Errorf("Cost(%q, %q, %s) = %v, %v; want %v", c.provider, c.model, c.at.Format(time.RFC3339), got, ok, c.want)
				}
			}
			// Overriding leaves the built-in table alone.
			if got, _ := newTable(t).Cost("openai", "gpt-4o", now, million); !near(got, 12.5) {
				t.Errorf("built-in gpt-4o = %v after overrides", got)
			}
		})
	}
}

func TestOverrideCachedDefaultsToInput(t *testing.T) {
	tab := newTable(t, Override{Model: "m", InputPerMTok: ptr(2), OutputPerMTok: ptr(0)})
	got, ok := tab.Cost("", "m", time.Time{}, genai.Usage{InputTokens: 1_000_000, CachedInputTokens: 500_000})
	if !ok || !near(got, 2) {
		t.Errorf("Cost = %v, %v; want 2", got, ok)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name      string
		overrides []Override
		want      []string
	}{
		{"empty", []Override{{}}, []string{
			"pricing[0].model: required",
			"pricing[0].input_per_mtok: required",
			"pricing[0].output_per_mtok: required",
		}},
		{"bad values", []Override{
			{Model: "ok", InputPerMTok: ptr(1), OutputPerMTok: ptr(1)},
			{Model: "openai/", InputPerMTok: ptr(-1), CachedInputPerMTok: ptr(math.NaN()), OutputPerMTok: ptr(math.Inf(1)), Effective: "2025/01/01"},
		}, []string{
			`pricing[1].model: "openai/" has no model name`,
			"pricing[1].input_per_mtok: want a price >= 0, got -1",
			"pricing[1].cached_input_per_mtok: want a finite number, got NaN",
			"pricing[1].output_per_mtok: want a finite number, got +Inf",
			`pricing[1].effective: want a date as YYYY-MM-DD, got "2025/01/01"`,
		}},
		{"duplicate", []Override{
			{Provider: "azure", Model: "gpt-4o", InputPerMTok: ptr(1), OutputPerMTok: ptr(1), Effective: "2025-01-01"},
			{Provider: "openai", Model: "gpt-4o", InputPerMTok: ptr(1), OutputPerMTok: ptr(1), Effective: "2025-01-01"},
			{Provider: "azure.ai.openai", Model: "GPT-4o", InputPerMTok: ptr(2), OutputPerMTok: ptr(2), Effective: "2025-01-01"},
		}, []string{
			"pricing[2]: same provider, model and effective date as pricing[0]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := New(tt.overrides)
			if err == nil || tab != nil {
				t.Fatalf("New = %v, %v; want an error", tab, err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(lines), len(tt.want), err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			var joined interface{ Unwrap() []error }
			if !errors.As(err, &joined) {
				t.Errorf("error is not an errors.Join: %T", err)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	base := newTable(t).Version()
	if base == "" || strings.Contains(base, "+") {
		t.Fatalf("built-in version = %q", base)
	}
	a := newTable(t, Override{Model: "x", InputPerMTok: ptr(1), OutputPerMTok: ptr(1)}).Version()
	b := newTable(t, Override{Model: "x", InputPerMTok: ptr(2), OutputPerMTok: ptr(1)}).Version()
	if !strings.HasPrefix(a, base+"+config.") || a == b {
		t.Errorf("versions with overrides: %q, %q (base %q)", a, b, base)
	}
	if newTable(t).Source() == "" {
		t.Error("no source")
	}
}

func TestApply(t *testing.T) {
	tab := newTable(t)
	start := day("2025-05-01").UnixNano()
	tests := []struct {
		name      string
		span      genai.Span
		wantKnown bool
		want      float64
	}{
		{"response model wins", genai.Span{Operation: "chat", Provider: "azure.ai.openai",
			RequestModel: "my-deployment", ResponseModel: "gpt-4o-2024-08-06", Usage: million}, true, 12.5},
		{"deployment name only", genai.Span{Operation: "chat", Provider: "azure.ai.openai",
			RequestModel: "my-deployment", Usage: million}, false, 0},
		{"request model", genai.Span{Operation: "chat", Provider: "openai",
			RequestModel: "gpt-4o-mini", Usage: million}, true, 0.75},
		{"unknown response model", genai.Span{Operation: "chat", Provider: "openai",
			RequestModel: "gpt-4o", ResponseModel: "llama3", Usage: million}, false, 0},
		{"start time picks the price", genai.Span{Operation: "chat", Provider: "openai",
			RequestModel: "o3", StartUnixNano: start, Usage: million}, true, 50},
		{"no model", genai.Span{Operation: "execute_tool"}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.span
			s.CostUSD, s.CostKnown = 99, true // stale values are replaced
			tab.Apply(&s)
			if s.CostKnown != tt.wantKnown || !near(s.CostUSD, tt.want) {
				t.Errorf("cost = %v, known %v; want %v, %v", s.CostUSD, s.CostKnown, tt.want, tt.wantKnown)
			}
		})
	}
	t.Run("not GenAI", func(t *testing.T) {
		s := genai.Span{Name: "GET /", RequestModel: "gpt-4o", Usage: million}
		tab.Apply(&s)
		if s.CostKnown || s.CostUSD != 0 {
			t.Errorf("non-GenAI span got a cost: %v", s.CostUSD)
		}
	})
	t.Run("gateway cache hit", func(t *testing.T) {
		s := genai.Span{Operation: "chat", Provider: "openai", RequestModel: "gpt-4o-mini", Usage: million,
			Attributes: map[string]any{CacheHitAttribute: "hit"}}
		tab.Apply(&s)
		if !s.CostKnown || s.CostUSD != 0 || !near(s.Attributes[CacheSavedAttribute].(float64), 0.75) {
			t.Errorf("hit: cost %v known %v, saved %v", s.CostUSD, s.CostKnown, s.Attributes[CacheSavedAttribute])
		}
		s = genai.Span{Operation: "chat", Provider: "openai", RequestModel: "gpt-4o-mini", Usage: million,
			Attributes: map[string]any{CacheHitAttribute: "miss"}}
		if tab.Apply(&s); !near(s.CostUSD, 0.75) || s.Attributes[CacheSavedAttribute] != nil {
			t.Errorf("miss: cost %v, %v", s.CostUSD, s.Attributes)
		}
	})
}

func TestEntries(t *testing.T) {
	tab := newTable(t, Override{Provider: "ollama", Model: "llama3", InputPerMTok: ptr(0), OutputPerMTok: ptr(0)})
	entries := tab.Entries()
	type key struct{ provider, model, effective string }
	seen := map[key]bool{}
	var sawConfig, sawAzure bool
	for i, e := range entries {
		k := key{e.Provider, e.Model, e.Effective}
		if seen[k] {
			t.Errorf("duplicate entry %+v", e)
		}
		seen[k] = true
		if i > 0 {
			p := entries[i-1]
			if p.Model > e.Model || p.Model == e.Model && p.Provider > e.Provider {
				t.Errorf("entries not sorted at %d: %+v after %+v", i, e, p)
			}
		}
		if e.InputPerMTok < 0 || e.OutputPerMTok < 0 || e.CachedInputPerMTok < 0 {
			t.Errorf("negative price %+v", e)
		}
		if e.Origin == OriginBuiltin && e.CachedInputPerMTok > e.InputPerMTok {
			t.Errorf("cached input dearer than input: %+v", e)
		}
		if e.Origin == OriginConfig && e.Model == "llama3" && e.Provider == "ollama" {
			sawConfig = true
		}
		if e.Provider == "azure.ai.openai" && e.Model == "gpt-4o" {
			sawAzure = true
		}
		if strings.HasPrefix(e.Model, "text-embedding") && e.OutputPerMTok != 0 {
			t.Errorf("embedding model with an output price: %+v", e)
		}
	}
	if len(entries) < 100 || !sawConfig || !sawAzure {
		t.Errorf("%d entries, config entry %v, azure gpt-4o %v", len(entries), sawConfig, sawAzure)
	}
}

// TestBuiltinNamesMatchThemselves guards the table against a name that a
// shorter one shadows or that the normalization changes.
func TestBuiltinNamesMatchThemselves(t *testing.T) {
	tab := newTable(t)
	for name, m := range tab.models {
		if got := tab.index.lookup(name); got != m {
			t.Errorf("%q does not match itself", name)
		}
		if got := tab.index.lookup(strings.ToUpper(name) + "-2025-01-01"); got != m {
			t.Errorf("%q with a date does not match it", name)
		}
	}
}

func TestCostDoesNotAllocate(t *testing.T) {
	tab := newTable(t)
	at := day("2026-06-01")
	u := genai.Usage{InputTokens: 1200, CachedInputTokens: 1000, OutputTokens: 300}
	for _, name := range []string{"gpt-4o", "gpt-4o-mini-2024-07-18", "OpenAI/GPT-4o", "us.anthropic.claude-3-7-sonnet-20250219-v1:0", "my-deployment"} {
		if n := testing.AllocsPerRun(100, func() { tab.Cost("azure.ai.openai", name, at, u) }); n != 0 {
			t.Errorf("Cost(%q) allocates %v times", name, n)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	tab := newTable(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				s := genai.Span{Operation: "chat", Provider: "openai", ResponseModel: "gpt-4o-2024-08-06", Usage: million}
				tab.Apply(&s)
				if !s.CostKnown {
					t.Error("unknown")
					return
				}
				_ = tab.Entries
			}
		})
	}
	wg.Wait()
}
