package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// -h and --help print the usage on standard output and exit 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "--help", "-help"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{arg}, "", strings.NewReader(""), &stdout, &stderr)
		out, errs := stdout.String(), stderr.String()
		if code != exitOK || !strings.Contains(out, "Usage: bulkload") || !strings.Contains(out, "-table") || !strings.Contains(out, "-from-line") || errs != "" {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", arg, code, out, errs)
		}
	}
}

// A usage error exits 2 with one line on standard error naming the flag.
func TestUsageErrorsAreOneLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-table", "users", "-nosuch"}, "-nosuch"},
		{[]string{"-table", "users", "-batch", "many"}, "-batch"},
		{[]string{"-table", "users", "-batch", "0"}, "-batch"},
		{[]string{"-table", "users", "-generate", "-1"}, "-generate"},
		{[]string{"-table", "users", "-batch-bytes", "0"}, "-batch-bytes"},
		{[]string{"-table", "users", "-from-line", "-5"}, "-from-line"},
		{[]string{"-table", "users", "-progress", "fancy"}, "-progress"},
		{[]string{"-table", "users", "extra"}, `"extra"`},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, "", strings.NewReader(""), &stdout, &stderr)
		out, errs := stdout.String(), stderr.String()
		if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line naming %s", tc.args, code, out, errs, tc.want)
		}
	}
}

// -generate for orders and reviews on a fresh database creates the parents
// they need, so that every generated row is stored; run again, it picks
// the parents that are there.
func TestGenerateChildTablesOnFreshDatabase(t *testing.T) {
	t.Parallel()
	for _, table := range []string{"orders", "reviews"} {
		t.Run(table, func(t *testing.T) {
			t.Parallel()
			dsn := pgkittest.URL(t, schema.FS())
			code, out, errs := bulkload(t, dsn, "", "-table", table, "-generate", "2500")
			if code != exitOK || !strings.Contains(out, "loaded 2500 rows") || !strings.Contains(out, "0 bad rows") {
				t.Fatalf("exit %d %s\n%s", code, out, errs)
			}
			users := count(t, dsn, "SELECT count(*) FROM users")
			code, out, errs = bulkload(t, dsn, "", "-table", table, "-generate", "2500")
			if code != exitOK || !strings.Contains(out, "loaded 2500 rows") || !strings.Contains(out, "0 bad rows") {
				t.Fatalf("again: exit %d %s\n%s", code, out, errs)
			}
			if n := count(t, dsn, "SELECT count(*) FROM "+table); n != 5000 {
				t.Fatalf("%d %s stored, want 5000", n, table)
			}
			if table == "orders" && count(t, dsn, "SELECT count(*) FROM users") != users {
				t.Errorf("the second run created users although there were some to pick")
			}
		})
	}
}

// A load that stores none of the rows it read fails (exit 1), saying so.
func TestNothingStoredIsAnError(t *testing.T) {
	t.Parallel()
	dsn := pgkittest.URL(t, schema.FS())
	// Orders of users that do not exist.
	code, out, errs := bulkload(t, dsn, "user_id,status,total_cents,created_at\n7,paid,100,\n8,paid,100,\n", "-table", "orders")
	if code != exitError || !strings.Contains(errs, "none of the 2 rows") {
		t.Fatalf("exit %d %s\n%s", code, out, errs)
	}
	// A header alone is an empty load, and fine.
	code, out, errs = bulkload(t, dsn, "user_id,status,total_cents,created_at\n", "-table", "orders")
	if code != exitOK || !strings.Contains(out, "loaded 0 rows") {
		t.Fatalf("header only: exit %d %s\n%s", code, out, errs)
	}
}
