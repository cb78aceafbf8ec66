package spanrows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// The duplicate check of the write path: a retried span is recognised by
// its full key among the stored spans (see store.Store).

// FullKey identifies a span exactly: a retry of it has the same.
type FullKey struct {
	Project      string
	Hi, Lo, Span uint64
	Start        int64
}

// KeyOf is the full key of sp.
func KeyOf(sp *genai.Span) FullKey {
	hi, lo := store.TraceHiLo(sp.TraceID)
	return FullKey{sp.Project, hi, lo, store.SpanU64(sp.SpanID), sp.StartUnixNano}
}

// StoredWhere is the predicate on the spans table (unqualified columns)
// that selects the stored copies of spans: their span ids within a few
// ranges of their starts, so the scan reads only those ranges.
func StoredWhere(spans []*genai.Span) string {
	starts := make([]int64, len(spans))
	ids := make([]uint64, len(spans))
	for i, sp := range spans {
		starts[i] = sp.StartUnixNano
		ids[i] = store.SpanU64(sp.SpanID)
	}
	return "(" + RangesSQL("start_ns", starts) + ") AND span_id IN (" + U64List(ids) + ")"
}

// ScanStored reads rows of (project, trace_hi, trace_lo, span_id,
// start_ns): the full keys of stored spans.
func ScanStored(rs Rows) (map[FullKey]bool, error) {
	defer rs.Close()
	out := map[FullKey]bool{}
	for rs.Next() {
		var k FullKey
		if err := rs.Scan(&k.Project, &k.Hi, &k.Lo, &k.Span, &k.Start); err != nil {
			return nil, fmt.Errorf("read stored span keys: %w", err)
		}
		out[k] = true
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read stored span keys: %w", err)
	}
	return out, nil
}

// rangeGap splits values into separate ranges when they are further apart,
// so a late span does not widen a scan to everything in between.
const rangeGap = int64(10 * 60 * 1e9)

// maxRanges caps the ranges of one predicate; past it one range covers
// all the values.
const maxRanges = 16

// RangesSQL is a predicate on col covering the values in a few ranges,
// so zone maps (DuckDB) or the sorting key (ClickHouse) prune what a
// check reads.
func RangesSQL(col string, vals []int64) string {
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
	if len(rs) > maxRanges {
		rs = []rng{{vals[0], vals[len(vals)-1]}}
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = "(" + col + " >= " + strconv.FormatInt(r.lo, 10) + " AND " + col + " <= " + strconv.FormatInt(r.hi, 10) + ")"
	}
	return strings.Join(parts, " OR ")
}
