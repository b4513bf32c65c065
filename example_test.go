package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/conncat/conncat"
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
