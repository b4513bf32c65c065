package validate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/internal/testenv"
	"github.com/conncat/conncat/validate"
)

const bucket = "exports"

// minioSetup starts MinIO (in region, "" for its default) with the test
// bucket and returns its URL and a root S3 client.
func minioSetup(t testing.TB, env ...string) (string, *s3.Client) {
	t.Helper()
	url := testenv.MinIO(t, env...)
	region := "us-east-1"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "MINIO_SITE_REGION="); ok {
			region = v
		}
	}
	root := s3.NewFromConfig(aws.Config{Region: region, BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(testenv.MinIORootUser, testenv.MinIORootPassword, "")},
		func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := root.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return url, root
}

// restrictedKeys asks MinIO's own STS for temporary credentials whose
// session policy allows only the given S3 actions on the bucket.
func restrictedKeys(t *testing.T, url string, actions ...string) aws.Credentials {
	t.Helper()
	quoted := `"` + strings.Join(actions, `", "`) + `"`
	policy := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [` + quoted +
		`], "Resource": ["arn:aws:s3:::` + bucket + `", "arn:aws:s3:::` + bucket + `/*"]}]}`
	client := sts.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(testenv.MinIORootUser, testenv.MinIORootPassword, "")})
	out, err := client.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:minio:iam:::role/restricted"), RoleSessionName: aws.String("conncat-test"),
		Policy: aws.String(policy), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return aws.Credentials{AccessKeyID: *c.AccessKeyId, SecretAccessKey: *c.SecretAccessKey, SessionToken: aws.ToString(c.SessionToken)}
}

func keysSpec(url, region string, c aws.Credentials) connection.Spec {
	return connection.Spec{ID: "u5", Name: "minio_conn", AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Endpoint: url, Region: region}
}

func runS3(t *testing.T, spec connection.Spec, prefix string) []validate.Result {
	t.Helper()
	target := validate.Target{Spec: spec, CatalogName: "prod", S3: &connection.S3URL{Bucket: bucket, Prefix: prefix}}
	res := validate.Run(context.Background(), target, validate.Options{Ambient: aws.Config{Region: "us-east-1"}, CheckTimeout: 10 * time.Second})
	for _, r := range res {
		t.Logf("%s %s: %s (hint: %s)", r.Check, r.Status, r.Message, r.Hint)
	}
	return res
}

// leftovers lists what is under prefix, and any incomplete uploads.
func leftovers(t *testing.T, root *s3.Client, prefix string) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	list, err := root.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range list.Contents {
		out = append(out, aws.ToString(o.Key))
	}
	ups, err := root.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups.Uploads {
		out = append(out, "upload:"+aws.ToString(u.Key))
	}
	return out
}

func TestMinIOReadWriteUserPassesEveryS3Check(t *testing.T) {
	url, root := minioSetup(t)
	creds := aws.Credentials{AccessKeyID: testenv.MinIORootUser, SecretAccessKey: testenv.MinIORootPassword}
	res := runS3(t, keysSpec(url, "us-east-1", creds), "tenant-1/")
	want := "credentials SKIP\nbucket_region PASS\nlist PASS\nwrite PASS\nread PASS\ndelete PASS\nmultipart PASS\n"
	expect(t, res, want)
	if !strings.Contains(res[0].Message, "GetCallerIdentity") {
		t.Errorf("credentials SKIP should say MinIO has no GetCallerIdentity: %s", res[0].Message)
	}
	if validate.Failed(res) {
		t.Error("Failed() with no FAIL")
	}
	if left := leftovers(t, root, "tenant-1/"); len(left) != 0 {
		t.Fatalf("validation left %v behind", left)
	}
}

func TestMinIOListOnlyUser(t *testing.T) {
	url, root := minioSetup(t)
	creds := restrictedKeys(t, url, "s3:ListBucket", "s3:GetBucketLocation")
	res := runS3(t, keysSpec(url, "us-east-1", creds), "tenant-1/")
	expect(t, res, "credentials SKIP\nbucket_region PASS\nlist PASS\nwrite FAIL\nread SKIP\ndelete SKIP\nmultipart FAIL\n")
	if !strings.Contains(res[3].Message, "access denied for s3:PutObject on s3://exports/tenant-1/.conncat-validate-") ||
		!strings.Contains(res[3].Hint, "Grant s3:PutObject on arn:aws:s3:::exports/tenant-1/* ") {
		t.Fatalf("write: %q / %q", res[3].Message, res[3].Hint)
	}
	if !strings.Contains(res[4].Message, "nothing to read") {
		t.Fatalf("read skip reason: %q", res[4].Message)
	}
	if left := leftovers(t, root, "tenant-1/"); len(left) != 0 {
		t.Fatalf("validation left %v behind", left)
	}
}

func TestMinIOWriteWithoutDelete(t *testing.T) {
	url, root := minioSetup(t)
	creds := restrictedKeys(t, url, "s3:ListBucket", "s3:GetBucketLocation", "s3:PutObject", "s3:GetObject")
	res := runS3(t, keysSpec(url, "us-east-1", creds), "tenant-1/")
	expect(t, res, "credentials SKIP\nbucket_region PASS\nlist PASS\nwrite PASS\nread PASS\ndelete FAIL\nmultipart FAIL\n")
	left := leftovers(t, root, "tenant-1/")
	if len(left) == 0 || !strings.Contains(res[5].Message, "s3://exports/"+left[0]+" was left behind") {
		t.Fatalf("delete must name the object left behind (%v): %q", left, res[5].Message)
	}
}

func TestMinIOBucketInAnotherRegion(t *testing.T) {
	url, _ := minioSetup(t, "MINIO_SITE_REGION=eu-west-1")
	creds := aws.Credentials{AccessKeyID: testenv.MinIORootUser, SecretAccessKey: testenv.MinIORootPassword}
	res := runS3(t, keysSpec(url, "us-east-1", creds), "tenant-1/")
	if res[1].Check != "bucket_region" || res[1].Status != validate.Fail ||
		!strings.Contains(res[1].Message, "is in region eu-west-1, not us-east-1") || !strings.Contains(res[1].Hint, "SET (REGION = 'eu-west-1')") {
		t.Fatalf("bucket_region: %+v", res[1])
	}
}

// TestMinIOChecksRunWithTheSessionPolicy: the checks assume the role with
// the scope the data plane will use, so they prove what its credentials
// may do: every check passes under the prefix the policy grants, and the
// write is refused (by MinIO) when the policy grants another prefix.
func TestMinIOChecksRunWithTheSessionPolicy(t *testing.T) {
	url, _ := minioSetup(t)
	spec := connection.Spec{ID: "u6", Name: "minio_role", RoleARN: "arn:aws:iam::123456789012:role/Writer",
		ExternalID: "conncat-00000000-0000-4000-8000-000000000006", Endpoint: url, Region: "us-east-1"}
	ambient := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(testenv.MinIORootUser, testenv.MinIORootPassword, "")}
	run := func(policyPrefix string) []validate.Result {
		target := validate.Target{Spec: spec, CatalogName: "prod", S3: &connection.S3URL{Bucket: bucket, Prefix: "a/"},
			Scope: connection.SessionScope{Policy: connection.SessionPolicy("aws", bucket, policyPrefix)}}
		return validate.Run(context.Background(), target, validate.Options{Ambient: ambient, CheckTimeout: 10 * time.Second})
	}
	status := func(res []validate.Result) map[string]validate.Status {
		m := map[string]validate.Status{}
		for _, r := range res {
			m[r.Check] = r.Status
		}
		return m
	}
	granted := status(run("a/"))
	for _, check := range []string{validate.CheckCredentials, validate.CheckList, validate.CheckWrite, validate.CheckRead, validate.CheckDelete, validate.CheckMultipart} {
		if granted[check] != validate.Pass {
			t.Errorf("under the granted prefix, %s: %s", check, granted[check])
		}
	}
	if other := status(run("b/")); other[validate.CheckCredentials] != validate.Pass || other[validate.CheckWrite] != validate.Fail {
		t.Errorf("with a policy for another prefix: %v", other)
	}
}
