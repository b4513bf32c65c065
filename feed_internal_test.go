package conncat

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/conncat/conncat/internal/testenv"
)

// TestFeedNameDuringOutageKeepsLastGood: a connection named on the change
// feed (by another node, or forged by anyone who can NOTIFY the channel)
// while the catalog's database cannot be read is set aside but not taken
// to have changed: configs handed out keep serving the last good
// credentials through the outage, as they do when the feed itself drops.
func TestFeedNameDuringOutageKeepsLastGood(t *testing.T) {
	cluster, err := testenv.StartPostgres()
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Stop()
	ctx := context.Background()
	cat, err := Open(ctx, cluster.URL+"&connect_timeout=2", WithSchema("outage"), WithKeyFile(filepath.Join(t.TempDir(), "k")))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if _, err := cat.Exec(ctx, `CREATE SECRET sk AS 'fake-secret-last-good';
		CREATE CONNECTION k TO AWS (ACCESS KEY ID = 'AKIAFAKEFAKEFAKE', SECRET ACCESS KEY = SECRET sk)`); err != nil {
		t.Fatal(err)
	}
	cfg, err := cat.AWSConfig(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := cat.Exec(ctx, `SELECT id FROM mz_connections WHERE name = 'k'`)
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].Rows[0][0].(string)

	cluster.Stop()
	cat.plane.Recheck(ctx, []string{id}) // what the watcher does with a name it heard
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || c.SecretAccessKey != "fake-secret-last-good" {
		t.Fatalf("during the outage, after the feed named the connection: %v", err)
	}
}
