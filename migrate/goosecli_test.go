package migrate_test

import (
	"context"
	"database/sql"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestUpstreamGooseCLIPath runs the files of schema/ through goose's
// package-level API, the code path of `goose -dir schema postgres "$DATABASE_URL" up`:
// the same folder works with the upstream CLI, schema.go and all.
// Not parallel: that API keeps global state (dialect, base FS).
func TestUpstreamGooseCLIPath(t *testing.T) {
	ctx := context.Background()
	sqlDB, err := sql.Open("pgx", pgkittest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	if err := goose.SetDialect("postgres"); err != nil {
		t.Fatal(err)
	}
	goose.SetBaseFS(nil) // read ../schema from disk, as the CLI does
	for _, step := range []struct {
		name string
		run  func() error
		want int64
	}{
		{"up", func() error { return goose.UpContext(ctx, sqlDB, "../schema") }, latestVersion(t)},
		{"down-to 0", func() error { return goose.DownToContext(ctx, sqlDB, "../schema", 0) }, 0},
		{"up again", func() error { return goose.UpContext(ctx, sqlDB, "../schema") }, latestVersion(t)},
	} {
		if err := step.run(); err != nil {
			t.Fatalf("goose %s: %v", step.name, err)
		}
		v, err := goose.GetDBVersionContext(ctx, sqlDB)
		if err != nil || v != step.want {
			t.Fatalf("after goose %s: version %d (%v), want %d", step.name, v, err, step.want)
		}
	}
}
