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

func nonPublic(ip netip.Addr) string {
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
	// Carrier-grade NAT (100.64.0.0/10) is internal in every cloud.
	if cgnat.Contains(ip) {
		return "shared (carrier-grade NAT)"
	}
	return ""
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")
