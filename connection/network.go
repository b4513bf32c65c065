package connection

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// PublicAddressesOnly is a net.Dialer Control function that refuses to
// connect to loopback, private, link-local (the instance metadata service
// included), multicast and unspecified addresses. A multi-tenant engine
// sets it so that a tenant's ENDPOINT cannot reach the engine's own
// network. It runs on the address being dialled, after DNS resolution, so
// a name that resolves to 127.0.0.1 or 169.254.169.254 is refused too.
func PublicAddressesOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("refusing to connect to %q: %v", address, err)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("refusing to connect to %q: not an IP address", address)
	}
	if reason := nonPublic(ip.Unmap()); reason != "" {
		return &BlockedAddressError{Address: address, Reason: reason}
	}
	return nil
}

// BlockedAddressError is a connection PublicAddressesOnly refused.
type BlockedAddressError struct {
	Address, Reason string
}

func (e *BlockedAddressError) Error() string {
	return fmt.Sprintf("refusing to connect to %s: %s addresses are not allowed for connections in this catalog", e.Address, e.Reason)
}

// nonPublic names why ip is not a public address, or returns "". An IPv6
// address that carries an IPv4 one (NAT64, 6to4) is judged by the IPv4
// address it reaches.
func nonPublic(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip.IsUnspecified():
		return "unspecified"
	}
	for _, r := range reserved {
		if r.prefix.Contains(ip) {
			return r.reason
		}
	}
	for _, t := range translated {
		if t.prefix.Contains(ip) {
			if reason := nonPublic(t.embedded(ip)); reason != "" {
				return reason + " (inside a " + t.name + " address)"
			}
		}
	}
	return ""
}

// reserved are ranges that are not on the public internet, beyond what
// netip classifies: internal in every cloud, or never routed.
var reserved = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // and 255.255.255.255
	{netip.MustParsePrefix("::/96"), "IPv4-compatible (deprecated)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/32"), "Teredo tunnel"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("fec0::/10"), "site-local (deprecated)"},
}

// translated are IPv6 ranges that reach an IPv4 address written inside
// them.
var translated = []struct {
	name     string
	prefix   netip.Prefix
	embedded func(netip.Addr) netip.Addr
}{
	{"NAT64", netip.MustParsePrefix("64:ff9b::/96"), func(ip netip.Addr) netip.Addr {
		b := ip.As16()
		return netip.AddrFrom4([4]byte(b[12:16]))
	}},
	{"6to4", netip.MustParsePrefix("2002::/16"), func(ip netip.Addr) netip.Addr {
		b := ip.As16()
		return netip.AddrFrom4([4]byte(b[2:6]))
	}},
}
