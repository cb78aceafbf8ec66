package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/genscope/genscope/internal/privacy"
)

func FuzzTopLevel(f *testing.F) {
	for _, s := range []string{
		`{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"stream":true}`,
		`{}`, ` { "a" : [1, {"b": "}"}], "c\"d": null } `, `{"a":1,}`, `[1]`, `{"a"}`, `{"\u006dodel":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, err := topLevel(b)
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) == nil && m != nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			// Every valid object is read, with the same members.
			if err != nil {
				t.Fatalf("valid object refused: %v", err)
			}
			keys := map[string]bool{}
			for _, x := range ms {
				keys[x.key(b)] = true
				if !json.Valid(x.value(b)) {
					t.Fatalf("value %q of %q is not the JSON value", x.value(b), x.key(b))
				}
			}
			if len(keys) != len(m) {
				t.Fatalf("members %v vs %v", keys, m)
			}
		}
		if err != nil {
			return
		}
		// The edits the gateway makes keep a valid body valid.
		if !json.Valid(b) {
			return
		}
		for _, typ := range []string{DeploymentOpenAI, DeploymentAzureOpenAI} {
			d := &deployment{cfg: Deployment{Name: "x", Model: "m", Type: typ}}
			out, _ := rewrite(b, ms, d, bytes.Contains(b, []byte(`"stream":true`)) && len(ms) > 0)
			if !json.Valid(out) {
				t.Fatalf("rewrite made invalid JSON: %s -> %s", b, out)
			}
		}
	})
}

// FuzzSSE checks that splitting a stream into events loses and adds
// nothing, however the bytes arrive.
func FuzzSSE(f *testing.F) {
	f.Add([]byte(sseBody(chunks(true))), uint8(1))
	f.Add([]byte("data: a\r\ndata: b\r\n\r\n: comment\n\nevent: x\ndata:{}\n\ndata: tail"), uint8(3))
	f.Add([]byte("\n\n\n"), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		var r io.Reader = bytes.NewReader(in)
		switch mode % 3 {
		case 1:
			r = iotest.OneByteReader(r)
		case 2:
			r = iotest.HalfReader(r)
		}
		sr := newSSEReader(r, 1<<20)
		var got []byte
		for range len(in) + 2 {
			raw, data, hasData, err := sr.next()
			got = append(got, raw...)
			if hasData && bytes.Contains(data, []byte("\r")) && !bytes.Contains(in, []byte("\r")) {
				t.Fatalf("data %q has bytes the input lacks", data)
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got, in) {
			t.Fatalf("stream changed:\n%q\n%q", in, got)
		}
	})
}

func TestSSEData(t *testing.T) {
	sr := newSSEReader(strings.NewReader("data: a\ndata:b\r\n\r\n: keep-alive\n\nid: 1\ndata: {\"x\":1}\n\ndata: [DONE]\n\n"), 1<<20)
	var datas []string
	for {
		_, data, has, err := sr.next()
		if has {
			datas = append(datas, string(data))
		}
		if err != nil {
			break
		}
	}
	if strings.Join(datas, "|") != "a\nb|{\"x\":1}|[DONE]" {
		t.Errorf("%q", datas)
	}
	_, _, _, err := newSSEReader(strings.NewReader("data: "+strings.Repeat("x", 100)), 50).next()
	if !errors.Is(err, errEventTooLarge) {
		t.Errorf("large event: %v", err)
	}
}

func TestStripUsageEvent(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`data: {"a":1,"usage":null}` + "\n\n", `data: {"a":1}` + "\n\n"},
		{`data: {"usage":null,"a":1}` + "\n\n", `data: {"a":1}` + "\n\n"},
		{`data: {"choices":[],"usage":{"prompt_tokens":1}}` + "\n\n", ``},
		{`data: {"choices":[{"x":1}],"usage":{"prompt_tokens":1}}` + "\n\n", `data: {"choices":[{"x":1}],"usage":{"prompt_tokens":1}}` + "\n\n"},
		{`data: {"a":"usage"}` + "\n\n", `data: {"a":"usage"}` + "\n\n"},
	} {
		data := strings.TrimSuffix(strings.TrimPrefix(c.in, "data: "), "\n\n")
		if got := string(stripUsageEvent([]byte(c.in), []byte(data))); got != c.want {
			t.Errorf("%q -> %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRewrite(t *testing.T) {
	d := &deployment{cfg: Deployment{Name: "x", Model: "m", Type: DeploymentOpenAI}}
	for _, c := range []struct {
		in, want string
		stream   bool
		strip    bool
	}{
		{`{"model":"m","messages":[]}`, `{"model":"m","messages":[]}`, false, false},
		{`{"model":"x","messages":[]}`, `{"model":"m","messages":[]}`, false, false},
		{`{"messages":[]}`, `{"model":"m","messages":[]}`, false, false},
		{`{"model":"m","stream":true}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true, true},
		{`{"model":"m","stream":true,"stream_options":{}}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true, true},
		{`{"model":"m","stream":true,"stream_options":{"include_usage":false}}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true, true},
		{`{"model":"m","stream":true,"stream_options":{"x":1}}`, `{"model":"m","stream":true,"stream_options":{"x":1,"include_usage":true}}`, true, true},
		{`{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, `{"model":"m","stream":true,"stream_options":{"include_usage":true}}`, true, false},
	} {
		ms, err := topLevel([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		got, strip := rewrite([]byte(c.in), ms, d, c.stream)
		if string(got) != c.want || strip != c.strip {
			t.Errorf("%s -> %s %v", c.in, got, strip)
		}
	}
	var keys []string
	b := []byte(`{"b":1,"a":{"x":[1,2]},"c":"s"}`)
	ms, _ := topLevel(b)
	for _, m := range ms {
		keys = append(keys, m.key(b))
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "a,b,c" {
		t.Error(keys)
	}
}

// FuzzRecord feeds arbitrary requests, answers and stream chunks to the
// record builder: it must never panic, whatever an upstream sends.
func FuzzRecord(f *testing.F) {
	f.Add([]byte(`{"model":"gpt-4o","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`), []byte(upstreamAnswer), []byte(chunks(true)[1]), false)
	f.Add([]byte(`{"messages":[{"role":"tool","content":"x","tool_call_id":"1"}]}`), []byte(`{"error":{"code":429,"message":"x"}}`), []byte(`{"choices":[{"index":99999,"delta":{"tool_calls":[{"index":-1}]}}]}`), true)
	d, _ := newDeployment(Deployment{Name: "gpt-4o", Type: DeploymentOpenAI, BaseURL: "http://x"}.WithDefaults())
	g := &Gateway{opts: Options{Capture: privacy.Full}}
	f.Fuzz(func(t *testing.T, req, resp, chunk []byte, stream bool) {
		c := &call{deployment: d, op: opChat, reqBody: req, status: 200, stream: stream}
		if stream {
			c.evBuf = append(append([]byte{}, chunk...), resp...)
			c.events = []event{{at: 1, start: 0, end: len(chunk)}, {at: 2, start: len(chunk), end: len(c.evBuf)}}
		} else {
			c.respBody = resp
		}
		_ = g.buildSpan(c)
	})
}
