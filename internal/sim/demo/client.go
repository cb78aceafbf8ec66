package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Message is one chat message.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Request is one chat completion request.
type Request struct {
	Deployment string
	Messages   []Message
	Stream     bool
	// Header is added to the HTTP request (traceparent, x-session-id ...).
	Header http.Header
	// OnDelta receives streamed text as it arrives.
	OnDelta func(string)
}

// Result is what came back.
type Result struct {
	Status        int
	Content       string
	FinishReason  string
	InputTokens   int64
	OutputTokens  int64
	Duration      time.Duration
	TTFT          time.Duration // streamed calls
	Error         string        // the error message of a failed call
	TraceID       string        // genscope's trace id for the call
	ResponseID    string        // the answer's id
	ResponseModel string        // the model that answered
}

// Client calls a genscope gateway's OpenAI-compatible endpoint.
type Client struct {
	// BaseURL is genscope's HTTP address, e.g. http://127.0.0.1:4318.
	BaseURL string
	HTTP    *http.Client
	// Key is a gateway key, sent as x-genscope-key when auth is on.
	Key string
}

// NewClient returns a client with a timeout on every call.
func NewClient(base string) *Client {
	return &Client{BaseURL: strings.TrimRight(base, "/"), HTTP: &http.Client{Timeout: 5 * time.Minute}}
}

// Chat sends one chat completion request.
func (c *Client) Chat(ctx context.Context, r Request) (Result, error) {
	body := map[string]any{"model": r.Deployment, "messages": r.Messages}
	if r.Stream {
		body["stream"] = true
		body["stream_options"] = map[string]any{"include_usage": true}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+"/v1/chat/completions", bytes.NewReader(b))
	if err != nil {
		return Result{}, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Key != "" {
		req.Header.Set("x-genscope-key", c.Key)
	}
	start := time.Now()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("call the gateway at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	res := Result{Status: resp.StatusCode, TraceID: resp.Header.Get("x-genscope-trace-id")}
	if resp.StatusCode >= 300 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			res.Error = e.Error.Message
		} else {
			res.Error = strings.TrimSpace(string(raw))
		}
		res.Duration = time.Since(start)
		return res, nil
	}
	if r.Stream {
		err = readStream(resp.Body, &res, start, r.OnDelta)
	} else {
		var out struct {
			ID      string `json:"id"`
			Model   string `json:"model"`
			Choices []struct {
				Message      Message `json:"message"`
				FinishReason string  `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens     int64 `json:"prompt_tokens"`
				CompletionTokens int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err = json.NewDecoder(resp.Body).Decode(&out); err == nil {
			res.ResponseID, res.ResponseModel = out.ID, out.Model
			if len(out.Choices) > 0 {
				res.Content, res.FinishReason = out.Choices[0].Message.Content, out.Choices[0].FinishReason
			}
			if out.Usage != nil {
				res.InputTokens, res.OutputTokens = out.Usage.PromptTokens, out.Usage.CompletionTokens
			}
		}
	}
	res.Duration = time.Since(start)
	return res, err
}

func readStream(body io.Reader, res *Result, start time.Time, onDelta func(string)) error {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	var text strings.Builder
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data:")
		if !ok {
			continue
		}
		line = strings.TrimSpace(line)
		if line == "[DONE]" {
			break
		}
		var ch struct {
			ID      string `json:"id"`
			Model   string `json:"model"`
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				PromptTokens     int64 `json:"prompt_tokens"`
				CompletionTokens int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			return fmt.Errorf("stream: %w", err)
		}
		if res.ResponseID == "" {
			res.ResponseID, res.ResponseModel = ch.ID, ch.Model
		}
		for _, c := range ch.Choices {
			if c.Delta.Content != "" {
				if res.TTFT == 0 {
					res.TTFT = time.Since(start)
				}
				text.WriteString(c.Delta.Content)
				if onDelta != nil {
					onDelta(c.Delta.Content)
				}
			}
			if c.FinishReason != nil {
				res.FinishReason = *c.FinishReason
			}
		}
		if ch.Usage != nil {
			res.InputTokens, res.OutputTokens = ch.Usage.PromptTokens, ch.Usage.CompletionTokens
		}
	}
	res.Content = text.String()
	if err := sc.Err(); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	if res.FinishReason == "" {
		return errors.New("stream ended before the answer finished")
	}
	return nil
}
