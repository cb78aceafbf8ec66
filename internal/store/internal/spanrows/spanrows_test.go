package spanrows

import (
	"strconv"
	"strings"
	"testing"

	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/store/internal/keyset"
)

func TestRangesSQL(t *testing.T) {
	const m = int64(60 * 1e9) // a minute
	f := func(vals []int64, want string) {
		t.Helper()
		if got := RangesSQL("c", vals); got != want {
			t.Errorf("RangesSQL(%v) = %s, want %s", vals, got, want)
		}
	}
	f([]int64{5}, "(c >= 5 AND c <= 5)")
	// Values within ten minutes of each other share a range, in any order.
	f([]int64{10 * m, 0, 3 * m}, "(c >= 0 AND c <= "+strconv.FormatInt(10*m, 10)+")")
	f([]int64{0, 11 * m}, "(c >= 0 AND c <= 0) OR (c >= "+strconv.FormatInt(11*m, 10)+" AND c <= "+strconv.FormatInt(11*m, 10)+")")
	// Past maxRanges ranges, one covers everything.
	var many []int64
	for i := range maxRanges + 1 {
		many = append(many, int64(i)*20*m)
	}
	f(many, "(c >= 0 AND c <= "+strconv.FormatInt(int64(maxRanges)*20*m, 10)+")")
}

func TestKeyset(t *testing.T) {
	lit := func(v any) string {
		switch x := v.(type) {
		case int64:
			return strconv.FormatInt(x, 10)
		case uint64:
			return strconv.FormatUint(x, 10)
		}
		t.Fatalf("lit(%T)", v)
		return ""
	}
	ks := Keyset{Start: "st", Span: "sp", Hi: "hi", Lo: "lo"}
	if got := ks.After(List{}, lit); got != nil {
		t.Errorf("After without a key = %v", got)
	}
	after := &keyset.Key{Start: 1, Span: 2, Hi: 3, Lo: 4, Sort: 9}
	got := strings.Join(ks.After(List{After: after}, lit), " AND ")
	want := "st <= 1 AND (st < 1 OR (st = 1 AND (sp < 2 OR (sp = 2 AND (hi < 3 OR (hi = 3 AND lo < 4))))))"
	if got != want {
		t.Errorf("After(desc) = %s, want %s", got, want)
	}
	ks.Sort = "d"
	got = strings.Join(ks.After(List{After: after, Asc: true}, lit), " AND ")
	want = "d >= 9 AND (d > 9 OR (d = 9 AND (st > 1 OR (st = 1 AND (sp > 2 OR (sp = 2 AND (hi > 3 OR (hi = 3 AND lo > 4))))))))"
	if got != want {
		t.Errorf("After(asc, sorted) = %s, want %s", got, want)
	}
	if got, want := ks.OrderBy(List{}, "x"), " ORDER BY x DESC, st DESC, sp DESC, hi DESC, lo DESC"; got != want {
		t.Errorf("OrderBy = %q, want %q", got, want)
	}
	if got, want := ks.OrderBy(List{Asc: true}, ""), " ORDER BY st ASC, sp ASC, hi ASC, lo ASC"; got != want {
		t.Errorf("OrderBy(asc) = %q, want %q", got, want)
	}
}

// rows is a result set in memory.
type rows struct {
	data [][]any
	i    int
}

func (r *rows) Next() bool   { r.i++; return r.i <= len(r.data) }
func (r *rows) Err() error   { return nil }
func (r *rows) Close() error { return nil }
func (r *rows) Scan(dest ...any) error {
	for j, d := range dest {
		switch p := d.(type) {
		case *string:
			*p = r.data[r.i-1][j].(string)
		case *int64:
			*p = r.data[r.i-1][j].(int64)
		case interface{ Scan(any) error }:
			if err := p.Scan(r.data[r.i-1][j]); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestScanAggregates: no data is value 0, a split answer drops groups
// without calls, an unsplit one is one row even over no calls.
func TestScanAggregates(t *testing.T) {
	nan := 0.0
	nan /= nan
	got, err := ScanAggregates(&rows{data: [][]any{
		{"a", 2.5, int64(3), int64(2)},
		{"b", nil, int64(1), int64(0)},
		{"c", nan, int64(1), int64(1)},
		{"d", 1.0, int64(0), int64(0)},
	}}, store.AggregateQuery{SplitBy: store.DimModel})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.AggregateRow{{Key: "a", Value: 2.5, Calls: 3, Count: 2}, {Key: "b", Calls: 1}, {Key: "c", Calls: 1, Count: 1}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	got, err = ScanAggregates(&rows{}, store.AggregateQuery{})
	if err != nil || len(got) != 1 || got[0] != (store.AggregateRow{}) {
		t.Errorf("unsplit over no rows = %+v, %v", got, err)
	}
}

func TestSummaryInputPreview(t *testing.T) {
	for _, c := range []struct {
		name    string
		mask    uint8
		content string
		recIn   []string
		want    string
	}{
		{"own, with the preview segment", store.MaskAll, "S\x00S\nfirst\nsecond\x00out\x00second", nil, "second"},
		{"own, a row from before the preview segment", store.MaskAll, "S\x00first\x00out", nil, "first"},
		{"own input wins over records", store.MaskInput, "\x00q\x00\x00q", []string{"rec"}, "q"},
		{"from records: the last with text", store.MaskSystem, "S\x00\x00\x00", []string{"one", "two", ""}, "two"},
	} {
		r := Row{Mask: c.mask, Content: c.content, RecIn: c.recIn}
		if got := r.Summary().Input; got != c.want {
			t.Errorf("%s: input %q, want %q", c.name, got, c.want)
		}
	}
}
