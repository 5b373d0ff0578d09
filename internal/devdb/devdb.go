// Package devdb gives the example programs their database: the server
// DATABASE_URL names, or, when it is unset, a throwaway PostgreSQL started
// from the local binaries; migrated to the latest schema either way.
package devdb

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// Open returns a connection string for a migrated database and the
// function that stops the throwaway server (a no-op for DATABASE_URL's).
// It says what it did on log.
func Open(ctx context.Context, dsn string, log io.Writer) (string, func() error, error) {
	stop := func() error { return nil }
	if dsn == "" {
		start := time.Now()
		srv, err := pgtemp.Start(ctx, pgtemp.Config{})
		if err != nil {
			return "", nil, err
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
	}
	m, err := migrate.Open(ctx, dsn)
	if err != nil {
		_ = stop()
		return "", nil, err
	}
	defer m.Close()
	applied, err := m.Up(ctx)
	if err != nil {
		_ = stop()
		return "", nil, err
	}
	version, err := m.Version(ctx)
	if err != nil {
		_ = stop()
		return "", nil, err
	}
	fmt.Fprintf(log, "migrations: %d applied now, schema at version %d\n", len(applied), version)
	return dsn, stop, nil
}

// OpenPool is Open followed by pgkit.Open with cfg. Its close function
// closes the pool, then stops the throwaway server, saying on log what
// failed.
func OpenPool(ctx context.Context, dsn string, log io.Writer, cfg pgkit.Config) (*pgkit.DB, func(), error) {
	dsn, stop, err := Open(ctx, dsn, log)
	if err != nil {
		return nil, nil, err
	}
	pool, err := pgkit.Open(ctx, dsn, cfg)
	if err != nil {
		_ = stop()
		return nil, nil, err
	}
	return pool, func() {
		pool.Close()
		if err := stop(); err != nil {
			fmt.Fprintln(log, "stop the throwaway server:", err)
		}
	}, nil
}
