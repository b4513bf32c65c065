package validate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/validate"
)

const injected = 20 * time.Millisecond

// BenchmarkValidateLatency runs VALIDATE with 20 ms added to every request
// and reports the wall time in round trips (rtt/op). Its floor is the
// longest dependent chain of calls; the sequential figure is every call
// of the same run made one after the other.
//
//   - two-hop role chain against awstest: the chain is jump hop, then the
//     customer hop beside the call without the external ID (2 round trips;
//     3 in sequence);
//   - static keys and every S3 check against MinIO behind a delaying proxy:
//     the chain is GetCallerIdentity, then write, read, delete and the
//     confirming HEAD (5; 9 in sequence).
func BenchmarkValidateLatency(b *testing.B) {
	b.Run("role-chain/awstest", func(b *testing.B) {
		w := newWorld(b)
		if err := w.sts.AddRole(customerRole, allow(jumpRole, needsID)); err != nil {
			b.Fatal(err)
		}
		w.sts.SetLatency(injected)
		target := validate.Target{Spec: roleSpec(jumpRole), CatalogName: "prod"}
		measure(b, func() []validate.Result { return validate.Run(context.Background(), target, w.options) }, 2, 3)
	})
	b.Run("static-keys+s3/minio", func(b *testing.B) {
		url, _ := minioSetup(b)
		proxy := delayingProxy(b, url)
		creds := aws.Credentials{AccessKeyID: testenv.MinIORootUser, SecretAccessKey: testenv.MinIORootPassword}
		target := validate.Target{Spec: keysSpec(proxy, "us-east-1", creds), CatalogName: "prod",
			S3: &connection.S3URL{Bucket: bucket, Prefix: "bench/"}}
		opts := validate.Options{Ambient: aws.Config{Region: "us-east-1"}}
		measure(b, func() []validate.Result { return validate.Run(context.Background(), target, opts) }, 5, 9)
	})
}

func measure(b *testing.B, run func() []validate.Result, chain, sequential int) {
	b.Helper()
	start := time.Now()
	for b.Loop() {
		if res := run(); validate.Failed(res) {
			b.Fatalf("validation failed: %+v", res)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(injected), "rtt/op")
	b.ReportMetric(float64(chain), "chain-rtt")
	b.ReportMetric(float64(sequential), "sequential-rtt")
}

func delayingProxy(b *testing.B, target string) string {
	b.Helper()
	u, err := url.Parse(target)
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	// Keep the Host header the client signed.
	director := rp.Director
	rp.Director = func(r *http.Request) { host := r.Host; director(r); r.Host = host }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(injected) // injected latency: a far-away region is what the benchmark measures
		rp.ServeHTTP(w, r)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}
