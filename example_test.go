package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
)

// The seed document's flow: create a role connection, then read the
// principal and the generated external ID the customer's trust policy needs.
func Example() {
	dir, _ := os.MkdirTemp("", "conncat-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	cat, err := conncat.Open(ctx, filepath.Join(dir, "conncat.db"),
		conncat.WithPrincipal("arn:aws:iam::000000000000:role/conncat"))
	if err != nil {
		log.Fatal(err)
	}
	defer cat.Close()

	results, err := cat.Exec(ctx, `
		CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/MaterializeConn');
		SELECT principal, length(external_id) AS id_length
		FROM mz_aws_connections aws JOIN mz_connections c ON aws.id = c.id
		WHERE c.name = 'aws_conn';`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(results[0].Tag)
	fmt.Println(results[1].Columns, results[1].Rows)

	// Users cannot choose the external ID.
	_, err = cat.Exec(ctx, `CREATE CONNECTION c2 TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', EXTERNAL ID = 'mine')`)
	var e *conncat.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Message)
	}
	// Output:
	// CREATE CONNECTION
	// [principal id_length] [[arn:aws:iam::000000000000:role/conncat 36]]
	// 22023 EXTERNAL ID cannot be set
}

// The whole dance against awstest, the in-process STS: the customer
// pastes SHOW TRUST POLICY's output into their role, VALIDATE proves it,
// and the data plane gets an aws.Config whose credentials are the
// customer's role, refreshed on their own.
func ExampleCatalog_AWSConfig() {
	ctx := context.Background()
	fakeAWS := awstest.NewSTS()
	defer fakeAWS.Close()
	const principal = "arn:aws:iam::111122223333:user/engine"
	const customerRole = "arn:aws:iam::444455556666:role/WriteExports"
	key, secret := fakeAWS.AddUser(principal)

	dir, _ := os.MkdirTemp("", "conncat-example")
	defer os.RemoveAll(dir)
	cat, err := conncat.Open(ctx, filepath.Join(dir, "conncat.db"),
		conncat.WithPrincipal(principal), conncat.WithAWSConfig(fakeAWS.Config(key, secret)))
	if err != nil {
		log.Fatal(err)
	}
	defer cat.Close()

	if _, err := cat.Exec(ctx, `CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`); err != nil {
		log.Fatal(err)
	}
	// The customer's side: create the role with the printed trust policy.
	res, err := cat.Exec(ctx, `SHOW TRUST POLICY FOR CONNECTION aws_conn`)
	if err != nil {
		log.Fatal(err)
	}
	if err := fakeAWS.AddRole(customerRole, res[0].Rows[0][2].(string)); err != nil {
		log.Fatal(err)
	}

	res, err = cat.Exec(ctx, `VALIDATE CONNECTION aws_conn`)
	if err != nil {
		log.Fatal(err)
	}
	for _, row := range res[0].Rows {
		fmt.Println(row[0], row[1])
	}

	cfg, err := cat.AWSConfig(ctx, "aws_conn")
	if err != nil {
		log.Fatal(err)
	}
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(*who.Arn)
	// Output:
	// credentials PASS
	// external_id_required PASS
	// arn:aws:sts::444455556666:assumed-role/WriteExports/conncat-conncat-u1
}

// ExampleCatalog_Describe shows what an engine tells its user after
// CREATE CONNECTION: the principal to trust and the external ID to require
// (the trust policy to paste holds both), with no secret opened.
func ExampleCatalog_Describe() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "conncat-example")
	defer os.RemoveAll(dir)
	cat, err := conncat.Open(ctx, filepath.Join(dir, "engine.db"), conncat.WithPrincipal("arn:aws:iam::000000000000:role/conncat"))
	if err != nil {
		panic(err)
	}
	defer cat.Close()
	if _, err := cat.Exec(ctx, `CREATE CONNECTION exports TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/Exports');
		CREATE CONNECTION lake TO S3 (PREFIX = 's3://acme-lake/engine/') USING AWS CONNECTION exports`); err != nil {
		panic(err)
	}
	aws, _ := cat.Describe(ctx, "exports")
	lake, _ := cat.Describe(ctx, "lake")
	fmt.Println(aws.Principal)
	fmt.Println(aws.ExternalID != "" && strings.Contains(aws.TrustPolicy, aws.ExternalID))
	fmt.Println(lake.AWSConnection, lake.Bucket, lake.Prefix)
	fmt.Println(strings.Contains(lake.PermissionPolicy, "arn:aws:s3:::acme-lake/engine/*"))
	// Output:
	// arn:aws:iam::000000000000:role/conncat
	// true
	// exports acme-lake engine/
	// true
}
