package app

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// TestOpenAISDK drives the gateway with the official OpenAI Node.js SDK
// (test/openai-client, pinned by its lockfile): OpenAI and AzureOpenAI
// clients, plain and streamed, embeddings, the context-length error.
func TestOpenAISDK(t *testing.T) {
	a := startAppWith(t, t.TempDir(), instantDeployments)
	const canary = "sk-CANARY-sdk-client-key-1234567890"
	raw := nodeClient(t, "openai-client", "call.mjs", 2*time.Minute, "GENSCOPE_URL=http://"+a.HTTPAddr(), "CLIENT_KEY="+canary)
	type usage struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
		TotalTokens      int64 `json:"total_tokens"`
	}
	var out struct {
		Chat struct {
			Content, Finish, Model string
			Usage                  usage
		}
		Stream struct {
			Text                              string
			Chunks, UsageChunks, EmptyChoices int
		}
		StreamUsage usage
		Embeddings  struct {
			N, Dims int
			Usage   struct {
				PromptTokens int64 `json:"prompt_tokens"`
			}
		}
		TooLarge struct {
			Status     int
			Code, Type string
		}
		Models []string
		Azure  struct {
			Content string
			Usage   usage
		}
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	if !strings.HasPrefix(out.Chat.Content, "[simulated gpt-4o]") || out.Chat.Finish != "stop" || out.Chat.Usage.PromptTokens != 36 || out.Chat.Usage.TotalTokens != 36+out.Chat.Usage.CompletionTokens {
		t.Errorf("chat: %+v", out.Chat)
	}
	if out.Stream.Text != out.Chat.Content || out.Stream.UsageChunks != 0 || out.Stream.EmptyChoices != 0 || out.Stream.Chunks < 10 {
		t.Errorf("stream without usage: %+v (want the same text, no usage)", out.Stream)
	}
	if out.StreamUsage != out.Chat.Usage {
		t.Errorf("stream usage %+v, want %+v", out.StreamUsage, out.Chat.Usage)
	}
	if out.Embeddings.N != 2 || out.Embeddings.Dims != 1536 || out.Embeddings.Usage.PromptTokens == 0 {
		t.Errorf("embeddings: %+v", out.Embeddings)
	}
	if out.TooLarge.Status != 400 || out.TooLarge.Code != "context_length_exceeded" || out.TooLarge.Type != "BadRequestError" {
		t.Errorf("too large: %+v", out.TooLarge)
	}
	if strings.Join(out.Models, ",") != "gpt-4o,text-embedding-3-small" {
		t.Errorf("models %v", out.Models)
	}
	if out.Azure.Content != out.Chat.Content || out.Azure.Usage != out.Chat.Usage {
		t.Errorf("azure: %+v", out.Azure)
	}

	f := store.Filter{Project: "default", From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)}
	ov := waitCalls(t, a.Store(), f, 6)
	if ov.Errors != 1 {
		t.Errorf("errors %d", ov.Errors)
	}
	f.Session = "sdk-session"
	waitCalls(t, a.Store(), f, 1)
	page, err := a.Store().Spans(context.Background(), store.SpansQuery{Filter: store.Filter{Project: "default", From: f.From, To: f.To}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(page)
	if strings.Contains(string(js), "CANARY") {
		t.Error("the client's key was stored")
	}
}
