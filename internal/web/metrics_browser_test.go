package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/genscope/genscope/internal/fixture"
)

// postMetricsAt sends the lab's captured OTLP metrics (the OpenAI
// instrumentation's, cumulative) with their last point at at.
func postMetricsAt(t *testing.T, base string, at time.Time) {
	t.Helper()
	req := pmetricotlp.NewExportRequest()
	if err := req.UnmarshalJSON(fixture.Captured(t, "otlp/lab-otel-openai.metrics.json")); err != nil {
		t.Fatal(err)
	}
	rms := req.Metrics().ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		sms := rms.At(i).ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			ms := sms.At(j).Metrics()
			for k := 0; k < ms.Len(); k++ {
				dps := ms.At(k).Histogram().DataPoints()
				for d := 0; d < dps.Len(); d++ {
					dp := dps.At(d)
					shift := at.Sub(dp.Timestamp().AsTime())
					dp.SetStartTimestamp(pcommon.NewTimestampFromTime(dp.StartTimestamp().AsTime().Add(shift)))
					dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
				}
			}
		}
	}
	body, _ := req.MarshalProto()
	postKey(t, base+"/v1/metrics", "", body)
}

// TestBrowserMetricsOnly: an app that sends GenAI metrics but no spans
// shows on the Overview (phone and desktop, axe-clean); once spans of the
// same service and model arrive for those minutes, the spans count and
// the metrics step aside.
func TestBrowserMetricsOnly(t *testing.T) {
	exe := chromium(t)
	requireBuilt(t)
	axe := axeSource(t)
	base := startApp(t)
	at := time.Now().Add(-5 * time.Minute).Truncate(time.Minute).Add(30 * time.Second)
	postMetricsAt(t, base, at)

	type overview struct {
		Calls       int64 `json:"calls"`
		FromMetrics struct {
			Calls       int64 `json:"calls"`
			InputTokens int64 `json:"input_tokens"`
			Groups      []struct {
				Service string `json:"service"`
				Model   string `json:"model"`
			} `json:"groups"`
		} `json:"from_metrics"`
	}
	var ov overview
	getJSON(t, base+"/api/v1/overview?from=1h", &ov)
	if ov.Calls != 0 || ov.FromMetrics.Calls != 5 || ov.FromMetrics.InputTokens == 0 || len(ov.FromMetrics.Groups) != 1 ||
		ov.FromMetrics.Groups[0].Service != "lab-prompts-otel" {
		t.Fatalf("overview %+v", ov)
	}

	ctx, problems := browser(t, exe)
	for _, size := range viewports {
		do(t, ctx, chromedp.EmulateViewport(size.w, size.h), chromedp.Navigate(base+"/?from=1h"))
		waitLoaded(t, ctx)
		if !eval[bool](t, ctx, `(c => !!c && c.textContent.includes("5 calls") && !!c.querySelector('tr[data-service="lab-prompts-otel"]'))(document.getElementById("from-metrics"))`) {
			t.Errorf("%s: the metrics card is missing or wrong: %q", size.name, eval[string](t, ctx, `document.getElementById("from-metrics")?.textContent || ""`))
		}
		fits(t, ctx, "overview-metrics", int(size.w))
		audit(t, ctx, axe, "overview-metrics@"+size.name)
		screenshot(t, ctx, "page-overview-metrics-"+size.name)
	}
	for _, p := range problems() {
		t.Errorf("browser: %s", p)
	}

	// The same app's spans for the same minutes: counted once, as spans.
	postFixture(t, base, "lab-otel-openai.traces.json", "", at.Add(-20*time.Second))
	for deadline := time.Now().Add(10 * time.Second); ; {
		getJSON(t, base+"/api/v1/overview?from=1h", &ov)
		if ov.Calls > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("spans not recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if ov.FromMetrics.Calls != 0 || len(ov.FromMetrics.Groups) != 0 {
		t.Errorf("metrics still counted beside the spans of the same service and model: %+v", ov.FromMetrics)
	}
}
