package storetest

import (
	"cmp"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// ref is the reference model of the store contract: the spans and records
// written, answering queries in plain Go.
type ref struct {
	spans   map[spanKey]*genai.Span
	order   []spanKey // first-written order
	records map[spanKey][]genai.MessageRecord
	recSeen map[recKey]bool
}

type spanKey struct {
	project string
	trace   genai.TraceID
	span    genai.SpanID
}

type recKey struct {
	spanKey
	kind genai.MessageKind
	time int64
	seq  int
}

func newRef() *ref {
	return &ref{spans: map[spanKey]*genai.Span{}, records: map[spanKey][]genai.MessageRecord{}, recSeen: map[recKey]bool{}}
}

func (r *ref) add(spans []genai.Span, recs []genai.MessageRecord) {
	for i := range spans {
		sp := spans[i]
		k := spanKey{sp.Project, sp.TraceID, sp.SpanID}
		if _, ok := r.spans[k]; ok {
			continue
		}
		r.spans[k] = &sp
		r.order = append(r.order, k)
	}
	for _, m := range recs {
		k := spanKey{m.Project, m.TraceID, m.SpanID}
		rk := recKey{k, m.Kind, m.TimeUnixNano, m.Seq}
		if r.recSeen[rk] {
			continue
		}
		r.recSeen[rk] = true
		r.records[k] = append(r.records[k], m)
	}
}

// effective is a span as queries see it.
type effective struct {
	*genai.Span
	session, user         string
	system, input, output string // text
	inputPreview          string // what the spans table shows as input
	sys                   []genai.Part
	in, out               []genai.Message
	truncated             bool
}

func (r *ref) effective(k spanKey) effective {
	sp := r.spans[k]
	e := effective{Span: sp, session: sp.SessionID, user: sp.UserID}
	if e.session == "" || e.user == "" {
		// Earliest span of the trace (start, span id) carrying one.
		var carriers []*genai.Span
		for _, o := range r.spans {
			if o.Project == sp.Project && o.TraceID == sp.TraceID {
				carriers = append(carriers, o)
			}
		}
		slices.SortFunc(carriers, func(a, b *genai.Span) int {
			return cmp.Or(cmp.Compare(a.StartUnixNano, b.StartUnixNano), strings.Compare(a.SpanID.String(), b.SpanID.String()))
		})
		for _, c := range carriers {
			if e.session == "" && c.SessionID != "" {
				e.session = c.SessionID
			}
			if e.user == "" && c.UserID != "" {
				e.user = c.UserID
			}
		}
	}
	e.sys, e.in, e.out, e.truncated = sp.SystemInstructions, sp.InputMessages, sp.OutputMessages, sp.ContentTruncated
	recs := slices.Clone(r.records[k])
	slices.SortStableFunc(recs, func(a, b genai.MessageRecord) int {
		return cmp.Or(cmp.Compare(a.TimeUnixNano, b.TimeUnixNano), cmp.Compare(a.Seq, b.Seq))
	})
	var recIn []string
	for _, m := range recs {
		used := false
		switch {
		case m.Kind == genai.KindSystem && sp.SystemInstructions == nil:
			e.sys = append(e.sys, m.Message.Parts...)
			used = true
		case m.Kind == genai.KindInput && sp.InputMessages == nil:
			e.in = append(e.in, m.Message)
			recIn = append(recIn, store.PartsText(m.Message.Parts))
			used = true
		case m.Kind == genai.KindOutput && sp.OutputMessages == nil:
			e.out = append(e.out, m.Message)
			used = true
		}
		e.truncated = e.truncated || (used && m.Truncated)
	}
	e.system, e.input, e.output = store.PartsText(e.sys), store.MessagesText(e.in), store.MessagesText(e.out)
	// The input preview: the user's last message with text (records keep
	// no role: their last with text), else the non-system messages' text.
	if sp.InputMessages == nil {
		for _, t := range recIn {
			if t != "" {
				e.inputPreview = t
			}
		}
		return e
	}
	var rest []genai.Message
	for _, m := range sp.InputMessages {
		if m.Role == "user" && store.PartsText(m.Parts) != "" {
			e.inputPreview = store.PartsText(m.Parts)
		}
		if m.Role != "system" && m.Role != "developer" {
			rest = append(rest, m)
		}
	}
	if e.inputPreview == "" {
		e.inputPreview = store.MessagesText(rest)
	}
	return e
}

func (r *ref) match(e effective, f store.Filter, all bool) bool {
	sp := e.Span
	switch {
	case sp.Project != f.Project,
		!all && !sp.IsCall(),
		!f.From.IsZero() && sp.StartUnixNano < f.From.UnixNano(),
		!f.To.IsZero() && sp.StartUnixNano >= f.To.UnixNano(),
		f.Service != "" && sp.Service != f.Service,
		f.Provider != "" && sp.Provider != f.Provider,
		f.Model != "" && sp.RequestModel != f.Model && sp.ResponseModel != f.Model,
		f.Operation != "" && sp.Operation != f.Operation,
		f.Status != "" && sp.Status != f.Status,
		f.Session != "" && e.session != f.Session,
		f.User != "" && e.user != f.User:
		return false
	}
	if !matchBar(e, f) {
		return false
	}
	if f.Text != "" {
		q := strings.ToLower(f.Text)
		if !strings.Contains(strings.ToLower(e.system), q) && !strings.Contains(strings.ToLower(e.input), q) &&
			!strings.Contains(strings.ToLower(e.output), q) {
			return false
		}
	}
	return true
}

// selected returns the effective spans a filter selects, in the Spans
// order (newest first).
func (r *ref) selected(f store.Filter, all bool) []effective {
	var out []effective
	for _, k := range r.order {
		e := r.effective(k)
		if r.match(e, f, all) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b effective) int {
		return cmp.Or(
			cmp.Compare(b.StartUnixNano, a.StartUnixNano),
			strings.Compare(b.SpanID.String(), a.SpanID.String()),
			strings.Compare(b.TraceID.String(), a.TraceID.String()))
	})
	return out
}

// ordered returns the effective spans a filter selects in the Spans order
// of SpansQuery.Order: its key descending, ties in the time order.
func (r *ref) ordered(f store.Filter, all bool, order string) []effective {
	out := r.selected(f, all)
	key := func(e effective) int64 {
		switch order {
		case store.OrderDuration:
			return e.DurationNano
		case store.OrderTokens:
			return e.Usage.InputTokens + e.Usage.OutputTokens
		}
		return 0
	}
	slices.SortStableFunc(out, func(a, b effective) int { return cmp.Compare(key(b), key(a)) })
	return out
}

// quantile is the type-7 quantile of sorted values.
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	h := q * float64(len(sorted)-1)
	lo := math.Floor(h)
	hi := math.Ceil(h)
	return sorted[int(lo)] + (h-lo)*(sorted[int(hi)]-sorted[int(lo)])
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func overviewOf(es []effective) store.Overview {
	var o store.Overview
	var durs, ttfts []float64
	for _, e := range es {
		o.Calls++
		if e.Status == genai.StatusError {
			o.Errors++
		}
		o.InputTokens += e.Usage.InputTokens
		o.OutputTokens += e.Usage.OutputTokens
		o.CachedTokens += e.Usage.CachedInputTokens
		o.ReasoningTokens += e.Usage.ReasoningTokens
		if e.CostKnown {
			o.CostUSD += e.CostUSD
		} else {
			o.CostUnknownCalls++
		}
		durs = append(durs, ms(e.DurationNano))
		if e.TTFTNano > 0 {
			ttfts = append(ttfts, ms(e.TTFTNano))
		}
	}
	o.TotalTokens = o.InputTokens + o.OutputTokens
	if o.Calls > 0 {
		o.ErrorRate = float64(o.Errors) / float64(o.Calls)
		sum := 0.0
		for _, d := range durs {
			sum += d
		}
		o.DurationMS.Avg = sum / float64(len(durs))
	}
	sort.Float64s(durs)
	sort.Float64s(ttfts)
	o.DurationMS.P50, o.DurationMS.P95, o.DurationMS.P99 = quantile(durs, 0.5), quantile(durs, 0.95), quantile(durs, 0.99)
	o.TTFTMS.Count = int64(len(ttfts))
	o.TTFTMS.P50, o.TTFTMS.P95 = quantile(ttfts, 0.5), quantile(ttfts, 0.95)
	return o
}

func dimOf(e effective, dim string) string {
	switch dim {
	case store.DimModel:
		return e.Model()
	case store.DimProvider:
		return e.Provider
	case store.DimService:
		return e.Service
	case store.DimOperation:
		return e.Operation
	case store.DimStatus:
		return string(e.Status)
	case store.DimSession:
		return e.session
	case store.DimUser:
		return e.user
	}
	panic("storetest: unknown dimension " + dim)
}

// groups splits es by dimension, ordered by calls desc then key.
func groups(es []effective, dim string) (keys []string, by map[string][]effective) {
	by = map[string][]effective{}
	for _, e := range es {
		k := dimOf(e, dim)
		if _, ok := by[k]; !ok {
			keys = append(keys, k)
		}
		by[k] = append(by[k], e)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(by[b]), len(by[a])), strings.Compare(a, b))
	})
	return keys, by
}

func (r *ref) breakdown(q store.BreakdownQuery) []store.BreakdownRow {
	keys, by := groups(r.selected(q.Filter, false), q.By)
	out := []store.BreakdownRow{}
	for _, k := range keys {
		o := overviewOf(by[k])
		row := store.BreakdownRow{Key: k, Calls: o.Calls, Errors: o.Errors, ErrorRate: o.ErrorRate,
			InputTokens: o.InputTokens, OutputTokens: o.OutputTokens, TotalTokens: o.TotalTokens,
			CostUSD: o.CostUSD, CostUnknownCalls: o.CostUnknownCalls, DurationMS: o.DurationMS}
		if store.LastSeenDim(q.By) {
			var last int64
			for _, e := range by[k] {
				last = max(last, e.StartUnixNano)
			}
			ts := time.Unix(0, last).UTC()
			row.LastSeen = &ts
		}
		out = append(out, row)
	}
	limit := cmp.Or(q.Limit, 100)
	return out[:min(limit, len(out))]
}

// metricValues returns the values of a metric over calls (ok=false for
// calls without one).
func metricValue(e effective, metric string) (float64, bool) {
	switch metric {
	case store.MetricInputTokens:
		return float64(e.Usage.InputTokens), true
	case store.MetricOutputTokens:
		return float64(e.Usage.OutputTokens), true
	case store.MetricTotalTokens:
		return float64(e.Usage.Total()), true
	case store.MetricCostUSD:
		return e.CostUSD, e.CostKnown
	case store.MetricDurationMS:
		return ms(e.DurationNano), true
	case store.MetricTTFTMS:
		return ms(e.TTFTNano), e.TTFTNano > 0
	}
	panic("storetest: unknown metric " + metric)
}

func bucketValue(es []effective, metric, agg string) (float64, bool) {
	var errs float64
	for _, e := range es {
		if e.Status == genai.StatusError {
			errs++
		}
	}
	switch metric {
	case store.MetricCalls:
		return float64(len(es)), true
	case store.MetricErrors:
		return errs, true
	case store.MetricErrorRate:
		return errs / float64(len(es)), true
	}
	if agg == "" {
		agg = store.AggSum
		if metric == store.MetricDurationMS || metric == store.MetricTTFTMS {
			agg = store.AggAvg
		}
	}
	var vs []float64
	for _, e := range es {
		if v, ok := metricValue(e, metric); ok {
			vs = append(vs, v)
		}
	}
	sort.Float64s(vs)
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	switch agg {
	case store.AggSum:
		return sum, true
	case store.AggCount:
		return float64(len(vs)), true
	}
	if len(vs) == 0 {
		return 0, false
	}
	switch agg {
	case store.AggAvg:
		return sum / float64(len(vs)), true
	case store.AggMin:
		return vs[0], true
	case store.AggMax:
		return vs[len(vs)-1], true
	case store.AggP50:
		return quantile(vs, 0.5), true
	case store.AggP90:
		return quantile(vs, 0.9), true
	case store.AggP95:
		return quantile(vs, 0.95), true
	case store.AggP99:
		return quantile(vs, 0.99), true
	}
	panic("storetest: unknown aggregation " + agg)
}

func (r *ref) timeseries(q store.TimeseriesQuery) []store.Series {
	es := r.selected(q.Filter, false)
	var keys []string
	by := map[string][]effective{"": es}
	if q.GroupBy != "" {
		keys, by = groups(es, q.GroupBy)
		keys = keys[:min(cmp.Or(q.Limit, 10), len(keys))]
	} else if len(es) > 0 {
		keys = []string{""}
	}
	iv := q.Interval.Nanoseconds()
	out := []store.Series{}
	for _, k := range keys {
		buckets := map[int64][]effective{}
		var times []int64
		for _, e := range by[k] {
			b := e.StartUnixNano - e.StartUnixNano%iv
			if _, ok := buckets[b]; !ok {
				times = append(times, b)
			}
			buckets[b] = append(buckets[b], e)
		}
		slices.Sort(times)
		s := store.Series{Group: k}
		for _, t := range times {
			if v, ok := bucketValue(buckets[t], q.Metric, q.Agg); ok {
				s.Points = append(s.Points, store.Point{Time: time.Unix(0, t).UTC(), Value: v})
			}
		}
		if len(s.Points) > 0 {
			out = append(out, s)
		}
	}
	return out
}

func (r *ref) summary(e effective) store.SpanSummary {
	s := store.SpanSummary{
		TraceID: e.TraceID.String(), SpanID: e.SpanID.String(), Name: e.Name, Service: e.Service,
		StartTime: time.Unix(0, e.StartUnixNano).UTC(), Status: e.Status, ErrorType: e.ErrorType,
		DurationMS: ms(e.DurationNano), Operation: e.Operation, Class: e.Class(), Provider: e.Provider, Model: e.Model(),
		ResponseModel: e.ResponseModel, InputTokens: e.Usage.InputTokens, OutputTokens: e.Usage.OutputTokens,
		Session: e.session, User: e.user,
		System: store.Preview(e.system), Input: store.Preview(e.inputPreview), Output: store.Preview(e.output),
	}
	if !e.ParentSpanID.IsZero() {
		s.ParentSpanID = e.ParentSpanID.String()
	}
	if e.TTFTNano > 0 {
		v := ms(e.TTFTNano)
		s.TTFTMS = &v
	}
	if e.CostKnown && e.IsCall() {
		v := e.CostUSD
		s.CostUSD = &v
	}
	return s
}

func (r *ref) sessions(f store.Filter) []store.SessionSummary {
	keys, by := groups(r.selected(f, false), store.DimSession)
	out := []store.SessionSummary{}
	for _, k := range keys {
		if k == "" {
			continue
		}
		es := by[k]
		o := overviewOf(es)
		s := store.SessionSummary{Session: k, Calls: o.Calls, Errors: o.Errors, InputTokens: o.InputTokens,
			OutputTokens: o.OutputTokens, TotalTokens: o.TotalTokens, CostUSD: o.CostUSD, CostUnknownCalls: o.CostUnknownCalls}
		first, last := es[0].StartUnixNano, es[0].StartUnixNano
		for _, e := range es {
			first, last = min(first, e.StartUnixNano), max(last, e.StartUnixNano)
			if e.user != "" && (s.User == "" || e.user < s.User) {
				s.User = e.user
			}
		}
		s.FirstTime, s.LastTime = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b store.SessionSummary) int {
		return cmp.Or(b.LastTime.Compare(a.LastTime), strings.Compare(a.Session, b.Session))
	})
	return out
}

func (r *ref) unknownModels(f store.Filter) []store.UnknownModel {
	type pm struct{ p, m string }
	agg := map[pm]*store.UnknownModel{}
	for _, e := range r.selected(f, false) {
		if e.CostKnown {
			continue
		}
		k := pm{e.Provider, e.Model()}
		u := agg[k]
		if u == nil {
			u = &store.UnknownModel{Provider: k.p, Model: k.m}
			agg[k] = u
		}
		u.Calls++
		if t := time.Unix(0, e.StartUnixNano).UTC(); t.After(u.LastSeen) {
			u.LastSeen = t
		}
	}
	out := []store.UnknownModel{}
	for _, u := range agg {
		out = append(out, *u)
	}
	slices.SortFunc(out, func(a, b store.UnknownModel) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), strings.Compare(a.Provider, b.Provider), strings.Compare(a.Model, b.Model))
	})
	return out
}

// traceSpans returns the effective spans of a trace.
func (r *ref) traceSpans(project string, id genai.TraceID) []effective {
	var out []effective
	for _, k := range r.order {
		if k.project == project && k.trace == id {
			out = append(out, r.effective(k))
		}
	}
	return out
}

// matchBar is the reference of the filter bar's filters (store.Match,
// store.Threshold, store.AttrFilter).
func matchBar(e effective, f store.Filter) bool {
	sp := e.Span
	if !f.Services.IsZero() && !f.Services.Matches(sp.Service) ||
		!f.Models.IsZero() && !f.Models.Matches(sp.RequestModel) && !f.Models.Matches(sp.ResponseModel) ||
		!f.Users.IsZero() && !f.Users.Matches(e.user) {
		return false
	}
	for _, t := range f.Thresholds {
		var v float64
		switch t.Metric {
		case store.MetricDurationMS:
			v = float64(sp.DurationNano) / 1e6
		case store.MetricTTFTMS:
			if sp.TTFTNano <= 0 {
				return false
			}
			v = float64(sp.TTFTNano) / 1e6
		case store.MetricInputTokens:
			v = float64(sp.Usage.InputTokens)
		case store.MetricOutputTokens:
			v = float64(sp.Usage.OutputTokens)
		case store.MetricTotalTokens:
			v = float64(sp.Usage.InputTokens + sp.Usage.OutputTokens)
		case store.MetricCostUSD:
			if !sp.CostKnown {
				return false
			}
			v = sp.CostUSD
		}
		if t.Op == store.ThresholdGT && !(v > t.Value) || t.Op == store.ThresholdLT && !(v < t.Value) {
			return false
		}
	}
	for _, a := range f.Attrs {
		v, ok := sp.Attributes[a.Key]
		if !ok {
			return false
		}
		if a.Op == store.AttrExists {
			continue
		}
		text, ok := store.AttrText(v)
		if !ok || a.Op == store.AttrEquals && text != a.Value ||
			a.Op == store.AttrContains && !strings.Contains(strings.ToLower(text), strings.ToLower(a.Value)) {
			return false
		}
	}
	return true
}

// steps is what Steps answers: the agent runs and tool calls the filter
// selects (as it selects calls, but of those classes), narrowed by the
// query's agent and tool names through their traces.
func (r *ref) steps(q store.StepsQuery) store.Steps {
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	has := map[genai.TraceID]map[string]bool{} // trace -> "agent:name" / "tool:name"
	for _, e := range r.selected(store.Filter{Project: q.Filter.Project}, true) {
		if !q.Filter.From.IsZero() && e.StartUnixNano < q.Filter.From.UnixNano()-store.CorrelationWindow.Nanoseconds() ||
			!q.Filter.To.IsZero() && e.StartUnixNano >= q.Filter.To.UnixNano()+store.CorrelationWindow.Nanoseconds() {
			continue
		}
		if has[e.TraceID] == nil {
			has[e.TraceID] = map[string]bool{}
		}
		has[e.TraceID][string(e.Class())+":"+e.AgentName+e.ToolName] = true
	}
	out := store.Steps{Agents: []store.StepRow{}, Tools: []store.StepRow{}}
	rows := map[string]*store.StepRow{}
	var order []string
	sums := map[*store.StepTotals]float64{}
	add := func(t *store.StepTotals, e effective) {
		t.Count++
		if e.Status == genai.StatusError {
			t.Errors++
		}
		t.MaxMS = max(t.MaxMS, ms(e.DurationNano))
		sums[t] += float64(e.DurationNano)
	}
	for _, e := range r.selected(q.Filter, true) {
		c := e.Class()
		if c != genai.ClassAgent && c != genai.ClassTool {
			continue
		}
		name := e.ToolName
		if c == genai.ClassAgent {
			name = e.AgentName
		}
		if q.Agent != "" && !(c == genai.ClassAgent && name == q.Agent || c == genai.ClassTool && has[e.TraceID]["agent:"+q.Agent]) ||
			q.Tool != "" && !(c == genai.ClassTool && name == q.Tool || c == genai.ClassAgent && has[e.TraceID]["tool:"+q.Tool]) {
			continue
		}
		tot := &out.Runs
		if c == genai.ClassTool {
			tot = &out.ToolCalls
		}
		add(tot, e)
		k := string(c) + ":" + name
		if rows[k] == nil {
			rows[k] = &store.StepRow{Name: name}
			order = append(order, k)
		}
		add(&rows[k].StepTotals, e)
	}
	finish := func(t *store.StepTotals) {
		if t.Count > 0 {
			t.AvgMS = sums[t] / float64(t.Count) / 1e6
		}
		t.Finish()
	}
	finish(&out.Runs)
	finish(&out.ToolCalls)
	for _, k := range order {
		row := rows[k]
		finish(&row.StepTotals)
		if strings.HasPrefix(k, "agent:") {
			out.Agents = append(out.Agents, *row)
		} else {
			out.Tools = append(out.Tools, *row)
		}
	}
	for _, l := range []*[]store.StepRow{&out.Agents, &out.Tools} {
		slices.SortFunc(*l, func(a, b store.StepRow) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Name, b.Name))
		})
		if len(*l) > limit {
			*l = (*l)[:limit]
		}
	}
	return out
}
