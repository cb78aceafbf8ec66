package clickhouse

import (
	"math"
	"slices"
	"testing"
)

// TestRankLevels checks that quantileExact's rank rule (the value of rank
// floor(level*n)) at rankLevels' levels, interpolated, is type 7.
func TestRankLevels(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10, 11, 100, 1001, 99999} {
		vals := make([]float64, n)
		for i := range vals {
			vals[i] = float64((i*7919)%n) * 1.5 // a permutation, scaled
		}
		sorted := slices.Clone(vals)
		slices.Sort(sorted)
		qs := []float64{0.5, 0.9, 0.95, 0.99}
		levels, fracs := rankLevels(int64(n), qs)
		pairs := make([]float64, len(levels))
		for i, l := range levels {
			pairs[i] = sorted[int(l*float64(n))] // quantileExact's rule
		}
		got := interpolate(pairs, fracs)
		for i, q := range qs {
			h := q * float64(n-1)
			want := sorted[int(math.Floor(h))] + (h-math.Floor(h))*(sorted[int(math.Ceil(h))]-sorted[int(math.Floor(h))])
			if math.Abs(got[i]-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("n=%d q=%v: %v, want %v", n, q, got[i], want)
			}
		}
	}
}
