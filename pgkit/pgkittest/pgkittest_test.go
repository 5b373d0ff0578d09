package pgkittest_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func TestDatabasesAreMigratedAndIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := pgkittest.New(t, kitdb.Migrations()), pgkittest.New(t, kitdb.Migrations())
	if _, err := kitdb.New(a).AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Only", Team: "InA"}); err != nil {
		t.Fatal(err)
	}
	accounts, err := kitdb.New(b).AccountList(ctx, kitdb.AccountListParams{Max: 10})
	if err != nil || len(accounts) != 0 {
		t.Fatalf("database b sees %d accounts (%v), want 0: databases are shared", len(accounts), err)
	}
}

func TestEmptyURLHasNoSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgkittest.EmptyURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil || n != 0 {
		t.Fatalf("empty database has %d tables (%v), want 0", n, err)
	}
}

func TestUnsetDatabaseURLIsAClearFailure(t *testing.T) {
	// Not parallel: it changes the environment.
	t.Setenv(pgkittest.EnvURL, "")
	ft := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }() // fakeTB.Fatalf stops here
		pgkittest.URL(ft, kitdb.Migrations())
	}()
	if !strings.Contains(ft.msg, "DATABASE_URL is unset") {
		t.Fatalf("failure message %q, want one saying DATABASE_URL is unset", ft.msg)
	}
}

// fakeTB records Fatalf instead of failing the real test.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic("fatal")
}

// BenchmarkNewDatabase measures the per-test cost of a fresh migrated
// database: a CREATE DATABASE from pgtestdb's template (the template itself
// is made once per schema version, before the timer starts).
func BenchmarkNewDatabase(b *testing.B) {
	_ = pgkittest.URL(b, kitdb.Migrations())
	for b.Loop() {
		_ = pgkittest.URL(b, kitdb.Migrations())
	}
}
