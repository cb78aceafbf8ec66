package spanrows

import (
	"strings"

	"github.com/genscope/genscope/internal/store"
)

// Dialect is how a backend writes the pieces of the filter bar's
// conditions (FilterConds): its columns, values, case-insensitive
// substring test, per-call metric values and attribute lookups.
type Dialect struct {
	// Col is a column of the spans table, as the query names it.
	Col func(name string) string
	// Str and Num write a value (a literal or a parameter).
	Str func(v string) string
	Num func(v float64) string
	// ContainsCI is whether the string x contains lower, a Unicode
	// lower-cased string, ignoring case.
	ContainsCI func(x, lower string) string
	// Metric is a per-call metric's value and the condition for a call
	// to have one (store.Threshold).
	Metric func(metric string) (x, cond string)
	// AttrExists is whether the span has the attribute key (a valid
	// store.ValidAttrKey); AttrText the text of its value
	// (store.AttrText), NULL when it has none.
	AttrExists func(key string) string
	AttrText   func(key string) string
}

// FilterConds are the conditions (to AND) of f's Services, Models,
// Users, Thresholds and Attrs; user is the backend's expression of the
// effective user, needed when f.Users is set.
func FilterConds(f store.Filter, d Dialect, user string) []string {
	var conds []string
	if !f.Services.IsZero() {
		conds = append(conds, matchSQL(d, d.Col("service"), f.Services))
	}
	if !f.Models.IsZero() {
		conds = append(conds, "("+matchSQL(d, d.Col("request_model"), f.Models)+" OR "+matchSQL(d, d.Col("response_model"), f.Models)+")")
	}
	if !f.Users.IsZero() {
		conds = append(conds, matchSQL(d, user, f.Users))
	}
	for _, t := range f.Thresholds {
		x, cond := d.Metric(t.Metric)
		op := " > "
		if t.Op == store.ThresholdLT {
			op = " < "
		}
		conds = append(conds, "("+cond+" AND "+x+op+d.Num(t.Value)+")")
	}
	for _, a := range f.Attrs {
		switch a.Op {
		case store.AttrExists:
			conds = append(conds, d.AttrExists(a.Key))
		case store.AttrEquals:
			conds = append(conds, "("+d.AttrText(a.Key)+" = "+d.Str(a.Value)+")")
		case store.AttrContains:
			conds = append(conds, d.ContainsCI(d.AttrText(a.Key), strings.ToLower(a.Value)))
		}
	}
	return conds
}

// matchSQL is the condition that m selects x.
func matchSQL(d Dialect, x string, m store.Match) string {
	var or []string
	if len(m.In) > 0 {
		vals := make([]string, len(m.In))
		for i, v := range m.In {
			vals[i] = d.Str(v)
		}
		or = append(or, x+" IN ("+strings.Join(vals, ", ")+")")
	}
	if m.Contains != "" {
		or = append(or, d.ContainsCI(x, strings.ToLower(m.Contains)))
	}
	return "(" + strings.Join(or, " OR ") + ")"
}

// HasBarFilters reports whether f has any of the filter bar's filters,
// which pre-aggregated data (rollups) cannot answer.
func HasBarFilters(f store.Filter) bool {
	return !f.Services.IsZero() || !f.Models.IsZero() || !f.Users.IsZero() || len(f.Thresholds) > 0 || len(f.Attrs) > 0 || len(f.Scores) > 0
}
