package timeutil

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDuration(t *testing.T) {
	f := func(in string, want time.Duration) {
		t.Helper()
		var j struct{ D Duration }
		if err := json.Unmarshal([]byte(`{"D":`+in+`}`), &j); err != nil || j.D.D() != want {
			t.Errorf("JSON %s = %v, %v; want %v", in, j.D.D(), err, want)
		}
	}
	f(`"5m"`, 5*time.Minute)
	f(`"720h"`, 720*time.Hour)
	f(`"30d"`, 30*24*time.Hour)
	f(`""`, 0)
	f(`90`, 90*time.Second)
	f(`1.5`, 1500*time.Millisecond)
	f(`"-1h"`, -time.Hour) // a field's validation refuses it where it must

	for _, bad := range []string{`"5 minutes"`, `"d"`, `"-3d"`, `"36501d"`, `"03d"`, `true`, `{}`} {
		var j struct{ D Duration }
		if err := json.Unmarshal([]byte(`{"D":`+bad+`}`), &j); err == nil {
			t.Errorf("JSON %s read as %v", bad, j.D.D())
		}
	}

	var y struct {
		D Duration `yaml:"d"`
	}
	if err := yaml.Unmarshal([]byte("d: 1m30s\n"), &y); err != nil || y.D.D() != 90*time.Second {
		t.Errorf("YAML: %v, %v", y.D.D(), err)
	}
	if err := yaml.Unmarshal([]byte("\n\nd: soon\n"), &y); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("YAML error names no line: %v", err)
	}

	// Written as Go writes durations, the same in JSON and YAML.
	b, _ := json.Marshal(struct{ D Duration }{Duration(90 * time.Minute)})
	if string(b) != `{"D":"1h30m0s"}` {
		t.Errorf("JSON: %s", b)
	}
	yb, _ := yaml.Marshal(struct {
		D Duration `yaml:"d"`
	}{Duration(time.Hour)})
	if string(yb) != "d: 1h0m0s\n" {
		t.Errorf("YAML: %q", yb)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"5m", "30d", "", "-1h", "1e9d", "99999999999999999999d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := Parse(s)
		if err != nil {
			return
		}
		var back Duration
		if err := back.UnmarshalText([]byte(Duration(d).String())); err != nil || back.D() != d {
			t.Fatalf("%q = %v does not read back: %v, %v", s, d, back.D(), err)
		}
	})
}
