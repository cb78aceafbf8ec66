package duckdb

import (
	"fmt"
	"hash/fnv"
	"reflect"

	json "github.com/goccy/go-json"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// spanDetail is what spans.detail holds: the fields of a genai.Span that
// have no column of their own. Rows written before migration 0004 hold the
// whole span; decoding them into this struct keeps what it names,
// including their resource attributes.
type spanDetail struct {
	Kind               string          `json:"kind,omitempty"`
	ScopeName          string          `json:"scope_name,omitempty"`
	Source             genai.Source    `json:"source,omitempty"`
	StatusMessage      string          `json:"status_message,omitempty"`
	HTTPStatus         int             `json:"http_status,omitempty"`
	ResponseID         string          `json:"response_id,omitempty"`
	FinishReasons      []string        `json:"finish_reasons,omitempty"`
	Params             genai.Params    `json:"params"`
	SystemInstructions []genai.Part    `json:"system_instructions,omitempty"`
	InputMessages      []genai.Message `json:"input_messages,omitempty"`
	OutputMessages     []genai.Message `json:"output_messages,omitempty"`
	ContentTruncated   bool            `json:"content_truncated,omitempty"`
	Attributes         map[string]any  `json:"attributes,omitempty"`
	Events             []genai.Event   `json:"events,omitempty"`
	ResourceAttributes map[string]any  `json:"resource_attributes,omitempty"` // rows before 0004 only
}

// encodeDetail encodes the span's detail. The attributes and events are
// written by store.AppendValue, linear in their depth and cut at
// genai.MaxValueDepth (go-json's sorted map encoder is quadratic in depth:
// a 30,000-deep attribute took seconds and gigabytes).
func encodeDetail(sp *genai.Span) ([]byte, error) {
	raw, err := json.Marshal(spanDetail{
		Kind: sp.Kind, ScopeName: sp.ScopeName, Source: sp.Source, StatusMessage: sp.StatusMessage,
		HTTPStatus: sp.HTTPStatus, ResponseID: sp.ResponseID, FinishReasons: sp.FinishReasons, Params: sp.Params,
		SystemInstructions: sp.SystemInstructions, InputMessages: sp.InputMessages, OutputMessages: sp.OutputMessages,
		ContentTruncated: sp.ContentTruncated,
	})
	if err != nil || (len(sp.Attributes) == 0 && len(sp.Events) == 0) {
		return raw, err
	}
	raw = raw[:len(raw)-1] // the object's "}"; "params" is always there before it
	if len(sp.Attributes) > 0 {
		raw = append(raw, `,"attributes":`...)
		raw = store.AppendAttributes(raw, sp.Attributes)
	}
	if len(sp.Events) > 0 {
		raw = append(raw, `,"events":`...)
		raw = store.AppendEvents(raw, sp.Events)
	}
	return append(raw, '}'), nil
}

// decodeDetail fills the fields of sp that detail holds.
func decodeDetail(raw string, sp *genai.Span) error {
	var d spanDetail
	if err := json.Unmarshal([]byte(store.CutTooDeep(raw)), &d); err != nil {
		return err
	}
	sp.Kind, sp.ScopeName, sp.Source, sp.StatusMessage = d.Kind, d.ScopeName, d.Source, d.StatusMessage
	sp.HTTPStatus, sp.ResponseID, sp.FinishReasons, sp.Params = d.HTTPStatus, d.ResponseID, d.FinishReasons, d.Params
	sp.SystemInstructions, sp.InputMessages, sp.OutputMessages = d.SystemInstructions, d.InputMessages, d.OutputMessages
	sp.ContentTruncated, sp.Attributes, sp.Events = d.ContentTruncated, d.Attributes, d.Events
	if d.ResourceAttributes != nil {
		sp.ResourceAttributes = d.ResourceAttributes
	}
	return nil
}

// resourceSet remembers which resources are stored.
type resourceSet struct {
	stored map[uint64]bool
}

// row0 is the part of a span's row that takes CPU to make: it is made
// before Write (in Prepare, on the submitter's goroutine) when it can be.
type row0 struct {
	detail  string
	content string // own system, input and output text joined by NUL
	mask    uint8  // kinds of content the span carries
	resHash uint64 // 0: no resource attributes
	resJSON string
}

var _ store.Preparer = (*DB)(nil)

// Prepare encodes the batch's rows; Write then only appends them. It is
// safe to call concurrently for different batches, and needs no lock.
func (s *DB) Prepare(b *store.Batch) error {
	if len(b.Prepared) == len(b.Spans) {
		return nil
	}
	rows, err := makeRows(b.Spans)
	if err != nil {
		return err
	}
	b.Prepared = make([]any, len(rows))
	for i, r := range rows {
		b.Prepared[i] = r
	}
	return nil
}

// preparedRows returns the rows Prepare made, or makes them.
func preparedRows(b *store.Batch) ([]*row0, error) {
	if len(b.Prepared) == len(b.Spans) {
		rows := make([]*row0, len(b.Spans))
		ok := true
		for i, p := range b.Prepared {
			r, isRow := p.(*row0)
			if !isRow {
				ok = false
				break
			}
			rows[i] = r
		}
		if ok {
			return rows, nil
		}
	}
	return makeRows(b.Spans)
}

func makeRows(spans []genai.Span) ([]*row0, error) {
	rows := make([]*row0, len(spans))
	all := make([]row0, len(spans))
	byMap := map[uintptr]*row0{} // sources share one resource map among a resource's spans
	for i := range spans {
		sp, r := &spans[i], &all[i]
		rows[i] = r
		detail, err := encodeDetail(sp)
		if err != nil {
			return nil, fmt.Errorf("span %s/%s: encode: %w", sp.TraceID, sp.SpanID, err)
		}
		r.detail = string(detail)
		r.mask, r.content = store.OwnContent(sp)
		if len(sp.ResourceAttributes) == 0 {
			continue
		}
		ptr := reflect.ValueOf(sp.ResourceAttributes).Pointer()
		if prev := byMap[ptr]; prev != nil {
			r.resHash, r.resJSON = prev.resHash, prev.resJSON
			continue
		}
		raw := store.AppendAttributes(nil, sp.ResourceAttributes) // keys sorted: equal maps encode equally
		f := fnv.New64a()
		_, _ = f.Write(raw)
		r.resHash = f.Sum64() | 1 // never 0, which means "no resource"
		r.resJSON = string(raw)
		byMap[ptr] = r
	}
	return rows, nil
}
