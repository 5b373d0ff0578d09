// Package pgkittest gives each test a fresh PostgreSQL database migrated
// with the goose migrations of an fs.FS, as a *pgkit.DB, for any sqlc + pgx
// project's tests.
//
// Databases are cloned from a template migrated once per migration set, so
// a test pays for a CREATE DATABASE … TEMPLATE (tens of milliseconds), not
// for the migrations. Tests may call t.Parallel().
//
// The server is the one DATABASE_URL names. As a superuser, pgtestdb makes
// the templates and databases, and tests connect as its role pgtdbuser. As
// a role that is no superuser but has CREATEDB (a CI server's, with a
// password), pgkittest makes them itself, owned by that role, and tests
// connect as it with its password. When DATABASE_URL is unset, Run starts a
// throwaway server for the test binary:
//
//	func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		pool := pgkittest.New(t, schema.FS()) // your migrations
//		q := db.New(pool)
//		…
//	}
package pgkittest

import (
	"context"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver pgtestdb uses
	"github.com/peterldowns/pgtestdb"
	"github.com/peterldowns/pgtestdb/migrators/goosemigrator"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// EnvURL names the environment variable holding the server's connection string.
const EnvURL = "DATABASE_URL"

// Run runs the tests of m. When DATABASE_URL is unset it first starts a
// throwaway PostgreSQL server, points DATABASE_URL at it for the tests, and
// stops and removes it afterwards, also on SIGINT or SIGTERM. It returns the
// exit code for os.Exit.
func Run(m *testing.M) int {
	if os.Getenv(EnvURL) != "" {
		return m.Run()
	}
	srv, err := pgtemp.Start(context.Background(), pgtemp.Config{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgkittest: %v\n", err)
		return 1
	}
	// An interrupted test run must not leave the server behind.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			_ = srv.Stop()
			os.Exit(130)
		}
	}()
	defer func() {
		signal.Stop(sig)
		close(sig)
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgkittest: %v\n", err)
		}
	}()
	if err := os.Setenv(EnvURL, srv.URL()); err != nil {
		fmt.Fprintf(os.Stderr, "pgkittest: %v\n", err)
		return 1
	}
	return m.Run()
}

// URL returns the connection string of a fresh database with every goose
// migration of migrations (NNNNN_name.sql files at its root) applied. It is
// dropped when the test passes and kept for inspection when it fails.
func URL(t testing.TB, migrations fs.FS) string {
	t.Helper()
	return instance(t, os.Getenv(EnvURL), migrations)
}

// EmptyURL returns the connection string of a fresh database with no
// migration applied, for tests of migrations themselves.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return instance(t, os.Getenv(EnvURL), nil)
}

// New returns a pool on a fresh database migrated with migrations (see
// URL), closed when the test ends. At the end of the test it also fails the
// test if a connection was not given back to the pool: a leak.
func New(t testing.TB, migrations fs.FS) *pgkit.DB {
	t.Helper()
	return NewWithConfig(t, migrations, pgkit.Config{})
}

// NewWithConfig is New with pool settings.
func NewWithConfig(t testing.TB, migrations fs.FS, cfg pgkit.Config) *pgkit.DB {
	t.Helper()
	pool, err := pgkit.Open(context.Background(), URL(t, migrations), cfg)
	if err != nil {
		t.Fatalf("pgkittest: %v", err)
	}
	t.Cleanup(func() {
		// A connection whose query was cancelled is closed and given back in
		// the background: allow a moment before calling it a leak.
		deadline := time.Now().Add(3 * time.Second)
		for pool.Stats().InUse > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := pool.Stats().InUse; n > 0 {
			// pool.Close would wait for them forever: leave the pool open;
			// the failed test keeps its database for inspection.
			t.Errorf("pgkittest: %d pooled connection(s) still acquired 3s after the test ended: a leak", n)
			return
		}
		pool.Close()
	})
	return pool
}

// instance creates a database from the template of migrations (none when
// nil) on dsn's server and returns its connection string: with pgtestdb
// when dsn's role is a superuser, else by hand (nonsuper.go says why).
func instance(t testing.TB, dsn string, migrations fs.FS) string {
	t.Helper()
	u, err := create(t, dsn, migrations)
	if err != nil {
		t.Fatalf("pgkittest: %v", err)
		return ""
	}
	return u
}

// create is instance, returning its errors, the password scrubbed.
func create(t testing.TB, dsn string, migrations fs.FS) (string, error) {
	t.Helper()
	if dsn == "" {
		return "", fmt.Errorf("%s is unset: call pgkittest.Run from TestMain, or point it at a server", EnvURL)
	}
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvURL, scrub(err, passwordOf(dsn)))
	}
	ctx := context.Background()
	base, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return "", scrub(err, cc.Password)
	}
	defer base.Close(ctx)
	var super bool
	if err := base.QueryRow(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		return "", scrub(fmt.Errorf("is %s a superuser: %w", cc.User, err), cc.Password)
	}
	if !super {
		u, err := ownInstance(ctx, t, base, cc, dsn, migrations)
		return u, scrub(err, cc.Password)
	}
	base.Close(ctx)
	conf, err := serverConfig(dsn)
	if err != nil {
		return "", err
	}
	var migrator pgtestdb.Migrator = pgtestdb.NoopMigrator{}
	if migrations != nil {
		migrator = goosemigrator.New(".", goosemigrator.WithFS(migrations))
	}
	return pgtestdb.Custom(t, conf, migrator).URL(), nil
}

// passwordOf returns the password of a URL connection string, for
// scrubbing errors about a string pgx could not parse.
func passwordOf(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	return ""
}

// serverConfig turns a connection string into pgtestdb's Config.
func serverConfig(dsn string) (pgtestdb.Config, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return pgtestdb.Config{}, fmt.Errorf("%s: %w", EnvURL, err)
	}
	options := "sslmode=disable"
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") && u.RawQuery != "" {
		options = u.RawQuery
	}
	return pgtestdb.Config{
		DriverName: "pgx",
		Host:       cc.Host,
		Port:       strconv.Itoa(int(cc.Port)),
		User:       cc.User,
		Password:   cc.Password,
		Database:   cc.Database,
		Options:    options,
	}, nil
}
