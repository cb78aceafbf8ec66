package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

func TestRetention(t *testing.T) {
	addr := serverAddr(t)
	db := testDatabase(t, addr)
	testRetention(t, openTest(t, addr, db))
}

func TestRetentionCluster(t *testing.T) {
	name, nodes := clusterNodes(t)
	db := testDatabase(t, nodes[0][0], nodes[1][0])
	s, err := Open(context.Background(), Options{Addrs: []string{nodes[0][0]}, HTTPAddr: nodes[0][1], Database: db,
		Cluster: name, ReadTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	testRetention(t, s)
}

// testRetention stores ten days of spans of four projects and runs the
// app's retention sweeps: a and b keep 5 days (a its content 3), short
// keeps 2, keep has no retention. Days only a, b and short hold past 5
// days are dropped from every table; the day keep shares with them loses
// only their rows; short loses its own rows of days 3 to 5.
func testRetention(t *testing.T, s *DB) {
	defer s.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	const perDay = 4
	var b store.Batch
	var pts []genai.MetricPoint // a GenAI metric point per project and day (metric_points is partitioned by day too)
	dayOfSpan := map[string]int{}
	var scores []store.Score // one per project and day, of its first span (scores are partitioned by their target's day)
	add := func(project string, k int) {
		at := today.Add(-time.Duration(k)*24*time.Hour + 90*time.Minute)
		v := 1.0
		scores = append(scores, store.Score{ID: fmt.Sprintf("%s-%d", project, k), Project: project, TraceID: strings.Repeat("ab", 16),
			Name: "quality", Value: &v, Source: store.SourceAPI, Time: now, Updated: now,
			TargetTime: today.Add(-time.Duration(k)*24*time.Hour + time.Hour)})
		pts = append(pts, genai.MetricPoint{Project: project, Name: genai.MetricOperationDuration, Service: "metrics-only", Model: "m",
			StartUnixNano: at.Add(-time.Minute).UnixNano(), TimeUnixNano: at.UnixNano(), Count: 1, Sum: 1})
		for i := range perDay {
			var tid genai.TraceID
			copy(tid[:], fmt.Sprintf("%-6s%02d-%06d", project, k, i))
			var sid genai.SpanID
			copy(sid[:], fmt.Sprintf("%c%02d%05d", project[0], k, i))
			start := today.Add(-time.Duration(k)*24*time.Hour + time.Hour + time.Duration(i)*time.Minute).UnixNano()
			b.Spans = append(b.Spans, genai.Span{
				Project: project, TraceID: tid, SpanID: sid, Name: "chat", Service: "svc",
				StartUnixNano: start, DurationNano: int64(time.Second), Status: genai.StatusOK,
				Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", SessionID: "sess",
				Usage:              genai.Usage{InputTokens: 10, OutputTokens: 5},
				SystemInstructions: []genai.Part{{Type: "text", Content: "be brief"}},
				InputMessages:      []genai.Message{{Role: "user", Parts: []genai.Part{{Type: "text", Content: `say "hi" \`}}}},
				Attributes:         map[string]any{"input_messages": "an attribute, not content"},
			})
			dayOfSpan[sid.String()] = k
			b.Messages = append(b.Messages, genai.MessageRecord{Project: project, TraceID: tid, SpanID: sid, TimeUnixNano: start + 1,
				Kind: genai.KindOutput, Message: genai.Message{Role: "assistant", Parts: []genai.Part{{Type: "text", Content: "hi"}}}})
		}
	}
	for k := range 10 {
		for _, p := range []string{"a", "b", "short"} {
			add(p, k)
		}
	}
	add("keep", 8)
	if err := s.Write(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteMetrics(ctx, pts); err != nil {
		t.Fatal(err)
	}
	for _, sc := range scores {
		if err := s.PutScore(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	calls := func(project string) int64 {
		t.Helper()
		o, err := s.Overview(ctx, store.Filter{Project: project, From: today.Add(-20 * 24 * time.Hour), To: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return o.Calls
	}
	for p, want := range map[string]int64{"a": 10 * perDay, "b": 10 * perDay, "short": 10 * perDay, "keep": perDay} {
		if got := calls(p); got != want {
			t.Fatalf("before retention: %s has %d calls, want %d", p, got, want)
		}
	}

	// The app's sweeps, a minute apart (see internal/app: retention.sweep).
	clock := now
	s.ret.now = func() time.Time { return clock }
	type policy struct {
		project         string
		spans, contents time.Duration
	}
	day := 24 * time.Hour
	policies := []policy{{"a", 5 * day, 3 * day}, {"b", 5 * day, 0}, {"short", 2 * day, 0}}
	var removed int64
	loop := func(f func() (int64, error)) {
		for range 10 {
			n, err := f()
			if err != nil {
				t.Fatal(err)
			}
			removed += n
			if n < 5000 {
				return
			}
		}
		t.Fatal("a retention call keeps returning a full batch")
	}
	hosts, err := s.hostConns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for sweep := range 6 {
		clock = clock.Add(time.Minute)
		for _, p := range policies {
			if p.contents > 0 {
				loop(func() (int64, error) { return s.DropContentBefore(ctx, p.project, now.Add(-p.contents), 5000) })
			}
			loop(func() (int64, error) { return s.DeleteSpansBefore(ctx, p.project, now.Add(-p.spans), 5000) })
		}
		// Let the mutations finish.
		for _, h := range hosts {
			for range 600 {
				var running uint64
				if err := h.conn.QueryRow(ctx, `SELECT count() FROM system.mutations WHERE database = `+lit(s.dbName)+` AND is_done = 0`).Scan(&running); err != nil {
					t.Fatal(err)
				}
				if running == 0 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		if sweep == 0 {
			if got := calls("a"); got != 10*perDay {
				t.Errorf("after the first sweep (which only learns the cutoffs) a has %d calls, want %d", got, 10*perDay)
			}
		}
	}

	t.Logf("retention calls reported %d rows removed or changed", removed)
	keepDays := map[string][]int{"a": {0, 1, 2, 3, 4, 5}, "b": {0, 1, 2, 3, 4, 5}, "short": {0, 1, 2}, "keep": {8}}
	for p, days := range keepDays {
		if got, want := calls(p), int64(len(days)*perDay); got != want {
			t.Errorf("after retention: %s has %d calls, want %d", p, got, want)
		}
		st, err := s.ScoreStats(ctx, store.ScoreQuery{Project: p})
		if err != nil || len(st) != 1 || st[0].Count != int64(len(days)) {
			t.Errorf("after retention: %s has scores %+v (%v), want %d", p, st, err, len(days))
		}
		tot, err := s.MetricTotals(ctx, store.Filter{Project: p})
		if got := store.OverviewOfMetrics(tot).Calls; err != nil || got != int64(len(days)) {
			t.Errorf("after retention: %s has %d calls from metrics (%v), want %d", p, got, err, len(days))
		}
		page, err := s.Spans(ctx, store.SpansQuery{Filter: store.Filter{Project: p, From: today.Add(-20 * day), To: now.Add(time.Hour)}, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]bool{}
		for _, d := range days {
			want[d] = true
		}
		for _, sp := range page.Spans {
			if k, ok := dayOfSpan[sp.SpanID]; !ok || !want[k] {
				t.Errorf("%s: span %s of day -%d is still there", p, sp.SpanID, k)
			}
		}
	}

	// Every day-partitioned table (spans, records, trace context, rollups
	// when present) has no partition left of the dropped days, on any host.
	for _, h := range hosts {
		tables, err := s.dayTables(ctx, h.conn)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tb := range tables {
			names = append(names, tb.name)
		}
		t.Logf("tables partitioned by day%s: %v", onHost(h), names)
		if len(tables) < 3 {
			t.Errorf("%d tables partitioned by day found, want at least spans, message_records and trace_ctx", len(tables))
		}
		for _, tb := range tables {
			for d := range tb.parts {
				if k := int(dayOf(today.UnixNano()) - d); k == 6 || k == 7 || k == 9 {
					t.Errorf("table %s%s still has day -%d", tb.name, onHost(h), k)
				}
			}
			if !tb.hasProject {
				continue
			}
			// Rows per project and day match what was kept.
			rows, err := h.conn.Query(ctx, `SELECT project, toInt64(day), count() FROM `+s.db+`.`+quoteIdent(tb.name)+` GROUP BY project, day`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var p string
				var d int64
				var n uint64
				if err := rows.Scan(&p, &d, &n); err != nil {
					t.Fatal(err)
				}
				k := int(dayOf(today.UnixNano()) - d)
				ok := false
				for _, kd := range keepDays[p] {
					ok = ok || kd == k
				}
				if !ok {
					t.Errorf("table %s%s: %d rows of %s on day -%d", tb.name, onHost(h), n, p, k)
				}
			}
			rows.Close()
		}
	}

	// a's content is gone from days 4 and 5, its spans' usage stays; the
	// others keep theirs.
	var cleared, kept uint64
	if err := s.conn.QueryRow(ctx, `SELECT countIf(content_mask = 0 AND content_text = ''), countIf(content_mask != 0) FROM `+s.db+`.spans WHERE project = 'a' AND day < `+dayLit(dayOf(today.UnixNano())-3)).Scan(&cleared, &kept); err != nil {
		t.Fatal(err)
	}
	if cleared != 2*perDay || kept != 0 {
		t.Errorf("a's spans of days 4 and 5: %d cleared, %d with content; want %d, 0", cleared, kept, 2*perDay)
	}
	for _, c := range []struct {
		project string
		k       int
		content bool
	}{{"a", 4, false}, {"a", 3, true}, {"b", 4, true}} {
		var tid genai.TraceID
		copy(tid[:], fmt.Sprintf("%-6s%02d-%06d", c.project, c.k, 1))
		tr, err := s.Trace(ctx, c.project, tid)
		if err != nil || len(tr.Roots) != 1 {
			t.Fatalf("trace of %s day -%d: %+v, %v", c.project, c.k, tr, err)
		}
		sp := tr.Roots[0].Span
		has := sp.SystemInstructions != nil || sp.InputMessages != nil || sp.OutputMessages != nil
		if has != c.content {
			t.Errorf("trace of %s day -%d: content %v, want %v (%+v)", c.project, c.k, has, c.content, sp)
		}
		if sp.Usage.InputTokens != 10 || sp.Attributes["input_messages"] != "an attribute, not content" {
			t.Errorf("trace of %s day -%d: usage %+v, attributes %v: want them kept", c.project, c.k, sp.Usage, sp.Attributes)
		}
		if c.content && (len(sp.InputMessages) != 1 || sp.InputMessages[0].Parts[0].Content != `say "hi" \`) {
			t.Errorf("trace of %s day -%d: input %+v", c.project, c.k, sp.InputMessages)
		}
	}
	var recs uint64
	if err := s.conn.QueryRow(ctx, `SELECT count() FROM `+s.db+`.message_records WHERE project = 'a' AND day < `+dayLit(dayOf(today.UnixNano())-3)).Scan(&recs); err != nil {
		t.Fatal(err)
	}
	if recs != 0 {
		t.Errorf("a's message records of days 4 and 5: %d left", recs)
	}

	// Another sweep has nothing to do and issues nothing.
	clock = clock.Add(time.Minute)
	for _, p := range policies {
		if n, err := s.DeleteSpansBefore(ctx, p.project, now.Add(-p.spans), 5000); err != nil || n != 0 {
			t.Errorf("idle sweep: %s: %d, %v", p.project, n, err)
		}
	}
	if n, err := s.DropContentBefore(ctx, "a", now.Add(-3*day), 5000); err != nil || n != 0 {
		t.Errorf("idle sweep: content of a: %d, %v", n, err)
	}
}
