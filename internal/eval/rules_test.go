package eval

import (
	"errors"
	"strings"
	"testing"
)

func mustCompile(t *testing.T, ev Evaluator) *compiled {
	t.Helper()
	ev.Name, ev.Sample = "t", 1
	c, err := compile(ev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRules(t *testing.T) {
	f := func(ev Evaluator, c Call, pass bool, comment string) {
		t.Helper()
		r := mustCompile(t, ev).rule(&c)
		wantLabel, wantValue := LabelFail, 0.0
		if pass {
			wantLabel, wantValue = LabelPass, 1
		}
		if r.Label != wantLabel || r.Value == nil || *r.Value != wantValue {
			t.Errorf("%s on %+v: got %s %v (%s), want %s", ev.Type, c, r.Label, r.Value, r.Comment, wantLabel)
		}
		if !strings.Contains(r.Comment, comment) {
			t.Errorf("%s on %+v: comment %q, want it to hold %q", ev.Type, c, r.Comment, comment)
		}
	}
	noSorry := Evaluator{Type: TypeRegex, MustNotMatch: `(?i)\bsorry\b`}
	f(noSorry, Call{Output: "Here you are."}, true, "")
	f(noSorry, Call{Output: "Ça va. I'm SORRY about that"}, false, "matches must_not_match at character 11")
	cites := Evaluator{Type: TypeRegex, MustMatch: `\[\d+\]`, MustNotMatch: `TODO`}
	f(cites, Call{Output: "Paris [1]"}, true, "")
	f(cites, Call{Output: "Paris"}, false, "does not match must_match")
	f(cites, Call{Output: "Paris [1] TODO"}, false, "must_not_match")
	f(Evaluator{Type: TypeRegex, MustMatch: `^Bonjour`, Field: FieldInput}, Call{Input: "Bonjour", Output: "Hello"}, true, "")

	f(Evaluator{Type: TypeJSON}, Call{Output: ` {"a": [1, 2]} `}, true, "")
	f(Evaluator{Type: TypeJSON}, Call{Output: "```json\n{\"a\": 1}\n```"}, true, "")
	f(Evaluator{Type: TypeJSON}, Call{Output: "```\n[1]\n```"}, true, "")
	f(Evaluator{Type: TypeJSON}, Call{Output: `{"a": 1} trailing`}, false, "not valid JSON")
	f(Evaluator{Type: TypeJSON}, Call{Output: `Sure! {"a": 1}`}, false, "not valid JSON")
	f(Evaluator{Type: TypeJSON}, Call{Output: strings.Repeat("[", 100) + strings.Repeat("]", 100)}, false, "nests deeper than 64")
	schema := Evaluator{Type: TypeJSON, Schema: `{"type":"object","required":["city","days"],"properties":{"city":{"type":"string"},"days":{"type":"integer","minimum":1}}}`}
	f(schema, Call{Output: `{"city":"Lisbon","days":3}`}, true, "")
	f(schema, Call{Output: `{"city":"Lisbon"}`}, false, "does not match the schema")
	f(schema, Call{Output: `{"city":"Lisbon","days":0}`}, false, "minimum")
	f(schema, Call{Output: `{"city":"Lisbon","days":12345678901234567890}`}, true, "") // big integers stay integers

	length := Evaluator{Type: TypeLength, MinLength: 3, MaxLength: 5}
	f(length, Call{Output: "héllo"}, true, "5 characters")
	f(length, Call{Output: "hé"}, false, "2 characters, fewer than min_length 3")
	f(length, Call{Output: "héllo!"}, false, "6 characters, more than max_length 5")

	pii := Evaluator{Type: TypePII, Patterns: []string{`\bEMP-\d{6}\b`}}
	f(pii, Call{Output: "Your order ships on 2024-05-01."}, true, "")
	f(pii, Call{Output: "Write to ana@example.com or +1 415 555 0100"}, false, "personal data: email, phone")
	f(pii, Call{Output: "employee EMP-123456"}, false, "redacted")
	if r := mustCompile(t, pii).rule(&Call{Output: "mail ana@example.com"}); strings.Contains(r.Comment, "ana@") {
		t.Errorf("the comment repeats the personal data: %q", r.Comment)
	}

	ref := Evaluator{Type: TypeRefusal}
	f(ref, Call{Output: "I\u2019m sorry, but I can\u2019t help with that request."}, false, `opens with "i can't help with"`)
	f(ref, Call{Output: "As an AI language model, I cannot browse."}, false, "as an ai language model")
	f(ref, Call{Output: "", FinishReasons: []string{"content_filter"}}, false, "content_filter")
	f(ref, Call{Output: "Here is the recipe. " + strings.Repeat("Step. ", 40) + "I can't help with plumbing though."}, true, "")
	f(ref, Call{Output: "Sure: the capital of France is Paris."}, true, "")
}

func TestUnfence(t *testing.T) {
	for in, want := range map[string]string{
		"```json\n{}\n```": "{}", "```\n[1]\n```": "[1]", "```{\"a\":1}```": `{"a":1}`, " 42 ": "42", "```": "```", "``````": "",
	} {
		if got := unfence(in); got != want {
			t.Errorf("unfence(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	f := func(ev Evaluator, field, msg string) {
		t.Helper()
		err := ev.Validate()
		if field == "" {
			if err != nil {
				t.Errorf("%+v: %v", ev, err)
			}
			return
		}
		var fe *FieldError
		if !errors.As(err, &fe) || !strings.Contains(err.Error(), field+": ") || !strings.Contains(err.Error(), msg) {
			t.Errorf("%+v: error %v, want %s: …%s…", ev, err, field, msg)
		}
	}
	ok := func(ev Evaluator) Evaluator { ev.Name, ev.Sample = "n", 1; return ev }
	f(ok(Evaluator{Type: TypeRegex, MustNotMatch: "(?i)sorry"}), "", "")
	f(ok(Evaluator{Type: TypeRegex}), "must_match", "needs must_match")
	f(ok(Evaluator{Type: TypeRegex, MustMatch: "("}), "must_match", "missing closing")
	f(ok(Evaluator{Type: "vibes"}), "type", `"vibes" is not`)
	f(ok(Evaluator{}), "type", "required")
	f(Evaluator{Type: TypeRefusal, Sample: 1}, "name", "required")
	f(Evaluator{Type: TypeRefusal, Name: "n", Sample: 1.5}, "sample", "1.5 is not within (0, 1]")
	f(Evaluator{Type: TypeRefusal, Name: "n"}, "sample", "0 is not within")
	f(ok(Evaluator{Type: TypeJSON, Schema: `{"type": 12}`}), "schema", "not a JSON Schema")
	f(ok(Evaluator{Type: TypeJSON, Schema: `{"$ref": "https://example.com/s.json"}`}), "schema", "external references are not loaded")
	f(ok(Evaluator{Type: TypeJSON, Schema: `{`}), "schema", "not JSON")
	f(ok(Evaluator{Type: TypeLength}), "max_length", "needs min_length")
	f(ok(Evaluator{Type: TypeLength, MinLength: 9, MaxLength: 3}), "min_length", "more than max_length")
	f(ok(Evaluator{Type: TypePII, Patterns: []string{"["}}), "patterns[0]", "missing closing")
	f(ok(Evaluator{Type: TypeLLMJudge, Template: "{{output}}"}), "deployment", "required")
	f(ok(Evaluator{Type: TypeLLMJudge, Deployment: "d", Template: "rate it"}), "template", "{{output}}")
	f(ok(Evaluator{Type: TypeLLMJudge, Deployment: "d", Template: "{{output}}", Labels: []string{"very good"}}), "labels[0]", "not one word")
	f(ok(Evaluator{Type: TypeRefusal, MustMatch: "x"}), "must_match", "only for type regex")
	f(ok(Evaluator{Type: TypeRefusal, Field: "tools"}), "field", `"tools" is not`)
	// Every problem is reported, not only the first.
	err := (&Evaluator{Type: TypeLength, MinLength: -1}).Validate()
	for _, want := range []string{"name:", "sample:", "min_length:"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %s", err, want)
		}
	}
}
