// Package devdb gives the example programs their database: the server
// DATABASE_URL names, or, when it is unset, a throwaway PostgreSQL started
// from the local binaries.
//
// The throwaway server is always migrated: it is the programs' own, and
// nothing else can migrate it. A DATABASE_URL database is migrated only
// when the caller asks (Options.Migrate, the programs' -migrate flag): a
// program should run as a least-privilege role (migrate grant), which may
// not migrate, and a schema belongs to whoever deploys it (cmd/migrate up),
// not to whichever program starts first. Either way the schema version is
// checked at start, through the program's own pool, so as its own role:
// a database older or newer than the binary is refused, naming both
// versions.
package devdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// Options say what Open does to a DATABASE_URL database. The zero value
// only checks its schema version.
type Options struct {
	// Migrate applies pending migrations to DATABASE_URL's database before
	// the check, as DATABASE_URL's role, which must own the schema.
	Migrate bool
	// MigrateFlag is the caller's flag that sets Migrate (e.g. "-migrate"),
	// named in the error for a schema older than the binary; empty when the
	// caller has none.
	MigrateFlag string
}

// Open is OpenWith with the zero Options: DATABASE_URL's database is
// checked, not migrated.
func Open(ctx context.Context, dsn string, log io.Writer) (string, func() error, error) {
	return OpenWith(ctx, dsn, log, Options{})
}

// OpenWith returns a connection string for a database whose schema is the
// binary's, and the function that stops the throwaway server (a no-op for
// DATABASE_URL's). With dsn empty it starts the throwaway server and
// migrates it; else it migrates dsn's database only with opts.Migrate.
// It says what it did on log.
func OpenWith(ctx context.Context, dsn string, log io.Writer, opts Options) (string, func() error, error) {
	dsn, stop, migrated, err := prepare(ctx, dsn, log, opts)
	if err != nil {
		return "", nil, err
	}
	pool, err := pgkit.Open(ctx, dsn, pgkit.Config{MaxConns: 1})
	if err == nil {
		err = check(ctx, pool, log, opts.MigrateFlag, migrated)
		pool.Close()
	}
	if err != nil {
		return "", nil, errors.Join(err, stop())
	}
	return dsn, stop, nil
}

// OpenPool is OpenPoolWith with the zero Options: DATABASE_URL's database
// is checked, not migrated.
func OpenPool(ctx context.Context, dsn string, log io.Writer, cfg pgkit.Config) (*pgkit.DB, func(), error) {
	return OpenPoolWith(ctx, dsn, log, cfg, Options{})
}

// OpenPoolWith is OpenWith followed by pgkit.Open with cfg; the schema
// version is checked on that pool, so as the program's role and through
// its pooler settings. Its close function closes the pool, then stops the
// throwaway server, saying on log what failed.
func OpenPoolWith(ctx context.Context, dsn string, log io.Writer, cfg pgkit.Config, opts Options) (*pgkit.DB, func(), error) {
	dsn, stop, migrated, err := prepare(ctx, dsn, log, opts)
	if err != nil {
		return nil, nil, err
	}
	pool, err := pgkit.Open(ctx, dsn, cfg)
	if err != nil {
		return nil, nil, errors.Join(err, stop())
	}
	if err := check(ctx, pool, log, opts.MigrateFlag, migrated); err != nil {
		pool.Close()
		return nil, nil, errors.Join(err, stop())
	}
	return pool, func() {
		pool.Close()
		if err := stop(); err != nil {
			fmt.Fprintln(log, "stop the throwaway server:", err)
		}
	}, nil
}

// prepare starts the throwaway server when dsn is empty, and migrates it,
// or dsn's database when opts.Migrate says so, and reports whether it
// migrated.
func prepare(ctx context.Context, dsn string, log io.Writer, opts Options) (string, func() error, bool, error) {
	stop := func() error { return nil }
	if dsn == "" {
		start := time.Now()
		srv, err := pgtemp.Start(ctx, pgtemp.Config{})
		if err != nil {
			return "", nil, false, err
		}
		stop = func() error {
			start := time.Now()
			if err := srv.Stop(); err != nil {
				return err
			}
			fmt.Fprintf(log, "stopped the throwaway server and removed %s in %s\n", srv.Dir(), time.Since(start).Round(time.Millisecond))
			return nil
		}
		dsn = srv.URL()
		fmt.Fprintf(log, "DATABASE_URL is unset: started a throwaway PostgreSQL in %s (%s)\n", srv.Dir(), time.Since(start).Round(time.Millisecond))
		opts.Migrate = true
	}
	if !opts.Migrate {
		return dsn, stop, false, nil
	}
	if err := up(ctx, dsn, log); err != nil {
		return "", nil, false, errors.Join(err, stop())
	}
	return dsn, stop, true, nil
}

func up(ctx context.Context, dsn string, log io.Writer) error {
	m, err := migrate.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer m.Close()
	applied, err := m.Up(ctx)
	if err != nil {
		return err
	}
	version, err := m.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(log, "migrations: %d applied now, schema at version %d\n", len(applied), version)
	return nil
}

// check refuses a schema that is not the binary's, naming both versions
// (and migrateFlag for an older one), and says on log that it is when
// prepare did not just migrate it.
func check(ctx context.Context, pool *pgkit.DB, log io.Writer, migrateFlag string, migrated bool) error {
	s, err := migrate.ReadState(ctx, pool)
	if err != nil {
		return err
	}
	if err := s.Err(); err != nil {
		var ve *migrate.VersionError
		if migrateFlag != "" && errors.As(err, &ve) && !ve.Newer() {
			return fmt.Errorf("%w (or run this program with %s, as the schema's owner)", err, migrateFlag)
		}
		return err
	}
	if !migrated {
		fmt.Fprintf(log, "schema at version %d, as this binary expects\n", s.DatabaseVersion())
	}
	return nil
}
