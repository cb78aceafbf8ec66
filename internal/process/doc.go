// Package process is the processing stage of genscope's data walk:
//
//	receiver → normalize → process → recorder → store
//
// The receivers (ingest/otlp, ingest/appinsights, the gateway) decode what
// they are sent and normalize it into canonical records (ingest/otlpconv
// and genai); they hand each batch to a Stage, which repairs text that is
// not valid UTF-8 (one bad span must not fail its batch), prices every
// model call, and applies each project's content policy (privacy: full,
// metadata or redacted) before anything is queued, and passes the batch
// on to the recorder, which queues and writes it to the store.
//
// The stage runs on the submitter's goroutine, so that work spreads over
// the receivers' requests instead of queuing in the single writer.
//
// The package also holds the errors a receiver gets back from the stages
// after it (ErrFull, ErrClosed, ErrStore): the recorder returns them, and
// the receivers map them to statuses without importing the recorder.
package process
