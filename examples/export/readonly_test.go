package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/internal/testroles"
	"github.com/shopdb/shopdb/internal/testshop"
	"github.com/shopdb/shopdb/migrate"
)

// TestQueryRunsReadOnly: -query runs in a read-only transaction, so a
// statement that writes fails, saying export runs read-only, and the rows
// it would have exported and deleted are still there, on every path.
func TestQueryRunsReadOnly(t *testing.T) {
	t.Parallel()
	dsn := database(t, 100)
	before := countOrders(t, dsn)
	for _, args := range [][]string{
		{"-format", "csv"}, {"-format", "csv", "-via", "copy"}, {"-format", "jsonl"},
	} {
		code, out, errs := export1(t, context.Background(), dsn, append(args, "-query", "DELETE FROM orders WHERE order_id <= 3 RETURNING order_id")...)
		if code != exitError || !strings.Contains(errs, "runs read-only") || strings.Contains(out, "\n2\n") {
			t.Errorf("%v: a DELETE … RETURNING: exit %d, stdout %q, stderr %q; want exit 1 saying export runs read-only", args, code, out, errs)
		}
		if n := countOrders(t, dsn); n != before {
			t.Fatalf("%v: %d orders after the export, %d before: it wrote", args, n, before)
		}
	}
	// A function that writes, called from a SELECT, is refused too.
	code, _, errs := export1(t, context.Background(), dsn, "-query", "SELECT nextval('orders_order_id_seq')")
	if code != exitError || !strings.Contains(errs, "runs read-only") {
		t.Errorf("nextval: exit %d, stderr %q", code, errs)
	}
}

func countOrders(t *testing.T, dsn string) int {
	t.Helper()
	_, out, errs := export1(t, context.Background(), dsn, "-query", "SELECT count(*) FROM orders")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	n, err := strconv.Atoi(lines[len(lines)-1])
	if err != nil {
		t.Fatalf("count orders: %q %q", out, errs)
	}
	return n
}

// TestRunsAsTheReadOnlyRole: export starts and exports as the read-only
// role migrate grant sets up (it checks the schema version, and does not
// try to migrate).
func TestRunsAsTheReadOnlyRole(t *testing.T) {
	t.Parallel()
	owner := database(t, 10)
	ro := testroles.Create(t, owner, "export_ro")[0]
	if err := migrate.Grant(context.Background(), owner, migrate.Roles{ReadOnly: ro.Name}); err != nil {
		t.Fatal(err)
	}
	code, out, errs := export1(t, context.Background(), ro.DSN, "-table", "orders")
	if code != exitOK || strings.Count(out, "\n") != 11 {
		t.Fatalf("as the read-only role: exit %d, %d lines, stderr %q", code, strings.Count(out, "\n"), errs)
	}
}

// TestNewerSchemaRefused: export does not start on a database a newer
// binary migrated, and says which versions.
func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	dsn := database(t, 10)
	if code, _, errs := export1(t, context.Background(), dsn, "-query", "SELECT 1 FROM (SELECT 1) x"); code != exitOK {
		t.Fatalf("exit %d %s", code, errs)
	}
	testshop.Exec(t, dsn, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)")
	code, _, errs := export1(t, context.Background(), dsn, "-table", "users")
	if code != exitError || !strings.Contains(errs, "version 99999, newer than this binary's version 5") {
		t.Fatalf("newer database: exit %d, stderr %q", code, errs)
	}
}
