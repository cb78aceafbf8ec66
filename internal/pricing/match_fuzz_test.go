package pricing

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
)

var refVersionRE = regexp.MustCompile(`^([0-9]{2,}|v[0-9]+(\.[0-9]+)?|latest|preview)$`)

// refMatch is a plain, allocating statement of the matching rules, to
// check the buffer-based matcher against.
func refMatch(models map[string]*model, name string) *model {
	n := strings.TrimSpace(name)
	if i := strings.LastIndex(n, "/"); i >= 0 {
		n = strings.TrimSpace(n[i+1:])
	}
	n = strings.ToLower(n)
	head, _, _ := strings.Cut(n, "-")
	if i := strings.LastIndex(head, "."); i > 0 && strings.Trim(head[:i], ".abcdefghijklmnopqrstuvwxyz") == "" {
		n = n[i+1:]
	}
	if m := models[n]; m != nil {
		return m
	}
	for rest := n; ; {
		i := strings.LastIndexAny(rest, "-@:")
		if i <= 0 {
			return nil
		}
		seg := rest[i+1:]
		digits := seg != "" && strings.Trim(seg, "0123456789") == ""
		if !refVersionRE.MatchString(seg) && !(digits && rest[i] != '-') {
			return nil
		}
		rest = rest[:i]
		if m := models[rest]; m != nil {
			return m
		}
	}
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"gpt-4o", "gpt-4o-mini-2024-07-18", "openai/GPT-4o", "models/gemini-1.5-pro-002",
		"us.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-5-sonnet-v2@20241022",
		"claude-opus-4-5-20251101", "gpt-4.1", "qwen2.5-72b", "gpt-4o-", "-", "/", ".a-b",
		"gemini-2.5-pro-preview-05-06", "o3-v1.5", "x:1", "\u212a", "a\x0eb.gpt-4o", "GPT-4O" + strings.Repeat("-01", 40), strings.Repeat("a-", 100) + "gpt-4o",
	} {
		f.Add(s, int64(1000), int64(100), int64(50))
	}
	tab, err := New(nil)
	if err != nil {
		f.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, name string, in, cached, out int64) {
		got := tab.index.lookup(name)
		ok := got != nil
		if want := refMatch(tab.models, name); got != want {
			t.Fatalf("match(%q) = %v, reference %v", name, got, want)
		}
		if !ok {
			return
		}
		if isASCII(name) {
			if up := tab.index.lookup(strings.ToUpper(name)); up != got {
				t.Errorf("match(%q) differs from its upper case", name)
			}
		}
		if name == strings.TrimSpace(name) {
			if dated := tab.index.lookup(name + "-20250101"); dated != got {
				t.Errorf("match(%q) differs with a date appended", name)
			}
		}
		usd, ok := tab.Cost("openai", name, at, genai.Usage{InputTokens: in, CachedInputTokens: cached, OutputTokens: out})
		if !ok || usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
			t.Errorf("Cost(%q) = %v, %v", name, usd, ok)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
