package pricing

import (
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
)

func BenchmarkCost(b *testing.B) {
	tab, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	u := genai.Usage{InputTokens: 1200, CachedInputTokens: 1000, OutputTokens: 300, ReasoningTokens: 100}
	for _, c := range []struct{ name, provider, model string }{
		{"exact", "openai", "gpt-4o"},
		{"dated", "azure.ai.openai", "gpt-4o-mini-2024-07-18"},
		{"prefixed", "OpenAI", "openai/GPT-4o-2024-08-06"},
		{"bedrock", "aws.bedrock", "us.anthropic.claude-3-7-sonnet-20250219-v1:0"},
		{"unknown", "azure.ai.openai", "my-gpt4o-deployment"},
	} {
		b.Run("model="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tab.Cost(c.provider, c.model, at, u)
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	tab, err := New(nil)
	if err != nil {
		b.Fatal(err)
	}
	s := genai.Span{Operation: "chat", Provider: "azure.ai.openai", RequestModel: "prod-chat",
		ResponseModel: "gpt-4o-2024-11-20", StartUnixNano: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
		Usage: genai.Usage{InputTokens: 1200, CachedInputTokens: 1000, OutputTokens: 300}}
	b.ReportAllocs()
	for b.Loop() {
		tab.Apply(&s)
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(nil); err != nil {
			b.Fatal(err)
		}
	}
}
