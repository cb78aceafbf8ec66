package eval

import (
	"errors"
	"testing"
)

func TestParseAnswer(t *testing.T) {
	f := func(answer string, labels []string, value *float64, label, comment string) {
		t.Helper()
		r, err := parseAnswer(answer, labels)
		if err != nil {
			t.Errorf("%q: %v", answer, err)
			return
		}
		if (r.Value == nil) != (value == nil) || (value != nil && *r.Value != *value) || r.Label != label || r.Comment != comment {
			t.Errorf("%q: got %v %q %q, want %v %q %q", answer, deref(r.Value), r.Label, r.Comment, deref(value), label, comment)
		}
	}
	n := func(v float64) *float64 { return &v }
	f(`{"score": 0.8, "label": "good", "explanation": "clear"}`, nil, n(0.8), "good", "clear")
	f("```json\n{\"score\": \"4/5\", \"reason\": \"ok\"}\n```", nil, n(0.8), "", "ok")
	f("Score: 0.25\nLabel: Bad\nExplanation: misses the question", []string{"good", "bad"}, n(0.25), "bad", "misses the question")
	f("The answer is on topic.\n**Score**: 7/10", nil, n(0.7), "", "The answer is on topic.")
	f("0.9", nil, n(0.9), "", "")
	f("relevant.", []string{"relevant", "irrelevant"}, nil, "relevant", "")
	f("label: great\nscore: 1", []string{"good", "bad"}, n(1), "", "") // unknown label dropped, the score stays

	for _, garbage := range []string{"", "I think it is fine, mostly.", `{"verdict": "yes"}`, "score: high", "label: meh", "score: NaN", "score: 1/0"} {
		labels := []string(nil)
		if garbage == "label: meh" {
			labels = []string{"good", "bad"}
		}
		if r, err := parseAnswer(garbage, labels); !errors.Is(err, errBadAnswer) {
			t.Errorf("%q: got %+v, %v; want errBadAnswer", garbage, r, err)
		}
	}
}

func deref(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func TestRender(t *testing.T) {
	got := render("Q: {{input}}\nA: {{output}}\nS: {{system}}", &Call{Input: "say {{output}}", Output: "ok", System: "be brief"})
	if want := "Q: say {{output}}\nA: ok\nS: be brief"; got != want {
		t.Errorf("render = %q, want %q", got, want)
	}
}

func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{`{"score": 1}`, "score: 0.5\nlabel: good", "0.3", "good", "```json\n{}\n```", "4/5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseAnswer(s, []string{"good", "bad"})
		if err == nil && r.Value == nil && r.Label == "" {
			t.Fatalf("%q: no error and no score", s)
		}
		if err != nil && !errors.Is(err, errBadAnswer) {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
