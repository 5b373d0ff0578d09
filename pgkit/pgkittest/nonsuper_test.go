package pgkittest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestNonSuperuser exercises databases made for a role that is not a
// superuser but may create databases and roles, logging in with a scram
// password: the DATABASE_URL of a CI server, which pgtestdb cannot serve.
// On a superuser's server whose pg_hba.conf is on this machine (the
// throwaway one Run starts) it makes such a role and requires scram for
// it; when DATABASE_URL is itself not a superuser's it uses that.
func TestNonSuperuser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel) // after the parallel subtests
	dsn := nonSuperuserDSN(t, ctx)

	t.Run("MigratedAndIsolated", func(t *testing.T) {
		t.Parallel()
		migrations := notesMigrations(t, dsn, "")
		a, b := mustInstance(t, dsn, migrations), mustInstance(t, dsn, migrations)
		if a == b {
			t.Fatalf("two calls returned the same database %s", a)
		}
		ca, cb := connect(t, ctx, a), connect(t, ctx, b)
		if _, err := ca.Exec(ctx, "INSERT INTO notes (body) VALUES ('only in a')"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := cb.QueryRow(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil || n != 0 {
			t.Fatalf("database b sees %d notes (%v), want 0: databases are shared", n, err)
		}
		want, _ := pgx.ParseConfig(dsn)
		var who string
		if err := ca.QueryRow(ctx, "SELECT current_user::text").Scan(&who); err != nil || who != want.User {
			t.Errorf("connected as %q (%v), want DATABASE_URL's own user %q", who, err, want.User)
		}
		var version int64
		if err := ca.QueryRow(ctx, "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil || version != 1 {
			t.Errorf("goose version %d (%v), want 1", version, err)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		c := connect(t, ctx, mustInstance(t, dsn, nil))
		var n int
		if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("empty database has %d tables (%v), want 0", n, err)
		}
	})

	t.Run("ConcurrentCreationMigratesOnce", func(t *testing.T) {
		t.Parallel()
		// The migration stamps its run: every clone of one template shows
		// the same stamp, so a template migrated twice (or re-created
		// while others cloned it) shows as two stamps.
		migrations := notesMigrations(t, dsn, "CREATE TABLE stamp AS SELECT pg_backend_pid() AS pid, clock_timestamp() AS at;")
		const n = 12
		urls := make([]string, n)
		failures := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				urls[i], failures[i] = tryInstance(t, dsn, migrations)
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		stamps := map[string]bool{}
		for i, u := range urls {
			if failures[i] != "" {
				t.Fatalf("caller %d: %s", i, failures[i])
			}
			if seen[u] {
				t.Fatalf("two callers got the same database")
			}
			seen[u] = true
			var stamp string
			if err := connect(t, ctx, u).QueryRow(ctx, "SELECT pid || ' ' || at FROM stamp").Scan(&stamp); err != nil {
				t.Fatal(err)
			}
			stamps[stamp] = true
		}
		if len(stamps) != 1 {
			t.Errorf("%d callers saw %d different migration runs %v, want 1", n, len(stamps), stamps)
		}
	})

	t.Run("FailedMigrationLeavesNoReadyTemplate", func(t *testing.T) {
		t.Parallel()
		// The same files fail while a role (server-wide state) is missing,
		// and succeed once it exists.
		gate := "pgkittest_gate_" + randomHex(t, 6)
		migrations := notesMigrations(t, dsn, fmt.Sprintf(
			"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN RAISE EXCEPTION 'gate %s is closed'; END IF; END $$;", gate, gate))
		_, failure := tryInstance(t, dsn, migrations)
		if !strings.Contains(failure, "gate "+gate+" is closed") || !strings.Contains(failure, "00001_notes.sql") {
			t.Fatalf("failure %q, want the migration's error naming its file", failure)
		}
		admin := connect(t, ctx, dsn)
		tpl := mustTemplateName(t, dsn, migrations)
		var comment *string
		err := admin.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", tpl).Scan(&comment)
		if err == nil && comment != nil && *comment == readyComment {
			t.Fatalf("template %s is marked ready after its migration failed", tpl)
		}
		if _, err := admin.Exec(ctx, "CREATE ROLE "+gate); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_, _ = connect(t, context.Background(), dsn).Exec(context.Background(), "DROP ROLE IF EXISTS "+gate)
		})
		u, failure := tryInstance(t, dsn, migrations)
		if failure != "" {
			t.Fatalf("the same migrations once they can succeed: %s", failure)
		}
		var n int
		if err := connect(t, ctx, u).QueryRow(ctx, "SELECT count(*) FROM notes").Scan(&n); err != nil {
			t.Fatalf("the database made after a failed migration: %v", err)
		}
		// A fixed migration set (other files) works too.
		fixed := notesMigrations(t, dsn, "SELECT 1;")
		if _, failure := tryInstance(t, dsn, fixed); failure != "" {
			t.Fatalf("fixed migrations: %s", failure)
		}
	})

	t.Run("InterruptedTemplateIsRemade", func(t *testing.T) {
		t.Parallel()
		// A run killed while migrating leaves a template database that was
		// never marked ready: it must not be cloned.
		migrations := notesMigrations(t, dsn, "")
		tpl := mustTemplateName(t, dsn, migrations)
		admin := connect(t, ctx, dsn)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+tpl); err != nil {
			t.Fatal(err)
		}
		half := connect(t, ctx, mustWithDatabase(t, dsn, tpl))
		if _, err := half.Exec(ctx, "CREATE TABLE half_done (x int)"); err != nil {
			t.Fatal(err)
		}
		half.Close(ctx)
		c := connect(t, ctx, mustInstance(t, dsn, migrations))
		var tables string
		if err := c.QueryRow(ctx, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != "goose_db_version,notes" {
			t.Fatalf("tables %q, want goose_db_version,notes: the half-made template was cloned", tables)
		}
	})

	t.Run("DroppedOnPassKeptOnFailure", func(t *testing.T) {
		t.Parallel()
		admin := connect(t, ctx, dsn)
		exists := func(u string) bool {
			t.Helper()
			cc, err := pgx.ParseConfig(u)
			if err != nil {
				t.Fatal(err)
			}
			var ok bool
			if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", cc.Database).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			return ok
		}
		migrations := notesMigrations(t, dsn, "")
		for _, failed := range []bool{false, true} {
			tb := &cleanupTB{TB: t, failed: failed}
			u := instance(tb, dsn, migrations)
			if !exists(u) {
				t.Fatalf("failed=%v: the database does not exist", failed)
			}
			tb.runCleanups()
			if got := exists(u); got != failed {
				t.Errorf("failed=%v: the database exists after the cleanups: %v, want %v", failed, got, failed)
			}
			if failed {
				if !strings.Contains(strings.Join(tb.logs, "\n"), "kept") {
					t.Errorf("a kept database is not said to be kept: %q", tb.logs)
				}
				cc, _ := pgx.ParseConfig(u)
				if _, err := admin.Exec(ctx, "DROP DATABASE "+cc.Database); err != nil {
					t.Error(err)
				}
			}
			want, _ := pgx.ParseConfig(dsn)
			if want.Password != "" && strings.Contains(strings.Join(tb.logs, "\n"), want.Password) {
				t.Errorf("the logs show the password: %q", tb.logs)
			}
		}
	})

	t.Run("PasswordNeverShown", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(dsn)
		if err != nil || u.User == nil {
			t.Skipf("DSN is not a URL with a user: %v", err)
		}
		const wrong = "Wr0ng-pa55word-xyz"
		u.User = url.UserPassword(u.User.Username(), wrong)
		_, failure := tryInstance(t, u.String(), notesMigrations(t, dsn, ""))
		if failure == "" {
			t.Fatal("a wrong password made a database: the server does not ask for passwords")
		}
		if strings.Contains(failure, wrong) {
			t.Fatalf("failure shows the password: %q", failure)
		}
		// An error that quotes the real password (here a migration's)
		// reaches the test log without it.
		cc, err := pgx.ParseConfig(dsn)
		if err != nil || cc.Password == "" {
			t.Skipf("no password to leak (%v)", err)
		}
		pw := cc.Password
		_, failure = tryInstance(t, dsn, notesMigrations(t, dsn, "DO $$ BEGIN RAISE EXCEPTION 'a careless message quoting %', $pw$"+pw+"$pw$; END $$;"))
		if !strings.Contains(failure, "a careless message quoting") || strings.Contains(failure, pw) {
			t.Fatalf("failure %q: want the migration's error without the password", failure)
		}
	})
}

// nonSuperuserDSN returns the connection string of a role with LOGIN
// CREATEDB CREATEROLE that is no superuser and logs in with a scram
// password, skipping t when it cannot make one.
func nonSuperuserDSN(t *testing.T, ctx context.Context) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	admin := connect(t, ctx, base)
	var super bool
	if err := admin.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		t.Fatal(err)
	}
	if !super {
		t.Logf("DATABASE_URL's role is not a superuser: testing with it")
		return base
	}
	var hba string
	if err := admin.QueryRow(ctx, "SHOW hba_file").Scan(&hba); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Skipf("the server's pg_hba.conf is not on this machine (%v): cannot require a password", err)
	}
	role, password := "pgkittest_ns_"+randomHex(t, 4), "Pa55-"+randomHex(t, 8)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s LOGIN CREATEDB CREATEROLE PASSWORD '%s'", role, password)); err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("host all %s 127.0.0.1/32 scram-sha-256\nhost all %s ::1/128 scram-sha-256\n", role, role)
	if err := os.WriteFile(hba, append([]byte(line), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		admin := connect(t, ctx, base)
		if err := os.WriteFile(hba, old, 0o600); err != nil {
			t.Error(err)
		}
		if _, err := admin.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("role %s and its databases kept for inspection", role)
			return
		}
		rows, err := admin.Query(ctx, "SELECT datname FROM pg_database WHERE datdba = (SELECT oid FROM pg_roles WHERE rolname = $1)", role)
		if err != nil {
			t.Error(err)
			return
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Error(err)
		}
		for _, name := range names {
			if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Error(err)
			}
		}
		if _, err := admin.Exec(ctx, "DROP ROLE "+role); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	dsn := func(pw string) string {
		v := *u
		v.User = url.UserPassword(role, pw)
		return v.String()
	}
	// The server really asks for the password now.
	if c, err := pgx.Connect(ctx, dsn("wrong")); err == nil {
		c.Close(ctx)
		t.Fatal("the server let the role in with a wrong password: pg_hba.conf not in force")
	}
	return dsn(password)
}

// notesMigrations returns one goose migration making a table notes, then
// running extra. A random comment makes its template this test's own: it
// is dropped when t passes, so that a CI server does not collect them.
func notesMigrations(t *testing.T, dsn, extra string) fs.FS {
	t.Helper()
	up := fmt.Sprintf("-- +goose Up\n-- %s %s\nCREATE TABLE notes (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL);\n%s\n-- +goose Down\nDROP TABLE notes;\n", t.Name(), randomHex(t, 8), extra)
	migrations := fstest.MapFS{"00001_notes.sql": {Data: []byte(up)}}
	tpl := mustTemplateName(t, dsn, migrations)
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		ctx := context.Background()
		if _, err := connect(t, ctx, dsn).Exec(ctx, "DROP DATABASE IF EXISTS "+tpl); err != nil {
			t.Errorf("drop the test's template: %v", err)
		}
	})
	return migrations
}

// mustInstance is instance, failing t on failure.
func mustInstance(t *testing.T, dsn string, migrations fs.FS) string {
	t.Helper()
	u, failure := tryInstance(t, dsn, migrations)
	if failure != "" {
		t.Fatal(failure)
	}
	return u
}

// tryInstance calls instance and returns its URL, or the message it
// failed with.
func tryInstance(t *testing.T, dsn string, migrations fs.FS) (u, failure string) {
	t.Helper()
	ft := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() { // Fatalf ends this goroutine, as testing's does.
		defer close(done)
		u = instance(ft, dsn, migrations)
	}()
	<-done
	return u, ft.msg
}

// fatalTB records Fatalf, ending the calling goroutine, instead of
// failing the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// cleanupTB keeps the cleanups for runCleanups, and reports failed.
type cleanupTB struct {
	testing.TB
	failed   bool
	cleanups []func()
	logs     []string
}

func (c *cleanupTB) Failed() bool     { return c.failed }
func (c *cleanupTB) Cleanup(f func()) { c.cleanups = append(c.cleanups, f) }
func (c *cleanupTB) Logf(format string, args ...any) {
	c.logs = append(c.logs, fmt.Sprintf(format, args...))
}

func (c *cleanupTB) runCleanups() {
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		c.cleanups[i]()
	}
	c.cleanups = nil
}

// mustTemplateName is the name of the template of migrations for dsn's user.
func mustTemplateName(t testing.TB, dsn string, migrations fs.FS) string {
	t.Helper()
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	name, err := templateName(cc.User, migrations)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// mustWithDatabase is dsn naming database name.
func mustWithDatabase(t testing.TB, dsn, name string) string {
	t.Helper()
	u, err := withDatabase(dsn, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// connect opens a connection closed when t ends.
func connect(t testing.TB, ctx context.Context, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
