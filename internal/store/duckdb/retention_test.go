package duckdb

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

func retentionSpan(project string, i int, start time.Time) genai.Span {
	var tid genai.TraceID
	tid[0], tid[1], tid[15] = byte(len(project)), byte(i), 1
	var sid genai.SpanID
	sid[7] = byte(i + 1)
	return genai.Span{
		Project: project, TraceID: tid, SpanID: sid, Name: "chat gpt-4o", Service: "svc", Source: genai.SourceOTLP,
		StartUnixNano: start.UnixNano(), DurationNano: int64(time.Second), Status: genai.StatusOK,
		Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", Usage: genai.Usage{InputTokens: 10, OutputTokens: 5},
		SystemInstructions: []genai.Part{{Type: "text", Content: "secret-system-canary"}},
		InputMessages:      []genai.Message{{Role: "user", Parts: []genai.Part{{Type: "text", Content: "secret-input-canary"}}}},
		OutputMessages:     []genai.Message{{Role: "assistant", Parts: []genai.Part{{Type: "text", Content: "secret-output-canary"}}}},
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	db := openTest(t)
	now := time.Now()
	old, recent := now.Add(-48*time.Hour), now.Add(-time.Hour)
	var b store.Batch
	for i := range 5 {
		for _, p := range []string{"a", "b"} {
			b.Spans = append(b.Spans, retentionSpan(p, i, old.Add(time.Duration(i)*time.Second)), retentionSpan(p, i+10, recent))
		}
	}
	b.Messages = append(b.Messages, genai.MessageRecord{Project: "a", TraceID: b.Spans[0].TraceID, SpanID: b.Spans[0].SpanID,
		TimeUnixNano: old.UnixNano(), Kind: genai.KindInput, Message: genai.Message{Role: "user", Parts: []genai.Part{{Type: "text", Content: "record-canary"}}}})
	if err := db.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	// A score per span: retention deletes it with its target (even a
	// score made recently of an old span).
	for i, sp := range b.Spans {
		v := float64(i)
		if err := db.PutScore(ctx, store.Score{ID: fmt.Sprint(i), Project: sp.Project, TraceID: sp.TraceID.String(), SpanID: sp.SpanID.String(),
			Name: "quality", Value: &v, Source: store.SourceAPI, Time: now, Updated: now, TargetTime: time.Unix(0, sp.StartUnixNano)}); err != nil {
			t.Fatal(err)
		}
	}
	cut := now.Add(-24 * time.Hour)
	// Content first, in batches of 2.
	total := int64(0)
	for {
		n, err := db.DropContentBefore(ctx, "a", cut, 2)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		if n < 2 {
			break
		}
	}
	if total < 5 {
		t.Fatalf("content dropped from %d spans, want 5", total)
	}
	countContent := func(project string) (old, recent int) {
		page, err := db.Spans(ctx, store.SpansQuery{Filter: store.Filter{Project: project, From: now.Add(-72 * time.Hour), To: now}, All: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Spans {
			tr, err := db.Trace(ctx, project, mustTrace(t, s.TraceID))
			if err != nil {
				t.Fatal(err)
			}
			has := s.Input != "" || len(tr.Roots[0].Span.InputMessages) > 0 || len(tr.Roots[0].Span.SystemInstructions) > 0
			if has && s.StartTime.Before(cut) {
				old++
			} else if has {
				recent++
			}
		}
		return
	}
	if o, r := countContent("a"); o != 0 || r != 5 {
		t.Errorf("project a: %d old spans with content (want 0), %d recent (want 5)", o, r)
	}
	if o, r := countContent("b"); o != 5 || r != 5 {
		t.Errorf("project b: %d old spans with content (want 5), %d recent (want 5)", o, r)
	}
	var records int
	if err := db.sqlDB().QueryRow(`SELECT count(*) FROM message_records`).Scan(&records); err != nil || records != 0 {
		t.Errorf("message records left: %d %v", records, err)
	}
	// Then the spans.
	for {
		n, err := db.DeleteSpansBefore(ctx, "a", cut, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n < 2 {
			break
		}
	}
	ov, err := db.Overview(ctx, store.Filter{Project: "a", From: now.Add(-72 * time.Hour), To: now})
	if err != nil || ov.Calls != 5 {
		t.Fatalf("project a keeps %d calls (%v), want 5", ov.Calls, err)
	}
	ov, _ = db.Overview(ctx, store.Filter{Project: "b", From: now.Add(-72 * time.Hour), To: now})
	if ov.Calls != 10 {
		t.Fatalf("project b keeps %d calls, want 10", ov.Calls)
	}
	for p, want := range map[string]int64{"a": 5, "b": 10} {
		st, err := db.ScoreStats(ctx, store.ScoreQuery{Project: p})
		if err != nil || len(st) != 1 || st[0].Count != want {
			t.Errorf("project %s keeps scores %+v (%v), want %d", p, st, err, want)
		}
	}
	var detail string
	_ = db.sqlDB().QueryRow(`SELECT string_agg(detail, ' ') FROM spans WHERE project = 'a'`).Scan(&detail)
	if !strings.Contains(detail, "secret-input-canary") {
		t.Error("recent content of a is gone")
	}
	if n, err := db.DiskBytes(); err != nil || n <= 0 {
		t.Errorf("DiskBytes %d %v", n, err)
	}
}

func mustTrace(t *testing.T, s string) genai.TraceID {
	id, err := genai.ParseTraceID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
