package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/sim/demo"
	"github.com/genscope/genscope/internal/store"
)

// TestLabDemoInstrumented runs the lab with the demo instrumented as the
// lab's scripts are (--spans openai): every trace holds the app's
// generate_completion span, the OpenAI instrumentation's chat span
// beneath it with the answer's usage, and the gateway's record of the
// same call beneath that, through the traceparent the call carried.
func TestLabDemoInstrumented(t *testing.T) {
	a := startAppWith(t, t.TempDir(), instantDeployments)
	base := "http://" + a.HTTPAddr()
	var out strings.Builder
	session, results, err := demo.Lab(context.Background(), demo.LabOptions{Server: base, Spans: demo.SpansOpenAI, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 5 {
		t.Fatalf("%d results", len(results))
	}
	st := a.Store()
	ctx := context.Background()
	f := store.Filter{Project: "default", Session: session, From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)}
	for _, r := range results {
		tid, err := genai.ParseTraceID(r.Result.TraceID)
		if err != nil {
			t.Fatalf("%s: trace id %q", r.Step.Name, r.Result.TraceID)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			tr, err := st.Trace(ctx, "default", tid)
			ok := err == nil && len(tr.Roots) == 1 && len(tr.Roots[0].Children) == 1 && len(tr.Roots[0].Children[0].Children) == 1
			if ok {
				app, chat, gw := tr.Roots[0].Span, tr.Roots[0].Children[0].Span, tr.Roots[0].Children[0].Children[0].Span
				if app.Name != "generate_completion" || app.Attributes["lab.prompt"] != r.Step.Label || app.SessionID != session {
					t.Errorf("%s: app span %+v", r.Step.Name, app)
				}
				if chat.Name != "chat gpt-4o" || chat.Kind != "client" || chat.Source != genai.SourceOTLP || chat.Operation != "chat" ||
					chat.RequestModel != "gpt-4o" || chat.Provider != "openai" {
					t.Errorf("%s: instrumentation span %+v", r.Step.Name, chat)
				}
				if gw.Source != genai.SourceGateway {
					t.Errorf("%s: gateway span %+v", r.Step.Name, gw)
				}
				if r.Result.Status == 200 && (chat.Usage.InputTokens != gw.Usage.InputTokens || chat.Usage.OutputTokens != gw.Usage.OutputTokens ||
					chat.ResponseID == "" || chat.ResponseID != gw.ResponseID) {
					t.Errorf("%s: the app saw %+v (%s), the gateway %+v (%s)", r.Step.Name, chat.Usage, chat.ResponseID, gw.Usage, gw.ResponseID)
				}
				if r.Step.Label == "error" && (chat.Status != genai.StatusError || chat.ErrorType != "BadRequestError" || gw.Status != genai.StatusError) {
					t.Errorf("error prompt: app %s %s, gateway %s", chat.Status, chat.ErrorType, gw.Status)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: trace %v %+v", r.Step.Name, err, tr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// Both records of each call are there; how many calls they count as
	// is the one-call rule's (store contract).
	page, err := st.Spans(ctx, store.SpansQuery{Filter: f, Limit: 100})
	if err != nil || len(page.Spans) == 0 {
		t.Fatalf("spans of the session: %v %d", err, len(page.Spans))
	}
}
