package bytesize

import (
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParse(t *testing.T) {
	f := func(in string, want Size) {
		t.Helper()
		got, err := Parse(in)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	f("268435456", 268435456)
	f("256MB", 256_000_000)
	f("256MiB", 256<<20)
	f("1GiB", 1<<30)
	f("1gib", 1<<30)
	f("512 KiB", 512<<10)
	f("1.5GB", 1_500_000_000)
	f("0.5MiB", 512<<10)
	f("10B", 10)
	f("2k", 2000)
	f("-1", -1)
	for _, bad := range []string{"", "MB", "256XB", "1..5MB", "1.5", "0.3B", "1e3", "99999999TiB", "256 M B"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q): no error", bad)
		}
	}
	if _, err := Parse("lots"); err == nil || !strings.Contains(err.Error(), `"lots" is not a size: a number of bytes, or a number with a unit`) {
		t.Errorf("message: %v", err)
	}
}

func TestDecode(t *testing.T) {
	var y struct {
		A Size `yaml:"a"`
		B Size `yaml:"b"`
	}
	if err := yaml.Unmarshal([]byte("a: 256MB\nb: 1024\n"), &y); err != nil || y.A != 256e6 || y.B != 1024 {
		t.Errorf("YAML: %+v %v", y, err)
	}
	if err := yaml.Unmarshal([]byte("\n\na: 2 bananas\n"), &y); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("YAML error names no line: %v", err)
	}
	if err := yaml.Unmarshal([]byte("a: [1]\n"), &y); err == nil {
		t.Error("YAML list read as a size")
	}
	var j struct{ A, B Size }
	if err := json.Unmarshal([]byte(`{"A":"1GiB","B":42}`), &j); err != nil || j.A != 1<<30 || j.B != 42 {
		t.Errorf("JSON: %+v %v", j, err)
	}
	out, _ := yaml.Marshal(struct {
		A Size `yaml:"a"`
	}{1 << 20})
	if string(out) != "a: 1048576\n" {
		t.Errorf("marshalled %q", out)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"256MB", "1GiB", "12", "-3k", "1.5 TiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Parse(s)
	})
}
