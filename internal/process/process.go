package process

import (
	"context"
	"errors"

	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/store"
)

// The errors a batch may meet after the stage (the recorder returns them).
var (
	// ErrFull means the queue has no room: the caller should answer with
	// 429 / RESOURCE_EXHAUSTED and a Retry-After, and the client retries.
	ErrFull = errors.New("recorder queue is full")
	// ErrClosed means the recorder is shutting down.
	ErrClosed = errors.New("recorder is closed")
	// ErrStore wraps a failed store write: nothing of the batch was stored
	// and the client should retry later.
	ErrStore = errors.New("store write failed")
)

// Next is where processed batches go: the recorder.
type Next interface {
	// Submit queues b and waits until it is durable (or fails with one of
	// the errors above, or the context's).
	Submit(ctx context.Context, b *store.Batch) error
	// Enqueue queues b without waiting, reporting whether it was queued.
	Enqueue(b *store.Batch) bool
}

// Stage processes batches on their way from the receivers to the
// recorder. It is safe for concurrent use.
type Stage struct {
	next    Next
	prices  *pricing.Table
	privacy *privacy.Applier
}

// New returns a stage that prices calls with prices (nil: no prices),
// applies each project's content policy with policy (nil: content is
// kept as sent) and passes batches to next.
func New(next Next, prices *pricing.Table, policy *privacy.Applier) *Stage {
	return &Stage{next: next, prices: prices, privacy: policy}
}

// Apply processes b in place: text repaired to valid UTF-8, costs of
// model calls computed, each record's project's content policy applied.
func (s *Stage) Apply(b *store.Batch) {
	for i := range b.Spans {
		b.Spans[i].ValidUTF8() // one span with bad text must not fail its batch
		if s.prices != nil {
			s.prices.Apply(&b.Spans[i])
		}
	}
	for i := range b.Messages {
		b.Messages[i].ValidUTF8()
	}
	if s.privacy != nil {
		s.privacy.Apply(b) // every source's content policy, before the store
	}
}

// Submit processes b and hands it to the next stage, waiting as it does.
func (s *Stage) Submit(ctx context.Context, b *store.Batch) error {
	s.Apply(b)
	return s.next.Submit(ctx, b)
}

// Enqueue processes b and hands it to the next stage without waiting.
func (s *Stage) Enqueue(b *store.Batch) bool {
	s.Apply(b)
	return s.next.Enqueue(b)
}
