package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/genai"
	"github.com/genscope/genscope/internal/store"
)

// RunScores runs the score contract's tests (store.ScoreStore) against a
// reference model: a sequence of puts, replaces and deletes in two
// projects, then queries of every kind compared with what the model
// answers. open must return a new, empty store; RunScores closes it.
func RunScores(t *testing.T, open func(t *testing.T) store.Store) {
	s := openClosed(t, open)
	ss, ok := s.(store.ScoreStore)
	if !ok {
		t.Fatalf("%T is not a store.ScoreStore", s)
	}
	t.Run("BadInput", func(t *testing.T) { testScoreBadInput(t, ss) })
	t.Run("Model", func(t *testing.T) { testScoreModel(t, ss) })
	t.Run("Filter", func(t *testing.T) { testScoreFilter(t, s, ss) })
	if rf, ok := s.(store.ResponseFinder); ok {
		t.Run("FindResponse", func(t *testing.T) { testFindResponse(t, s, rf) })
	}
}

// testFindResponse: the newest span of the project with the response id,
// in the range only; ids with awkward characters; other projects' spans
// and a prefix of an id never match.
func testFindResponse(t *testing.T, s store.Store, rf store.ResponseFinder) {
	ctx := context.Background()
	at := scoreBase.Add(-time.Hour)
	span := func(project string, n int, resp string, start time.Time) genai.Span {
		var tid genai.TraceID
		copy(tid[:], fmt.Sprintf("resp-trace-%05d", n))
		var sid genai.SpanID
		copy(sid[:], fmt.Sprintf("rs-%05d", n))
		return genai.Span{Project: project, TraceID: tid, SpanID: sid, Name: "chat gpt-4o", Service: "svc", StartUnixNano: start.UnixNano(),
			DurationNano: int64(time.Second), Status: genai.StatusOK, Operation: "chat", Provider: "openai", RequestModel: "gpt-4o", ResponseID: resp}
	}
	awkward := `chatcmpl-"quoted" \ <&> é`
	spans := []genai.Span{
		span(Project, 1, "chatcmpl-abc", at),
		span(Project, 2, "chatcmpl-abc", at.Add(time.Minute)), // newer: wins
		span(Project, 3, awkward, at),
		span(Project, 4, "chatcmpl-abcdef", at.Add(2*time.Minute)),
		span(Other, 5, "chatcmpl-other", at),
	}
	write(t, s, spans, nil)
	from, to := at.Add(-time.Hour), at.Add(time.Hour)
	for _, c := range []struct {
		project, id string
		from, to    time.Time
		want        int // index in spans, -1: not found
	}{
		{Project, "chatcmpl-abc", from, to, 1},
		{Project, "chatcmpl-abc", from, at.Add(time.Minute), 0}, // the newer one is out of range
		{Project, awkward, from, to, 2},
		{Project, "chatcmpl-ab", from, to, -1},
		{Project, "chatcmpl-other", from, to, -1},
		{Other, "chatcmpl-other", from, to, 4},
		{Project, "chatcmpl-abc", to, to.Add(time.Hour), -1},
	} {
		got, err := rf.FindResponse(ctx, c.project, c.id, c.from, c.to)
		if c.want < 0 {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("find %s in %s: %+v, %v; want ErrNotFound", c.id, c.project, got, err)
			}
			continue
		}
		w := spans[c.want]
		if err != nil || got.TraceID != w.TraceID.String() || got.SpanID != w.SpanID.String() || got.Start.UnixNano() != w.StartUnixNano {
			t.Errorf("find %s in %s [%s, %s): %+v, %v; want span %d", c.id, c.project, c.from, c.to, got, err, c.want)
		}
	}
}

// testScoreFilter: spans selected by their own scores (store.ScoreFilter):
// by value (a score without one never), by label, by having one; any of
// a span's scores of the name may match; several filters all hold; a
// trace's score, a deleted score and another project's never select a
// span; ids with the high bit set; a bad filter is refused.
func testScoreFilter(t *testing.T, s store.Store, ss store.ScoreStore) {
	ctx := context.Background()
	at := scoreBase.Add(-2 * time.Hour)
	var spans []genai.Span
	for i := range 6 {
		project := Project
		if i == 5 {
			project = Other
		}
		var tid genai.TraceID
		for j := range tid {
			tid[j] = byte(0xf0 + i) // the high bit of both halves set
		}
		tid[15] = byte(i)
		var sid genai.SpanID
		for j := range sid {
			sid[j] = byte(0xe0 + i)
		}
		spans = append(spans, genai.Span{Project: project, TraceID: tid, SpanID: sid, Name: "chat gpt-4o", Service: "svc",
			StartUnixNano: at.Add(time.Duration(i) * time.Minute).UnixNano(), DurationNano: int64(time.Second), Status: genai.StatusOK,
			Operation: "chat", Provider: "openai", RequestModel: "gpt-4o"})
	}
	write(t, s, spans, nil)
	n := 0
	put := func(i int, span bool, name string, v *float64, label string) string {
		t.Helper()
		n++
		sc := store.Score{ID: fmt.Sprintf("filter-%d", n), Project: spans[i].Project, TraceID: spans[i].TraceID.String(), Name: name, Value: v, Label: label,
			Source: store.SourceHuman, Time: scoreBase, Updated: scoreBase, TargetTime: time.Unix(0, spans[i].StartUnixNano).UTC()}
		if span {
			sc.SpanID = spans[i].SpanID.String()
		}
		if err := ss.PutScore(ctx, sc); err != nil {
			t.Fatal(err)
		}
		return sc.ID
	}
	put(0, true, "quality", fp(0.3), "fail")
	put(1, true, "quality", fp(0.9), "pass")
	put(1, true, "quality", fp(0.2), "") // an older judgement of the same span
	put(1, true, "tone", nil, "rude")
	put(2, false, "quality", fp(0.1), "fail") // the trace's, not the span's
	del := put(3, true, "quality", fp(0.05), "fail")
	if err := ss.DeleteScore(ctx, Project, del); err != nil {
		t.Fatal(err)
	}
	put(4, true, "quality", nil, "pass")     // a label, no value
	put(5, true, "quality", fp(0.0), "fail") // another project's
	f := func(want []int, filters ...store.ScoreFilter) {
		t.Helper()
		page, err := s.Spans(ctx, store.SpansQuery{Filter: store.Filter{Project: Project, From: at.Add(-time.Hour), To: at.Add(time.Hour), Scores: filters}, Limit: 100})
		if err != nil {
			t.Fatalf("spans with %+v: %v", filters, err)
		}
		var got, wantIDs []string
		for _, r := range page.Spans {
			got = append(got, r.SpanID)
		}
		for _, i := range want {
			wantIDs = append(wantIDs, spans[i].SpanID.String())
		}
		slices.Sort(got)
		slices.Sort(wantIDs)
		if !slices.Equal(got, wantIDs) {
			t.Errorf("spans with %+v: %v, want %v", filters, got, wantIDs)
		}
	}
	q := func(op string, v float64, label string) store.ScoreFilter {
		return store.ScoreFilter{Name: "quality", Op: op, Value: v, Label: label}
	}
	f([]int{0, 1}, q(store.ScoreLT, 0.5, ""))
	f([]int{1}, q(store.ScoreGT, 0.5, ""))
	f(nil, q(store.ScoreLT, 0.1, ""))
	f([]int{0, 1, 4}, q(store.ScoreHas, 0, ""))
	f([]int{1, 4}, q(store.ScoreLabelIs, 0, "pass"))
	f([]int{0}, q(store.ScoreLabelIs, 0, "fail"))
	f([]int{1}, q(store.ScoreLT, 0.5, ""), store.ScoreFilter{Name: "tone", Op: store.ScoreLabelIs, Label: "rude"})
	f(nil, q(store.ScoreGT, 0.5, ""), q(store.ScoreLabelIs, 0, "fail"))
	f(nil, store.ScoreFilter{Name: "Quality", Op: store.ScoreHas})
	for _, bad := range []store.ScoreFilter{{Name: "", Op: store.ScoreHas}, {Name: "q", Op: "eq"}, {Name: "q", Op: store.ScoreLT, Value: math.NaN()},
		{Name: "q", Op: store.ScoreLabelIs}, {Name: strings.Repeat("x", store.MaxScoreName+1), Op: store.ScoreHas}} {
		if _, err := s.Spans(ctx, store.SpansQuery{Filter: store.Filter{Project: Project, Scores: []store.ScoreFilter{bad}}}); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("score filter %+v: %v, want ErrBadQuery", bad, err)
		}
	}
	if _, err := s.Spans(ctx, store.SpansQuery{Filter: store.Filter{Project: Project, Scores: make([]store.ScoreFilter, store.MaxScoreFilters+1)}}); !errors.Is(err, store.ErrBadQuery) {
		t.Errorf("%d score filters: %v, want ErrBadQuery", store.MaxScoreFilters+1, err)
	}
}

func fp(v float64) *float64 { return &v }

var scoreBase = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func goodScore(project, id string) store.Score {
	return store.Score{ID: id, Project: project, TraceID: strings.Repeat("ab", 16), SpanID: strings.Repeat("01", 8),
		Name: "helpfulness", Value: fp(0.5), Source: store.SourceAPI, Time: scoreBase, Updated: scoreBase, TargetTime: scoreBase.Add(-time.Minute)}
}

// testScoreBadInput: every invalid score is refused with ErrBadQuery and
// nothing of it is stored; invalid queries too.
func testScoreBadInput(t *testing.T, s store.ScoreStore) {
	ctx := context.Background()
	for name, mut := range map[string]func(*store.Score){
		"no project":        func(c *store.Score) { c.Project = "" },
		"no id":             func(c *store.Score) { c.ID = "" },
		"long id":           func(c *store.Score) { c.ID = strings.Repeat("x", store.MaxScoreID+1) },
		"no name":           func(c *store.Score) { c.Name = "" },
		"no value or label": func(c *store.Score) { c.Value = nil },
		"NaN":               func(c *store.Score) { c.Value = fp(math.NaN()) },
		"Inf":               func(c *store.Score) { c.Value = fp(math.Inf(-1)) },
		"no target":         func(c *store.Score) { c.TraceID, c.SpanID = "", "" },
		"span without trace": func(c *store.Score) {
			c.TraceID = ""
		},
		"bad trace":         func(c *store.Score) { c.TraceID = "xyz" },
		"upper-case trace":  func(c *store.Score) { c.TraceID = strings.Repeat("AB", 16) },
		"bad span":          func(c *store.Score) { c.SpanID = "0102" },
		"trace and session": func(c *store.Score) { c.SessionID = "s1" },
		"bad source":        func(c *store.Score) { c.Source = "robot" },
		"empty evaluator":   func(c *store.Score) { c.Source = store.SourceEvaluator },
		"long comment":      func(c *store.Score) { c.Comment = strings.Repeat("c", store.MaxScoreComment+1) },
		"long label":        func(c *store.Score) { c.Label = strings.Repeat("l", store.MaxScoreLabel+1) },
		"invalid UTF-8":     func(c *store.Score) { c.Label = "\xff" },
		"no time":           func(c *store.Score) { c.Time = time.Time{} },
	} {
		sc := goodScore(Project, "bad-"+strings.ReplaceAll(name, " ", "-"))
		mut(&sc)
		if err := s.PutScore(ctx, sc); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("%s: PutScore = %v, want ErrBadQuery", name, err)
		}
	}
	got, err := s.Scores(ctx, store.ScoreQuery{Project: Project, Limit: store.MaxScoreLimit})
	if err != nil || len(got) != 0 {
		t.Errorf("after bad puts: %d scores stored, %v", len(got), err)
	}
	for name, q := range map[string]store.ScoreQuery{
		"no project":     {},
		"negative limit": {Project: Project, Limit: -1},
		"limit too big":  {Project: Project, Limit: store.MaxScoreLimit + 1},
	} {
		if _, err := s.Scores(ctx, q); !errors.Is(err, store.ErrBadQuery) {
			t.Errorf("%s: Scores = %v, want ErrBadQuery", name, err)
		}
		if _, err := s.ScoreStats(ctx, q); !errors.Is(err, store.ErrBadQuery) && name == "no project" {
			t.Errorf("%s: ScoreStats = %v, want ErrBadQuery", name, err)
		}
	}
	if _, err := s.GetScore(ctx, Project, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetScore of a missing score = %v, want ErrNotFound", err)
	}
	if err := s.DeleteScore(ctx, Project, "missing"); err != nil {
		t.Errorf("DeleteScore of a missing score = %v, want nil", err)
	}
}

// scoreModel is the reference: the live scores by project and id.
type scoreModel map[[2]string]store.Score

func (m scoreModel) query(q store.ScoreQuery) []store.Score {
	var out []store.Score
	for k, sc := range m {
		if k[0] != q.Project || (len(q.TraceIDs) > 0 && !slices.Contains(q.TraceIDs, sc.TraceID)) ||
			(q.SpanID != "" && sc.SpanID != q.SpanID) || (q.SessionID != "" && sc.SessionID != q.SessionID) ||
			(q.Name != "" && sc.Name != q.Name) || (q.Source != "" && sc.Source != q.Source) ||
			(!q.From.IsZero() && sc.Time.Before(q.From)) || (!q.To.IsZero() && !sc.Time.Before(q.To)) {
			continue
		}
		out = append(out, sc)
	}
	sort.Slice(out, func(a, b int) bool {
		if !out[a].Time.Equal(out[b].Time) {
			return out[a].Time.After(out[b].Time)
		}
		return out[a].ID < out[b].ID
	})
	return out
}

func (m scoreModel) stats(q store.ScoreQuery) []store.ScoreStat {
	sel := m.query(q)
	byName := map[string]*store.ScoreStat{}
	sums := map[string]float64{}
	for _, sc := range sel {
		st := byName[sc.Name]
		if st == nil {
			st = &store.ScoreStat{Name: sc.Name, Labels: map[string]int64{}}
			byName[sc.Name] = st
		}
		st.Count++
		if sc.Label != "" {
			st.Labels[sc.Label]++
		}
		if sc.Value != nil {
			v := *sc.Value
			if st.Values == 0 || v < st.Min {
				st.Min = v
			}
			if st.Values == 0 || v > st.Max {
				st.Max = v
			}
			st.Values++
			sums[sc.Name] += v
		}
	}
	out := []store.ScoreStat{}
	for _, st := range byName {
		if st.Values > 0 {
			st.Avg = sums[st.Name] / float64(st.Values)
		}
		out = append(out, *st)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

func scoreKey(sc store.Score) string {
	v := "-"
	if sc.Value != nil {
		v = fmt.Sprint(*sc.Value)
	}
	return fmt.Sprintf("%s %s %s/%s/%s %s=%s|%s %q %s %s t=%d u=%d target=%d", sc.Project, sc.ID, sc.TraceID, sc.SpanID, sc.SessionID,
		sc.Name, v, sc.Label, sc.Comment, sc.Source, sc.Author, sc.Time.UnixNano(), sc.Updated.UnixNano(), sc.TargetTime.UnixNano())
}

func scoreKeys(scs []store.Score) []string {
	out := make([]string, len(scs))
	for i := range scs {
		out[i] = scoreKey(scs[i])
	}
	return out
}

// testScoreModel: puts, replaces and deletes in two projects (the same
// ids in both), then every kind of query against the model.
func testScoreModel(t *testing.T, s store.ScoreStore) {
	ctx := context.Background()
	m := scoreModel{}
	put := func(sc store.Score) {
		t.Helper()
		if err := s.PutScore(ctx, sc); err != nil {
			t.Fatalf("put %s: %v", sc.ID, err)
		}
		m[[2]string{sc.Project, sc.ID}] = sc
	}
	del := func(project, id string) {
		t.Helper()
		if err := s.DeleteScore(ctx, project, id); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
		delete(m, [2]string{project, id})
	}
	traces := []string{strings.Repeat("a1", 16), strings.Repeat("b2", 16), strings.Repeat("c3", 16)}
	spans := []string{strings.Repeat("01", 8), strings.Repeat("02", 8), ""}
	names := []string{"helpfulness", "correctness", "user-feedback", "toxicity"}
	labels := []string{"", "pass", "fail", "good"}
	sources := []string{store.SourceAPI, store.SourceHuman, store.SourceOTel, store.SourceFeedback, "evaluator:no-apology"}
	awkward := "quote ' backslash \\ tab \t newline \n unicode é 漢字 🙂"
	for i := range 90 {
		project := Project
		if i%5 == 4 {
			project = Other
		}
		sc := store.Score{ID: fmt.Sprintf("s%03d", i%70), Project: project, Name: names[i%len(names)], Label: labels[i%len(labels)],
			Source: sources[i%len(sources)], Author: fmt.Sprintf("user%d", i%3),
			Time: scoreBase.Add(time.Duration(i%40) * time.Minute), TargetTime: scoreBase.Add(-time.Duration(i) * time.Hour)}
		sc.Updated = sc.Time.Add(time.Duration(i) * time.Second)
		if i%6 == 0 {
			sc.SessionID = fmt.Sprintf("session-%d", i%4)
		} else {
			sc.TraceID, sc.SpanID = traces[i%len(traces)], spans[i%len(spans)]
		}
		if i%4 != 3 || sc.Label == "" {
			sc.Value = fp(float64(i%11)/10 - 0.2)
		}
		if i%7 == 0 {
			sc.Comment = awkward
		}
		put(sc) // ids 70..89 replace 0..19
	}
	put(goodScore(Project, "s004")) // the same id in both projects
	for _, id := range []string{"s005", "s010", "s033", "s034"} {
		del(Project, id)
	}
	del(Other, "s004")
	sc := goodScore(Project, "s010") // put again after a delete
	put(sc)

	check := func(name string, q store.ScoreQuery) {
		t.Helper()
		want := m.query(q)
		lim := q.Limit
		if lim == 0 {
			lim = 100
		}
		if len(want) > lim {
			want = want[:lim]
		}
		got, err := s.Scores(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g, w := scoreKeys(got), scoreKeys(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %d scores, want %d\n got %q\nwant %q", name, len(g), len(w), g, w)
		}
		q.Limit = 0
		gotStats, err := s.ScoreStats(ctx, q)
		if err != nil {
			t.Fatalf("%s stats: %v", name, err)
		}
		wantStats := m.stats(q)
		if len(gotStats) != len(wantStats) {
			t.Fatalf("%s stats: %+v, want %+v", name, gotStats, wantStats)
		}
		for i := range wantStats {
			g, w := gotStats[i], wantStats[i]
			if g.Name != w.Name || g.Count != w.Count || g.Values != w.Values || !near(g.Avg, w.Avg, sumTolerance) ||
				g.Min != w.Min || g.Max != w.Max || !reflect.DeepEqual(g.Labels, w.Labels) {
				t.Errorf("%s stats of %s: %+v, want %+v", name, w.Name, g, w)
			}
		}
	}
	check("all", store.ScoreQuery{Project: Project, Limit: store.MaxScoreLimit})
	check("other project", store.ScoreQuery{Project: Other, Limit: store.MaxScoreLimit})
	check("default limit", store.ScoreQuery{Project: Project})
	check("limit", store.ScoreQuery{Project: Project, Limit: 7})
	check("one trace", store.ScoreQuery{Project: Project, TraceIDs: traces[:1]})
	check("two traces", store.ScoreQuery{Project: Project, TraceIDs: traces[1:]})
	check("a span", store.ScoreQuery{Project: Project, TraceIDs: traces[1:2], SpanID: spans[0]})
	check("a session", store.ScoreQuery{Project: Project, SessionID: "session-2"})
	check("a name", store.ScoreQuery{Project: Project, Name: "correctness"})
	check("a source", store.ScoreQuery{Project: Project, Source: "evaluator:no-apology"})
	check("a time range", store.ScoreQuery{Project: Project, From: scoreBase.Add(10 * time.Minute), To: scoreBase.Add(25 * time.Minute)})
	check("nothing", store.ScoreQuery{Project: Project, Name: "no-such-score"})
	check("no project's", store.ScoreQuery{Project: "proj-none"})

	for _, k := range [][2]string{{Project, "s010"}, {Project, "s001"}, {Other, "s009"}} {
		got, err := s.GetScore(ctx, k[0], k[1])
		if err != nil {
			t.Fatalf("get %v: %v", k, err)
		}
		if g, w := scoreKey(got), scoreKey(m[k]); g != w {
			t.Errorf("get %v: %s, want %s", k, g, w)
		}
	}
	if _, err := s.GetScore(ctx, Project, "s005"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get a deleted score: %v, want ErrNotFound", err)
	}
	if _, err := s.GetScore(ctx, Other, "s004"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get a score deleted in the other project: %v, want ErrNotFound", err)
	}
	if _, err := s.GetScore(ctx, Project, "s004"); err != nil {
		t.Errorf("deleting in the other project deleted this one's: %v", err)
	}
}
