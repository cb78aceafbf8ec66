package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/alert"
)

// Notify configures how notifications are delivered.
type Notify struct {
	// AllowPrivateTargets lets webhooks reach private and loopback
	// addresses (link-local and cloud metadata addresses never).
	AllowPrivateTargets bool `yaml:"allow_private_targets"`
	SMTP                SMTP `yaml:"smtp"`
	// Attempts is how many times a notification is tried (5).
	Attempts int `yaml:"attempts"`
	// AttemptTimeout bounds one attempt (10s).
	AttemptTimeout Duration `yaml:"attempt_timeout"`
	// Backoff is the wait before the second attempt, doubled after each (2s).
	Backoff Duration `yaml:"backoff"`
}

// SMTP is the mail server email receivers send through.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"` // 587 by default
	From     string `yaml:"from"`
	Username string `yaml:"username"`
	Password Secret `yaml:"password"`
	// TLS is starttls (required; the default), tls (implicit, port 465)
	// or none (plain text; only for a relay on a trusted network).
	TLS string `yaml:"tls"`
}

// ActionGroup is a named set of receivers alert rules notify.
type ActionGroup struct {
	ID        string     `yaml:"id" json:"id"`
	Name      string     `yaml:"name" json:"name"`
	Receivers []Receiver `yaml:"receivers" json:"receivers"`
}

// Receiver types.
const (
	ReceiverEmail     = "email"
	ReceiverWebhook   = "webhook"
	ReceiverSlack     = "slack"
	ReceiverTeams     = "teams"
	ReceiverPagerDuty = "pagerduty"
)

// Receiver is one destination of an action group. Which fields apply
// depends on Type.
type Receiver struct {
	Type string `yaml:"type" json:"type"` // email, webhook, slack, teams, pagerduty
	Name string `yaml:"name" json:"name,omitempty"`
	// URL of webhook, slack and teams; a secret, since Slack and Teams
	// URLs carry their token.
	URL Secret `yaml:"url" json:"url,omitempty"`
	// HMACSecret signs webhook bodies (X-Genscope-Signature: sha256=...).
	HMACSecret Secret `yaml:"hmac_secret" json:"hmac_secret,omitempty"`
	// RoutingKey is the PagerDuty Events API v2 integration key.
	RoutingKey Secret `yaml:"routing_key" json:"routing_key,omitempty"`
	// To are the email addresses.
	To []string `yaml:"to" json:"to,omitempty"`
}

// Validate reports the receiver's problems, each naming its field under
// prefix (e.g. "receivers[0]").
func (r Receiver) Validate(prefix string) error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, field, fmt.Sprintf(format, args...)))
	}
	checkURL := func() {
		if !r.URL.IsSet() {
			bad("url", "required for type %s", r.Type)
			return
		}
		u, err := url.Parse(r.URL.Reveal())
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("url", "not an http(s) URL")
		}
	}
	switch r.Type {
	case ReceiverWebhook:
		checkURL()
	case ReceiverSlack, ReceiverTeams:
		checkURL()
		if r.HMACSecret.IsSet() {
			bad("hmac_secret", "only for type webhook")
		}
	case ReceiverPagerDuty:
		if !r.RoutingKey.IsSet() {
			bad("routing_key", "required for type pagerduty")
		}
	case ReceiverEmail:
		if len(r.To) == 0 {
			bad("to", "required for type email")
		}
		for i, a := range r.To {
			if _, err := mail.ParseAddress(a); err != nil {
				bad(fmt.Sprintf("to[%d]", i), "%q is not an email address", a)
			}
		}
	default:
		bad("type", "%q is not one of email, webhook, slack, teams, pagerduty", r.Type)
	}
	if r.Type != ReceiverEmail && len(r.To) > 0 {
		bad("to", "only for type email")
	}
	return errors.Join(errs...)
}

// AlertRule is an alert rule in the config file: alert.Rule's fields,
// with enabled and auto_resolve true unless set.
type AlertRule struct {
	alert.Rule  `yaml:",inline"`
	Enabled     *bool `yaml:"enabled"`
	AutoResolve *bool `yaml:"auto_resolve"`
}

// ToRule returns the rule with the defaults of alert.NewRule for what the
// file leaves out.
func (a AlertRule) ToRule() alert.Rule {
	r := a.Rule
	d := alert.NewRule()
	r.Enabled, r.AutoResolve = true, true
	if a.Enabled != nil {
		r.Enabled = *a.Enabled
	}
	if a.AutoResolve != nil {
		r.AutoResolve = *a.AutoResolve
	}
	if r.Window == 0 {
		r.Window = d.Window
	}
	if r.Frequency == 0 {
		r.Frequency = d.Frequency
	}
	if r.Violations == 0 {
		r.Violations = d.Violations
	}
	if r.Evaluations == 0 {
		r.Evaluations = max(d.Evaluations, r.Violations)
	}
	if r.NoData == "" {
		r.NoData = d.NoData
	}
	return r
}

func (c *Config) validateAlerts(bad func(field, format string, args ...any), errs *[]error) {
	n := c.Notify
	if n.Attempts < 1 || n.Attempts > 20 {
		bad("notify.attempts", "%d is not between 1 and 20", n.Attempts)
	}
	if n.AttemptTimeout.D() <= 0 || n.AttemptTimeout.D() > 5*time.Minute {
		bad("notify.attempt_timeout", "must be within 0 .. 5m")
	}
	if n.Backoff.D() < 0 {
		bad("notify.backoff", "must not be negative")
	}
	switch n.SMTP.TLS {
	case "starttls", "tls", "none":
	default:
		bad("notify.smtp.tls", "%q is not one of starttls, tls, none", n.SMTP.TLS)
	}
	if n.SMTP.Port < 0 || n.SMTP.Port > 65535 {
		bad("notify.smtp.port", "%d is not a port", n.SMTP.Port)
	}
	if n.SMTP.Host != "" {
		if _, err := mail.ParseAddress(n.SMTP.From); err != nil {
			bad("notify.smtp.from", "%q is not an email address", n.SMTP.From)
		}
	}
	if (n.SMTP.Username == "") != !n.SMTP.Password.IsSet() {
		bad("notify.smtp", "username and password go together")
	}
	groups := map[string]bool{}
	for i, g := range c.ActionGroups {
		f := fmt.Sprintf("action_groups[%d]", i)
		if g.ID == "" {
			bad(f+".id", "required")
		} else if groups[g.ID] {
			bad(f+".id", "%q is defined twice", g.ID)
		}
		groups[g.ID] = true
		if strings.TrimSpace(g.Name) == "" {
			bad(f+".name", "required")
		}
		if len(g.Receivers) == 0 {
			bad(f+".receivers", "at least one")
		}
		for j, r := range g.Receivers {
			if err := r.Validate(fmt.Sprintf("%s.receivers[%d]", f, j)); err != nil {
				*errs = append(*errs, err)
			}
			if r.Type == ReceiverEmail && n.SMTP.Host == "" {
				bad(fmt.Sprintf("%s.receivers[%d]", f, j), "email needs notify.smtp.host")
			}
		}
	}
	rules := map[string]bool{}
	for i, a := range c.Alerts {
		f := fmt.Sprintf("alerts[%d]", i)
		r := a.ToRule()
		if r.ID == "" {
			bad(f+".id", "required")
		} else if rules[r.ID] {
			bad(f+".id", "%q is defined twice", r.ID)
		} else if strings.ContainsAny(r.ID, "/#?") {
			bad(f+".id", "%q may not contain / # or ?", r.ID)
		}
		rules[r.ID] = true
		if err := r.Validate(); err != nil {
			for _, e := range unjoin(err) {
				var fe *alert.FieldError
				if errors.As(e, &fe) {
					bad(f+"."+fe.Field, "%s", fe.Msg)
				} else {
					bad(f, "%v", e)
				}
			}
		}
		for j, g := range r.ActionGroups {
			if g != "" && !groups[g] {
				bad(fmt.Sprintf("%s.action_groups[%d]", f, j), "no action group %q in action_groups", g)
			}
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
