package conncat_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

// TestMinIORefusesOutsideThePrefix is the proof against a server that
// enforces session policies: MinIO's STS issues the S3 connection's
// session with conncat's policy, and MinIO itself (conncat's own key
// checks are not in the way: the test calls the SDK client directly)
// allows put, get, list, delete and multipart under the prefix and
// refuses another prefix, another bucket and bucket-wide actions, which
// the same engine identity is allowed unscoped.
func TestMinIORefusesOutsideThePrefix(t *testing.T) {
	url := testenv.MinIO(t)
	ctx := context.Background()
	ambient := aws.Config{Region: "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(testenv.MinIORootUser, testenv.MinIORootPassword, "")}
	root := s3.NewFromConfig(ambient, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(url), true })
	for _, b := range []string{"exports", "elsewhere"} {
		if _, err := root.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	cat := openTest(t, conncat.WithAWSConfig(ambient))
	mustExec(t, cat, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/CustomerWriter', ENDPOINT = '`+url+`');
		CREATE CONNECTION lake TO S3 (PREFIX = 's3://exports/team-a/') USING AWS CONNECTION aws_conn`)
	loc, err := cat.S3Location(ctx, "lake")
	if err != nil {
		t.Fatal(err)
	}
	c := loc.Client
	put := func(bucket, key string) error {
		_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("fake-data")})
		return err
	}
	mustPass := map[string]error{
		"put": put("exports", "team-a/x"),
		"get": func() error {
			_, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("exports"), Key: aws.String("team-a/x")})
			return err
		}(),
		"list": func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("exports"), Prefix: aws.String("team-a/")})
			return err
		}(),
		"upload": multipartUpload(ctx, c, "exports", "team-a/big"),
		"delete": func() error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("exports"), Key: aws.String("team-a/x")})
			return err
		}(),
	}
	for name, err := range mustPass {
		if err != nil {
			t.Errorf("%s under the prefix: %v", name, err)
		}
	}
	mustRefuse := map[string]error{
		"put under another prefix": put("exports", "team-b/x"),
		"put in another bucket":    put("elsewhere", "team-a/x"),
		"list the whole bucket": func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("exports")})
			return err
		}(),
		"list another prefix": func() error {
			_, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("exports"), Prefix: aws.String("team-b/")})
			return err
		}(),
		"delete the bucket": func() error {
			_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String("elsewhere")})
			return err
		}(),
	}
	for name, err := range mustRefuse {
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
			t.Errorf("%s: %v, want AccessDenied from MinIO", name, err)
		}
		// A put outside the prefix is explained as the scope working,
		// not as a grant the customer forgot.
		if e := conncat.Explain(err); strings.HasPrefix(name, "put") && !strings.Contains(e.Message, "outside s3://exports/team-a/") {
			t.Errorf("%s explained as %+v", name, e)
		}
	}
	// MinIO answers ListBuckets with the buckets the session may use.
	if out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{}); err == nil {
		for _, b := range out.Buckets {
			if aws.ToString(b.Name) == "elsewhere" {
				t.Error("the scoped session lists a bucket its policy does not name")
			}
		}
	}
	// The same identity unscoped (the AWS connection used directly) may:
	// the refusals above are the session policy's.
	cfg, err := cat.AWSConfig(ctx, "aws_conn")
	if err != nil {
		t.Fatal(err)
	}
	wide := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := wide.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("exports"), Key: aws.String("team-b/x"), Body: strings.NewReader("fake-data")}); err != nil {
		t.Fatalf("unscoped put under another prefix: %v", err)
	}
}

// multipartUpload uploads one part and completes it.
func multipartUpload(ctx context.Context, c *s3.Client, bucket, key string) error {
	up, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return err
	}
	part, err := c.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
		PartNumber: aws.Int32(1), Body: strings.NewReader("fake-part")})
	if err != nil {
		return err
	}
	_, err = c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(key), UploadId: up.UploadId,
		MultipartUpload: &s3types.CompletedMultipartUpload{Parts: []s3types.CompletedPart{{ETag: part.ETag, PartNumber: aws.Int32(1)}}}})
	return err
}
