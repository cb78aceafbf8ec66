package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/genscope/genscope/internal/redact"
)

// TestRedactUpstream: with redact_upstream, personal data in the
// request's content is masked before the upstream sees it (and in what is
// recorded); the rest of the request, and a request with nothing to
// mask, pass byte for byte.
func TestRedactUpstream(t *testing.T) {
	var mu sync.Mutex
	var got []string
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, n int) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		answerOK(w, r, n)
	})
	e := newEnv(t, Options{Deployments: []Deployment{dep("gpt-4o", up.URL)}, RedactUpstream: true, Redact: []string{`ORD-\d{6}`}})
	url := e.srv.URL + "/v1/chat/completions"
	body := `{"model":"gpt-4o","user":"u-1","metadata":{"note":"mail bob@example.com"},"messages":[` +
		`{"role":"system","content":"Be <brief> & kind."},` +
		`{"role":"user","content":[{"type":"text","text":"I am jane.doe@example.com, card 4111 1111 1111 1111, order ORD-123456, call +44 20 7946 0958"}]}]}`
	if resp, b := post(t, url, body); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	sp := e.sink.wait(t)
	mu.Lock()
	sent := got[0]
	mu.Unlock()
	for _, leak := range []string{"jane.doe@example.com", "4111 1111 1111 1111", "ORD-123456", "7946"} {
		if strings.Contains(sent, leak) {
			t.Errorf("upstream got %q: %s", leak, sent)
		}
	}
	for _, want := range []string{"[EMAIL]", "[CARD]", "[REDACTED]", "[PHONE]", `"Be <brief> & kind."`,
		`"metadata":{"note":"mail bob@example.com"}`, `{"model":"gpt-4o","user":"u-1",`} {
		if !strings.Contains(sent, want) {
			t.Errorf("upstream body lacks %q: %s", want, sent)
		}
	}
	if sp.Attributes[RedactedUpstreamAttribute] != true {
		t.Errorf("not recorded as redacted: %v", sp.Attributes)
	}
	last := sp.InputMessages[len(sp.InputMessages)-1]
	if last.Role != "user" || strings.Contains(last.Parts[0].Content, "jane.doe") || !strings.Contains(last.Parts[0].Content, "[EMAIL]") {
		t.Errorf("recorded input %+v", sp.InputMessages)
	}

	// Nothing to mask: the body goes as it came, unmarked.
	plain := `{"model":"gpt-4o", "messages":[{"role":"user","content":"hello   there"}]}`
	post(t, url, plain)
	sp = e.sink.wait(t)
	mu.Lock()
	sent = got[1]
	mu.Unlock()
	if sent != plain {
		t.Errorf("changed: %s", sent)
	}
	if _, ok := sp.Attributes[RedactedUpstreamAttribute]; ok {
		t.Errorf("marked redacted: %v", sp.Attributes)
	}

	// A streamed call is masked too.
	post(t, url, `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"me: x@y.org"}]}`)
	e.sink.wait(t)
	mu.Lock()
	sent = got[2]
	mu.Unlock()
	if !strings.Contains(sent, `"content":"me: [EMAIL]"`) || !strings.Contains(sent, `"include_usage":true`) {
		t.Errorf("streamed: %s", sent)
	}
}

// FuzzRedactRequest: a valid request stays valid JSON with the same
// members, and nothing panics on any input.
func FuzzRedactRequest(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"mail a@b.co or call +1 415 555 0100"}]}`,
		`{"input":["x@y.org", 3, null, {"k":"4111 1111 1111 1111"}],"prompt":"<&>"}`, `{"messages":"\u00e9 a@b.co"}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	r, err := redact.New(nil)
	if err != nil {
		f.Fatal(err)
	}
	g := &Gateway{redact: r}
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := topLevel(b)
		if err != nil || !json.Valid(b) {
			return
		}
		out, nms, _, err := g.redactRequest(b, ms)
		if err != nil {
			return // a content member the decoder refuses: a 400
		}
		if !json.Valid(out) || len(nms) != len(ms) {
			t.Fatalf("%s became %s", b, out)
		}
	})
}
