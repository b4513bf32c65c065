package connection

import (
	"errors"
	"net"
	"testing"
)

// TestPublicAddressesOnly judges each address by what it reaches,
// translated addresses included.
func TestPublicAddressesOnly(t *testing.T) {
	for addr, public := range map[string]bool{
		"52.94.236.248":     true, // sts.amazonaws.com
		"2600:1f18::1":      true,
		"64:ff9b::3.5.1.1":  true, // NAT64 to a public address
		"2002:0305:0101::1": true, // 6to4 of 3.5.1.1

		"127.0.0.1": false, "10.1.2.3": false, "169.254.169.254": false, "100.64.0.1": false,
		"0.1.2.3": false, "192.0.0.170": false, "192.0.2.1": false, "198.18.0.1": false, "198.19.255.255": false,
		"203.0.113.9": false, "240.0.0.1": false, "255.255.255.255": false, "224.0.0.1": false,
		"::1": false, "::": false, "fe80::1": false, "fc00::1": false, "fd12::1": false, "fec0::1": false,
		"::ffff:127.0.0.1":   false, // IPv4-mapped
		"::127.0.0.1":        false, // IPv4-compatible
		"::8.8.8.8":          false, // IPv4-compatible, deprecated whatever it holds
		"64:ff9b::127.0.0.1": false, // NAT64 to loopback
		"64:ff9b::a9fe:a9fe": false, // NAT64 to the metadata service
		"64:ff9b:1::a00:1":   false, // local-use NAT64
		"2002:7f00:0001::1":  false, // 6to4 of 127.0.0.1
		"2002:a9fe:a9fe::1":  false, // 6to4 of 169.254.169.254
		"2001:0::1":          false, // Teredo
		"2001:db8::1":        false,
		"100::1":             false,
	} {
		err := PublicAddressesOnly("tcp", net.JoinHostPort(addr, "443"), nil)
		var blocked *BlockedAddressError
		if public && err != nil {
			t.Errorf("%s: refused a public address: %v", addr, err)
		}
		if !public && !errors.As(err, &blocked) {
			t.Errorf("%s: allowed (%v), want BlockedAddressError", addr, err)
		}
	}
}
