package spanrows

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// One call, one count (store.Store): what both stores' writers share to
// pair the app's and the gateway's records of a model call: the values a
// pair merges (CallVals, MergeCall), the matching of candidates
// (MatchPairs) and what the write does for them (PairPlan). Each store
// finds the stored candidates and applies the plan its own way.

// PairWindowNS is store.PairWindow in nanoseconds.
var PairWindowNS = store.PairWindow.Nanoseconds()

// CallVals are the values of a call record that a pair merges; own holds
// them as JSON (without the content text, which content retention
// clears).
type CallVals struct {
	Dur       int64    `json:"duration_ns"`
	TTFT      int64    `json:"ttft_ns"`
	In        int64    `json:"input_tokens"`
	Out       int64    `json:"output_tokens"`
	Cached    int64    `json:"cached_tokens"`
	Reasoning int64    `json:"reasoning_tokens"`
	Cost      *float64 `json:"cost_usd"` // nil: unknown
	Status    string   `json:"status"`
	ErrType   string   `json:"error_type"`
	Op        string   `json:"operation"`
	Provider  string   `json:"provider"`
	ReqModel  string   `json:"request_model"`
	RespModel string   `json:"response_model"`
	Mask      uint8    `json:"content_mask"`
	Service   string   `json:"service"`
	Session   string   `json:"session_id"` // the record's own, else resolved when written (eff_session)
	User      string   `json:"user_id"`
	Content   string   `json:"-"`
}

func (v *CallVals) Model() string { return cmp.Or(v.ReqModel, v.RespModel) }

// SpanVals are a batch span's call values.
func SpanVals(sp *genai.Span, mask uint8, content string) CallVals {
	v := CallVals{Dur: sp.DurationNano, TTFT: sp.TTFTNano, In: sp.Usage.InputTokens, Out: sp.Usage.OutputTokens,
		Cached: sp.Usage.CachedInputTokens, Reasoning: sp.Usage.ReasoningTokens, Status: string(sp.Status),
		ErrType: sp.ErrorType, Op: sp.Operation, Provider: sp.Provider, ReqModel: sp.RequestModel,
		RespModel: sp.ResponseModel, Mask: mask, Content: content, Service: sp.Service,
		Session: sp.SessionID, User: sp.UserID}
	if v.Status == "" {
		v.Status = string(genai.StatusUnset)
	}
	if sp.CostKnown {
		c := sp.CostUSD
		v.Cost = &c
	}
	return v
}

// MergeCall is the call of a pair: the app record's values but the
// gateway's duration, time to first token, tokens and cost (the app's
// where the gateway has none), error when either is, content by kind from
// whichever has it (store.Store says the same).
func MergeCall(app, gw CallVals) CallVals {
	m := app
	m.Dur = gw.Dur
	if gw.TTFT > 0 {
		m.TTFT = gw.TTFT
	}
	if gw.In+gw.Out > 0 || app.In+app.Out == 0 {
		m.In, m.Out, m.Cached, m.Reasoning, m.Cost = gw.In, gw.Out, gw.Cached, gw.Reasoning, gw.Cost
	}
	switch {
	case gw.Status == string(genai.StatusError):
		m.Status, m.ErrType = gw.Status, cmp.Or(gw.ErrType, app.ErrType)
	case app.Status == string(genai.StatusError):
	case app.Status == string(genai.StatusUnset):
		m.Status = gw.Status
	}
	m.Op, m.Provider = cmp.Or(app.Op, gw.Op), cmp.Or(app.Provider, gw.Provider)
	m.ReqModel, m.RespModel = cmp.Or(app.ReqModel, gw.ReqModel), cmp.Or(app.RespModel, gw.RespModel)
	m.Mask, m.Content = store.MergeContent(app.Mask, app.Content, gw.Mask, gw.Content)
	m.Session, m.User = cmp.Or(app.Session, gw.Session), cmp.Or(app.User, gw.User)
	return m
}

// PairNode is a span as pairing sees it, stored or in the batch.
type PairNode struct {
	Key     FullKey
	Parent  uint64
	Call    bool // a model call (genai.ClassCall)
	Gateway bool // recorded by the gateway
	RespID  string
	Paired  bool
	Batch   int // index in the batch's spans; -1 when stored
	Vals    CallVals
}

// PairOverride is what a batch span's row gets from its pair.
type PairOverride struct {
	IsCall  bool
	Partner uint64
	Vals    *CallVals // the call's values (the app record); nil for the gateway record
	Own     string
	// PartnerInBatch: the partner is in the same batch (else stored).
	PartnerInBatch bool
}

// PairUpdate is what a stored row gets from its pair.
type PairUpdate struct {
	Key FullKey
	PairOverride
}

// PairGate is the range of the starts of the gateway's call records
// stored (all, and those without a parent): a batch with no gateway
// record, and none stored within PairWindow of its spans, has nothing to
// pair, and skips the lookup.
type PairGate struct {
	any, anyRoot     bool
	min, max         int64
	rootMin, rootMax int64
}

func (g *PairGate) Add(start int64, root bool) {
	if !g.any {
		g.min, g.max, g.any = start, start, true
	}
	g.min, g.max = min(g.min, start), max(g.max, start)
	if root {
		if !g.anyRoot {
			g.rootMin, g.rootMax, g.anyRoot = start, start, true
		}
		g.rootMin, g.rootMax = min(g.rootMin, start), max(g.rootMax, start)
	}
}

func (g *PairGate) Near(lo, hi int64, root bool) bool {
	if root {
		return g.anyRoot && g.rootMax >= lo-PairWindowNS && g.rootMin <= hi+PairWindowNS
	}
	return g.any && g.max >= lo-PairWindowNS && g.min <= hi+PairWindowNS
}

// PairBatch is what pairing needs to know of a batch before it reads
// anything: the range of its starts, and what kinds of records it holds.
type PairBatch struct {
	Lo, Hi int64
	// Gateway: a gateway call record; Root: one without a parent and
	// with a response id; Resp: another call with a response id.
	Gateway, Root, Resp bool
}

// ScanPairBatch describes the batch's spans spans[i], i in idx (not
// empty).
func ScanPairBatch(spans []genai.Span, idx []int) PairBatch {
	b := PairBatch{Lo: math.MaxInt64, Hi: math.MinInt64}
	for _, i := range idx {
		sp := &spans[i]
		b.Lo, b.Hi = min(b.Lo, sp.StartUnixNano), max(b.Hi, sp.StartUnixNano)
		if sp.Source == genai.SourceGateway && sp.IsCall() {
			b.Gateway = true
			b.Root = b.Root || (sp.ParentSpanID.IsZero() && sp.ResponseID != "")
		} else if sp.IsCall() && sp.ResponseID != "" {
			b.Resp = true
		}
	}
	return b
}

// BatchNode is the pair node of the batch's span sp (its index i), with
// its content as the row keeps it.
func BatchNode(sp *genai.Span, i int, mask uint8, content string) *PairNode {
	n := &PairNode{Key: KeyOf(sp), Parent: store.SpanU64(sp.ParentSpanID), Call: sp.IsCall(),
		Gateway: sp.Source == genai.SourceGateway, RespID: sp.ResponseID, Batch: i}
	if n.Call {
		n.Vals = SpanVals(sp, mask, content)
	}
	return n
}

// PairSet collects the nodes pairing looks at, by trace; the first node
// of a key wins (the batch's before the stored, a stored copy with its
// partner before one without).
type PairSet struct {
	ByTrace map[TraceKey]map[uint64]*PairNode
	Nodes   []*PairNode
}

// Add adds n unless its key is known; it reports whether n's trace was
// new to the set.
func (p *PairSet) Add(n *PairNode) (newTrace bool) {
	if p.ByTrace == nil {
		p.ByTrace = map[TraceKey]map[uint64]*PairNode{}
	}
	tk := TraceKey{Project: n.Key.Project, Hi: n.Key.Hi, Lo: n.Key.Lo}
	m := p.ByTrace[tk]
	if m == nil {
		m = map[uint64]*PairNode{}
		p.ByTrace[tk] = m
		newTrace = true
	}
	if _, dup := m[n.Key.Span]; !dup {
		m[n.Key.Span] = n
		p.Nodes = append(p.Nodes, n)
	}
	return newTrace
}

// Plan matches the set's pairs (MatchPairs).
func (p *PairSet) Plan() *PairPlan { return MatchPairs(p.ByTrace, p.Nodes) }

// PairPlan is what one write does for pairs.
type PairPlan struct {
	Batch   map[int]*PairOverride
	Updates []PairUpdate
}

type TraceKey struct {
	Project string
	Hi, Lo  uint64
}

// pairEdge is a candidate pair.
type pairEdge struct {
	app, gw  *PairNode
	sameResp bool
	byRespID bool
}

// MatchPairs pairs the unpaired app and gateway records: by the trace
// relation first, then by response id; for one record, the candidate with
// the same response id first, then the latest start.
func MatchPairs(byTrace map[TraceKey]map[uint64]*PairNode, nodes []*PairNode) *PairPlan {
	var edges []pairEdge
	byResp := map[string][]*PairNode{}
	for _, n := range nodes {
		if n.Call && !n.Gateway && n.RespID != "" {
			byResp[n.Key.Project+"\x00"+n.RespID] = append(byResp[n.Key.Project+"\x00"+n.RespID], n)
		}
	}
	for _, g := range nodes {
		if !g.Call || !g.Gateway || g.Paired {
			continue
		}
		if g.Parent == 0 {
			if g.RespID == "" {
				continue
			}
			for _, a := range byResp[g.Key.Project+"\x00"+g.RespID] {
				if !a.Paired && abs(a.Key.Start-g.Key.Start) <= PairWindowNS {
					edges = append(edges, pairEdge{app: a, gw: g, sameResp: true, byRespID: true})
				}
			}
			continue
		}
		m := byTrace[TraceKey{Project: g.Key.Project, Hi: g.Key.Hi, Lo: g.Key.Lo}]
		p := m[g.Parent]
		if p != nil && !p.Call && p.Parent != 0 {
			p = m[p.Parent] // the HTTP client span between them
		}
		if p != nil && p.Call && !p.Gateway && !p.Paired && abs(p.Key.Start-g.Key.Start) <= PairWindowNS {
			edges = append(edges, pairEdge{app: p, gw: g, sameResp: p.RespID != "" && p.RespID == g.RespID})
		}
	}
	slices.SortStableFunc(edges, func(x, y pairEdge) int {
		if x.byRespID != y.byRespID {
			if x.byRespID {
				return 1
			}
			return -1
		}
		if x.sameResp != y.sameResp {
			if x.sameResp {
				return -1
			}
			return 1
		}
		return cmp.Compare(y.gw.Key.Start, x.gw.Key.Start)
	})
	plan := &PairPlan{Batch: map[int]*PairOverride{}}
	for _, e := range edges {
		if e.app.Paired || e.gw.Paired {
			continue
		}
		e.app.Paired, e.gw.Paired = true, true
		// The call's row is the record written now (the app's when both
		// or neither are: an HTTP span linked them), so a stored record
		// only stops counting (two narrow columns) and the call's values
		// go into the row being appended.
		counted, other := e.app, e.gw
		if e.app.Batch < 0 && e.gw.Batch >= 0 {
			counted, other = e.gw, e.app
		}
		merged := MergeCall(e.app.Vals, e.gw.Vals)
		own, _ := json.Marshal(counted.Vals) // plain numbers and strings: cannot fail
		cov := PairOverride{IsCall: true, Partner: other.Key.Span, Vals: &merged, Own: string(own), PartnerInBatch: other.Batch >= 0}
		oov := PairOverride{IsCall: false, Partner: counted.Key.Span, PartnerInBatch: counted.Batch >= 0}
		for _, x := range []struct {
			n  *PairNode
			ov PairOverride
		}{{counted, cov}, {other, oov}} {
			if x.n.Batch >= 0 {
				ov := x.ov
				plan.Batch[x.n.Batch] = &ov
			} else {
				plan.Updates = append(plan.Updates, PairUpdate{Key: x.n.Key, PairOverride: x.ov})
			}
		}
	}
	if len(plan.Batch) == 0 && len(plan.Updates) == 0 {
		return nil
	}
	return plan
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// uncounted are the batch's spans that are the second record of a call
// counted already (store.Batch.Uncounted): a gateway record whose app
// record counts, and an app record whose gateway record was stored (and
// counted) before.
func (p *PairPlan) Uncounted() []int {
	var out []int
	for i, ov := range p.Batch {
		if !ov.IsCall {
			out = append(out, i)
			continue
		}
		if !ov.PartnerInBatch {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

// RestoreOwn puts a paired record's own values (own, the JSON of its
// CallVals) back in its row, for the trace and export, which show each
// record as recorded, and returns them (nil when own is empty).
func RestoreOwn(r *Row, own string) (*CallVals, error) {
	if own == "" {
		return nil, nil
	}
	var v CallVals
	if err := json.Unmarshal([]byte(own), &v); err != nil {
		return nil, fmt.Errorf("span %s: own values: %w", store.SpanFromU64(r.Span), err)
	}
	r.Dur, r.TTFT, r.In, r.Out = v.Dur, v.TTFT, v.In, v.Out
	r.CostKnown, r.Cost = v.Cost != nil, 0
	if v.Cost != nil {
		r.Cost = *v.Cost
	}
	r.Status, r.ErrType, r.Op, r.Provider, r.Model, r.RespModel = v.Status, v.ErrType, v.Op, v.Provider, v.Model(), v.RespModel
	r.Mask, r.Service, r.Session, r.User = v.Mask, v.Service, v.Session, v.User
	return &v, nil
}
