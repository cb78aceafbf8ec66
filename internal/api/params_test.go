package api

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/genscope/genscope/internal/store"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestParseTime(t *testing.T) {
	f := func(in string, want time.Time) {
		t.Helper()
		got, err := parseTime("from", in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	f("now", now)
	f("1h", now.Add(-time.Hour))
	f("15m", now.Add(-15*time.Minute))
	f("7d", now.Add(-7*24*time.Hour))
	f("2w", now.Add(-14*24*time.Hour))
	f("2026-11-01T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	f("2026-11-01T01:00:00+01:00", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	f("1795728262", time.Unix(1795728262, 0))
	f("1795728262000", time.UnixMilli(1795728262000))
	for _, bad := range []string{"", "yesterday", "-1h", "1y", "99999d", "2026-13-01T00:00:00Z",
		// strconv.ParseFloat takes these; NaN passed the range check and
		// made year 1734.
		"NaNd", "nand", "Infd", "+Infd", "-Infd", "infinityw", "1e400d", "1e3d", "0x10d", "-1d", "-0.5w", "1_0d", ".d", "1.2.3d",
		// Overflow: durations past int64 nanoseconds, Unix times past 2262.
		"9999999999h", "600w", "9223372036854775807", "9223372036854775807000", "0001-01-01T00:00:00Z", "2300-01-01T00:00:00Z",
	} {
		if _, err := parseTime("from", bad, now); err == nil {
			t.Errorf("parseTime(%q) accepted", bad)
		}
	}
}

func TestParseFilter(t *testing.T) {
	q, _ := url.ParseQuery("from=1h&service=chat&provider=openai&model=gpt-4o&operation=chat&status=error&session=s1&user=u1&q=camping")
	f, err := parseFilter(q, "p", now)
	if err != nil {
		t.Fatal(err)
	}
	if f.Project != "p" || !f.From.Equal(now.Add(-time.Hour)) || !f.To.Equal(now) || f.Service != "chat" || f.Provider != "openai" ||
		f.Model != "gpt-4o" || f.Operation != "chat" || f.Status != "error" || f.Session != "s1" || f.User != "u1" || f.Text != "camping" {
		t.Fatalf("filter = %+v", f)
	}
	f, _ = parseFilter(url.Values{}, "p", now)
	if !f.From.Equal(now.Add(-DefaultRange)) {
		t.Errorf("default from = %v", f.From)
	}
}

func TestParseQuery(t *testing.T) {
	// ";" is part of a value: url.ParseQuery dropped the pair, and with it
	// the filter.
	q, err := parseQuery("service=a;b&model=gpt-4o&q=x+y%3Bz")
	if err != nil || q.Get("service") != "a;b" || q.Get("model") != "gpt-4o" || q.Get("q") != "x y;z" {
		t.Fatalf("parseQuery = %v, %v", q, err)
	}
	if q, err := parseQuery("&&from=1h&"); err != nil || q.Get("from") != "1h" {
		t.Fatalf("empty pairs: %v, %v", q, err)
	}
	for raw, name := range map[string]string{
		"service=%zz":               "service",
		"from=1h&from=2h":           "from",
		"model=a&model=a":           "model",
		"limit=1&limit=2":           "limit",
		"status=ok&status=error":    "status",
		"cursor=a&cursor=b":         "cursor",
		"%zz=1":                     "%zz",
		strings.Repeat("a=1&", 101): "query",
	} {
		_, err := parseQuery(raw)
		var pe *paramError
		if !errors.As(err, &pe) || pe.Name != name {
			t.Errorf("parseQuery(%.40q) = %v, want an error naming %s", raw, err, name)
		}
	}
}

func TestParseFilterRange(t *testing.T) {
	f := func(raw, name string) {
		t.Helper()
		q, err := parseQuery(raw)
		if err == nil {
			_, err = parseFilter(q, "p", now)
		}
		var pe *paramError
		if !errors.As(err, &pe) || pe.Name != name {
			t.Errorf("%s: %v, want an error naming %s", raw, err, name)
		}
	}
	f("from=NaNd", "from")
	f("to=Infw", "to")
	f("from=1h&to=2h", "from") // from after to
	f("from=0", "from")
	f("status=OK", "status")
	f("q="+strings.Repeat("x", 1001), "q")
}

func TestParseTimeseriesInterval(t *testing.T) {
	for _, bad := range []string{"NaNd", "Infd", "0.5s", "-1h", "1e9d", "99999999999999999999h"} {
		q, _ := parseQuery("interval=" + bad)
		flt, err := parseFilter(q, "p", now)
		if err != nil {
			t.Fatal(err)
		}
		var pe *paramError
		if _, err := parseTimeseries(q, flt); !errors.As(err, &pe) || pe.Name != "interval" {
			t.Errorf("interval=%s: %v", bad, err)
		}
	}
	// The widest range there is still gives at most maxBuckets buckets.
	q, _ := parseQuery("from=1&to=9223372036")
	flt, err := parseFilter(q, "p", now)
	if err != nil {
		t.Fatal(err)
	}
	tq, err := parseTimeseries(q, flt)
	if err != nil || flt.To.Sub(flt.From)/tq.Interval > maxBuckets {
		t.Errorf("auto interval over 292 years = %v, %v", tq.Interval, err)
	}
}

func TestParseSort(t *testing.T) {
	for in, want := range map[string]string{"": "time", "sort=time": "time", "sort=duration": "duration", "sort=tokens": "tokens"} {
		q, _ := url.ParseQuery(in)
		if got, err := parseSort(q); err != nil || got != want {
			t.Errorf("parseSort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"sort=cost", "sort=Duration", "sort=time%20"} {
		q, _ := url.ParseQuery(bad)
		var pe *paramError
		if _, err := parseSort(q); !errors.As(err, &pe) || pe.Name != "sort" {
			t.Errorf("parseSort(%q) = %v, want a sort error", bad, err)
		}
	}
}

func TestAutoInterval(t *testing.T) {
	for span, want := range map[time.Duration]time.Duration{
		15 * time.Minute:    10 * time.Second,
		time.Hour:           30 * time.Second,
		24 * time.Hour:      15 * time.Minute,
		7 * 24 * time.Hour:  3 * time.Hour,
		30 * 24 * time.Hour: 6 * time.Hour,
	} {
		if got := autoInterval(span); got != want {
			t.Errorf("autoInterval(%s) = %s, want %s", span, got, want)
		}
	}
}

// TestParseScoreFilters: score=NAME<NUMBER, NAME>NUMBER, NAME=LABEL or
// NAME; a bad one is refused naming the parameter.
func TestParseScoreFilters(t *testing.T) {
	q, _ := url.ParseQuery("score=helpfulness<0.5&score=" + url.QueryEscape("length > 1e3") + "&score=verdict=pass&score=tone&score=a=b=c")
	f, err := parseFilter(q, "p", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ScoreFilter{{Name: "helpfulness", Op: store.ScoreLT, Value: 0.5}, {Name: "length", Op: store.ScoreGT, Value: 1000},
		{Name: "verdict", Op: store.ScoreLabelIs, Label: "pass"}, {Name: "tone", Op: store.ScoreHas}, {Name: "a", Op: store.ScoreLabelIs, Label: "b=c"}}
	if !reflect.DeepEqual(f.Scores, want) {
		t.Errorf("scores = %+v, want %+v", f.Scores, want)
	}
	for _, bad := range []string{"score=%3C1", "score=x%3Cabc", "score=x%3E0x10", "score=x=", "score=x%3CNaN", "score=" + strings.Repeat("n", 201),
		strings.Repeat("score=a&", store.MaxScoreFilters+1)} {
		q, _ := url.ParseQuery(bad)
		_, err := parseFilter(q, "p", now)
		var pe *paramError
		if !errors.As(err, &pe) || pe.Name != "score" {
			t.Errorf("%.60s: %v, want an error naming score", bad, err)
		}
	}
}

// FuzzQueryParams: any query string gives a filter or an error naming a
// parameter, never a panic, and an accepted range is never empty.
func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{"from=1h", "from=2026-11-01T00:00:00Z&to=now&status=ok", "metric=duration_ms&agg=p95&interval=1h&group_by=model",
		"from=7d&interval=1s", "limit=5&by=user", "q=%00%ff", "from=1e9&to=1e10", "from=NaNd", "service=a;b", "from=1h&from=2h", "interval=Infd", "from=1&to=9223372036",
		"service_in=a&service_in=b&model_contains=GPT&user_in=u", "duration_ms_gt=1.5&cost_usd_lt=2e-3&total_tokens_gt=-1",
		"attr=http.route&attr=a==b&attr=c~=d&attr=e~=f==g", "attr=%22", "ttft_ms_lt=0x1p3", "attr=~=",
		"score=helpfulness%3C0.5&score=verdict=pass&score=tone", "score=%3C", "score=x%3ENaN", "score=a=", "score=a%3C%3E1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) {
				t.Fatalf("query error %v does not name a parameter", err)
			}
			return
		}
		flt, err := parseFilter(q, "p", now)
		if err != nil {
			var pe *paramError
			if !errors.As(err, &pe) && !isJoinOfParamErrors(err) {
				t.Fatalf("error %v does not name a parameter", err)
			}
			return
		}
		if !flt.From.Before(flt.To) {
			t.Fatalf("accepted empty range %v..%v", flt.From, flt.To)
		}
		// What the API accepts, the store accepts.
		if err := flt.Validate(); err != nil {
			t.Fatalf("accepted a filter the store refuses: %v", err)
		}
		if flt.From.Before(minTime) || flt.To.After(maxTime) {
			t.Fatalf("accepted %v..%v, outside the representable range", flt.From, flt.To)
		}
		if tq, err := parseTimeseries(q, flt); err == nil {
			if tq.Interval <= 0 || flt.To.Sub(flt.From)/tq.Interval > maxBuckets+1 {
				t.Fatalf("interval %v over %v", tq.Interval, flt.To.Sub(flt.From))
			}
		}
		_, _ = parseLimit(q, 50, 1000)
		_, _ = parseSort(q)
		_, _ = parseDim("by", q.Get("by"), false)
	})
}

func isJoinOfParamErrors(err error) bool {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return false
	}
	for _, e := range j.Unwrap() {
		var pe *paramError
		if !errors.As(e, &pe) {
			return false
		}
	}
	return true
}
