package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestMaskStreamEverySplit: a key split across two reads at any byte is
// masked, and the output has the input's length.
func TestMaskStreamEverySplit(t *testing.T) {
	const key = "sk-split-key-0123456789"
	m := newMasker("Bearer "+key, "", "short")
	if len(m.keys) != 1 {
		t.Fatalf("keys %q: the short one and the empty one are not masked", m.keys)
	}
	in := []byte(`{"echo":"Authorization: Bearer ` + key + `","again":"` + key + `"}`)
	for cut := 0; cut <= len(in); cut++ {
		s := maskStream{m: m}
		var out bytes.Buffer
		out.Write(s.next(bytes.Clone(in[:cut])))
		out.Write(s.next(bytes.Clone(in[cut:])))
		out.Write(s.rest())
		if out.Len() != len(in) || strings.Contains(out.String(), "split-key") || strings.Count(out.String(), "[redacted]") != 2 {
			t.Fatalf("cut %d: %s", cut, out.String())
		}
	}
	if got := (*masker)(nil).string("x " + key); got != "x "+key {
		t.Errorf("a nil masker changed %q", got)
	}
}

// BenchmarkMaskStream is the cost of masking an answer relayed in 32 KiB
// reads, with a key set (the deployment's) and without.
func BenchmarkMaskStream(b *testing.B) {
	body := bytes.Repeat([]byte(upstreamAnswer), 64) // ~50 KB
	for _, keyed := range []bool{false, true} {
		b.Run(map[bool]string{false: "key=none", true: "key=set"}[keyed], func(b *testing.B) {
			var m *masker
			if keyed {
				m = newMasker("Bearer sk-proj-0123456789abcdefghijklmnopqrstuvwxyz")
			}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				s := maskStream{m: m}
				for off := 0; off < len(body); off += 32 << 10 {
					_ = s.next(body[off:min(len(body), off+32<<10)])
				}
				_ = s.rest()
			}
		})
	}
}

// deltas joins the content deltas of a relayed stream, as a client does.
func deltas(t *testing.T, stream []byte) string {
	t.Helper()
	var out strings.Builder
	for _, line := range strings.Split(string(stream), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		var ev struct {
			Choices []struct {
				Delta struct {
					Content string `json:"content"`
				} `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &ev); err != nil {
			t.Fatalf("event %q: %v", data, err)
		}
		for _, c := range ev.Choices {
			out.WriteString(c.Delta.Content)
		}
	}
	return out.String()
}

func deltaEvent(content string) string {
	b, _ := json.Marshal(content)
	return `data: {"id":"c1","choices":[{"index":0,"delta":{"content":` + string(b) + `}}]}` + "\n\n"
}

// TestEventMaskerEverySplit: a key spelled out over two or three events,
// cut at every place, is masked in what the client joins; every event
// keeps its length, and a stream without the key passes unchanged.
func TestEventMaskerEverySplit(t *testing.T) {
	const key = "sk-proj-EVENTSPLIT-0123456789"
	m := newMasker("Bearer " + key)
	run := func(parts ...string) []byte {
		em := eventMasker{m: m}
		var out bytes.Buffer
		for _, p := range parts {
			raw := []byte(deltaEvent(p))
			m.bytes(raw) // as pipeStream does: each event masked by itself first
			for _, ev := range em.push(raw) {
				out.Write(ev)
			}
		}
		for _, ev := range em.push([]byte("data: [DONE]\n\n")) {
			out.Write(ev)
		}
		for _, ev := range em.flush() {
			out.Write(ev)
		}
		return out.Bytes()
	}
	text := "the key is " + key + " and again: " + key + "."
	for cut := 0; cut <= len(text); cut++ {
		for cut2 := cut; cut2 <= len(text); cut2 += 7 {
			out := run(text[:cut], text[cut:cut2], text[cut2:])
			got := deltas(t, out)
			if strings.Contains(got, "EVENTSPLIT") || strings.Count(got, "[redacted]") != 2 || len(got) != len(text) {
				t.Fatalf("cuts %d,%d: the client reads %q", cut, cut2, got)
			}
		}
	}
	plain := []string{"s", "k", "-", "no key here, only its first bytes: sk-pr", "oj and more"}
	want := ""
	for _, p := range plain {
		want += deltaEvent(p)
	}
	if got := run(plain...); string(got) != want+"data: [DONE]\n\n" {
		t.Fatalf("a stream without the key changed:\n%s", got)
	}
	// Without keys, events pass as they are.
	em := eventMasker{}
	if evs := em.push([]byte(deltaEvent("sk-"))); len(evs) != 1 {
		t.Fatalf("no masker: %d events", len(evs))
	}
}

// TestStreamKeySplitAcrossEvents: a real loopback upstream streams the
// key a call carried, spelled out over two SSE events, each sent a byte
// at a time (so every event also crosses network reads), cut at several
// places. What the client joins from the deltas, and what is recorded,
// never holds the key; the answer's deltas keep their length.
func TestStreamKeySplitAcrossEvents(t *testing.T) {
	const key = "sk-proj-STREAMSPLIT-abcdef012345"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in, _ := io.ReadAll(r.Body)
		_, after, _ := bytes.Cut(in, []byte("cut="))
		cut, _ := strconv.Atoi(string(after[:bytes.IndexByte(after, '"')]))
		got := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		text := "echo: " + got + "!"
		cut = min(cut, len(text))
		body := deltaEvent(text[:cut]) + deltaEvent(text[cut:]) +
			`data: {"id":"c1","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}` + "\n\ndata: [DONE]\n\n"
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := 0; i < len(body); i++ {
			_, _ = w.Write([]byte{body[i]})
			_ = rc.Flush()
		}
	}))
	defer up.Close()
	e := newEnv(t, Options{Deployments: []Deployment{{Name: "keyed", Type: DeploymentOpenAI, BaseURL: up.URL, APIKey: key}}})
	for _, cut := range []int{7, 8, 9, 12, 20, 30, 37} {
		resp, body := post(t, e.srv.URL+"/v1/chat/completions", `{"model":"keyed","stream":true,"messages":[{"role":"user","content":"cut=`+strconv.Itoa(cut)+`"}]}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("cut %d: %d %s", cut, resp.StatusCode, body)
		}
		got := deltas(t, body)
		if strings.Contains(got, "STREAMSPLIT") || !strings.Contains(got, "[redacted]") || len(got) != len("echo: "+key+"!") {
			t.Errorf("cut %d: the client joins %q", cut, got)
		}
		sp := e.sink.wait(t)
		rec, _ := json.Marshal(sp)
		if bytes.Contains(rec, []byte("STREAMSPLIT")) {
			t.Errorf("cut %d: the record holds the key: %s", cut, rec)
		}
	}
	if bytes.Contains(e.logs.Bytes(), []byte("STREAMSPLIT")) {
		t.Errorf("the logs hold the key: %s", e.logs.Bytes())
	}
}

// BenchmarkEventMasker is the cost per event of watching a stream's
// deltas for a key spelled out across events (a typical answer: short
// deltas, some ending in a key's first bytes).
func BenchmarkEventMasker(b *testing.B) {
	words := []string{"Hello", "! How", " can", " I", " assist", " you", " today", "? s", "k", "ure"}
	var evs [][]byte
	size := 0
	for i := range 200 {
		evs = append(evs, []byte(deltaEvent(words[i%len(words)])))
		size += len(evs[i])
	}
	for _, keyed := range []bool{false, true} {
		b.Run(map[bool]string{false: "key=none", true: "key=set"}[keyed], func(b *testing.B) {
			var m *masker
			if keyed {
				m = newMasker("Bearer sk-proj-0123456789abcdefghijklmnopqrstuvwxyz")
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				em := eventMasker{m: m}
				for _, ev := range evs {
					_ = em.push(ev)
				}
				_ = em.flush()
			}
		})
	}
}
