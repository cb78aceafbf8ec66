package spanrows

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/keyset"
)

// Rows is a result set of either backend's driver (database/sql's
// *sql.Rows, clickhouse-go's driver.Rows).
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// Row is one span as read for a summary or a trace.
type Row struct {
	Hi, Lo, Span, Parent uint64
	Name, Service        string
	Start, Dur, TTFT     int64
	Status, ErrType      string
	Op, Provider, Model  string
	RespModel            string
	In, Out              int64
	CostKnown            bool
	Cost                 float64
	Session, User        string // the span's own
	Mask                 uint8  // the content kinds the span carries itself (store.Mask*)
	Content              string // own content text as store.OwnContent writes it
	Paired               bool   // recorded by the app and the gateway (store.Store: one call, one count)
	Detail               string // the rest of the span, as the backend encodes it (traces only)

	// Set by Resolve: the effective session and user, and the text of
	// the message records of the kinds the span lacks.
	EffSession, EffUser   string
	RecSys, RecIn, RecOut []string
}

// Dest is where a result row of the summary columns scans to. A
// backend selects, in this order: trace_hi, trace_lo, span_id,
// parent_id, name, service, start_ns, status, error_type, duration_ns,
// ttft_ns, operation, provider, model, response_model, input_tokens,
// output_tokens, whether the cost is known (a boolean or 0/1), the cost
// (anything when unknown), session_id, user_id, content_mask,
// content_text, whether the span is paired (a boolean or 0/1).
func (r *Row) Dest() []any {
	return []any{&r.Hi, &r.Lo, &r.Span, &r.Parent, &r.Name, &r.Service, &r.Start, &r.Status,
		&r.ErrType, &r.Dur, &r.TTFT, &r.Op, &r.Provider, &r.Model, &r.RespModel,
		&r.In, &r.Out, &r.CostKnown, &r.Cost, &r.Session, &r.User, &r.Mask, &r.Content, &r.Paired}
}

// Key is the row's position in the spans order.
func (r *Row) Key() keyset.Key { return keyset.Key{Start: r.Start, Span: r.Span, Hi: r.Hi, Lo: r.Lo} }

// Summary is the row as a line of the spans table; Queries.Resolve must
// have run.
func (r *Row) Summary() store.SpanSummary {
	sys, rest, _ := strings.Cut(r.Content, "\x00")
	input, rest, _ := strings.Cut(rest, "\x00")
	output, inPreview, hasPreview := strings.Cut(rest, "\x00")
	if !hasPreview { // a row written before the preview segment
		inPreview = input
	}
	inRec := ""
	if r.Mask&store.MaskInput == 0 {
		inRec = store.RecordsPreviewText(r.RecIn)
	}
	ss := store.SpanSummary{
		TraceID:       store.TraceFromHiLo(r.Hi, r.Lo).String(),
		SpanID:        store.SpanFromU64(r.Span).String(),
		Name:          r.Name,
		Service:       r.Service,
		StartTime:     time.Unix(0, r.Start).UTC(),
		Status:        genai.Status(r.Status),
		ErrorType:     r.ErrType,
		DurationMS:    float64(r.Dur) / 1e6,
		Operation:     r.Op,
		Class:         genai.ClassOf(r.Op),
		Provider:      r.Provider,
		Model:         r.Model,
		ResponseModel: r.RespModel,
		InputTokens:   r.In,
		OutputTokens:  r.Out,
		Session:       r.EffSession,
		User:          r.EffUser,
		System:        store.Preview(pick(r.Mask&store.MaskSystem != 0, sys, r.RecSys)),
		Input:         store.Preview(pickText(r.Mask&store.MaskInput != 0, inPreview, inRec)),
		Output:        store.Preview(pick(r.Mask&store.MaskOutput != 0, output, r.RecOut)),
	}
	if r.Paired {
		ss.SeenBy = store.SeenByBoth()
	}
	if r.Parent != 0 {
		ss.ParentSpanID = store.SpanFromU64(r.Parent).String()
	}
	if r.TTFT > 0 {
		v := float64(r.TTFT) / 1e6
		ss.TTFTMS = &v
	}
	if r.CostKnown && ss.Class == genai.ClassCall {
		v := r.Cost
		ss.CostUSD = &v
	}
	return ss
}

// pick is the span's own text of a kind when it has it, else the
// non-empty texts of its records of that kind, one a line.
func pick(own bool, text string, rec []string) string {
	if own {
		return text
	}
	var nonEmpty []string
	for _, t := range rec {
		if t != "" {
			nonEmpty = append(nonEmpty, t)
		}
	}
	return strings.Join(nonEmpty, "\n")
}

// pickText is own when the span has content of the kind itself, else
// the text from its records.
func pickText(hasOwn bool, own, rec string) string {
	if hasOwn {
		return own
	}
	return rec
}

// Summaries are the rows' summaries.
func Summaries(rows []Row) []store.SpanSummary {
	out := make([]store.SpanSummary, 0, len(rows))
	for i := range rows {
		out = append(out, rows[i].Summary())
	}
	return out
}

// ScanKeys reads the keys of a page, in the result's order, from rows of
// (start_ns, span_id, trace_hi, trace_lo) and, when sortCol, a fifth
// column (a sort value the keys do not keep).
func ScanKeys(rs Rows, sortCol bool) ([]keyset.Key, error) {
	defer rs.Close()
	var keys []keyset.Key
	for rs.Next() {
		var k keyset.Key
		dest := []any{&k.Start, &k.Span, &k.Hi, &k.Lo}
		if sortCol {
			var sortv int64
			dest = append(dest, &sortv)
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rs.Err()
}

// KeySpan is the span ids of keys and the range of their starts: what
// the second phase of a page reads.
func KeySpan(keys []keyset.Key) (spanIDs []uint64, minStart, maxStart int64) {
	minStart, maxStart = keys[0].Start, keys[0].Start
	spanIDs = make([]uint64, len(keys))
	for i, k := range keys {
		minStart, maxStart = min(minStart, k.Start), max(maxStart, k.Start)
		spanIDs[i] = k.Span
	}
	return spanIDs, minStart, maxStart
}

// InKeyOrder reads rows of the summary columns (Dest) and returns those of keys, in the
// keys' order, each once (the first copy read: a backend may still hold
// copies of a retried span).
func InKeyOrder(rs Rows, keys []keyset.Key) ([]Row, error) {
	defer rs.Close()
	byKey := make(map[keyset.Key]Row, len(keys))
	for rs.Next() {
		var r Row
		if err := rs.Scan(r.Dest()...); err != nil {
			return nil, err
		}
		if _, dup := byKey[r.Key()]; !dup {
			byKey[r.Key()] = r
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	out := make([]Row, 0, len(keys))
	for _, k := range keys {
		if r, ok := byKey[k]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// U64List is the distinct values, sorted, as an SQL list (for IN).
func U64List(vs []uint64) string {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	vs = slices.Compact(vs)
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(parts, ",")
}
