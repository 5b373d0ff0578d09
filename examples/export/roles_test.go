package main

import (
	"context"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// asRole is dsn with the user replaced (trust authentication on the test
// server, so no password).
func asRole(t *testing.T, dsn, role string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// createRoles makes login roles on the server (as DATABASE_URL's role,
// which may create roles) and, at the end, drops them with what they were
// granted in the test database dsn.
func createRoles(t *testing.T, dsn string, names ...string) {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{n}.Sanitize()+" LOGIN"); err != nil {
			admin.Close(ctx)
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		defer admin.Close(ctx)
		// Privileges are per database: DROP OWNED BY revokes them in the
		// test database, as DATABASE_URL's role, so that DROP ROLE succeeds.
		cfg, err := pgx.ParseConfig(os.Getenv("DATABASE_URL"))
		if err != nil {
			t.Error(err)
			return
		}
		target, err := pgx.ParseConfig(dsn)
		if err != nil {
			t.Error(err)
			return
		}
		cfg.Database = target.Database
		there, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Error(err)
			return
		}
		defer there.Close(ctx)
		for _, n := range names {
			id := pgx.Identifier{n}.Sanitize()
			if _, err := there.Exec(ctx, "DROP OWNED BY "+id); err != nil {
				t.Errorf("drop owned by %s: %v", n, err)
			}
			if _, err := admin.Exec(ctx, "DROP ROLE "+id); err != nil {
				t.Errorf("drop role %s: %v", n, err)
			}
		}
	})
}
