package pgkit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// setup marks t parallel and returns a context bounded to 60s, a pool on a
// fresh database migrated with kitdb's schema, and its Queries. (The
// multiplexing path has tests of its own: multiplex_test.go.)
func setup(t *testing.T) (context.Context, *pgkit.DB, *kitdb.Queries) {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	pool := pgkittest.New(t, kitdb.Migrations())
	return ctx, pool, kitdb.New(pool)
}

// fixture makes a project with three notes (priorities 2, 3, 4, by three
// accounts) and an account with three done jobs, and returns the project
// and that account.
func fixture(t testing.TB, ctx context.Context, q *kitdb.Queries) (kitdb.Project, kitdb.Account) {
	t.Helper()
	owner := kittest.Must(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "P", Team: "Owner"}))(t)
	p := kittest.Must(q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "pipe", Name: "Pipe", RateCents: 100, Credits: 5}))(t)
	for i := range 3 {
		a := kittest.Must(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "N", Team: string(rune('a' + i))}))(t)
		kittest.Must(q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: p.ProjectID, AccountID: a.AccountID, Priority: int16(i + 2)}))(t)
		kittest.Must(q.JobCreate(ctx, kitdb.JobCreateParams{AccountID: owner.AccountID, State: kitdb.JobStateDone, CostCents: int64(i)}))(t)
	}
	return p, owner
}

// migrateUp applies kitdb's migrations to the database at dsn with goose,
// over database/sql (pgx's stdlib driver): the path a migration tool takes.
func migrateUp(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("migrate: connect: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, kitdb.Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	return nil
}
