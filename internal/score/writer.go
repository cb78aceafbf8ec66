package score

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// NewID returns a new random score id (32 hex digits).
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// Options tune a Writer.
type Options struct {
	// QueueSize bounds the evaluations waiting to be stored; more are
	// dropped (and counted). Default 10000.
	QueueSize int
	// MetadataOnly reports whether a project keeps metadata only: its
	// evaluations lose their explanations. Nil: none does.
	MetadataOnly func(project string) bool
	// Lookback is how far before now a response id is looked for.
	// Default 48h.
	Lookback time.Duration
	// RetryAfter is how long an evaluation whose response is not stored
	// yet waits before it is looked for again (twice). Default 5s.
	RetryAfter time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Writer stores evaluation events as scores (source otel), off the
// ingest path: Add only queues them, and one goroutine resolves their
// targets and writes them. An evaluation naming only a response id is
// looked up (store.ResponseFinder) and, when its call is not stored yet,
// retried twice. Retried OTLP exports give the same score ids, so they
// replace rather than add.
type Writer struct {
	st   store.ScoreStore
	rf   store.ResponseFinder // nil: response ids cannot be resolved
	opts Options
	log  *slog.Logger

	queue chan item
	stop  chan struct{}
	done  chan struct{}
	once  sync.Once

	results *prometheus.CounterVec
}

type item struct {
	ev      genai.Evaluation
	attempt int
	due     time.Time
}

// NewWriter returns a writer into st (which may also be a
// store.ResponseFinder), its metrics registered on reg (nil: not
// registered). Start it.
func NewWriter(st store.ScoreStore, opts Options, log *slog.Logger, reg prometheus.Registerer) (*Writer, error) {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 10000
	}
	if opts.Lookback <= 0 {
		opts.Lookback = 48 * time.Hour
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	w := &Writer{st: st, opts: opts, log: log, queue: make(chan item, opts.QueueSize), stop: make(chan struct{}), done: make(chan struct{}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "genscope_scores_otel_total",
			Help: "gen_ai.evaluation.result events received, by result: stored, full (dropped: the queue was full), unmatched (no call with the response id), failed (the store refused).",
		}, []string{"result"})}
	w.rf, _ = st.(store.ResponseFinder)
	if reg != nil {
		if err := reg.Register(w.results); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Add queues evaluations without waiting; those that do not fit are
// dropped and counted.
func (w *Writer) Add(evs []genai.Evaluation) {
	for _, ev := range evs {
		select {
		case w.queue <- item{ev: ev}:
		default:
			w.results.WithLabelValues("full").Inc()
		}
	}
}

// Start starts the writing goroutine; Stop ends it.
func (w *Writer) Start() { go w.run() }

// Stop stops the writer and waits for it; what is still queued is lost.
func (w *Writer) Stop() {
	w.once.Do(func() { close(w.stop) })
	<-w.done
}

func (w *Writer) run() {
	defer close(w.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-w.stop
		cancel()
	}()
	var later []item
	tick := time.NewTicker(w.opts.RetryAfter / 2)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case it := <-w.queue:
			if retry, ok := w.write(ctx, it); ok {
				later = append(later, retry)
			}
		case <-tick.C:
			now := w.opts.Now()
			keep := later[:0]
			for _, it := range later {
				if it.due.After(now) {
					keep = append(keep, it)
					continue
				}
				if retry, ok := w.write(ctx, it); ok {
					keep = append(keep, retry)
				}
			}
			later = keep
		}
	}
}

// write stores one evaluation; it returns the item to retry later, if
// any.
func (w *Writer) write(ctx context.Context, it item) (item, bool) {
	sc, err := w.Score(ctx, it.ev)
	if errors.Is(err, store.ErrNotFound) {
		if it.attempt < 2 && len(w.queue) < cap(w.queue)/2 {
			it.attempt++
			it.due = w.opts.Now().Add(w.opts.RetryAfter)
			return it, true
		}
		w.results.WithLabelValues("unmatched").Inc()
		return item{}, false
	}
	if err == nil {
		err = w.st.PutScore(ctx, sc)
	}
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("evaluation result not stored", "project", it.ev.Project, "name", it.ev.Name, "err", err)
		}
		w.results.WithLabelValues("failed").Inc()
		return item{}, false
	}
	w.results.WithLabelValues("stored").Inc()
	return item{}, false
}

// Score is the score an evaluation makes: its target resolved (by
// response id when it has no span; ErrNotFound when no stored call has
// it), its id a hash of what identifies the event.
func (w *Writer) Score(ctx context.Context, ev genai.Evaluation) (store.Score, error) {
	now := w.opts.Now().UTC()
	at := now
	if ev.TimeUnixNano > 0 {
		at = time.Unix(0, ev.TimeUnixNano).UTC()
	}
	sc := store.Score{Project: ev.Project, Name: ev.Name, Value: ev.Value, Label: ev.Label, Comment: ev.Explanation,
		Source: store.SourceOTel, Time: at, Updated: now, TargetTime: at}
	if ev.SpanStartUnixNano > 0 {
		sc.TargetTime = time.Unix(0, ev.SpanStartUnixNano).UTC()
	}
	if ev.TraceID.IsZero() {
		if w.rf == nil {
			return store.Score{}, store.ErrNotFound
		}
		ref, err := w.rf.FindResponse(ctx, ev.Project, ev.ResponseID, now.Add(-w.opts.Lookback), now.Add(time.Minute))
		if err != nil {
			return store.Score{}, err
		}
		sc.TraceID, sc.SpanID, sc.TargetTime = ref.TraceID, ref.SpanID, ref.Start
	} else {
		sc.TraceID, sc.SpanID = ev.TraceID.String(), ev.SpanID.String()
	}
	if w.opts.MetadataOnly != nil && w.opts.MetadataOnly(ev.Project) {
		sc.Comment = ""
	}
	sc.Comment = truncate(sc.Comment, store.MaxScoreComment)
	sc.Name, sc.Label = truncate(sc.Name, store.MaxScoreName), truncate(sc.Label, store.MaxScoreLabel)
	sc.ID = eventID(&ev)
	return sc, nil
}

// eventID identifies an evaluation event: the same event sent again (an
// OTLP retry) gets the same id.
func eventID(ev *genai.Evaluation) string {
	h := sha256.New()
	for _, s := range []string{ev.Project, ev.TraceID.String(), ev.SpanID.String(), ev.ResponseID, ev.Name, ev.Label, ev.Explanation} {
		_ = binary.Write(h, binary.LittleEndian, uint64(len(s)))
		h.Write([]byte(s))
	}
	v := math.NaN()
	if ev.Value != nil {
		v = *ev.Value
	}
	_ = binary.Write(h, binary.LittleEndian, math.Float64bits(v))
	_ = binary.Write(h, binary.LittleEndian, ev.TimeUnixNano)
	return "otel-" + hex.EncodeToString(h.Sum(nil)[:16])
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
