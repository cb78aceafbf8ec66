package config

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/genscope/genscope/internal/alert"
	"github.com/genscope/genscope/internal/notify"
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

// The notifier's settings, which package notify owns.
type (
	SMTP        = notify.SMTP
	ActionGroup = notify.ActionGroup
	Receiver    = notify.Receiver
)

// Receiver types.
const (
	ReceiverEmail     = notify.ReceiverEmail
	ReceiverWebhook   = notify.ReceiverWebhook
	ReceiverSlack     = notify.ReceiverSlack
	ReceiverTeams     = notify.ReceiverTeams
	ReceiverPagerDuty = notify.ReceiverPagerDuty
)

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
