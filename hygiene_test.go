package conncat_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awscreds"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/catalog"
	"github.com/conncat/conncat/catalog/sqlite"
	"github.com/conncat/conncat/connection"
	"github.com/conncat/conncat/sqlparse"
)

// TestSecretsNeverPrinted: every value that holds a secret, printed with
// every fmt verb, marshalled to JSON and logged through slog's text and
// JSON handlers (installed as the default logger, so anything conncat or
// the engine logs is captured too), never shows the secret — and neither
// do results, notices or errors of a session that uses it.
func TestSecretsNeverPrinted(t *testing.T) { forEachBackend(t, testSecretsNeverPrinted) }

func testSecretsNeverPrinted(t *testing.T, backend string) {
	const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	const token = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
	// Written by the test and by conncat's goroutines (the change feed) at once.
	var logs syncBuffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(previous)
	text := slog.New(slog.NewTextHandler(&logs, nil))

	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	reader := sdkmetric.NewManualReader()
	meters := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer meters.Shutdown(context.Background())
	cat, _ := openOn(t, backend, conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret)),
		conncat.WithLogger(slog.Default()), // conncat's own events go to the captured logs too
		conncat.WithMeterProvider(meters))
	ctx := context.Background()

	var out strings.Builder
	record := func(vs ...any) {
		for _, v := range vs {
			for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
				fmt.Fprintf(&out, verb+"\n", v)
			}
			b, _ := json.Marshal(v)
			out.Write(b)
			b, _ = xml.Marshal(v)
			out.Write(b)
			slog.Info("value", "v", v)
			text.Info("value", "v", v)
		}
	}
	script := `CREATE SECRET sk AS '` + secretKey + `';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = '` + token + `', STS ENDPOINT = '` + fake.URL + `');
		ALTER SECRET sk AS '` + secretKey + `';
		SHOW CREATE CONNECTION k;
		SELECT * FROM mz_aws_connections;
		VALIDATE CONNECTION k;
		CREATE SECRE broken AS '` + secretKey + `'`
	for _, p := range sqlparse.Split(script) {
		if stmt, err := sqlparse.ParsePiece(script, p); err == nil {
			record(stmt)
		} else {
			record(err)
			var e *conncat.Error
			if errors.As(err, &e) {
				out.WriteString(sqlparse.Caret(e, script))
			}
		}
		res, err := cat.ExecPiece(ctx, script, p)
		record(res, err)
	}
	r, err := cat.Resolve(ctx, "k")
	if err != nil || r.AWS.SecretAccessKey != secretKey || r.AWS.SessionToken != token {
		t.Fatalf("resolve: %v", err) // the values are there to be used...
	}
	record(r, *r, r.AWS) // ...but never printed

	// Everything the data plane hands out, after it has fetched (and so
	// cached) the static keys, and the catalog that holds them.
	cfg, err := cat.AWSConfig(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	provider, err := awscreds.NewProvider(r.AWS, "prod", connection.SessionScope{}, nil, nil, awscreds.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := provider.Retrieve(ctx); err != nil || c.SecretAccessKey != secretKey {
		t.Fatalf("static provider: %v", err)
	}
	mustExec(t, cat, `CREATE CONNECTION s3k TO S3 (PREFIX = 's3://bucket/p/') USING AWS CONNECTION k`)
	loc, err := cat.S3Location(ctx, "s3k")
	if err != nil {
		t.Fatal(err)
	}
	record(cat, cfg, &cfg, cfg.Credentials, provider, loc, *loc)
	// The process's own table and every metric attribute.
	statuses, err := cat.Exec(ctx, `SELECT * FROM mz_internal.mz_aws_connection_statuses`)
	if err != nil || len(statuses[0].Rows) != 1 {
		t.Fatalf("status table: %v %v", statuses, err)
	}
	record(statuses)
	var collected metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &collected); err != nil {
		t.Fatal(err)
	}
	for _, sm := range collected.ScopeMetrics {
		for _, m := range sm.Metrics {
			for _, set := range attributeSets(m.Data) {
				record(m.Name, attrs(set.ToSlice()))
			}
		}
	}

	for name, s := range map[string]string{"fmt and JSON": out.String(), "slog": logs.String()} {
		for _, leak := range []string{secretKey, token} {
			if strings.Contains(s, leak) {
				i := strings.Index(s, leak)
				t.Errorf("%s output holds a secret near: %q", name, s[max(0, i-80):i])
			}
		}
	}
	if !strings.Contains(out.String(), "static keys") || !strings.Contains(logs.String(), "<redacted>") {
		t.Fatal("the capture saw nothing: the test would pass without checking")
	}
}

// TestKeysAndCachesNeverPrinted: the catalog's key (a StaticKey, also
// inside the catalog that holds it) and a credentials cache that has
// fetched credentials print no byte of either.
func TestKeysAndCachesNeverPrinted(t *testing.T) {
	ctx := context.Background()
	key := catalog.StaticKey(bytes.Repeat([]byte("K"), 32))
	db, err := sql.Open("sqlite3", sqlite.DSN(filepath.Join(t.TempDir(), "k.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inner, err := catalog.Open(ctx, sqliteStore(t, db), catalog.Options{Keys: key})
	if err != nil {
		t.Fatal(err)
	}
	const secretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	spec := connection.Spec{Name: "k", AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secretKey}
	static, err := awscreds.NewProvider(spec, "prod", connection.SessionScope{}, nil, nil, awscreds.CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cache := awscreds.NewCache(static, awscreds.CacheOptions{})
	if _, err := cache.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	for _, v := range []any{key, inner, catalog.Options{Keys: key}, cache, static} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
		b, _ := json.Marshal(v)
		out.Write(b)
		b, _ = xml.Marshal(v)
		out.Write(b)
		logger.Info("value", "v", v)
	}
	for _, leak := range []string{"KKKKKKKK", "75 75 75 75", "4b4b4b4b", secretKey} {
		if i := strings.Index(out.String(), leak); i >= 0 {
			t.Errorf("printed a secret near %q", out.String()[max(0, i-80):i])
		}
	}
	if !strings.Contains(out.String(), "hidden") {
		t.Fatalf("the capture saw nothing: %s", out.String())
	}
}

// TestLayerImports keeps DESIGN §1's arrows true: the parser and the
// connection model import no AWS SDK package (awscreds, validate and
// the root do).
func TestLayerImports(t *testing.T) {
	for _, pkg := range []string{"./sqlparse", "./connection"} {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/aws/") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}

// TestOneSetOfSQLSTATEs: every code in internal/sqlstate is exported from
// the root as CodeXxx, and no other file of the library spells a code as
// a bare literal (so a code has one name and one place).
func TestOneSetOfSQLSTATEs(t *testing.T) {
	codes := map[string]string{} // value -> name
	f, err := parser.ParseFile(token.NewFileSet(), "internal/sqlstate/sqlstate.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(f, func(n ast.Node) bool {
		if v, ok := n.(*ast.ValueSpec); ok {
			lit := v.Values[0].(*ast.BasicLit)
			codes[strings.Trim(lit.Value, `"`)] = v.Names[0].Name
		}
		return true
	})
	exported := map[string]bool{}
	root, err := parser.ParseFile(token.NewFileSet(), "errorcodes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ast.Inspect(root, func(n ast.Node) bool {
		if v, ok := n.(*ast.ValueSpec); ok && len(v.Values) == 1 {
			if sel, ok := v.Values[0].(*ast.SelectorExpr); ok && v.Names[0].Name == "Code"+sel.Sel.Name {
				exported[sel.Sel.Name] = true
			}
		}
		return true
	})
	for _, name := range codes {
		if !exported[name] {
			t.Errorf("sqlstate.%s is not exported as conncat.Code%s", name, name)
		}
	}
	files, err := exec.Command("git", "ls-files", "*.go").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range strings.Fields(string(files)) {
		if strings.HasSuffix(path, "_test.go") || strings.HasPrefix(path, "internal/sqlstate/") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if name, ok := codes[strings.Trim(lit.Value, "\"`")]; ok {
					t.Errorf("%s spells SQLSTATE %s as a literal: use sqlstate.%s (or conncat.Code%s)", path, lit.Value, name, name)
				}
			}
			return true
		})
	}
}

// sqliteStore is the SQLite store of db.
func sqliteStore(t testing.TB, db *sql.DB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.New(db)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// trackedFiles lists the files git tracks in this checkout.
func trackedFiles(t *testing.T, patterns ...string) []string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"ls-files", "-z", "--"}, patterns...)...).Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	return strings.FieldsFunc(string(out), func(r rune) bool { return r == 0 })
}

// TestRepositoryHoldsSource: no tracked file is over 1 MiB or a compiled
// executable (ELF, Mach-O, PE), so build outputs cannot be committed
// again (a 39 MB REPL binary once was, in eight versions).
func TestRepositoryHoldsSource(t *testing.T) {
	magics := map[string][]byte{
		"ELF": []byte("\x7fELF"), "Mach-O": {0xcf, 0xfa, 0xed, 0xfe}, "Mach-O 32-bit": {0xce, 0xfa, 0xed, 0xfe},
		"Mach-O universal": {0xca, 0xfe, 0xba, 0xbe}, "PE": []byte("MZ"),
	}
	files := trackedFiles(t)
	if len(files) < 100 {
		t.Fatalf("git lists only %d files: not a checkout of the repository?", len(files))
	}
	for _, path := range files {
		info, err := os.Lstat(path)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or a symlink
		}
		if info.Size() > 1<<20 {
			t.Errorf("%s is %d bytes: the repository holds source, nothing over 1 MiB", path, info.Size())
		}
		head := make([]byte, 4)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := io.ReadFull(f, head)
		f.Close()
		for kind, magic := range magics {
			if bytes.HasPrefix(head[:n], magic) && (kind != "PE" || isPE(t, path)) {
				t.Errorf("%s is a compiled %s executable: build outputs are not committed", path, kind)
			}
		}
	}
}

// isPE reports whether a file that starts with "MZ" is a Windows
// executable (its header points at a "PE\0\0" signature), not a text file
// that happens to start with those letters.
func isPE(t *testing.T, path string) bool {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 0x40 {
		return false
	}
	off := int(b[0x3c]) | int(b[0x3d])<<8 | int(b[0x3e])<<16 | int(b[0x3f])<<24
	return off >= 0 && off+4 <= len(b) && string(b[off:off+4]) == "PE\x00\x00"
}

// TestSleepsSayWhy: a test waits on a condition, never on a duration (a
// busy machine makes any duration too short). A time.Sleep in a test or
// in the test helpers must carry a comment on its line or the line above
// saying why it is not synchronisation (a polling pause, injected latency,
// the randomness of a moment); testenv.Eventually is the way to wait.
func TestSleepsSayWhy(t *testing.T) {
	files := trackedFiles(t, "*_test.go", "internal/testenv/*.go", "awstest/*.go")
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			if !strings.Contains(line, "time.Sleep(") || strings.HasPrefix(strings.TrimSpace(line), "//") {
				continue
			}
			above := ""
			if i > 0 {
				above = strings.TrimSpace(lines[i-1])
			}
			if !strings.Contains(line, "//") && !strings.HasPrefix(above, "//") {
				t.Errorf("%s:%d: time.Sleep without a comment saying why it is not synchronisation (wait with testenv.Eventually)", path, i+1)
			}
		}
	}
}
