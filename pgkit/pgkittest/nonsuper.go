package pgkittest

// Databases for a role that is not a superuser, made by hand.
//
// Why not pgtestdb: v0.1.1 (the version this module can use) needs a
// superuser. It makes its own role and then runs ALTER ROLE … NOSUPERUSER
// (PostgreSQL 15 lets only a superuser touch that attribute), creates
// databases OWNER that role (which needs membership in it), and marks a
// template ready with UPDATE pg_database SET datistemplate (a catalog only a
// superuser may write). A CI server's role with CREATEDB CREATEROLE can do
// none of these, so for such a role pgkittest does the same job itself,
// keeping pgtestdb's guarantees:
//
//   - one template per migration set and user: its name is a hash of the
//     user and of every migration file's name and contents;
//   - made once across concurrent test binaries: under a session advisory
//     lock on the server, as pgtestdb takes one;
//   - migrated with goose (pgtestdb's goose migrator, the same code as the
//     superuser path);
//   - trusted only once marked ready (COMMENT ON DATABASE, which the owner
//     may set), after its migrations succeeded: a template left by a failed
//     or interrupted migration is dropped and made again;
//   - instances are CREATE DATABASE … TEMPLATE, which the template's owner
//     may run without datistemplate, and connect as DATABASE_URL's own user
//     with its password;
//   - dropped when the test passes, kept (and named in the log) when it
//     fails.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/peterldowns/pgtestdb"
	"github.com/peterldowns/pgtestdb/migrators/goosemigrator"
	"github.com/pressly/goose/v3"
)

// readyComment marks a template whose migrations all succeeded.
const readyComment = "pgkittest: migrated, ready to clone"

// templatePrefix starts the name of every template pgkittest makes itself
// (pgtestdb's are testdb_tpl_…); instances start with instancePrefix.
const (
	templatePrefix = "pgkittest_tpl_"
	instancePrefix = "pgkittest_inst_"
)

// ownInstance makes a database from the template of migrations (none when
// nil) through base, a connection as cc's user to its database, and
// returns its connection string: dsn naming that database. Of t it uses
// Cleanup, Failed, Fatalf and Logf only (ExampleTB has no more).
func ownInstance(ctx context.Context, t testing.TB, base *pgx.Conn, cc *pgx.ConnConfig, dsn string, migrations fs.FS) (string, error) {
	tpl, err := templateName(cc.User, migrations)
	if err != nil {
		return "", err
	}
	if err := ensureTemplate(ctx, base, cc, tpl, migrations); err != nil {
		return "", fmt.Errorf("template %s: %w", tpl, err)
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return "", fmt.Errorf("a name for the database: %w", err)
	}
	name := instancePrefix + strings.TrimPrefix(tpl, templatePrefix) + "_" + hex.EncodeToString(suffix)
	u, err := withDatabase(dsn, name)
	if err != nil {
		return "", err
	}
	if _, err := base.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(tpl)); err != nil {
		return "", fmt.Errorf("create database %s from template %s: %w", name, tpl, err)
	}
	t.Logf("pgkittest: database %s on %s:%d as %s (kept if the test fails)", name, cc.Host, cc.Port, cc.User)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgkittest: the test failed: database %s kept for inspection", name)
			return
		}
		if err := dropDatabase(context.Background(), cc, name); err != nil {
			t.Fatalf("pgkittest: %v", scrub(err, cc.Password))
		}
	})
	return u, nil
}

// ensureTemplate makes the template tpl, migrated, unless a ready one
// exists. Concurrent callers, in this process or another, wait for the one
// that makes it.
func ensureTemplate(ctx context.Context, base *pgx.Conn, cc *pgx.ConnConfig, tpl string, migrations fs.FS) error {
	if ready, err := templateReady(ctx, base, tpl); err != nil || ready {
		return err
	}
	// A session lock: it goes with the connection if this process dies.
	// Advisory locks are per database: every caller locks in the database
	// of DATABASE_URL, as pgtestdb's do.
	sum := sha256.Sum256([]byte("pgkittest-template-lock " + tpl))
	key := int64(binary.BigEndian.Uint64(sum[:8]))
	if _, err := base.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer func() { _, _ = base.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", key) }()
	if ready, err := templateReady(ctx, base, tpl); err != nil || ready {
		return err
	}
	// Not ready: absent, or left by a migration that failed or was
	// interrupted. FORCE ends sessions a killed run may have left on it.
	if _, err := base.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(tpl)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop the unfinished template: %w", err)
	}
	if _, err := base.Exec(ctx, "CREATE DATABASE "+ident(tpl)); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	if err := migrate(ctx, cc, tpl, migrations); err != nil {
		// Left as it is, unmarked, for inspection: the next run remakes it.
		return err
	}
	if _, err := base.Exec(ctx, "COMMENT ON DATABASE "+ident(tpl)+" IS '"+readyComment+"'"); err != nil {
		return fmt.Errorf("mark ready: %w", err)
	}
	return nil
}

// templateReady reports whether tpl exists and is marked ready.
func templateReady(ctx context.Context, base *pgx.Conn, tpl string) (bool, error) {
	var comment *string
	err := base.QueryRow(ctx, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", tpl).Scan(&comment)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for it: %w", err)
	}
	return comment != nil && *comment == readyComment, nil
}

// migrate applies migrations (none when nil) to the database tpl, as cc's
// user, with pgtestdb's goose migrator, and closes its connections.
func migrate(ctx context.Context, cc *pgx.ConnConfig, tpl string, migrations fs.FS) error {
	if migrations == nil {
		return nil
	}
	tc := cc.Copy()
	tc.Database = tpl
	db := stdlib.OpenDB(*tc)
	err := goosemigrator.New(".", goosemigrator.WithFS(migrations)).Migrate(ctx, db, pgtestdb.Config{})
	// Closed before the template is cloned: CREATE DATABASE … TEMPLATE
	// refuses a template with sessions (after waiting 5s for them to go).
	if cerr := db.Close(); err == nil && cerr != nil {
		err = cerr
	}
	var partial *goose.PartialError
	if errors.As(err, &partial) && partial.Failed != nil && partial.Failed.Source != nil {
		return fmt.Errorf("migrate: %s: %w", partial.Failed.Source.Path, err)
	}
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// dropDatabase drops name, connecting as cc. A session still open on it (a
// leak) makes it fail, after the server's 5s wait, rather than being ended.
func dropDatabase(ctx context.Context, cc *pgx.ConnConfig, name string) error {
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident(name)); err != nil {
		return fmt.Errorf("drop database %s (is a connection to it still open?): %w", name, err)
	}
	return nil
}

// templateName names the template of migrations (none when nil) for user:
// a hash of the user (the template's owner, the only non-superuser who may
// clone it), goose's table and every *.sql file at the root of migrations
// (the files goose applies), name and contents, in goose's order.
func templateName(user string, migrations fs.FS) (string, error) {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte("pgkittest template v1"))
	field([]byte(user))
	field([]byte(goose.DefaultTablename))
	if migrations != nil {
		names, err := fs.Glob(migrations, "*.sql")
		if err != nil {
			return "", fmt.Errorf("migrations: %w", err)
		}
		for _, name := range names {
			data, err := fs.ReadFile(migrations, name)
			if err != nil {
				return "", fmt.Errorf("migrations: %w", err)
			}
			field([]byte(name))
			field(data)
		}
	}
	// 14 + 32 characters: room for the instance suffix within the server's
	// 63-byte names.
	return templatePrefix + hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// withDatabase returns dsn (a URL or key=value string) naming database
// name, everything else as it was.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("%s is not a valid URL", EnvURL)
		}
		u.Path, u.RawPath = "/"+name, ""
		q := u.Query()
		if q.Has("dbname") || q.Has("database") {
			q.Del("dbname")
			q.Del("database")
			u.RawQuery = q.Encode()
		}
		return u.String(), nil
	}
	// key=value: a later key wins. name is only [a-z0-9_].
	return dsn + " dbname=" + name, nil
}

// ident quotes a database name.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// scrub returns err with password, in any of its spellings, replaced: the
// password must not reach a test log.
func scrub(err error, password string) error {
	if err == nil || password == "" {
		return err
	}
	msg := err.Error()
	for _, s := range []string{password, url.QueryEscape(password), url.PathEscape(password)} {
		msg = strings.ReplaceAll(msg, s, "xxxxx")
	}
	if msg == err.Error() {
		return err
	}
	return &scrubbedError{msg: msg, err: err}
}

// scrubbedError is an error whose text had the password removed.
type scrubbedError struct {
	msg string
	err error
}

// Error returns the text without the password.
func (e *scrubbedError) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *scrubbedError) Unwrap() error { return e.err }
