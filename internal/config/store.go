package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ClickHouse configures the ClickHouse store (store.driver: clickhouse).
type ClickHouse struct {
	// Addrs are host:port addresses of the native protocol (port 9000 by
	// default); the first that answers is used.
	Addrs []string `yaml:"addrs"`
	// HTTPAddr is the host:port of the HTTP interface inserts are sent
	// to; empty means the first address's host, port 8123.
	HTTPAddr string `yaml:"http_addr"`
	// Database is created when missing; default "genscope".
	Database string `yaml:"database"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// Cluster names a cluster of the servers' remote_servers: local tables
	// on every host and Distributed tables over them.
	Cluster      string   `yaml:"cluster"`
	DialTimeout  Duration `yaml:"dial_timeout"`
	ReadTimeout  Duration `yaml:"read_timeout"`
	MaxOpenConns int      `yaml:"max_open_conns"`
	// ExactPercentiles is the most calls of the project a query's time
	// range may hold for exact percentiles; beyond it they are estimates
	// from the rollups. 0 means 100,000.
	ExactPercentiles int64 `yaml:"exact_percentiles"`
	// Secure speaks TLS on both protocols (ClickHouse's tcp_port_secure,
	// 9440, and https_port, 8443, by default); the server's certificate is
	// checked against the system's roots, or CAFile's (PEM) when set.
	Secure bool   `yaml:"secure"`
	CAFile string `yaml:"ca_file"`
}

var chIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate reports the problems of the ClickHouse section, by field path.
func (c *ClickHouse) validate(bad func(field, format string, args ...any)) {
	if len(c.Addrs) == 0 {
		bad("store.clickhouse.addrs", "at least one host:port is required with driver clickhouse")
	}
	for i, a := range c.Addrs {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			bad(fmt.Sprintf("store.clickhouse.addrs[%d]", i), "%q is not host:port", a)
		}
	}
	if c.HTTPAddr != "" {
		if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
			bad("store.clickhouse.http_addr", "%q is not host:port", c.HTTPAddr)
		}
	}
	if c.Database != "" && !chIdent.MatchString(c.Database) {
		bad("store.clickhouse.database", "%q: letters, digits and _ only", c.Database)
	}
	if c.Cluster != "" && !chIdent.MatchString(c.Cluster) {
		bad("store.clickhouse.cluster", "%q: letters, digits and _ only", c.Cluster)
	}
	if c.DialTimeout < 0 {
		bad("store.clickhouse.dial_timeout", "must not be negative")
	}
	if c.ReadTimeout < 0 {
		bad("store.clickhouse.read_timeout", "must not be negative")
	}
	if c.MaxOpenConns < 0 {
		bad("store.clickhouse.max_open_conns", "must not be negative")
	}
	if c.ExactPercentiles < 0 {
		bad("store.clickhouse.exact_percentiles", "must not be negative")
	}
	if c.CAFile != "" && !c.Secure {
		bad("store.clickhouse.ca_file", "is for secure: true")
	}
}

// ParseStoreURL reads a store location as the --store, --from and --to
// flags take it, onto a copy of base:
//
//	duckdb:PATH
//	clickhouse://[USER[:PASSWORD]@]HOST:PORT/DATABASE[?cluster=NAME&http_addr=HOST:PORT&dial_timeout=5s&read_timeout=1m&secure=true&ca_file=PATH]
//
// It returns the store and, for duckdb, the file's path.
func ParseStoreURL(base Store, s string) (Store, string, error) {
	if p, ok := strings.CutPrefix(s, "duckdb:"); ok {
		if p == "" {
			return base, "", fmt.Errorf("store %q: duckdb:PATH needs a path", s)
		}
		base.Driver = "duckdb"
		return base, p, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "clickhouse" || u.Host == "" {
		return base, "", fmt.Errorf("store: want duckdb:PATH or clickhouse://HOST:PORT/DATABASE, got %q", redactURL(s))
	}
	ch := base.ClickHouse
	q := u.Query()
	if v := q.Get("secure"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return base, "", fmt.Errorf("store: secure=%q is not true or false", v)
		}
		ch.Secure = b
	}
	host := u.Host
	if u.Port() == "" {
		port := "9000"
		if ch.Secure {
			port = "9440"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	ch.Addrs = []string{host}
	if db := strings.Trim(u.Path, "/"); db != "" {
		ch.Database = db
	}
	if u.User != nil {
		ch.Username = u.User.Username()
		if p, ok := u.User.Password(); ok {
			ch.Password = Secret(p)
		}
	}
	for k := range q {
		switch k {
		case "secure":
		case "ca_file":
			ch.CAFile = q.Get(k)
		case "cluster":
			ch.Cluster = q.Get(k)
		case "http_addr":
			ch.HTTPAddr = q.Get(k)
		case "dial_timeout", "read_timeout":
			d, err := time.ParseDuration(q.Get(k))
			if err != nil {
				return base, "", fmt.Errorf("store: %s=%q is not a duration", k, q.Get(k))
			}
			if k == "dial_timeout" {
				ch.DialTimeout = Duration(d)
			} else {
				ch.ReadTimeout = Duration(d)
			}
		case "max_open_conns":
			n, err := strconv.Atoi(q.Get(k))
			if err != nil {
				return base, "", fmt.Errorf("store: max_open_conns=%q is not a number", q.Get(k))
			}
			ch.MaxOpenConns = n
		default:
			return base, "", fmt.Errorf("store: unknown parameter %q", k)
		}
	}
	var errs []string
	ch.validate(func(field, format string, args ...any) {
		errs = append(errs, field+": "+fmt.Sprintf(format, args...))
	})
	if len(errs) > 0 {
		return base, "", fmt.Errorf("store %s: %s", redactURL(s), strings.Join(errs, "; "))
	}
	base.Driver, base.ClickHouse = "clickhouse", ch
	return base, "", nil
}

// redactURL drops a password from a store URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "…" + s[i:]
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "REDACTED")
	}
	return u.String()
}
