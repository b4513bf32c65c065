package conncat_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncat/conncat"
	"github.com/conncat/conncat/awstest"
	"github.com/conncat/conncat/internal/testenv"
)

// TestLoad: 64 goroutines, over two catalog handles on one file (two
// engine replicas), mix DDL, SELECT, VALIDATE against awstest and data
// plane credentials for a few seconds. No statement may fail (the names
// each goroutine touches are its own, or guarded by IF [NOT] EXISTS), no
// goroutine may hang, and SQLite's "database is locked" must never reach
// a caller.
// shared is how many role connections every worker validates and uses.
const shared = 4

func TestLoad(t *testing.T) {
	fake := awstest.NewSTS()
	defer fake.Close()
	key, secret := fake.AddUser(engineUser)
	path := filepath.Join(t.TempDir(), "load.db")
	ctx := context.Background()
	opts := []conncat.Option{conncat.WithPrincipal(engineUser), conncat.WithAWSConfig(fake.Config(key, secret))}
	first, err := conncat.Open(ctx, path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := conncat.Open(ctx, path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	for i := range shared {
		role := fmt.Sprintf("arn:aws:iam::123456789012:role/Load%d", i)
		mustExec(t, first, fmt.Sprintf("CREATE CONNECTION shared_%d TO AWS (ASSUME ROLE ARN = '%s')", i, role))
		if err := fake.AddRole(role, pastedTrustPolicy(t, first, fmt.Sprintf("shared_%d", i))); err != nil {
			t.Fatal(err)
		}
	}

	const workers = 64
	deadline := time.Now().Add(3 * time.Second)
	var ops [6]atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		cat := first
		if w%2 == 1 {
			cat = second
		}
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			// Each worker runs every kind once, however slow the machine,
			// then random kinds until the deadline.
			for i := 0; i < len(ops) || time.Now().Before(deadline); i++ {
				kind := rng.IntN(len(ops))
				if i < len(ops) {
					kind = (w + i) % len(ops)
				}
				if err := loadOp(ctx, cat, kind, w, i, rng.IntN(shared)); err != nil {
					errs <- fmt.Errorf("worker %d, op %d: %w", w, kind, err)
					return
				}
				ops[kind].Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(testenv.HangBound):
		buf := make([]byte, 1<<20)
		t.Fatalf("workers still running a minute after the deadline (deadlock?):\n%s", buf[:runtime.Stack(buf, true)])
	}
	close(errs)
	for err := range errs {
		if strings.Contains(err.Error(), "database is locked") || strings.Contains(err.Error(), "SQLITE_BUSY") {
			t.Errorf("SQLITE_BUSY reached a caller: %v", err)
		} else {
			t.Error(err)
		}
	}
	var counts []string
	for k := range ops {
		if ops[k].Load() == 0 {
			t.Errorf("operation %d never ran", k)
		}
		counts = append(counts, fmt.Sprint(ops[k].Load()))
	}
	t.Logf("operations by kind (DDL, contended DDL, SELECT, VALIDATE, AWSConfig, SHOW): %s", strings.Join(counts, " "))
}

func loadOp(ctx context.Context, cat *conncat.Catalog, kind, worker, i, which int) error {
	own := fmt.Sprintf("w%d_%d", worker, i)
	switch kind {
	case 0: // a goroutine's own objects: create, alter, drop
		_, err := cat.Exec(ctx, fmt.Sprintf(`CREATE SECRET s_%[1]s AS 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
			CREATE CONNECTION k_%[1]s TO AWS (ACCESS KEY ID = 'AKIAIOSFODNN7EXAMPLE', SECRET ACCESS KEY = SECRET s_%[1]s);
			ALTER CONNECTION k_%[1]s SET (REGION = 'eu-west-1');
			ALTER SECRET s_%[1]s RENAME TO t_%[1]s;
			DROP SECRET t_%[1]s CASCADE`, own))
		return err
	case 1: // everyone fights over one name, safely
		if i%2 == 0 {
			_, err := cat.Exec(ctx, "CREATE CONNECTION IF NOT EXISTS contended TO AWS (ASSUME ROLE ARN = 'arn:aws:iam::123456789012:role/Contended')")
			return err
		}
		_, err := cat.Exec(ctx, "DROP CONNECTION IF EXISTS contended CASCADE")
		return err
	case 2:
		res, err := cat.Exec(ctx, "SELECT count(*) FROM mz_connections c JOIN mz_aws_connections a ON a.id = c.id WHERE c.name LIKE 'shared_%'")
		if err == nil && res[0].Rows[0][0] != int64(shared) {
			return fmt.Errorf("saw %v shared connections, want %d", res[0].Rows[0][0], shared)
		}
		return err
	case 3:
		_, err := cat.Exec(ctx, fmt.Sprintf("VALIDATE CONNECTION shared_%d", which))
		return err
	case 4:
		cfg, err := cat.AWSConfig(ctx, fmt.Sprintf("shared_%d", which))
		if err != nil {
			return err
		}
		creds, err := cfg.Credentials.Retrieve(ctx)
		if err == nil && !creds.HasKeys() {
			return fmt.Errorf("credentials without keys from %s", creds.Source)
		}
		return err
	default:
		_, err := cat.Exec(ctx, fmt.Sprintf("SHOW TRUST POLICY FOR CONNECTION shared_%d; SHOW CONNECTIONS", which))
		return err
	}
}

// TestResolveSeesOneSnapshot: an ALTER that changes two values at once
// (the access key ID in the row, the inline session token sealed
// elsewhere) is seen by Resolve wholly or not at all, never half.
func TestResolveSeesOneSnapshot(t *testing.T) {
	cat := openTest(t)
	ctx := context.Background()
	mustExec(t, cat, `CREATE SECRET sk AS 'fake-secret';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAPAIR0', SECRET ACCESS KEY = SECRET sk, SESSION TOKEN = 'token-AKIAPAIR0')`)
	done, stop := make(chan error, 1), make(chan struct{})
	defer close(stop)
	go func() {
		for i := 1; i <= 300; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			id := fmt.Sprintf("AKIAPAIR%d", i%2)
			if _, err := cat.Exec(ctx, `ALTER CONNECTION k SET (ACCESS KEY ID = '`+id+`', SESSION TOKEN = 'token-`+id+`')`); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for reads := 0; ; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d consistent reads during 300 ALTERs", reads)
			return
		default:
		}
		r, err := cat.Resolve(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if r.AWS.SessionToken != "token-"+r.AWS.AccessKeyID {
			t.Fatalf("Resolve mixed two versions: access key ID %s with the token of the other", r.AWS.AccessKeyID)
		}
	}
}
