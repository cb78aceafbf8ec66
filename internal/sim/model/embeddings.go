package model

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/jsonstr"
)

// maxEmbeddingInputs is the most inputs one embeddings request may carry.
const maxEmbeddingInputs = 2048

// maxTokenID bounds the token ids accepted as embedding input (o200k_base).
const maxTokenID = 200018

type embeddingRequest struct {
	Input          json.RawMessage `json:"input"`
	Dimensions     *int64          `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
}

// embeddingInput is one input: text or token ids.
type embeddingInput struct {
	text   string
	ids    []int64
	isText bool
}

const invalidInput = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."

// parseEmbeddingInput accepts string | []string | []int | [][]int.
func parseEmbeddingInput(raw json.RawMessage) ([]embeddingInput, *apiError) {
	bad := badRequest("input", "invalid_value", invalidInput)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest("input", "missing_required_parameter", "Missing required parameter: 'input'.")
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return nil, bad
		}
		return []embeddingInput{{text: s, isText: true}}, nil
	case '[':
	default:
		return nil, badRequest("input", "invalid_type", "Invalid type for 'input': expected one of a string, array of strings, array of integers or array of arrays of integers, but got %s instead.", jsonKind(raw))
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil || len(elems) == 0 {
		return nil, bad
	}
	if len(elems) > maxEmbeddingInputs {
		return nil, badRequest("input", "array_above_max_length", "Invalid 'input': array too long. Expected an array with maximum length %d, but got an array with length %d instead.", maxEmbeddingInputs, len(elems))
	}
	validIDs := func(ids []int64) bool {
		for _, id := range ids {
			if id < 0 || id > maxTokenID {
				return false
			}
		}
		return len(ids) > 0
	}
	switch elems[0][0] {
	case '"':
		var ss []string
		if json.Unmarshal(raw, &ss) != nil {
			return nil, bad
		}
		out := make([]embeddingInput, len(ss))
		for i, s := range ss {
			if s == "" {
				return nil, bad
			}
			out[i] = embeddingInput{text: s, isText: true}
		}
		return out, nil
	case '[':
		var all [][]int64
		if json.Unmarshal(raw, &all) != nil {
			return nil, bad
		}
		out := make([]embeddingInput, len(all))
		for i, ids := range all {
			if !validIDs(ids) {
				return nil, bad
			}
			out[i] = embeddingInput{ids: ids}
		}
		return out, nil
	default:
		var ids []int64
		if json.Unmarshal(raw, &ids) != nil || !validIDs(ids) {
			return nil, bad
		}
		return []embeddingInput{{ids: ids}}, nil
	}
}

func (m *Model) serveEmbeddings(w http.ResponseWriter, r *http.Request) {
	body, aerr := readBody(w, r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	var req embeddingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, decodeError(err, ""))
		return
	}
	inputs, aerr := parseEmbeddingInput(req.Input)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	if !m.fam.embedding {
		writeError(w, badRequest("", "OperationNotSupported", "The embeddings operation does not work with the specified model, %s. Please choose different model and try again. You can learn more about which models can be used with each operation here: https://go.microsoft.com/fwlink/?linkid=2197993.", m.o.Model))
		return
	}
	dims, aerr := m.embeddingDims(req.Dimensions)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	base64Out := false
	switch req.EncodingFormat {
	case "", "float":
	case "base64":
		base64Out = true
	default:
		writeError(w, badRequest("encoding_format", "invalid_value", "Invalid value: '%s'. Supported values are: 'float' and 'base64'.", req.EncodingFormat))
		return
	}
	total := 0
	for _, in := range inputs {
		n := len(in.ids)
		if in.isText {
			n = m.count(in.text)
		}
		if n > m.o.ContextWindow {
			writeError(w, badRequest("input", "context_length_exceeded", "This model's maximum context length is %d tokens, however you requested %d tokens (%d in your prompt; 0 for the completion). Please reduce your prompt; or completion length.", m.o.ContextWindow, n, n))
			return
		}
		total += n
	}
	v := m.quota.admit(m.now(), total)
	m.quota.setHeaders(w.Header(), v)
	if !v.ok {
		writeQuotaError(w, r, "Embeddings_Create", v)
		return
	}
	b := appendEmbeddings([]byte(`{"object":"list","data":[`), inputs, dims, base64Out)
	b = append(b, `],"model":`...)
	b = jsonstr.Append(b, m.o.ResponseModel)
	b = fmt.Appendf(b, `,"usage":{"prompt_tokens":%d,"total_tokens":%d}}`+"\n", total, total)
	ttft, tpt := m.latency()
	if m.wait(r.Context(), ttft+time.Duration(total)*tpt) != nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// embeddingDims is the vector size asked for: the model's own, or the
// request's dimensions where the model lets them be set.
func (m *Model) embeddingDims(asked *int64) (int, *apiError) {
	dims := m.o.EmbeddingDimensions
	if asked == nil {
		return dims, nil
	}
	switch d := *asked; {
	case !m.fam.dimsSettable:
		return 0, badRequest("dimensions", "", "This model does not support specifying dimensions.")
	case d < 1:
		return 0, badRequest("dimensions", "integer_below_min_value", "Invalid 'dimensions': integer below minimum value. Expected a value >= 1, but got %d instead.", d)
	case d > int64(dims):
		return 0, badRequest("dimensions", "integer_above_max_value", "Invalid 'dimensions': integer above maximum value. Expected a value <= %d, but got %d instead.", dims, d)
	default:
		return int(d), nil
	}
}

// appendEmbeddings appends the data array's items, one vector per input,
// as floats or base64 of little-endian float32s.
func appendEmbeddings(b []byte, inputs []embeddingInput, dims int, base64Out bool) []byte {
	vec := make([]float32, dims)
	raw := make([]byte, 4*dims)
	for i, in := range inputs {
		embed(in, vec)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"object":"embedding","index":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"embedding":`...)
		if base64Out {
			for j, f := range vec {
				binary.LittleEndian.PutUint32(raw[4*j:], math.Float32bits(f))
			}
			b = append(b, '"')
			b = base64.StdEncoding.AppendEncode(b, raw)
			b = append(b, '"')
		} else {
			b = append(b, '[')
			for j, f := range vec {
				if j > 0 {
					b = append(b, ',')
				}
				b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	return b
}

// embed writes a deterministic unit vector for in into vec: the sum of a
// pseudo-random vector per word (so inputs sharing words are similar) and
// a smaller one for the whole input (so different inputs differ).
func embed(in embeddingInput, vec []float32) {
	clear(vec)
	add := func(seed uint64, weight float32) {
		rng := splitmix(seed)
		for i := range vec {
			vec[i] += weight * float32(int64(rng.next())) / (1 << 63)
		}
	}
	if in.isText {
		add(fnv64(in.text), 0.5)
		for _, w := range splitWords(strings.ToLower(in.text)) {
			add(fnv64(w), 1)
		}
	} else {
		var key []byte
		for _, id := range in.ids {
			key = strconv.AppendInt(key, id, 10)
			key = append(key, ',')
			add(uint64(id)*0x9e3779b97f4a7c15+1, 1)
		}
		add(fnv64(string(key)), 0.5)
	}
	var sum float64
	for _, f := range vec {
		sum += float64(f) * float64(f)
	}
	if sum == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range vec {
		vec[i] *= inv
	}
}
