// Package otlpconv turns decoded OTLP trace and log payloads into
// genscope's canonical records.
package otlpconv

import (
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/genscope/genscope/internal/genai"
)

// Traces converts every span of td into a canonical span of project.
// Spans it cannot accept (invalid ids) are counted in rejected with a
// message saying why; the rest are returned.
func Traces(td ptrace.Traces, project string) (spans []genai.Span, rejected int, msg string) {
	panic("TODO: otlpconv.Traces is being written")
}

// Logs converts the GenAI event log records of ld (gen_ai.user.message,
// gen_ai.choice, ...) into message records of project. Log records that
// are not GenAI content events are accepted and ignored (counted in
// ignored); records it cannot accept are counted in rejected.
func Logs(ld plog.Logs, project string) (recs []genai.MessageRecord, ignored, rejected int, msg string) {
	panic("TODO: otlpconv.Logs is being written")
}
