package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/genscope/genscope/internal/tenancy"
)

// Auth turns on projects, keys, users and roles.
type Auth struct {
	// Enabled requires a key for ingestion (OTLP, Application Insights,
	// the gateway) and a key, token or login for the API. Off (the
	// default), everything goes to and is read from the default project.
	Enabled bool `yaml:"enabled"`
	// AdminToken is a bearer token with every permission (usually
	// ${GENSCOPE_ADMIN_TOKEN}); at least 16 characters. Required when
	// enabled, as the first way in.
	AdminToken Secret `yaml:"admin_token"`
	// SessionTTL is how long a login lasts.
	SessionTTL Duration `yaml:"session_ttl"`
	// TrustedProxies are reverse proxies (addresses or CIDR prefixes) in
	// front of genscope whose X-Forwarded-For header names the client a
	// login is throttled by. Empty: the connection's address, and the
	// header is ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Project is a project defined in the config file: its content policy
// and retention (read-only through the API).
type Project struct {
	Name string `yaml:"name"`
	// Capture is full (default), metadata (no message content) or
	// redacted (e-mail addresses, phone, card and IBAN numbers, keys and
	// tokens masked, and RedactPatterns).
	Capture        string    `yaml:"capture"`
	RedactPatterns []string  `yaml:"redact_patterns"`
	Retention      Retention `yaml:"retention"`
}

// Retention is how long a project's data is kept; 0 keeps it forever.
type Retention struct {
	// Spans are deleted this long after they started.
	Spans Duration `yaml:"spans"`
	// Content (system instructions, inputs, outputs) is removed this long
	// after its span started; never longer than Spans.
	Content Duration `yaml:"content"`
}

func defaultAuth() Auth { return Auth{SessionTTL: Duration(12 * time.Hour)} }

// validateAuth reports the problems of auth and projects by field path.
func (c *Config) validateAuth(bad func(field, format string, args ...any)) {
	a := c.Auth
	for i, p := range a.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				bad(fmt.Sprintf("auth.trusted_proxies[%d]", i), "%q is not an address or CIDR prefix", p)
			}
		}
	}
	if a.Enabled && len(a.AdminToken.Reveal()) < 16 {
		bad("auth.admin_token", "at least 16 characters are required when auth is enabled")
	}
	if a.SessionTTL < Duration(time.Minute) || a.SessionTTL > Duration(90*24*time.Hour) {
		bad("auth.session_ttl", "must be between 1m and 2160h")
	}
	seen := map[string]bool{}
	for i, p := range c.Projects {
		f := fmt.Sprintf("projects[%d]", i)
		switch {
		case !tenancy.ValidName(p.Name):
			bad(f+".name", "%q must be 1-63 of a-z, 0-9, - and _, starting with a letter or digit", p.Name)
		case seen[p.Name]:
			bad(f+".name", "%q is defined twice", p.Name)
		}
		seen[p.Name] = true
		if !tenancy.ValidCapture(p.Capture) {
			bad(f+".capture", "%q is not full, metadata or redacted", p.Capture)
		}
		for j, pat := range p.RedactPatterns {
			if _, err := regexp.Compile(pat); err != nil {
				bad(fmt.Sprintf("%s.redact_patterns[%d]", f, j), "%v", err)
			}
		}
		if p.Retention.Spans < 0 {
			bad(f+".retention.spans", "must not be negative")
		}
		if p.Retention.Content < 0 {
			bad(f+".retention.content", "must not be negative")
		}
		if p.Retention.Spans > 0 && p.Retention.Content > p.Retention.Spans {
			bad(f+".retention.content", "must not be longer than retention.spans")
		}
		if (p.Retention.Spans > 0 && p.Retention.Spans < Duration(time.Hour)) ||
			(p.Retention.Content > 0 && p.Retention.Content < Duration(time.Hour)) {
			bad(f+".retention", "at least 1h")
		}
	}
}
