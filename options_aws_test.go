package conncat_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/connection"
)

// optionWorld is an engine user, a customer role that trusts it (max
// session 12 h) and a catalog whose principal is that user.
type optionWorld struct {
	fake *awstest.STS
	cat  *conncat.Catalog
}

// create makes connection c with options (which may name SECRET k), lets
// the customer's role trust it, and returns a config for it.
func (w optionWorld) create(t *testing.T, name, options string) aws.Config {
	t.Helper()
	mustExec(t, w.cat, `CREATE CONNECTION `+name+` TO AWS `+options)
	if r := mustExec(t, w.cat, `SELECT assume_role_arn FROM mz_aws_connections a JOIN mz_connections c USING (id) WHERE c.name = '`+name+`'`)[0]; r.Rows[0][0] != nil {
		if err := w.fake.SetTrustPolicy(customerRole, pastedTrustPolicy(t, w.cat, name)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := w.cat.AWSConfig(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// lastAssume is the last AssumeRole request the fake received.
func (w optionWorld) lastAssume(t *testing.T) awstest.AssumeRoleRequest {
	t.Helper()
	reqs := w.fake.AssumeRoleRequests()
	if len(reqs) == 0 {
		t.Fatal("no AssumeRole request reached STS")
	}
	return reqs[len(reqs)-1]
}

// optionProofs show, for each option of an AWS connection, that its value
// reaches AWS: a request the fake STS received carries it, or a request
// succeeds only because it was sent. An option the table sends to
// AssumeRole as it is (ASSUME ROLE DURATION) needs none here: its row's
// Example is proved to arrive in its input (proveAssumeRoleInput). Any
// other option added to the table without a proof here fails
// TestEveryOptionReachesAWS.
var optionProofs = map[connection.Option]func(t *testing.T, w optionWorld){
	connection.AccessKeyID:     proveStaticKeys,
	connection.SecretAccessKey: proveStaticKeys,
	connection.SessionToken: func(t *testing.T, w optionWorld) {
		// A session's keys work only with their token.
		key, secret := w.fake.AddUser("arn:aws:iam::123456789012:user/token-maker")
		out, err := sts.NewFromConfig(w.fake.Config(key, secret)).AssumeRole(context.Background(), &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam::123456789012:role/Open"), RoleSessionName: aws.String("token-maker")})
		if err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		mustExec(t, w.cat, `CREATE SECRET tk AS '`+*c.SessionToken+`'; CREATE SECRET ts AS '`+*c.SecretAccessKey+`'`)
		cfg := w.create(t, "withtoken", `(ACCESS KEY ID = '`+*c.AccessKeyId+`', SECRET ACCESS KEY = SECRET ts, SESSION TOKEN = SECRET tk, STS ENDPOINT = '`+w.fake.URL+`')`)
		if got := whoAmI(t, cfg); got != aws.ToString(out.AssumedRoleUser.Arn) {
			t.Fatalf("identity %s", got)
		}
	},
	connection.AssumeRoleARN: func(t *testing.T, w optionWorld) {
		whoAmI(t, w.create(t, "r", `(ASSUME ROLE ARN = '`+customerRole+`')`))
		if got := w.lastAssume(t).RoleARN; got != customerRole {
			t.Fatalf("RoleArn %s", got)
		}
	},
	connection.AssumeRoleSessionName: func(t *testing.T, w optionWorld) {
		whoAmI(t, w.create(t, "r", `(ASSUME ROLE ARN = '`+customerRole+`', ASSUME ROLE SESSION NAME = 'nightly-export')`))
		if got := w.lastAssume(t).SessionName; got != "nightly-export" {
			t.Fatalf("RoleSessionName %s", got)
		}
	},
	connection.Region: func(t *testing.T, w optionWorld) {
		whoAmI(t, w.create(t, "r", `(ASSUME ROLE ARN = '`+customerRole+`', REGION = 'eu-west-3')`))
		if got := w.lastAssume(t).Region; got != "eu-west-3" {
			t.Fatalf("AssumeRole signed for %s", got)
		}
	},
	connection.Endpoint: func(t *testing.T, w optionWorld) {
		// The ambient config points nowhere: STS is reached through ENDPOINT.
		whoAmI(t, w.create(t, "r", `(ASSUME ROLE ARN = '`+customerRole+`', ENDPOINT = '`+w.fake.URL+`')`))
		w.lastAssume(t)
	},
	connection.STSEndpoint: func(t *testing.T, w optionWorld) {
		cfg := w.create(t, "r", `(ASSUME ROLE ARN = '`+customerRole+`', ENDPOINT = 'http://127.0.0.1:9', STS ENDPOINT = '`+w.fake.URL+`')`)
		if _, err := cfg.Credentials.Retrieve(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.lastAssume(t)
	},
}

// proveAssumeRoleInput: the row's Example, set on a role connection,
// arrives in the AssumeRole parameter the row names (a duration in
// seconds), whatever the fake does with it.
func proveAssumeRoleInput(d connection.OptionDef) func(t *testing.T, w optionWorld) {
	return func(t *testing.T, w optionWorld) {
		want := d.Example
		if d.Value == connection.DurationValue {
			dur, err := connection.ParseDurationText(d.Example)
			if err != nil {
				t.Fatal(err)
			}
			want = fmt.Sprint(int64(dur / time.Second))
		}
		whoAmI(t, w.create(t, "r", `(ASSUME ROLE ARN = '`+customerRole+`', `+string(d.Name)+` = '`+d.Example+`')`))
		if got, ok := w.lastAssume(t).Params[d.AssumeRoleInput]; !ok || got != want {
			t.Fatalf("AssumeRole's %s = %q (sent: %v), want %q", d.AssumeRoleInput, got, ok, want)
		}
	}
}

// proveStaticKeys: the fake checks each request's signature against the
// user's secret, so a call signed with the connection's keys succeeds only
// if both were sent as given.
func proveStaticKeys(t *testing.T, w optionWorld) {
	arn := "arn:aws:iam::123456789012:user/static-" + fmt.Sprint(time.Now().UnixNano())
	key, secret := w.fake.AddUser(arn)
	mustExec(t, w.cat, `CREATE SECRET sk AS '`+secret+`'`)
	cfg := w.create(t, "keys", `(ACCESS KEY ID = '`+key+`', SECRET ACCESS KEY = SECRET sk, STS ENDPOINT = '`+w.fake.URL+`')`)
	if got := whoAmI(t, cfg); got != arn {
		t.Fatalf("identity %s, want %s", got, arn)
	}
}

// TestEveryOptionReachesAWS: every option of an AWS connection, end to end
// from CREATE CONNECTION to what STS receives.
func TestEveryOptionReachesAWS(t *testing.T) {
	for _, name := range connection.OptionsIn(connection.ScopeAWS) {
		prove, ok := optionProofs[name]
		if def, _ := connection.LookupOption(name); !ok && def.AssumeRoleInput != "" {
			prove, ok = proveAssumeRoleInput(def), true
		}
		if !ok {
			t.Errorf("option %s has no proof in optionProofs that its value reaches AWS", name)
			continue
		}
		t.Run(string(name), func(t *testing.T) {
			fake := awstest.NewSTS()
			defer fake.Close()
			key, secret := fake.AddUser(engineUser)
			ambient := fake.Config(key, secret)
			if name == connection.Endpoint {
				ambient.BaseEndpoint = aws.String("http://127.0.0.1:9") // only ENDPOINT reaches the fake
			}
			if err := fake.AddRole(customerRole, awstest.TrustWithoutExternalID(engineUser)); err != nil {
				t.Fatal(err)
			}
			fake.SetMaxSessionDuration(customerRole, 12*time.Hour)
			if err := fake.AddRole("arn:aws:iam::123456789012:role/Open", awstest.TrustWithoutExternalID("arn:aws:iam::123456789012:root")); err != nil {
				t.Fatal(err)
			}
			cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(ambient))
			prove(t, optionWorld{fake: fake, cat: cat})
		})
	}
}
