package storecopy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/store"
)

// Chunk is the span of time copied between checkpoints.
const Chunk = time.Hour

// Options tune a copy.
type Options struct {
	// Checkpoint is the file that records how far the copy got; a copy
	// started again with the same file resumes after it. Empty: none.
	Checkpoint string
	BatchSize  int       // items per write; 0 means 5000
	Progress   io.Writer // the progress bar (stderr); nil for none
}

// checkpoint is the checkpoint file's content.
type checkpoint struct {
	From, To string    // the stores, as given (without passwords)
	Done     time.Time // everything before it is copied
}

// Result says what a copy did.
type Result struct {
	Spans, Messages int64 // copied in this run (retries included)
	MetricRows      int64 // GenAI metric rows read from the source (store.MetricStore)
	Resumed         bool
}

// Copy copies src's spans and message records into dst, then its GenAI
// metric rows (store.MetricStore: the target keeps those it does not hold
// yet, so copying again adds nothing). from and to name
// the stores in the checkpoint (so one checkpoint is not used for another
// pair). A re-copied chunk (after an interruption) is harmless: both
// backends drop spans and records written twice.
func Copy(ctx context.Context, src store.Store, dst store.Store, from, to string, o Options) (Result, error) {
	var res Result
	ex, ok := src.(store.Exporter)
	if !ok {
		return res, errors.New("copy: the source store cannot export")
	}
	dex, ok := dst.(store.Exporter)
	if !ok {
		return res, errors.New("copy: the target store cannot count its data")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	first, last, ok, err := ex.Bounds(ctx)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, copyMetrics(ctx, src, dst, o.BatchSize, &res) // no spans to copy
	}
	start := first.Truncate(Chunk)
	end := last.Add(1).Truncate(Chunk).Add(Chunk)
	if o.Checkpoint != "" {
		if raw, err := os.ReadFile(o.Checkpoint); err == nil {
			var cp checkpoint
			if err := json.Unmarshal(raw, &cp); err != nil {
				return res, fmt.Errorf("checkpoint %s: %w", o.Checkpoint, err)
			}
			if cp.From != from || cp.To != to {
				return res, fmt.Errorf("checkpoint %s is of a copy from %s to %s: remove it to start over", o.Checkpoint, cp.From, cp.To)
			}
			if cp.Done.After(start) {
				start, res.Resumed = cp.Done, true
			}
		} else if !os.IsNotExist(err) {
			return res, fmt.Errorf("checkpoint: %w", err)
		}
	}
	totalSpans, totalMsgs, err := ex.Count(ctx, first, end)
	if err != nil {
		return res, err
	}
	doneSpans, doneMsgs := int64(0), int64(0)
	if res.Resumed {
		if doneSpans, doneMsgs, err = ex.Count(ctx, first, start); err != nil {
			return res, err
		}
	}
	bar := progress{w: o.Progress, total: totalSpans + totalMsgs, done: doneSpans + doneMsgs, began: time.Now()}
	for t := start; t.Before(end); t = t.Add(Chunk) {
		err := ex.Export(ctx, t, t.Add(Chunk), o.BatchSize, func(b *store.Batch) error {
			if err := dst.Write(ctx, b); err != nil {
				return fmt.Errorf("write to target: %w", err)
			}
			res.Spans += int64(len(b.Spans))
			res.Messages += int64(len(b.Messages))
			bar.add(int64(b.Len()))
			return nil
		})
		if err != nil {
			bar.end()
			return res, fmt.Errorf("copy %s: %w", t.Format(time.RFC3339), err)
		}
		if o.Checkpoint != "" {
			raw, _ := json.Marshal(checkpoint{From: from, To: to, Done: t.Add(Chunk)})
			tmp := o.Checkpoint + ".tmp"
			if err := os.WriteFile(tmp, raw, 0o600); err != nil {
				return res, fmt.Errorf("checkpoint: %w", err)
			}
			if err := os.Rename(tmp, o.Checkpoint); err != nil {
				return res, fmt.Errorf("checkpoint: %w", err)
			}
		}
	}
	bar.end()
	gotSpans, gotMsgs, err := dex.Count(ctx, first, end)
	if err != nil {
		return res, fmt.Errorf("verify: %w", err)
	}
	if gotSpans != totalSpans || gotMsgs != totalMsgs {
		return res, fmt.Errorf("verify: the source holds %d spans and %d message records in %s..%s, the target %d and %d",
			totalSpans, totalMsgs, first.Format(time.RFC3339), end.Format(time.RFC3339), gotSpans, gotMsgs)
	}
	return res, copyMetrics(ctx, src, dst, o.BatchSize, &res)
}

// copyMetrics copies every metric row of src into dst.
func copyMetrics(ctx context.Context, src, dst store.Store, batchSize int, res *Result) error {
	sm, ok := src.(store.MetricStore)
	if !ok {
		return nil
	}
	dm, dok := dst.(store.MetricStore)
	err := sm.MetricRows(ctx, time.Unix(0, 0), time.Unix(0, 1<<62), batchSize, func(rows []store.MetricRow) error {
		if !dok {
			return errors.New("the target store cannot keep metrics")
		}
		if err := dm.WriteMetricRows(ctx, rows); err != nil {
			return fmt.Errorf("write to target: %w", err)
		}
		res.MetricRows += int64(len(rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("copy metrics: %w", err)
	}
	return nil
}

// progress draws a one-line bar.
type progress struct {
	w           io.Writer
	total, done int64
	began, last time.Time
}

func (p *progress) add(n int64) {
	p.done += n
	if p.w == nil || time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	p.draw()
}

func (p *progress) draw() {
	frac := 1.0
	if p.total > 0 {
		frac = min(float64(p.done)/float64(p.total), 1)
	}
	const width = 30
	n := int(frac * width)
	rate := float64(p.done) / max(time.Since(p.began).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r[%s%s] %5.1f%% %d/%d items %.0f/s ", strings.Repeat("#", n), strings.Repeat(".", width-n), frac*100, p.done, p.total, rate)
}

func (p *progress) end() {
	if p.w == nil {
		return
	}
	p.draw()
	fmt.Fprintln(p.w)
}
