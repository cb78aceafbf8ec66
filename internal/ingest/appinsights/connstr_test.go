package appinsights

import (
	"regexp"
	"testing"
)

func TestConnectionString(t *testing.T) {
	got := ConnectionString("https://127.0.0.1:4318/", "default")
	re := regexp.MustCompile(`^InstrumentationKey=[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12};IngestionEndpoint=https://127\.0\.0\.1:4318/;LiveEndpoint=https://127\.0\.0\.1:4318/$`)
	if !re.MatchString(got) {
		t.Fatalf("connection string %q", got)
	}
	if InstrumentationKey("a") == InstrumentationKey("b") || InstrumentationKey("a") != InstrumentationKey("a") {
		t.Fatal("keys must be stable per project and differ between projects")
	}
}
