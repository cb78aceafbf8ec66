// Package netguard classifies network addresses by where they lead —
// public, private, loopback, link-local, a cloud metadata service — looking
// through every IPv6 form that embeds an IPv4 address (mapped, compatible,
// NAT64, 6to4, Teredo), and refuses the classes a caller's policy forbids,
// when a URL is validated and again on every connection.
package netguard
