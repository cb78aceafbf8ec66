package eval

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/genscope/genscope/internal/jsondepth"
)

// Call is what an evaluator sees of a model call: its texts (as
// store.PartsText and store.MessagesText make them) and finish reasons.
type Call struct {
	System, Input, Output string
	FinishReasons         []string
}

// text is the field an evaluator reads.
func (c *Call) text(field string) string {
	switch field {
	case FieldInput:
		return c.Input
	case FieldSystem:
		return c.System
	}
	return c.Output
}

// Result is an evaluator's judgement of a call: the score's value, label
// and explanation.
type Result struct {
	Value   *float64
	Label   string
	Comment string
}

func verdict(ok bool, comment string) Result {
	v, l := 0.0, LabelFail
	if ok {
		v, l = 1, LabelPass
	}
	return Result{Value: &v, Label: l, Comment: comment}
}

// maxJSONDepth bounds the nesting of an output the json evaluator
// decodes.
const maxJSONDepth = 64

// rule evaluates c with a rule-based evaluator: pass (value 1) when the
// property holds, fail (value 0) otherwise.
func (ev *compiled) rule(c *Call) Result {
	text := c.text(ev.Field)
	field := cmp.Or(ev.Field, FieldOutput)
	switch ev.Type {
	case TypeRegex:
		if ev.must != nil && !ev.must.MatchString(text) {
			return verdict(false, fmt.Sprintf("the %s does not match must_match", field))
		}
		if ev.mustNot != nil {
			if loc := ev.mustNot.FindStringIndex(text); loc != nil {
				return verdict(false, fmt.Sprintf("the %s matches must_not_match at character %d", field, utf8.RuneCountInString(text[:loc[0]])))
			}
		}
		return verdict(true, "")
	case TypeJSON:
		return ev.checkJSON(text, field)
	case TypeLength:
		n := utf8.RuneCountInString(text)
		switch {
		case n < ev.MinLength:
			return verdict(false, fmt.Sprintf("the %s has %d characters, fewer than min_length %d", field, n, ev.MinLength))
		case ev.MaxLength > 0 && n > ev.MaxLength:
			return verdict(false, fmt.Sprintf("the %s has %d characters, more than max_length %d", field, n, ev.MaxLength))
		}
		return verdict(true, fmt.Sprintf("the %s has %d characters", field, n))
	case TypePII:
		found := ev.redactor.Find(text)
		if len(found) == 0 {
			return verdict(true, "")
		}
		kinds := make([]string, len(found))
		for i, f := range found {
			kinds[i] = strings.ToLower(strings.Trim(f, "[]"))
		}
		return verdict(false, fmt.Sprintf("the %s contains personal data: %s", field, strings.Join(kinds, ", ")))
	case TypeRefusal:
		if why, ok := refused(c); ok {
			return verdict(false, "the model refused: "+why)
		}
		return verdict(true, "")
	}
	return Result{}
}

// checkJSON checks that text is one JSON value (surrounding white space
// and one Markdown code fence around it allowed: models often add them),
// valid against the schema when there is one.
func (ev *compiled) checkJSON(text, field string) Result {
	body := unfence(text)
	if err := jsondepth.Check(body, maxJSONDepth); err != nil {
		return verdict(false, fmt.Sprintf("the %s nests deeper than %d levels", field, maxJSONDepth))
	}
	if !json.Valid([]byte(body)) {
		var v any
		err := json.Unmarshal([]byte(body), &v)
		return verdict(false, fmt.Sprintf("the %s is not valid JSON: %v", field, strings.TrimPrefix(fmt.Sprint(err), "json: ")))
	}
	if ev.schema == nil {
		return verdict(true, "")
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
	if err != nil {
		return verdict(false, fmt.Sprintf("the %s is not valid JSON: %v", field, err))
	}
	if err := ev.schema.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		msg := err.Error()
		if errors.As(err, &ve) {
			msg = strings.TrimSpace(strings.TrimPrefix(ve.Error(), "jsonschema validation failed with 'genscope:evaluator-schema.json#'"))
		}
		return verdict(false, fmt.Sprintf("the %s does not match the schema: %s", field, truncate(msg, 2000)))
	}
	return verdict(true, "")
}

// unfence returns text without surrounding white space and without one
// Markdown code fence (``` or ```json) around it.
func unfence(text string) string {
	t := strings.TrimSpace(text)
	rest, ok := strings.CutPrefix(t, "```")
	if !ok || !strings.HasSuffix(rest, "```") || len(rest) < 3 {
		return t
	}
	rest = strings.TrimSuffix(rest, "```")
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 && !strings.ContainsAny(strings.TrimSpace(rest[:nl]), "{[\"") {
		rest = rest[nl+1:] // the fence's language tag
	}
	return strings.TrimSpace(rest)
}

// refusalPhrases are the openings of a refusal, in lower case with plain
// apostrophes. refused looks for them near the start of the output.
var refusalPhrases = []string{
	"i can't help with", "i cannot help with", "i can't help you with", "i cannot help you with",
	"i can't assist with", "i cannot assist with", "i can't assist you with",
	"i'm sorry, but i can't", "i'm sorry, but i cannot", "i am sorry, but i cannot", "i am sorry, but i can't",
	"sorry, but i can't", "sorry, i can't", "sorry, i cannot",
	"i'm unable to help", "i am unable to help", "i'm unable to assist", "i am unable to assist",
	"i'm unable to provide", "i am unable to provide", "i'm unable to comply", "i am unable to comply",
	"i can't provide", "i cannot provide", "i can't comply", "i cannot comply",
	"i can't fulfill", "i cannot fulfill", "i can't do that", "i cannot do that",
	"i won't be able to help", "i will not be able to help", "i must decline", "i have to decline",
	"i'm not able to help", "i am not able to help", "i'm not able to provide", "i am not able to provide",
	"as an ai language model, i can't", "as an ai language model, i cannot", "as an ai, i can't", "as an ai, i cannot",
}

// refusalWindow is how many characters from the start of the output
// refused reads: a refusal opens the answer; an answer that quotes such
// a phrase later is not one.
const refusalWindow = 200

// refused is the refusal heuristic: the call finished for its content
// filter (finish reason content_filter), or its output opens (within its
// first 200 characters, case-insensitively, curly apostrophes read as
// straight ones) with one of refusalPhrases.
func refused(c *Call) (string, bool) {
	if slices.Contains(c.FinishReasons, "content_filter") {
		return "finish reason content_filter", true
	}
	head := c.Output
	if len(head) > 4*refusalWindow {
		head = head[:4*refusalWindow]
	}
	head = strings.ToLower(strings.NewReplacer("\u2019", "'", "\u2018", "'").Replace(head))
	head = strings.Join(strings.Fields(head), " ")
	if r := []rune(head); len(r) > refusalWindow {
		head = string(r[:refusalWindow])
	}
	for _, p := range refusalPhrases {
		if strings.Contains(head, p) {
			return "the output opens with " + strconv.Quote(p), true
		}
	}
	return "", false
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
