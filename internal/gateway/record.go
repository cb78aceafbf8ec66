package gateway

import (
	"bytes"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/jsondepth"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/sim/model"
	"github.com/genscope/genscope/internal/tokens"
)

// The OpenAI wire shapes the gateway reads when it records a call. Only
// what a record needs is decoded; the client got the bytes unchanged.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stream              *bool           `json:"stream"`
	User                string          `json:"user"`
	Input               json.RawMessage `json:"input"` // embeddings
}

type chatMessage struct {
	Role       string          `json:"role"`
	Name       string          `json:"name"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []toolCall      `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
	Refusal    *string         `json:"refusal"`
}

type toolCall struct {
	Index    int    `json:"index"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type usage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails *struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

type chatResponse struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int         `json:"index"`
		Message      chatMessage `json:"message"`
		Delta        chatMessage `json:"delta"`
		FinishReason *string     `json:"finish_reason"`
	} `json:"choices"`
	Usage *usage    `json:"usage"`
	Error *apiErrIn `json:"error"`
}

type apiErrIn struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

// choice accumulates one choice of a streamed answer.
type choice struct {
	role      string
	content   strings.Builder
	refusal   strings.Builder
	toolCalls []toolCall
	finish    string
}

// buildSpan turns a finished call into the canonical record.
func (g *Gateway) buildSpan(c *call) genai.Span {
	sp := g.spanHead(c)
	req := readRequest(c, &sp)
	var outs []*choice
	var u *usage
	if c.stream && len(c.events) > 0 {
		outs, u = g.readStream(c, &sp)
	} else if len(c.respBody) > 0 {
		outs, u = readResponse(c, &sp)
	}
	for _, o := range outs {
		if o.finish != "" {
			sp.FinishReasons = append(sp.FinishReasons, o.finish)
		}
	}
	setUsage(c, &sp, u, &req, outs)
	if c.status >= 400 && c.errType == "" {
		c.errType = strconv.Itoa(c.status)
	}
	if c.errType != "" {
		sp.Status, sp.ErrorType, sp.StatusMessage = genai.StatusError, c.mask.string(c.errType), truncate(c.mask.string(c.errMsg), 1024)
	}
	if c.dropped {
		sp.ContentTruncated = true
	}
	sp.UserID, sp.SessionID = c.mask.string(sp.UserID), c.mask.string(sp.SessionID)
	if g.opts.Capture != privacy.Metadata {
		g.content(&sp, &req, outs, c.mask)
	}
	return sp
}

// spanHead is the record of what is known of a call before its bodies
// are read: identity, timing, deployment, status.
func (g *Gateway) spanHead(c *call) genai.Span {
	d := c.deployment
	sp := genai.Span{
		Project:       c.project,
		TraceID:       c.traceID,
		SpanID:        c.spanID,
		ParentSpanID:  c.parentID,
		Kind:          "client",
		Service:       g.opts.Service,
		ScopeName:     "genscope.gateway",
		Source:        genai.SourceGateway,
		StartUnixNano: c.start.UnixNano(),
		DurationNano:  c.end.Sub(c.start).Nanoseconds(),
		Operation:     c.op,
		Provider:      d.cfg.Provider,
		HTTPStatus:    c.status,
		SessionID:     c.sessionID,
		UserID:        c.userID,
		Status:        genai.StatusOK,
		Attributes: map[string]any{
			"genscope.gateway.deployment": d.cfg.Name,
			"genscope.gateway.upstream":   d.cfg.Type,
			"server.address":              c.upstream,
		},
		ResourceAttributes: map[string]any{"service.name": g.opts.Service},
	}
	if c.op == opEmbeddings {
		sp.Operation = "embeddings"
	}
	if c.redactedUpstream {
		sp.Attributes[RedactedUpstreamAttribute] = true
	}
	if c.internal != nil {
		internalAttributes(c.internal, &sp.Service, sp.Attributes, sp.ResourceAttributes)
	}
	switch {
	case c.cacheHit:
		sp.Attributes[CacheAttribute] = "hit"
		delete(sp.Attributes, "server.address")
	case c.cacheKey != "":
		sp.Attributes[CacheAttribute] = "miss"
	}
	return sp
}

// readRequest records the request's model and parameters (the
// deployment's name when it names no model) and the span's name.
func readRequest(c *call, sp *genai.Span) chatRequest {
	var req chatRequest
	if err := unmarshalBounded(c.mask.copied(c.reqBody), &req); err == nil {
		sp.RequestModel = req.Model
		sp.Params.Temperature, sp.Params.TopP = req.Temperature, req.TopP
		sp.Params.MaxTokens = req.MaxTokens
		if req.MaxCompletionTokens != nil {
			sp.Params.MaxTokens = req.MaxCompletionTokens
		}
		sp.Params.Stream = req.Stream
		if sp.UserID == "" {
			sp.UserID = req.User
		}
	}
	if sp.RequestModel == "" {
		sp.RequestModel = c.deployment.cfg.Name
	}
	sp.Name = sp.Operation + " " + sp.RequestModel
	return req
}

// readResponse reads a whole (not streamed) answer: its choices, usage,
// and the error it reports.
func readResponse(c *call, sp *genai.Span) ([]*choice, *usage) {
	var resp chatResponse
	if err := unmarshalBounded(c.respBody, &resp); err != nil {
		return nil, nil
	}
	var outs []*choice
	sp.ResponseID, sp.ResponseModel = resp.ID, resp.Model
	for _, ch := range resp.Choices {
		o := &choice{role: ch.Message.Role, toolCalls: ch.Message.ToolCalls}
		o.content.WriteString(contentText(ch.Message.Content))
		if ch.Message.Refusal != nil {
			o.refusal.WriteString(*ch.Message.Refusal)
		}
		if ch.FinishReason != nil {
			o.finish = *ch.FinishReason
		}
		outs = append(outs, o)
	}
	if resp.Error != nil && c.errType == "" {
		c.errType = errorCode(resp.Error)
		c.errMsg = resp.Error.Message
	}
	return outs, resp.Usage
}

// setUsage records the usage the upstream reported or, for a successful
// call that reported none, the tokenizer's count, marked estimated.
func setUsage(c *call, sp *genai.Span, u *usage, req *chatRequest, outs []*choice) {
	switch {
	case u != nil:
		sp.Usage.InputTokens, sp.Usage.OutputTokens = u.PromptTokens, u.CompletionTokens
		if u.PromptTokensDetails != nil {
			sp.Usage.CachedInputTokens = u.PromptTokensDetails.CachedTokens
		}
		if u.CompletionTokensDetails != nil {
			sp.Usage.ReasoningTokens = u.CompletionTokensDetails.ReasoningTokens
		}
	case c.status < 300 && c.errType == "":
		if c.op == opChat {
			if n, err := model.CountChat(c.reqBody); err == nil {
				sp.Usage.InputTokens = int64(n)
			}
			var out int
			for _, o := range outs {
				out += tokens.Count(o.content.String())
				for _, tc := range o.toolCalls {
					out += tokens.Count(tc.Function.Name) + tokens.Count(tc.Function.Arguments)
				}
			}
			sp.Usage.OutputTokens = int64(out)
		} else {
			sp.Usage.InputTokens = int64(tokens.Count(embeddingText(req.Input)))
		}
		sp.Attributes["genscope.usage.estimated"] = true
	}
}

// readStream folds the streamed chunks into choices, usage and the time
// to first token.
func (g *Gateway) readStream(c *call, sp *genai.Span) ([]*choice, *usage) {
	var outs []*choice
	var u *usage
	for _, ev := range c.events {
		var ch chatResponse
		if unmarshalBounded(c.evBuf[ev.start:ev.end], &ch) != nil {
			continue
		}
		if ch.Error != nil && c.errType == "" {
			c.errType, c.errMsg = errorCode(ch.Error), ch.Error.Message
		}
		if sp.ResponseID == "" {
			sp.ResponseID = ch.ID
		}
		if sp.ResponseModel == "" && ch.Model != "" {
			sp.ResponseModel = ch.Model
		}
		if ch.Usage != nil {
			u = ch.Usage
		}
		for _, x := range ch.Choices {
			for x.Index >= len(outs) {
				if x.Index > 128 {
					break
				}
				outs = append(outs, &choice{})
			}
			if x.Index < 0 || x.Index >= len(outs) {
				continue
			}
			o := outs[x.Index]
			if x.Delta.Role != "" {
				o.role = x.Delta.Role
			}
			text := contentText(x.Delta.Content)
			if (text != "" || len(x.Delta.ToolCalls) > 0) && sp.TTFTNano == 0 {
				sp.TTFTNano = ev.at.Nanoseconds()
			}
			o.content.WriteString(text)
			if x.Delta.Refusal != nil {
				o.refusal.WriteString(*x.Delta.Refusal)
			}
			for _, tc := range x.Delta.ToolCalls {
				i := tc.Index
				if i < 0 || i > 128 {
					continue
				}
				for i >= len(o.toolCalls) {
					o.toolCalls = append(o.toolCalls, toolCall{})
				}
				t := &o.toolCalls[i]
				if tc.ID != "" {
					t.ID = tc.ID
				}
				if tc.Type != "" {
					t.Type = tc.Type
				}
				t.Function.Name += tc.Function.Name
				t.Function.Arguments += tc.Function.Arguments
			}
			if x.FinishReason != nil {
				o.finish = *x.FinishReason
			}
		}
	}
	return outs, u
}

// maxPartBytes bounds one recorded text part: a prompt of a million
// characters (the lab's error prompt) is kept as its first 64 KiB, and
// the span says its content was truncated.
const maxPartBytes = 64 << 10

// content fills the span's messages under the capture policy.
func (g *Gateway) content(sp *genai.Span, req *chatRequest, outs []*choice, mask *masker) {
	text := func(s string) string {
		s = mask.string(s) // a stream's deltas may spell out an echoed key

		if len(s) > maxPartBytes {
			s = truncate(s, maxPartBytes)
			sp.ContentTruncated = true
		}
		if g.opts.Capture == privacy.Redacted && g.redact != nil {
			return g.redact.String(s)
		}
		return s
	}
	if sp.Operation == "embeddings" {
		if s := embeddingText(req.Input); s != "" {
			sp.InputMessages = []genai.Message{{Role: "user", Parts: []genai.Part{{Type: "text", Content: text(s)}}}}
		}
		return
	}
	for _, m := range req.Messages {
		msg := genai.Message{Role: m.Role, Name: m.Name}
		msg.Parts = contentParts(m.Content, text)
		for _, tc := range m.ToolCalls {
			msg.Parts = append(msg.Parts, genai.Part{Type: "tool_call", ID: tc.ID, Name: tc.Function.Name, Arguments: arguments(tc.Function.Arguments, text)})
		}
		if m.Role == "tool" {
			msg.Parts = []genai.Part{{Type: "tool_call_response", ID: m.ToolCallID, Response: text(contentText(m.Content))}}
		}
		// The system message is recorded once, as the system
		// instructions; the input is the conversation without it.
		if genai.IsSystemRole(m.Role) {
			sp.SystemInstructions = append(sp.SystemInstructions, msg.Parts...)
			continue
		}
		sp.InputMessages = append(sp.InputMessages, msg)
	}
	if sp.InputMessages == nil && len(req.Messages) > 0 {
		sp.InputMessages = []genai.Message{} // the call's input was only its system message
	}
	for _, o := range outs {
		msg := genai.Message{Role: o.role, FinishReason: o.finish}
		if msg.Role == "" {
			msg.Role = "assistant"
		}
		if s := o.content.String(); s != "" {
			msg.Parts = append(msg.Parts, genai.Part{Type: "text", Content: text(s)})
		}
		if s := o.refusal.String(); s != "" {
			msg.Parts = append(msg.Parts, genai.Part{Type: "refusal", Content: text(s)})
		}
		for _, tc := range o.toolCalls {
			msg.Parts = append(msg.Parts, genai.Part{Type: "tool_call", ID: tc.ID, Name: tc.Function.Name, Arguments: arguments(tc.Function.Arguments, text)})
		}
		if msg.Parts == nil {
			msg.Parts = []genai.Part{}
		}
		sp.OutputMessages = append(sp.OutputMessages, msg)
	}
}

// contentText is the text of a message's content: a string, or the text
// parts of an array.
func contentText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return ""
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	var b strings.Builder
	for _, p := range contentParts(raw, func(s string) string { return s }) {
		if p.Type == "text" {
			b.WriteString(p.Content)
		}
	}
	return b.String()
}

// contentParts converts OpenAI content (a string or an array of parts).
func contentParts(raw json.RawMessage, text func(string) string) []genai.Part {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return []genai.Part{}
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return []genai.Part{{Type: "text", Content: text(s)}}
	}
	var parts []struct {
		Type     string `json:"type"`
		Text     string `json:"text"`
		ImageURL struct {
			URL string `json:"url"`
		} `json:"image_url"`
		InputAudio *struct {
			Format string `json:"format"`
		} `json:"input_audio"`
		File *struct {
			Filename string `json:"filename"`
		} `json:"file"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return []genai.Part{}
	}
	out := make([]genai.Part, 0, len(parts))
	for _, p := range parts {
		switch p.Type {
		case "text", "input_text":
			out = append(out, genai.Part{Type: "text", Content: text(p.Text)})
		case "image_url":
			u := p.ImageURL.URL
			if strings.HasPrefix(u, "data:") { // inline image: keep its kind, not its bytes
				mt, _, _ := strings.Cut(strings.TrimPrefix(u, "data:"), ";")
				out = append(out, genai.Part{Type: "blob", Content: "[inline " + mt + "]"})
			} else {
				out = append(out, genai.Part{Type: "uri", Content: text(u)})
			}
		case "input_audio":
			out = append(out, genai.Part{Type: "blob", Content: "[audio]"})
		case "file":
			out = append(out, genai.Part{Type: "file"})
		default:
			out = append(out, genai.Part{Type: p.Type})
		}
	}
	return out
}

// unmarshalBounded decodes a request, response or stream chunk that nests
// no deeper than maxDepth (the bound the proxy's scanner puts on request
// bodies); an upstream's answer nested deeper is not read for the record.
func unmarshalBounded(b []byte, v any) error {
	if err := jsondepth.Check(b, maxDepth); err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// arguments keeps tool-call arguments as JSON when they parse.
// Arguments nested deeper than genai.MaxValueDepth stay text: decoding
// them would recurse (and allocate) at every level, and no store keeps
// values that deep.
func arguments(s string, text func(string) string) any {
	s = text(s)
	if jsondepth.Check(s, genai.MaxValueDepth) != nil {
		return s
	}
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		return v
	}
	return s
}

// embeddingText is the text of an embeddings input (a string or strings;
// token arrays have none).
func embeddingText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		return strings.Join(ss, "\n")
	}
	return ""
}

func errorCode(e *apiErrIn) string {
	code := strings.Trim(string(bytes.TrimSpace(e.Code)), `"`)
	if code != "" && code != "null" {
		return code
	}
	if e.Type != "" {
		return e.Type
	}
	return "error"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
