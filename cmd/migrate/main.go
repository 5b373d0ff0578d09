// Command migrate applies shopdb's embedded schema migrations to the database
// DATABASE_URL names, as the schema's owner. Concurrent runs are safe: a
// PostgreSQL advisory lock lets one apply each migration while the others
// wait.
//
//	go run ./cmd/migrate up         apply every pending migration
//	go run ./cmd/migrate down       roll back the newest migration
//	go run ./cmd/migrate down-to N  roll back to version N (0: everything)
//	go run ./cmd/migrate status     list migrations and when they were applied
//	go run ./cmd/migrate version    print the current version
//	go run ./cmd/migrate grant APP_ROLE [READONLY_ROLE]
//
// Exit codes: 0 done, 1 failed, 2 usage error (one line on stderr).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/shopdb/shopdb/migrate"
)

const usage = `usage: migrate [-session-pooler] COMMAND

commands:
  up                              apply every pending migration
  down                            roll back the newest migration
  down-to VERSION                 roll back until VERSION is the newest applied (0: all)
  status                          list the migrations, applied and pending, and
                                  versions applied that this binary does not know
  version                         print the database's schema version
  grant APP_ROLE [READONLY_ROLE]  give existing roles least privileges: APP_ROLE
                                  reads and writes every table, READONLY_ROLE reads
                                  them; both read goose_db_version, neither writes it

flags:
  -session-pooler  DATABASE_URL reaches PostgreSQL through a pooler in session
                   mode: send the session settings with SET, not as startup
                   parameters (which PgBouncer refuses)
  -h, --help       print this help

DATABASE_URL names the database (postgres://owner:password@host:5432/db), as
the role that owns the schema, directly on the server: a transaction pooler
(pgbouncer=true) is refused. Each migration waits at most %s for a busy
table's lock, then is tried again, up to %d attempts in all, %s, then twice
as long, apart; each retry is printed on stderr.
`

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv("DATABASE_URL"), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// invocation is a parsed command line.
type invocation struct {
	cmd    string
	target int64         // down-to
	roles  migrate.Roles // grant
	opts   migrate.Options
}

// usageError is a command line that cannot run: exit 2, one line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errHelp asks for the usage on stdout and exit 0.
var errHelp = errors.New("help")

func run(ctx context.Context, args []string, dsn string, stdout, stderr io.Writer) int {
	inv, err := parse(args)
	switch {
	case errors.Is(err, errHelp):
		fmt.Fprintf(stdout, usage, migrate.DefaultLockTimeout, migrate.DefaultAttempts, migrate.DefaultRetryBackoff)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "migrate: %v (see migrate -h)\n", err)
		return exitUsage
	case dsn == "":
		fmt.Fprintln(stderr, "migrate: DATABASE_URL is not set: set it to the connection string of the schema's owner, e.g. postgres://owner@localhost:5432/shop")
		return exitUsage
	}
	if err := execute(ctx, inv, dsn, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, errorLine(err))
		return exitError
	}
	return exitOK
}

// parse reads the flags and the command. Flag errors and bad arguments are
// usageErrors naming the flag or argument.
func parse(args []string) (invocation, error) {
	var inv invocation
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // usage goes to stdout on -h, errors are one line
	fs.BoolVar(&inv.opts.SessionPooler, "session-pooler", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return inv, errHelp
		}
		return inv, usageError{err.Error()}
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return inv, usageError{"no command given: want up, down, down-to, status, version or grant"}
	}
	inv.cmd, rest = rest[0], rest[1:]
	switch inv.cmd {
	case "help":
		return inv, errHelp
	case "up", "down", "status", "version":
		if len(rest) > 0 {
			return inv, usageError{fmt.Sprintf("%s takes no argument, got %q", inv.cmd, rest[0])}
		}
	case "down-to":
		if len(rest) != 1 {
			return inv, usageError{"down-to needs one VERSION (0: roll back everything)"}
		}
		v, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil || v < 0 {
			return inv, usageError{fmt.Sprintf("down-to: VERSION %q is not a number >= 0", rest[0])}
		}
		inv.target = v
	case "grant":
		if len(rest) < 1 || len(rest) > 2 {
			return inv, usageError{"grant needs APP_ROLE and optionally READONLY_ROLE"}
		}
		inv.roles.App = rest[0]
		if len(rest) == 2 {
			inv.roles.ReadOnly = rest[1]
		}
	default:
		return inv, usageError{fmt.Sprintf("unknown command %q: want up, down, down-to, status, version or grant", inv.cmd)}
	}
	return inv, nil
}

// errorLine is err as one line with one "migrate" prefix: the migrate
// package's errors already begin with theirs ("migrate up: …").
func errorLine(err error) string {
	// pgx lists each address it tried on a line of its own, indented.
	msg := strings.NewReplacer(":\n\t", ": ", "\n\t", "; ", "\n", "; ").Replace(err.Error())
	if !strings.HasPrefix(msg, "migrate") {
		msg = "migrate: " + msg
	}
	return msg
}
