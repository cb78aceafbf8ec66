package appinsights

import (
	"strings"
	"testing"

	"github.com/genscope/genscope/internal/jsondepth"
)

func FuzzConvert(f *testing.F) {
	// The logs fixture (45 KB, mostly one long prompt) is left out: inputs
	// that large make the fuzzer's mutation and minimization crawl.
	for _, name := range []string{"lab-azure-exporter.traces.json", "lab-azure-exporter.metrics.json"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte(dep))
	f.Add([]byte(dep + "\n{bad\n"))
	f.Add([]byte(`[{"time":"2026-01-01T00:00:00Z","data":{"baseType":"MessageData","baseData":{"message":"gen_ai.choice","properties":{"gen_ai.event.content":"('a',)"}}}}]`))
	f.Add([]byte(`[{"data":{"baseData":{"properties":{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}}}}]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := splitItems(body)
		if err != nil {
			return
		}
		for _, it := range items {
			if jsondepth.Check(it, maxJSONDepth) != nil {
				t.Fatalf("an item nested deeper than %d passed", maxJSONDepth)
			}
		}
		c := convert(items, nil)
		if c.resp.ItemsReceived != len(items) || c.resp.ItemsAccepted+len(c.resp.Errors) != len(items) {
			t.Fatalf("response %+v for %d items", c.resp, len(items))
		}
	})
}
