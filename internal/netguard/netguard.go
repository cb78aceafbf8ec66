package netguard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"syscall"
)

// ErrForbidden is wrapped by every refusal.
var ErrForbidden = errors.New("forbidden target")

// Class is where an address leads, from least to most restricted.
type Class int

// The classes, ordered: a higher class is never allowed where a lower
// one is refused.
const (
	Public     Class = iota
	Private          // RFC 1918, unique-local, shared (100.64.0.0/10), benchmarking, NAT64 local-use
	Loopback         // 127.0.0.0/8, ::1, localhost
	LinkLocal        // 169.254.0.0/16, fe80::/10: where metadata services live
	Metadata         // a cloud metadata service's name or address
	NotUnicast       // unspecified, "this network", multicast, broadcast, reserved
)

func (c Class) String() string {
	switch c {
	case Public:
		return "public"
	case Private:
		return "private"
	case Loopback:
		return "loopback"
	case LinkLocal:
		return "link-local"
	case Metadata:
		return "a metadata service"
	default:
		return "not a unicast address"
	}
}

// metadataNames are cloud metadata service host names.
var metadataNames = []string{"metadata.google.internal", "metadata.goog", "metadata", "metadata.azure.com",
	"instance-data", "instance-data.ec2.internal"}

// metadataAddrs are metadata service addresses outside link-local ranges.
var metadataAddrs = []netip.Addr{
	netip.MustParseAddr("100.100.100.200"), // Alibaba Cloud
	netip.MustParseAddr("168.63.129.16"),   // Azure wire server
	netip.MustParseAddr("192.0.0.192"),     // Oracle Cloud (legacy)
	netip.MustParseAddr("fd00:ec2::254"),   // AWS (IPv6)
	netip.MustParseAddr("fd20:ce::254"),    // Google Cloud (IPv6)
}

var (
	thisNetwork  = netip.MustParsePrefix("0.0.0.0/8")
	shared       = netip.MustParsePrefix("100.64.0.0/10")
	ietf         = netip.MustParsePrefix("192.0.0.0/24")
	benchmarking = netip.MustParsePrefix("198.18.0.0/15")
	reserved     = netip.MustParsePrefix("240.0.0.0/4") // and 255.255.255.255
	compatible   = netip.MustParsePrefix("::/96")
	nat64        = netip.MustParsePrefix("64:ff9b::/96")
	nat64Local   = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour    = netip.MustParsePrefix("2002::/16")
	teredo       = netip.MustParsePrefix("2001::/32")
)

// Of classifies ip: the most restricted class of the address itself and
// of every IPv4 address it embeds (IPv4-mapped and -compatible, NAT64
// 64:ff9b::/96 and the local-use 64:ff9b:1::/48 at each RFC 6052 prefix
// length, 6to4 2002::/16, Teredo's server and client). An IPv6 address
// that reaches an IPv4 host through a translator is as dangerous as that
// host.
func Of(ip netip.Addr) Class {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		return of4(ip.Unmap())
	}
	if ip.Is4() {
		return of4(ip)
	}
	c := of6(ip)
	guesses := nat64Local.Contains(ip)
	for _, v4 := range embedded(ip) {
		e := of4(v4)
		if guesses && e == NotUnicast {
			continue // a reading of the local-use prefix at the wrong length
		}
		c = max(c, e)
	}
	return c
}

func of4(ip netip.Addr) Class {
	for _, m := range metadataAddrs {
		if ip == m {
			return Metadata
		}
	}
	switch {
	case ip.IsUnspecified() || thisNetwork.Contains(ip) || ip.IsMulticast() || reserved.Contains(ip):
		return NotUnicast
	case ip.IsLinkLocalUnicast():
		return LinkLocal
	case ip.IsLoopback():
		return Loopback
	case ip.IsPrivate() || shared.Contains(ip) || ietf.Contains(ip) || benchmarking.Contains(ip):
		return Private
	}
	return Public
}

func of6(ip netip.Addr) Class {
	for _, m := range metadataAddrs {
		if ip == m {
			return Metadata
		}
	}
	switch {
	case ip.IsUnspecified() || ip.IsMulticast():
		return NotUnicast
	case ip.IsLinkLocalUnicast():
		return LinkLocal
	case ip.IsLoopback():
		return Loopback
	case ip.IsPrivate() || nat64Local.Contains(ip):
		return Private
	}
	return Public
}

// embedded returns the IPv4 addresses ip may lead to through a
// translation or tunnelling mechanism.
func embedded(ip netip.Addr) []netip.Addr {
	b := ip.As16()
	v4 := func(p []byte) netip.Addr { return netip.AddrFrom4([4]byte{p[0], p[1], p[2], p[3]}) }
	switch {
	case compatible.Contains(ip) && !ip.IsLoopback() && !ip.IsUnspecified(), nat64.Contains(ip):
		return []netip.Addr{v4(b[12:16])}
	case nat64Local.Contains(ip):
		// RFC 6052 §2.2: the operator picks the prefix length; bits 64–71
		// are always zero, so the IPv4 address straddles them below /96.
		return []netip.Addr{
			v4([]byte{b[6], b[7], b[9], b[10]}),  // /48
			v4([]byte{b[7], b[9], b[10], b[11]}), // /56
			v4(b[9:13]),                          // /64
			v4(b[12:16]),                         // /96
		}
	case sixToFour.Contains(ip):
		return []netip.Addr{v4(b[2:6])}
	case teredo.Contains(ip):
		var client [4]byte
		binary.BigEndian.PutUint32(client[:], ^binary.BigEndian.Uint32(b[12:16]))
		return []netip.Addr{v4(b[4:8]), netip.AddrFrom4(client)}
	}
	return nil
}

// Name classifies a host name without resolving it: a metadata service
// name, localhost, or an address literal; any other name is Public until
// it is resolved (and its addresses checked when dialled).
func Name(host string) Class {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		return Of(ip)
	}
	for _, m := range metadataNames {
		if host == m {
			return Metadata
		}
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return Loopback
	}
	return Public
}

// Policy says which classes a kind of target may reach. Link-local,
// metadata and non-unicast addresses are always refused.
type Policy struct {
	// AllowPrivate allows Private and Loopback targets.
	AllowPrivate bool
	// Hint is added to the refusal of a private or loopback target:
	// how to allow it ("set notify.allow_private_targets to allow").
	Hint string
}

func (p Policy) allow(c Class, what string) error {
	switch {
	case c == Public:
		return nil
	case c <= Loopback && p.AllowPrivate:
		return nil
	case c <= Loopback && p.Hint != "":
		return fmt.Errorf("%w: %s is %s (%s)", ErrForbidden, what, c, p.Hint)
	}
	return fmt.Errorf("%w: %s is %s", ErrForbidden, what, c)
}

// Addr refuses ip if its class is not allowed.
func (p Policy) Addr(ip netip.Addr) error { return p.allow(Of(ip), ip.String()) }

// Host refuses a host name or address literal whose class is not
// allowed. A name passing here must still be checked when dialled.
func (p Policy) Host(host string) error { return p.allow(Name(host), host) }

// Control is a net.Dialer Control function that refuses a connection to
// an address the policy does not allow: the check after resolution, on
// every connection, so a name that resolves (or later re-resolves) to a
// forbidden address is refused.
func (p Policy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbidden, address)
	}
	return p.Addr(ap.Addr())
}
