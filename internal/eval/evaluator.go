package eval

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/genscope/genscope/internal/redact"
)

// Evaluator types.
const (
	TypeRegex    = "regex"     // MustMatch / MustNotMatch on a text
	TypeJSON     = "json"      // the text is JSON (optionally valid against Schema)
	TypeLength   = "length"    // MinLength <= characters <= MaxLength
	TypePII      = "pii"       // the text holds no personal data (package redact's patterns)
	TypeRefusal  = "refusal"   // the model did not refuse (see refused)
	TypeLLMJudge = "llm_judge" // a model, through a gateway deployment, scores the call
)

// Fields an evaluator reads.
const (
	FieldOutput = "output"
	FieldInput  = "input"
	FieldSystem = "system"
)

// Labels of rule-based results: pass when the property holds.
const (
	LabelPass = "pass"
	LabelFail = "fail"
)

// Evaluator is one online evaluator: which calls it sees (Project,
// Filters, Sample) and what it checks. Its results are scores named Name
// with the source "evaluator:<Name>".
type Evaluator struct {
	ID      string  `json:"id" yaml:"id"`
	Name    string  `json:"name" yaml:"name"`
	Project string  `json:"project" yaml:"project"` // "" is the default project
	Type    string  `json:"type" yaml:"type"`
	Enabled bool    `json:"enabled" yaml:"-"` // YAML: config.Evaluator (default true)
	Sample  float64 `json:"sample" yaml:"-"`  // share of matching calls evaluated, (0, 1]; YAML: config.Evaluator (default 1)
	Filters Filters `json:"filters" yaml:"filters"`
	// Field is the text rule-based types read: output (default), input
	// or system.
	Field string `json:"field,omitempty" yaml:"field"`

	MustMatch    string   `json:"must_match,omitempty" yaml:"must_match"`         // regex
	MustNotMatch string   `json:"must_not_match,omitempty" yaml:"must_not_match"` // regex
	Schema       string   `json:"schema,omitempty" yaml:"schema"`                 // json: a JSON Schema, as JSON text
	MinLength    int      `json:"min_length,omitempty" yaml:"min_length"`         // length, in characters
	MaxLength    int      `json:"max_length,omitempty" yaml:"max_length"`         // length, in characters; 0: no bound
	Patterns     []string `json:"patterns,omitempty" yaml:"patterns"`             // pii: extra regular expressions

	// Deployment, Template and Labels are the judge's (llm_judge).
	Deployment string   `json:"deployment,omitempty" yaml:"deployment"`
	Template   string   `json:"template,omitempty" yaml:"template"`
	Labels     []string `json:"labels,omitempty" yaml:"labels"` // the labels the judge may answer; empty: any word
	// MaxPerMinute bounds the runs a minute (a judge's budget); more
	// matching calls are not evaluated (counted as over_budget). 0: no
	// bound.
	MaxPerMinute int `json:"max_per_minute,omitempty" yaml:"max_per_minute"`

	ReadOnly  bool      `json:"read_only" yaml:"-"` // defined in the config file
	CreatedAt time.Time `json:"created_at,omitzero" yaml:"-"`
	UpdatedAt time.Time `json:"updated_at,omitzero" yaml:"-"`
}

// Filters select the calls an evaluator sees; empty fields select all.
// Model matches the request or the response model.
type Filters struct {
	Model     string `json:"model,omitempty" yaml:"model"`
	Service   string `json:"service,omitempty" yaml:"service"`
	Operation string `json:"operation,omitempty" yaml:"operation"`
	Provider  string `json:"provider,omitempty" yaml:"provider"`
}

// NewEvaluator returns an evaluator with the defaults a request or the config
// file decodes over: enabled, every matching call.
func NewEvaluator() Evaluator { return Evaluator{Enabled: true, Sample: 1} }

// FieldError is a problem with one field of an evaluator.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Limits of an evaluator's fields.
const (
	maxName     = 200
	maxPattern  = 4 << 10
	maxSchema   = 64 << 10
	maxTemplate = 32 << 10
)

// Validate checks the evaluator (compiling its patterns and schema); its
// error joins a FieldError per problem.
func (ev *Evaluator) Validate() error {
	_, err := compile(*ev)
	return err
}

// compiled is an evaluator ready to run.
type compiled struct {
	Evaluator
	must, mustNot *regexp.Regexp
	schema        *jsonschema.Schema
	redactor      *redact.Redactor
	budget        *budget
}

func compile(ev Evaluator) (*compiled, error) {
	c := &compiled{Evaluator: ev}
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &FieldError{field, fmt.Sprintf(format, a...)})
	}
	switch {
	case strings.TrimSpace(ev.Name) == "":
		bad("name", "required")
	case len(ev.Name) > maxName || !utf8.ValidString(ev.Name):
		bad("name", "at most %d bytes of UTF-8", maxName)
	}
	if len(ev.Project) > maxName {
		bad("project", "at most %d bytes", maxName)
	}
	if !(ev.Sample > 0 && ev.Sample <= 1) {
		bad("sample", "%v is not within (0, 1]", ev.Sample)
	}
	switch ev.Field {
	case "", FieldOutput, FieldInput, FieldSystem:
	default:
		bad("field", "%q is not output, input or system", ev.Field)
	}
	if ev.MaxPerMinute < 0 {
		bad("max_per_minute", "must not be negative")
	}
	re := func(field, p string) *regexp.Regexp {
		if p == "" {
			return nil
		}
		if len(p) > maxPattern {
			bad(field, "longer than %d bytes", maxPattern)
			return nil
		}
		r, err := regexp.Compile(p)
		if err != nil {
			bad(field, "%v", err)
		}
		return r
	}
	switch ev.Type {
	case TypeRegex:
		c.must, c.mustNot = re("must_match", ev.MustMatch), re("must_not_match", ev.MustNotMatch)
		if ev.MustMatch == "" && ev.MustNotMatch == "" {
			bad("must_match", "a regex evaluator needs must_match, must_not_match or both")
		}
	case TypeJSON:
		if ev.Schema != "" {
			s, err := compileSchema(ev.Schema)
			if err != nil {
				bad("schema", "%v", err)
			}
			c.schema = s
		}
	case TypeLength:
		switch {
		case ev.MinLength < 0 || ev.MaxLength < 0:
			bad("min_length", "lengths must not be negative")
		case ev.MinLength == 0 && ev.MaxLength == 0:
			bad("max_length", "a length evaluator needs min_length, max_length or both")
		case ev.MaxLength > 0 && ev.MinLength > ev.MaxLength:
			bad("min_length", "%d is more than max_length %d", ev.MinLength, ev.MaxLength)
		}
	case TypePII:
		for i, p := range ev.Patterns {
			re(fmt.Sprintf("patterns[%d]", i), p)
		}
		r, err := redact.New(ev.Patterns)
		if err == nil {
			c.redactor = r
		}
	case TypeRefusal:
	case TypeLLMJudge:
		switch {
		case ev.Deployment == "":
			bad("deployment", "required: the gateway deployment that judges")
		case len(ev.Deployment) > maxName:
			bad("deployment", "at most %d bytes", maxName)
		}
		switch {
		case !strings.Contains(ev.Template, "{{output}}") && !strings.Contains(ev.Template, "{{input}}"):
			bad("template", "required, with {{output}} (and {{input}}, {{system}} as needed)")
		case len(ev.Template) > maxTemplate:
			bad("template", "longer than %d bytes", maxTemplate)
		}
		for i, l := range ev.Labels {
			if l == "" || strings.ContainsAny(l, " \t\r\n") || len(l) > maxName {
				bad(fmt.Sprintf("labels[%d]", i), "%q is not one word", l)
			}
		}
	case "":
		bad("type", "required: regex, json, length, pii, refusal or llm_judge")
	default:
		bad("type", "%q is not regex, json, length, pii, refusal or llm_judge", ev.Type)
	}
	if ev.Type != TypeRegex && (ev.MustMatch != "" || ev.MustNotMatch != "") {
		bad("must_match", "only for type regex")
	}
	if ev.Type != TypeJSON && ev.Schema != "" {
		bad("schema", "only for type json")
	}
	if ev.Type != TypeLength && (ev.MinLength != 0 || ev.MaxLength != 0) {
		bad("min_length", "only for type length")
	}
	if ev.Type != TypePII && len(ev.Patterns) > 0 {
		bad("patterns", "only for type pii")
	}
	if ev.Type != TypeLLMJudge && (ev.Deployment != "" || ev.Template != "" || len(ev.Labels) > 0) {
		bad("deployment", "deployment, template and labels are only for type llm_judge")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if ev.MaxPerMinute > 0 {
		c.budget = &budget{per: ev.MaxPerMinute}
	}
	return c, nil
}

// compileSchema compiles a JSON Schema given as JSON text. References to
// other documents are refused: a schema never makes genscope fetch a URL
// or read a file.
func compileSchema(text string) (*jsonschema.Schema, error) {
	if len(text) > maxSchema {
		return nil, fmt.Errorf("longer than %d bytes", maxSchema)
	}
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	const url = "genscope:evaluator-schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("not a JSON Schema: %v", err)
	}
	return s, nil
}

// noLoader refuses every external reference.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema references %s: external references are not loaded", url)
}
