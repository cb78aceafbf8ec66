package netguard

import (
	"errors"
	"net/netip"
	"testing"
)

func TestOf(t *testing.T) {
	for addr, want := range map[string]Class{
		"8.8.8.8":                     Public,
		"2606:4700::1111":             Public,
		"10.1.2.3":                    Private,
		"192.168.0.1":                 Private,
		"100.64.0.1":                  Private,
		"fd12:3456::1":                Private,
		"127.0.0.1":                   Loopback,
		"::1":                         Loopback,
		"169.254.169.254":             LinkLocal,
		"fe80::1":                     LinkLocal,
		"fe80::1%eth0":                LinkLocal,
		"168.63.129.16":               Metadata,
		"100.100.100.200":             Metadata,
		"fd00:ec2::254":               Metadata,
		"0.0.0.0":                     NotUnicast,
		"::":                          NotUnicast,
		"224.0.0.1":                   NotUnicast,
		"255.255.255.255":             NotUnicast,
		"ff02::1":                     NotUnicast,
		"::ffff:127.0.0.1":            Loopback,  // IPv4-mapped
		"::ffff:169.254.169.254":      LinkLocal, // IPv4-mapped
		"::169.254.169.254":           LinkLocal, // IPv4-compatible
		"::10.0.0.1":                  Private,   // IPv4-compatible
		"::8.8.8.8":                   Public,    // IPv4-compatible
		"64:ff9b::a9fe:a9fe":          LinkLocal, // NAT64 of 169.254.169.254
		"64:ff9b::10.0.0.1":           Private,   // NAT64 of 10.0.0.1
		"64:ff9b::127.0.0.1":          Loopback,  // NAT64 of 127.0.0.1
		"64:ff9b::a83f:8110":          Metadata,  // NAT64 of 168.63.129.16
		"64:ff9b::8.8.8.8":            Public,    // NAT64 of a public address
		"64:ff9b:1::8.8.8.8":          Private,   // local-use NAT64 is never public
		"64:ff9b:1:a9fe:a9:fe00::":    LinkLocal, // local-use NAT64 /48 of 169.254.169.254
		"64:ff9b:1::a9:fea9:fe00:0":   LinkLocal, // local-use NAT64 /64 of 169.254.169.254
		"2002:a9fe:a9fe::1":           LinkLocal, // 6to4 of 169.254.169.254
		"2002:7f00:1::1":              Loopback,  // 6to4 of 127.0.0.1
		"2002:c0a8:101::1":            Private,   // 6to4 of 192.168.1.1
		"2002:808:808::1":             Public,    // 6to4 of 8.8.8.8
		"2001:0:a9fe:a9fe::f7f7:f7f7": LinkLocal, // Teredo, server 169.254.169.254
		"2001:0:808:808::80ff:fefe":   Loopback,  // Teredo, client ^0x80fffefe = 127.0.1.1
		"2001:0:808:808::f7f7:f7f7":   Public,    // Teredo, client 8.8.8.8 via server 8.8.8.8
	} {
		if got := Of(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Of(%s) = %s, want %s", addr, got, want)
		}
	}
}

func TestPolicy(t *testing.T) {
	webhook := Policy{Hint: "set notify.allow_private_targets to allow"}
	upstream := Policy{AllowPrivate: true}
	f := func(p Policy, host string, ok bool) {
		t.Helper()
		err := p.Host(host)
		if ok != (err == nil) || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("%+v.Host(%q) = %v, want ok=%v", p, host, err, ok)
		}
	}
	f(webhook, "example.com", true)
	f(webhook, "8.8.8.8", true)
	f(webhook, "127.0.0.1", false)
	f(webhook, "localhost", false)
	f(webhook, "[::ffff:10.0.0.1]", false)
	f(webhook, "64:ff9b::10.0.0.1", false)
	f(upstream, "127.0.0.1", true) // Ollama on loopback is a real gateway upstream
	f(upstream, "localhost", true)
	f(upstream, "10.0.0.5", true)
	f(upstream, "169.254.169.254", false)
	f(upstream, "Metadata.Google.Internal.", false)
	f(upstream, "fd00:ec2::254", false)
	f(upstream, "64:ff9b::a9fe:a9fe", false)
	f(upstream, "2002:a9fe:a9fe::1", false)
	if err := webhook.Host("10.0.0.1"); err == nil || err.Error() != "forbidden target: 10.0.0.1 is private (set notify.allow_private_targets to allow)" {
		t.Errorf("message: %v", err)
	}
	if err := upstream.Control("tcp", "[64:ff9b::a9fe:a9fe]:80", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("Control NAT64 metadata: %v", err)
	}
	if err := upstream.Control("tcp", "127.0.0.1:11434", nil); err != nil {
		t.Errorf("Control loopback upstream: %v", err)
	}
}
