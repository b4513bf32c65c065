package awscreds

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// BenchmarkCachedRetrieve measures a Retrieve served from the cache by
// 1, 16 and 256 goroutines, beside the SDK's aws.CredentialsCache over
// the same fake STS in the same run. sts-calls/op shows that neither
// goes back to STS while the credentials are fresh.
func BenchmarkCachedRetrieve(b *testing.B) {
	for _, impl := range []string{"conncat", "aws.CredentialsCache"} {
		for _, par := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/goroutines=%d", impl, par), func(b *testing.B) {
				f := &fakeSTS{caller: staticCaller{}, now: time.Now}
				var p aws.CredentialsProvider
				if impl == "conncat" {
					p = NewCache(f.provider(), CacheOptions{})
				} else {
					p = aws.NewCredentialsCache(f.provider())
				}
				ctx := context.Background()
				if _, err := p.Retrieve(ctx); err != nil {
					b.Fatal(err)
				}
				b.SetParallelism((par + 1) / 2) // GOMAXPROCS=2 here: 2 x parallelism goroutines
				if par == 1 {
					b.SetParallelism(1)
				}
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := p.Retrieve(ctx); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(f.count.Load()), "sts-calls")
			})
		}
	}
}

type staticCaller struct{}

func (staticCaller) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "fake"}, nil
}

// BenchmarkRefreshStampede: one op is one refresh window's worst case —
// the credentials are gone (Invalidate, the API both caches share) and
// 10,000 goroutines ask at the same moment while AssumeRole takes 2 ms.
// sts-calls/op is how many AssumeRole calls one stampede made: 1 means
// every caller waited for the same call.
func BenchmarkRefreshStampede(b *testing.B) {
	const callers = 10_000
	for _, impl := range []string{"conncat", "aws.CredentialsCache"} {
		b.Run(impl+"/callers=10000", func(b *testing.B) {
			f := &fakeSTS{caller: staticCaller{}, now: time.Now, delay: 2 * time.Millisecond}
			var p aws.CredentialsProvider
			var invalidate func()
			if impl == "conncat" {
				c := NewCache(f.provider(), CacheOptions{})
				p, invalidate = c, c.Invalidate
			} else {
				c := aws.NewCredentialsCache(f.provider())
				p, invalidate = c, c.Invalidate
			}
			ctx := context.Background()
			for b.Loop() {
				invalidate()
				var ready, done sync.WaitGroup
				start := make(chan struct{})
				ready.Add(callers)
				done.Add(callers)
				for range callers {
					go func() {
						defer done.Done()
						ready.Done()
						<-start
						if _, err := p.Retrieve(ctx); err != nil {
							b.Error(err)
						}
					}()
				}
				ready.Wait()
				close(start)
				done.Wait()
			}
			b.ReportMetric(float64(f.count.Load())/float64(b.N), "sts-calls/op")
		})
	}
}
