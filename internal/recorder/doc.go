// Package recorder is the bounded, batching queue between the processing
// stage (internal/process, which the sources of spans — OTLP, Application
// Insights, the gateway — submit to) and the store. It groups
// concurrent submissions into one store write (group commit), tells a
// synchronous submitter when its spans are durable, and pushes back with
// ErrFull instead of growing without bound: the queue is bounded by items,
// by bytes, and by the time the writer would take to write it at its
// recent speed (MaxQueueDelay), so what arrives after a burst waits for
// little of it. A submitter that stops waiting (its client went away)
// takes its batch back if the writer has not taken it; Full lets the
// receivers' admission refuse a request before reading it.
package recorder
