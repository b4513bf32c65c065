package catalog_test

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/sqlparse"
)

// optionSamples holds, for every option of an AWS connection, a statement
// that sets it, the Spec field Resolve must fill from it, and that
// field's value. An option the table sends to AssumeRole as it is needs
// none: its row's Example is used (exampleSample). Any other new option
// fails TestEveryOptionRoundTrips until it has a row here.
var optionSamples = map[connection.Option]struct {
	create string
	field  string
	want   any
}{
	connection.AccessKeyID: {`(ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET k)`,
		"AccessKeyID", "AKIAFAKEFAKEFAKE"},
	connection.SecretAccessKey: {`(ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET k)`,
		"SecretAccessKey", "fake-secret-key"},
	connection.SessionToken: {`(ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET k, SESSION TOKEN = 'fake-token')`,
		"SessionToken", "fake-token"},
	connection.AssumeRoleARN: {`(ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R')`,
		"RoleARN", "arn:aws:iam::001234567890:role/R"},
	connection.AssumeRoleSessionName: {`(ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', ASSUME ROLE SESSION NAME = 'fake-session')`,
		"SessionName", "fake-session"},
	connection.Region: {`(ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', REGION = 'eu-west-3')`,
		"Region", "eu-west-3"},
	connection.Endpoint: {`(ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', ENDPOINT = 'https://s3.example.test')`,
		"Endpoint", "https://s3.example.test"},
	connection.STSEndpoint: {`(ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', STS ENDPOINT = 'https://sts.example.test')`,
		"STSEndpoint", "https://sts.example.test"},
}

// TestEveryOptionRoundTrips drives every row of the option table through
// CREATE, the stored row, create_sql, Resolve and an ALTER that drops it:
// the generic row mapping must carry each one without code of its own.
func TestEveryOptionRoundTrips(t *testing.T) { forEachBackend(t, testEveryOptionRoundTrips) }

func testEveryOptionRoundTrips(t *testing.T, backend string) {
	ctx := context.Background()
	for _, def := range connection.Options {
		if def.Scope != connection.ScopeAWS {
			continue
		}
		sample, ok := optionSamples[def.Name]
		if !ok && def.AssumeRoleInput != "" {
			sample, ok = exampleSample(t, def), true
		}
		if !ok {
			t.Errorf("option %s has no sample in optionSamples", def.Name)
			continue
		}
		t.Run(string(def.Name), func(t *testing.T) {
			c := newCatalogOn(t, backend, catalog.Options{})
			run := func(sql string) *catalog.Result {
				t.Helper()
				stmts, err := sqlparse.Parse(sql)
				if err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
				res, err := c.Exec(ctx, stmts[0])
				if err != nil {
					t.Fatalf("%s: %v", sql, err)
				}
				return res
			}
			run(`CREATE SECRET k AS 'fake-secret-key'`)
			run(`CREATE CONNECTION conn TO AWS ` + sample.create)
			r, err := c.Resolve(ctx, "conn")
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if sample.field == "" {
				got, _ = def.InputValue(r.AWS)
			} else {
				got = reflect.ValueOf(r.AWS).FieldByName(sample.field).Interface()
			}
			if got != sample.want {
				t.Errorf("Resolve: %s = %v, want %v", sample.field, got, sample.want)
			}
			described, err := c.Describe(ctx, "conn")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(described.Options, func(o catalog.DescribedOption) bool { return o.Name == string(def.Name) }) {
				t.Errorf("Describe's options %v do not show %s", described.Options, def.Name)
			}
			created := run(`SHOW CREATE CONNECTION conn`).Rows[0][1].(string)
			if !strings.Contains(created, string(def.Name)+" = ") {
				t.Errorf("create_sql %q does not set %s", created, def.Name)
			}
			if def.Secret == connection.SecretSealed && strings.Contains(created, "fake-token") {
				t.Errorf("create_sql %q shows the sealed value", created)
			}
			for _, col := range []string{def.Column, def.SecretColumn} {
				if col == "" {
					continue
				}
				// Every column the table names exists: a query naming a
				// missing one fails.
				run(`SELECT ` + col + ` FROM mz_aws_connections`)
			}
		})
	}
}

// exampleSample sets an AssumeRole input from its row's Example on a role
// connection; Resolve must give back the value AssumeRole takes (field ""
// reads it through InputValue: a duration in seconds).
func exampleSample(t *testing.T, def connection.OptionDef) struct {
	create string
	field  string
	want   any
} {
	want := def.Example
	if def.Value == connection.DurationValue {
		d, err := connection.ParseDurationText(def.Example)
		if err != nil {
			t.Fatalf("option %s: Example %q: %v", def.Name, def.Example, err)
		}
		want = strconv.FormatInt(int64(d/time.Second), 10)
	}
	return struct {
		create string
		field  string
		want   any
	}{`(ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/R', ` + string(def.Name) + ` = '` + def.Example + `')`, "", want}
}
