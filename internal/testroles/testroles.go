// Package testroles makes login roles for tests of least privilege, on
// DATABASE_URL's server, and drops them when the test ends.
package testroles

import (
	"context"
	"crypto/rand"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Role is a login role made by Create.
type Role struct {
	Name string // its prefix and a random suffix: unique on the server
	DSN  string // the test's database as this role, with its password
}

// Create makes a login role for each prefix on the server (as
// DATABASE_URL's role, which may create roles), named after the prefix
// with a random suffix (roles are the server's, shared by every test run
// on it) and with a random password, so that it can log in to a server
// that asks for passwords (scram) as well as to one that trusts it. It
// returns them in the order of the prefixes; at the end of the test they
// are dropped with what they were granted in dsn's database.
func Create(t testing.TB, dsn string, prefixes ...string) []Role {
	t.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		admin.Close(ctx)
		t.Fatal(err)
	}
	roles := make([]Role, 0, len(prefixes))
	for _, prefix := range prefixes {
		n := prefix + "_" + strings.ToLower(rand.Text()[:8])
		password := rand.Text()
		// A password cannot be a bind parameter of CREATE ROLE; rand.Text
		// is base32, with no quote to escape.
		if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{n}.Sanitize()+" LOGIN PASSWORD '"+password+"'"); err != nil {
			admin.Close(ctx)
			t.Fatal(err)
		}
		as := *u
		as.User = url.UserPassword(n, password)
		roles = append(roles, Role{Name: n, DSN: as.String()})
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
		for _, r := range roles {
			n := r.Name
			id := pgx.Identifier{n}.Sanitize()
			// A role that is no superuser may drop what another role was
			// granted only as a member of it (CREATEROLE alone is not
			// enough on PostgreSQL 15).
			if _, err := admin.Exec(ctx, "GRANT "+id+" TO CURRENT_USER"); err != nil {
				t.Errorf("join role %s to drop it: %v", n, err)
			}
			if _, err := there.Exec(ctx, "DROP OWNED BY "+id); err != nil {
				t.Errorf("drop owned by %s: %v", n, err)
			}
			if _, err := admin.Exec(ctx, "DROP ROLE "+id); err != nil {
				t.Errorf("drop role %s: %v", n, err)
			}
		}
	})
	return roles
}
