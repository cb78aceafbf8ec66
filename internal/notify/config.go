package notify

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"

	"github.com/genscope/genscope/internal/secret"
)

// SMTP is the mail server email receivers send through.
type SMTP struct {
	Host     string        `yaml:"host"`
	Port     int           `yaml:"port"` // 587 by default
	From     string        `yaml:"from"`
	Username string        `yaml:"username"`
	Password secret.Secret `yaml:"password"`
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
	URL secret.Secret `yaml:"url" json:"url,omitempty"`
	// HMACSecret signs webhook bodies (X-Genscope-Signature: sha256=...).
	HMACSecret secret.Secret `yaml:"hmac_secret" json:"hmac_secret,omitempty"`
	// RoutingKey is the PagerDuty Events API v2 integration key.
	RoutingKey secret.Secret `yaml:"routing_key" json:"routing_key,omitempty"`
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
