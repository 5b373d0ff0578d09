package outside18_test

import (
	"context"
	"io/fs"
	"os"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/outside18"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func migrations() fs.FS { return outside18.Migrations() }

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// open opens a DB on url with cfg, closed at the end of the test.
func open(t *testing.T, url string, cfg pgkit.Config) *pgkit.DB {
	t.Helper()
	db, err := pgkit.Open(context.Background(), url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}
