package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conncat/conncat/internal/testenv"
)

// The drivers application code uses, nobody here wrote, each in its
// default configuration: psycopg2 and psycopg 3 (not autocommit: every
// statement opens a block the code commits), asyncpg (prepared statements,
// Flush without Sync, its pool's reset on release) and pgJDBC (SET through
// the extended protocol at connect, BEGIN with setAutoCommit(false)).
// `make drivers` installs them from Debian's packages; each script prints
// one JSON line that the test compares, on a SQLite and on a PostgreSQL
// catalog.

// driverPython is the Python that has Debian's driver packages.
func driverPython(t *testing.T) string {
	t.Helper()
	python := os.Getenv("CONNCAT_DRIVER_PYTHON")
	if python == "" {
		python = "/usr/bin/python3"
	}
	if out, err := exec.Command(python, "-c", "import psycopg2, psycopg, psycopg_pool, asyncpg").CombinedOutput(); err != nil {
		t.Fatalf("the Python drivers are not installed for %s: run `make drivers` (make test does), or set CONNCAT_DRIVER_PYTHON: %v\n%s", python, err, out)
	}
	return python
}

// pgJDBC is the pgJDBC jar.
func pgJDBC(t *testing.T) string {
	t.Helper()
	jar := os.Getenv("CONNCAT_PGJDBC")
	if jar == "" {
		jar = "/usr/share/java/postgresql.jar"
	}
	if _, err := os.Stat(jar); err != nil {
		t.Fatalf("pgJDBC is not installed: run `make drivers` (make test does), or set CONNCAT_PGJDBC: %v", err)
	}
	return jar
}

// driverCatalogs starts the server on each store and runs fn with its URL
// (password included).
func driverCatalogs(t *testing.T, fn func(t *testing.T, url string)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, strings.Replace(startServer(t), "conncat@", "conncat:"+testPassword+"@", 1))
	})
	t.Run("postgres", func(t *testing.T) {
		cluster := testenv.Postgres(t)
		url := startServer(t, "-db", cluster.URL, "-schema", cluster.Schema(), "-key-file", filepath.Join(t.TempDir(), "catalog.key"))
		fn(t, strings.Replace(url, "conncat@", "conncat:"+testPassword+"@", 1))
	})
}

// runDriver runs a client program and compares its one line of output.
func runDriver(t *testing.T, want string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != want {
		t.Fatalf("the driver saw\n%s\nwant\n%s", got, want)
	}
}

// driverWant is what every driver's script prints: the typed row its
// block's SELECT saw, with parameters of text and integers (in a
// comparison and in LIMIT, announced int8), the SQLSTATE of a failed
// statement, whether a failed CREATE SECRET's error shows its value (libpq
// prints the statement around an error position: the server sends none),
// the secrets left after a committed and a rolled-back block (and, where
// the driver nests, a rolled-back savepoint), and a count read through a
// pool that acquired and released connections.
const driverWant = `{"inside": [["a", 7200]], "code": "42704", "echo": false, "secrets": ["k", "saved"], "pooled": 1}`

func writeScript(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPsycopg2DefaultMode(t *testing.T) {
	python := driverPython(t)
	script := writeScript(t, "psycopg2_client.py", `
import json, os
import psycopg2, psycopg2.pool
url = os.environ["URL"]
out = {}
conn = psycopg2.connect(url)
cur = conn.cursor()
cur.execute("CREATE SECRET k AS 'fake-driver-secret'")
cur.execute("CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A', ASSUME ROLE DURATION = 7200)")
cur.execute("SELECT c.name, a.assume_role_duration FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id WHERE c.name = %s", ("a",))
out["inside"] = [list(r) for r in cur.fetchall()]
conn.commit()
cur.execute("CREATE SECRET gone AS 'fake-rolled-back'")
conn.rollback()
try:
    cur.execute("DROP SECRET nope")
except psycopg2.Error as e:
    out["code"] = e.pgcode
    conn.rollback()
try:
    cur.execute("CREATE SECRET k AS 'fake-driver-secret'")
except psycopg2.Error as e:
    out["echo"] = "fake-driver-secret" in str(e)
    conn.rollback()
cur.execute("CREATE SECRET saved AS 'fake-saved'")
cur.execute("SAVEPOINT sp")
cur.execute("CREATE SECRET undone AS 'fake-undone'")
cur.execute("ROLLBACK TO SAVEPOINT sp")
conn.commit()
cur.execute("SELECT name FROM mz_secrets ORDER BY name")
out["secrets"] = [r[0] for r in cur.fetchall()]
conn.commit()
pool = psycopg2.pool.SimpleConnectionPool(1, 2, url)
for _ in range(3):
    c = pool.getconn()
    pc = c.cursor()
    pc.execute("SELECT count(*) FROM mz_connections")
    out["pooled"] = pc.fetchone()[0]
    c.commit()
    pool.putconn(c)
pool.closeall()
print(json.dumps(out))
`)
	driverCatalogs(t, func(t *testing.T, url string) {
		runDriver(t, driverWant, []string{"URL=" + url}, python, script)
	})
}

func TestPsycopg3DefaultMode(t *testing.T) {
	python := driverPython(t)
	script := writeScript(t, "psycopg3_client.py", `
import json, os
import psycopg, psycopg_pool
url = os.environ["URL"]
out = {}
conn = psycopg.connect(url)
conn.execute("CREATE SECRET k AS 'fake-driver-secret'")
conn.execute("CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A', ASSUME ROLE DURATION = 7200)")
rows = conn.execute("SELECT c.name, a.assume_role_duration FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id WHERE c.name = %s AND a.assume_role_duration >= %s LIMIT %s", ("a", 3600, 5)).fetchall()
out["inside"] = [list(r) for r in rows]
conn.commit()
conn.execute("CREATE SECRET gone AS 'fake-rolled-back'")
conn.rollback()
try:
    conn.execute("DROP SECRET nope")
except psycopg.Error as e:
    out["code"] = e.sqlstate
    conn.rollback()
try:
    conn.execute("CREATE SECRET k AS 'fake-driver-secret'")
except psycopg.Error as e:
    out["echo"] = "fake-driver-secret" in str(e)
    conn.rollback()
with conn.transaction():
    conn.execute("CREATE SECRET saved AS 'fake-saved'")
    try:
        with conn.transaction():
            conn.execute("CREATE SECRET undone AS 'fake-undone'")
            raise psycopg.Rollback()
    except psycopg.Rollback:
        pass
out["secrets"] = [r[0] for r in conn.execute("SELECT name FROM mz_secrets ORDER BY name").fetchall()]
conn.commit()
with psycopg_pool.ConnectionPool(url, min_size=1, max_size=2) as pool:
    for _ in range(3):
        with pool.connection() as c:
            out["pooled"] = c.execute("SELECT count(*) FROM mz_connections").fetchone()[0]
print(json.dumps(out))
`)
	driverCatalogs(t, func(t *testing.T, url string) {
		runDriver(t, driverWant, []string{"URL=" + url}, python, script)
	})
}

func TestAsyncpgDefaultMode(t *testing.T) {
	python := driverPython(t)
	script := writeScript(t, "asyncpg_client.py", `
import asyncio, json, os
import asyncpg
url = os.environ["URL"]

class Undo(Exception):
    pass

async def main():
    out = {}
    conn = await asyncpg.connect(url)
    async with conn.transaction():
        await conn.execute("CREATE SECRET k AS 'fake-driver-secret'")
        await conn.execute("CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A', ASSUME ROLE DURATION = 7200)")
        rows = await conn.fetch("SELECT c.name, a.assume_role_duration FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id WHERE c.name = $1 AND a.assume_role_duration >= $2 LIMIT $3", "a", 3600, 5)
        out["inside"] = [list(r) for r in rows]
    try:
        async with conn.transaction():
            await conn.execute("CREATE SECRET gone AS 'fake-rolled-back'")
            raise Undo()
    except Undo:
        pass
    try:
        await conn.fetch("DROP SECRET nope")
    except asyncpg.PostgresError as e:
        out["code"] = e.sqlstate
    try:
        await conn.execute("CREATE SECRET k AS 'fake-driver-secret'")
    except asyncpg.PostgresError as e:
        out["echo"] = "fake-driver-secret" in str(e)
    async with conn.transaction():
        await conn.execute("CREATE SECRET saved AS 'fake-saved'")
        try:
            async with conn.transaction():
                await conn.execute("CREATE SECRET undone AS 'fake-undone'")
                raise Undo()
        except Undo:
            pass
    out["secrets"] = [r["name"] for r in await conn.fetch("SELECT name FROM mz_secrets ORDER BY name")]
    await conn.close()
    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    for _ in range(3):
        async with pool.acquire() as c:
            out["pooled"] = await c.fetchval("SELECT count(*) FROM mz_connections")
    await pool.close()
    print(json.dumps(out))

asyncio.run(main())
`)
	driverCatalogs(t, func(t *testing.T, url string) {
		runDriver(t, driverWant, []string{"URL=" + url}, python, script)
	})
}

func TestPgJDBCDefaultMode(t *testing.T) {
	jar := pgJDBC(t)
	source := writeScript(t, "Client.java", `
import java.sql.*;
import java.util.*;

public class Client {
    public static void main(String[] args) throws Exception {
        Connection c = DriverManager.getConnection(System.getenv("JDBC_URL"), "conncat", System.getenv("PASSWORD"));
        c.setAutoCommit(false);
        Statement s = c.createStatement();
        s.execute("CREATE SECRET k AS 'fake-driver-secret'");
        s.execute("CREATE CONNECTION a TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/A', ASSUME ROLE DURATION = 7200)");
        PreparedStatement ps = c.prepareStatement("SELECT c.name, a.assume_role_duration FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id WHERE c.name = ? AND a.assume_role_duration >= ? LIMIT ?");
        ps.setString(1, "a");
        ps.setLong(2, 3600);
        ps.setInt(3, 5);
        ResultSet rs = ps.executeQuery();
        rs.next();
        String inside = "[[\"" + rs.getString(1) + "\", " + rs.getLong(2) + "]]";
        c.commit();
        s.execute("CREATE SECRET gone AS 'fake-rolled-back'");
        c.rollback();
        String code = "";
        try {
            s.execute("DROP SECRET nope");
        } catch (SQLException e) {
            code = e.getSQLState();
            c.rollback();
        }
        boolean echo = true;
        try {
            s.execute("CREATE SECRET k AS 'fake-driver-secret'");
        } catch (SQLException e) {
            echo = e.toString().contains("fake-driver-secret");
            c.rollback();
        }
        s.execute("CREATE SECRET saved AS 'fake-saved'");
        Savepoint sp = c.setSavepoint("sp");
        s.execute("CREATE SECRET undone AS 'fake-undone'");
        c.rollback(sp);
        c.commit();
        List<String> names = new ArrayList<>();
        rs = s.executeQuery("SELECT name FROM mz_secrets ORDER BY name");
        while (rs.next()) names.add("\"" + rs.getString(1) + "\"");
        c.commit();
        long pooled = 0;
        for (int i = 0; i < 3; i++) {
            try (Connection p = DriverManager.getConnection(System.getenv("JDBC_URL"), "conncat", System.getenv("PASSWORD"))) {
                ResultSet r = p.createStatement().executeQuery("SELECT count(*) FROM mz_connections");
                r.next();
                pooled = r.getLong(1);
            }
        }
        c.close();
        System.out.println("{\"inside\": " + inside + ", \"code\": \"" + code + "\", \"echo\": " + echo + ", \"secrets\": " + names + ", \"pooled\": " + pooled + "}");
    }
}
`)
	driverCatalogs(t, func(t *testing.T, url string) {
		// postgres://conncat:pw@127.0.0.1:port/conncat?sslmode=disable
		hostAndPort := strings.SplitN(strings.SplitN(url, "@", 2)[1], "/", 2)[0]
		env := []string{"JDBC_URL=" + fmt.Sprintf("jdbc:postgresql://%s/conncat?sslmode=disable", hostAndPort), "PASSWORD=" + testPassword}
		runDriver(t, driverWant, env, "java", "-cp", jar, source)
	})
}
