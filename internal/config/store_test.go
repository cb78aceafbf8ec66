package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseStoreURL(t *testing.T) {
	base := Default().Store
	s, path, err := ParseStoreURL(base, "duckdb:/data/genscope.duckdb")
	if err != nil || s.Driver != "duckdb" || path != "/data/genscope.duckdb" {
		t.Errorf("duckdb: %+v %q %v", s, path, err)
	}
	s, _, err = ParseStoreURL(base, "clickhouse://u:pw-canary@ch1:9440/gs?cluster=prod&http_addr=ch1:8123&read_timeout=30s")
	if err != nil {
		t.Fatal(err)
	}
	c := s.ClickHouse
	if s.Driver != "clickhouse" || c.Addrs[0] != "ch1:9440" || c.Database != "gs" || c.Username != "u" ||
		c.Password.Reveal() != "pw-canary" || c.Cluster != "prod" || c.HTTPAddr != "ch1:8123" || c.ReadTimeout != Duration(30*time.Second) {
		t.Errorf("clickhouse: %+v", s)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", s, s), "pw-canary") {
		t.Error("the password prints")
	}
	s, _, err = ParseStoreURL(base, "clickhouse://localhost/genscope")
	if err != nil || s.ClickHouse.Addrs[0] != "localhost:9000" {
		t.Errorf("default port: %+v %v", s, err)
	}
	s, _, err = ParseStoreURL(base, "clickhouse://ch1/genscope?secure=true&ca_file=/etc/ch/ca.pem")
	if err != nil || !s.ClickHouse.Secure || s.ClickHouse.CAFile != "/etc/ch/ca.pem" || s.ClickHouse.Addrs[0] != "ch1:9440" {
		t.Errorf("secure: %+v %v", s, err)
	}
	for _, bad := range []string{"", "duckdb:", "mysql://x/y", "clickhouse:///db", "clickhouse://h:1/bad-name", "clickhouse://h:1/d?color=red",
		"clickhouse://u:pw-canary@h:1/d?read_timeout=forever", "clickhouse://h:1/d?secure=maybe", "clickhouse://h:1/d?ca_file=/ca.pem"} {
		_, _, err := ParseStoreURL(base, bad)
		if err == nil {
			t.Errorf("%q: no error", bad)
		} else if strings.Contains(err.Error(), "pw-canary") {
			t.Errorf("%q: error shows the password: %v", bad, err)
		}
	}
}
