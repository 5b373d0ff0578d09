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

	"github.com/shopdb/shopdb/internal/devdb"
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
	pool, closeDB, err := devdb.OpenPool(ctx, dsn, out, pgkit.Config{MaxConns: 4})
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err = Run(ctx, pool, out); err != nil {
		return err
	}
	fmt.Fprintln(out, "next: make serve (the product-page service with demo data), or see Examples in README.md")
	return nil
}
