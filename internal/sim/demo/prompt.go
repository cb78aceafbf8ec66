package demo

import (
	"context"
	"fmt"
	"io"
	"time"
)

// PromptOptions configure Prompt.
type PromptOptions struct {
	Server     string
	Deployment string
	System     string
	Text       string
	Stream     bool
	Out        io.Writer
	// GatewayKey is the project's gateway key when auth is on.
	GatewayKey string
}

// Prompt sends one prompt through the gateway and prints the answer
// (as it arrives when streaming) and its usage.
func Prompt(ctx context.Context, o PromptOptions) (Result, error) {
	if o.Deployment == "" {
		o.Deployment = "gpt-4o"
	}
	var msgs []Message
	if o.System != "" {
		msgs = append(msgs, Message{"system", o.System})
	}
	msgs = append(msgs, Message{"user", o.Text})
	req := Request{Deployment: o.Deployment, Messages: msgs, Stream: o.Stream}
	if o.Stream {
		req.OnDelta = func(s string) { fmt.Fprint(o.Out, s) }
	}
	c := NewClient(o.Server)
	c.Key = o.GatewayKey
	r, err := c.Chat(ctx, req)
	if err != nil {
		return r, err
	}
	if r.Status >= 300 {
		return r, fmt.Errorf("%s answered %d: %s", o.Deployment, r.Status, r.Error)
	}
	if !o.Stream {
		fmt.Fprint(o.Out, r.Content)
	}
	fmt.Fprintln(o.Out)
	line := fmt.Sprintf("\n%s · %d input + %d output = %d tokens · %s", o.Deployment, r.InputTokens, r.OutputTokens, r.InputTokens+r.OutputTokens, r.Duration.Round(time.Millisecond))
	if r.TTFT > 0 {
		line += fmt.Sprintf(" · first token after %s", r.TTFT.Round(time.Millisecond))
	}
	if r.FinishReason != "" && r.FinishReason != "stop" {
		line += " · finish: " + r.FinishReason
	}
	if r.TraceID != "" {
		line += " · trace " + r.TraceID
	}
	fmt.Fprintln(o.Out, line)
	return r, nil
}
