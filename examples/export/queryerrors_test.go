package main

import (
	"context"
	"strings"
	"testing"
)

// TestQueryWithoutColumnsRefused: a -query whose result has no columns
// (COPY, a utility statement) fails saying to use -table or a SELECT,
// instead of exporting nothing with exit 0.
func TestQueryWithoutColumnsRefused(t *testing.T) {
	t.Parallel()
	dsn := database(t, 10)
	for _, q := range []string{"copy users to stdout", "SET work_mem = '8MB'", "SELECT FROM users"} {
		for _, format := range []string{"csv", "jsonl"} {
			code, out, errs := export1(t, context.Background(), dsn, "-format", format, "-query", q)
			if code != exitError || out != "" || !strings.Contains(errs, "no columns") || !strings.Contains(errs, "-table") {
				t.Errorf("-format %s -query %q: exit %d, stdout %q, stderr %q; want exit 1 saying it has no columns (use -table or a SELECT)", format, q, code, out, errs)
			}
		}
	}
}

// TestJSONLinesRepeatedColumnRefused: JSON Lines keys are the column
// names, so two columns of one name would repeat a key: refused, naming it.
func TestJSONLinesRepeatedColumnRefused(t *testing.T) {
	t.Parallel()
	dsn := database(t, 10)
	code, out, errs := export1(t, context.Background(), dsn, "-format", "jsonl", "-query", "SELECT 1 AS a, 2 AS b, 3 AS a")
	if code != exitError || out != "" || !strings.Contains(errs, `column "a"`) {
		t.Errorf("repeated column a: exit %d, stdout %q, stderr %q; want exit 1 naming the column", code, out, errs)
	}
	// CSV has a header line, not keys: the same query exports.
	if code, out, errs := export1(t, context.Background(), dsn, "-format", "csv", "-query", "SELECT 1 AS a, 2 AS b, 3 AS a"); code != exitOK || out != "a,b,a\n1,2,3\n" {
		t.Errorf("csv: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

// TestFailedQueryWritesNothing: a query that fails before its first row
// leaves standard output empty on every path (no header, no stray line).
func TestFailedQueryWritesNothing(t *testing.T) {
	t.Parallel()
	dsn := database(t, 10)
	for _, q := range []string{"SELEC 1", "SELECT 1/0 AS x", "SELECT nosuch FROM users"} {
		for _, args := range [][]string{{"-format", "csv"}, {"-format", "csv", "-via", "copy"}, {"-format", "jsonl"}} {
			code, out, errs := export1(t, context.Background(), dsn, append(args, "-query", q)...)
			if code != exitError || out != "" || errs == "" {
				t.Errorf("%v -query %q: exit %d, stdout %q, stderr %q; want exit 1, an error and nothing on stdout", args, q, code, out, errs)
			}
		}
	}
}
