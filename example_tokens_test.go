package conncat_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
)

// exampleEngine is an engine whose customer has trusted it: connection
// "customer" assumes the customer's role in eu-west-1.
func exampleEngine(fakeAWS *awstest.STS) (*conncat.Catalog, func()) {
	ctx := context.Background()
	const principal = "arn:aws:iam::111122223333:user/engine"
	key, secret := fakeAWS.AddUser(principal)
	dir, _ := os.MkdirTemp("", "conncat-example")
	cat, err := conncat.Open(ctx, filepath.Join(dir, "engine.db"),
		conncat.WithPrincipal(principal), conncat.WithAWSConfig(fakeAWS.Config(key, secret)))
	if err != nil {
		log.Fatal(err)
	}
	if _, err := cat.Exec(ctx, `CREATE CONNECTION customer TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::444455556666:role/EngineAccess', REGION = 'eu-west-1')`); err != nil {
		log.Fatal(err)
	}
	res, _ := cat.Exec(ctx, `SHOW TRUST POLICY FOR CONNECTION customer`)
	if err := fakeAWS.AddRole("arn:aws:iam::444455556666:role/EngineAccess", res[0].Rows[0][2].(string)); err != nil {
		log.Fatal(err)
	}
	return cat, func() { cat.Close(); os.RemoveAll(dir) }
}

// A PostgreSQL pool on RDS with IAM authentication: every new connection
// asks for a fresh token, signed with the customer's role. The token is
// checked here the way RDS checks it, since no database runs in the example.
func ExampleCatalog_RDSAuthToken() {
	ctx := context.Background()
	fakeAWS := awstest.NewSTS()
	defer fakeAWS.Close()
	cat, done := exampleEngine(fakeAWS)
	defer done()

	poolConfig, err := pgxpool.ParseConfig("postgres://app_writer@orders.abc123.eu-west-1.rds.amazonaws.com:5432/orders?sslmode=verify-full")
	if err != nil {
		log.Fatal(err)
	}
	poolConfig.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		token, err := cat.RDSAuthToken(ctx, "customer", fmt.Sprintf("%s:%d", cc.Host, cc.Port), cc.User)
		if err != nil {
			return fmt.Errorf("%s (%s)", conncat.Explain(err).Message, conncat.Explain(err).Hint)
		}
		cc.Password = token.Value()
		return nil
	}
	// pgxpool.NewWithConfig(ctx, poolConfig) would call it on each dial.
	cc := poolConfig.ConnConfig.Copy()
	if err := poolConfig.BeforeConnect(ctx, cc); err != nil {
		log.Fatal(err)
	}
	signed, err := fakeAWS.VerifyRDSAuthToken(cc.Password, "orders.abc123.eu-west-1.rds.amazonaws.com:5432", "eu-west-1", "app_writer")
	fmt.Println(signed.Caller.RoleARN, signed.Service, err)
	// Output:
	// arn:aws:iam::444455556666:role/EngineAccess rds-db <nil>
}

// oauthBearerToken is what a Kafka client's SASL/OAUTHBEARER callback
// returns: franz-go's sasl/oauth takes a func(ctx) (oauth.Auth, error),
// confluent-kafka-go wants the same two values on an
// OAuthBearerTokenRefresh event.
type oauthBearerToken struct {
	Token      string
	Expiration time.Time
}

// An MSK client authenticating with IAM: the callback hands out tokens
// that never outlive the credentials that signed them, so the client
// re-authenticates before they run out.
func ExampleCatalog_MSKAuthToken() {
	ctx := context.Background()
	fakeAWS := awstest.NewSTS()
	defer fakeAWS.Close()
	cat, done := exampleEngine(fakeAWS)
	defer done()

	tokenSource := func(ctx context.Context) (oauthBearerToken, error) {
		token, err := cat.MSKAuthToken(ctx, "customer")
		if err != nil {
			e := conncat.Explain(err)
			return oauthBearerToken{}, fmt.Errorf("%s (%s)", e.Message, e.Hint)
		}
		return oauthBearerToken{Token: token.Value(), Expiration: token.Expires}, nil
	}

	token, err := tokenSource(ctx)
	if err != nil {
		log.Fatal(err)
	}
	signed, err := fakeAWS.VerifyMSKAuthToken(token.Token, "eu-west-1")
	fmt.Println(signed.Caller.RoleARN, signed.Service, err)
	fmt.Println(!token.Expiration.After(signed.Expires))
	// Output:
	// arn:aws:iam::444455556666:role/EngineAccess kafka-cluster <nil>
	// true
}
