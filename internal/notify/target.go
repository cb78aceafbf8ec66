package notify

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/genscope/genscope/internal/netguard"
)

// ErrForbiddenTarget is wrapped by the error for a receiver URL that
// points where notifications may not go.
var ErrForbiddenTarget = netguard.ErrForbidden

// targetPolicy is where notifications may go: never link-local, metadata
// or non-unicast addresses (nor IPv6 forms embedding them: NAT64, 6to4,
// Teredo, mapped), private and loopback ones only if allowPrivate.
func targetPolicy(allowPrivate bool) netguard.Policy {
	return netguard.Policy{AllowPrivate: allowPrivate, Hint: "set notify.allow_private_targets to allow"}
}

// CheckURL checks a receiver URL before it is saved and before each
// send: http(s), no credentials, and a host that is not a metadata name
// or a forbidden literal address. Names are checked again, resolved, when
// dialed.
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an http(s) URL")
	}
	if u.User != nil {
		return errors.New("credentials in the URL are not allowed (user:password@)")
	}
	return targetPolicy(allowPrivate).Host(u.Hostname())
}

// newClient returns the HTTP client receivers post with: every address
// it connects to is checked when dialed (so a name that resolves, or
// later re-resolves, to a forbidden address is refused), no proxy, no
// redirects, timeouts on every phase.
func newClient(allowPrivate bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: targetPolicy(allowPrivate).Control}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           d.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       time.Minute,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dialContext is a context-aware dial, for SMTP.
func dialContext(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	d := &net.Dialer{Timeout: timeout}
	return d.DialContext(ctx, "tcp", addr)
}
