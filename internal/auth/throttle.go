package auth

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Login throttling. Every attempt is counted before its password is
// hashed — reserved — so parallel guesses cannot all pass the check
// before the first failure is written: after maxFailures attempts for a
// user name, or maxAddrFailures from one client address, within
// failureWindow, further attempts are refused until the oldest leaves
// the window. A successful login takes its own reservation back. At most
// a few bcrypt comparisons run at once (Options.MaxConcurrentLogins);
// an attempt beyond them is refused at once, not queued, so the
// unauthenticated login endpoint cannot be made a CPU sink.
const (
	maxFailures     = 10
	maxAddrFailures = 30
	failureWindow   = 15 * time.Minute
	// maxTracked bounds the names and addresses remembered, whatever is
	// tried; when full, unknown ones are refused until entries expire.
	maxTracked = 100_000
)

// ThrottledError is a refused login: how long to wait (Retry-After). It
// wraps ErrThrottled.
type ThrottledError struct {
	RetryAfter time.Duration
	Why        string
}

func (e *ThrottledError) Error() string { return e.Why }
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// RetryAfterSeconds is the Retry-After header for err (at least 1), or 0
// when err is not a ThrottledError.
func RetryAfterSeconds(err error) int {
	var te *ThrottledError
	if !errors.As(err, &te) {
		return 0
	}
	return max(1, int((te.RetryAfter+time.Second-1)/time.Second))
}

// loginGuard counts login attempts by user name and client address and
// bounds concurrent password hashing.
type loginGuard struct {
	mu     sync.Mutex
	users  map[string][]time.Time // attempts not known to have succeeded
	addrs  map[string][]time.Time
	hashes chan struct{} // a slot per concurrent bcrypt comparison
}

func newLoginGuard(concurrent int) *loginGuard {
	if concurrent <= 0 {
		concurrent = max(2, runtime.NumCPU())
	}
	return &loginGuard{users: map[string][]time.Time{}, addrs: map[string][]time.Time{}, hashes: make(chan struct{}, concurrent)}
}

// recent prunes m[k] to the window and returns it.
func recent(m map[string][]time.Time, k string, now time.Time) []time.Time {
	ts := m[k]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= failureWindow {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(m, k)
	} else {
		m[k] = ts
	}
	return ts
}

func sweep(m map[string][]time.Time, now time.Time) {
	for k := range m {
		recent(m, k, now)
	}
}

// reserve counts an attempt for name from addr ("" when unknown) and
// takes a hashing slot, or refuses with a *ThrottledError. The caller
// must call done once the password is checked, with whether it matched.
func (g *loginGuard) reserve(now time.Time, name, addr string) (done func(ok bool), err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	refuse := func(ts []time.Time, why string) error {
		return &ThrottledError{RetryAfter: ts[0].Add(failureWindow).Sub(now), Why: why}
	}
	if ts := recent(g.users, name, now); len(ts) >= maxFailures {
		return nil, refuse(ts, "too many failed logins for this user; try again later")
	}
	if addr != "" {
		if ts := recent(g.addrs, addr, now); len(ts) >= maxAddrFailures {
			return nil, refuse(ts, "too many failed logins from this address; try again later")
		}
	}
	for _, m := range []map[string][]time.Time{g.users, g.addrs} {
		if len(m) >= maxTracked {
			sweep(m, now)
		}
	}
	_, knownUser := g.users[name]
	_, knownAddr := g.addrs[addr]
	if (!knownUser && len(g.users) >= maxTracked) || (addr != "" && !knownAddr && len(g.addrs) >= maxTracked) {
		return nil, &ThrottledError{RetryAfter: time.Minute, Why: "too many failed logins; try again later"}
	}
	select {
	case g.hashes <- struct{}{}:
	default:
		return nil, &ThrottledError{RetryAfter: time.Second, Why: "too many logins at once; try again in a moment"}
	}
	g.users[name] = append(g.users[name], now)
	if addr != "" {
		g.addrs[addr] = append(g.addrs[addr], now)
	}
	return func(ok bool) {
		<-g.hashes
		if !ok {
			return // the reservation stays, as a failure
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		for _, e := range []struct {
			m map[string][]time.Time
			k string
		}{{g.users, name}, {g.addrs, addr}} {
			ts := e.m[e.k]
			if i := slices.Index(ts, now); i >= 0 {
				e.m[e.k] = slices.Delete(ts, i, i+1)
			}
			if len(e.m[e.k]) == 0 {
				delete(e.m, e.k)
			}
		}
	}, nil
}

// ClientAddr is the address a login is throttled by: the connection's
// remote address, or — only when that is one of trusted (a reverse
// proxy in front of genscope) — the last address in X-Forwarded-For that
// is not itself trusted.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(ip) {
		return ip.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !isTrusted(a) {
			return a.String()
		}
	}
	return ip.String()
}

// ParseTrustedProxies parses CIDR prefixes or addresses.
func ParseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("trusted_proxies[%d]: %q is not an address or CIDR prefix", i, s)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
