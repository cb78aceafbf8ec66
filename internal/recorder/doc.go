// Package recorder is the bounded, batching queue between the processing
// stage (internal/process, which the sources of spans — OTLP, Application
// Insights, the gateway — submit to) and the store. It groups
// concurrent submissions into one store write (group commit), tells a
// synchronous submitter when its spans are durable, and pushes back with
// ErrFull instead of growing without bound.
package recorder
