package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func lookup(name string) (string, bool) {
	if name == "GENSCOPE_TEST_DATA" {
		return "/tmp/from-env", true
	}
	return "", false
}

func TestGoodFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(raw, lookup); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestFullFile(t *testing.T) {
	raw, _ := os.ReadFile("testdata/full.good.yaml")
	c, err := Parse(raw, lookup)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9318" || c.GRPCListen != "" || c.HTTP.ShutdownTimeout.D() != time.Minute ||
		c.HTTP.ReadTimeout != Default().HTTP.ReadTimeout || c.Store.DuckDB.Threads != 2 ||
		len(c.Pricing) != 1 || *c.Pricing[0].OutputPerMTok != 12 {
		t.Fatalf("decoded %+v", c)
	}
	env, _ := os.ReadFile("testdata/env.good.yaml")
	c, _ = Parse(env, lookup)
	if c.Data != "/tmp/from-env" {
		t.Fatalf("data = %q", c.Data)
	}
}

func TestBadFiles(t *testing.T) {
	want := map[string][]string{
		"unknown-key.bad.yaml":  {"listne"},
		"bad-duration.bad.yaml": {"forever"},
		"missing-env.bad.yaml":  {"GENSCOPE_TEST_UNSET_VARIABLE"},
		"tls.bad.yaml":          {"tls: cert_file and key_file go together"},
		"many-problems.bad.yaml": {"listen:", "log_level:", "ingest.max_body_bytes:", "store.driver:",
			"pricing[0].model: required", "pricing[0].effective:"},
	}
	for f, msgs := range want {
		raw, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(raw, lookup)
		if err == nil {
			t.Errorf("%s: no error", f)
			continue
		}
		for _, m := range msgs {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error %q does not mention %q", f, err, m)
			}
		}
	}
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range files {
		raw, _ := os.ReadFile(p)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := Parse(raw, lookup)
		if err == nil {
			if verr := c.Validate(); verr != nil {
				t.Fatalf("Parse accepted a config that does not validate: %v", verr)
			}
		}
	})
}
