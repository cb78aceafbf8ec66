package clickhouse

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

// recentGeneration is how many span keys one generation of the recent set
// holds; the set keeps two.
const recentGeneration = 1 << 20

var window = store.CorrelationWindow.Nanoseconds()

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

func (r *recentSpans) hash(k spanrows.FullKey) uint64 { return maphash.Comparable(r.seed, k) }

func (r *recentSpans) has(k spanrows.FullKey) bool {
	h := r.hash(k)
	if _, ok := r.cur[h]; ok {
		return true
	}
	_, ok := r.prev[h]
	return ok
}

func (r *recentSpans) add(k spanrows.FullKey) {
	if len(r.cur) >= r.genSize {
		// The dropped generation's spans are checked against the table
		// from now on.
		r.floor = max(r.floor, r.prevMax)
		r.prev, r.prevMax = r.cur, r.curMax
		r.cur, r.curMax = make(map[uint64]struct{}, r.genSize), math.MinInt64
	}
	r.cur[r.hash(k)] = struct{}{}
	r.curMax = max(r.curMax, k.Start)
}

// detailOpts: the detail is read back by a JSON decoder only, so it needs
// neither HTML escaping nor sorted map keys.
var detailOpts = []json.EncodeOptionFunc{json.DisableHTMLEscape(), json.UnorderedMap()}

// encodeDetail is what spans.detail holds: the whole span but its ids, as
// JSON with non-finite numbers written as strings, the messages last,
// after contentMark (see retention.go), so content retention can cut them
// off.
func encodeDetail(w *detailBuf, sp *genai.Span) error {
	if w.enc == nil {
		w.enc, w.span = json.NewEncoder(w), new(genai.Span)
	}
	enc, c := w.enc, w.span
	*c = *sp
	c.SystemInstructions, c.InputMessages, c.OutputMessages = nil, nil, nil
	// Attribute maps and events are written by store.AppendValue, linear
	// in their depth and cut at genai.MaxValueDepth: go-json's map encoder
	// is quadratic in depth.
	c.Attributes, c.ResourceAttributes, c.Events = nil, nil, nil
	if err := enc.EncodeWithOption(c, detailOpts...); err != nil {
		return err
	}
	if len(sp.Attributes) > 0 || len(sp.ResourceAttributes) > 0 || len(sp.Events) > 0 {
		w.b = w.b[:len(w.b)-1] // the object's "}", after its ids and times
		if len(sp.Attributes) > 0 {
			w.b = append(w.b, `,"attributes":`...)
			w.b = store.AppendAttributes(w.b, sp.Attributes)
		}
		if len(sp.ResourceAttributes) > 0 {
			w.b = append(w.b, `,"resource_attributes":`...)
			w.b = store.AppendAttributes(w.b, sp.ResourceAttributes)
		}
		if len(sp.Events) > 0 {
			w.b = append(w.b, `,"events":`...)
			w.b = store.AppendEvents(w.b, sp.Events)
		}
		w.b = append(w.b, '}')
	}
	*c = genai.Span{} // no references kept
	if len(sp.SystemInstructions) == 0 && len(sp.InputMessages) == 0 && len(sp.OutputMessages) == 0 {
		return nil
	}
	w.keep = true
	defer func() { w.keep = false }()
	w.b = append(w.b[:len(w.b)-1], contentMark...) // the object's "}"
	if len(sp.SystemInstructions) > 0 {
		w.b = append(w.b, `,"system_instructions":`...)
		if err := enc.EncodeWithOption(sp.SystemInstructions, detailOpts...); err != nil {
			return err
		}
	}
	if len(sp.InputMessages) > 0 {
		w.b = append(w.b, `,"input_messages":`...)
		if err := enc.EncodeWithOption(sp.InputMessages, detailOpts...); err != nil {
			return err
		}
	}
	if len(sp.OutputMessages) > 0 {
		w.b = append(w.b, `,"output_messages":`...)
		if err := enc.EncodeWithOption(sp.OutputMessages, detailOpts...); err != nil {
			return err
		}
	}
	w.b = append(w.b, '}')
	return nil
}

// detailBuf keeps the JSON documents written to it, without their
// newlines: the last one, or, with keep, all of them one after another.
// It holds the encoder that writes to it and its scratch span, reused
// span after span.
type detailBuf struct {
	b    []byte
	keep bool
	enc  *json.Encoder
	span *genai.Span
}

func (d *detailBuf) Write(p []byte) (int, error) {
	if !d.keep {
		d.b = d.b[:0]
	}
	d.b = append(d.b, bytes.TrimSuffix(p, []byte{'\n'})...)
	return len(p), nil
}

// encRow is a span's row of the spans table in RowBinary, but for the two
// columns that depend on the rest of the batch (eff_session, eff_user,
// which come between head and tail). Prepare makes it before Write; the
// slices of a batch share one buffer.
type encRow struct {
	head, tail []byte
}

var _ store.Preparer = (*DB)(nil)

// Prepare encodes the batch's rows so Write only copies them. It is safe
// to call concurrently for different batches.
func (s *DB) Prepare(b *store.Batch) error {
	if len(b.Prepared) == len(b.Spans) {
		return nil
	}
	rows, err := encodeRows(b.Spans)
	if err != nil {
		return err
	}
	b.Prepared = make([]any, len(rows))
	for i := range rows {
		b.Prepared[i] = &rows[i]
	}
	return nil
}

// preparedRows returns the batch's encoded rows, encoding them if Prepare
// did not (or a merge dropped them).
func preparedRows(b *store.Batch) ([]*encRow, error) {
	out := make([]*encRow, len(b.Spans))
	if len(b.Prepared) == len(b.Spans) {
		ok := true
		for i, p := range b.Prepared {
			if out[i], ok = p.(*encRow); !ok {
				break
			}
		}
		if ok {
			return out, nil
		}
	}
	rows, err := encodeRows(b.Spans)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		out[i] = &rows[i]
	}
	return out, nil
}

// encodeRows encodes the spans' rows into a few shared buffers.
func encodeRows(spans []genai.Span) ([]encRow, error) {
	rows := make([]encRow, len(spans))
	var (
		t     rowBinary // one row at a time
		d     detailBuf
		arena []byte
	)
	for i := range spans {
		sp := &spans[i]
		mask, content := store.OwnContent(sp)
		h, err := encodeRow(&t, &d, sp, sp, sp.IsCall(), mask, content, 0, "")
		if err != nil {
			return nil, err
		}
		if cap(arena)-len(arena) < len(t.buf) {
			arena = make([]byte, 0, max(arenaChunk, len(t.buf)))
		}
		at := len(arena)
		arena = append(arena, t.buf...)
		row := arena[at:len(arena):len(arena)]
		rows[i] = encRow{head: row[:h:h], tail: row[h:]}
	}
	return rows, nil
}

// encodeRow writes a span's row into t (from its start) and returns where
// its head ends: the detail of sp (the record as recorded), the other
// columns of cols (sp, or a copy holding its pair's call), then whether it
// counts, its content and its pair's partner and own values.
func encodeRow(t *rowBinary, d *detailBuf, sp, cols *genai.Span, isCall bool, mask uint8, content string, partner uint64, own string) (int, error) {
	if err := encodeDetail(d, sp); err != nil {
		return 0, fmt.Errorf("span %s/%s: encode: %w", sp.TraceID, sp.SpanID, err)
	}
	t.buf = t.buf[:0]
	spanHead(t, cols, isCall)
	h := len(t.buf)
	t.u8(mask)
	t.str(content)
	t.bytes(d.b)
	t.str(string(sp.Class()))
	t.str(sp.AgentName)
	t.str(sp.ToolName)
	t.str(string(sp.Source))
	t.str(sp.ResponseID)
	t.u64(partner)
	t.str(own)
	return h, nil
}

// pairRow is a batch span's row as its pair overrides it.
func pairRow(sp *genai.Span, ov *spanrows.PairOverride) (*encRow, error) {
	cols, mask, content := pairCols(sp, ov)
	var t rowBinary
	var d detailBuf
	h, err := encodeRow(&t, &d, sp, &cols, ov.IsCall, mask, content, ov.Partner, ov.Own)
	if err != nil {
		return nil, err
	}
	return &encRow{head: t.buf[:h:h], tail: t.buf[h:]}, nil
}

// arenaChunk is the size of the buffers encoded rows share.
const arenaChunk = 1 << 20

// spanHead writes the columns of the spans table up to user_id.
func spanHead(t *rowBinary, sp *genai.Span, isCall bool) {
	hi, lo := store.TraceHiLo(sp.TraceID)
	status := string(sp.Status)
	if status == "" {
		status = string(genai.StatusUnset)
	}
	t.day(sp.StartUnixNano)
	t.str(sp.Project)
	t.i64(sp.StartUnixNano)
	t.u64(store.SpanU64(sp.SpanID))
	t.u64(hi)
	t.u64(lo)
	t.u64(store.SpanU64(sp.ParentSpanID))
	t.i64(sp.DurationNano)
	t.i64(sp.TTFTNano)
	t.str(sp.Name)
	t.str(sp.Service)
	t.str(status)
	t.str(sp.ErrorType)
	t.b(isCall)
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
}

var _ store.BatchHinter = (*DB)(nil)

// BatchHint is what the store asks of the recorder (store.BatchHinter):
// batches of at least 10,000 items, waiting up to a second for them, and
// up to 20,000. ClickHouse makes a data part per insert and merges them in
// the background, so few large inserts ingest much faster than many small
// ones (and keep the part count far from "too many parts").
func (s *DB) BatchHint() (minItems, maxItems int, linger time.Duration) {
	return 10_000, 20_000, time.Second
}

// Write stores the batch: one INSERT block per table (message records and
// trace context, concurrently, then spans). See doc.go for what it
// guarantees.
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
	var msgBody, ctxBody []byte
	if len(b.Messages) > 0 {
		if msgBody, err = messageRows(b.Messages); err != nil {
			return err
		}
	}
	var rows []*encRow
	var plan *spanrows.PairPlan
	if len(idx) > 0 {
		if rows, err = preparedRows(b); err != nil {
			return err
		}
		ctxBody = ctxRows(b.Spans, idx)
		if !s.noPairing {
			if plan, err = s.pairs(ctx, b.Spans, idx); err != nil {
				return err
			}
		}
	}
	if plan != nil {
		rows = slices.Clone(rows) // the batch's prepared rows stay as they are
		for i, ov := range plan.Batch {
			if rows[i], err = pairRow(&b.Spans[i], ov); err != nil {
				return err
			}
		}
	}
	// Message records and trace context go first (a reader that sees a
	// span sees them), both at once, while the spans' block is put
	// together.
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	pending := 0
	for _, in := range []struct {
		table string
		body  []byte
	}{{"message_records", msgBody}, {"trace_ctx", ctxBody}} {
		if len(in.body) == 0 {
			continue
		}
		pending++
		go func() { errs <- s.ins.insert(ictx, s.db+"."+in.table, in.body) }()
	}
	var body []byte
	if len(idx) > 0 {
		body = spanRows(b.Spans, rows, idx)
	}
	var first error
	for range pending {
		if err := <-errs; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	if first != nil || len(idx) == 0 {
		return first
	}
	// From here a failure may leave part of the spans stored: remember
	// their keys so a retry checks the table.
	for _, i := range idx {
		sp := &b.Spans[i]
		s.recent.add(spanrows.KeyOf(sp))
		if sp.Source == genai.SourceGateway && sp.IsCall() {
			s.gate.Add(sp.StartUnixNano, sp.ParentSpanID.IsZero())
		}
	}
	if err := s.ins.insert(ctx, s.db+".spans", body); err != nil {
		return err
	}
	if plan == nil {
		return nil
	}
	if err := s.updatePairs(ctx, plan.Updates); err != nil {
		return err
	}
	b.Uncounted = plan.Uncounted()
	return nil
}

// spanRows is the spans' rows in the column order of the spans table, in
// the order of its sorting key (so the server need not sort the block).
// It sorts idx.
func spanRows(spans []genai.Span, rows []*encRow, idx []int) []byte {
	carriers := store.BatchCarriers(spans, idx)
	sortSpans(spans, idx)
	type eff struct{ session, user string }
	effs := make([]eff, len(idx))
	n := 0
	for k, i := range idx {
		sp := &spans[i]
		e := eff{carriers.Session(sp.TraceID), carriers.User(sp.TraceID)}
		effs[k] = e
		n += len(rows[i].head) + len(rows[i].tail) + 2*binary.MaxVarintLen64 + len(e.session) + len(e.user)
	}
	t := rowBinary{buf: make([]byte, 0, n)}
	for k, i := range idx {
		t.buf = append(t.buf, rows[i].head...)
		t.str(effs[k].session)
		t.str(effs[k].user)
		t.buf = append(t.buf, rows[i].tail...)
	}
	return t.buf
}

// sortSpans sorts idx in the order of the spans table's partition and
// sorting key: (day, project, start_ns, span_id, trace_hi, trace_lo).
func sortSpans(spans []genai.Span, idx []int) {
	slices.SortFunc(idx, func(a, b int) int {
		x, y := &spans[a], &spans[b]
		if c := cmp.Compare(dayOf(x.StartUnixNano), dayOf(y.StartUnixNano)); c != 0 {
			return c
		}
		if c := strings.Compare(x.Project, y.Project); c != 0 {
			return c
		}
		if c := cmp.Compare(x.StartUnixNano, y.StartUnixNano); c != 0 {
			return c
		}
		if c := cmp.Compare(store.SpanU64(x.SpanID), store.SpanU64(y.SpanID)); c != 0 {
			return c
		}
		return bytes.Compare(x.TraceID[:], y.TraceID[:])
	})
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
		hi, lo := store.TraceHiLo(m.TraceID)
		js, err := json.Marshal(m.Message)
		if err != nil {
			return nil, fmt.Errorf("message record %s/%s: encode: %w", m.TraceID, m.SpanID, err)
		}
		text := store.PartsText(m.Message.Parts)
		t.day(m.TimeUnixNano)
		t.str(m.Project)
		t.u64(hi)
		t.u64(lo)
		t.u64(store.SpanU64(m.SpanID))
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
		hi, lo := store.TraceHiLo(sp.TraceID)
		t.day(sp.StartUnixNano)
		t.str(sp.Project)
		t.u64(hi)
		t.u64(lo)
		t.i64(sp.StartUnixNano)
		t.u64(store.SpanU64(sp.SpanID))
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
	seen := make(map[spanrows.FullKey]struct{}, len(spans))
	for i := range spans {
		sp := &spans[i]
		k := spanrows.KeyOf(sp)
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
		if stored[spanrows.KeyOf(&spans[i])] {
			continue
		}
		out[n] = i
		n++
	}
	return out[:n], nil
}

// storedKeys returns which of spans are stored.
func (s *DB) storedKeys(ctx context.Context, spans []*genai.Span) (map[spanrows.FullKey]bool, error) {
	projects := map[string]bool{}
	var plist []string
	for _, sp := range spans {
		if !projects[sp.Project] {
			projects[sp.Project] = true
			plist = append(plist, lit(sp.Project))
		}
	}
	rows, err := s.conn.Query(ctx, `SELECT project, trace_hi, trace_lo, span_id, start_ns FROM `+s.db+`.spans
		WHERE project IN (`+strings.Join(plist, ",")+`) AND `+spanrows.StoredWhere(spans))
	if err != nil {
		return nil, fmt.Errorf("read stored span keys: %w", err)
	}
	return spanrows.ScanStored(rows)
}
