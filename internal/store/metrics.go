package store

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/genscope/genscope/internal/genai"
)

// MetricStore is implemented by backends that keep the GenAI metrics
// applications and model servers send over OTLP (genai.KeptMetric), as
// time series of delta histogram rows. storetest.RunMetrics checks it.
//
// Semantics:
//   - A series is a point's project, name, service, provider, operation,
//     model, response model, token type and error type (SeriesKey).
//   - WriteMetrics is atomic and durable like Write. Cumulative points are
//     turned into deltas against the latest stored row of their series
//     with the same start (ToDeltas): a point whose start differs, or
//     whose count went down, is a restart and counts whole. A point not
//     newer than its series' latest stored row (an OTLP retry, a point
//     out of order) is dropped, delta or cumulative. Rows that add
//     nothing (no new observations) are not stored.
//   - WriteMetricRows stores rows as MetricRows returns them (genscope
//     copy), dropping those not newer than their series' latest row.
//   - MetricTotals sums the rows whose time is in the filter's [From, To)
//     and that match its Service, Provider, Model (the request or the
//     response model), Operation and Status (error: rows with an error
//     type); a filter on session, user or text selects no rows (metrics
//     have none). Spans win: a row is left out when a GenAI span of the
//     same project, service and model started within the whole minutes
//     its interval [start, time) touches (from the start of the minute of
//     its start to the end of the minute of its last nanosecond), so a
//     call recorded both as a span and in a metric is counted once. Totals are one per service, provider, model, name,
//     token type, error (or not) and bucket bounds, in that order.
//   - MetricRows calls fn with the stored rows whose time is in [from,
//     to), in batches of at most batchSize, by series then time.
//   - Retention (Retainer.DeleteSpansBefore) deletes a project's rows with
//     the spans of the same time.
type MetricStore interface {
	WriteMetrics(ctx context.Context, pts []genai.MetricPoint) error
	WriteMetricRows(ctx context.Context, rows []MetricRow) error
	MetricTotals(ctx context.Context, f Filter) ([]MetricTotal, error)
	MetricRows(ctx context.Context, from, to time.Time, batchSize int, fn func([]MetricRow) error) error
}

// MetricRow is a stored metric row: a delta point (Cumulative false) whose
// interval is [StartUnixNano, TimeUnixNano), with its series key and, for
// a series sent cumulatively, the cumulative point it was computed from.
type MetricRow struct {
	genai.MetricPoint
	Series     uint64
	CumStart   int64 // the cumulative series' start; 0 for a delta series
	CumCount   int64
	CumSum     float64
	CumBuckets []int64
}

// MetricTotal is the sum of the rows of one group (MetricStore).
type MetricTotal struct {
	Service, Provider, Model string
	Name, TokenType          string
	Error                    bool
	Count                    int64
	Sum                      float64
	Bounds                   []float64
	Buckets                  []int64
}

// SeriesKey is the series of a point: a stable hash of its project and
// series attributes (the same in every process and backend).
func SeriesKey(p *genai.MetricPoint) uint64 {
	h := fnv.New64a()
	for _, s := range []string{p.Project, p.Name, p.Service, p.Provider, p.Operation, p.Model, p.ResponseModel, p.TokenType, p.ErrorType} {
		var n [binary.MaxVarintLen64]byte
		_, _ = h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		_, _ = h.Write([]byte(s))
	}
	return h.Sum64()
}

// MetricWrite is what a backend's WriteMetrics or WriteMetricRows asks of
// it: read the latest stored state of Series (by project), then store the
// rows Rows returns given those states, as one write.
type MetricWrite struct {
	Series map[string][]uint64
	Rows   func(last map[uint64]MetricState) []MetricRow
}

// PointsWrite is the write of WriteMetrics: points as ToDeltas makes them.
func PointsWrite(pts []genai.MetricPoint) MetricWrite {
	w := MetricWrite{Series: map[string][]uint64{}}
	for i := range pts {
		w.Series[pts[i].Project] = append(w.Series[pts[i].Project], SeriesKey(&pts[i]))
	}
	w.Rows = func(last map[uint64]MetricState) []MetricRow { return ToDeltas(pts, last) }
	return w
}

// RowsWrite is the write of WriteMetricRows: the rows NewerRows keeps.
func RowsWrite(rows []MetricRow) MetricWrite {
	w := MetricWrite{Series: map[string][]uint64{}}
	for i := range rows {
		w.Series[rows[i].Project] = append(w.Series[rows[i].Project], rows[i].Series)
	}
	w.Rows = func(last map[uint64]MetricState) []MetricRow { return NewerRows(rows, last) }
	return w
}

// MetricState is what ToDeltas needs of a series' latest stored row.
type MetricState struct {
	Time       int64
	CumStart   int64
	CumCount   int64
	CumSum     float64
	CumBuckets []int64
}

// StateOf is the state a stored row leaves its series in.
func StateOf(r *MetricRow) MetricState {
	return MetricState{Time: r.TimeUnixNano, CumStart: r.CumStart, CumCount: r.CumCount, CumSum: r.CumSum, CumBuckets: r.CumBuckets}
}

// ToDeltas turns points into the rows to store, given the latest stored
// state of their series (keyed by SeriesKey, updated as it goes), with
// the semantics of MetricStore.WriteMetrics. Points are taken per series
// in time order.
func ToDeltas(pts []genai.MetricPoint, last map[uint64]MetricState) []MetricRow {
	type keyed struct {
		key uint64
		i   int
	}
	order := make([]keyed, len(pts))
	for i := range pts {
		order[i] = keyed{SeriesKey(&pts[i]), i}
	}
	sort.SliceStable(order, func(a, b int) bool {
		if order[a].key != order[b].key {
			return order[a].key < order[b].key
		}
		return pts[order[a].i].TimeUnixNano < pts[order[b].i].TimeUnixNano
	})
	var rows []MetricRow
	for _, k := range order {
		p := pts[k.i]
		st, seen := last[k.key]
		if seen && p.TimeUnixNano <= st.Time {
			continue // a retry, or out of order
		}
		r := MetricRow{MetricPoint: p, Series: k.key}
		r.Cumulative = false
		if p.Cumulative {
			r.CumStart, r.CumCount, r.CumSum, r.CumBuckets = p.StartUnixNano, p.Count, p.Sum, p.Buckets
			sameRun := seen && st.CumStart == p.StartUnixNano && st.CumStart != 0 &&
				p.Count >= st.CumCount && len(st.CumBuckets) == len(p.Buckets)
			if sameRun {
				r.StartUnixNano = st.Time
				r.Count = p.Count - st.CumCount
				r.Sum = p.Sum - st.CumSum
				r.Buckets = make([]int64, len(p.Buckets))
				for i := range p.Buckets {
					r.Buckets[i] = max(p.Buckets[i]-st.CumBuckets[i], 0)
				}
			}
		}
		if r.StartUnixNano <= 0 || r.StartUnixNano > r.TimeUnixNano {
			r.StartUnixNano = r.TimeUnixNano
		}
		last[k.key] = StateOf(&r)
		if r.Count == 0 && r.Sum == 0 {
			continue // nothing new: the state moved on, nothing to store
		}
		rows = append(rows, r)
	}
	return rows
}

// NewerRows returns the rows newer than their series' latest state (as
// WriteMetricRows keeps them), updating last.
func NewerRows(rows []MetricRow, last map[uint64]MetricState) []MetricRow {
	sorted := slices.Clone(rows)
	sort.SliceStable(sorted, func(a, b int) bool {
		if sorted[a].Series != sorted[b].Series {
			return sorted[a].Series < sorted[b].Series
		}
		return sorted[a].TimeUnixNano < sorted[b].TimeUnixNano
	})
	out := sorted[:0]
	for _, r := range sorted {
		if st, ok := last[r.Series]; ok && r.TimeUnixNano <= st.Time {
			continue
		}
		last[r.Series] = StateOf(&r)
		out = append(out, r)
	}
	return out
}

// MetricSelects reports whether a filter can select metric rows at all:
// rows have no session, user or content.
func MetricSelects(f Filter) bool {
	return f.Session == "" && f.User == "" && f.Text == ""
}

// SpansWinMinute is the granularity of the spans-win rule: a metric row
// gives way to spans of its service and model in the minutes its
// interval touches.
const SpansWinMinute = int64(time.Minute)

// MetricOverview is what the OTLP metrics say about the calls no span
// recorded (MetricStore.MetricTotals, spans win), for the Overview.
type MetricOverview struct {
	Calls        int64          `json:"calls"`  // gen_ai.client.operation.duration observations
	Errors       int64          `json:"errors"` // of them, with an error type
	InputTokens  int64          `json:"input_tokens"`
	OutputTokens int64          `json:"output_tokens"`
	DurationMS   Latency        `json:"duration_ms"` // percentiles estimated from buckets
	TTFTMS       Latency        `json:"ttft_ms"`     // client time to first chunk, else server time to first token
	ServerTPOTMS Latency        `json:"server_time_per_output_token_ms"`
	Groups       []MetricRollup `json:"groups"` // per service, provider, model; by calls then tokens (desc)
}

// MetricRollup is MetricOverview's totals of one service, provider and
// model.
type MetricRollup struct {
	Service      string  `json:"service"`
	Provider     string  `json:"provider"`
	Model        string  `json:"model"`
	Calls        int64   `json:"calls"`
	Errors       int64   `json:"errors"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	DurationMS   Latency `json:"duration_ms"`
	TTFTMS       Latency `json:"ttft_ms"`
}

// OverviewOfMetrics folds totals into a MetricOverview.
func OverviewOfMetrics(totals []MetricTotal) MetricOverview {
	type acc struct {
		calls, errors, in, out      int64
		dur, ttft, serverTTFT, tpot hist
	}
	var all acc
	groups := map[[3]string]*acc{}
	var keys [][3]string
	for i := range totals {
		t := &totals[i]
		k := [3]string{t.Service, t.Provider, t.Model}
		g := groups[k]
		if g == nil {
			g = &acc{}
			groups[k] = g
			keys = append(keys, k)
		}
		for _, a := range []*acc{&all, g} {
			switch t.Name {
			case genai.MetricTokenUsage:
				switch t.TokenType {
				case genai.TokenInput:
					a.in += int64(math.Round(t.Sum))
				case genai.TokenOutput:
					a.out += int64(math.Round(t.Sum))
				}
			case genai.MetricOperationDuration:
				a.calls += t.Count
				if t.Error {
					a.errors += t.Count
				}
				a.dur.add(t)
			case genai.MetricTimeToFirstChunk:
				a.ttft.add(t)
			case genai.MetricServerTimeToFirstTok:
				a.serverTTFT.add(t)
			case genai.MetricServerTimePerOutTok:
				a.tpot.add(t)
			}
		}
	}
	ttft := func(a *acc) Latency {
		if a.ttft.count > 0 {
			return a.ttft.latencyMS()
		}
		return a.serverTTFT.latencyMS()
	}
	ov := MetricOverview{Calls: all.calls, Errors: all.errors, InputTokens: all.in, OutputTokens: all.out,
		DurationMS: all.dur.latencyMS(), TTFTMS: ttft(&all), ServerTPOTMS: all.tpot.latencyMS(), Groups: []MetricRollup{}}
	for _, k := range keys {
		g := groups[k]
		if g.calls == 0 && g.in == 0 && g.out == 0 && g.ttft.count == 0 && g.serverTTFT.count == 0 && g.tpot.count == 0 {
			continue
		}
		ov.Groups = append(ov.Groups, MetricRollup{Service: k[0], Provider: k[1], Model: k[2], Calls: g.calls, Errors: g.errors,
			InputTokens: g.in, OutputTokens: g.out, DurationMS: g.dur.latencyMS(), TTFTMS: ttft(g)})
	}
	sort.SliceStable(ov.Groups, func(a, b int) bool {
		x, y := ov.Groups[a], ov.Groups[b]
		if x.Calls != y.Calls {
			return x.Calls > y.Calls
		}
		return x.InputTokens+x.OutputTokens > y.InputTokens+y.OutputTokens
	})
	return ov
}

// hist accumulates histogram totals in seconds. Buckets are kept per
// bounds; percentiles come from the buckets of the bounds holding the
// most observations.
type hist struct {
	count   int64
	sum     float64
	buckets map[string]*boundedBuckets
}

type boundedBuckets struct {
	bounds  []float64
	buckets []int64
}

func (h *hist) add(t *MetricTotal) {
	h.count += t.Count
	h.sum += t.Sum
	if len(t.Buckets) == 0 || len(t.Buckets) != len(t.Bounds)+1 {
		return
	}
	if h.buckets == nil {
		h.buckets = map[string]*boundedBuckets{}
	}
	k := boundsKey(t.Bounds)
	b := h.buckets[k]
	if b == nil {
		b = &boundedBuckets{bounds: t.Bounds, buckets: make([]int64, len(t.Buckets))}
		h.buckets[k] = b
	}
	for i, n := range t.Buckets {
		b.buckets[i] += n
	}
}

func boundsKey(b []float64) string {
	buf := make([]byte, 0, 8*len(b))
	for _, v := range b {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
	}
	return string(buf)
}

// latencyMS is the average and the estimated percentiles, in ms.
func (h *hist) latencyMS() Latency {
	if h.count == 0 {
		return Latency{}
	}
	l := Latency{Avg: h.sum / float64(h.count) * 1000}
	var best *boundedBuckets
	var bestN int64
	for _, b := range h.buckets {
		var n int64
		for _, c := range b.buckets {
			n += c
		}
		if n > bestN {
			best, bestN = b, n
		}
	}
	if best != nil && len(best.bounds) > 0 {
		l.P50 = HistogramQuantile(0.50, best.bounds, best.buckets) * 1000
		l.P95 = HistogramQuantile(0.95, best.bounds, best.buckets) * 1000
		l.P99 = HistogramQuantile(0.99, best.bounds, best.buckets) * 1000
	}
	return l
}

// HistogramQuantile estimates the q-quantile of the observations counted
// in explicit buckets, interpolating linearly within the bucket it falls
// in (as Prometheus's histogram_quantile does): the first bucket's lower
// end is 0 (or its bound when that is negative), and a quantile in the
// last, unbounded bucket is the last bound. It is NaN without
// observations.
func HistogramQuantile(q float64, bounds []float64, buckets []int64) float64 {
	if len(bounds) == 0 || len(buckets) != len(bounds)+1 {
		return math.NaN()
	}
	var total int64
	for _, n := range buckets {
		total += n
	}
	if total == 0 {
		return math.NaN()
	}
	rank := q * float64(total)
	var cum int64
	for i, n := range buckets {
		if n == 0 || float64(cum+n) < rank {
			cum += n
			continue
		}
		if i == len(bounds) {
			return bounds[len(bounds)-1]
		}
		lo := 0.0
		if i > 0 {
			lo = bounds[i-1]
		} else if bounds[0] < 0 {
			lo = bounds[0]
		}
		hi := bounds[i]
		return lo + (hi-lo)*(rank-float64(cum))/float64(n)
	}
	return bounds[len(bounds)-1]
}
