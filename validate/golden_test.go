package validate_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkcreds "github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/cockroachdb/datadriven"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/validate"
)

// script is what the fakes answer in one golden case, from the run
// directive's arguments:
//
//	auth=role|keys          the connection's kind (default role)
//	principal=role|user     a jump role before the customer's, or not
//	s3                      run the S3 checks on s3://acme-data/exports/
//	trust=no-external-id    the customer's role lets callers in without the ID
//	fail=Op:Code            Op (GetCallerIdentity, AssumeJump, AssumeRole,
//	                        HeadBucket, ListObjectsV2, PutObject, GetObject,
//	                        DeleteObject, HeadObject, CreateMultipartUpload,
//	                        AbortMultipartUpload) fails with that AWS code
//	bucket-region=R         HeadBucket reports region R
//	get=differ              GetObject returns other bytes than were written
//	delete=ignored          DeleteObject succeeds but the object stays
type script struct {
	fails        map[string]string
	noExternalID bool
	bucketRegion string
	getDiffers   bool
	keepDeleted  bool
}

func (s *script) err(op string) error {
	code, ok := s.fails[op]
	if !ok {
		return nil
	}
	return &smithy.GenericAPIError{Code: code, Message: "fake " + code + " for " + op}
}

// fakeSTS answers as IAM would for the golden cases' roles.
type fakeSTS struct{ s *script }

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if err := f.s.err("GetCallerIdentity"); err != nil {
		return nil, err
	}
	return &sts.GetCallerIdentityOutput{Arn: aws.String("arn:aws:iam::123456789012:user/fake-keys")}, nil
}

func (f fakeSTS) AssumeRole(_ context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	role := aws.ToString(in.RoleArn)
	op := "AssumeRole"
	if role == goldenJumpRole {
		op = "AssumeJump"
	}
	if err := f.s.err(op); err != nil {
		return nil, err
	}
	if op == "AssumeRole" && in.ExternalId == nil && !f.s.noExternalID {
		return nil, &smithy.GenericAPIError{Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole"}
	}
	return &sts.AssumeRoleOutput{
		Credentials: &ststypes.Credentials{AccessKeyId: aws.String("ASIAFAKE"), SecretAccessKey: aws.String("fake-secret"),
			SessionToken: aws.String("fake-token"), Expiration: aws.Time(time.Now().Add(time.Hour))},
		AssumedRoleUser: &ststypes.AssumedRoleUser{Arn: aws.String(strings.Replace(strings.Replace(role, ":iam:", ":sts:", 1), ":role/", ":assumed-role/", 1) + "/" + aws.ToString(in.RoleSessionName))},
	}, nil
}

// fakeS3 is an in-memory bucket that misbehaves as the script says.
type fakeS3 struct {
	s       *script
	mu      sync.Mutex
	objects map[string][]byte
}

func (f *fakeS3) HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	if err := f.s.err("HeadBucket"); err != nil {
		return nil, err
	}
	return &s3.HeadBucketOutput{BucketRegion: aws.String(f.s.bucketRegion)}, nil
}

func (f *fakeS3) ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	return &s3.ListObjectsV2Output{}, f.s.err("ListObjectsV2")
}

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if err := f.s.err("PutObject"); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(in.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.objects[aws.ToString(in.Key)] = body
	return &s3.PutObjectOutput{}, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if err := f.s.err("GetObject"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	body := bytes.Clone(f.objects[aws.ToString(in.Key)])
	f.mu.Unlock()
	if f.s.getDiffers {
		body = append(body[:len(body)/2], "rewritten by a proxy\n"...)
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(body))}, nil
}

func (f *fakeS3) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	if err := f.s.err("DeleteObject"); err != nil {
		return nil, err
	}
	if !f.s.keepDeleted {
		f.mu.Lock()
		delete(f.objects, aws.ToString(in.Key))
		f.mu.Unlock()
	}
	return &s3.DeleteObjectOutput{}, nil
}

func (f *fakeS3) HeadObject(_ context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if err := f.s.err("HeadObject"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	_, ok := f.objects[aws.ToString(in.Key)]
	f.mu.Unlock()
	if !ok {
		return nil, &s3types.NotFound{}
	}
	return &s3.HeadObjectOutput{}, nil
}

func (f *fakeS3) CreateMultipartUpload(context.Context, *s3.CreateMultipartUploadInput, ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	if err := f.s.err("CreateMultipartUpload"); err != nil {
		return nil, err
	}
	return &s3.CreateMultipartUploadOutput{UploadId: aws.String("fake-upload")}, nil
}

func (f *fakeS3) AbortMultipartUpload(context.Context, *s3.AbortMultipartUploadInput, ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	return &s3.AbortMultipartUploadOutput{}, f.s.err("AbortMultipartUpload")
}

const (
	goldenJumpRole     = "arn:aws:iam::210987654321:role/conncat-principal"
	goldenEngineUser   = "arn:aws:iam::210987654321:user/conncat-engine"
	goldenCustomerRole = "arn:aws:iam::123456789012:role/Customer"
)

var testObjectRE = regexp.MustCompile(`\.conncat-validate-[0-9a-f-]{36}`)

// TestGoldenChecks pins every check's status, message, hint and retry
// verdict, with STS and S3 played by fakes that script each answer, so
// the branches no live server reaches (bytes that differ, an object that
// outlives its delete, a failed abort) are covered too.
//
// Rewrite expectations with: go test ./validate -run TestGoldenChecks -rewrite
func TestGoldenChecks(t *testing.T) {
	datadriven.RunTest(t, "testdata/checks", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "run" {
			t.Fatalf("unknown directive %q", d.Cmd)
		}
		s := &script{fails: map[string]string{}}
		spec := connection.Spec{ID: "u7", Name: "conn", RoleARN: goldenCustomerRole, ExternalID: "conncat-fake-external-id",
			Principal: goldenJumpRole, Region: "us-east-1"}
		var target validate.Target
		for _, arg := range d.CmdArgs {
			v := ""
			if len(arg.Vals) > 0 {
				v = arg.Vals[0]
			}
			switch arg.Key {
			case "auth":
				if v == "keys" {
					spec = connection.Spec{ID: "u7", Name: "conn", AccessKeyID: "AKIAFAKEFAKEFAKE", SecretAccessKey: "fake-secret", Region: "us-east-1"}
				}
			case "principal":
				if v == "user" {
					spec.Principal = goldenEngineUser
				}
			case "s3":
				target.S3 = &connection.S3URL{Bucket: "acme-data", Prefix: "exports/"}
			case "trust":
				s.noExternalID = v == "no-external-id"
			case "fail":
				op, code, _ := strings.Cut(v, ":")
				s.fails[op] = code
			case "bucket-region":
				s.bucketRegion = v
			case "get":
				s.getDiffers = v == "differ"
			case "delete":
				s.keepDeleted = v == "ignored"
			default:
				t.Fatalf("unknown argument %q", arg.Key)
			}
		}
		target.Spec, target.CatalogName = spec, "prod"
		bucket := &fakeS3{s: s, objects: map[string][]byte{}}
		opts := validate.Options{
			Ambient: aws.Config{Region: "us-east-1", Credentials: sdkcreds.NewStaticCredentialsProvider("AKIAENGINEFAKE", "fake-engine-secret", "")},
			Clients: validate.Clients{
				STS: func(connection.Spec, aws.CredentialsProvider) validate.STSAPI { return fakeSTS{s} },
				S3:  func(connection.Spec, aws.CredentialsProvider) validate.S3API { return bucket },
			},
		}
		var b strings.Builder
		for _, r := range validate.Run(context.Background(), target, opts) {
			fmt.Fprintf(&b, "%s: %s %s\n", r.Check, r.Status, testObjectRE.ReplaceAllString(r.Message, ".conncat-validate-<uuid>"))
			if r.Hint != "" {
				fmt.Fprintf(&b, "  hint: %s\n", r.Hint)
			}
			if r.Retryable {
				b.WriteString("  retryable\n")
			}
		}
		if leftover := len(bucket.objects); leftover > 0 && !s.keepDeleted && s.fails["DeleteObject"] == "" {
			t.Errorf("%d test objects left behind", leftover)
		}
		return b.String()
	})
}
