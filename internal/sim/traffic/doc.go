// Package traffic generates deterministic synthetic GenAI telemetry for
// benchmarks and demos: canonical genai.Span values, in start-time order and
// with bounded memory, shaped like what real OpenTelemetry GenAI
// instrumentations send (parent spans carrying session and user, one to three
// model or tool calls under each, long-tailed token counts, streamed calls,
// errors), and the OTLP requests that carry them in the current GenAI
// semantic conventions.
//
// The same Config (including Seed) always yields the same spans.
package traffic
