package store

import (
	"context"
	"time"
)

// The optional capabilities of a backend. Store is what every backend
// does; a backend may do more, and callers find out by asserting one of
// these interfaces on the Store they hold (st.(store.Aggregator)). The
// DuckDB backend has all but BatchHinter, the ClickHouse backend all but
// DiskUser (its disk is the server's); each guards the ones it has at
// compile time, next to their methods.

// Preparer is implemented by backends that can do the CPU-heavy part of a
// write (encoding rows) before Write, concurrently, on the submitter's
// goroutine, so that the single writer only appends. Prepare must be safe
// to call concurrently for different batches. The recorder uses it.
type Preparer interface {
	Prepare(b *Batch) error
}

// BatchHinter is implemented by backends that write much faster in large
// batches (ClickHouse makes a data part per insert). The recorder takes
// the hint where its options leave the choice open: its largest batch is
// raised to maxItems, and while fewer than minItems items are queued the
// writer waits up to linger for more.
type BatchHinter interface {
	BatchHint() (minItems, maxItems int, linger time.Duration)
}

// Aggregator is implemented by backends that can compute one aggregate of
// a metric over a whole time range: what an alert rule evaluates.
// storetest checks it for every backend that implements it.
//
// Semantics (besides those of Store: GenAI calls only, one call counted
// once, Filter's [From, To) range, exact percentiles of type 7):
//   - Metric and Agg are those of Timeseries: Agg is ignored for calls,
//     errors and error_rate, and empty means the metric's default.
//   - Without SplitBy the answer is exactly one row with Key "", even over
//     no calls. With SplitBy (a Dim* constant) it is one row per value of
//     the dimension among the selected calls (calls without a value form
//     the key ""), ordered by calls (desc) then key, at most Limit rows;
//     no calls, no rows.
//   - Calls is the number of calls in the row. Count is the number of
//     values the aggregate was computed over: the calls for calls, errors
//     and error_rate; for duration_ms, ttft_ms and cost_usd only the calls
//     with a value (ttft_ms: TTFT > 0; cost_usd: cost known).
//   - When Count is 0 there is no data: Value is 0 (for sum and count
//     that is the true value; for the others it means "no value").
//   - Invalid requests (no project, unknown metric, aggregation or
//     dimension, Limit out of 0..1000) return errors wrapping ErrBadQuery.
type Aggregator interface {
	Aggregate(ctx context.Context, q AggregateQuery) ([]AggregateRow, error)
}

// Exporter is implemented by backends that can read back everything they
// hold, so that `genscope copy` moves data between stores.
type Exporter interface {
	// Export calls fn with every stored span whose start is in [from, to),
	// then every message record whose time is in [from, to), each once,
	// in batches of at most batchSize items, spans in start order. A
	// batch holds only spans or only records. fn may keep the batch.
	Export(ctx context.Context, from, to time.Time, batchSize int, fn func(*Batch) error) error
	// Count returns how many spans (by start) and message records (by
	// time) in [from, to) the store holds, each once.
	Count(ctx context.Context, from, to time.Time) (spans, messages int64, err error)
	// Bounds returns the earliest and latest span start and record time;
	// ok is false when the store is empty.
	Bounds(ctx context.Context) (first, last time.Time, ok bool, err error)
}

// DocStore is implemented by backends that keep small JSON documents by
// (kind, id) beside the spans: projects, keys, users and sessions (auth),
// alert rules and action groups (alert, notify). Kinds are chosen by the
// callers; the backend does not read the documents. storetest.RunState
// checks it.
type DocStore interface {
	// PutDoc creates or replaces the document (kind, id), durably: when
	// it returns nil the document survives a crash and every node of a
	// shared store lists it.
	PutDoc(ctx context.Context, kind, id string, doc []byte) error
	// DeleteDoc removes the document, durably; a missing one is not an
	// error.
	DeleteDoc(ctx context.Context, kind, id string) error
	// ListDocs calls fn for every document of a kind, in id order; an
	// error from fn stops the listing and is returned.
	ListDocs(ctx context.Context, kind string, fn func(id string, doc []byte) error) error
}

// StateStore is a DocStore that also keeps append-only events by (kind,
// key): alert state and history, the notification log.
type StateStore interface {
	DocStore
	// AppendEvent adds an event under key at time t, durably.
	AppendEvent(ctx context.Context, kind, key string, t time.Time, doc []byte) error
	// ListEvents calls fn for the newest limit events of a kind (of one
	// key, or of every key when key is ""), newest first.
	ListEvents(ctx context.Context, kind, key string, limit int, fn func(doc []byte) error) error
}

// Retainer is implemented by backends that can enforce retention. Each
// call removes, for one project, what is older than t: DeleteSpansBefore
// the spans (by start) and their message records, DropContentBefore the
// content (message bodies) of spans and records while keeping the spans.
// Each returns how many rows it changed (or will change, where the
// backend deletes in the background). A backend that deletes in small
// transactions changes at most limit rows a call, and the caller calls
// again until a call returns fewer than limit; one that deletes in bulk
// may ignore limit and do everything in one call.
type Retainer interface {
	DeleteSpansBefore(ctx context.Context, project string, t time.Time, limit int) (int64, error)
	DropContentBefore(ctx context.Context, project string, t time.Time, limit int) (int64, error)
}

// DiskUser is implemented by backends that know their size on disk (the
// database file and its write-ahead log).
type DiskUser interface {
	DiskBytes() (int64, error)
}
