// Command quickstart is the asyncpg tutorial flow in Go: connect, insert,
// fetch many and one, concurrent queries on one connection and on a pool, a
// transaction that commits and one that rolls back on a duplicate key.
//
// It uses the server DATABASE_URL names. When DATABASE_URL is unset it
// starts a throwaway PostgreSQL from the local binaries and removes it at the
// end, also on Ctrl-C. Run it with `make demo` or `go run ./examples/quickstart`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/internal/pgtemp"
	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv("DATABASE_URL"), os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dsn string, out io.Writer) error {
	if dsn == "" {
		start := time.Now()
		srv, err := pgtemp.Start(ctx, pgtemp.Config{})
		if err != nil {
			return err
		}
		defer func() {
			start := time.Now()
			if err := srv.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "quickstart:", err)
				return
			}
			fmt.Fprintf(out, "stopped the throwaway server and removed %s in %s\n", srv.Dir(), time.Since(start).Round(time.Millisecond))
		}()
		dsn = srv.URL()
		fmt.Fprintf(out, "DATABASE_URL is unset: started a throwaway PostgreSQL in %s (%s)\n", srv.Dir(), time.Since(start).Round(time.Millisecond))
	}

	m, err := migrate.Open(ctx, dsn)
	if err != nil {
		return err
	}
	applied, err := m.Up(ctx)
	if err == nil {
		var version int64
		version, err = m.Version(ctx)
		fmt.Fprintf(out, "migrations: %d applied now, schema at version %d\n", len(applied), version)
	}
	m.Close()
	if err != nil {
		return err
	}

	pool, err := pgkit.Open(ctx, dsn, pgkit.Config{MaxConns: 4})
	if err != nil {
		return err
	}
	defer pool.Close()
	_, err = Run(ctx, pool, out)
	return err
}
