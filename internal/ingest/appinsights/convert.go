package appinsights

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/jsondepth"
	"github.com/genscope/genscope/internal/store"
	"github.com/genscope/genscope/internal/tenancy"
)

// The base types, as metric label values; any other is counted as "other".
const (
	typeDependency = "RemoteDependencyData"
	typeRequest    = "RequestData"
	typeMessage    = "MessageData"
	typeException  = "ExceptionData"
	typeEvent      = "EventData"
	typeMetric     = "MetricData"
	typeOther      = "other"
	typeInvalid    = "invalid" // an item that is not an envelope at all
)

var baseTypes = []string{typeDependency, typeRequest, typeMessage, typeException, typeEvent, typeMetric, typeOther, typeInvalid}

// baseTypeLabel bounds the base type a client sent to the label values.
func baseTypeLabel(t string) string {
	for _, k := range baseTypes[:len(baseTypes)-2] {
		if strings.EqualFold(t, k) {
			return k
		}
	}
	return typeOther
}

// errMalformed means the body is not JSON envelopes at all.
var errMalformed = errors.New("malformed body: want a JSON array of envelopes, newline-delimited envelopes or one envelope")

// splitItems splits a body into its items: the elements of a JSON array,
// the lines of newline-delimited JSON, or a single object. A line that is
// not valid JSON is still an item (refused on its own); a body with no
// valid item is errMalformed.
func splitItems(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, errMalformed
	}
	if err := checkDepth(trimmed); err != nil {
		return nil, err
	}
	switch trimmed[0] {
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		return items, nil
	case '{':
		if json.Valid(trimmed) {
			return []json.RawMessage{trimmed}, nil
		}
	default:
		return nil, errMalformed
	}
	var (
		items []json.RawMessage
		valid bool
	)
	for line := range bytes.SplitSeq(trimmed, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		valid = valid || json.Valid(line)
		items = append(items, line)
	}
	if !valid {
		return nil, errMalformed
	}
	return items, nil
}

// maxJSONDepth bounds the nesting of one envelope, checked before it is
// decoded (encoding/json recurses, allocating at every level, down to
// 10,000 levels): a property value starts below 4 levels (envelope, data,
// baseData, properties) and may nest genai.MaxValueDepth levels, so a
// value one level deeper is refused. A JSON array of envelopes adds one.
const maxJSONDepth = 4 + genai.MaxValueDepth

// errTooDeep is a body nested deeper than maxJSONDepth.
var errTooDeep = fmt.Errorf("request body: JSON nested deeper than an envelope allows (values may nest %d levels)", genai.MaxValueDepth)

// checkDepth refuses a body (a JSON array of envelopes, one envelope, or
// newline-delimited ones, each counted on its own) nested deeper than
// maxJSONDepth.
func checkDepth(body []byte) error {
	if body[0] == '[' {
		if jsondepth.Check(body, maxJSONDepth+1) != nil {
			return errTooDeep
		}
		return nil
	}
	for line := range bytes.SplitSeq(body, []byte("\n")) {
		if jsondepth.Check(line, maxJSONDepth) != nil {
			return errTooDeep
		}
	}
	return nil
}

// envelope is one telemetry item. encoding/json matches the field names
// case-insensitively, so iKey, ikey and IKEY all land in IKey.
type envelope struct {
	Name string         `json:"name"`
	Time string         `json:"time"`
	IKey string         `json:"iKey"`
	Tags map[string]any `json:"tags"`
	Data *struct {
		BaseType string          `json:"baseType"`
		BaseData json.RawMessage `json:"baseData"`
	} `json:"data"`
}

// baseData is the union of the fields of the base types read here; loose
// types where exporters disagree.
type baseData struct {
	ID           string         `json:"id"`
	Name         string         `json:"name"`
	Type         string         `json:"type"`
	Target       string         `json:"target"`
	URL          string         `json:"url"`
	ResultCode   any            `json:"resultCode"`
	ResponseCode any            `json:"responseCode"`
	Duration     any            `json:"duration"`
	Success      any            `json:"success"`
	Message      string         `json:"message"`
	Properties   map[string]any `json:"properties"`
	Measurements map[string]any `json:"measurements"`
	Exceptions   []struct {
		TypeName string `json:"typeName"`
		Message  string `json:"message"`
		Stack    string `json:"stack"`
	} `json:"exceptions"`
	Metrics []struct {
		Name string `json:"name"`
	} `json:"metrics"`
}

// itemError is a refused item, as the response reports it.
type itemError struct {
	Index      int    `json:"index"`
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

// response is the body of every answer.
type response struct {
	ItemsReceived int         `json:"itemsReceived"`
	ItemsAccepted int         `json:"itemsAccepted"`
	Errors        []itemError `json:"errors"`
}

// converted is what a request's items became.
type converted struct {
	batch    store.Batch
	resp     response
	received map[string]int // by base type label
	rejected map[string]int
	ignored  int // accepted items that carry nothing stored (metrics, plain logs, ...)
}

// converter maps the items of one request.
type converter struct {
	projectFor func(ikey string) (string, error)
	projects   map[string]projectResult

	spans      []pendingSpan
	resources  map[string]map[string]any // _OTELRESOURCE_ properties by role key
	exceptions []pendingException
	out        converted
	seq        int
}

type projectResult struct {
	project string
	err     error
}

type pendingSpan struct {
	raw  genai.RawSpan
	role string // role key, for the resource
}

type pendingException struct {
	project string
	trace   genai.TraceID
	span    genai.SpanID
	event   genai.Event
}

// convert maps items to canonical records. projectFor names the project of
// an instrumentation key; nil means tenancy.DefaultProject for every key.
func convert(items []json.RawMessage, projectFor func(string) (string, error)) converted {
	c := converter{
		projectFor: projectFor,
		projects:   map[string]projectResult{},
		resources:  map[string]map[string]any{},
		out: converted{
			received: map[string]int{},
			rejected: map[string]int{},
		},
	}
	c.out.resp.ItemsReceived = len(items)
	c.out.resp.Errors = []itemError{}
	for i, raw := range items {
		label, err := c.item(raw)
		c.out.received[label]++
		if err != nil {
			c.out.rejected[label]++
			c.out.resp.Errors = append(c.out.resp.Errors, itemError{Index: i, StatusCode: 400, Message: err.Error()})
		}
	}
	c.finish()
	c.out.resp.ItemsAccepted = c.out.resp.ItemsReceived - len(c.out.resp.Errors)
	return c.out
}

// item maps one item; it returns the base type label and why the item is
// refused, if it is.
func (c *converter) item(raw json.RawMessage) (string, error) {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return typeInvalid, fmt.Errorf("invalid envelope: %s", jsonError(err))
	}
	if env.Data == nil || env.Data.BaseType == "" {
		return typeInvalid, errors.New("envelope without data.baseType")
	}
	label := baseTypeLabel(env.Data.BaseType)
	var bd baseData
	if len(env.Data.BaseData) > 0 && !bytes.Equal(env.Data.BaseData, []byte("null")) {
		if err := json.Unmarshal(env.Data.BaseData, &bd); err != nil {
			return label, fmt.Errorf("invalid baseData: %s", jsonError(err))
		}
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(env.Time))
	if err != nil {
		return label, fmt.Errorf("invalid time %q", clip(env.Time))
	}
	project, err := c.project(env.IKey)
	if err != nil {
		return label, err
	}
	tags := lowerKeys(env.Tags)
	switch label {
	case typeDependency, typeRequest:
		return label, c.span(label, project, t, tags, &bd)
	case typeMessage:
		return label, c.message(project, t, tags, &bd)
	case typeException:
		c.exception(project, t, tags, &bd)
	case typeMetric:
		if len(bd.Metrics) == 1 && bd.Metrics[0].Name == "_OTELRESOURCE_" {
			res := make(map[string]any, len(bd.Properties))
			for k, v := range bd.Properties {
				res[k] = attrValue(v)
			}
			c.resources[roleKey(tags)] = res
		}
		c.out.ignored++
	default:
		c.out.ignored++
	}
	return label, nil
}

func (c *converter) project(ikey string) (string, error) {
	if c.projectFor == nil {
		return tenancy.DefaultProject, nil
	}
	if p, ok := c.projects[ikey]; ok {
		return p.project, p.err
	}
	p, err := c.projectFor(ikey)
	if err != nil {
		err = fmt.Errorf("instrumentation key refused: %v", err)
	}
	c.projects[ikey] = projectResult{p, err}
	return p, err
}

// span maps a RemoteDependencyData or RequestData item.
func (c *converter) span(label, project string, t time.Time, tags map[string]string, bd *baseData) error {
	trace, err := genai.ParseTraceID(tags["ai.operation.id"])
	if err != nil {
		return fmt.Errorf("invalid ai.operation.id %q: want 32 hex digits", clip(tags["ai.operation.id"]))
	}
	id, err := genai.ParseSpanID(bd.ID)
	if err != nil {
		return fmt.Errorf("invalid id %q: want 16 hex digits", clip(bd.ID))
	}
	parent, _ := genai.ParseSpanID(tags["ai.operation.parentid"]) // not one: a root span
	d, err := durationOf(bd.Duration)
	if err != nil {
		return err
	}
	attrs := make(map[string]any, len(bd.Properties)+len(bd.Measurements)+2)
	for k, v := range bd.Measurements {
		attrs[k] = attrValue(v)
	}
	for k, v := range bd.Properties {
		attrs[k] = attrValue(v)
	}
	kind := "client"
	code := bd.ResultCode
	if label == typeRequest {
		kind = "server"
		code = bd.ResponseCode
		if bd.URL != "" {
			setDefault(attrs, "url.full", bd.URL)
		}
	} else if strings.EqualFold(bd.Type, "InProc") {
		kind = "internal"
	}
	status := genai.StatusUnset // the exporters set success = status != ERROR
	if ok, known := boolOf(bd.Success); known && !ok {
		status = genai.StatusError
	}
	if rc := strings.TrimSpace(textOf(code)); rc != "" && rc != "0" {
		if n, err := strconv.Atoi(rc); err == nil && n >= 100 && n <= 599 {
			setDefault(attrs, "http.response.status_code", int64(n))
		}
		if status == genai.StatusError {
			setDefault(attrs, "error.type", rc)
		}
	}
	start := t.UnixNano()
	c.spans = append(c.spans, pendingSpan{
		role: roleKey(tags),
		raw: genai.RawSpan{
			Project:       project,
			TraceID:       trace,
			SpanID:        id,
			ParentSpanID:  parent,
			Name:          bd.Name,
			Kind:          kind,
			Source:        genai.SourceAppInsights,
			StartUnixNano: start,
			EndUnixNano:   start + int64(d),
			Status:        status,
			Attributes:    attrs,
		},
	})
	return nil
}

// message maps a MessageData item: a GenAI content event becomes message
// records of the span ai.operation.parentId; anything else is counted.
func (c *converter) message(project string, t time.Time, tags map[string]string, bd *baseData) error {
	attrs := make(map[string]any, len(bd.Properties))
	for k, v := range bd.Properties {
		attrs[k] = v // kept as sent: content must not be reinterpreted
	}
	rl := genai.RawLog{Project: project, TimeUnixNano: t.UnixNano(), Seq: c.seq, Attributes: attrs}
	var content string
	if name, _ := attrs["event.name"].(string); genai.IsContentEvent(strings.TrimSpace(name)) {
		// The Node exporter: the message is the record's body.
		rl.EventName, content = name, bd.Message
		rl.Body = bd.Message
	} else if genai.IsContentEvent(strings.TrimSpace(bd.Message)) {
		// The Python exporter: the message is the event name and the
		// content is in gen_ai.event.content.
		rl.EventName = bd.Message
		content, _ = attrs["gen_ai.event.content"].(string)
	} else {
		c.out.ignored++
		return nil
	}
	var err error
	if rl.TraceID, err = genai.ParseTraceID(tags["ai.operation.id"]); err != nil {
		c.out.ignored++ // content with no span to belong to
		return nil
	}
	if rl.SpanID, err = genai.ParseSpanID(tags["ai.operation.parentid"]); err != nil {
		c.out.ignored++
		return nil
	}
	recs, ok := genai.NormalizeLog(rl)
	if !ok || len(recs) == 0 {
		c.out.ignored++
		return nil
	}
	if truncated(content) {
		for i := range recs {
			recs[i].Truncated = true
		}
	}
	c.seq += len(recs)
	c.out.batch.Messages = append(c.out.batch.Messages, recs...)
	return nil
}

// exception keeps an ExceptionData item as an exception event of its span
// when that span is in the same request; otherwise it is only counted.
func (c *converter) exception(project string, t time.Time, tags map[string]string, bd *baseData) {
	trace, err1 := genai.ParseTraceID(tags["ai.operation.id"])
	span, err2 := genai.ParseSpanID(tags["ai.operation.parentid"])
	if err1 != nil || err2 != nil || len(bd.Exceptions) == 0 {
		c.out.ignored++
		return
	}
	x := bd.Exceptions[0]
	attrs := map[string]any{}
	for k, v := range map[string]string{"exception.type": x.TypeName, "exception.message": x.Message, "exception.stacktrace": x.Stack} {
		if v != "" {
			attrs[k] = v
		}
	}
	c.exceptions = append(c.exceptions, pendingException{project, trace, span,
		genai.Event{TimeUnixNano: t.UnixNano(), Name: "exception", Attributes: attrs}})
}

// finish attaches exceptions and resources and normalizes the spans.
func (c *converter) finish() {
	type key struct {
		project string
		trace   genai.TraceID
		span    genai.SpanID
	}
	index := make(map[key]int, len(c.spans))
	for i := range c.spans {
		r := &c.spans[i].raw
		index[key{r.Project, r.TraceID, r.SpanID}] = i
	}
	for _, x := range c.exceptions {
		if i, ok := index[key{x.project, x.trace, x.span}]; ok {
			r := &c.spans[i].raw
			r.Events = append(r.Events, x.event)
			if msg, _ := x.event.Attributes["exception.message"].(string); r.Status == genai.StatusError && r.StatusMessage == "" {
				r.StatusMessage = msg
			}
			// The exception's type is the failed call's error type, as
			// OTLP instrumentations report it in error.type.
			if typ, _ := x.event.Attributes["exception.type"].(string); typ != "" && r.Status == genai.StatusError {
				if r.Attributes == nil {
					r.Attributes = map[string]any{}
				}
				if _, ok := r.Attributes["error.type"]; !ok {
					r.Attributes["error.type"] = typ
				}
			}
		} else {
			c.out.ignored++
		}
	}
	c.out.batch.Spans = make([]genai.Span, 0, len(c.spans))
	for i := range c.spans {
		p := &c.spans[i]
		res := c.resources[p.role]
		if res == nil {
			res = map[string]any{}
			c.resources[p.role] = res
		}
		if _, ok := res["service.name"]; !ok {
			role, _, _ := strings.Cut(p.role, "\x00")
			if role != "" {
				res["service.name"] = role
			}
		}
		p.raw.Resource = res
		c.out.batch.Spans = append(c.out.batch.Spans, genai.Normalize(p.raw))
	}
}

// roleKey identifies the resource of an item: cloud role and instance.
func roleKey(tags map[string]string) string {
	return tags["ai.cloud.role"] + "\x00" + tags["ai.cloud.roleinstance"]
}

// lowerKeys returns tags with lowercase keys and string values.
func lowerKeys(tags map[string]any) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[strings.ToLower(k)] = strings.TrimSpace(textOf(v))
	}
	return out
}

func setDefault(m map[string]any, k string, v any) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// textOf renders a scalar JSON value as text.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func boolOf(v any) (val, known bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	}
	return false, false
}

// durationOf reads an Application Insights duration: "hh:mm:ss.fffffff"
// with an optional "d." day prefix (a number is taken as milliseconds).
// A missing duration is zero.
func durationOf(v any) (time.Duration, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case float64:
		if x < 0 || x > float64(maxDuration/time.Millisecond) {
			return 0, fmt.Errorf("invalid duration %v", x)
		}
		return time.Duration(x * float64(time.Millisecond)), nil
	case string:
		d, ok := parseDuration(strings.TrimSpace(x))
		if !ok {
			return 0, fmt.Errorf("invalid duration %q: want [d.]hh:mm:ss[.fffffff]", clip(x))
		}
		return d, nil
	}
	return 0, errors.New("invalid duration: want a string")
}

// maxDuration bounds durations (and so span end times) to something sane.
const maxDuration = 10000 * 24 * time.Hour

func parseDuration(s string) (time.Duration, bool) {
	if s == "" {
		return 0, true
	}
	var days int64
	hms := s
	if dot, colon := strings.IndexByte(s, '.'), strings.IndexByte(s, ':'); dot >= 0 && colon > dot {
		n, ok := digits(s[:dot], 5)
		if !ok {
			return 0, false
		}
		days, hms = n, s[dot+1:]
	}
	hms, frac, hasFrac := strings.Cut(hms, ".")
	parts := strings.Split(hms, ":")
	if len(parts) != 3 {
		return 0, false
	}
	h, ok1 := digits(parts[0], 2)
	m, ok2 := digits(parts[1], 2)
	sec, ok3 := digits(parts[2], 2)
	if !ok1 || !ok2 || !ok3 || h > 23+24*9999 || m > 59 || sec > 59 {
		return 0, false
	}
	var ns int64
	if hasFrac {
		if frac == "" || len(frac) > 9 {
			return 0, false
		}
		f, ok := digits(frac, 9)
		if !ok {
			return 0, false
		}
		for range 9 - len(frac) {
			f *= 10
		}
		ns = f
	}
	d := time.Duration(days)*24*time.Hour + time.Duration(h)*time.Hour +
		time.Duration(m)*time.Minute + time.Duration(sec)*time.Second + time.Duration(ns)
	if d > maxDuration {
		return 0, false
	}
	return d, true
}

// digits parses 1 to max decimal digits.
func digits(s string, max int) (int64, bool) {
	if s == "" || len(s) > max {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// attrValue reads back what an exporter flattened into a string property:
// integers and decimal numbers, booleans, JSON arrays of scalars
// ("[\"stop\"]") and Python tuple or list reprs ("('stop',)").
func attrValue(v any) any {
	s, ok := v.(string)
	if !ok {
		if f, isNum := v.(float64); isNum && f == float64(int64(f)) && f >= -1<<53 && f <= 1<<53 {
			return int64(f)
		}
		return v
	}
	t := strings.TrimSpace(s)
	if t == "" || len(t) > 4096 {
		return s
	}
	switch {
	case t == "true":
		return true
	case t == "false":
		return false
	case isInteger(t):
		if n, err := strconv.ParseInt(t, 10, 64); err == nil {
			return n
		}
	case isDecimal(t):
		if f, err := strconv.ParseFloat(t, 64); err == nil {
			return f
		}
	case t[0] == '[' && t[len(t)-1] == ']':
		if a, ok := scalarArray(t); ok {
			return a
		}
		if a, ok := pythonSequence(t[1 : len(t)-1]); ok {
			return a
		}
	case t[0] == '(' && t[len(t)-1] == ')':
		if a, ok := pythonSequence(t[1 : len(t)-1]); ok {
			return a
		}
	}
	return s
}

// isInteger reports whether s is an integer without a leading zero (so
// that "007" stays a string).
func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isDecimal reports whether s is a plain decimal number: digits, one dot,
// digits (no exponent, NaN or Inf).
func isDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || whole == "" || frac == "" {
		return false
	}
	return isInteger(whole) && strings.Trim(frac, "0123456789") == ""
}

// scalarArray decodes a JSON array of strings, numbers and booleans.
func scalarArray(s string) ([]any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var a []any
	if err := dec.Decode(&a); err != nil || dec.More() {
		return nil, false
	}
	for i, v := range a {
		switch x := v.(type) {
		case string, bool:
		case json.Number:
			if n, err := x.Int64(); err == nil {
				a[i] = n
			} else if f, err := x.Float64(); err == nil {
				a[i] = f
			} else {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if a == nil {
		a = []any{}
	}
	return a, true
}

// pythonSequence reads the inside of a Python tuple or list repr of
// strings and numbers: 'a', "b", 1, 2.5, True; a trailing comma is allowed.
func pythonSequence(s string) ([]any, bool) {
	out := []any{}
	for {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out, true
		}
		var v any
		switch q := s[0]; q {
		case '\'', '"':
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != q; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					switch s[i] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(s[i])
					}
					continue
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, false
			}
			v, s = b.String(), s[i+1:]
		default:
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			tok := strings.TrimSpace(s[:end])
			switch {
			case tok == "True":
				v = true
			case tok == "False":
				v = false
			case isInteger(tok):
				n, err := strconv.ParseInt(tok, 10, 64)
				if err != nil {
					return nil, false
				}
				v = n
			case isDecimal(tok):
				f, err := strconv.ParseFloat(tok, 64)
				if err != nil {
					return nil, false
				}
				v = f
			default:
				return nil, false
			}
			s = s[end:]
		}
		out = append(out, v)
		s = strings.TrimLeft(s, " ")
		if s == "" {
			return out, true
		}
		if s[0] != ',' {
			return nil, false
		}
		s = s[1:]
	}
}

// The lengths at which the exporters cut a log message or property.
var cutLengths = []int{8192, 32768}

// truncated reports whether content was cut by the exporter: JSON cut
// short (so no longer valid) at one of the lengths exporters cut at,
// counted in code points (Python) or UTF-16 units (JavaScript).
func truncated(content string) bool {
	t := strings.TrimSpace(content)
	if t == "" || (t[0] != '{' && t[0] != '[') || json.Valid([]byte(t)) {
		return false
	}
	runes := utf8.RuneCountInString(content)
	units := runes
	for _, r := range content {
		if utf16.RuneLen(r) == 2 {
			units++
		}
	}
	for _, n := range cutLengths {
		if runes == n || units == n {
			return true
		}
	}
	return false
}

// jsonError shortens a decoding error for the response.
func jsonError(err error) string {
	return clip(err.Error())
}

// clip bounds a client-supplied string before it is echoed or logged.
func clip(s string) string {
	const n = 120
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
