package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// inferenceSQL are queries for which sqlc infers numeric or no type
// (interface{}) where the SQL means an integer or a known type, and some
// that are fine, at known lines.
const inferenceSQL = `-- name: Series :many
SELECT g FROM generate_series(1, $1) AS g;

-- name: SeriesNamed :many
SELECT g, t.n
FROM t, generate_series(1, @max) g
WHERE t.id = @id;

-- name: SeriesOne :one
SELECT generate_series(1, 3);

-- name: Unknown :one
SELECT $1::text AS x,
       NULL AS nothing;

-- name: Generic :exec
UPDATE t SET n = n
WHERE id = $1 OR $2 IS NULL;

-- name: Fine :many
SELECT g::int AS g FROM generate_series(1, @max::int) g;

-- name: Sum :one
SELECT sum(id) AS total, avg(n)::numeric AS mean FROM t;

-- name: PriceOf :one
SELECT price FROM t WHERE id = @id;

-- name: BatchGeneric :batchexec
UPDATE t SET n = n WHERE id = $1 OR $2 IS NULL;
`

// sqlcPackage runs the pinned sqlc on schema and queries in a temporary
// directory laid out as the shop's (sqlc.yaml at the top, queries/, the
// package in db/) and returns the directory and the package's.
func sqlcPackage(t *testing.T, schema, queries string) (root, pkg string) {
	t.Helper()
	root = t.TempDir()
	files := map[string]string{
		"schema.sql":      schema,
		"queries/t.sql":   queries,
		"queries/own.sql": "-- name: Own :one\nSELECT id FROM t WHERE id = $1;\n",
		"sqlc.yaml": `version: "2"
sql:
  - engine: postgresql
    schema: schema.sql
    queries: queries
    gen:
      go:
        package: db
        out: db
        sql_package: pgx/v5
        emit_pointers_for_null_types: true
`,
	}
	for name, src := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tools, err := filepath.Abs(filepath.Join("..", "..", "..", "tools", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "-modfile="+tools, "sqlc", "generate", "-f", filepath.Join(root, "sqlc.yaml"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlc generate: %v\n%s", err, out)
	}
	return root, filepath.Join(root, "db")
}

// TestWarnsOnInference: pgkitgen warns, on stderr, naming the query
// file and line, the query, the parameter or column and the cast to
// write, for every parameter or column sqlc typed interface{} and every
// numeric it inferred from generate_series; not for the queries that are
// fine; and generates as before.
func TestWarnsOnInference(t *testing.T) {
	root, pkg := sqlcPackage(t, "CREATE TABLE t (id bigserial PRIMARY KEY, n integer NOT NULL, price numeric);\n", inferenceSQL)
	var stderr bytes.Buffer
	if err := run(pkg, false, Options{}, &stderr); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	rel := func(line string) string { return filepath.Join(root, "queries", "t.sql") + ":" + line + ": warning: " }
	want := []string{
		rel("2") + "Series: parameter $1 (generateSeries) is numeric, which sqlc read from generate_series: pgx encodes it through math/big; write $1::int (or ::bigint)",
		rel("2") + "Series: column g is numeric, which sqlc read from generate_series: pgx decodes it through math/big; write g::int AS g (or ::bigint)",
		rel("6") + "SeriesNamed: parameter @max ($1) is numeric, which sqlc read from generate_series: pgx encodes it through math/big; write @max::int (or ::bigint)",
		rel("6") + "SeriesNamed: column g is numeric, which sqlc read from generate_series: pgx decodes it through math/big; write g::int AS g (or ::bigint)",
		rel("10") + "SeriesOne: column generate_series is numeric, which sqlc read from generate_series: pgx decodes it through math/big; write generate_series(…)::int AS generate_series (or ::bigint)",
		rel("14") + "Unknown: column nothing has no type sqlc could infer (interface{}): write a cast to its type where it is selected, e.g. …::text AS nothing",
		rel("18") + "Generic: parameter $2 (Column2) has no type sqlc could infer (interface{}): write a cast to its type, e.g. $2::text",
		rel("30") + "BatchGeneric: parameter $2 (Column2) has no type sqlc could infer (interface{}): write a cast to its type, e.g. $2::text",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// -check warns the same and passes on a current file.
	stderr.Reset()
	if err := run(pkg, true, Options{}, &stderr); err != nil || strings.Count(stderr.String(), "warning:") != len(want) {
		t.Errorf("-check: %v, %d warnings:\n%s", err, strings.Count(stderr.String(), "warning:"), stderr.String())
	}
}

// TestWarningLocations: the query files come from sqlc's configuration
// in either form (queries: a directory, or a list of files); without a
// configuration above the package, warnings name the Go file and line of
// the query's constant instead.
func TestWarningLocations(t *testing.T) {
	root, pkg := sqlcPackage(t, "CREATE TABLE t (id bigserial PRIMARY KEY, n integer NOT NULL);\n",
		"-- name: Mine :one\nSELECT id FROM t WHERE id = $1;\n\n-- name: Nothing :one\nSELECT id,\n  NULL AS nothing FROM t;\n")
	warnings := func() string {
		t.Helper()
		var stderr bytes.Buffer
		if err := run(pkg, false, Options{}, &stderr); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(stderr.String())
	}
	want := filepath.Join(root, "queries", "t.sql") + ":6: warning: Nothing: column nothing has no type sqlc could infer (interface{}): write a cast to its type where it is selected, e.g. …::text AS nothing"
	if got := warnings(); got != want {
		t.Errorf("queries: a directory:\n%s\nwant\n%s", got, want)
	}
	cfg, err := os.ReadFile(filepath.Join(root, "sqlc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	list := strings.Replace(string(cfg), "queries: queries", "queries:\n      - queries/own.sql\n      - queries/t.sql", 1)
	if err := os.WriteFile(filepath.Join(root, "sqlc.yaml"), []byte(list), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := warnings(); got != want {
		t.Errorf("queries: a list:\n%s\nwant\n%s", got, want)
	}
	if err := os.Remove(filepath.Join(root, "sqlc.yaml")); err != nil {
		t.Fatal(err)
	}
	got := warnings()
	if !strings.HasPrefix(got, filepath.Join(pkg, "t.sql.go")+":") || !strings.Contains(got, ": warning: Nothing: column nothing") {
		t.Errorf("without sqlc.yaml: %s, want the warning at the constant in t.sql.go", got)
	}
}

// TestWarningsFollowExpand: when sqlc compiles files written by pgkitgen
// expand, warnings name the annotated source and its line, not the
// expanded file (whose lines differ), for a query kept under its name and
// for a hidden sort variant.
func TestWarningsFollowExpand(t *testing.T) {
	source := "-- name: Mine :many\n-- pgkit:optional p\nSELECT id,\n  NULL AS something FROM t WHERE id > @p::bigint;\n\n" +
		"-- name: Nothing :many\n-- Nothing lists.\n-- pgkit:sort by_id id\n-- pgkit:sort by_n n\nSELECT id,\n  NULL AS nothing FROM t;\n"
	root, _ := sqlcPackage(t, "CREATE TABLE t (id bigserial PRIMARY KEY, n integer NOT NULL);\n", "-- name: Placeholder :one\nSELECT 1;\n")
	if err := os.WriteFile(filepath.Join(root, "queries", "t.sql"), []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runExpand(filepath.Join(root, "queries"), filepath.Join(root, "db", "sql"), false); err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(root, "sqlc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "sqlc.yaml"), bytes.Replace(cfg, []byte("queries: queries"), []byte("queries: db/sql"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	tools, _ := filepath.Abs(filepath.Join("..", "..", "..", "tools", "go.mod"))
	if out, err := exec.Command("go", "tool", "-modfile="+tools, "sqlc", "generate", "-f", filepath.Join(root, "sqlc.yaml")).CombinedOutput(); err != nil {
		t.Fatalf("sqlc generate: %v\n%s", err, out)
	}
	var stderr bytes.Buffer
	if err := run(filepath.Join(root, "db"), false, Options{}, &stderr); err != nil {
		t.Fatal(err)
	}
	at := func(line string) string { return filepath.Join(root, "queries", "t.sql") + ":" + line + ": warning: " }
	got := stderr.String()
	for _, want := range []string{at("4") + "Mine: column something", at("11") + "Nothing (pgkitNothingSortById): column nothing", at("11") + "Nothing (pgkitNothingSortByN): column nothing"} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings:\n%s\nwant one starting %q", got, want)
		}
	}
}
