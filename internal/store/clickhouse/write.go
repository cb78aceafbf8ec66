package clickhouse

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// Content kinds in spans.content_mask.
const (
	maskSystem = store.MaskSystem
	maskInput  = store.MaskInput
	maskOutput = store.MaskOutput
	maskAll    = store.MaskAll
)

// recentGeneration is how many span keys one generation of the recent set
// holds; the set keeps two.
const recentGeneration = 1 << 20

var window = store.CorrelationWindow.Nanoseconds()

func traceHiLo(t genai.TraceID) (uint64, uint64) {
	return binary.BigEndian.Uint64(t[:8]), binary.BigEndian.Uint64(t[8:])
}

func spanU64(s genai.SpanID) uint64 { return binary.BigEndian.Uint64(s[:]) }

func traceFromHiLo(hi, lo uint64) genai.TraceID {
	var t genai.TraceID
	binary.BigEndian.PutUint64(t[:8], hi)
	binary.BigEndian.PutUint64(t[8:], lo)
	return t
}

func spanFromU64(v uint64) genai.SpanID {
	var s genai.SpanID
	binary.BigEndian.PutUint64(s[:], v)
	return s
}

// fullKey identifies a span exactly.
type fullKey struct {
	project      string
	hi, lo, span uint64
	start        int64
}

func keyOf(sp *genai.Span) fullKey {
	hi, lo := traceHiLo(sp.TraceID)
	return fullKey{sp.Project, hi, lo, spanU64(sp.SpanID), sp.StartUnixNano}
}

// recentSpans remembers a 64-bit hash of the keys of the spans this node
// wrote (or may have written: a failed Write's), so retries are recognised
// without reading the table; a key in the set (a retry, or a hash
// collision) is looked up in the table, so a collision never drops a
// span. Spans starting at or before floor (older than what was stored when
// the store opened, or than a dropped generation) are looked up too. It
// keeps two generations of genSize keys. Only the writer uses it (under
// DB.mu).
type recentSpans struct {
	seed            maphash.Seed
	genSize         int
	cur, prev       map[uint64]struct{}
	curMax, prevMax int64 // the latest start in each generation
	floor           int64
}

func newRecentSpans(genSize int) *recentSpans {
	return &recentSpans{seed: maphash.MakeSeed(), genSize: genSize, cur: map[uint64]struct{}{},
		curMax: math.MinInt64, prevMax: math.MinInt64, floor: math.MinInt64}
}

func (r *recentSpans) hash(k fullKey) uint64 { return maphash.Comparable(r.seed, k) }

func (r *recentSpans) has(k fullKey) bool {
	h := r.hash(k)
	if _, ok := r.cur[h]; ok {
		return true
	}
	_, ok := r.prev[h]
	return ok
}

func (r *recentSpans) add(k fullKey) {
	if len(r.cur) >= r.genSize {
		// The dropped generation's spans are checked against the table
		// from now on.
		r.floor = max(r.floor, r.prevMax)
		r.prev, r.prevMax = r.cur, r.curMax
		r.cur, r.curMax = make(map[uint64]struct{}, r.genSize), math.MinInt64
	}
	r.cur[r.hash(k)] = struct{}{}
	r.curMax = max(r.curMax, k.start)
}

// encodeDetail is what spans.detail holds: the whole span but its ids, as
// JSON with non-finite numbers written as strings.
func encodeDetail(sp *genai.Span) (string, error) {
	raw, err := json.Marshal(sp)
	if err == nil {
		return string(raw), nil
	}
	c := *sp
	c.Attributes, _ = finite(sp.Attributes).(map[string]any)
	c.ResourceAttributes, _ = finite(sp.ResourceAttributes).(map[string]any)
	c.Events = slices.Clone(sp.Events)
	for i := range c.Events {
		c.Events[i].Attributes, _ = finite(c.Events[i].Attributes).(map[string]any)
	}
	raw, err = json.Marshal(&c)
	return string(raw), err
}

// finite returns v with every non-finite float replaced by its string form.
func finite(v any) any {
	switch x := v.(type) {
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
	case map[string]any:
		if x == nil {
			return x
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = finite(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = finite(e)
		}
		return out
	}
	return v
}

// row0 is the part of a span's row that takes CPU to make; Prepare makes
// it before Write when it can.
type row0 struct {
	detail  string
	content string // own system, input and output text joined by NUL
	mask    uint8
}

var _ store.Preparer = (*DB)(nil)

// Prepare encodes the batch's rows so Write only sends them. It is safe to
// call concurrently for different batches.
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

func preparedRows(b *store.Batch) ([]*row0, error) {
	if len(b.Prepared) == len(b.Spans) {
		rows := make([]*row0, len(b.Spans))
		for i, p := range b.Prepared {
			r, ok := p.(*row0)
			if !ok {
				return makeRows(b.Spans)
			}
			rows[i] = r
		}
		return rows, nil
	}
	return makeRows(b.Spans)
}

func makeRows(spans []genai.Span) ([]*row0, error) {
	rows := make([]*row0, len(spans))
	all := make([]row0, len(spans))
	for i := range spans {
		sp, r := &spans[i], &all[i]
		rows[i] = r
		d, err := encodeDetail(sp)
		if err != nil {
			return nil, fmt.Errorf("span %s/%s: encode: %w", sp.TraceID, sp.SpanID, err)
		}
		r.detail = d
		r.mask, r.content = store.OwnContent(sp)
	}
	return rows, nil
}

// Write stores the batch: one INSERT block per table (message records,
// trace context, spans, in that order). See doc.go for what it guarantees.
func (s *DB) Write(ctx context.Context, b *store.Batch) error {
	if b == nil || b.Len() == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("write batch: store closed")
	}
	if err := s.write(ctx, b); err != nil {
		return fmt.Errorf("write batch of %d spans, %d messages: %w", len(b.Spans), len(b.Messages), err)
	}
	return nil
}

func (s *DB) write(ctx context.Context, b *store.Batch) error {
	idx, err := s.fresh(ctx, b.Spans)
	if err != nil {
		return err
	}
	if len(b.Messages) > 0 {
		body, err := messageRows(b.Messages)
		if err != nil {
			return err
		}
		if err := s.ins.insert(ctx, s.db+".message_records", body); err != nil {
			return err
		}
	}
	if len(idx) == 0 {
		return nil
	}
	rows, err := preparedRows(b)
	if err != nil {
		return err
	}
	if body := ctxRows(b.Spans, idx); len(body) > 0 {
		if err := s.ins.insert(ctx, s.db+".trace_ctx", body); err != nil {
			return err
		}
	}
	// From here a failure may leave part of the spans stored: remember
	// their keys so a retry checks the table.
	for _, i := range idx {
		s.recent.add(keyOf(&b.Spans[i]))
	}
	return s.ins.insert(ctx, s.db+".spans", spanRows(b.Spans, rows, idx))
}

// spanRows is the spans' rows in the column order of the spans table.
func spanRows(spans []genai.Span, rows []*row0, idx []int) []byte {
	carriers := store.BatchCarriers(spans, idx)
	var t rowBinary
	for _, i := range idx {
		sp, r := &spans[i], rows[i]
		hi, lo := traceHiLo(sp.TraceID)
		status := string(sp.Status)
		if status == "" {
			status = string(genai.StatusUnset)
		}
		t.day(sp.StartUnixNano)
		t.str(sp.Project)
		t.i64(sp.StartUnixNano)
		t.u64(spanU64(sp.SpanID))
		t.u64(hi)
		t.u64(lo)
		t.u64(spanU64(sp.ParentSpanID))
		t.i64(sp.DurationNano)
		t.i64(sp.TTFTNano)
		t.str(sp.Name)
		t.str(sp.Service)
		t.str(status)
		t.str(sp.ErrorType)
		t.b(sp.IsGenAI())
		t.str(sp.Operation)
		t.str(sp.Provider)
		t.str(sp.Model())
		t.str(sp.RequestModel)
		t.str(sp.ResponseModel)
		t.i64(sp.Usage.InputTokens)
		t.i64(sp.Usage.OutputTokens)
		t.i64(sp.Usage.CachedInputTokens)
		t.i64(sp.Usage.ReasoningTokens)
		t.b(sp.CostKnown)
		if sp.CostKnown {
			t.f64(sp.CostUSD)
		} else {
			t.f64(0)
		}
		t.str(sp.SessionID)
		t.str(sp.UserID)
		t.str(carriers.Session(sp.TraceID))
		t.str(carriers.User(sp.TraceID))
		t.u8(r.mask)
		t.str(r.content)
		t.str(r.detail)
	}
	return t.buf
}

// messageRows is the records' rows in the column order of message_records.
func messageRows(msgs []genai.MessageRecord) ([]byte, error) {
	var t rowBinary
	for i := range msgs {
		m := &msgs[i]
		switch m.Kind {
		case genai.KindSystem, genai.KindInput, genai.KindOutput:
		default:
			return nil, fmt.Errorf("message record %s/%s: unknown kind %q", m.TraceID, m.SpanID, m.Kind)
		}
		hi, lo := traceHiLo(m.TraceID)
		js, err := json.Marshal(m.Message)
		if err != nil {
			return nil, fmt.Errorf("message record %s/%s: encode: %w", m.TraceID, m.SpanID, err)
		}
		text := store.PartsText(m.Message.Parts)
		t.day(m.TimeUnixNano)
		t.str(m.Project)
		t.u64(hi)
		t.u64(lo)
		t.u64(spanU64(m.SpanID))
		t.str(string(m.Kind))
		t.i64(m.TimeUnixNano)
		t.i32(int32(m.Seq))
		t.b(m.Truncated)
		t.str(string(js))
		t.str(text)
	}
	return t.buf, nil
}

// ctxRows is the trace_ctx rows of the spans carrying a session or user.
func ctxRows(spans []genai.Span, idx []int) []byte {
	var t rowBinary
	for _, i := range idx {
		sp := &spans[i]
		if sp.SessionID == "" && sp.UserID == "" {
			continue
		}
		hi, lo := traceHiLo(sp.TraceID)
		t.day(sp.StartUnixNano)
		t.str(sp.Project)
		t.u64(hi)
		t.u64(lo)
		t.i64(sp.StartUnixNano)
		t.u64(spanU64(sp.SpanID))
		t.str(sp.SessionID)
		t.str(sp.UserID)
	}
	return t.buf
}

// fresh returns the indexes of the spans of the batch not stored yet, each
// once. A span whose key this node may have written, or that starts at or
// before the floor, is looked up in the table.
func (s *DB) fresh(ctx context.Context, spans []genai.Span) ([]int, error) {
	out := make([]int, 0, len(spans))
	var check []*genai.Span
	seen := make(map[fullKey]struct{}, len(spans))
	for i := range spans {
		sp := &spans[i]
		k := keyOf(sp)
		if _, dup := seen[k]; dup {
			continue
		}
		seen[k] = struct{}{}
		if sp.StartUnixNano <= s.recent.floor || s.recent.has(k) {
			check = append(check, sp)
		}
		out = append(out, i)
	}
	if len(check) == 0 {
		return out, nil
	}
	stored, err := s.storedKeys(ctx, check)
	if err != nil {
		return nil, err
	}
	if len(stored) == 0 {
		return out, nil
	}
	n := 0
	for _, i := range out {
		if stored[keyOf(&spans[i])] {
			continue
		}
		out[n] = i
		n++
	}
	return out[:n], nil
}

// storedKeys returns which of spans are stored.
func (s *DB) storedKeys(ctx context.Context, spans []*genai.Span) (map[fullKey]bool, error) {
	starts := make([]int64, len(spans))
	ids := make([]uint64, len(spans))
	projects := map[string]bool{}
	var plist []string
	for i, sp := range spans {
		starts[i] = sp.StartUnixNano
		ids[i] = spanU64(sp.SpanID)
		if !projects[sp.Project] {
			projects[sp.Project] = true
			plist = append(plist, lit(sp.Project))
		}
	}
	rows, err := s.conn.Query(ctx, `SELECT project, trace_hi, trace_lo, span_id, start_ns FROM `+s.db+`.spans
		WHERE project IN (`+strings.Join(plist, ",")+`) AND (`+rangesSQL("start_ns", starts)+`) AND span_id IN (`+u64List(ids)+`)`)
	if err != nil {
		return nil, fmt.Errorf("read stored span keys: %w", err)
	}
	defer rows.Close()
	out := map[fullKey]bool{}
	for rows.Next() {
		var k fullKey
		if err := rows.Scan(&k.project, &k.hi, &k.lo, &k.span, &k.start); err != nil {
			return nil, fmt.Errorf("read stored span keys: %w", err)
		}
		out[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stored span keys: %w", err)
	}
	return out, nil
}

// rangeGap splits values into separate ranges when further apart, so a
// late span does not widen a scan to everything in between.
const rangeGap = int64(10 * 60 * 1e9)

// rangesSQL is a predicate on col covering the values in a few ranges.
func rangesSQL(col string, vals []int64) string {
	vals = slices.Clone(vals)
	slices.Sort(vals)
	type rng struct{ lo, hi int64 }
	var rs []rng
	for _, v := range vals {
		if n := len(rs); n > 0 && v-rs[n-1].hi <= rangeGap {
			rs[n-1].hi = v
			continue
		}
		rs = append(rs, rng{v, v})
	}
	if len(rs) > 16 {
		rs = []rng{{vals[0], vals[len(vals)-1]}}
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = "(" + col + " >= " + i64(r.lo) + " AND " + col + " <= " + i64(r.hi) + ")"
	}
	return strings.Join(parts, " OR ")
}

func u64List(vs []uint64) string {
	vs = slices.Clone(vs)
	slices.Sort(vs)
	vs = slices.Compact(vs)
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = u64(v)
	}
	return strings.Join(parts, ",")
}
