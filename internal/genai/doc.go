// Package genai defines genscope's canonical record of a span (a model call
// or any other span of a trace) and normalizes every OpenTelemetry GenAI
// semantic-convention generation into it. It imports nothing from the
// rest of genscope but jsondepth (the nesting bound, MaxValueDepth).
package genai
