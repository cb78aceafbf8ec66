package model

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/genscope/genscope/internal/jsonstr"
	"github.com/genscope/genscope/internal/tokens"
)

// MaxBodyBytes is the largest request body the handler reads (32 MiB).
const MaxBodyBytes = 32 << 20

// Options configure one simulated deployment. Zero fields take the defaults
// of the model family (see New).
type Options struct {
	// Deployment is the name clients use, e.g. "gpt-4o"; default Model.
	Deployment string
	// Model is the model family: "gpt-4o", "gpt-4o-mini", "gpt-4.1",
	// "text-embedding-3-small", ... It decides the defaults. An unknown
	// family is simulated as a chat model with gpt-4o's defaults (or as an
	// embedding model when its name contains "embedding").
	Model string
	// ResponseModel is the model reported in responses; default per family,
	// e.g. "gpt-4o-2024-11-20".
	ResponseModel string
	// ContextWindow in tokens; default 128000 for chat models, 8191 per
	// input for embeddings.
	ContextWindow int
	// MaxOutputTokens is the largest max_tokens accepted; default 16384 for
	// the gpt-4o family.
	MaxOutputTokens int
	// TokensPerMinute is the token quota; 0 = unlimited.
	TokensPerMinute int
	// RequestsPerMinute is the request quota; 0 = unlimited.
	RequestsPerMinute int
	// TimeToFirstToken is the latency before the first token; default 250ms
	// for gpt-4o, 150ms for gpt-4o-mini, 40ms for embeddings. Negative means
	// zero.
	TimeToFirstToken time.Duration
	// TimePerToken is the latency of each further token; default 12ms for
	// gpt-4o, 8ms for gpt-4o-mini, 20µs per input token for embeddings.
	// Negative means zero.
	TimePerToken time.Duration
	// Jitter is the relative jitter of both latencies, default 0.2 (±20%).
	// Negative means no jitter.
	Jitter float64
	// NoLatency makes the model instant: no waiting at all, whatever the
	// latency fields say. Tests and benchmarks use it.
	NoLatency bool
	// EmbeddingDimensions is the native vector length; default 1536
	// (3072 for text-embedding-3-large).
	EmbeddingDimensions int
	// Now is the clock for quotas and "created"; nil = time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done; nil = a real timer honouring ctx.
	Sleep func(ctx context.Context, d time.Duration) error
}

// family holds the defaults of a model family.
type family struct {
	responseModel string
	embedding     bool
	context       int
	maxOutput     int
	ttft, tpt     time.Duration
	dims          int
	dimsSettable  bool
}

func familyOf(model string) family {
	chat := func(resp string, ctx, out int, ttft, tpt time.Duration) family {
		return family{responseModel: resp, context: ctx, maxOutput: out, ttft: ttft, tpt: tpt}
	}
	emb := func(dims int, settable bool) family {
		return family{responseModel: model, embedding: true, context: 8191, dims: dims, dimsSettable: settable,
			ttft: 40 * time.Millisecond, tpt: 20 * time.Microsecond}
	}
	switch model {
	case "gpt-4o":
		return chat("gpt-4o-2024-11-20", 128000, 16384, 250*time.Millisecond, 12*time.Millisecond)
	case "gpt-4o-mini":
		return chat("gpt-4o-mini-2024-07-18", 128000, 16384, 150*time.Millisecond, 8*time.Millisecond)
	case "gpt-4.1":
		return chat("gpt-4.1-2025-04-14", 1047576, 32768, 300*time.Millisecond, 10*time.Millisecond)
	case "gpt-4.1-mini":
		return chat("gpt-4.1-mini-2025-04-14", 1047576, 32768, 200*time.Millisecond, 6*time.Millisecond)
	case "gpt-4.1-nano":
		return chat("gpt-4.1-nano-2025-04-14", 1047576, 32768, 120*time.Millisecond, 4*time.Millisecond)
	case "text-embedding-3-small":
		return emb(1536, true)
	case "text-embedding-3-large":
		return emb(3072, true)
	case "text-embedding-ada-002":
		return emb(1536, false)
	}
	if strings.Contains(model, "embedding") {
		return emb(1536, true)
	}
	return chat(model, 128000, 16384, 250*time.Millisecond, 12*time.Millisecond)
}

// Model is one simulated deployment. It is safe for concurrent use.
type Model struct {
	o           Options
	fam         family
	prefix      string // "[simulated gpt-4o] "
	fingerprint string
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error
	quota       *window
	seed        maphash.Seed

	mu     sync.Mutex
	counts map[uint64]int         // token counts of texts, by hash
	gens   map[uint64]*generation // generated answers, by hash of prompt and choice
}

const (
	maxCachedCounts = 4096
	maxCachedGens   = 512
)

// New validates o, applies the defaults for zero fields and returns the
// deployment.
func New(o Options) (*Model, error) {
	var errs []error
	if strings.TrimSpace(o.Model) == "" {
		errs = append(errs, errors.New("model: required"))
	}
	fam := familyOf(o.Model)
	if o.Deployment == "" {
		o.Deployment = o.Model
	}
	if o.ResponseModel == "" {
		o.ResponseModel = fam.responseModel
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"context_window", o.ContextWindow}, {"max_output_tokens", o.MaxOutputTokens},
		{"tokens_per_minute", o.TokensPerMinute}, {"requests_per_minute", o.RequestsPerMinute},
		{"embedding_dimensions", o.EmbeddingDimensions},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative, got %d", f.name, f.v))
		}
	}
	if o.ContextWindow == 0 {
		o.ContextWindow = fam.context
	}
	if o.MaxOutputTokens == 0 {
		o.MaxOutputTokens = fam.maxOutput
	}
	if !fam.embedding && o.MaxOutputTokens > o.ContextWindow && o.ContextWindow > 0 {
		errs = append(errs, fmt.Errorf("max_output_tokens: %d exceeds context_window %d", o.MaxOutputTokens, o.ContextWindow))
	}
	if o.EmbeddingDimensions == 0 {
		o.EmbeddingDimensions = fam.dims
		if o.EmbeddingDimensions == 0 {
			o.EmbeddingDimensions = 1536
		}
	}
	if o.EmbeddingDimensions > 16384 {
		errs = append(errs, fmt.Errorf("embedding_dimensions: %d is more than 16384", o.EmbeddingDimensions))
	}
	if o.TimeToFirstToken == 0 {
		o.TimeToFirstToken = fam.ttft
	}
	if o.TimePerToken == 0 {
		o.TimePerToken = fam.tpt
	}
	o.TimeToFirstToken = max(o.TimeToFirstToken, 0)
	o.TimePerToken = max(o.TimePerToken, 0)
	switch {
	case math.IsNaN(o.Jitter) || o.Jitter > 1:
		errs = append(errs, fmt.Errorf("jitter: must be at most 1, got %v", o.Jitter))
	case o.Jitter == 0:
		o.Jitter = 0.2
	case o.Jitter < 0:
		o.Jitter = 0
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("simulated model %q: %w", o.Deployment, err)
	}
	m := &Model{
		o:      o,
		fam:    fam,
		prefix: "[simulated " + o.Model + "] ",
		now:    o.Now,
		sleep:  o.Sleep,
		quota:  &window{rpm: o.RequestsPerMinute, tpm: o.TokensPerMinute},
		seed:   maphash.MakeSeed(),
		counts: make(map[uint64]int),
		gens:   make(map[uint64]*generation),
	}
	m.fingerprint = fmt.Sprintf("fp_%010x", fnv64(o.ResponseModel)&0xffffffffff)
	if m.now == nil {
		m.now = time.Now
	}
	if m.sleep == nil {
		m.sleep = sleepCtx
	}
	return m, nil
}

// Options returns the options in effect, defaults applied.
func (m *Model) Options() Options { return m.o }

// ServeHTTP answers POST .../chat/completions, POST .../embeddings,
// GET .../models and GET .../models/{id}; anything else is a 404 in
// OpenAI's error shape.
func (m *Model) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if m.quota.rpm > 0 || m.quota.tpm > 0 { // admission below refreshes these
		m.quota.setHeaders(w.Header(), m.quota.peek(m.now()))
	}
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case p == "chat/completions" || strings.HasSuffix(p, "/chat/completions"):
		if !m.allow(w, r, http.MethodPost) {
			return
		}
		m.serveChat(w, r)
	case p == "embeddings" || strings.HasSuffix(p, "/embeddings"):
		if !m.allow(w, r, http.MethodPost) {
			return
		}
		m.serveEmbeddings(w, r)
	case p == "models" || strings.HasSuffix(p, "/models"):
		if !m.allow(w, r, http.MethodGet) {
			return
		}
		m.serveModels(w, "")
	case strings.Contains(p, "/models/"):
		if !m.allow(w, r, http.MethodGet) {
			return
		}
		m.serveModels(w, p[strings.LastIndex(p, "/models/")+len("/models/"):])
	default:
		writeError(w, &apiError{status: http.StatusNotFound,
			msg: fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path)})
	}
}

func (m *Model) allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method || (method == http.MethodGet && r.Method == http.MethodHead) {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, &apiError{status: http.StatusMethodNotAllowed,
		msg: fmt.Sprintf("Invalid method for URL (%s %s): use %s", r.Method, r.URL.Path, method)})
	return false
}

// modelCreated is the "created" time reported for the deployment's model
// (2024-11-20, gpt-4o's release used here).
const modelCreated = 1732060800

func (m *Model) serveModels(w http.ResponseWriter, id string) {
	entry := func() []byte {
		b := []byte(`{"id":`)
		b = jsonstr.Append(b, m.o.Deployment)
		b = append(b, `,"object":"model","created":`...)
		b = fmt.Appendf(b, "%d", modelCreated)
		return append(b, `,"owned_by":"system"}`...)
	}
	var b []byte
	switch {
	case id == "":
		b = append([]byte(`{"object":"list","data":[`), entry()...)
		b = append(b, "]}"...)
	case id == m.o.Deployment || id == m.o.Model || id == m.o.ResponseModel:
		b = entry()
	default:
		writeError(w, &apiError{status: http.StatusNotFound, code: "model_not_found", param: "model",
			msg: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", id)})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// latency returns the jittered time to first token and time per token of
// one request.
func (m *Model) latency() (ttft, tpt time.Duration) {
	if m.o.NoLatency {
		return 0, 0
	}
	ttft, tpt = m.o.TimeToFirstToken, m.o.TimePerToken
	if j := m.o.Jitter; j > 0 {
		ttft = time.Duration(float64(ttft) * (1 + j*(2*rand.Float64()-1)))
		tpt = time.Duration(float64(tpt) * (1 + j*(2*rand.Float64()-1)))
	}
	return ttft, tpt
}

// wait sleeps d (nothing when d <= 0) and reports the context's error.
func (m *Model) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	return m.sleep(ctx, d)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// count is the o200k_base token count of s, cached per deployment.
func (m *Model) count(s string) int {
	if s == "" {
		return 0
	}
	h := maphash.String(m.seed, s)
	m.mu.Lock()
	n, ok := m.counts[h]
	m.mu.Unlock()
	if ok {
		return n
	}
	n = tokens.Count(s)
	m.mu.Lock()
	if len(m.counts) >= maxCachedCounts {
		clear(m.counts)
	}
	m.counts[h] = n
	m.mu.Unlock()
	return n
}

// apiError is an error answered in OpenAI's shape.
type apiError struct {
	status int
	msg    string
	param  string // "" = null
	code   string // "" = null
}

func writeError(w http.ResponseWriter, e *apiError) {
	b := []byte(`{"error":{"message":`)
	b = jsonstr.Append(b, e.msg)
	b = append(b, `,"type":"invalid_request_error","param":`...)
	b = appendNullable(b, e.param)
	b = append(b, `,"code":`...)
	b = appendNullable(b, e.code)
	b = append(b, "}}\n"...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

func appendNullable(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return jsonstr.Append(b, s)
}

// fnv64 is FNV-1a, the stable hash behind deterministic output.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// splitmix is a tiny deterministic generator (SplitMix64).
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a value in [0, n); n must be > 0.
func (s *splitmix) intn(n int) int { return int(s.next() % uint64(n)) }
