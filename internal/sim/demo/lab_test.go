package demo

import (
	"strings"
	"testing"

	"github.com/genscope/genscope/internal/fixture"
)

// TestLabStepsAreTheLabs: the demo sends the messages the lab's scripts
// sent when the fixtures were captured (the OpenAI instrumentation's log
// records of each call's system and user messages), in the same order.
func TestLabStepsAreTheLabs(t *testing.T) {
	ld := fixture.Logs(t, "otlp/lab-otel-openai.logs.json")
	type call struct{ system, user string }
	var captured []call
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				ev, _ := lr.Attributes().Get("event.name")
				content, _ := lr.Body().Map().Get("content")
				switch ev.Str() {
				case "gen_ai.system.message":
					captured = append(captured, call{system: content.Str()})
				case "gen_ai.user.message":
					captured[len(captured)-1].user = content.Str()
				}
			}
		}
	}
	steps := LabSteps()
	if len(captured) != len(steps) {
		t.Fatalf("%d captured calls, %d steps", len(captured), len(steps))
	}
	for i, st := range steps {
		if len(st.Messages) != 2 || st.Messages[0].Role != "system" || st.Messages[1].Role != "user" {
			t.Fatalf("%s: messages %+v", st.Name, st.Messages)
		}
		user := st.Messages[1].Content
		if st.Label == "error" {
			// The same text, repeated further (see ErrorPrompt).
			if len(captured[i].user) != LabErrorRepeats*len(backpacking) || !strings.HasPrefix(user, captured[i].user) {
				t.Errorf("the lab's error prompt (%d chars) is not the start of the demo's", len(captured[i].user))
			}
			user = user[:len(captured[i].user)]
		}
		if st.Messages[0].Content != captured[i].system || user != captured[i].user {
			t.Errorf("%s: system %q, user %.120q (%d chars); the lab sent %q, %.120q (%d chars)", st.Name,
				st.Messages[0].Content, st.Messages[1].Content, len(st.Messages[1].Content),
				captured[i].system, captured[i].user, len(captured[i].user))
		}
	}
	if labels := []string{"start", "short", "system", "error", "stream"}; len(steps) == 5 {
		for i, st := range steps {
			if st.Label != labels[i] || st.Stream != (i == 4) {
				t.Errorf("step %d: %q stream %v", i, st.Label, st.Stream)
			}
		}
	}
}
