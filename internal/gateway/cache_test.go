package gateway

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCacheNonStreaming(t *testing.T) {
	up := newUpstream(t, answerOK)
	dir := t.TempDir()
	d := dep("gpt-4o", up.URL)
	d.Cache = true
	projectFor := func(r *http.Request) (string, error) {
		if p := r.Header.Get("x-test-project"); p != "" {
			return p, nil
		}
		return "default", nil
	}
	opts := Options{Deployments: []Deployment{d, dep("nocache", up.URL)}, CacheDir: dir, ProjectFor: projectFor}
	e := newEnv(t, opts)
	url := e.srv.URL + "/v1/chat/completions"
	const body = `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0}`
	resp, got := post(t, url, body)
	if resp.StatusCode != 200 || resp.Header.Get("x-genscope-cache") != "miss" || string(got) != upstreamAnswer {
		t.Fatalf("first: %d %q %s", resp.StatusCode, resp.Header.Get("x-genscope-cache"), got)
	}
	if sp := e.sink.wait(t); sp.Attributes[CacheAttribute] != "miss" {
		t.Errorf("first call: %v", sp.Attributes)
	}
	// The same request, its members reordered and spaced, and another
	// user: a hit, answered as the upstream did, without calling it.
	resp, got = post(t, url, `{ "temperature":0, "messages":[{"role":"user","content":"hi"}], "user":"u2", "model":"gpt-4o" }`)
	if resp.StatusCode != 200 || resp.Header.Get("x-genscope-cache") != "hit" || string(got) != upstreamAnswer ||
		resp.Header.Get("Content-Type") != "application/json" || up.calls.Load() != 1 {
		t.Fatalf("second: %d %q %s (%d upstream calls)", resp.StatusCode, resp.Header.Get("x-genscope-cache"), got, up.calls.Load())
	}
	sp := e.sink.wait(t)
	if !sp.IsCall() || sp.Attributes[CacheAttribute] != "hit" || sp.Usage.InputTokens != 19 || sp.ResponseID == "" ||
		sp.Attributes["genscope.gateway.deployment"] != "gpt-4o" || len(sp.OutputMessages) != 1 {
		t.Errorf("hit: %+v", sp)
	}
	// Another project never gets this project's answer; a changed
	// request, the header turning the cache off, and a deployment
	// without cache all go upstream.
	for i, c := range []struct{ body, hdr, val string }{
		{body, "x-test-project", "other"},
		{strings.Replace(body, `"hi"`, `"hi!"`, 1), "x-noop", "1"},
		{body, "x-genscope-cache", "false"},
		{strings.Replace(body, `"gpt-4o"`, `"nocache"`, 1), "x-noop", "1"},
	} {
		resp, _ = post(t, url, c.body, c.hdr, c.val)
		if resp.StatusCode != 200 || resp.Header.Get("x-genscope-cache") == "hit" || int(up.calls.Load()) != 2+i {
			t.Errorf("case %d: %q, %d upstream calls", i, resp.Header.Get("x-genscope-cache"), up.calls.Load())
		}
		e.sink.wait(t)
	}
	// The header turns it on for a deployment without cache.
	nb := strings.Replace(body, `"gpt-4o"`, `"nocache"`, 1)
	post(t, url, nb, "x-genscope-cache", "true")
	e.sink.wait(t)
	if resp, _ = post(t, url, nb, "x-genscope-cache", "true"); resp.Header.Get("x-genscope-cache") != "hit" {
		t.Errorf("header opt-in: %q", resp.Header.Get("x-genscope-cache"))
	}
	e.sink.wait(t)

	// Kept in the data directory: a new gateway on it still answers.
	if err := e.gw.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	calls := up.calls.Load()
	e2 := newEnv(t, opts)
	resp, got = post(t, e2.srv.URL+"/v1/chat/completions", body)
	if resp.Header.Get("x-genscope-cache") != "hit" || string(got) != upstreamAnswer || up.calls.Load() != calls {
		t.Errorf("after a restart: %q %s", resp.Header.Get("x-genscope-cache"), got)
	}
}

func TestCacheStreamIsReplayedAsAStream(t *testing.T) {
	s := streamingUpstream(t, true, nil)
	defer s.Close()
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request, _ int) { s.Config.Handler.ServeHTTP(w, r) })
	d := dep("a", up.URL)
	e := newEnv(t, Options{Deployments: []Deployment{d}, Routes: []Route{{Name: "ha", Targets: targets("a"), Cache: true}}, CacheDir: t.TempDir()})
	url := e.srv.URL + "/v1/chat/completions"
	const body = `{"model":"ha","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	resp, first := post(t, url, body)
	if resp.StatusCode != 200 || resp.Header.Get("x-genscope-cache") != "miss" {
		t.Fatalf("%d %s", resp.StatusCode, first)
	}
	e.sink.waitBatch(t)
	resp, second := post(t, url, body)
	if resp.Header.Get("x-genscope-cache") != "hit" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") || up.calls.Load() != 1 {
		t.Fatalf("second: %q %q", resp.Header.Get("x-genscope-cache"), resp.Header.Get("Content-Type"))
	}
	if string(second) != string(first) {
		t.Errorf("replayed stream differs:\n%s\nfirst:\n%s", second, first)
	}
	sp := e.sink.wait(t)
	if sp.Attributes[CacheAttribute] != "hit" || sp.Usage.InputTokens != 8 || sp.Usage.OutputTokens != 2 || sp.OutputMessages[0].Parts[0].Content != "Hello!" {
		t.Errorf("hit: %v %+v %+v", sp.Attributes, sp.Usage, sp.OutputMessages)
	}
	// A client that asks for the usage chunk gets it from the cache too.
	resp, third := post(t, url, strings.Replace(body, `"stream":true`, `"stream":true,"stream_options":{"include_usage":true}`, 1))
	if resp.Header.Get("x-genscope-cache") != "hit" || !strings.Contains(string(third), `"usage":{"prompt_tokens":8`) || strings.Contains(string(second), `"prompt_tokens"`) {
		t.Errorf("usage chunk: %s", third)
	}
	e.sink.wait(t)
	// A non-streamed call of the same prompt is another entry.
	resp, _ = post(t, url, strings.Replace(body, `"stream":true,`, ``, 1))
	if resp.Header.Get("x-genscope-cache") != "miss" {
		t.Errorf("non-streamed: %q", resp.Header.Get("x-genscope-cache"))
	}
}

func TestCacheBounds(t *testing.T) {
	dir := t.TempDir()
	c, err := openCache(dir, 150*time.Millisecond, 1100) // 3 entries of 334 bytes
	if err != nil {
		t.Fatal(err)
	}
	a := &cached{deployment: "d", contentType: "application/json", body: []byte(strings.Repeat("x", 300))}
	for _, k := range []string{"k1", "k2", "k3"} {
		key := strings.Repeat(k, 32)[:64]
		if err := c.put(key, a); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	k1, k2 := strings.Repeat("k1", 32), strings.Repeat("k2", 32)
	c.get(k1) // now more recent than k2
	if err := c.put(strings.Repeat("k4", 32), a); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.get(k2); ok {
		t.Error("the least recently used entry was kept past max_bytes")
	}
	if got, ok := c.get(k1); !ok || string(got.body) != string(a.body) {
		t.Error("a recently used entry was evicted")
	}
	if c.size > 1100 {
		t.Errorf("size %d over the bound", c.size)
	}
	time.Sleep(200 * time.Millisecond)
	if _, ok := c.get(k1); ok {
		t.Error("an expired entry was served")
	}
	// Reopened: expired entries and broken files are deleted.
	_ = os.WriteFile(dir+"/"+strings.Repeat("ab", 32), []byte("garbage"), 0o600)
	c2, err := openCache(dir, time.Hour, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(c2.index) != 0 || c2.size != 0 {
		t.Errorf("reopened: %d entries, %d bytes", len(c2.index), c2.size)
	}
	if _, err := decodeCached([]byte("GSC1\x00\x00\x00\x00\x00\x00\x00\x01\xff")); !errors.Is(err, errBadEntry) {
		t.Errorf("truncated entry: %v", err)
	}
}
