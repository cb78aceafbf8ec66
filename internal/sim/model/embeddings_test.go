package model

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/genscope/genscope/internal/tokens"
)

type embeddingList struct {
	Object string `json:"object"`
	Data   []struct {
		Object    string          `json:"object"`
		Index     int             `json:"index"`
		Embedding json.RawMessage `json:"embedding"`
	} `json:"data"`
	Model string `json:"model"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

func vectors(t *testing.T, l embeddingList) [][]float64 {
	t.Helper()
	var out [][]float64
	for _, d := range l.Data {
		var v []float64
		if d.Embedding[0] == '"' {
			var s string
			if err := json.Unmarshal(d.Embedding, &s); err != nil {
				t.Fatal(err)
			}
			raw, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+4 <= len(raw); i += 4 {
				v = append(v, float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[i:]))))
			}
		} else if err := json.Unmarshal(d.Embedding, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func dot(a, b []float64) (s float64) {
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func TestEmbeddings(t *testing.T) {
	_, srv := server(t, Options{Model: "text-embedding-3-small", NoLatency: true})
	embed := func(body string) embeddingList {
		t.Helper()
		resp, b := post(t, srv.URL+"/openai/deployments/emb/embeddings?api-version=2024-10-21", body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
		var l embeddingList
		if err := json.Unmarshal(b, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	f := func(body string, n, dims, tokens int) [][]float64 {
		t.Helper()
		l := embed(body)
		vs := vectors(t, l)
		if l.Object != "list" || l.Model != "text-embedding-3-small" || len(vs) != n || l.Usage.PromptTokens != tokens || l.Usage.TotalTokens != tokens {
			t.Errorf("%s: %d vectors, usage %+v", body, len(vs), l.Usage)
		}
		for i, v := range vs {
			if len(v) != dims || math.Abs(dot(v, v)-1) > 1e-4 || l.Data[i].Index != i || l.Data[i].Object != "embedding" {
				t.Errorf("%s: vector %d has %d dims, norm² %v", body, i, len(v), dot(v, v))
			}
		}
		return vs
	}
	a := f(`{"input":"The food was delicious and the waiter was friendly."}`, 1, 1536, tokens.Count("The food was delicious and the waiter was friendly."))
	again := f(`{"input":"The food was delicious and the waiter was friendly.","encoding_format":"float"}`, 1, 1536, tokens.Count("The food was delicious and the waiter was friendly."))
	if dot(a[0], again[0]) < 0.9999 {
		t.Error("same input, different vector")
	}
	vs := f(`{"input":["The food was delicious and the waiter was friendly.","The food was delicious.","Quarterly tax filing deadlines"],"dimensions":256,"encoding_format":"base64"}`,
		3, 256, tokens.Count("The food was delicious and the waiter was friendly.")+tokens.Count("The food was delicious.")+tokens.Count("Quarterly tax filing deadlines"))
	if near, far := dot(vs[0], vs[1]), dot(vs[0], vs[2]); near <= far {
		t.Errorf("similar texts %.3f should be closer than unrelated ones %.3f", near, far)
	}
	f(`{"input":[1,2,3]}`, 1, 1536, 3)
	f(`{"input":[[1,2],[3]]}`, 2, 1536, 3)

	errs := []struct{ body, code string }{
		{`{"input":""}`, "invalid_value"},
		{`{"input":[]}`, "invalid_value"},
		{`{}`, "missing_required_parameter"},
		{`{"input":{}}`, "invalid_type"},
		{`{"input":[-1]}`, "invalid_value"},
		{`{"input":"x","dimensions":0}`, "integer_below_min_value"},
		{`{"input":"x","dimensions":4000}`, "integer_above_max_value"},
		{`{"input":"x","encoding_format":"hex"}`, "invalid_value"},
		{`{"input":"` + strings.Repeat("hello ", 9000) + `"}`, "context_length_exceeded"},
	}
	for _, e := range errs {
		resp, b := post(t, srv.URL+"/v1/embeddings", e.body)
		var eb errorBody
		if err := json.Unmarshal(b, &eb); err != nil || resp.StatusCode != http.StatusBadRequest || deref(eb.Error.Code) != e.code {
			t.Errorf("%.60s: %d %.300s, want 400 %s", e.body, resp.StatusCode, b, e.code)
		}
	}
}

func TestEmbeddingsAda(t *testing.T) {
	_, srv := server(t, Options{Model: "text-embedding-ada-002", NoLatency: true})
	resp, b := post(t, srv.URL+"/v1/embeddings", `{"input":"x","dimensions":10}`)
	if resp.StatusCode != 400 || !strings.Contains(string(b), "does not support specifying dimensions") {
		t.Errorf("%d %s", resp.StatusCode, b)
	}
}

func FuzzEmbeddingRequest(f *testing.F) {
	for _, s := range []string{
		`{"input":"hello"}`, `{"input":["a","b"],"dimensions":8,"encoding_format":"base64"}`,
		`{"input":[1,2,3]}`, `{"input":[[1],[2,3]]}`, `{"input":[[]]}`, `{"input":[null]}`, `{"input":[{}]}`, `{`,
	} {
		f.Add([]byte(s))
	}
	m, err := New(Options{Model: "text-embedding-3-small", NoLatency: true, EmbeddingDimensions: 16})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		w := httptest.NewRecorder()
		m.ServeHTTP(w, httptest.NewRequest("POST", "/v1/embeddings", bytes.NewReader(body)))
		switch w.Code {
		case http.StatusOK:
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("invalid JSON response %s", w.Body)
			}
		case http.StatusBadRequest:
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Message == "" {
				t.Fatalf("400 without an OpenAI error: %s", w.Body)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
