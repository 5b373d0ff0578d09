package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(pgkittest.Run(m))
}

func TestCommands(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgkittest.EmptyURL(t)
	step := func(want string, args ...string) {
		t.Helper()
		var out, errs bytes.Buffer
		if code := run(ctx, args, dsn, &out, &errs); code != exitOK {
			t.Fatalf("migrate %s: exit %d: %s", strings.Join(args, " "), code, errs.String())
		}
		if !regexp.MustCompile(want).MatchString(out.String()) {
			t.Fatalf("migrate %s printed %q, want it to match %q", strings.Join(args, " "), out.String(), want)
		}
	}
	step(`^0\n$`, "version")
	step(`(?m)^MIGRATION +STATE +APPLIED AT\n00001_users.sql +pending`, "status")
	step(`applied 00004_orders.sql.*\n(.*\n)*schema at version 5\n$`, "up")
	step(`^no pending migrations: schema at version 5\n$`, "up")
	step(`^5\n$`, "version")
	step(`^rolled back 00005_users_last_name_idx.sql\n$`, "down")
	step(`^rolled back 00004_orders.sql\n$`, "down")
	step(`(?m)^00004_orders.sql +pending *$`, "status")
	step(`(?m)^00003_reviews.sql +applied +20\d\d-`, "status")
	step(`^rolled back 00003_reviews.sql\nrolled back 00002_products.sql\n$`, "down-to", "1")
	step(`^1\n$`, "version")
}
