package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Internal is a call genscope itself makes through a deployment (an
// evaluator's judge). It is served exactly as a client's call — the
// deployment or route, its key, timeouts, retries, cache — and recorded
// in Project like one, but under Service and with Attributes added, so
// that it is told apart from the application's calls.
type Internal struct {
	Project    string
	Deployment string
	Service    string
	Attributes map[string]string
}

// internalKey carries an *Internal in a request's context: only
// Complete puts it there, so no client can claim to be internal.
type internalKey struct{}

// UpstreamError is a deployment's failure to answer an internal call.
type UpstreamError struct {
	Status int    // the HTTP status the call got
	Code   string // the error's code or type, when the answer had one
	Msg    string
}

func (e *UpstreamError) Error() string {
	return fmt.Sprintf("deployment answered %d %s: %s", e.Status, e.Code, e.Msg)
}

// Temporary reports whether trying again later may succeed: the upstream
// was unreachable, timed out, was overloaded or failed (408, 429, 5xx).
func (e *UpstreamError) Temporary() bool {
	return e.Status == http.StatusRequestTimeout || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// maxInternalAnswer bounds the answer Complete reads.
const maxInternalAnswer = 4 << 20

// Complete sends prompt as one user message (temperature 0) to the
// deployment (or route) in.Deployment and returns the text of the first
// choice's message. A failed call is an *UpstreamError.
func (g *Gateway) Complete(ctx context.Context, in Internal, prompt string) (string, error) {
	body, err := json.Marshal(map[string]any{
		"model":       in.Deployment,
		"messages":    []map[string]string{{"role": "user", "content": prompt}},
		"temperature": 0,
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, internalKey{}, &in), http.MethodPost,
		"http://genscope.internal/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	w := &answerWriter{header: http.Header{}}
	g.serve(w, req, opChat, "")
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.over {
		return "", &UpstreamError{Status: w.status, Msg: fmt.Sprintf("the answer is larger than %d bytes", maxInternalAnswer)}
	}
	var out struct {
		Choices []struct {
			Message struct {
				Content json.RawMessage `json:"content"`
				Refusal string          `json:"refusal"`
			} `json:"message"`
		} `json:"choices"`
		Error *apiErrIn `json:"error"`
	}
	decodeErr := json.Unmarshal(w.body.Bytes(), &out)
	if w.status >= 300 {
		e := &UpstreamError{Status: w.status, Msg: http.StatusText(w.status)}
		if decodeErr == nil && out.Error != nil {
			e.Code, e.Msg = errorCode(out.Error), truncate(out.Error.Message, 1024)
		}
		return "", e
	}
	switch {
	case decodeErr != nil:
		return "", &UpstreamError{Status: w.status, Msg: "the answer is not a chat completion: " + decodeErr.Error()}
	case len(out.Choices) == 0:
		return "", &UpstreamError{Status: w.status, Msg: "the answer has no choices"}
	}
	m := out.Choices[0].Message
	if text := contentText(m.Content); text != "" || m.Refusal == "" {
		return text, nil
	}
	return "", &UpstreamError{Status: w.status, Code: "refusal", Msg: "the model refused to answer"}
}

// internalCall is the Internal of a request Complete made, or nil.
func internalCall(r *http.Request) *Internal {
	in, _ := r.Context().Value(internalKey{}).(*Internal)
	return in
}

// answerWriter keeps an internal call's answer in memory, up to
// maxInternalAnswer bytes.
type answerWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	over   bool
}

func (w *answerWriter) Header() http.Header { return w.header }

func (w *answerWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *answerWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.body.Len()+len(p) > maxInternalAnswer {
		w.over = true
		return 0, errors.New("answer too large")
	}
	return w.body.Write(p)
}

// internalAttributes adds an internal call's service and attributes to
// its span.
func internalAttributes(in *Internal, service *string, attrs, res map[string]any) {
	if in.Service != "" {
		*service = in.Service
		res["service.name"] = in.Service
	}
	for k, v := range in.Attributes {
		if strings.TrimSpace(k) != "" {
			attrs[k] = v
		}
	}
}
