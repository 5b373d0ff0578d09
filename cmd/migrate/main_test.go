package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

func TestCommands(t *testing.T) {
	ctx := context.Background()
	dsn := pgkittest.EmptyURL(t)
	step := func(want string, args ...string) {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, args, dsn, &out); err != nil {
			t.Fatalf("migrate %s: %v", strings.Join(args, " "), err)
		}
		if !strings.Contains(out.String(), want) {
			t.Fatalf("migrate %s printed %q, want it to contain %q", strings.Join(args, " "), out.String(), want)
		}
	}
	step("0", "version")
	step(fmt.Sprintf("%-28s pending", "00001_users.sql"), "status")
	step("applied 00004_orders.sql", "up")
	step("no pending migrations", "up")
	step("5\n", "version")
	step("rolled back 00005_users_last_name_idx.sql", "down")
	step("rolled back 00004_orders.sql", "down")
	step(fmt.Sprintf("%-28s pending", "00004_orders.sql"), "status")
	step(fmt.Sprintf("%-28s applied 20", "00003_reviews.sql"), "status")
	step("rolled back 00002_products.sql", "down-to", "1")
	step("1\n", "version")
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		dsn  string
		want string
	}{
		{nil, "postgres://x", "usage: migrate"},
		{[]string{"sideways"}, "postgres://x", "usage: migrate"},
		{[]string{"down-to", "-3"}, "postgres://x", `version "-3" is not a number`},
		{[]string{"up"}, "", "DATABASE_URL is not set"},
		{[]string{"up"}, "postgres://ops:pa55word@localhost:nope/shop", "invalid connection string"},
	} {
		err := run(ctx, tc.args, tc.dsn, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pa55word") {
			t.Errorf("migrate %v: error = %v, want one containing %q and no password", tc.args, err, tc.want)
		}
	}
}
