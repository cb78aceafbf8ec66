package clickhouse

import (
	"math"
	"testing"

	"github.com/genscope/genscope/internal/store/internal/spanrows"
)

func TestRecentSpans(t *testing.T) {
	r := newRecentSpans(2)
	k := func(i int64) spanrows.FullKey { return spanrows.FullKey{Project: "p", Span: uint64(i), Start: i} }
	r.add(k(1))
	r.add(k(2))
	if !r.has(k(1)) || !r.has(k(2)) || r.has(k(3)) || r.floor != math.MinInt64 {
		t.Fatalf("after two adds: has 1 %v, 2 %v, 3 %v, floor %d", r.has(k(1)), r.has(k(2)), r.has(k(3)), r.floor)
	}
	r.add(k(3)) // starts a generation; 1 and 2 stay in the previous one
	r.add(k(4))
	r.add(k(5)) // drops 1 and 2: spans up to 2 are checked in the table
	if r.has(k(1)) || !r.has(k(3)) || !r.has(k(5)) || r.floor != 2 {
		t.Fatalf("after five adds: has 1 %v, 3 %v, 5 %v, floor %d", r.has(k(1)), r.has(k(3)), r.has(k(5)), r.floor)
	}
}
