package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenTarget is wrapped by the error for a receiver URL that
// points where notifications may not go.
var ErrForbiddenTarget = errors.New("forbidden target")

// metadataHosts are cloud metadata service names, refused whatever the
// configuration says.
var metadataHosts = []string{"metadata.google.internal", "metadata.goog", "metadata", "metadata.azure.com",
	"instance-data", "instance-data.ec2.internal"}

// metadataAddrs are metadata service addresses outside link-local ranges.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("fd00:ec2::254"),   // AWS (IPv6)
	netip.MustParseAddr("168.63.129.16"),   // Azure wire server
}

// checkAddr refuses addresses notifications may not reach: link-local
// (169.254.0.0/16, fe80::/10, where metadata services live), metadata
// addresses, unspecified and multicast addresses always; private,
// shared (100.64.0.0/10) and loopback ones unless allowPrivate.
func checkAddr(ip netip.Addr, allowPrivate bool) error {
	ip = ip.Unmap()
	switch {
	case ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast():
		return fmt.Errorf("%w: %s is link-local", ErrForbiddenTarget, ip)
	case ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is not a unicast address", ErrForbiddenTarget, ip)
	}
	for _, m := range metadataAddrs {
		if ip == m {
			return fmt.Errorf("%w: %s is a metadata service", ErrForbiddenTarget, ip)
		}
	}
	if allowPrivate {
		return nil
	}
	if ip.IsLoopback() || ip.IsPrivate() || netip.MustParsePrefix("100.64.0.0/10").Contains(ip) {
		return fmt.Errorf("%w: %s is private or loopback (set notify.allow_private_targets to allow)", ErrForbiddenTarget, ip)
	}
	return nil
}

// CheckURL checks a receiver URL before it is saved: http(s), no
// credentials, and a host that is not a metadata name or a forbidden
// literal address. Names are checked again, resolved, when dialed.
func CheckURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("not an http(s) URL")
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	for _, m := range metadataHosts {
		if host == m {
			return fmt.Errorf("%w: %s is a metadata service", ErrForbiddenTarget, host)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return checkAddr(ip, allowPrivate)
	}
	if !allowPrivate && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
		return fmt.Errorf("%w: %s is loopback (set notify.allow_private_targets to allow)", ErrForbiddenTarget, host)
	}
	return nil
}

// newClient returns the HTTP client receivers post with: every address
// it connects to is checked when dialed (so a name that resolves, or
// later re-resolves, to a forbidden address is refused), no proxy, no
// redirects, timeouts on every phase.
func newClient(allowPrivate bool, timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrForbiddenTarget, address)
			}
			return checkAddr(ap.Addr(), allowPrivate)
		},
	}
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
