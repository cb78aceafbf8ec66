package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/smtp"
	"strconv"
	"time"

	"github.com/genscope/genscope/internal/alert"
)

// SignatureHeader carries a webhook body's HMAC-SHA256 ("sha256=<hex>"),
// keyed by the receiver's hmac_secret.
const SignatureHeader = "X-Genscope-Signature"

// DeliveryHeader carries the delivery id: the same for every attempt of
// a notification, so that a receiver can drop a repeat.
const DeliveryHeader = "X-Genscope-Delivery"

// DefaultPagerDutyURL is the PagerDuty Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// permanentError is a failure that retrying does not fix (a 4xx answer,
// a forbidden target).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// send delivers one notification to one receiver, once. It returns the
// HTTP status (0 for email or when there was no answer).
func (n *Notifier) send(ctx context.Context, r Receiver, deliveryID string, x alert.Notification) (int, error) {
	switch r.Type {
	case ReceiverWebhook:
		return n.post(ctx, r.URL.Reveal(), deliveryID, commonSchema(x), r.HMACSecret.Reveal())
	case ReceiverSlack:
		return n.post(ctx, r.URL.Reveal(), deliveryID, slackPayload(x), "")
	case ReceiverTeams:
		return n.post(ctx, r.URL.Reveal(), deliveryID, teamsPayload(x), "")
	case ReceiverPagerDuty:
		u := n.opts.PagerDutyURL
		if r.URL.IsSet() {
			u = r.URL.Reveal()
		}
		return n.post(ctx, u, deliveryID, pagerDutyPayload(x, r.RoutingKey.Reveal()), "")
	case ReceiverEmail:
		return 0, n.sendEmail(ctx, r.To, x)
	}
	return 0, &permanentError{fmt.Errorf("unknown receiver type %q", r.Type)}
}

func (n *Notifier) post(ctx context.Context, url, deliveryID string, payload any, secret string) (int, error) {
	if err := CheckURL(url, n.opts.AllowPrivateTargets); err != nil {
		return 0, &permanentError{err}
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return 0, &permanentError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, &permanentError{errors.New("bad URL")}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "genscope-notify/1")
	req.Header.Set(DeliveryHeader, deliveryID)
	if secret != "" {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		req.Header.Set(SignatureHeader, "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		// The error names the URL, which may carry a token: keep only
		// what went wrong.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		if errors.Is(err, ErrForbiddenTarget) {
			return 0, &permanentError{err}
		}
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp.StatusCode, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, &permanentError{fmt.Errorf("HTTP %d", resp.StatusCode)}
}

// sendEmail sends the notification through the configured SMTP server:
// STARTTLS (required) by default, implicit TLS, or plain text; AUTH PLAIN
// when a username is set.
func (n *Notifier) sendEmail(ctx context.Context, to []string, x alert.Notification) error {
	c := n.opts.SMTP
	if c.Host == "" {
		return &permanentError{errors.New("no SMTP server configured (notify.smtp.host)")}
	}
	port := c.Port
	if port == 0 {
		port = 587
	}
	timeout := n.opts.AttemptTimeout
	conn, err := dialContext(ctx, net.JoinHostPort(c.Host, strconv.Itoa(port)), timeout)
	if err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(timeout)
	}
	_ = conn.SetDeadline(deadline)
	tlsConf := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.TLS == "tls" {
		conn = tls.Client(conn, tlsConf)
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp: %w", err)
	}
	defer cl.Close()
	if err := cl.Hello("genscope"); err != nil {
		return fmt.Errorf("smtp hello: %w", err)
	}
	if c.TLS == "starttls" || c.TLS == "" {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return &permanentError{errors.New("smtp: the server does not offer STARTTLS (set notify.smtp.tls)")}
		}
		if err := cl.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("smtp starttls: %w", err)
		}
	}
	if c.Username != "" {
		if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password.Reveal(), c.Host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := cl.Mail(c.From); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	for _, a := range to {
		if err := cl.Rcpt(a); err != nil {
			return fmt.Errorf("smtp rcpt %s: %w", a, err)
		}
	}
	w, err := cl.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(emailMessage(x, c.From, to, time.Now())); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	return cl.Quit()
}
