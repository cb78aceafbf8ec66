package spanrows

import (
	"fmt"
	"sort"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// StepClasses is the predicate on the class column (after prefix) that
// selects agent runs and tool calls.
func StepClasses(prefix string) string {
	return prefix + `class IN ('` + string(genai.ClassAgent) + `', '` + string(genai.ClassTool) + `')`
}

// StepFilter is the predicate of a StepsQuery's Agent and Tool (see
// store.StepsQuery) over the columns after prefix; traces(class, col, v)
// is the backend's predicate "the span's trace holds a span of class
// whose col is v (within the filter's window)". "" when neither is set.
func StepFilter(q store.StepsQuery, prefix string, lit func(string) string, traces func(class genai.Class, col, v string) string) string {
	var conds []string
	if q.Agent != "" {
		conds = append(conds, "(("+prefix+"class = 'agent' AND "+prefix+"agent_name = "+lit(q.Agent)+") OR ("+
			prefix+"class = 'tool' AND "+traces(genai.ClassAgent, "agent_name", q.Agent)+"))")
	}
	if q.Tool != "" {
		conds = append(conds, "(("+prefix+"class = 'tool' AND "+prefix+"tool_name = "+lit(q.Tool)+") OR ("+
			prefix+"class = 'agent' AND "+traces(genai.ClassTool, "tool_name", q.Tool)+"))")
	}
	if len(conds) == 0 {
		return ""
	}
	if len(conds) == 1 {
		return conds[0]
	}
	return conds[0] + " AND " + conds[1]
}

// ScanSteps reads rows of (class, name, count, errors, sum and max of
// the duration in ns), one per class and name, into the answer: the totals of each
// class and its q.Limit largest names.
func ScanSteps(rs Rows, q store.StepsQuery) (store.Steps, error) {
	defer rs.Close()
	out := store.Steps{Agents: []store.StepRow{}, Tools: []store.StepRow{}}
	var runsNS, toolsNS float64
	for rs.Next() {
		var class, name string
		var n, errs, sum, mx int64
		if err := rs.Scan(&class, &name, &n, &errs, &sum, &mx); err != nil {
			return store.Steps{}, fmt.Errorf("steps: %w", err)
		}
		row := store.StepRow{Name: name, StepTotals: store.StepTotals{Count: n, Errors: errs, MaxMS: float64(mx) / 1e6}}
		if n > 0 {
			row.AvgMS = float64(sum) / float64(n) / 1e6
		}
		row.Finish()
		tot, list, ns := &out.Runs, &out.Agents, &runsNS
		if genai.Class(class) == genai.ClassTool {
			tot, list, ns = &out.ToolCalls, &out.Tools, &toolsNS
		}
		tot.Count += n
		tot.Errors += errs
		tot.MaxMS = max(tot.MaxMS, row.MaxMS)
		*ns += float64(sum)
		*list = append(*list, row)
	}
	if err := rs.Err(); err != nil {
		return store.Steps{}, fmt.Errorf("steps: %w", err)
	}
	for _, x := range []struct {
		tot  *store.StepTotals
		list *[]store.StepRow
		ns   float64
	}{{&out.Runs, &out.Agents, runsNS}, {&out.ToolCalls, &out.Tools, toolsNS}} {
		if x.tot.Count > 0 {
			x.tot.AvgMS = x.ns / float64(x.tot.Count) / 1e6
		}
		x.tot.Finish()
		SortSteps(*x.list)
		if len(*x.list) > q.Limit {
			*x.list = (*x.list)[:q.Limit]
		}
	}
	return out, nil
}

// SortSteps orders rows by count (desc), then name.
func SortSteps(rows []store.StepRow) {
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].Name < rows[j].Name
	})
}
