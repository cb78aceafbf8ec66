package eval

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/genscope/genscope/internal/gateway"
)

// Judge sends a judge's prompt to a gateway deployment and returns the
// model's answer. Errors wrapped by Transient are retried.
type Judge func(ctx context.Context, req JudgeRequest) (string, error)

// JudgeRequest is one judge call: the project whose call is judged (the
// judge's own call is recorded there, marked as the evaluator's), the
// deployment and the prompt.
type JudgeRequest struct {
	Project, Deployment string
	EvaluatorID         string
	EvaluatorName       string
	Prompt              string
}

// Transient marks err as worth retrying (an upstream that failed or did
// not answer); other errors fail the run at once.
func Transient(err error) error { return &transientError{err} }

type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func isTransient(err error) bool {
	var t *transientError
	return errors.As(err, &t)
}

// render fills the template: {{input}}, {{output}} and {{system}} become
// the call's texts, in one pass (text that itself holds "{{output}}" is
// not expanded again).
func render(template string, c *Call) string {
	return strings.NewReplacer("{{input}}", c.Input, "{{output}}", c.Output, "{{system}}", c.System).Replace(template)
}

// errBadAnswer is a judge's answer with no score in it: not retried.
var errBadAnswer = errors.New(`the judge's answer holds no score: expected a JSON object {"score": <number>, "label": "<word>", "explanation": "…"}, lines "score: <number>" / "label: <word>" / "explanation: …", or only a number or a label`)

// parseAnswer reads a judge's answer (see errBadAnswer for the forms).
// labels, when set, are the labels accepted (case-insensitively; the
// result has the configured spelling).
func parseAnswer(answer string, labels []string) (Result, error) {
	t := unfence(answer)
	var r Result
	var obj map[string]json.RawMessage
	if strings.HasPrefix(t, "{") && json.Unmarshal([]byte(t), &obj) == nil {
		for _, k := range []string{"score", "value"} {
			if raw, ok := obj[k]; ok && r.Value == nil {
				var f float64
				if json.Unmarshal(raw, &f) == nil {
					r.Value = &f
				} else {
					var s string
					if json.Unmarshal(raw, &s) == nil {
						r.Value = number(s)
					}
				}
			}
		}
		var s string
		if raw, ok := obj["label"]; ok && json.Unmarshal(raw, &s) == nil {
			r.Label = s
		}
		for _, k := range []string{"explanation", "reason", "reasoning"} {
			if raw, ok := obj[k]; ok && r.Comment == "" && json.Unmarshal(raw, &s) == nil {
				r.Comment = s
			}
		}
	} else {
		var rest []string
		for _, line := range strings.Split(t, "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
			k = strings.ToLower(strings.Trim(strings.TrimSpace(k), "*#_ "))
			v = strings.Trim(strings.TrimSpace(v), "*_ ")
			switch {
			case ok && (k == "score" || k == "value") && r.Value == nil:
				r.Value = number(v)
			case ok && k == "label" && r.Label == "":
				r.Label = v
			case ok && (k == "explanation" || k == "reason" || k == "reasoning") && r.Comment == "":
				r.Comment = v
			default:
				rest = append(rest, line)
			}
		}
		if r.Value == nil && r.Label == "" {
			whole := strings.TrimSuffix(strings.TrimSpace(t), ".")
			if v := number(whole); v != nil {
				r.Value = v
			} else if !strings.ContainsAny(whole, " \t\r\n") {
				r.Label = whole
			}
		} else if r.Comment == "" {
			r.Comment = strings.TrimSpace(strings.Join(rest, "\n"))
		}
	}
	if r.Label != "" {
		l, ok := label(r.Label, labels)
		if !ok {
			if r.Value == nil {
				return Result{}, errBadAnswer
			}
			l = ""
		}
		r.Label = l
	}
	if r.Value == nil && r.Label == "" {
		return Result{}, errBadAnswer
	}
	r.Comment = truncate(r.Comment, 16<<10)
	return r, nil
}

// number parses a finite number, also "4/5" (as 0.8).
func number(s string) *float64 {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if a, b, ok := strings.Cut(s, "/"); ok {
		x, err1 := strconv.ParseFloat(strings.TrimSpace(a), 64)
		y, err2 := strconv.ParseFloat(strings.TrimSpace(b), 64)
		if err1 != nil || err2 != nil || y == 0 {
			return nil
		}
		v := x / y
		return finite(v)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil
	}
	return finite(v)
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// label checks a label against the accepted ones (any one word when none
// are configured).
func label(l string, labels []string) (string, bool) {
	l = strings.Trim(strings.TrimSpace(l), `."'`)
	if len(labels) == 0 {
		return l, l != "" && !strings.ContainsAny(l, " \t\r\n") && len(l) <= maxName
	}
	for _, x := range labels {
		if strings.EqualFold(x, l) {
			return x, true
		}
	}
	return "", false
}

// JudgeService is the service a judge's own calls are recorded under.
const JudgeService = "genscope-evaluator"

// AttrEvaluatorID marks a judge's own call with the evaluator's id (and
// AttrEvaluator with its name).
const AttrEvaluatorID = "genscope.evaluator.id"

// GatewayJudge is the Judge that sends the prompt through a gateway
// deployment, as the gateway serves any call (its upstream client, key,
// routes, timeouts), recorded in the judged call's project under
// JudgeService and marked with the evaluator (so it is never evaluated
// itself). Temporary upstream failures are Transient.
func GatewayJudge(gw *gateway.Gateway) Judge {
	return func(ctx context.Context, req JudgeRequest) (string, error) {
		answer, err := gw.Complete(ctx, gateway.Internal{Project: req.Project, Deployment: req.Deployment, Service: JudgeService,
			Attributes: map[string]string{AttrEvaluator: req.EvaluatorName, AttrEvaluatorID: req.EvaluatorID}}, req.Prompt)
		var ue *gateway.UpstreamError
		if errors.As(err, &ue) && ue.Temporary() {
			return "", Transient(err)
		}
		return answer, err
	}
}
