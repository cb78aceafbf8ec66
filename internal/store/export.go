package store

import (
	"context"
	"time"
)

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
