package storetest

import (
	"context"
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// oneCall is the data of the one-call cases: model calls recorded by an
// instrumented app and by the gateway, linked as the store contract says
// (directly, through an HTTP client span, by response id), plus a
// gateway call and an app call recorded once.
type oneCall struct {
	project string
	app     [3]genai.Span // the app's records of the three paired calls
	gw      [3]genai.Span // the gateway's
	http    genai.Span    // the HTTP client span between app[1] and gw[1]
	gwAlone genai.Span
	appOnly genai.Span
}

// Values of the records; the checks derive their expectations from them.
const (
	appService = "lab-app"
	gwService  = "genscope-gateway"
)

func genOneCall(project string) *oneCall {
	d := &oneCall{project: project}
	at := func(i int, ms int) int64 {
		return Base.Add(time.Duration(i)*time.Minute + time.Duration(ms)*time.Millisecond).UnixNano()
	}
	text := func(s string) []genai.Message {
		return []genai.Message{{Role: "user", Parts: []genai.Part{{Type: "text", Content: s}}}}
	}
	for i := range 3 {
		tid := traceID(project, 700+i)
		app := genai.Span{Project: project, TraceID: tid, SpanID: spanID(700+i, 1), Name: "chat gpt-4o", Kind: "client",
			Service: appService, Source: genai.SourceOTLP, StartUnixNano: at(i, 0), DurationNano: int64(900 * time.Millisecond),
			Status: genai.StatusUnset, Operation: "chat", Provider: "openai", RequestModel: "gpt-4o",
			Usage: genai.Usage{InputTokens: 7, OutputTokens: 3}, SessionID: "lab-session", UserID: "lab-user",
			InputMessages: text(fmt.Sprintf("question %d", i))}
		gw := genai.Span{Project: project, TraceID: tid, SpanID: spanID(700+i, 3), ParentSpanID: app.SpanID,
			Name: "chat gpt-4o", Kind: "client", Service: gwService, Source: genai.SourceGateway,
			StartUnixNano: at(i, 40), DurationNano: int64(800 * time.Millisecond), TTFTNano: int64(200 * time.Millisecond),
			Status: genai.StatusOK, Operation: "chat", Provider: "azure.ai.openai", RequestModel: "gpt-4o-deployment",
			ResponseModel: "gpt-4o-2024-08-06", ResponseID: fmt.Sprintf("chatcmpl-%d", i),
			Usage:   genai.Usage{InputTokens: 12 + int64(i), OutputTokens: 5, CachedInputTokens: 2},
			CostUSD: 0.002, CostKnown: true,
			SessionID:          "gateway-session", // the app's wins
			SystemInstructions: []genai.Part{{Type: "text", Content: "be brief"}},
			InputMessages:      text(fmt.Sprintf("question %d", i)),
			OutputMessages:     []genai.Message{{Role: "assistant", Parts: []genai.Part{{Type: "text", Content: fmt.Sprintf("answer %d", i)}}}},
		}
		switch i {
		case 1: // under an HTTP client span
			d.http = genai.Span{Project: project, TraceID: tid, SpanID: spanID(700+i, 2), ParentSpanID: app.SpanID,
				Name: "POST", Kind: "client", Service: appService, Source: genai.SourceOTLP, StartUnixNano: at(i, 20),
				DurationNano: int64(850 * time.Millisecond), Status: genai.StatusUnset,
				Attributes: map[string]any{"http.request.method": "POST"}}
			gw.ParentSpanID = d.http.SpanID
			app.Status, app.ErrorType = genai.StatusError, "APITimeoutError" // the app gave up: an error
		case 2: // no traceparent: the gateway's record is a root of its own trace
			gw.TraceID, gw.ParentSpanID = traceID(project, 710), genai.SpanID{}
			app.ResponseID = gw.ResponseID
			app.Usage = genai.Usage{} // streamed without usage
		}
		d.app[i], d.gw[i] = app, gw
	}
	d.gwAlone = d.gw[0]
	d.gwAlone.TraceID, d.gwAlone.SpanID, d.gwAlone.ParentSpanID = traceID(project, 720), spanID(720, 3), genai.SpanID{}
	d.gwAlone.ResponseID, d.gwAlone.StartUnixNano = "chatcmpl-alone", at(5, 0)
	d.appOnly = d.app[0]
	d.appOnly.TraceID, d.appOnly.SpanID, d.appOnly.StartUnixNano = traceID(project, 730), spanID(730, 1), at(6, 0)
	d.appOnly.ResponseID = "chatcmpl-app-only"
	return d
}

// orders are the arrival orders the one-call cases write the records in.
func (d *oneCall) orders() map[string][][]genai.Span {
	apps := []genai.Span{d.app[0], d.app[1], d.http, d.app[2], d.appOnly}
	gws := []genai.Span{d.gw[0], d.gw[1], d.gw[2], d.gwAlone}
	return map[string][][]genai.Span{
		"one batch":     {append(append([]genai.Span{}, gws...), apps...)},
		"app first":     {apps, gws},
		"gateway first": {gws, apps},
		// The HTTP span between app[1] and gw[1] arrives last, and each
		// record alone.
		"one by one, link last": {{d.gw[1]}, {d.app[1]}, {d.gw[0]}, {d.app[2]}, {d.gwAlone}, {d.app[0]}, {d.gw[2]}, {d.appOnly}, {d.http}},
		// Retries of both sides after the pairs formed change nothing.
		"retried": {apps, gws, gws, apps},
	}
}

// testOneCall checks the one-call rule: every arrival order answers as
// if each call had been recorded once.
func testOneCall(t *testing.T, s store.Store) {
	for name := range genOneCall("x").orders() {
		t.Run(name, func(t *testing.T) {
			d := genOneCall("one-call-" + name)
			counted := 0 // as Write reports them (store.Batch.Uncounted), what /metrics counts
			for _, spans := range d.orders()[name] {
				b := &store.Batch{Spans: spans}
				if err := s.Write(context.Background(), b); err != nil {
					t.Fatal(err)
				}
				for i := range spans {
					if spans[i].IsCall() {
						counted++
					}
				}
				counted -= len(b.Uncounted)
			}
			// Retries are not reported (the recorder counts what it is
			// given), and a link arriving after both records cannot take
			// back what was counted as written.
			if name != "retried" && name != "one by one, link last" && counted != 5 {
				t.Errorf("writes reported %d calls, want 5", counted)
			}
			checkOneCall(t, s, d)
		})
	}
	t.Run("minutes apart", func(t *testing.T) {
		// The gateway's records written later, starting minutes after the
		// app's (a slow clock), in their own batches.
		d := genOneCall("one-call-apart")
		for i := range d.gw {
			d.gw[i].StartUnixNano += int64(3 * time.Minute)
		}
		write(t, s, []genai.Span{d.app[0], d.app[1], d.http, d.app[2], d.appOnly}, nil)
		write(t, s, []genai.Span{d.gw[2], d.gwAlone}, nil)
		write(t, s, []genai.Span{d.gw[0]}, nil)
		write(t, s, []genai.Span{d.gw[1]}, nil)
		checkOneCall(t, s, d)
	})
	if ex, ok := s.(store.Exporter); ok {
		t.Run("export", func(t *testing.T) {
			// What `genscope copy` moves: each record as recorded, which
			// pair again in the store they are written to.
			src := genOneCall("one-call-one batch")
			dst := genOneCall("one-call-copied")
			var batches [][]genai.Span
			err := ex.Export(context.Background(), Base, Base.Add(time.Hour), 3, func(b *store.Batch) error {
				var keep []genai.Span
				for _, sp := range b.Spans {
					if sp.Project == src.project {
						sp.Project = dst.project
						keep = append(keep, sp)
					}
				}
				batches = append(batches, keep)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			// Written newest batch first: the order must not matter.
			for i := len(batches) - 1; i >= 0; i-- {
				if len(batches[i]) > 0 {
					write(t, s, batches[i], nil)
				}
			}
			checkOneCall(t, s, dst)
		})
	}
}

// checkOneCall checks every answer over d's project.
func checkOneCall(t *testing.T, s store.Store, d *oneCall) {
	t.Helper()
	ctx := context.Background()
	f := all(d.project)
	// The calls as they must count: the three pairs (app identity,
	// gateway tokens and timing), the gateway call and the app call.
	type call struct {
		service, session string
		in, out, cached  int64
		durMS, ttftMS    float64
		cost             *float64
		status           genai.Status
	}
	cost := 0.002
	var want []call
	for i := range 3 {
		c := call{appService, "lab-session", d.gw[i].Usage.InputTokens, 5, 2, 800, 200, &cost, genai.StatusOK}
		if i == 1 {
			c.status = genai.StatusError
		}
		want = append(want, c)
	}
	want = append(want, call{gwService, "gateway-session", d.gwAlone.Usage.InputTokens, 5, 2, 800, 200, &cost, genai.StatusOK},
		call{appService, "lab-session", 7, 3, 0, 900, 0, nil, genai.StatusUnset})
	var wantOv store.Overview
	for _, c := range want {
		wantOv.Calls++
		wantOv.InputTokens += c.in
		wantOv.OutputTokens += c.out
		wantOv.CachedTokens += c.cached
		if c.status == genai.StatusError {
			wantOv.Errors++
		}
		if c.cost != nil {
			wantOv.CostUSD += *c.cost
		} else {
			wantOv.CostUnknownCalls++
		}
		if c.ttftMS > 0 {
			wantOv.TTFTMS.Count++
		}
	}
	ov, err := s.Overview(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if ov.Calls != wantOv.Calls || ov.InputTokens != wantOv.InputTokens || ov.OutputTokens != wantOv.OutputTokens ||
		ov.CachedTokens != wantOv.CachedTokens || ov.Errors != wantOv.Errors || !near(ov.CostUSD, wantOv.CostUSD, sumTolerance) ||
		ov.CostUnknownCalls != wantOv.CostUnknownCalls || ov.TTFTMS.Count != wantOv.TTFTMS.Count {
		t.Errorf("overview %+v\nwant %+v", ov, wantOv)
	}
	if !near(ov.DurationMS.Avg, (4*800+900)/5.0, sumTolerance) || !near(ov.DurationMS.P50, 800, percentileTolerance) {
		t.Errorf("duration %+v: want the gateway's 800 ms for the pairs", ov.DurationMS)
	}
	// Breakdowns, time series, sessions: the same calls.
	rows, err := s.Breakdown(ctx, store.BreakdownQuery{Filter: f, By: store.DimService})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Key != appService || rows[0].Calls != 4 || rows[1].Key != gwService || rows[1].Calls != 1 {
		t.Errorf("breakdown by service %+v", rows)
	}
	series, err := s.Timeseries(ctx, store.TimeseriesQuery{Filter: f, Metric: store.MetricTotalTokens, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(series) != 1 || len(series[0].Points) != 1 || series[0].Points[0].Value != float64(wantOv.InputTokens+wantOv.OutputTokens) {
		t.Errorf("timeseries of total tokens %+v, want %d", series, wantOv.InputTokens+wantOv.OutputTokens)
	}
	sess, err := s.Sessions(ctx, store.SessionsQuery{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(sess.Sessions) != 2 || sess.Sessions[1].Session != "gateway-session" || sess.Sessions[1].Calls != 1 ||
		sess.Sessions[0].Session != "lab-session" || sess.Sessions[0].Calls != 4 || sess.Sessions[0].User != "lab-user" {
		t.Errorf("sessions %+v", sess.Sessions)
	}
	byUser, err := s.Breakdown(ctx, store.BreakdownQuery{Filter: f, By: store.DimUser})
	if err != nil {
		t.Fatal(err)
	}
	if len(byUser) != 2 || byUser[0].Key != "lab-user" || byUser[0].Calls != 4 {
		t.Errorf("breakdown by user %+v", byUser)
	}
	if ag, ok := s.(store.Aggregator); ok {
		got, err := ag.Aggregate(ctx, store.AggregateQuery{Filter: f, Metric: store.MetricCalls})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Value != 5 {
			t.Errorf("alert signal calls %+v, want 5", got)
		}
	}
	um, err := s.UnknownModels(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(um) != 1 || um[0].Calls != 1 {
		t.Errorf("unknown models %+v: only the app-only call", um)
	}

	// The spans table: one row per call, the pairs seen by both.
	page, err := s.Spans(ctx, store.SpansQuery{Filter: f})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Spans) != 5 {
		t.Fatalf("spans table has %d rows, want the 5 calls", len(page.Spans))
	}
	seen := 0
	for _, r := range page.Spans {
		if r.SeenBy == nil {
			continue
		}
		seen++
		if !reflect.DeepEqual(r.SeenBy, []string{"app", "gateway"}) || r.Service != appService || r.Session != "lab-session" ||
			r.InputTokens != 12+int64(r.Input[len(r.Input)-1]-'0') || r.DurationMS != 800 || r.TTFTMS == nil || *r.TTFTMS != 200 ||
			r.CostUSD == nil || *r.CostUSD != cost || r.Model != "gpt-4o" || r.System != "be brief" || r.Output == "" {
			t.Errorf("paired row %+v", r)
		}
	}
	if seen != 3 {
		t.Errorf("%d rows seen by both, want 3", seen)
	}
	all, err := s.Spans(ctx, store.SpansQuery{Filter: f, All: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Spans) != 9 {
		t.Errorf("all spans: %d rows, want every record (9)", len(all.Spans))
	}

	// The trace shows both records as they were recorded.
	tr, err := s.Trace(ctx, d.project, d.app[1].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Roots) != 1 || len(tr.Roots[0].Children) != 1 || len(tr.Roots[0].Children[0].Children) != 1 {
		t.Fatalf("trace of the call under an HTTP span: %+v", tr)
	}
	a, g := tr.Roots[0], tr.Roots[0].Children[0].Children[0]
	if a.Span.Usage.InputTokens != 7 || a.DurationMS != 900 || a.Span.Source != genai.SourceOTLP || a.Span.Status != genai.StatusError ||
		a.Span.CostKnown || a.SeenBy == nil {
		t.Errorf("app record in the trace: %+v (seen by %v)", a.Span, a.SeenBy)
	}
	if g.Span.Usage.InputTokens != 13 || g.DurationMS != 800 || g.Span.Source != genai.SourceGateway || g.Span.Service != gwService ||
		len(g.Span.OutputMessages) != 1 || g.SeenBy == nil {
		t.Errorf("gateway record in the trace: %+v (seen by %v)", g.Span, g.SeenBy)
	}
}

// GatewayRecords is the gateway's record of each model call of app: a
// child of the call, 5 ms later and 10 ms shorter, with the call's usage.
func GatewayRecords(app []genai.Span) []genai.Span {
	var out []genai.Span
	for i := range app {
		a := &app[i]
		if !a.IsCall() {
			continue
		}
		g := genai.Span{Project: a.Project, TraceID: a.TraceID, ParentSpanID: a.SpanID, Name: a.Name, Kind: "client",
			Service: "genscope-gateway", Source: genai.SourceGateway, StartUnixNano: a.StartUnixNano + 5e6,
			DurationNano: max(a.DurationNano-10e6, 1), TTFTNano: a.TTFTNano, Status: a.Status, ErrorType: a.ErrorType,
			Operation: a.Operation, Provider: a.Provider, RequestModel: a.RequestModel, ResponseModel: a.ResponseModel,
			Usage: a.Usage, CostUSD: a.CostUSD, CostKnown: a.CostKnown, ResponseID: a.ResponseID,
			InputMessages: a.InputMessages, OutputMessages: a.OutputMessages}
		g.SpanID = a.SpanID
		binary.BigEndian.PutUint64(g.SpanID[:], binary.BigEndian.Uint64(a.SpanID[:])^0x5a5a5a5a5a5a5a5a)
		out = append(out, g)
	}
	return out
}
