package devdb_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/devdb"
	"github.com/shopdb/shopdb/internal/testroles"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
	"github.com/shopdb/shopdb/shop"
)

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestLeastPrivilegeRolesStart: the programs start as the application role
// and as the read-only role `migrate grant` set up, the version check
// passes, and the application role serves the product page.
func TestLeastPrivilegeRolesStart(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	owner := pgkittest.URL(t, schema.FS())
	roles := testroles.Create(t, owner, "devdb_app", "devdb_ro")
	app, ro := roles[0], roles[1]
	if err := migrate.Grant(ctx, owner, migrate.Roles{App: app.Name, ReadOnly: ro.Name}); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	pool, closeDB, err := devdb.OpenPool(ctx, app.DSN, &log, pgkit.Config{MaxConns: 2})
	if err != nil {
		t.Fatalf("as the application role: %v\n%s", err, log.String())
	}
	defer closeDB()
	q := db.New(pool)
	u, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "App", LastName: "Role"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := q.ProductCreate(ctx, db.ProductCreateParams{Sku: "DEVDB-1", Name: "Least", PriceCents: 10, Stock: 5})
	if err != nil {
		t.Fatal(err)
	}
	page, err := shop.LoadProductPage(ctx, pool, shop.ProductPageRequest{ProductID: p.ProductID, CustomerID: u.UserID})
	if err != nil || page.Product.Sku != "DEVDB-1" {
		t.Fatalf("the product page as the application role: %+v, %v", page, err)
	}
	if !strings.Contains(log.String(), "version 5") {
		t.Errorf("log does not say the schema version:\n%s", log.String())
	}

	roPool, closeRO, err := devdb.OpenPool(ctx, ro.DSN, &log, pgkit.Config{MaxConns: 2})
	if err != nil {
		t.Fatalf("as the read-only role: %v\n%s", err, log.String())
	}
	defer closeRO()
	if _, err := db.New(roPool).ProductGetByID(ctx, p.ProductID); err != nil {
		t.Fatalf("read as the read-only role: %v", err)
	}
}

// TestOlderSchemaIsRefused: a DATABASE_URL database behind the binary's
// migrations is neither migrated behind the owner's back nor used: the
// error names both versions, and the schema stays as it was.
func TestOlderSchemaIsRefused(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	owner := pgkittest.EmptyURL(t)
	m, err := migrate.Open(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DownTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	_, _, err = devdb.OpenPool(ctx, owner, &log, pgkit.Config{MaxConns: 2})
	if err == nil || !strings.Contains(err.Error(), "version 4") || !strings.Contains(err.Error(), "version 5") || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("older schema: error %v, want one naming versions 4 and 5 and migrate up\n%s", err, log.String())
	}
	if v, err := m.Version(ctx); err != nil || v != 4 {
		t.Fatalf("version after the refusal: %d, %v; want 4, untouched", v, err)
	}
}

// TestNewerSchemaIsRefused: a database that a newer binary migrated
// (version 99999 applied) is refused, naming both versions.
func TestNewerSchemaIsRefused(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	owner := pgkittest.URL(t, schema.FS())
	testshop.Exec(t, owner, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)")
	var log bytes.Buffer
	_, _, err := devdb.OpenPool(ctx, owner, &log, pgkit.Config{MaxConns: 2})
	if err == nil || !strings.Contains(err.Error(), "version 99999") || !strings.Contains(err.Error(), "version 5") || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("newer schema: error %v, want one naming versions 99999 and 5\n%s", err, log.String())
	}
}

// TestMigrateWhenAsked: with Options.Migrate an empty DATABASE_URL
// database is migrated; without it the error names the caller's flag.
func TestMigrateWhenAsked(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	owner := pgkittest.EmptyURL(t)
	var log bytes.Buffer
	_, _, err := devdb.OpenWith(ctx, owner, &log, devdb.Options{MigrateFlag: "-migrate"})
	if err == nil || !strings.Contains(err.Error(), "version 0, older than this binary's version 5") || !strings.Contains(err.Error(), "with -migrate") {
		t.Fatalf("empty database without -migrate: %v", err)
	}
	dsn, stop, err := devdb.OpenWith(ctx, owner, &log, devdb.Options{Migrate: true})
	if err != nil {
		t.Fatalf("with Migrate: %v\n%s", err, log.String())
	}
	defer stop()
	if dsn != owner || !strings.Contains(log.String(), "migrations: 5 applied now, schema at version 5") {
		t.Fatalf("dsn %q, log:\n%s", dsn, log.String())
	}
	pool, closeDB, err := devdb.OpenPoolWith(ctx, owner, &log, pgkit.Config{MaxConns: 2}, devdb.Options{Migrate: true})
	if err != nil {
		t.Fatalf("again with Migrate: %v", err)
	}
	defer closeDB()
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "migrations: 0 applied now, schema at version 5") {
		t.Fatalf("log:\n%s", log.String())
	}
}
