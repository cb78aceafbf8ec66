package otlpconv

import (
	"fmt"
	"iter"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/genscope/genscope/internal/genai"
)

// Traces converts every span of td into a canonical span of project.
// Spans it cannot accept (invalid ids) are counted in rejected with a
// message saying why; the rest are returned.
func Traces(td ptrace.Traces, project string) (spans []genai.Span, rejected int, msg string) {
	spans = make([]genai.Span, 0, td.SpanCount())
	var badTrace, badSpan int
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		// One resource map, shared (read-only) by the resource's spans.
		resource := attrMap(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := ss.Scope().Name()
			sps := ss.Spans()
			for k := 0; k < sps.Len(); k++ {
				sp := sps.At(k)
				tid, sid := sp.TraceID(), sp.SpanID()
				switch {
				case tid.IsEmpty():
					badTrace++
					continue
				case sid.IsEmpty():
					badSpan++
					continue
				}
				spans = append(spans, genai.NormalizeAttrs(rawSpan(sp, project, scope, resource), attrSeq(sp.Attributes())))
			}
		}
	}
	rejected = badTrace + badSpan
	return spans, rejected, rejectMsg("span", badTrace, badSpan)
}

// rawSpan converts one pdata span, but for its attributes (see attrSeq).
func rawSpan(sp ptrace.Span, project, scope string, resource map[string]any) genai.RawSpan {
	r := genai.RawSpan{
		Project:       project,
		TraceID:       genai.TraceID(sp.TraceID()),
		SpanID:        genai.SpanID(sp.SpanID()),
		ParentSpanID:  genai.SpanID(sp.ParentSpanID()),
		Name:          sp.Name(),
		Kind:          spanKind(sp.Kind()),
		ScopeName:     scope,
		Source:        genai.SourceOTLP,
		StartUnixNano: int64(sp.StartTimestamp()),
		EndUnixNano:   int64(sp.EndTimestamp()),
		StatusMessage: sp.Status().Message(),
		Resource:      resource,
	}
	switch sp.Status().Code() {
	case ptrace.StatusCodeOk:
		r.Status = genai.StatusOK
	case ptrace.StatusCodeError:
		r.Status = genai.StatusError
	default:
		r.Status = genai.StatusUnset
	}
	if evs := sp.Events(); evs.Len() > 0 {
		r.Events = make([]genai.Event, evs.Len())
		for i := range r.Events {
			e := evs.At(i)
			r.Events[i] = genai.Event{
				TimeUnixNano: int64(e.Timestamp()),
				Name:         e.Name(),
				Attributes:   attrMap(e.Attributes()),
			}
		}
	}
	return r
}

func spanKind(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindInternal:
		return "internal"
	case ptrace.SpanKindServer:
		return "server"
	case ptrace.SpanKindClient:
		return "client"
	case ptrace.SpanKindProducer:
		return "producer"
	case ptrace.SpanKindConsumer:
		return "consumer"
	}
	return "unspecified"
}

// Logs converts the GenAI event log records of ld (gen_ai.user.message,
// gen_ai.choice, ...) into message records of project. Log records that
// are not GenAI content events are accepted and ignored (counted in
// ignored); records it cannot accept are counted in rejected.
//
// A GenAI content record without a valid trace id and span id cannot be
// joined to its span and is rejected. Each message record's Seq is its
// position among the message records of the request (a
// gen_ai.client.inference.operation.details record, which carries several
// messages, gives consecutive Seqs).
func Logs(ld plog.Logs, project string) (recs []genai.MessageRecord, ignored, rejected int, msg string) {
	var badTrace, badSpan int
	seq := 0
	for name, lr := range logRecords(ld) {
		if !genai.IsContentEvent(strings.TrimSpace(name)) {
			ignored++
			continue
		}
		tid, sid := lr.TraceID(), lr.SpanID()
		switch {
		case tid.IsEmpty():
			badTrace++
			continue
		case sid.IsEmpty():
			badSpan++
			continue
		}
		out, ok := genai.NormalizeLog(genai.RawLog{
			Project:      project,
			TraceID:      genai.TraceID(tid),
			SpanID:       genai.SpanID(sid),
			TimeUnixNano: recordTime(lr),
			Seq:          seq,
			EventName:    name,
			Attributes:   attrMap(lr.Attributes()),
			Body:         value(lr.Body()),
		})
		if !ok {
			ignored++
			continue
		}
		seq += len(out)
		recs = append(recs, out...)
	}
	rejected = badTrace + badSpan
	return recs, ignored, rejected, rejectMsg("log record", badTrace, badSpan)
}

// Evaluations returns the gen_ai.evaluation.result log records of ld as
// evaluations of project: each parented to the span its trace and span
// ids name, or naming the evaluated response by gen_ai.response.id.
// Records that are neither, or that carry no name or no score (neither a
// value nor a label), are counted in dropped. Logs ignores these records
// (they are not content).
func Evaluations(ld plog.Logs, project string) (evs []genai.Evaluation, dropped int) {
	for name, lr := range logRecords(ld) {
		if strings.TrimSpace(name) != genai.EventEvaluationResult {
			continue
		}
		e, ok := genai.EvaluationOf(attrMap(lr.Attributes()))
		tid, sid := lr.TraceID(), lr.SpanID()
		if !ok || ((tid.IsEmpty() || sid.IsEmpty()) && e.ResponseID == "") {
			dropped++
			continue
		}
		if !tid.IsEmpty() && !sid.IsEmpty() {
			e.TraceID, e.SpanID = genai.TraceID(tid), genai.SpanID(sid)
		}
		e.Project, e.TimeUnixNano = project, recordTime(lr)
		evs = append(evs, e)
	}
	return evs, dropped
}

// logRecords yields every log record of ld with its event name (the
// record's, else its event.name attribute).
func logRecords(ld plog.Logs) iter.Seq2[string, plog.LogRecord] {
	return func(yield func(string, plog.LogRecord) bool) {
		rls := ld.ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			sls := rls.At(i).ScopeLogs()
			for j := 0; j < sls.Len(); j++ {
				lrs := sls.At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					name := lr.EventName()
					if name == "" {
						if v, ok := lr.Attributes().Get("event.name"); ok && v.Type() == pcommon.ValueTypeStr {
							name = v.Str()
						}
					}
					if !yield(name, lr) {
						return
					}
				}
			}
		}
	}
}

// recordTime is when a log record happened: its time, else when it was
// observed.
func recordTime(lr plog.LogRecord) int64 {
	if t := lr.Timestamp(); t != 0 {
		return int64(t)
	}
	return int64(lr.ObservedTimestamp())
}

// rejectMsg says how many items were rejected and why.
func rejectMsg(noun string, badTrace, badSpan int) string {
	n := badTrace + badSpan
	if n == 0 {
		return ""
	}
	if n != 1 {
		noun += "s"
	}
	switch {
	case badSpan == 0:
		return fmt.Sprintf("%d %s rejected: invalid trace id", n, noun)
	case badTrace == 0:
		return fmt.Sprintf("%d %s rejected: invalid span id", n, noun)
	}
	return fmt.Sprintf("%d %s rejected: invalid trace id (%d), invalid span id (%d)", n, noun, badTrace, badSpan)
}

// attrMap converts OTLP attributes to a Go map; nil when there are none.
func attrMap(m pcommon.Map) map[string]any {
	if m.Len() == 0 {
		return nil
	}
	out := make(map[string]any, m.Len())
	for k, v := range m.All() {
		out[k] = value(v)
	}
	return out
}

// attrSeq yields OTLP attributes as genai Values: scalars are not boxed,
// so the attributes genai maps to typed fields cost no allocation.
func attrSeq(m pcommon.Map) iter.Seq2[string, genai.Value] {
	return func(yield func(string, genai.Value) bool) {
		for k, v := range m.All() {
			var gv genai.Value
			switch v.Type() {
			case pcommon.ValueTypeStr:
				gv = genai.StringValue(v.Str())
			case pcommon.ValueTypeInt:
				gv = genai.IntValue(v.Int())
			case pcommon.ValueTypeDouble:
				gv = genai.DoubleValue(v.Double())
			case pcommon.ValueTypeBool:
				gv = genai.BoolValue(v.Bool())
			default:
				gv = genai.AnyValue(value(v))
			}
			if !yield(k, gv) {
				return
			}
		}
	}
}

// value converts an OTLP AnyValue to string, bool, int64, float64,
// []byte, []any, map[string]any, or nil when empty. Arrays and maps
// nested deeper than genai.MaxValueDepth (which the receivers refuse
// first, see CheckTracesDepth) become genai.TooDeep:
// conversion never recurses without bound.
func value(v pcommon.Value) any { return valueAt(v, 0) }

func valueAt(v pcommon.Value, depth int) any {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str()
	case pcommon.ValueTypeInt:
		return v.Int()
	case pcommon.ValueTypeDouble:
		return v.Double()
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeBytes:
		return v.Bytes().AsRaw()
	case pcommon.ValueTypeSlice:
		if depth >= genai.MaxValueDepth {
			return genai.TooDeep
		}
		s := v.Slice()
		out := make([]any, s.Len())
		for i := range out {
			out[i] = valueAt(s.At(i), depth+1)
		}
		return out
	case pcommon.ValueTypeMap:
		if depth >= genai.MaxValueDepth {
			return genai.TooDeep
		}
		m := v.Map()
		out := make(map[string]any, m.Len())
		for k, e := range m.All() {
			out[k] = valueAt(e, depth+1)
		}
		return out
	}
	return nil
}
