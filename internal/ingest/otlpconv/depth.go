package otlpconv

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/genscope/genscope/internal/genai"
)

// DepthError is a request with a value (an attribute, an event attribute,
// a log body) nested deeper than genai.MaxValueDepth.
type DepthError struct {
	Where string // what holds the value: "span attribute \"k\"", ...
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("%s nests deeper than %d levels (arrays and maps inside arrays and maps): the limit is %d",
		e.Where, genai.MaxValueDepth, genai.MaxValueDepth)
}

// CheckTracesDepth returns a *DepthError when a resource, span, event or
// link attribute of td nests deeper than genai.MaxValueDepth.
func CheckTracesDepth(td ptrace.Traces) error {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		if err := checkMap(rs.Resource().Attributes(), "resource attribute"); err != nil {
			return err
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			if err := checkMap(ss.Scope().Attributes(), "scope attribute"); err != nil {
				return err
			}
			sps := ss.Spans()
			for k := 0; k < sps.Len(); k++ {
				sp := sps.At(k)
				if err := checkMap(sp.Attributes(), "span attribute"); err != nil {
					return err
				}
				evs := sp.Events()
				for e := 0; e < evs.Len(); e++ {
					if err := checkMap(evs.At(e).Attributes(), "span event attribute"); err != nil {
						return err
					}
				}
				ls := sp.Links()
				for l := 0; l < ls.Len(); l++ {
					if err := checkMap(ls.At(l).Attributes(), "span link attribute"); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// CheckLogsDepth returns a *DepthError when a resource or log record
// attribute or a log body of ld nests deeper than genai.MaxValueDepth.
func CheckLogsDepth(ld plog.Logs) error {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		if err := checkMap(rl.Resource().Attributes(), "resource attribute"); err != nil {
			return err
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				if err := checkMap(lr.Attributes(), "log record attribute"); err != nil {
					return err
				}
				if valueDeeper(lr.Body(), genai.MaxValueDepth) {
					return &DepthError{Where: "a log record body"}
				}
			}
		}
	}
	return nil
}

func checkMap(m pcommon.Map, what string) error {
	for k, v := range m.All() {
		if valueDeeper(v, genai.MaxValueDepth) {
			return &DepthError{Where: fmt.Sprintf("%s %q", what, clipKey(k))}
		}
	}
	return nil
}

// valueDeeper reports whether v nests deeper than max, looking no deeper
// than max+1 levels.
func valueDeeper(v pcommon.Value, max int) bool {
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		if max <= 0 {
			return true
		}
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if valueDeeper(s.At(i), max-1) {
				return true
			}
		}
	case pcommon.ValueTypeMap:
		if max <= 0 {
			return true
		}
		for _, e := range v.Map().All() {
			if valueDeeper(e, max-1) {
				return true
			}
		}
	}
	return false
}

// clipKey bounds an attribute name quoted in an error.
func clipKey(k string) string {
	if len(k) > 64 {
		return k[:64] + "…"
	}
	return k
}
