package spanrows

import (
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// ScanAggregates reads rows of (key, value, calls, count) into q's answer
// (see store.Aggregator): a value over no data (count 0, NULL, NaN or
// infinite) is 0; split, a group without calls is left out; not split,
// the answer is one row even over no calls.
func ScanAggregates(rs Rows, q store.AggregateQuery) ([]store.AggregateRow, error) {
	defer rs.Close()
	out := []store.AggregateRow{}
	for rs.Next() {
		var r store.AggregateRow
		var v sql.NullFloat64
		if err := rs.Scan(&r.Key, &v, &r.Calls, &r.Count); err != nil {
			return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
		}
		if r.Count > 0 && v.Valid && !math.IsNaN(v.Float64) && !math.IsInf(v.Float64, 0) {
			r.Value = v.Float64
		}
		if q.SplitBy != "" && r.Calls == 0 {
			continue
		}
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("aggregate %s: %w", q.Metric, err)
	}
	if q.SplitBy == "" && len(out) == 0 {
		out = append(out, store.AggregateRow{})
	}
	return out, nil
}

// DimSQL is the SQL of a (valid) dimension: the span column of the same
// name (store.DimModel is the column model ...) after prefix (a table
// alias and dot, or ""), or for store.DimSession and store.DimUser the
// backend's expression of the effective session or user.
func DimSQL(dim, prefix, session, user string) string {
	switch dim {
	case store.DimSession:
		return session
	case store.DimUser:
		return user
	}
	return prefix + dim
}

// ScanUnknownModels reads rows of (provider, model, calls, last start).
func ScanUnknownModels(rs Rows) ([]store.UnknownModel, error) {
	defer rs.Close()
	out := []store.UnknownModel{}
	for rs.Next() {
		var m store.UnknownModel
		var last int64
		if err := rs.Scan(&m.Provider, &m.Model, &m.Calls, &last); err != nil {
			return nil, fmt.Errorf("unknown models: %w", err)
		}
		m.LastSeen = time.Unix(0, last).UTC()
		out = append(out, m)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("unknown models: %w", err)
	}
	return out, nil
}

// TotalsFunc gives, for each row of a breakdown, where its totals (after
// the key) scan to, and the overview they make once scanned.
type TotalsFunc func() (dest []any, overview func() store.Overview)

// ScanBreakdown reads rows of (key, totals...) into the breakdown by
// the dimension by; when store.LastSeenDim(by), each row ends with the
// newest call's start (Unix nanoseconds).
func ScanBreakdown(rs Rows, by string, totals TotalsFunc) ([]store.BreakdownRow, error) {
	defer rs.Close()
	out := []store.BreakdownRow{}
	last := store.LastSeenDim(by)
	for rs.Next() {
		var key string
		var lastNS int64
		dest, overview := totals()
		dest = append([]any{&key}, dest...)
		if last {
			dest = append(dest, &lastNS)
		}
		if err := rs.Scan(dest...); err != nil {
			return nil, fmt.Errorf("breakdown by %s: %w", by, err)
		}
		t := overview()
		row := store.BreakdownRow{
			Key: key, Calls: t.Calls, Errors: t.Errors, ErrorRate: t.ErrorRate,
			InputTokens: t.InputTokens, OutputTokens: t.OutputTokens, TotalTokens: t.TotalTokens,
			CostUSD: t.CostUSD, CostUnknownCalls: t.CostUnknownCalls, DurationMS: t.DurationMS,
		}
		if last {
			ts := time.Unix(0, lastNS).UTC()
			row.LastSeen = &ts
		}
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("breakdown by %s: %w", by, err)
	}
	return out, nil
}
