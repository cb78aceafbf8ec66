package process

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/pricing"
	"github.com/genscope/genscope/internal/privacy"
	"github.com/genscope/genscope/internal/store"
)

// next records what reaches it and answers with err / ok.
type next struct {
	got []*store.Batch
	err error
	ok  bool
}

func (n *next) Submit(_ context.Context, b *store.Batch) error {
	n.got = append(n.got, b)
	return n.err
}
func (n *next) Enqueue(b *store.Batch) bool { n.got = append(n.got, b); return n.ok }

func batch(project, text string) *store.Batch {
	msg := []genai.Message{{Role: "user", Parts: []genai.Part{{Type: "text", Content: text}}}}
	return &store.Batch{
		Spans: []genai.Span{{Project: project, Name: "chat gpt-4o", Operation: "chat", Provider: "openai", RequestModel: "gpt-4o",
			StartUnixNano: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).UnixNano(),
			Usage:         genai.Usage{InputTokens: 1000, OutputTokens: 1000}, InputMessages: msg}},
		Messages: []genai.MessageRecord{{Project: project, Message: msg[0]}},
	}
}

func newStage(t testing.TB, n Next) *Stage {
	t.Helper()
	prices, err := pricing.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	policy := privacy.New(func(project string) privacy.Policy {
		switch project {
		case "meta":
			return privacy.Policy{Capture: privacy.Metadata}
		case "red":
			return privacy.Policy{Capture: privacy.Redacted}
		}
		return privacy.Policy{}
	})
	return New(n, prices, policy)
}

func TestStage(t *testing.T) {
	n := &next{ok: true}
	s := newStage(t, n)

	// Full capture: text repaired to valid UTF-8, the call priced, the
	// content kept.
	b := batch("default", "hello \xff world")
	if err := s.Submit(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	if len(n.got) != 1 || n.got[0] != b {
		t.Fatalf("the batch did not reach the next stage: %v", n.got)
	}
	sp := b.Spans[0]
	if got := sp.InputMessages[0].Parts[0].Content; !utf8.ValidString(got) || !strings.Contains(got, "hello") {
		t.Errorf("span text not repaired: %q", got)
	}
	if got := b.Messages[0].Message.Parts[0].Content; !utf8.ValidString(got) {
		t.Errorf("message record not repaired: %q", got)
	}
	if !sp.CostKnown || sp.CostUSD <= 0 {
		t.Errorf("gpt-4o not priced: %v %v", sp.CostUSD, sp.CostKnown)
	}

	// Metadata: no content reaches the recorder, the price stays.
	b = batch("meta", "secret prompt")
	if !s.Enqueue(b) {
		t.Fatal("Enqueue did not report the next stage's answer")
	}
	if len(b.Spans[0].InputMessages) != 0 || len(b.Messages) != 0 || !b.Spans[0].CostKnown {
		t.Errorf("metadata project: %+v, %d message records", b.Spans[0].InputMessages, len(b.Messages))
	}

	// Redacted: an e-mail address is masked.
	b = batch("red", "write to jane.doe@example.com")
	_ = s.Submit(context.Background(), b)
	if strings.Contains(b.Spans[0].InputMessages[0].Parts[0].Content, "jane.doe@example.com") {
		t.Errorf("redacted project kept an address: %q", b.Spans[0].InputMessages[0].Parts[0].Content)
	}
}

// TestStageErrors: the next stage's answers come back unchanged, so
// receivers can map ErrFull and the rest to statuses.
func TestStageErrors(t *testing.T) {
	for _, want := range []error{ErrFull, ErrClosed, errors.Join(ErrStore, errors.New("disk full")), context.Canceled} {
		s := newStage(t, &next{err: want})
		if err := s.Submit(context.Background(), batch("default", "x")); !errors.Is(err, want) {
			t.Errorf("Submit = %v, want %v", err, want)
		}
	}
	if s := newStage(t, &next{ok: false}); s.Enqueue(batch("default", "x")) {
		t.Error("Enqueue reported a batch the next stage refused as queued")
	}
}

// TestStageNoPolicy: without a price table or policies the stage still
// repairs text and passes batches on.
func TestStageNoPolicy(t *testing.T) {
	n := &next{ok: true}
	b := batch("default", "a\xffb")
	if err := New(n, nil, nil).Submit(context.Background(), b); err != nil || len(n.got) != 1 {
		t.Fatal(err)
	}
	if !utf8.ValidString(b.Spans[0].InputMessages[0].Parts[0].Content) || b.Spans[0].CostKnown {
		t.Errorf("%+v", b.Spans[0])
	}
}

func BenchmarkStage(b *testing.B) {
	s := newStage(b, &next{ok: true})
	b.ReportAllocs()
	for b.Loop() {
		s.Apply(batch("red", "write to jane.doe@example.com about order 42"))
	}
}
