package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/schema"
)

// execute runs inv's command on the database at dsn, its results on stdout
// and its retries on stderr.
func execute(ctx context.Context, inv invocation, dsn string, stdout, stderr io.Writer) error {
	if inv.cmd == "grant" {
		if err := migrate.Grant(ctx, dsn, inv.roles); err != nil {
			return err
		}
		printGrants(stdout, inv.roles)
		return nil
	}
	opts := inv.opts
	opts.Attempts, opts.RetryBackoff = migrate.DefaultAttempts, migrate.DefaultRetryBackoff
	opts.OnRetry = func(attempt int, err error) {
		wait := opts.RetryBackoff << (attempt - 1)
		fmt.Fprintf(stderr, "migrate: attempt %d of %d: %s: waited %s for a busy table's lock; retry in %s\n",
			attempt, opts.Attempts, strings.TrimPrefix(err.Error(), "migrate up: "), migrate.DefaultLockTimeout, wait)
	}
	m, err := migrate.OpenFS(ctx, dsn, schema.FS(), opts)
	if err != nil {
		return err
	}
	defer m.Close()
	switch inv.cmd {
	case "up":
		return up(ctx, m, stdout)
	case "down":
		r, err := m.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rolled back %s\n", r.Source.Path)
	case "down-to":
		res, err := m.DownTo(ctx, inv.target)
		for _, r := range res {
			fmt.Fprintf(stdout, "rolled back %s\n", r.Source.Path)
		}
		return err
	case "status":
		return status(ctx, m, stdout)
	case "version":
		v, err := m.Version(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, v)
	}
	return nil
}

func up(ctx context.Context, m *migrate.Migrator, stdout io.Writer) error {
	res, err := m.Up(ctx)
	for _, r := range res {
		fmt.Fprintf(stdout, "applied %s (%s)\n", r.Source.Path, r.Duration.Round(time.Millisecond))
	}
	if err != nil {
		return err
	}
	v, err := m.Version(ctx)
	if err != nil {
		return err
	}
	if len(res) == 0 {
		fmt.Fprintf(stdout, "no pending migrations: schema at version %d\n", v)
	} else {
		fmt.Fprintf(stdout, "schema at version %d\n", v)
	}
	return nil
}

// status prints a table of the binary's migrations and of the versions
// applied that it does not know, then what that means.
func status(ctx context.Context, m *migrate.Migrator, stdout io.Writer) error {
	st, err := m.Status(ctx)
	if err != nil {
		return err
	}
	s, err := m.State(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MIGRATION\tSTATE\tAPPLIED AT")
	for _, r := range st {
		when := ""
		if r.State == "applied" {
			when = r.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Source.Path, r.State, when)
	}
	for _, a := range s.Unknown {
		when := ""
		if !a.AppliedAt.IsZero() {
			when = a.AppliedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%d (unknown to this binary)\tapplied\t%s\n", a.Version, when)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if s.Newer() {
		fmt.Fprintf(stdout, "the database schema (version %d) is newer than this binary (version %d): up refuses to run; use the binary that carries the unknown versions\n",
			s.DatabaseVersion(), s.BinaryVersion())
	}
	return nil
}

// printGrants says in plain lines what each role may now do.
func printGrants(stdout io.Writer, roles migrate.Roles) {
	if roles.App != "" {
		fmt.Fprintf(stdout, "%s: SELECT, INSERT, UPDATE, DELETE on every table in public and USAGE on its sequences, also on those later migrations add; SELECT on goose_db_version; no DDL, no TRUNCATE\n", roles.App)
	}
	if roles.ReadOnly != "" {
		fmt.Fprintf(stdout, "%s: SELECT on every table in public (goose_db_version included), also on those later migrations add\n", roles.ReadOnly)
	}
}
