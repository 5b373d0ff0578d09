// Command quickstart is the asyncpg tutorial flow in Go: connect, insert,
// fetch many and one, concurrent queries on one connection and on a pool, a
// transaction that commits and one that rolls back on a duplicate key.
//
// It uses the server DATABASE_URL names: its schema version is checked at
// start, and it is migrated first only with -migrate (as the schema's
// owner). When DATABASE_URL is unset it starts a throwaway PostgreSQL from
// the local binaries, migrates it, and removes it at the end, also on
// Ctrl-C. Run it with `make demo` or `go run ./examples/quickstart`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/shopdb/shopdb/internal/devdb"
	"github.com/shopdb/shopdb/pgkit"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const usageHead = `usage: quickstart [-migrate]

The tutorial flow: connect, insert, fetch, one connection vs a pool, a
transaction that commits and one that rolls back. It adds a few rows.
DATABASE_URL names the database; unset, a throwaway PostgreSQL is started,
migrated, and removed at the end.

flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv("DATABASE_URL"), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func newFlagSet(migrate *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage goes to stdout on -h; errors are one line
	fs.BoolVar(migrate, "migrate", false, "apply pending migrations to DATABASE_URL's database first (as the schema's owner)")
	return fs
}

func run(ctx context.Context, args []string, dsn string, stdout, stderr io.Writer) int {
	var migrate bool
	fs := newFlagSet(&migrate)
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q: quickstart takes only flags", fs.Arg(0))
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usageHead)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "quickstart: %v (see quickstart -h)\n", err)
		return exitUsage
	}
	if err := demo(ctx, dsn, migrate, stdout); err != nil {
		fmt.Fprintln(stderr, "quickstart:", err)
		return exitError
	}
	return exitOK
}

func demo(ctx context.Context, dsn string, migrate bool, out io.Writer) error {
	pool, closeDB, err := devdb.OpenPoolWith(ctx, dsn, out, pgkit.Config{MaxConns: 4}, devdb.Options{Migrate: migrate, MigrateFlag: "-migrate"})
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
