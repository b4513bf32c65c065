package conncat_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
)

// codeOf is err's SQLSTATE, "" for nil.
func codeOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var e *conncat.Error
	if !errors.As(err, &e) {
		t.Fatalf("error without a SQLSTATE: %v", err)
	}
	return e.Code
}

func secretNames(t *testing.T, cat *conncat.Catalog) string {
	t.Helper()
	return fmt.Sprint(mustExec(t, cat, `SHOW SECRETS`)[0].Rows)
}

// TestScriptIsOneTransaction: a script of several statements lands whole
// or not at all, as a PostgreSQL query string does; one that ends inside a
// block rolls it back.
func TestScriptIsOneTransaction(t *testing.T) {
	cat := openTest(t)
	ctx := context.Background()
	res, err := cat.Exec(ctx, `CREATE SECRET a AS 'fake-a'; CREATE SECRET b AS 'fake-b'; CREATE SECRET a AS 'fake-again'`)
	if codeOf(t, err) != conncat.CodeDuplicateObject || len(res) != 2 {
		t.Fatalf("got %d results, %v", len(res), err)
	}
	if got := secretNames(t, cat); got != "[]" {
		t.Fatalf("a failed script left %s", got)
	}
	_, err = cat.Exec(ctx, `BEGIN; CREATE SECRET a AS 'fake-a'`)
	if codeOf(t, err) != conncat.CodeActiveTransaction {
		t.Fatalf("a script ending inside a block: %v", err)
	}
	mustExec(t, cat, `CREATE SECRET a AS 'fake-a'; BEGIN; CREATE SECRET b AS 'fake-b'; COMMIT; CREATE SECRET c AS 'fake-c'`)
	if got := secretNames(t, cat); got != "[[a] [b] [c]]" {
		t.Fatalf("after a script with a block: %s", got)
	}
	_, err = cat.Exec(ctx, `COMMIT`)
	if err != nil {
		t.Fatalf("COMMIT outside a block is a warning, not an error: %v", err)
	}
	if _, err := cat.Exec(ctx, `SAVEPOINT s`); codeOf(t, err) != conncat.CodeNoActiveTransaction {
		t.Fatalf("SAVEPOINT outside a block: %v", err)
	}
}

// TestSessionStatus: a session's status follows its block as
// ReadyForQuery reports it, and a failed block takes only ROLLBACK.
func TestSessionStatus(t *testing.T) {
	cat := openTest(t)
	ctx := context.Background()
	s := cat.NewSession()
	steps := []struct {
		stmt, code string
		status     byte
		tag        string
	}{
		{`BEGIN`, "", conncat.TxInTx, "BEGIN"},
		{`BEGIN`, "", conncat.TxInTx, "BEGIN"}, // a warning, as in PostgreSQL
		{`CREATE SECRET a AS 'fake-a'`, "", conncat.TxInTx, "CREATE SECRET"},
		{`SAVEPOINT one`, "", conncat.TxInTx, "SAVEPOINT"},
		{`DROP SECRET missing`, conncat.CodeUndefinedObject, conncat.TxFailed, ""},
		{`SHOW SECRETS`, conncat.CodeInFailedTransaction, conncat.TxFailed, ""},
		{`ROLLBACK TO one`, "", conncat.TxInTx, "ROLLBACK"},
		{`CREATE SECRET b AS 'fake-b'`, "", conncat.TxInTx, "CREATE SECRET"},
		{`CREATE SECRET b AS 'fake-b'`, conncat.CodeDuplicateObject, conncat.TxFailed, ""},
		{`COMMIT`, "", conncat.TxIdle, "ROLLBACK"},
		{`START TRANSACTION`, "", conncat.TxInTx, "BEGIN"},
		{`CREATE SECRET c AS 'fake-c'`, "", conncat.TxInTx, "CREATE SECRET"},
		{`END`, "", conncat.TxIdle, "COMMIT"},
		{`ROLLBACK`, "", conncat.TxIdle, "ROLLBACK"},
	}
	for _, step := range steps {
		res, err := s.Exec(ctx, step.stmt)
		if got := codeOf(t, err); got != step.code || s.TxStatus() != step.status {
			t.Fatalf("%s: %q, status %c; want %q, %c", step.stmt, got, s.TxStatus(), step.code, step.status)
		}
		if step.tag != "" && res[0].Tag != step.tag {
			t.Fatalf("%s: tag %q, want %q", step.stmt, res[0].Tag, step.tag)
		}
	}
	if got := secretNames(t, cat); got != "[[c]]" {
		t.Fatalf("committed %s, want only c", got)
	}
	s.Exec(ctx, `BEGIN; CREATE SECRET open AS 'fake-open'`)
	s.Close()
	if got := secretNames(t, cat); got != "[[c]]" {
		t.Fatalf("Close committed an open block: %s", got)
	}
}

// TestValidateInsideBlock: VALIDATE sees the connection the block created
// and its results are recorded with the block; a failing VALIDATE fails
// the block, which then applies nothing.
func TestValidateInsideBlock(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	cat := openTest(t, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)))
	ctx := context.Background()

	s := cat.NewSession()
	if _, err := s.Exec(ctx, `BEGIN; CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Exec(ctx, `VALIDATE CONNECTION c`); codeOf(t, err) != conncat.CodeInternal || s.TxStatus() != conncat.TxFailed {
		t.Fatalf("VALIDATE before the role exists: %v, status %c", err, s.TxStatus())
	}
	s.Exec(ctx, `ROLLBACK`)
	if got := mustExec(t, cat, `SELECT count(*) FROM mz_connection_validations`)[0].Rows[0][0]; got != int64(0) {
		t.Fatalf("a rolled-back VALIDATE recorded %v rows", got)
	}

	if _, err := s.Exec(ctx, `BEGIN; CREATE CONNECTION c TO AWS (ASSUME ROLE ARN = '`+customerRole+`')`); err != nil {
		t.Fatal(err)
	}
	res, err := s.Exec(ctx, `SHOW TRUST POLICY FOR CONNECTION c`)
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.AddRole(customerRole, res[0].Rows[0][2].(string)); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Exec(ctx, `VALIDATE CONNECTION c`); err != nil || res[0].Rows[0][1] != "PASS" {
		t.Fatalf("VALIDATE inside the block: %v, %v", res, err)
	}
	if got := mustExec(t, cat, `SELECT count(*) FROM mz_connection_validations`)[0].Rows[0][0]; got != int64(0) {
		t.Fatalf("results recorded before COMMIT: %v rows", got)
	}
	if _, err := s.Exec(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if got := validationRows(t, cat, "c"); got != "credentials PASS\nexternal_id_required PASS\n" {
		t.Fatalf("recorded at COMMIT:\n%s", got)
	}
	if _, err := cat.AWSConfig(ctx, "c"); err != nil {
		t.Fatalf("the committed connection does not work: %v", err)
	}
}

// TestBlockChangesReachDataPlaneAtCommit: the data plane serves what is
// committed while a block alters a connection, and the change once COMMIT
// returns.
func TestBlockChangesReachDataPlaneAtCommit(t *testing.T) {
	cat := openTest(t)
	ctx := context.Background()
	mustExec(t, cat, `CREATE SECRET k AS 'fake-secret-value'; CREATE CONNECTION r TO AWS (ACCESS KEY ID = 'AKIAFAKEBLOCKCACHE', SECRET ACCESS KEY = SECRET k, REGION = 'us-east-1')`)
	region := func() string {
		cfg, err := cat.AWSConfig(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Region
	}
	region()
	s := cat.NewSession()
	if _, err := s.Exec(ctx, `BEGIN; ALTER CONNECTION r SET (REGION = 'eu-west-1')`); err != nil {
		t.Fatal(err)
	}
	if got := region(); got != "us-east-1" {
		t.Fatalf("an uncommitted ALTER reached the data plane: %s", got)
	}
	if _, err := s.Exec(ctx, `COMMIT`); err != nil {
		t.Fatal(err)
	}
	if got := region(); got != "eu-west-1" {
		t.Fatalf("after COMMIT the data plane says %s", got)
	}
	if !strings.Contains(fmt.Sprint(mustExec(t, cat, `SHOW CREATE CONNECTION r`)[0].Rows), "eu-west-1") {
		t.Fatal("the ALTER did not commit")
	}
}
