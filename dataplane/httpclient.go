package dataplane

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/conncat/conncat/connection"
)

// awsHTTPClient is the HTTP client of every AWS call conncat makes (the
// data plane's configs and VALIDATE), built from the engine's own.
//
// It never follows a redirect: a signed request must reach only the host
// it was signed for, and no AWS API conncat calls needs the client to
// follow one (the SDK's own client follows 307 and 308, headers and all).
// The 3xx answer itself comes back, and the SDK reports it as an error.
//
// With WithPublicAddressesOnly it also dials only public addresses and
// ignores HTTP(S)_PROXY: through a proxy, the guard would judge the
// proxy's address, not the tenant's endpoint behind it.
//
// An engine's HTTP client of its own type is kept as it is, unless the
// catalog is guarded: its redirect policy is the engine's decision.
func awsHTTPClient(base aws.HTTPClient, publicOnly bool) aws.HTTPClient {
	var tr *http.Transport
	switch b := base.(type) {
	case nil:
		tr = awshttp.NewBuildableClient().GetTransport()
	case *awshttp.BuildableClient:
		tr = b.GetTransport()
	default:
		if !publicOnly {
			return base
		}
		tr = awshttp.NewBuildableClient().GetTransport()
	}
	if publicOnly {
		tr.Proxy = nil
		dialer := awshttp.NewBuildableClient().GetDialer()
		dialer.Control = connection.PublicAddressesOnly
		tr.DialContext = dialer.DialContext
	}
	return &http.Client{Transport: tr, CheckRedirect: refuseRedirect}
}

func refuseRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
