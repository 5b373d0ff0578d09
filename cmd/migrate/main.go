// Command migrate applies shopdb's embedded schema migrations to the database
// DATABASE_URL names. Concurrent runs are safe: a PostgreSQL advisory lock
// lets one apply each migration while the others wait.
//
//	go run ./cmd/migrate up         apply every pending migration
//	go run ./cmd/migrate down       roll back the newest migration
//	go run ./cmd/migrate down-to N  roll back to version N (0: everything)
//	go run ./cmd/migrate status     list migrations and when they were applied
//	go run ./cmd/migrate version    print the current version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/migrate"
)

const usage = `usage: migrate up | down | down-to VERSION | status | version | grant APP_ROLE [READONLY_ROLE]
Reads the database from DATABASE_URL (postgres://user:password@host:5432/db).
Each migration waits at most 3s for a busy table's lock, then is retried.
grant gives existing roles least privileges: APP_ROLE reads and writes every
table but goose's, READONLY_ROLE reads them; run it as the schema's owner.`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv("DATABASE_URL"), os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, dsn string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cmd := args[0]
	var target int64
	switch {
	case cmd == "down-to" && len(args) == 2:
		v, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("down-to: version %q is not a number >= 0", args[1])
		}
		target = v
	case len(args) == 1 && (cmd == "up" || cmd == "down" || cmd == "status" || cmd == "version"):
	case cmd == "grant" && (len(args) == 2 || len(args) == 3):
	default:
		return errors.New(usage)
	}
	if dsn == "" {
		return errors.New("DATABASE_URL is not set")
	}
	if cmd == "grant" {
		roles := migrate.Roles{App: args[1]}
		if len(args) == 3 {
			roles.ReadOnly = args[2]
		}
		if err := migrate.Grant(ctx, dsn, roles); err != nil {
			return err
		}
		fmt.Fprintf(out, "granted: %+v\n", roles)
		return nil
	}

	m, err := migrate.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer m.Close()
	switch cmd {
	case "up":
		res, err := m.Up(ctx)
		for _, r := range res {
			fmt.Fprintf(out, "applied %s (%s)\n", r.Source.Path, r.Duration.Round(time.Millisecond))
		}
		if err != nil {
			return err
		}
		if len(res) == 0 {
			fmt.Fprintln(out, "no pending migrations")
		}
	case "down":
		r, err := m.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "rolled back %s\n", r.Source.Path)
	case "down-to":
		res, err := m.DownTo(ctx, target)
		for _, r := range res {
			fmt.Fprintf(out, "rolled back %s\n", r.Source.Path)
		}
		if err != nil {
			return err
		}
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			when := "pending"
			if s.State == "applied" {
				when = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(out, "%-28s %s\n", s.Source.Path, when)
		}
	case "version":
		v, err := m.Version(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, v)
	}
	return nil
}
