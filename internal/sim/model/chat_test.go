package model

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/tokens"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	labSystem   = "You are an AI assistant that acts as a travel guide."
	labQuestion = "What are some recommended supplies for a camping trip in the mountains?"
	labRule     = "Answer in one sentence and a list."
)

// server starts a real loopback server for a simulated deployment.
func server(t testing.TB, o Options) (*Model, *httptest.Server) {
	t.Helper()
	if o.Model == "" {
		o.Model = "gpt-4o"
	}
	m, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv
}

func post(t testing.TB, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

type usage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	TotalTokens         int `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

type chatCompletion struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Created             int64             `json:"created"`
	Model               string            `json:"model"`
	SystemFingerprint   string            `json:"system_fingerprint"`
	PromptFilterResults []json.RawMessage `json:"prompt_filter_results"`
	Choices             []struct {
		Index   int `json:"index"`
		Message struct {
			Role    string  `json:"role"`
			Content string  `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason         string          `json:"finish_reason"`
		ContentFilterResults json.RawMessage `json:"content_filter_results"`
	} `json:"choices"`
	Usage usage `json:"usage"`
}

type errorBody struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func chatBody(t testing.TB, extra map[string]any, msgs ...string) string {
	t.Helper()
	req := map[string]any{"model": "gpt-4o"}
	var ms []map[string]any
	for i := 0; i+1 < len(msgs); i += 2 {
		ms = append(ms, map[string]any{"role": msgs[i], "content": msgs[i+1]})
	}
	req["messages"] = ms
	for k, v := range extra {
		req[k] = v
	}
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func complete(t testing.TB, url, body string) chatCompletion {
	t.Helper()
	resp, b := post(t, url, body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	var c chatCompletion
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return c
}

// wantPrompt counts messages by OpenAI's rule, independently of the
// package's code.
func wantPrompt(msgs ...string) int {
	n := 3
	for i := 0; i+1 < len(msgs); i += 2 {
		n += 3 + tokens.Count(msgs[i]) + tokens.Count(msgs[i+1])
	}
	return n
}

func TestChat(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	msgs := []string{"system", labSystem, "user", labQuestion}
	body := chatBody(t, nil, msgs...)
	for _, path := range []string{"/v1/chat/completions", "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"} {
		c := complete(t, srv.URL+path, body)
		if c.Object != "chat.completion" || c.Model != "gpt-4o-2024-11-20" || !strings.HasPrefix(c.ID, "chatcmpl-sim-") ||
			c.Created == 0 || !strings.HasPrefix(c.SystemFingerprint, "fp_") || len(c.PromptFilterResults) != 1 {
			t.Errorf("%s: envelope %+v", path, c)
		}
		if len(c.Choices) != 1 {
			t.Fatalf("choices %d", len(c.Choices))
		}
		ch := c.Choices[0]
		if ch.Message.Role != "assistant" || ch.FinishReason != "stop" || ch.Message.Refusal != nil || len(ch.ContentFilterResults) == 0 {
			t.Errorf("choice %+v", ch)
		}
		if !strings.HasPrefix(ch.Message.Content, "[simulated gpt-4o] ") {
			t.Errorf("content not marked: %q", ch.Message.Content)
		}
		if got, want := c.Usage.CompletionTokens, tokens.Count(ch.Message.Content); got != want {
			t.Errorf("completion tokens %d, tokenizer says %d", got, want)
		}
		if got, want := c.Usage.PromptTokens, wantPrompt(msgs...); got != want {
			t.Errorf("prompt tokens %d, want %d", got, want)
		}
		if c.Usage.TotalTokens != c.Usage.PromptTokens+c.Usage.CompletionTokens || c.Usage.PromptTokensDetails == nil || c.Usage.CompletionTokensDetails == nil {
			t.Errorf("usage %+v", c.Usage)
		}
		if n, err := CountChat([]byte(body)); err != nil || n != c.Usage.PromptTokens {
			t.Errorf("CountChat = %d, %v; want %d", n, err, c.Usage.PromptTokens)
		}
		again := complete(t, srv.URL+path, body)
		if again.Choices[0].Message.Content != ch.Message.Content {
			t.Error("same prompt, different answer")
		}
	}
}

func TestPromptTokens(t *testing.T) {
	f := func(name, body string, want int) {
		t.Helper()
		got, err := CountChat([]byte(body))
		if err != nil || got != want {
			t.Errorf("%s: CountChat = %d, %v; want %d", name, got, err, want)
		}
	}
	f("text", `{"messages":[{"role":"user","content":"Hello there"}]}`, 3+tokens.Count("user")+tokens.Count("Hello there")+3)
	f("name", `{"messages":[{"role":"user","name":"ann","content":"Hi"}]}`, 3+tokens.Count("user")+tokens.Count("Hi")+1+tokens.Count("ann")+3)
	f("parts", `{"messages":[{"role":"user","content":[{"type":"text","text":"Look"},{"type":"image_url","image_url":{"url":"data:,"}}]}]}`,
		3+tokens.Count("user")+tokens.Count("Look")+imageTokens+3)
	tools := `[{"type":"function","function":{"name":"f","parameters":{}}}]`
	f("tools", `{"messages":[{"role":"user","content":"Hi"}],"tools":`+tools+`}`, 3+tokens.Count("user")+tokens.Count("Hi")+3+tokens.Count(tools))
	f("assistant tool call", `{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"1","content":"42"}]}`,
		3+tokens.Count("assistant")+tokens.Count(`[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]`)+3+tokens.Count("tool")+tokens.Count("42")+3)
}

// TestLabPrompts is the lab's lesson: asking for one sentence and a list,
// in the user or the system message, costs fewer completion tokens.
func TestLabPrompts(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	url := srv.URL + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
	tokens := func(msgs ...string) (int, string) {
		c := complete(t, url, chatBody(t, nil, msgs...))
		return c.Usage.CompletionTokens, c.Choices[0].Message.Content
	}
	start, startText := tokens("system", labSystem, "user", labQuestion)
	short, shortText := tokens("system", labSystem, "user", labQuestion+" "+labRule)
	system, systemText := tokens("system", labSystem+" "+labRule, "user", labQuestion)
	t.Logf("completion tokens: start=%d short=%d system=%d", start, short, system)
	t.Logf("start answer:\n%s\nshort answer:\n%s\nsystem answer:\n%s", startText, shortText, systemText)
	if start < 250 || start > 450 {
		t.Errorf("start prompt: %d completion tokens, want 250..450", start)
	}
	if short*2 > start || system*2 > start {
		t.Errorf("short (%d) and system (%d) prompts should use clearly fewer tokens than the start prompt (%d)", short, system, start)
	}
	for _, text := range []string{shortText, systemText} {
		if !strings.Contains(text, "\n- ") || strings.Count(strings.Split(text, "\n")[0], ". ") > 0 {
			t.Errorf("want one sentence and a list, got:\n%s", text)
		}
	}
}

func TestShapes(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	content := func(user string) string {
		return complete(t, srv.URL+"/v1/chat/completions", chatBody(t, nil, "user", user)).Choices[0].Message.Content
	}
	long := tokens.Count(content("How do I learn Go?"))
	for _, tc := range []struct {
		user  string
		check func(string) bool
	}{
		{"How do I learn Go? Answer in one sentence.", func(s string) bool { return strings.Count(s, ". ") == 0 && !strings.Contains(s, "\n") }},
		{"How do I learn Go? Give me a list.", func(s string) bool { return strings.Count(s, "\n- ") >= 3 }},
		{"How do I learn Go? Be brief.", func(s string) bool { return tokens.Count(s)*3 < long }},
		{"How do I learn Go? Answer in 20 words.", func(s string) bool { return len(strings.Fields(s)) <= 20+3 }},
		{"How do I learn Go? Answer in 3 sentences.", func(s string) bool { return strings.Count(s, ". ")+strings.Count(s, "! ") == 2 }},
	} {
		if got := content(tc.user); !tc.check(got) {
			t.Errorf("%q: got %q", tc.user, got)
		}
	}
}

func TestContextWindow(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	long := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 15000)
	resp, b := post(t, srv.URL+"/v1/chat/completions", chatBody(t, nil, "user", long))
	want := fmt.Sprintf(`{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in %d tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
		wantPrompt("user", long))
	if resp.StatusCode != http.StatusBadRequest || strings.TrimSpace(string(b)) != want {
		t.Errorf("got %d %s\nwant 400 %s", resp.StatusCode, b, want)
	}

	_, small := server(t, Options{NoLatency: true, ContextWindow: 1000, MaxOutputTokens: 900})
	text := strings.Repeat("word ", 200)
	p := wantPrompt("user", text)
	resp, b = post(t, small.URL+"/v1/chat/completions", chatBody(t, map[string]any{"max_tokens": 900}, "user", text))
	want = fmt.Sprintf(`{"error":{"message":"This model's maximum context length is 1000 tokens. However, you requested %d tokens (%d in the messages, 900 in the completion). Please reduce the length of the messages or completion.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
		p+900, p)
	if resp.StatusCode != http.StatusBadRequest || strings.TrimSpace(string(b)) != want {
		t.Errorf("got %d %s\nwant 400 %s", resp.StatusCode, b, want)
	}
}

func TestMaxTokensStopN(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	url := srv.URL + "/v1/chat/completions"
	msgs := []string{"system", labSystem, "user", labQuestion}
	full := complete(t, url, chatBody(t, nil, msgs...)).Choices[0].Message.Content

	for _, param := range []string{"max_tokens", "max_completion_tokens"} {
		c := complete(t, url, chatBody(t, map[string]any{param: 7}, msgs...))
		got := c.Choices[0]
		if got.FinishReason != "length" || c.Usage.CompletionTokens != 7 || tokens.Count(got.Message.Content) != 7 || !strings.HasPrefix(full, got.Message.Content) {
			t.Errorf("%s=7: finish %q, usage %d, tokenizer %d, content %q", param, got.FinishReason, c.Usage.CompletionTokens, tokens.Count(got.Message.Content), got.Message.Content)
		}
	}

	stop := "travel guide"
	i := strings.Index(full, stop)
	if i < 0 {
		t.Fatalf("%q not in %q", stop, full)
	}
	c := complete(t, url, chatBody(t, map[string]any{"stop": []string{"no such text", stop}}, msgs...))
	if got := c.Choices[0]; got.FinishReason != "stop" || got.Message.Content != full[:i] || c.Usage.CompletionTokens != tokens.Count(full[:i]) {
		t.Errorf("stop: finish %q content %q usage %d", got.FinishReason, got.Message.Content, c.Usage.CompletionTokens)
	}

	c = complete(t, url, chatBody(t, map[string]any{"n": 3}, msgs...))
	if len(c.Choices) != 3 {
		t.Fatalf("n=3: %d choices", len(c.Choices))
	}
	sum := 0
	seen := map[string]bool{}
	for i, ch := range c.Choices {
		if ch.Index != i {
			t.Errorf("choice %d has index %d", i, ch.Index)
		}
		seen[ch.Message.Content] = true
		sum += tokens.Count(ch.Message.Content)
	}
	if len(seen) != 3 || c.Usage.CompletionTokens != sum || c.Choices[0].Message.Content != full {
		t.Errorf("n=3: %d distinct answers, usage %d, tokenizer %d", len(seen), c.Usage.CompletionTokens, sum)
	}
}

// chunk is one streamed chat.completion.chunk.
type chunk struct {
	ID                  string            `json:"id"`
	Object              string            `json:"object"`
	Created             int64             `json:"created"`
	Model               string            `json:"model"`
	PromptFilterResults []json.RawMessage `json:"prompt_filter_results"`
	Choices             []struct {
		Index int `json:"index"`
		Delta struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage `json:"usage"`
}

// readStream parses an SSE body into chunks; done reports [DONE].
func readStream(t testing.TB, r io.Reader) (chunks []chunk, done bool) {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("not an SSE data line: %q", line)
		}
		if done {
			t.Fatalf("data after [DONE]: %q", line)
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c chunk
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			t.Fatalf("chunk %q: %v", data, err)
		}
		chunks = append(chunks, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return chunks, done
}

func TestStream(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	url := srv.URL + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
	msgs := []string{"system", labSystem, "user", labQuestion}
	plain := complete(t, url, chatBody(t, nil, msgs...))
	for _, includeUsage := range []bool{false, true} {
		t.Run(fmt.Sprintf("include_usage=%v", includeUsage), func(t *testing.T) {
			extra := map[string]any{"stream": true}
			if includeUsage {
				extra["stream_options"] = map[string]any{"include_usage": true}
			}
			resp, err := http.Post(url, "application/json", strings.NewReader(chatBody(t, extra, msgs...)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
				t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
			}
			chunks, done := readStream(t, resp.Body)
			if !done {
				t.Fatal("no [DONE]")
			}
			first := chunks[0]
			if len(first.Choices) != 1 || first.Choices[0].Delta.Role == nil || *first.Choices[0].Delta.Role != "assistant" ||
				first.Choices[0].Delta.Content == nil || *first.Choices[0].Delta.Content != "" || len(first.PromptFilterResults) != 1 {
				t.Errorf("first chunk %+v", first)
			}
			rest := chunks[1:]
			if includeUsage {
				last := rest[len(rest)-1]
				if len(last.Choices) != 0 || last.Usage == nil || plainUsage(*last.Usage) != plainUsage(plain.Usage) {
					t.Errorf("usage chunk %+v, want usage %+v", last, plain.Usage)
				}
				rest = rest[:len(rest)-1]
			}
			fin := rest[len(rest)-1]
			if len(fin.Choices) != 1 || fin.Choices[0].FinishReason == nil || *fin.Choices[0].FinishReason != "stop" || fin.Usage != nil {
				t.Errorf("finish chunk %+v", fin)
			}
			var content strings.Builder
			for _, c := range rest[:len(rest)-1] {
				if len(c.Choices) != 1 || c.Choices[0].Delta.Content == nil || c.Choices[0].FinishReason != nil || c.Usage != nil {
					t.Fatalf("content chunk %+v", c)
				}
				d := *c.Choices[0].Delta.Content
				if n := tokens.Count(d); n < 1 || n > 4 {
					t.Errorf("chunk %q has %d tokens, want 1..4", d, n)
				}
				content.WriteString(d)
			}
			if content.String() != plain.Choices[0].Message.Content {
				t.Errorf("streamed %q\nplain    %q", content.String(), plain.Choices[0].Message.Content)
			}
			for _, c := range chunks {
				if c.ID != chunks[0].ID || c.Created != chunks[0].Created || c.Model != "gpt-4o-2024-11-20" || c.Object != "chat.completion.chunk" {
					t.Errorf("chunk envelope %+v", c)
				}
			}
			t.Logf("%d chunks, %d content chunks", len(chunks), len(rest)-1)
		})
	}
}

func plainUsage(u usage) usage {
	u.PromptTokensDetails, u.CompletionTokensDetails = nil, nil
	return u
}

func TestStreamN(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	body := chatBody(t, map[string]any{"stream": true, "n": 2, "max_tokens": 30, "stream_options": map[string]any{"include_usage": true}}, "user", labQuestion)
	plain := complete(t, srv.URL+"/v1/chat/completions", chatBody(t, map[string]any{"n": 2, "max_tokens": 30}, "user", labQuestion))
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	chunks, done := readStream(t, resp.Body)
	got := make([]string, 2)
	finish := make([]string, 2)
	for _, c := range chunks {
		for _, ch := range c.Choices {
			if ch.Delta.Content != nil {
				got[ch.Index] += *ch.Delta.Content
			}
			if ch.FinishReason != nil {
				finish[ch.Index] = *ch.FinishReason
			}
		}
	}
	for i := range 2 {
		if got[i] != plain.Choices[i].Message.Content || finish[i] != "length" {
			t.Errorf("choice %d: %q (%s), want %q", i, got[i], finish[i], plain.Choices[i].Message.Content)
		}
	}
	if u := chunks[len(chunks)-1].Usage; !done || u == nil || u.CompletionTokens != 60 {
		t.Errorf("done %v, usage %+v", done, u)
	}
}

// TestStreamCancel: a client going away mid-stream ends the handler
// promptly (goleak in TestMain checks nothing is left running).
func TestStreamCancel(t *testing.T) {
	m, err := New(Options{Model: "gpt-4o", TimeToFirstToken: time.Millisecond, TimePerToken: 20 * time.Millisecond, Jitter: -1})
	if err != nil {
		t.Fatal(err)
	}
	handlerDone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(handlerDone)
		m.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions",
		strings.NewReader(chatBody(t, map[string]any{"stream": true}, "user", labQuestion)))
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	for range 3 { // role chunk and two content chunks: the stream is live
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	cancel()
	select {
	case <-handlerDone:
		t.Logf("handler ended %v after the client went away", time.Since(start))
	case <-time.After(2 * time.Second):
		t.Fatal("handler still streaming 2s after the client went away")
	}
}

// TestLatency checks the latency model with a recording Sleep.
func TestLatency(t *testing.T) {
	var mu sync.Mutex
	var slept []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		slept = append(slept, d)
		mu.Unlock()
		return ctx.Err()
	}
	total := func() (sum time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		for _, d := range slept {
			sum += d
		}
		slept = nil
		return sum
	}
	_, srv := server(t, Options{Jitter: -1, Sleep: sleep})
	c := complete(t, srv.URL+"/v1/chat/completions", chatBody(t, nil, "user", labQuestion))
	if got, want := total(), 250*time.Millisecond+time.Duration(c.Usage.CompletionTokens)*12*time.Millisecond; got != want {
		t.Errorf("non-streamed: slept %v, want %v", got, want)
	}
	resp, _ := post(t, srv.URL+"/v1/chat/completions", chatBody(t, map[string]any{"stream": true}, "user", labQuestion))
	if resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	want := 250*time.Millisecond + time.Duration(c.Usage.CompletionTokens)*12*time.Millisecond
	if got := total(); got < want*9/10 || got > want*11/10 {
		t.Errorf("streamed: slept %v, want about %v", got, want)
	}
}

func TestErrors(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	_, emb := server(t, Options{Model: "text-embedding-3-small", NoLatency: true})
	f := func(url, method, body string, status int, param, code string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e errorBody
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != status || e.Error.Type != "invalid_request_error" || e.Error.Message == "" {
			t.Errorf("%s %s: got %d %s, want %d", method, body, resp.StatusCode, b, status)
			return
		}
		if p := deref(e.Error.Param); p != param {
			t.Errorf("%s: param %q, want %q", body, p, param)
		}
		if c := deref(e.Error.Code); c != code {
			t.Errorf("%s: code %q, want %q", body, c, code)
		}
	}
	chat := srv.URL + "/v1/chat/completions"
	f(chat, "POST", `{"messages":[`, 400, "", "")
	f(chat, "POST", `[]`, 400, "", "")
	f(chat, "POST", `{}`, 400, "messages", "missing_required_parameter")
	f(chat, "POST", `{"messages":[]}`, 400, "messages", "empty_array")
	f(chat, "POST", `{"messages":[{"role":"robot","content":"x"}]}`, 400, "messages.[0].role", "invalid_value")
	f(chat, "POST", `{"messages":[{"role":"user","content":{}}]}`, 400, "messages.[0].content", "invalid_type")
	f(chat, "POST", `{"messages":[{"role":"user"}]}`, 400, "messages.[0].content", "missing_required_parameter")
	f(chat, "POST", `{"messages":[{"role":"user","content":[{"type":"video"}]}]}`, 400, "messages.[0].content.[0].type", "invalid_value")
	f(chat, "POST", `{"messages":[{"role":"user","content":"x"}],"stream":"yes"}`, 400, "stream", "invalid_type")
	f(chat, "POST", `{"messages":[{"role":"user","content":"x"}],"n":0}`, 400, "n", "integer_below_min_value")
	f(chat, "POST", `{"messages":[{"role":"user","content":"x"}],"max_tokens":20000}`, 400, "max_tokens", "invalid_value")
	f(chat, "POST", `{"messages":[{"role":"user","content":"x"}],"temperature":3}`, 400, "temperature", "decimal_above_max_value")
	f(chat, "POST", `{"messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}`, 400, "stop", "array_above_max_length")
	f(chat, "POST", `{"messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`, 400, "stream_options", "")
	f(chat, "POST", `{"messages":[{"role":"user","content":"x"}],"tools":{}}`, 400, "tools", "invalid_type")
	f(chat, "GET", ``, 405, "", "")
	f(srv.URL+"/v1/completions", "POST", `{}`, 404, "", "")
	f(srv.URL+"/v1/models/gpt-5", "GET", ``, 404, "model", "model_not_found")
	f(emb.URL+"/v1/chat/completions", "POST", `{"messages":[{"role":"user","content":"x"}]}`, 400, "", "OperationNotSupported")
	f(srv.URL+"/v1/embeddings", "POST", `{"input":"x"}`, 400, "", "OperationNotSupported")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func TestBodyLimit(t *testing.T) {
	m, err := New(Options{Model: "gpt-4o", NoLatency: true})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	body := io.MultiReader(strings.NewReader(`{"messages":[{"role":"user","content":"`), io.LimitReader(zeros{}, MaxBodyBytes))
	m.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", body))
	if w.Code != http.StatusRequestEntityTooLarge || !strings.Contains(w.Body.String(), "32 MiB") {
		t.Errorf("got %d %s", w.Code, w.Body)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

func TestModels(t *testing.T) {
	_, srv := server(t, Options{Deployment: "my-gpt", NoLatency: true})
	for _, path := range []string{"/v1/models", "/openai/models?api-version=2024-10-21"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Object string `json:"object"`
			Data   []struct {
				ID, Object, OwnedBy string
			} `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || list.Object != "list" || len(list.Data) != 1 || list.Data[0].ID != "my-gpt" || list.Data[0].Object != "model" {
			t.Errorf("%s: %+v %v", path, list, err)
		}
	}
}

func TestNew(t *testing.T) {
	m, err := New(Options{Model: "gpt-4o-mini"})
	if err != nil {
		t.Fatal(err)
	}
	o := m.Options()
	if o.Deployment != "gpt-4o-mini" || o.ResponseModel != "gpt-4o-mini-2024-07-18" || o.ContextWindow != 128000 ||
		o.MaxOutputTokens != 16384 || o.TimeToFirstToken >= 250*time.Millisecond || o.Jitter != 0.2 {
		t.Errorf("defaults %+v", o)
	}
	e, err := New(Options{Model: "text-embedding-3-large"})
	if err != nil || e.Options().EmbeddingDimensions != 3072 || e.Options().ContextWindow != 8191 {
		t.Errorf("embedding defaults %+v %v", e, err)
	}
	for _, bad := range []Options{
		{},
		{Model: "gpt-4o", TokensPerMinute: -1},
		{Model: "gpt-4o", ContextWindow: 100, MaxOutputTokens: 200},
		{Model: "gpt-4o", Jitter: 2},
	} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

func FuzzChatRequest(f *testing.F) {
	for _, s := range []string{
		`{"messages":[{"role":"user","content":"Hi"}]}`,
		`{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"list 3 things"},{"type":"image_url","image_url":{"url":"x"}}],"name":"a"}],"n":2,"stop":["a"],"max_tokens":5}`,
		`{"messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true},"response_format":{"type":"json_object"}}`,
		`{"messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},{"role":"tool","content":"x"}],"tools":[{"type":"function"}]}`,
		`{"messages":[{"role":"user","content":"in 0 words \u2028 \ud800"}],"stop":"x","temperature":1.5}`,
		`{"messages":[{"role":"user","content":"{K}{T}"}],"max_completion_tokens":1}`,
		`{`, `null`, `[]`, `{"messages":null}`,
	} {
		f.Add([]byte(s))
	}
	m, err := New(Options{Model: "gpt-4o", NoLatency: true, ContextWindow: 4000, MaxOutputTokens: 1000})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = CountChat(body)
		w := httptest.NewRecorder()
		m.ServeHTTP(w, httptest.NewRequest("POST", "/v1/chat/completions", bytes.NewReader(body)))
		switch w.Code {
		case http.StatusOK:
			if w.Header().Get("Content-Type") == "application/json" && !json.Valid(w.Body.Bytes()) {
				t.Fatalf("invalid JSON response %s", w.Body)
			}
		case http.StatusBadRequest:
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
				t.Fatalf("400 without an OpenAI error: %s", w.Body)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// TestConcurrent hits one deployment from several goroutines (run with
// -race): the caches, the quota window and the tokenizer are shared.
func TestConcurrent(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true, RequestsPerMinute: 1000, TokensPerMinute: 10_000_000})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 5 {
				extra := map[string]any{"stream": i%2 == 0}
				resp, b := post(t, srv.URL+"/v1/chat/completions", chatBody(t, extra, "user", fmt.Sprintf("Tips for visiting city %d? Be brief.", (g+i)%3)))
				if resp.StatusCode != 200 {
					t.Errorf("goroutine %d call %d: %d %s", g, i, resp.StatusCode, b)
				}
			}
		})
	}
	wg.Wait()
}

func TestResponseFormatJSON(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	c := complete(t, srv.URL+"/v1/chat/completions", chatBody(t, map[string]any{"response_format": map[string]any{"type": "json_object"}}, "user", labQuestion))
	var v struct {
		Answer string `json:"answer"`
	}
	if err := json.Unmarshal([]byte(c.Choices[0].Message.Content), &v); err != nil || !strings.HasPrefix(v.Answer, "[simulated gpt-4o] ") {
		t.Errorf("content %q: %v", c.Choices[0].Message.Content, err)
	}
}

// A prompt asking for "score:" gets a judge's answer: a score from 0.5
// to 1, the same for the same prompt.
func TestSimulatedJudge(t *testing.T) {
	_, srv := server(t, Options{NoLatency: true})
	content := func(user string) string {
		return complete(t, srv.URL+"/v1/chat/completions", chatBody(t, nil, "user", user)).Choices[0].Message.Content
	}
	prompt := "Question: where is the Louvre?\nAnswer: in Paris.\nRate it from 0 to 1. Reply with score: <number> and explanation: <why>."
	a, b := content(prompt), content(prompt)
	if a != b {
		t.Errorf("not deterministic: %q then %q", a, b)
	}
	var score float64
	if _, err := fmt.Sscanf(a, "score: %f\nexplanation:", &score); err != nil || score < 0.5 || score > 1 {
		t.Errorf("judge answer %q: score %v, %v", a, score, err)
	}
	if c := content("Where is the Louvre?"); strings.HasPrefix(c, "score:") {
		t.Errorf("an ordinary prompt judged: %q", c)
	}
}
