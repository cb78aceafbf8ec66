package otlpconv

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// FuzzTraces feeds bytes to the OTLP trace decoders (JSON and protobuf)
// and converts whatever decodes.
func FuzzTraces(f *testing.F) {
	for _, name := range []string{"lab-otel-openai.traces.json", "lab-otel-openai.traces.pb", "lab-traceloop.traces.json", "lab-openinference.traces.json"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, proto := range []bool{false, true} {
			req := ptraceotlp.NewExportRequest()
			var err error
			if proto {
				err = req.UnmarshalProto(b)
			} else {
				err = req.UnmarshalJSON(b)
			}
			if err != nil {
				continue
			}
			spans, rejected, msg := Traces(req.Traces(), "p")
			if len(spans)+rejected != req.Traces().SpanCount() || (rejected > 0) != (msg != "") {
				t.Fatalf("%d spans + %d rejected of %d (%q)", len(spans), rejected, req.Traces().SpanCount(), msg)
			}
		}
	})
}

// FuzzLogs does the same for OTLP logs.
func FuzzLogs(f *testing.F) {
	for _, name := range []string{"lab-otel-openai.logs.json", "lab-otel-openai.logs.pb"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, proto := range []bool{false, true} {
			req := plogotlp.NewExportRequest()
			var err error
			if proto {
				err = req.UnmarshalProto(b)
			} else {
				err = req.UnmarshalJSON(b)
			}
			if err != nil {
				continue
			}
			recs, ignored, rejected, _ := Logs(req.Logs(), "p")
			if ignored+rejected > req.Logs().LogRecordCount() {
				t.Fatalf("%d ignored + %d rejected of %d", ignored, rejected, req.Logs().LogRecordCount())
			}
			for i, r := range recs {
				if r.Seq != i {
					t.Fatalf("record %d has seq %d", i, r.Seq)
				}
			}
		}
	})
}
