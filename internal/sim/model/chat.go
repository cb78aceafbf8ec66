package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/genscope/genscope/internal/jsonstr"
	"github.com/genscope/genscope/internal/tokens"
)

// CountChat returns the prompt tokens of a chat completions request body,
// counted as the simulated deployment counts them (see the package
// documentation); the error is a message fit for a 400.
func CountChat(body []byte) (int, error) {
	c, aerr := parseChat(body, 0)
	if aerr != nil {
		return 0, errors.New(aerr.msg)
	}
	msgs, tools := c.promptTokens(tokens.Count)
	return msgs + tools, nil
}

// imageTokens is the fixed cost of one image part (a low-detail image).
const imageTokens = 85

// chatRequest is the wire form of a chat completions request; only the
// fields the simulation reads.
type chatRequest struct {
	Messages            []chatMessage   `json:"messages"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	N                   *int64          `json:"n"`
	Stop                json.RawMessage `json:"stop"`
	Stream              bool            `json:"stream"`
	StreamOptions       *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Temperature    *float64        `json:"temperature"`
	TopP           *float64        `json:"top_p"`
	Tools          json.RawMessage `json:"tools"`
	Functions      json.RawMessage `json:"functions"`
	ResponseFormat *struct {
		Type string `json:"type"`
	} `json:"response_format"`
}

type chatMessage struct {
	Role         string          `json:"role"`
	Content      json.RawMessage `json:"content"`
	Name         string          `json:"name"`
	ToolCalls    json.RawMessage `json:"tool_calls"`
	FunctionCall json.RawMessage `json:"function_call"`
}

type contentPart struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	Refusal string `json:"refusal"`
}

// message is a validated message.
type message struct {
	role   string
	texts  []string // text parts
	name   string
	images int
	calls  string // compact JSON of tool_calls / function_call
}

func (m *message) text() string {
	if len(m.texts) == 1 {
		return m.texts[0]
	}
	return strings.Join(m.texts, "\n")
}

// chat is a validated chat completions request.
type chat struct {
	msgs         []message
	maxTokens    int    // 0 = not given
	maxParam     string // which parameter gave maxTokens
	n            int
	stops        []string
	stream       bool
	includeUsage bool
	jsonOut      bool
	tools        string // compact JSON of tools and functions
}

// promptTokens counts the messages and the tool definitions with count.
func (c *chat) promptTokens(count func(string) int) (msgs, tools int) {
	for i := range c.msgs {
		m := &c.msgs[i]
		msgs += 3 + count(m.role) + m.images*imageTokens
		for _, t := range m.texts {
			msgs += count(t)
		}
		if m.name != "" {
			msgs += 1 + count(m.name)
		}
		if m.calls != "" {
			msgs += count(m.calls)
		}
	}
	msgs += 3
	if c.tools != "" {
		tools = count(c.tools)
	}
	return msgs, tools
}

func badRequest(param, code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, param: param, code: code, msg: fmt.Sprintf(format, args...)}
}

const unparsable = "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)"

// decodeError maps a json decoding error to OpenAI's 400.
func decodeError(err error, prefix string) *apiError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && (te.Field != "" || prefix != "") {
		field := te.Field
		if prefix != "" {
			field = strings.TrimSuffix(prefix+"."+field, ".")
		}
		return badRequest(field, "invalid_type", "Invalid type for '%s': expected %s, but got %s instead.",
			field, article(te.Type.Kind().String()), article(te.Value))
	}
	return &apiError{status: http.StatusBadRequest, msg: unparsable}
}

func article(kind string) string {
	switch kind {
	case "bool":
		return "a boolean"
	case "int", "int64", "int32", "uint", "uint64":
		return "an integer"
	case "float64", "float32", "number":
		return "a number"
	case "slice", "array":
		return "an array"
	case "struct", "map", "object":
		return "an object"
	case "string":
		return "a string"
	}
	return "a " + kind
}

// parseChat decodes and validates a chat completions request body.
// maxOutput, when positive, bounds max_tokens.
func parseChat(body []byte, maxOutput int) (*chat, *apiError) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, decodeError(err, "")
	}
	if req.Messages == nil {
		return nil, badRequest("messages", "missing_required_parameter", "Missing required parameter: 'messages'.")
	}
	if len(req.Messages) == 0 {
		return nil, badRequest("messages", "empty_array", "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.")
	}
	c := &chat{msgs: make([]message, len(req.Messages)), n: 1, stream: req.Stream}
	for i, rm := range req.Messages {
		m, aerr := parseMessage(i, rm)
		if aerr != nil {
			return nil, aerr
		}
		c.msgs[i] = m
	}
	for _, p := range []struct {
		name string
		v    *int64
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if p.v == nil {
			continue
		}
		if *p.v < 1 {
			return nil, badRequest(p.name, "integer_below_min_value", "Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", p.name, *p.v)
		}
		if maxOutput > 0 && *p.v > int64(maxOutput) {
			return nil, badRequest(p.name, "invalid_value", "%s is too large: %d. This model supports at most %d completion tokens, whereas you provided %d.", p.name, *p.v, maxOutput, *p.v)
		}
		if *p.v > math.MaxInt32 {
			return nil, badRequest(p.name, "integer_above_max_value", "Invalid '%s': integer above maximum value. Expected a value <= %d, but got %d instead.", p.name, math.MaxInt32, *p.v)
		}
		c.maxTokens, c.maxParam = int(*p.v), p.name
	}
	if req.N != nil {
		switch {
		case *req.N < 1:
			return nil, badRequest("n", "integer_below_min_value", "Invalid 'n': integer below minimum value. Expected a value >= 1, but got %d instead.", *req.N)
		case *req.N > 128:
			return nil, badRequest("n", "integer_above_max_value", "Invalid 'n': integer above maximum value. Expected a value <= 128, but got %d instead.", *req.N)
		}
		c.n = int(*req.N)
	}
	for _, p := range []struct {
		name string
		v    *float64
		max  float64
	}{{"temperature", req.Temperature, 2}, {"top_p", req.TopP, 1}} {
		switch {
		case p.v == nil:
		case *p.v < 0:
			return nil, badRequest(p.name, "decimal_below_min_value", "Invalid '%s': decimal below minimum value. Expected a value >= 0, but got %v instead.", p.name, *p.v)
		case *p.v > p.max:
			return nil, badRequest(p.name, "decimal_above_max_value", "Invalid '%s': decimal above maximum value. Expected a value <= %v, but got %v instead.", p.name, p.max, *p.v)
		}
	}
	stops, aerr := parseStop(req.Stop)
	if aerr != nil {
		return nil, aerr
	}
	c.stops = stops
	if req.StreamOptions != nil {
		if !req.Stream {
			return nil, badRequest("stream_options", "", "The 'stream_options' parameter is only allowed when 'stream' is enabled.")
		}
		c.includeUsage = req.StreamOptions.IncludeUsage
	}
	if rf := req.ResponseFormat; rf != nil {
		switch rf.Type {
		case "text":
		case "json_object", "json_schema":
			c.jsonOut = true
		default:
			return nil, badRequest("response_format.type", "invalid_value", "Invalid value: '%s'. Supported values are: 'json_object', 'json_schema', and 'text'.", rf.Type)
		}
	}
	var tools bytes.Buffer
	for _, t := range []struct {
		name string
		raw  json.RawMessage
	}{{"tools", req.Tools}, {"functions", req.Functions}} {
		if len(t.raw) == 0 || string(t.raw) == "null" {
			continue
		}
		if t.raw[0] != '[' {
			return nil, badRequest(t.name, "invalid_type", "Invalid type for '%s': expected an array, but got %s instead.", t.name, jsonKind(t.raw))
		}
		if err := json.Compact(&tools, t.raw); err != nil {
			return nil, &apiError{status: http.StatusBadRequest, msg: unparsable}
		}
	}
	c.tools = tools.String()
	return c, nil
}

func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "null"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

func parseMessage(i int, rm chatMessage) (message, *apiError) {
	m := message{role: rm.Role, name: rm.Name}
	switch rm.Role {
	case "system", "developer", "user", "assistant", "tool", "function":
	case "":
		return m, badRequest(fmt.Sprintf("messages.[%d].role", i), "missing_required_parameter", "Missing required parameter: 'messages.[%d].role'.", i)
	default:
		return m, badRequest(fmt.Sprintf("messages.[%d].role", i), "invalid_value", "Invalid value: '%s'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'.", rm.Role)
	}
	var calls bytes.Buffer
	for _, raw := range []json.RawMessage{rm.ToolCalls, rm.FunctionCall} {
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		if err := json.Compact(&calls, raw); err != nil {
			return m, &apiError{status: http.StatusBadRequest, msg: unparsable}
		}
	}
	m.calls = calls.String()
	param := fmt.Sprintf("messages.[%d].content", i)
	raw := rm.Content
	switch {
	case len(raw) == 0 || string(raw) == "null":
		if rm.Role != "assistant" {
			return m, badRequest(param, "missing_required_parameter", "Missing required parameter: '%s'.", param)
		}
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return m, &apiError{status: http.StatusBadRequest, msg: unparsable}
		}
		m.texts = []string{s}
	case raw[0] == '[':
		var parts []contentPart
		if err := json.Unmarshal(raw, &parts); err != nil {
			return m, decodeError(err, param)
		}
		for j, p := range parts {
			switch p.Type {
			case "text":
				m.texts = append(m.texts, p.Text)
			case "refusal":
				m.texts = append(m.texts, p.Refusal)
			case "image_url":
				m.images++
			case "input_audio", "audio", "file":
			default:
				return m, badRequest(fmt.Sprintf("%s.[%d].type", param, j), "invalid_value", "Invalid value: '%s'. Supported values are: 'text', 'image_url', 'input_audio', 'refusal', 'audio', and 'file'.", p.Type)
			}
		}
	default:
		return m, badRequest(param, "invalid_type", "Invalid type for '%s': expected one of a string or array of objects, but got %s instead.", param, jsonKind(raw))
	}
	return m, nil
}

func parseStop(raw json.RawMessage) ([]string, *apiError) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "invalid_type", "Invalid type for 'stop': expected one of a string or array of strings, but got %s instead.", jsonKind(raw))
	}
	if len(many) > 4 {
		return nil, badRequest("stop", "array_above_max_length", "Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length %d instead.", len(many))
	}
	out := many[:0]
	for _, s := range many {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// generation is a generated answer and the end offsets of its tokens.
type generation struct {
	content string
	ends    []int32

	once   sync.Once
	deltas []delta // stream chunks of the whole answer, made on first use
}

// delta is one streamed piece of content and its token count.
type delta struct {
	text   string
	tokens int
}

// generate returns the (cached) answer of choice idx for the request.
func (m *Model) generate(c *chat, seed uint64, idx int) *generation {
	key := seed ^ (uint64(idx)+1)*0xff51afd7ed558ccd
	if c.jsonOut {
		key = ^key
	}
	m.mu.Lock()
	g, ok := m.gens[key]
	m.mu.Unlock()
	if ok {
		return g
	}
	var system, user string
	for i := range c.msgs {
		switch c.msgs[i].role {
		case "system", "developer":
			if system != "" {
				system += "\n"
			}
			system += c.msgs[i].text()
		case "user":
			user = c.msgs[i].text()
		}
	}
	content := compose(m.prefix, system, user, seed, idx)
	if judging(user) {
		content = judgeAnswer(user)
	}
	if c.jsonOut {
		content = string(jsonstr.Append([]byte(`{"answer": `), content)) + "}"
	}
	g = &generation{content: content, ends: tokens.Ends(content)}
	m.mu.Lock()
	if len(m.gens) >= maxCachedGens {
		clear(m.gens)
	}
	m.gens[key] = g
	m.mu.Unlock()
	return g
}

// promptSeed hashes the messages: the seed of deterministic output.
func (c *chat) promptSeed() uint64 {
	h := uint64(14695981039346656037)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= 1099511628211
		}
		h ^= 0xff
		h *= 1099511628211
	}
	for i := range c.msgs {
		add(c.msgs[i].role)
		for _, t := range c.msgs[i].texts {
			add(t)
		}
	}
	return h
}

// choice is one answer after stop sequences and the token limit.
type choice struct {
	content string
	ends    []int32 // token ends within content (a partial last token may follow)
	tokens  int
	finish  string
}

func (m *Model) finish(g *generation, stops []string, limit int) choice {
	ch := choice{content: g.content, ends: g.ends, tokens: len(g.ends), finish: "stop"}
	cut := -1
	for _, s := range stops {
		if i := strings.Index(g.content, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		ch.content = g.content[:cut]
		k := sort.Search(len(g.ends), func(i int) bool { return int(g.ends[i]) > cut })
		ch.ends = g.ends[:k]
		ch.tokens = m.count(ch.content)
	}
	if ch.tokens > limit {
		ch.finish = "length"
		for k := min(limit, len(ch.ends)); ; k-- {
			end := 0
			if k > 0 {
				end = int(ch.ends[k-1])
			}
			ch.content, ch.ends = g.content[:end], ch.ends[:k]
			ch.tokens = m.count(ch.content)
			if ch.tokens <= limit || k == 0 {
				break
			}
		}
	}
	return ch
}

func (m *Model) serveChat(w http.ResponseWriter, r *http.Request) {
	body, aerr := readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	c, aerr := parseChat(body, m.o.MaxOutputTokens)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if m.fam.embedding {
		writeError(w, badRequest("", "OperationNotSupported", "The chatCompletion operation does not work with the specified model, %s. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.", m.o.Model))
		return
	}
	msgTokens, toolTokens := c.promptTokens(m.count)
	prompt := msgTokens + toolTokens
	ctxWindow := m.o.ContextWindow
	if c.maxTokens > 0 && prompt+c.maxTokens > ctxWindow {
		detail := fmt.Sprintf("%d in the messages, ", msgTokens)
		if toolTokens > 0 {
			detail += fmt.Sprintf("%d in the functions, ", toolTokens)
		}
		writeError(w, badRequest("messages", "context_length_exceeded",
			"This model's maximum context length is %d tokens. However, you requested %d tokens (%s%d in the completion). Please reduce the length of the messages or completion.",
			ctxWindow, prompt+c.maxTokens, detail, c.maxTokens))
		return
	}
	if prompt > ctxWindow {
		detail := ""
		if toolTokens > 0 {
			detail = fmt.Sprintf(" (%d in the messages, %d in the functions)", msgTokens, toolTokens)
		}
		writeError(w, badRequest("messages", "context_length_exceeded",
			"This model's maximum context length is %d tokens. However, your messages resulted in %d tokens%s. Please reduce the length of the messages.",
			ctxWindow, prompt, detail))
		return
	}
	limit := min(ctxWindow-prompt, m.o.MaxOutputTokens)
	if c.maxTokens > 0 {
		limit = min(limit, c.maxTokens)
	}
	seed := c.promptSeed()
	choices := make([]choice, c.n)
	gens := make([]*generation, c.n)
	completion, longest := 0, 0
	for i := range choices {
		gens[i] = m.generate(c, seed, i)
		choices[i] = m.finish(gens[i], c.stops, limit)
		completion += choices[i].tokens
		longest = max(longest, choices[i].tokens)
	}
	estimate := prompt + completion
	if c.maxTokens > 0 {
		estimate = prompt + c.maxTokens*c.n
	}
	v := m.quota.admit(m.now(), estimate)
	m.quota.setHeaders(w.Header(), v)
	if !v.ok {
		writeQuotaError(w, r, "ChatCompletions_Create", v)
		return
	}
	resp := chatResponse{
		id:      fmt.Sprintf("chatcmpl-sim-%016x%08x", seed, rand.Uint32()),
		created: m.now().Unix(),
		model:   m.o.ResponseModel,
		fp:      m.fingerprint,
		prompt:  prompt,
		choices: choices,
		total:   completion,
	}
	ttft, tpt := m.latency()
	if !c.stream {
		if m.wait(r.Context(), ttft+time.Duration(longest)*tpt) != nil {
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("x-request-id", resp.id)
		_, _ = w.Write(resp.appendJSON(make([]byte, 0, 1024+len(choices)*(len(choices[0].content)+512))))
		return
	}
	m.stream(w, r, &resp, gens, c.includeUsage, seed, ttft, tpt)
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: "request_too_large",
				msg: fmt.Sprintf("Request body too large: the limit is %d bytes (32 MiB).", MaxBodyBytes)}
		}
		return nil, &apiError{status: http.StatusBadRequest, msg: "could not read the request body: " + err.Error()}
	}
	return body, nil
}

// chatResponse is everything the response and its chunks show.
type chatResponse struct {
	id, model, fp string
	created       int64
	prompt, total int
	choices       []choice
}

const (
	promptFilterResults = `[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}}]`
	choiceFilterResults = `{"hate":{"filtered":false,"severity":"safe"},"protected_material_code":{"filtered":false,"detected":false},"protected_material_text":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}`
)

func (r *chatResponse) appendHead(b []byte, object string) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, r.id...)
	b = append(b, `","object":"`...)
	b = append(b, object...)
	b = append(b, `","created":`...)
	b = strconv.AppendInt(b, r.created, 10)
	b = append(b, `,"model":`...)
	b = jsonstr.Append(b, r.model)
	b = append(b, `,"system_fingerprint":"`...)
	b = append(b, r.fp...)
	return append(b, '"')
}

func (r *chatResponse) appendUsage(b []byte) []byte {
	b = append(b, `"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(r.prompt), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(r.total), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(r.prompt+r.total), 10)
	return append(b, `,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}`...)
}

func (r *chatResponse) appendJSON(b []byte) []byte {
	b = r.appendHead(b, "chat.completion")
	b = append(b, `,"prompt_filter_results":`+promptFilterResults+`,"choices":[`...)
	for i, c := range r.choices {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"message":{"role":"assistant","content":`...)
		b = jsonstr.Append(b, c.content)
		b = append(b, `,"refusal":null},"logprobs":null,"finish_reason":"`...)
		b = append(b, c.finish...)
		b = append(b, `","content_filter_results":`+choiceFilterResults+`}`...)
	}
	b = append(b, "],"...)
	b = r.appendUsage(b)
	return append(b, "}\n"...)
}

// chunks splits a choice into deltas of 1–4 tokens, each ending on a rune
// boundary; the split is derived from seed.
func chunks(c choice, seed uint64) []delta {
	rng := splitmix(seed)
	var out []delta
	start, k, prev := 0, 0, 0
	for k < len(c.ends) {
		k = min(k+1+rng.intn(4), len(c.ends))
		end := int(c.ends[k-1])
		for end < len(c.content) && !utf8.RuneStart(c.content[end]) && k < len(c.ends) {
			k++
			end = int(c.ends[k-1])
		}
		if end < len(c.content) && !utf8.RuneStart(c.content[end]) {
			end = len(c.content)
		}
		if end > start {
			out = append(out, delta{c.content[start:end], k - prev})
			start, prev = end, k
		}
	}
	if start < len(c.content) {
		out = append(out, delta{c.content[start:], max(1, c.tokens-prev)})
	}
	return out
}

// deltasOf returns the stream chunks of choice idx, cached when the choice
// is the whole generated answer.
func deltasOf(g *generation, c choice, seed uint64, idx int) []delta {
	s := seed ^ (uint64(idx)+1)*0xc4ceb9fe1a85ec53
	if len(c.content) != len(g.content) {
		return chunks(c, s)
	}
	g.once.Do(func() { g.deltas = chunks(c, s) })
	return g.deltas
}

// stream writes the response as server-sent events, waiting the latency
// model between chunks and stopping when the client goes away.
func (m *Model) stream(w http.ResponseWriter, r *http.Request, resp *chatResponse, gens []*generation, includeUsage bool, seed uint64, ttft, tpt time.Duration) {
	ctx := r.Context()
	deltas := make([][]delta, len(resp.choices))
	steps := 0
	for i, c := range resp.choices {
		deltas[i] = deltasOf(gens[i], c, seed, i)
		steps = max(steps, len(deltas[i]))
	}
	sw := newChunkWriter(w, resp, includeUsage)
	if m.wait(ctx, ttft) != nil {
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("x-request-id", resp.id)
	w.WriteHeader(http.StatusOK)
	if !sw.roles(len(resp.choices)) {
		return
	}
	for s := range steps {
		if s > 0 {
			n := 0
			for _, d := range deltas {
				if s < len(d) {
					n = max(n, d[s].tokens)
				}
			}
			if m.wait(ctx, time.Duration(n)*tpt) != nil {
				return
			}
		}
		for i, d := range deltas {
			if s < len(d) && !sw.delta(i, d[s].text) {
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
	}
	sw.finish(resp)
}

// chunkWriter writes a streamed answer's chunks, each flushed at once.
type chunkWriter struct {
	w            http.ResponseWriter
	rc           *http.ResponseController
	buf          []byte
	head         []byte // "data: " and the chunk's fields up to its choices
	tail         string // what closes a content chunk
	includeUsage bool
}

func newChunkWriter(w http.ResponseWriter, resp *chatResponse, includeUsage bool) *chunkWriter {
	head := append([]byte("data: "), resp.appendHead(nil, "chat.completion.chunk")...)
	head = append(head, `,"choices":[`...)
	tail := "]}\n\n"
	if includeUsage {
		tail = `],"usage":null}` + "\n\n"
	}
	return &chunkWriter{w: w, rc: http.NewResponseController(w), buf: make([]byte, 0, 1024),
		head: head, tail: tail, includeUsage: includeUsage}
}

// send writes and flushes the chunk in buf, reporting false when the
// client is gone.
func (sw *chunkWriter) send() bool {
	if _, err := sw.w.Write(sw.buf); err != nil {
		return false
	}
	if err := sw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return false
	}
	return true
}

// roles writes each choice's first chunk, its role (and, on the first,
// the prompt's filter results, as Azure sends them).
func (sw *chunkWriter) roles(n int) bool {
	for i := range n {
		buf := append(sw.buf[:0], sw.head...)
		buf = append(buf, `{"index":`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]`...)
		if i == 0 {
			buf = append(buf, `,"prompt_filter_results":`+promptFilterResults...)
		}
		if sw.includeUsage {
			buf = append(buf, `,"usage":null`...)
		}
		sw.buf = append(buf, "}\n\n"...)
		if !sw.send() {
			return false
		}
	}
	return true
}

// delta writes one piece of choice i's content.
func (sw *chunkWriter) delta(i int, text string) bool {
	buf := append(sw.buf[:0], sw.head...)
	buf = append(buf, `{"index":`...)
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, `,"delta":{"content":`...)
	buf = jsonstr.Append(buf, text)
	buf = append(buf, `},"logprobs":null,"finish_reason":null}`...)
	sw.buf = append(buf, sw.tail...)
	return sw.send()
}

// finish writes each choice's finish reason, the usage chunk when the
// client asked for it, and [DONE].
func (sw *chunkWriter) finish(resp *chatResponse) {
	for i, c := range resp.choices {
		buf := append(sw.buf[:0], sw.head...)
		buf = append(buf, `{"index":`...)
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, `,"delta":{},"logprobs":null,"finish_reason":"`...)
		buf = append(buf, c.finish...)
		buf = append(buf, `","content_filter_results":`+choiceFilterResults+`}`...)
		sw.buf = append(buf, sw.tail...)
		if !sw.send() {
			return
		}
	}
	if sw.includeUsage {
		buf := append(sw.buf[:0], sw.head[:len(sw.head)-len(`"choices":[`)]...)
		buf = append(buf, `"choices":[],`...)
		buf = resp.appendUsage(buf)
		sw.buf = append(buf, "}\n\n"...)
		if !sw.send() {
			return
		}
	}
	sw.buf = append(sw.buf[:0], "data: [DONE]\n\n"...)
	sw.send()
}
