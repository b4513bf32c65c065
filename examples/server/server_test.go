package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/conncat/conncat/internal/testenv"
)

// testPassword is obviously fake; the server lives for one test.
const testPassword = "fake-server-password-5521"

// startServer starts the server (built once for the package) on a free
// loopback port with a fresh catalog and returns its URL (without the
// password), once it has answered a real query.
func startServer(t *testing.T, extra ...string) string {
	t.Helper()
	url, _, _ := launchServer(t, 0, extra...)
	return url
}

// launchServer is startServer with, if files > 0, the server's limit of
// open files (ulimit -n) set that low; it also returns what the server
// writes to stderr and its process ID.
func launchServer(t *testing.T, files int, extra ...string) (string, *testenv.SyncBuffer, int) {
	t.Helper()
	bin := testenv.Build(t, ".")
	dir := t.TempDir()
	port := testenv.FreePort(t)
	args := append([]string{"-listen", fmt.Sprintf("127.0.0.1:%d", port), "-db", filepath.Join(dir, "c.db")}, extra...)
	cmd := exec.Command(bin, args...)
	if files > 0 {
		cmd = exec.Command("sh", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, files), bin}, args...)...)
	}
	cmd.Env = append(os.Environ(), "CONNCAT_SERVER_PASSWORD="+testPassword)
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	url := fmt.Sprintf("postgres://conncat@127.0.0.1:%d/conncat?sslmode=disable", port)
	// sslmode=prefer: a server started with TLS may refuse plaintext.
	probe := fmt.Sprintf("postgres://conncat:%s@127.0.0.1:%d/conncat?sslmode=prefer", testPassword, port)
	testenv.Eventually(t, "the server answers SELECT 1", func() bool {
		select {
		case <-exited:
			t.Fatalf("the server exited:\n%s", out)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, probe)
		if err != nil {
			return false
		}
		defer conn.Close(ctx)
		var one int
		return conn.QueryRow(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol).Scan(&one) == nil && one == 1
	})
	return url, out, cmd.Process.Pid
}

// psql runs psql against the server with verbose errors (SQLSTATE shown).
func psql(t *testing.T, url, password, script string) (string, error) {
	t.Helper()
	cmd := exec.Command("psql", url, "-X", "-v", "VERBOSITY=verbose", "-v", "ON_ERROR_STOP=0", "-f", "-")
	cmd.Env = append(os.Environ(), "PGPASSWORD="+password)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestPsqlWalkThrough: psql, which nobody here wrote, runs the seed's
// statements through SCRAM: results, notices, command tags, and errors
// with their SQLSTATE, hint and caret — but no caret, and so no "LINE 1:"
// echo of the statement, for statements that hold a secret.
func TestPsqlWalkThrough(t *testing.T) {
	url := startServer(t, "-principal", "arn:aws:iam::000000000000:role/conncat")
	out, err := psql(t, url, testPassword, `
CREATE SECRET sk AS 'fake-secret-value-0001';
CREATE CONNECTION aws_conn TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/MyRole');
CREATE CONNECTION s3_conn TO S3 (PREFIX = 's3://bucket/exports/') USING AWS CONNECTION aws_conn;
SELECT name, type FROM mz_connections ORDER BY name;
SHOW TRUST POLICY FOR CONNECTION aws_conn;
SELECT principal, external_id FROM mz_aws_connections aws JOIN mz_connections c ON aws.id = c.id WHERE c.name = 'aws_conn';
DROP SECRET nope;
SELECT nam FROM mz_connections;
CREATE CONNECTION IF NOT EXISTS aws_conn TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/MyRole');
CREATE SECRET sk AS 'fake-secret-value-0001';
ALTER SECRET sk AS 'fake-secret-value-0001' junk;
`)
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	for _, want := range []string{
		"CREATE SECRET", "CREATE CONNECTION", " aws_conn | aws", " s3_conn  | s3", "(2 rows)",
		"arn:aws:iam::000000000000:role/conncat", `"sts:ExternalId"`,
		`ERROR:  42704: secret "nope" does not exist`,
		`ERROR:  42703: column "nam" does not exist`, "LINE 1: SELECT nam FROM mz_connections", `HINT:  Perhaps you meant to reference the column "name".`,
		`NOTICE:  00000: connection "aws_conn" already exists, skipping`,
		`ERROR:  42710: secret "sk" already exists`, `ERROR:  42601:`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("psql output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "fake-secret-value-0001") {
		t.Errorf("psql output shows the secret:\n%s", out)
	}
}

// TestWrongPasswordRefused: SCRAM refuses a wrong password with 28P01 and
// the server never learns it in clear.
func TestWrongPasswordRefused(t *testing.T) {
	url := startServer(t)
	out, err := psql(t, url, "not-the-password", "SELECT 1;")
	if err == nil || !strings.Contains(out, "password authentication failed") {
		t.Fatalf("wrong password: %v\n%s", err, out)
	}
}

// TestServerRefusesToStartUnsafely: no password, or a non-loopback
// address without TLS, and the server does not start.
func TestServerRefusesToStartUnsafely(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		args []string
		want string
	}{
		{nil, []string{"-listen", "127.0.0.1:0"}, "no password"},
		{[]string{"CONNCAT_SERVER_PASSWORD=" + testPassword}, []string{"-listen", "0.0.0.0:0"}, "without TLS"},
	} {
		cmd := exec.Command(testenv.Build(t, "."), append(tc.args, "-db", filepath.Join(t.TempDir(), "c.db"))...)
		cmd.Env = append(os.Environ(), tc.env...)
		for i, e := range cmd.Env {
			if strings.HasPrefix(e, "CONNCAT_SERVER_PASSWORD=") && tc.env == nil {
				cmd.Env[i] = "CONNCAT_SERVER_PASSWORD="
			}
		}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: started or said %q", tc.args, out)
		}
	}
}

// TestCancelStopsAStatement: a driver's cancel request (pgx sends one when
// its context ends, as psql does on Ctrl-C) stops a VALIDATE waiting on an
// endpoint that never answers, with 57014.
func TestCancelStopsAStatement(t *testing.T) {
	url := startServer(t, "-statement-timeout", "1m")
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	reached := make(chan struct{}, 16)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accept and never answer
			reached <- struct{}{}
		}
	}()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE SECRET sk AS 'fake-secret-value-0002';
		CREATE CONNECTION slow TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET sk, ENDPOINT = 'http://%s')`, silent.Addr()),
		pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	// The cancel request comes on its own connection, as PostgreSQL's
	// protocol has it, while the statement waits on the silent endpoint.
	// It is sent once the statement is waiting: the endpoint accepted it.
	go func() {
		<-reached
		_ = conn.PgConn().CancelRequest(ctx)
	}()
	_, err = conn.Exec(ctx, "VALIDATE CONNECTION slow WITH (S3 PATH = 's3://bucket/p/')", pgx.QueryExecModeSimpleProtocol)
	var pe *pgconn.PgError
	// "user request", not the one-minute statement timeout: the cancel
	// stopped it.
	if !errors.As(err, &pe) || pe.Code != "57014" || !strings.Contains(pe.Message, "user request") {
		t.Fatalf("cancelled VALIDATE: %v, want 57014 canceling statement due to user request", err)
	}
	// The session goes on.
	var n int64
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM mz_connections", pgx.QueryExecModeSimpleProtocol).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after the cancel: %d, %v", n, err)
	}
}

// TestPgxExtendedProtocol: pgx's default mode prepares every statement
// (Parse, Describe, Bind, Execute, Sync): parameterised SELECTs, typed
// columns scanned into Go types, SHOW, errors with their SQLSTATE, and a
// prepared statement reused with other values.
func TestPgxExtendedProtocol(t *testing.T) {
	url := startServer(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A', ASSUME ROLE DURATION = 3600);
		CREATE CONNECTION "it's" TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/B')`); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "it's", "' OR 1=1 --"} {
		var id string
		var duration *int64
		err := conn.QueryRow(ctx, `SELECT c.id, a.assume_role_duration FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id WHERE c.name = $1`, name).Scan(&id, &duration)
		switch {
		case name == "' OR 1=1 --":
			if !errors.Is(err, pgx.ErrNoRows) {
				t.Errorf("%q: %v", name, err)
			}
		case err != nil:
			t.Errorf("%q: %v", name, err)
		case name == "a" && (duration == nil || *duration != 3600):
			t.Errorf("duration of a: %v", duration)
		}
	}
	var n int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM mz_connections WHERE name <> $1`, "a").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count: %d %v", n, err)
	}
	rows, err := conn.Query(ctx, `SHOW CONNECTIONS`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var name, typ string
		err := r.Scan(&name, &typ)
		return name, err
	})
	if err != nil || strings.Join(names, ",") != "a,it's" {
		t.Fatalf("SHOW CONNECTIONS: %v %v", names, err)
	}
	_, err = conn.Exec(ctx, `SELECT nam FROM mz_connections WHERE name = $1`, "a")
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "42703" || pe.Position == 0 {
		t.Fatalf("undefined column: %v", err)
	}
	// The session is usable after an error.
	if err := conn.QueryRow(ctx, `SELECT name FROM mz_connections WHERE id = $1`, "u1").Scan(new(string)); err != nil {
		t.Fatalf("after an error: %v", err)
	}
}

// nodePG is where the test command installs node-postgres (Makefile).
func nodePG(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CONNCAT_NODE_PG")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "conncat", "node-pg-8.23.1", "node_modules")
	}
	if _, err := os.Stat(filepath.Join(dir, "pg")); err != nil {
		t.Fatalf("node-postgres is not installed in %s: run `make test` (it installs it) or set CONNCAT_NODE_PG", dir)
	}
	return dir
}

// TestNodePostgres: node-postgres, the Node.js driver, logs in with SCRAM,
// runs DDL, parameterised SELECTs (the extended protocol) and gets an
// error's SQLSTATE.
func TestNodePostgres(t *testing.T) {
	modules := nodePG(t)
	url := startServer(t)
	script := filepath.Join(t.TempDir(), "client.js")
	if err := os.WriteFile(script, []byte(`
const { Client } = require('pg');
(async () => {
  const client = new Client({ connectionString: process.env.URL });
  await client.connect();
  const out = {};
  await client.query("CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A', ASSUME ROLE DURATION = 7200)");
  const r = await client.query('SELECT c.name, a.assume_role_duration FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id WHERE c.name = $1', ['a']);
  out.rows = r.rows;
  out.command = r.command;
  const none = await client.query('SELECT name FROM mz_connections WHERE name = $1', ["' OR 1=1 --"]);
  out.injected = none.rowCount;
  try { await client.query('DROP SECRET nope'); } catch (e) { out.code = e.code; out.message = e.message; }
  const after = await client.query('SELECT count(*) AS n FROM mz_connections');
  out.count = after.rows[0].n;
  await client.end();
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "URL="+strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	want := `{"rows":[{"name":"a","assume_role_duration":"7200"}],"command":"SELECT","injected":0,"code":"42704","message":"secret \"nope\" does not exist","count":"1"}`
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("node-postgres saw\n%s\nwant\n%s", got, want)
	}
}

// TestTLSAndSessionParameters: with a certificate the server speaks TLS
// (psql's sslmode=require), application_name comes back as PostgreSQL
// reports it, drivers' SET of session parameters is accepted, and policy
// columns are typed json.
func TestTLSAndSessionParameters(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	url := strings.Replace(startServer(t, "-tls-cert", cert, "-tls-key", key), "sslmode=disable", "sslmode=require&application_name=walkthrough", 1)
	out, err := psql(t, url, testPassword, `SHOW CONNECTIONS;
SET extra_float_digits = 3;
SET application_name TO 'renamed';
SELECT 1 AS one;
`)
	if err != nil {
		t.Fatalf("psql over TLS: %v\n%s", err, out)
	}
	for _, want := range []string{"(0 rows)", "SET", " one \n-----\n   1"} {
		if !strings.Contains(out, want) {
			t.Errorf("psql over TLS lacks %q:\n%s", want, out)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if !conn.PgConn().Conn().(interface{ ConnectionState() tls.ConnectionState }).ConnectionState().HandshakeComplete {
		t.Fatal("pgx's connection is not TLS")
	}
	if got := conn.PgConn().ParameterStatus("application_name"); got != "walkthrough" {
		t.Fatalf("application_name reported as %q", got)
	}
	if _, err := conn.Exec(ctx, `CREATE CONNECTION r TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/R')`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT example_trust_policy FROM mz_aws_connections WHERE id = $1`, "u1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if oid := rows.FieldDescriptions()[0].DataTypeOID; oid != 114 {
		t.Fatalf("example_trust_policy typed %d, want json (114)", oid)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestConnectionLimit: a connection beyond -max-connections is refused
// with 53300, and the slot is free again once its session ends, with the
// block it left open rolled back.
func TestConnectionLimit(t *testing.T) {
	url := strings.Replace(startServer(t, "-max-connections", "1"), "conncat@", "conncat:"+testPassword+"@", 1)
	ctx := context.Background()
	// startServer's readiness probe held the only slot until the server
	// saw it close.
	first := connectWhenFree(t, url)
	_, err := pgx.Connect(ctx, url)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "53300" {
		t.Fatalf("a second connection with -max-connections 1: %v", err)
	}
	if _, err := first.Exec(ctx, "BEGIN; CREATE SECRET left_open AS 'fake-open'"); err != nil {
		t.Fatal(err)
	}
	first.Close(ctx)
	next := connectWhenFree(t, url)
	defer next.Close(ctx)
	var n int
	if err := next.QueryRow(ctx, "SELECT count(*) FROM mz_secrets").Scan(&n); err != nil || n != 0 {
		t.Fatalf("a block its session left open: %d secrets, %v", n, err)
	}
}

// connectWhenFree connects once the server has a free slot.
func connectWhenFree(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	var conn *pgx.Conn
	testenv.Eventually(t, "a free slot", func() bool {
		var err error
		conn, err = pgx.Connect(context.Background(), url)
		return err == nil
	})
	return conn
}

// TestIdleTimeout: a session idle past -idle-timeout is closed by the
// server with 57P05, and its slot is free again.
func TestIdleTimeout(t *testing.T) {
	url := strings.Replace(startServer(t, "-max-connections", "1", "-idle-timeout", "500ms"), "conncat@", "conncat:"+testPassword+"@", 1)
	idle := connectWhenFree(t, url)
	// Read what the server sends on its own, until it closes the socket:
	// the wait is bounded only against a hang.
	raw := idle.PgConn().Conn()
	_ = raw.SetReadDeadline(time.Now().Add(testenv.HangBound))
	sent, err := io.ReadAll(raw)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("a session idle past the timeout is still open")
	}
	if !bytes.Contains(sent, []byte("57P05")) {
		t.Fatalf("the server closed an idle session without 57P05: %q", sent)
	}
	connectWhenFree(t, url).Close(context.Background())
}

// TestServerBoundsWhatAClientCanHold: an unknown user fails exactly like
// a wrong password (after the SCRAM exchange), a client that never logs in
// is closed after -authentication-timeout, and a message over the limit
// ends the session with 54000 instead of being buffered.
func TestServerBoundsWhatAClientCanHold(t *testing.T) {
	url := startServer(t, "-authentication-timeout", "2s")
	out, err := psql(t, strings.Replace(url, "conncat@", "nobody@", 1), testPassword, "SELECT 1;")
	if err == nil || !strings.Contains(out, `password authentication failed for user "nobody"`) {
		t.Fatalf("unknown user: %v\n%s", err, out)
	}
	host := strings.TrimPrefix(strings.SplitN(url, "/", 4)[2], "conncat@")
	silent, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	_ = silent.SetReadDeadline(time.Now().Add(testenv.HangBound))
	if _, err := silent.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a silent client is still connected after the authentication timeout: %v", err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "SELECT '"+strings.Repeat("x", 9<<20)+"'", pgx.QueryExecModeSimpleProtocol)
	var pe *pgconn.PgError
	if err == nil || (errors.As(err, &pe) && pe.Code != "54000") {
		t.Fatalf("a 9 MiB message: %v", err)
	}
}

// answers reports whether a client logs in with the password and gets
// SELECT 1 answered.
func answers(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var one int
	return conn.QueryRow(ctx, "SELECT 1", pgx.QueryExecModeSimpleProtocol).Scan(&one)
}

// silentSockets opens n connections that never say anything.
func silentSockets(t *testing.T, url string, n int) []net.Conn {
	t.Helper()
	host := strings.TrimPrefix(strings.SplitN(url, "/", 4)[2], "conncat@")
	var conns []net.Conn
	for range n {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// TestSilentSocketsLockNobodyOut: sockets that connect and say nothing
// hold no session slot, and past -max-startups a newcomer takes the place
// of one silent for a second, so real users log in while the silent ones
// would wait out a long authentication timeout; a newcomer with no place
// to take is refused with 53300, never left hanging.
func TestSilentSocketsLockNobodyOut(t *testing.T) {
	url := startServer(t, "-max-connections", "2", "-max-startups", "4", "-authentication-timeout", "10m")
	silent := silentSockets(t, url, 100)
	err := answers(url)
	var pe *pgconn.PgError
	if err != nil && (!errors.As(err, &pe) || pe.Code != "53300") {
		t.Fatalf("a newcomer while every place is new: %v, want 53300 or a login", err)
	}
	for range 3 {
		testenv.Eventually(t, "a real user beside 100 silent sockets logs in", func() bool { return answers(url) == nil })
	}
	// The oldest silent sockets were closed by the server.
	_ = silent[0].SetReadDeadline(time.Now().Add(testenv.HangBound))
	if _, err := silent[0].Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the oldest silent socket is still open")
	}
}

// TestOutOfDescriptorsKeepsServing: when accepting fails because the
// process is out of file descriptors, the server backs off and goes on
// serving instead of exiting; once the sockets go away, users log in.
func TestOutOfDescriptorsKeepsServing(t *testing.T) {
	url, stderr, _ := launchServer(t, 48, "-max-startups", "200", "-authentication-timeout", "10m")
	silent := silentSockets(t, url, 120)
	testenv.Eventually(t, "accept fails for want of descriptors", func() bool {
		return strings.Contains(stderr.String(), "too many open files")
	})
	for _, c := range silent {
		c.Close()
	}
	testenv.Eventually(t, "a user logs in after the flood", func() bool { return answers(url) == nil })
	if strings.Contains(stderr.String(), "stopped serving") {
		t.Fatalf("the server stopped serving:\n%s", stderr)
	}
}

// TestStalledReaderIsClosed: a client that sends queries and never reads
// the answers cannot hold its session: writes time out after
// -write-timeout and the server closes it, freeing the only slot.
func TestStalledReaderIsClosed(t *testing.T) {
	url := startServer(t, "-max-connections", "1", "-write-timeout", "1s")
	conn := connectWhenFree(t, strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	// Taken from pgx, whose background reader would otherwise read the
	// answers the test means to leave unread.
	hijacked, err := conn.PgConn().Hijack()
	if err != nil {
		t.Fatal(err)
	}
	raw := hijacked.Conn
	defer raw.Close()
	// A small receive buffer, and answers of 8 MB each: the first fills
	// both sockets' buffers.
	if err := raw.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	var msg []byte
	query := &pgproto3.Query{String: "WITH RECURSIVE r(n, s) AS (SELECT 1, " + megabyte + " UNION ALL SELECT n + 1, s FROM r WHERE n < 8) SELECT n, s FROM r"}
	msg, err = query.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range 64 {
			if _, err := raw.Write(msg); err != nil {
				return
			}
		}
	}()
	testenv.Eventually(t, "the stalled session's slot is free", func() bool { return answers(url) == nil })
}

// TestTLSServerRefusesPlaintext: with a certificate, a client that does
// not ask for TLS is refused with 28000 before it can send a password or
// a secret in the clear, unless -allow-plaintext-loopback lets loopback
// clients in.
func TestTLSServerRefusesPlaintext(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	url := startServer(t, "-tls-cert", cert, "-tls-key", key)
	err := answers(url) // sslmode=disable
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "28000" || !strings.Contains(pe.Hint, "sslmode=require") {
		t.Fatalf("plaintext login to a TLS server: %v", err)
	}
	if err := answers(strings.Replace(url, "sslmode=disable", "sslmode=require", 1)); err != nil {
		t.Fatalf("TLS login: %v", err)
	}
	lenient := startServer(t, "-tls-cert", cert, "-tls-key", key, "-allow-plaintext-loopback")
	if err := answers(lenient); err != nil {
		t.Fatalf("plaintext from loopback with -allow-plaintext-loopback: %v", err)
	}
}

// saltFor starts a SCRAM exchange as user and returns the salt the
// server offers (then hangs up).
func saltFor(t *testing.T, url, user string) string {
	t.Helper()
	host := strings.TrimPrefix(strings.SplitN(url, "/", 4)[2], "conncat@")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testenv.HangBound))
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": user, "database": "conncat"}})
	fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=fakeclientnonce0123")})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("%s: %v", user, err)
		}
		if cont, ok := msg.(*pgproto3.AuthenticationSASLContinue); ok {
			for _, field := range strings.Split(string(cont.Data), ",") {
				if salt, ok := strings.CutPrefix(field, "s="); ok {
					return salt
				}
			}
			t.Fatalf("%s: no salt in %q", user, cont.Data)
		}
	}
}

// TestUnknownUsersLookLikeReal: the salt an unknown user is offered is
// its own (stable for the name, different for another name), as a real
// user's is, so salts do not tell which user names exist.
func TestUnknownUsersLookLikeReal(t *testing.T) {
	url := startServer(t)
	real1, real2 := saltFor(t, url, "conncat"), saltFor(t, url, "conncat")
	ghost1, ghost2, other := saltFor(t, url, "ghost"), saltFor(t, url, "ghost"), saltFor(t, url, "phantom")
	if real1 != real2 || ghost1 != ghost2 {
		t.Fatalf("a name's salt changed between logins: real %s %s, unknown %s %s", real1, real2, ghost1, ghost2)
	}
	if ghost1 == other || ghost1 == real1 || other == real1 {
		t.Fatalf("salts shared between names: real %s, ghost %s, phantom %s", real1, ghost1, other)
	}
}

// TestSessionStateBoundedInBytes: prepared statements are bounded by what
// their text holds, not only by their count: past 64 MiB a Parse is
// refused with 54000 and the session goes on.
func TestSessionStateBoundedInBytes(t *testing.T) {
	ctx := context.Background()
	conn := loggedIn(t)
	text := "SELECT 1 -- " + strings.Repeat("x", 4<<20-64)
	var refused error
	for i := range 20 {
		if _, refused = conn.Prepare(ctx, fmt.Sprintf("big_%d", i), text); refused != nil {
			if i < 15 {
				t.Fatalf("statement %d (%d MiB held) refused: %v", i, 4*i, refused)
			}
			break
		}
	}
	var pe *pgconn.PgError
	if !errors.As(refused, &pe) || pe.Code != "54000" || !strings.Contains(pe.Message, "64 MiB") {
		t.Fatalf("20 prepared statements of 4 MiB: %v", refused)
	}
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("after the refusal: %v", err)
	}
}

// peakRSS is a running process's peak resident memory in MB (VmHWM).
func peakRSS(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb / 1024
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// TestManySessionsOfHugeResults: 100 sessions each running the worst
// short query (one 8 MB value times 300 rows) at once are each refused at
// a result budget (54000 for the statement, 53200 for the process), the
// server keeps answering another user meanwhile, and its peak memory
// stays under 1 GB. Memory is asserted (it is not a time).
func TestManySessionsOfHugeResults(t *testing.T) {
	url, _, pid := launchServer(t, 0, "-max-startups", "200", "-max-connections", "200")
	url = strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1)
	query := fmt.Sprintf("WITH RECURSIVE m(s) AS (SELECT %s), r(n, s) AS (SELECT 1, concat(m.s, m.s, m.s, m.s, m.s, m.s, m.s, m.s) FROM m UNION ALL SELECT n + 1, s FROM r WHERE n < 300) SELECT n, s FROM r", megabyte)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close(ctx)
			_, err = conn.Exec(ctx, query, pgx.QueryExecModeSimpleProtocol)
			var pe *pgconn.PgError
			budget := errors.As(err, &pe) && (pe.Code == "54000" && strings.Contains(pe.Message, "larger than 64 MiB") ||
				pe.Code == "53200" && strings.Contains(pe.Message, "process's budget"))
			if !budget {
				errs <- fmt.Errorf("the worst query: %v, want a result budget's 54000 or 53200", err)
			}
		})
	}
	if err := answers(url); err != nil {
		t.Errorf("another user during the flood: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	peak := peakRSS(t, pid)
	t.Logf("peak RSS of the server: %d MB", peak)
	if peak >= 1024 {
		t.Fatalf("100 sessions took the server to %d MB (target: under 1 GB)", peak)
	}
}

// TestDescribedPortalsHoldLittle: portals whose Describe ran a large
// query keep its result for Execute only within the session's 64 MiB;
// beyond that Execute runs the statement again. 12 portals of a 6 MB
// result are all bound and described before any runs (one pipeline), so
// the last cannot be kept, and every one still answers in full.
func TestDescribedPortalsHoldLittle(t *testing.T) {
	conn := loggedIn(t)
	query := fmt.Sprintf("WITH RECURSIVE r(n, s) AS (SELECT 1, %s UNION ALL SELECT n + 1, s FROM r WHERE n < 6) SELECT n, s FROM r", megabyte)
	raw := conn.PgConn().Conn()
	_ = raw.SetDeadline(time.Now().Add(testenv.HangBound))
	fe := pgproto3.NewFrontend(raw, raw)
	fe.Send(&pgproto3.Parse{Name: "big", Query: query})
	for i := range 12 {
		fe.Send(&pgproto3.Bind{DestinationPortal: fmt.Sprint("p", i), PreparedStatement: "big"})
		fe.Send(&pgproto3.Describe{ObjectType: 'P', Name: fmt.Sprint("p", i)})
	}
	for i := range 12 {
		fe.Send(&pgproto3.Execute{Portal: fmt.Sprint("p", i)})
	}
	fe.Send(&pgproto3.Sync{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	rows, complete := 0, 0
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatal(err)
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if len(m.Values[1]) != 1_000_000 {
				t.Fatalf("a row of %d bytes", len(m.Values[1]))
			}
			rows++
		case *pgproto3.CommandComplete:
			complete++
		case *pgproto3.ErrorResponse:
			t.Fatalf("%s %s", m.Code, m.Message)
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	if rows != 72 || complete != 12 {
		t.Fatalf("%d rows and %d results from 12 portals of 6 rows", rows, complete)
	}
}

// megabyte is an expression the catalog computes to a text of 10^6 bytes.
const megabyte = "replace(replace(replace(replace(replace('xxxxxxxxxx','x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx'),'x','xxxxxxxxxx')"

// loggedIn starts a server and returns a pgx session on it, closed when
// the test ends.
func loggedIn(t *testing.T) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, strings.Replace(startServer(t), "conncat@", "conncat:"+testPassword+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

// TestErrorsReachClientsThatDoNotSync: asyncpg prepares with Parse,
// Describe and Flush, without Sync, and waits; the error must reach it at
// once (PostgreSQL sends it and honours every Flush), and the session is
// usable after the client's Sync.
func TestErrorsReachClientsThatDoNotSync(t *testing.T) {
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, strings.Replace(startServer(t), "conncat@", "conncat:"+testPassword+"@", 1))
	if err != nil {
		t.Fatal(err)
	}
	hijacked, err := conn.Hijack()
	if err != nil {
		t.Fatal(err)
	}
	defer hijacked.Conn.Close()
	fe := hijacked.Frontend
	// Only a server that held the error back makes this read wait; the
	// bound turns such a hang into a failure.
	_ = hijacked.Conn.SetReadDeadline(time.Now().Add(testenv.HangBound))
	fe.Send(&pgproto3.Parse{Query: "SELECT nam FROM mz_connections"})
	fe.Send(&pgproto3.Describe{ObjectType: 'S'})
	fe.Send(&pgproto3.Flush{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	// ParseComplete and ParameterDescription, then the error Describe
	// met running the statement to learn its columns.
	var seen []string
	for {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("after Parse, Describe, Flush: %v (so far %v)", err, seen)
		}
		if e, ok := msg.(*pgproto3.ErrorResponse); ok {
			if e.Code != "42703" {
				t.Fatalf("error %s %s, want 42703", e.Code, e.Message)
			}
			break
		}
		if seen = append(seen, fmt.Sprintf("%T", msg)); len(seen) > 2 {
			t.Fatalf("no error after %v", seen)
		}
	}
	fe.Send(&pgproto3.Sync{})
	fe.Send(&pgproto3.Query{String: "SELECT 1"})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 5 {
		msg, err := fe.Receive()
		if err != nil {
			t.Fatalf("after Sync: %v (so far %v)", err, got)
		}
		got = append(got, fmt.Sprintf("%T", msg))
	}
	if want := "[*pgproto3.ReadyForQuery *pgproto3.RowDescription *pgproto3.DataRow *pgproto3.CommandComplete *pgproto3.ReadyForQuery]"; fmt.Sprint(got) != want {
		t.Fatalf("after Sync: %v, want %s", got, want)
	}
}

// TestEncodingNamesAsPostgreSQLReadsThem: asyncpg sends client_encoding
// as 'utf-8', quotes included; PostgreSQL keeps only letters and digits
// of an encoding's name, so that is UTF8.
func TestEncodingNamesAsPostgreSQLReadsThem(t *testing.T) {
	url := strings.Replace(startServer(t), "conncat@", "conncat:"+testPassword+"@", 1)
	ctx := context.Background()
	for _, enc := range []string{"'utf-8'", "utf8", "Unicode", "UTF_8"} {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.RuntimeParams["client_encoding"] = enc
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Errorf("client_encoding %s: %v", enc, err)
			continue
		}
		conn.Close(ctx)
	}
	cfg, _ := pgx.ParseConfig(url)
	cfg.RuntimeParams["client_encoding"] = "LATIN1"
	if conn, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		conn.Close(ctx)
		t.Error("client_encoding LATIN1 accepted")
	}
}

// TestSessionStatementsAsDriversSendThem: the statements drivers and
// poolers send on their own, in both protocols — pgJDBC's SET through the
// extended protocol, asyncpg's reset before a pooled connection is reused,
// DISCARD ALL, DEALLOCATE, SHOW of a parameter — answer as PostgreSQL's.
func TestSessionStatementsAsDriversSendThem(t *testing.T) {
	ctx := context.Background()
	conn, err := pgconn.Connect(ctx, strings.Replace(startServer(t), "conncat@", "conncat:"+testPassword+"@", 1)+"&application_name=first")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	extended := func(sql string) (string, string, error) {
		res := conn.ExecParams(ctx, sql, nil, nil, nil, nil).Read()
		value := ""
		if len(res.Rows) == 1 && len(res.Rows[0]) == 1 {
			value = string(res.Rows[0][0])
		}
		return res.CommandTag.String(), value, res.Err
	}
	for _, sql := range []string{"SET extra_float_digits = 3", "SET application_name = 'PostgreSQL JDBC Driver'", "SET SESSION TimeZone TO 'UTC'"} {
		if tag, _, err := extended(sql); err != nil || tag != "SET" {
			t.Errorf("%s through the extended protocol: %q %v", sql, tag, err)
		}
	}
	if _, v, err := extended("SHOW application_name"); err != nil || v != "PostgreSQL JDBC Driver" {
		t.Errorf("SHOW application_name: %q %v", v, err)
	}
	if _, v, err := extended("SHOW server_version"); err != nil || !strings.HasPrefix(v, "15") {
		t.Errorf("SHOW server_version: %q %v", v, err)
	}
	for sql, want := range map[string]string{"SELECT version()": "PostgreSQL 15.0", "select current_user": "conncat",
		"SELECT pg_catalog.current_schema()": "public", "SELECT current_schema": "public", "SELECT current_database();": "conncat"} {
		if _, v, err := extended(sql); err != nil || !strings.HasPrefix(v, want) {
			t.Errorf("%s: %q %v, want %q", sql, v, err, want)
		}
	}
	results, err := conn.Exec(ctx, "SELECT pg_advisory_unlock_all();\nCLOSE ALL;\nUNLISTEN *;\nRESET ALL;").ReadAll()
	if err != nil || len(results) != 4 {
		t.Fatalf("asyncpg's reset: %d results, %v", len(results), err)
	}
	if _, v, err := extended("SHOW application_name"); err != nil || v != "first" {
		t.Errorf("after RESET ALL, application_name is %q (%v), want the session's first", v, err)
	}
	if _, err := conn.Prepare(ctx, "kept", "SELECT 1", nil); err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{"DEALLOCATE kept", "DISCARD ALL", "DEALLOCATE ALL", "UNLISTEN some_channel", "DISCARD PLANS", "discard temporary"} {
		if _, err := conn.Exec(ctx, sql).ReadAll(); err != nil {
			t.Errorf("%s: %v", sql, err)
		}
	}
	var pe *pgconn.PgError
	if _, err := conn.Exec(ctx, "DEALLOCATE kept").ReadAll(); !errors.As(err, &pe) || pe.Code != "26000" {
		t.Errorf("DEALLOCATE of a statement already gone: %v, want 26000", err)
	}
	if _, err := conn.Exec(ctx, "CLOSE some_cursor").ReadAll(); !errors.As(err, &pe) || pe.Code != "34000" {
		t.Errorf("CLOSE of a cursor that does not exist: %v, want 34000", err)
	}
	if results, err := conn.Exec(ctx, "SHOW CONNECTIONS").ReadAll(); err != nil || len(results) != 1 {
		t.Errorf("SHOW CONNECTIONS is still the dialect's: %v", err)
	}
}

// TestTransactionsAsDriversUseThem: BEGIN ... COMMIT, ROLLBACK, savepoints
// (pgx's nested transactions), the status in ReadyForQuery, 25P02 in a
// failed block, and a multi-statement query that fails rolled back whole.
func TestTransactionsAsDriversUseThem(t *testing.T) {
	ctx := context.Background()
	url := strings.Replace(startServer(t), "conncat@", "conncat:"+testPassword+"@", 1)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	secrets := func() string {
		rows, _ := other.Query(ctx, "SELECT name FROM mz_secrets ORDER BY name")
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(names, " ")
	}
	var pe *pgconn.PgError
	// psql's "A; bad; C": nothing of it lands.
	if _, err := conn.Exec(ctx, "CREATE SECRET a AS 'fake-a'; CREATE SECRET a AS 'fake-again'; CREATE SECRET c AS 'fake-c'"); !errors.As(err, &pe) || pe.Code != "42710" {
		t.Fatalf("a failing multi-statement query: %v", err)
	}
	if got := secrets(); got != "" || conn.PgConn().TxStatus() != 'I' {
		t.Fatalf("after a failing multi-statement query: %q, status %c", got, conn.PgConn().TxStatus())
	}

	tx, err := conn.Begin(ctx)
	if err != nil || conn.PgConn().TxStatus() != 'T' {
		t.Fatalf("BEGIN: %v, status %c", err, conn.PgConn().TxStatus())
	}
	if _, err := tx.Exec(ctx, "CREATE SECRET a AS 'fake-a'"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM mz_secrets WHERE name = $1", "a").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the block's SELECT does not see its DDL: %d, %v", n, err)
	}
	nested, err := tx.Begin(ctx) // SAVEPOINT
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nested.Exec(ctx, "CREATE SECRET b AS 'fake-b'"); err != nil {
		t.Fatal(err)
	}
	if _, err := nested.Exec(ctx, "DROP SECRET nothing"); !errors.As(err, &pe) || pe.Code != "42704" || conn.PgConn().TxStatus() != 'E' {
		t.Fatalf("an error in the block: %v, status %c", err, conn.PgConn().TxStatus())
	}
	if _, err := nested.Exec(ctx, "SHOW SECRETS"); !errors.As(err, &pe) || pe.Code != "25P02" {
		t.Fatalf("a statement in the failed block: %v", err)
	}
	if err := nested.Rollback(ctx); err != nil || conn.PgConn().TxStatus() != 'T' { // ROLLBACK TO SAVEPOINT
		t.Fatalf("ROLLBACK TO SAVEPOINT: %v, status %c", err, conn.PgConn().TxStatus())
	}
	if got := secrets(); got != "" {
		t.Fatalf("another session sees an open block's DDL: %q", got)
	}
	if err := tx.Commit(ctx); err != nil || conn.PgConn().TxStatus() != 'I' {
		t.Fatalf("COMMIT: %v, status %c", err, conn.PgConn().TxStatus())
	}
	if got := secrets(); got != "a" {
		t.Fatalf("after COMMIT: %q, want a (b was rolled back to the savepoint)", got)
	}

	tx, _ = conn.Begin(ctx)
	tx.Exec(ctx, "CREATE SECRET gone AS 'fake-gone'")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if got := secrets(); got != "a" {
		t.Fatalf("after ROLLBACK: %q", got)
	}
	tx, _ = conn.Begin(ctx)
	if _, err := tx.Exec(ctx, "DISCARD ALL"); !errors.As(err, &pe) || pe.Code != "25001" {
		t.Fatalf("DISCARD ALL in a block: %v", err)
	}
	tx.Rollback(ctx)
}

// TestDescribeDoesNotRun: Describe answers from the statement's
// description: parameter types (int8 beside an integer column and in
// LIMIT), result types (int8 for an integer column or count, json for a
// policy), and for a query that fails when it runs, its columns all the
// same.
func TestDescribeDoesNotRun(t *testing.T) {
	conn := loggedIn(t)
	ctx := context.Background()
	sd, err := conn.Prepare(ctx, "typed", `SELECT c.name, a.assume_role_duration, a.example_trust_policy, count(*) OVER () AS n
		FROM mz_connections c JOIN mz_aws_connections a USING (id) WHERE c.name = $1 AND a.assume_role_duration > $2 LIMIT $3`)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sd.ParamOIDs) != "[25 20 20]" {
		t.Errorf("parameter types %v, want text, int8, int8", sd.ParamOIDs)
	}
	var got []string
	for _, f := range sd.Fields {
		got = append(got, fmt.Sprintf("%s:%d", f.Name, f.DataTypeOID))
	}
	if strings.Join(got, " ") != "name:25 assume_role_duration:20 example_trust_policy:114 n:20" {
		t.Errorf("result types %v", got)
	}
	rows, _ := conn.Query(ctx, "typed", "a", int64(0), 10)
	if _, err := pgx.CollectRows(rows, pgx.RowToMap); err != nil {
		t.Fatalf("the typed statement with binary parameters: %v", err)
	}
	endless := "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT i FROM r"
	sd, err = conn.Prepare(ctx, "endless", endless)
	if err != nil || len(sd.Fields) != 1 || string(sd.Fields[0].Name) != "i" {
		t.Fatalf("Describe of a query that never ends: %+v, %v", sd, err)
	}
	var pe *pgconn.PgError
	if _, err := conn.Exec(ctx, "endless"); !errors.As(err, &pe) || pe.Code != "54000" {
		t.Fatalf("running it: %v", err)
	}
}

// TestPsqlTransactions: psql -1 runs a file as one transaction (an error
// applies none of it), and a -c of several statements is one implicit
// transaction, as with PostgreSQL.
func TestPsqlTransactions(t *testing.T) {
	url := startServer(t)
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("psql", append([]string{url, "-X", "-v", "VERBOSITY=verbose"}, args...)...)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+testPassword)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	dir := t.TempDir()
	bad, good := filepath.Join(dir, "bad.sql"), filepath.Join(dir, "good.sql")
	os.WriteFile(bad, []byte("CREATE SECRET a AS 'fake-a';\nCREATE SECRET a AS 'fake-again';\n"), 0o600)
	os.WriteFile(good, []byte("CREATE SECRET d AS 'fake-d';\nCREATE SECRET e AS 'fake-e';\n"), 0o600)
	if out := run("-1", "-v", "ON_ERROR_STOP=1", "-f", bad); !strings.Contains(out, "42710") {
		t.Fatalf("psql -1 with a failing file:\n%s", out)
	}
	if out := run("-c", "CREATE SECRET b AS 'fake-b'; DROP SECRET nope; CREATE SECRET c AS 'fake-c'"); !strings.Contains(out, "42704") {
		t.Fatalf("psql -c 'A; bad; C':\n%s", out)
	}
	if out := run("-1", "-f", good); strings.Count(out, "CREATE SECRET") != 2 {
		t.Fatalf("psql -1 with a good file:\n%s", out)
	}
	if out := run("-At", "-c", "SELECT name FROM mz_secrets ORDER BY name"); strings.TrimSpace(out) != "d\ne" {
		t.Fatalf("after the three: %q, want only the good file's d and e", out)
	}
}

// TestUsersFileRoles: with -users, each user logs in with its own
// password (SCRAM verifiers in PostgreSQL's format, made by
// -make-verifier; no password on disk) and its sessions run as the
// catalog role of its name: bob is refused alice's connection until she
// grants it. A file that holds a plain password, or that others may read,
// stops the server at start, naming the line but never its content.
func TestUsersFileRoles(t *testing.T) {
	bin := testenv.Build(t, ".")
	verifier := func(password string) string {
		cmd := exec.Command(bin, "-make-verifier")
		cmd.Stdin = strings.NewReader(password + "\n")
		out, err := cmd.Output()
		if err != nil || !strings.HasPrefix(string(out), "SCRAM-SHA-256$4096:") {
			t.Fatalf("-make-verifier: %q %v", out, err)
		}
		return strings.TrimSpace(string(out))
	}
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	lines := "# who may log in\nconncat:" + verifier(testPassword) + "\nalice:" + verifier("fake-alice-pw") + "\nbob:" + verifier("fake-bob-pw") + "\n"
	if err := os.WriteFile(users, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	base := startServer(t, "-users", users)
	ctx := context.Background()
	as := func(user, password string) *pgx.Conn {
		t.Helper()
		conn, err := pgx.Connect(ctx, strings.Replace(base, "conncat@", user+":"+password+"@", 1))
		if err != nil {
			t.Fatalf("%s logs in: %v", user, err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		return conn
	}
	alice, bob := as("alice", "fake-alice-pw"), as("bob", "fake-bob-pw")
	if _, err := alice.Exec(ctx, "CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::001234567890:role/A')"); err != nil {
		t.Fatal(err)
	}
	var pe *pgconn.PgError
	if _, err := bob.Exec(ctx, "SHOW CREATE CONNECTION a"); !errors.As(err, &pe) || pe.Code != "42501" {
		t.Fatalf("bob reads alice's connection: %v", err)
	}
	if _, err := alice.Exec(ctx, "GRANT USAGE ON CONNECTION a TO bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Exec(ctx, "SHOW CREATE CONNECTION a"); err != nil {
		t.Fatalf("bob after GRANT: %v", err)
	}
	var owner string
	if err := bob.QueryRow(ctx, "SELECT owner_id FROM mz_connections WHERE name = 'a'").Scan(&owner); err != nil || owner != "alice" {
		t.Fatalf("owner %q, %v", owner, err)
	}
	for _, login := range [][2]string{{"bob", "fake-alice-pw"}, {"carol", "fake-carol-pw"}} {
		_, err := pgx.Connect(ctx, strings.Replace(base, "conncat@", login[0]+":"+login[1]+"@", 1))
		if !errors.As(err, &pe) || pe.Code != "28P01" {
			t.Errorf("%s with a wrong password: %v", login[0], err)
		}
	}
	for _, c := range []struct {
		content string
		mode    os.FileMode
		want    string
	}{
		{"alice:fake-plain-password-77\n", 0o600, "line 1"},
		{lines, 0o644, "chmod 600"},
	} {
		bad := filepath.Join(dir, "bad-users")
		os.WriteFile(bad, []byte(c.content), c.mode)
		os.Chmod(bad, c.mode)
		out, err := exec.Command(bin, "-users", bad, "-listen", "127.0.0.1:0").CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) || strings.Contains(string(out), "fake-plain-password-77") {
			t.Errorf("a bad users file: %v\n%s", err, out)
		}
	}
}

// TestMalformedSCRAMRefused: client-first messages a client could forge
// (empty or unknown channel-binding flags, binding the server never
// offered, missing fields, extensions) each end that login with 28P01 and
// nothing else: the server stays up, and the next login works.
func TestMalformedSCRAMRefused(t *testing.T) {
	url := startServer(t)
	host := strings.TrimPrefix(strings.SplitN(url, "/", 4)[2], "conncat@")
	for _, first := range []string{"", ",,n=,r=abc", "x,,n=,r=abc", "p=tls-server-end-point,,n=,r=abc", "n,,n=", "n,,m=ext,n=,r=abc", strings.Repeat(",", 1000)} {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(testenv.HangBound))
		fe := pgproto3.NewFrontend(conn, conn)
		fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "conncat", "database": "conncat"}})
		fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte(first)})
		if err := fe.Flush(); err != nil {
			t.Fatal(err)
		}
		var refused *pgproto3.ErrorResponse
		for refused == nil {
			msg, err := fe.Receive()
			if err != nil {
				t.Fatalf("client-first %q: %v before an error", first, err)
			}
			switch m := msg.(type) {
			case *pgproto3.ErrorResponse:
				refused = m
			case *pgproto3.AuthenticationOk, *pgproto3.AuthenticationSASLContinue:
				t.Fatalf("client-first %q: %T", first, m)
			}
		}
		conn.Close()
		if refused.Code != "28P01" {
			t.Fatalf("client-first %q: %s %s", first, refused.Code, refused.Message)
		}
	}
	// Client-final messages forged after a well-formed first: a proof of
	// the wrong length or not base64, another nonce, missing fields.
	// {r} is the server's nonce, so the proof is what gets judged.
	for _, final := range []string{"", "c=biws", "c=biws,r=x,p=AAAA", "c=biws,r={r},p=AAAA", "c=biws,r={r},p=!!",
		"c=biws,r={r},p=" + strings.Repeat("A", 44), "c=biws,r={r},p=" + strings.Repeat("A", 400), "c=,r={r},p=", "c=eSws,r={r},p=" + strings.Repeat("A", 44)} {
		if code := scramFinalRefusal(t, host, final); code != "28P01" {
			t.Fatalf("client-final %q: %q", final, code)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	if err != nil {
		t.Fatalf("a login after the malformed ones: %v", err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("a query after the malformed logins: %v", err)
	}
}

// scramFinalRefusal logs in with a well-formed client-first message and
// the given client-final one ({r} replaced by the server's nonce), and returns the SQLSTATE of the refusal
// ("" when none came).
func scramFinalRefusal(t *testing.T, host, final string) string {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(testenv.HangBound))
	fe := pgproto3.NewFrontend(conn, conn)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": "conncat", "database": "conncat"}})
	fe.Send(&pgproto3.SASLInitialResponse{AuthMechanism: "SCRAM-SHA-256", Data: []byte("n,,n=,r=abc")})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	for {
		msg, err := fe.Receive()
		if err != nil {
			return ""
		}
		switch m := msg.(type) {
		case *pgproto3.AuthenticationSASLContinue:
			var nonce string
			for _, field := range strings.Split(string(m.Data), ",") {
				if v, ok := strings.CutPrefix(field, "r="); ok {
					nonce = v
				}
			}
			fe.Send(&pgproto3.SASLResponse{Data: []byte(strings.ReplaceAll(final, "{r}", nonce))})
			if err := fe.Flush(); err != nil {
				t.Fatal(err)
			}
		case *pgproto3.ErrorResponse:
			return m.Code
		case *pgproto3.AuthenticationOk:
			return "logged in"
		}
	}
}
