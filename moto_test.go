package conncat_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/internal/testenv"
)

// motoAccount is the account moto puts every resource in.
const motoAccount = "123456789012"

// motoWorld is a moto server set up as a customer's account would be:
// the engine's IAM user with a key, a bucket, and the helpers to create
// the customer's role once conncat has generated its external ID.
type motoWorld struct {
	url        string
	admin      aws.Config
	engineUser string
	engine     aws.Config
	bucket     string
}

func newMotoWorld(t *testing.T) *motoWorld {
	t.Helper()
	ctx := context.Background()
	url := testenv.Moto(t)
	w := &motoWorld{url: url, bucket: "customer-exports"}
	// Before auth is on, moto accepts any key: these are obviously fake.
	w.admin = aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider("AKIAEXAMPLEADMIN000", "fake-admin-secret", "")}
	iamc := iam.NewFromConfig(w.admin)
	user, err := iamc.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("conncat-engine")})
	if err != nil {
		t.Fatal(err)
	}
	w.engineUser = aws.ToString(user.User.Arn)
	// The engine's own identity policy lets it assume roles; the
	// customer's trust policy decides which.
	if _, err := iamc.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("conncat-engine"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	key, err := iamc.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("conncat-engine")})
	if err != nil {
		t.Fatal(err)
	}
	w.engine = aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(url),
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")}
	if _, err := s3.NewFromConfig(w.admin, func(o *s3.Options) { o.UsePathStyle = true }).
		CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(w.bucket)}); err != nil {
		t.Fatal(err)
	}
	return w
}

// addCustomerRole creates the role the customer would, trusting trustee
// with the given external ID and allowing S3 on the bucket.
func (w *motoWorld) addCustomerRole(t *testing.T, name, trust string) string {
	t.Helper()
	ctx := context.Background()
	iamc := iam.NewFromConfig(w.admin)
	role, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String("s3"),
		PolicyDocument: aws.String(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::` + w.bucket + `", "arn:aws:s3:::` + w.bucket + `/*"]}]}`)}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(role.Role.Arn)
}

// One hop with a dedicated IAM user as principal (Aiven's model): the
// customer pastes conncat's trust policy, and AWSConfig/S3Location write
// and read an object in the customer's bucket with moto checking
// signatures and policies.
func TestMotoUserPrincipalWritesAndReads(t *testing.T) {
	ctx := context.Background()
	w := newMotoWorld(t)
	roleARN := "arn:aws:iam::" + motoAccount + ":role/conncat-writer"
	cat := openTest(t, conncat.WithPrincipal(w.engineUser), conncat.WithAWSConfig(w.engine))
	mustExec(t, cat, `
		CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+roleARN+`', ENDPOINT = '`+w.url+`', REGION = 'us-east-1');
		CREATE CONNECTION s3_conn TO S3 (PREFIX = 's3://`+w.bucket+`/exports/') USING AWS CONNECTION aws_conn`)
	// The customer pastes exactly what SHOW TRUST POLICY prints.
	w.addCustomerRole(t, "conncat-writer", pastedTrustPolicy(t, cat, "aws_conn"))
	testenv.MotoEnableAuth(t, w.url)

	loc, err := cat.S3Location(ctx, "s3_conn")
	if err != nil {
		t.Fatal(err)
	}
	key, err := loc.Key("part-0.csv")
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("id,name\n1,widget\n")
	if _, err := loc.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatalf("put: %v", err)
	}
	out, err := loc.Client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String("exports/part-0.csv")})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("read back %q", got)
	}
	// The writes were made by the customer's role, not the engine's user.
	cfg, _ := cat.AWSConfig(ctx, "aws_conn")
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "arn:aws:sts::" + motoAccount + ":assumed-role/conncat-writer/conncat-prod-u1"; aws.ToString(id.Arn) != want {
		t.Fatalf("identity %s, want %s", aws.ToString(id.Arn), want)
	}
	// VALIDATE against moto with auth on: the role chain and the S3
	// checks pass, but for two moto gaps (see TestMotoGaps):
	// external_id_required fails because moto lets a call without the
	// external ID through (awstest is where that check is proven), and
	// list fails because moto's signature check breaks on a "/" in a
	// query parameter (the prefix); MinIO proves list.
	res, err := cat.Exec(ctx, `VALIDATE CONNECTION s3_conn`)
	if err == nil {
		t.Fatal("moto's ExternalId gap should fail external_id_required")
	}
	var checks []string
	for _, row := range res[0].Rows {
		checks = append(checks, row[0].(string)+" "+row[1].(string))
	}
	want := "credentials PASS,external_id_required FAIL,bucket_region PASS,list FAIL,write PASS,read PASS,delete PASS,multipart PASS"
	if strings.Join(checks, ",") != want {
		t.Fatalf("VALIDATE against moto:\n got %s\nwant %s\nrows %v", strings.Join(checks, ","), want, res[0].Rows)
	}
	// With auth on, the engine user alone cannot read the bucket: the
	// access really came through the role.
	_, err = s3.NewFromConfig(w.engine, func(o *s3.Options) { o.UsePathStyle = true }).
		GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(loc.Bucket), Key: aws.String(key)})
	if err == nil {
		t.Fatal("the engine user read the customer's bucket without the role")
	}
}

// moto's gaps, recorded so that nobody mistakes a moto pass for proof:
// awstest covers both (see awstest's tests and TestAWSConfigTwoHops...).
func TestMotoGaps(t *testing.T) {
	ctx := context.Background()
	w := newMotoWorld(t)
	requireID := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "` + w.engineUser +
		`"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "conncat-expected"}}}]}`
	role := w.addCustomerRole(t, "needs-external-id", requireID)
	denied := `{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": {"AWS": "` + w.engineUser + `"}, "Action": "sts:AssumeRole"}]}`
	denyRole := w.addCustomerRole(t, "explicit-deny", denied)
	testenv.MotoEnableAuth(t, w.url)
	engineSTS := sts.NewFromConfig(w.engine)

	_, err := engineSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(role), RoleSessionName: aws.String("gap-1")})
	if err != nil {
		t.Fatalf("moto now refuses a missing ExternalId (%v): the gap is closed, update this test and DESIGN §7", err)
	}
	t.Log("moto gap: AssumeRole without ExternalId succeeded on a role whose trust policy requires one")

	_, err = engineSTS.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(denyRole), RoleSessionName: aws.String("gap-2")})
	if err != nil {
		t.Fatalf("moto now honours Deny in trust policies (%v): the gap is closed, update this test and DESIGN §7", err)
	}
	t.Log("moto gap: AssumeRole succeeded on a role whose trust policy only denies the caller")

	// The engine user has no S3 permission: a correct signature gets
	// AccessDenied. With a "/" in a query parameter, moto computes another
	// signature than the SDK (and AWS, and MinIO) do.
	engineS3 := s3.NewFromConfig(w.engine, func(o *s3.Options) { o.UsePathStyle = true })
	_, err = engineS3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket), Prefix: aws.String("exports")})
	if !strings.Contains(fmt.Sprint(err), "AccessDenied") {
		t.Fatalf("a prefix without '/' should be signed right and denied: %v", err)
	}
	_, err = engineS3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(w.bucket), Prefix: aws.String("exports/")})
	if !strings.Contains(fmt.Sprint(err), "SignatureDoesNotMatch") {
		t.Fatalf("moto now verifies signatures of queries with '/' (%v): the gap is closed, update this test", err)
	}
	t.Log("moto gap: SigV4 check fails for a query parameter containing '/' (ListObjectsV2 prefix=exports/)")
}
