package pgslog_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgslog"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"ALTER ROLE app PASSWORD 'hunter2'":                                "ALTER ROLE app PASSWORD ?",
		"SELECT 'it''s', E'a\\'b', $1, x1, 42, 3.5e-3, .5 FROM t":          "SELECT ?, ?, $1, x1, ?, ?, ? FROM t",
		`SELECT "we're" FROM "t""x" WHERE a = 'b' -- secret 'c'`:           `SELECT "we're" FROM "t""x" WHERE a = ?  `,
		"DO $body$ BEGIN PERFORM 'x'; END $body$; SELECT $$s$$":            "DO ?; SELECT ?",
		"SELECT /* a /* nested */ 'x' */ 1, U&'d\\0061t', X'1F'":           "SELECT   ?, ?, ?",
		"SELECT pg_sleep(0.15)":                                            "SELECT pg_sleep(?)",
		"INSERT INTO t2 (c3) VALUES (0x1F), (1_000)":                       "INSERT INTO t2 (c3) VALUES (?), (?)",
		"SELECT 'unterminated":                                             "SELECT ?",
		"-- name: AccountGetByID :one\nSELECT * FROM accounts WHERE id=$1": " \nSELECT * FROM accounts WHERE id=$1",
		// A server with standard_conforming_strings off reads the
		// password as x' hunter2 ; one with it on reads hunter2 as a word.
		`ALTER ROLE app PASSWORD 'x\' hunter2 ' -- '`: "ALTER ROLE app PASSWORD ?",
		`SELECT "open 'hunter2'`:                      "SELECT ?",
	} {
		if got := pgslog.Normalize(in); got != want {
			t.Errorf("Normalize(%q)\n got %q\nwant %q", in, got, want)
		}
	}
}

// TestTracerNeverLogsLiterals: SQL without a sqlc name is logged with its
// literals replaced, at every level, unless LogArgs asks for them. Before,
// ALTER ROLE … PASSWORD '…' appeared verbatim at Debug.
func TestTracerNeverLogsLiterals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	capture := &logCapture{}
	logger := slog.New(slog.NewJSONHandler(capture, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{Tracer: pgslog.NewTracer(logger, pgslog.Config{})})
	const secret = "Tr0ub4dor&3"
	// The role does not exist (the test role may not create one): the
	// statement fails and is logged at Error, with its text.
	if _, err := d.Exec(ctx, "ALTER ROLE no_such_test_role PASSWORD '"+secret+"'"); err == nil {
		t.Fatal("ALTER ROLE of a missing role succeeded")
	}
	var echoed string
	if err := d.QueryRow(ctx, "SELECT '"+secret+"'::text").Scan(&echoed); err != nil || echoed != secret {
		t.Fatal(err)
	}
	_, _ = d.Exec(ctx, "SELECT 1/0 WHERE 'x' <> '"+secret+"'")
	recs := capture.records(t)
	raw, _ := json.Marshal(recs)
	if strings.Contains(string(raw), secret) {
		t.Fatalf("a literal reached the log: %s", raw)
	}
	var sawAlter bool
	for _, r := range recs {
		if r["sql"] == "ALTER ROLE no_such_test_role PASSWORD ?" {
			sawAlter = true
		}
	}
	if !sawAlter {
		t.Fatalf("no normalized ALTER ROLE record in %s", raw)
	}
}
