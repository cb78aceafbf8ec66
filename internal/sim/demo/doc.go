// Package demo sends model calls through a genscope gateway the way an
// application would: Lab runs the "Monitor generative AI applications"
// lab's traffic (instrumented with the OpenTelemetry SDK, exporting to
// genscope), and Prompt sends one prompt from a terminal.
package demo
