package main

import (
	"strings"
	"testing"
)

const nestSchema = `CREATE TABLE t (id bigserial PRIMARY KEY, n integer NOT NULL);
CREATE TABLE c (id bigserial PRIMARY KEY, t_id bigint NOT NULL REFERENCES t (id), s text);
`

// TestNestErrors: pgkitgen refuses what it cannot do with pgkit:nest and
// pgkit:json lines, naming the query and the fix.
func TestNestErrors(t *testing.T) {
	for _, tc := range []struct{ name, sql, want string }{
		{"json type without tags", `-- name: pgkitX :one
-- pgkit:public X
-- pgkit:json cs C
SELECT t.id, coalesce((SELECT json_agg(c) FROM c WHERE c.t_id = t.id), '[]')::json AS cs FROM t WHERE t.id = $1;
`, "query pgkitX (public X): pgkit:json: C.ID has no json tag"},
		{"json column missing", `-- name: pgkitX :one
-- pgkit:public X
-- pgkit:json nope C
SELECT t.id, t.n FROM t WHERE t.id = $1;
`, "pgkit:json nope: no such result column (the row's fields"},
		{"nest on :one", `-- name: pgkitX :one
-- pgkit:public X
-- pgkit:nest c
SELECT t.id, sqlc.embed(c) FROM t LEFT JOIN c ON c.t_id = t.id WHERE t.id = $1;
`, "pgkit:nest needs the hidden query to be :many"},
		{"key is the child's", `-- name: pgkitX :many
-- pgkit:public X
-- pgkit:nest c
SELECT sqlc.embed(c), t.id FROM t LEFT JOIN c ON c.t_id = t.id;
`, "the parent key, is the nest embed's"},
		{"unknown verb", `-- name: pgkitX :many
-- pgkit:public X
-- pgkit:nest c
-- pgkit:sort newest id DESC
SELECT t.id, sqlc.embed(c) FROM t LEFT JOIN c ON c.t_id = t.id;
`, "pgkit:sort: not supported in a query with pgkit:nest or pgkit:json"},
		{"wrong hidden name", `-- name: pgkitX :many
-- pgkit:public Y
-- pgkit:nest c
SELECT t.id, sqlc.embed(c) FROM t LEFT JOIN c ON c.t_id = t.id;
`, "query pgkitX: pgkit:public Y, want the hidden name pgkitY"},
		{"one column", `-- name: pgkitX :one
-- pgkit:public X
-- pgkit:json cs C
SELECT coalesce((SELECT json_agg(c) FROM c), '[]')::json AS cs;
`, "the result is one column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, pkg := sqlcPackage(t, nestSchema, tc.sql)
			_, err := Generate(pkg, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestNestGenerates: a grouped query without pgkit:embed lines (one embed)
// gets X, XStream in Streamer, and Store lists X (no emit_interface).
func TestNestGenerates(t *testing.T) {
	_, pkg := sqlcPackage(t, nestSchema, `-- name: pgkitX :many
-- pgkit:public X
-- pgkit:nest c Kids
-- X lists t with its c.
SELECT t.id, sqlc.embed(c) FROM t LEFT JOIN c ON c.t_id = t.id ORDER BY t.id;
`)
	src, err := Generate(pkg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"\tX(ctx context.Context) ([]XRow, error)\n", // in Store
		"\tXStream(ctx context.Context) iter.Seq2[XRow, error]\n",
		"type XRow struct {\n\tID   int64\n\tKids []C\n}",
		"// X lists t with its c.\n//\n// Rows are grouped by ID",
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated file lacks %q:\n%s", want, src)
		}
	}
}

// TestNestStatementNamesPublic: the public methods of nest queries (X,
// XStream; json queries' alike, see corpus nest) run a constant of their own whose first line names
// X, so that pgkit's errors and logs (pgerr.QueryName) say X, not pgkitX;
// sqlc's constant is left to sqlc's hidden method.
func TestNestStatementNamesPublic(t *testing.T) {
	_, pkg := sqlcPackage(t, nestSchema, `-- name: pgkitX :many
-- pgkit:public X
-- pgkit:one
-- pgkit:nest c
SELECT t.id, sqlc.embed(c) FROM t LEFT JOIN c ON c.t_id = t.id WHERE t.id = $1 ORDER BY c.id;

-- name: pgkitY :many
-- pgkit:public Y
-- pgkit:nest c
SELECT t.id, sqlc.embed(c) FROM t LEFT JOIN c ON c.t_id = t.id ORDER BY t.id;
`)
	src, err := Generate(pkg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"const pgkitXSQL = `-- name: X :one\n",
		"const pgkitYSQL = `-- name: Y :many\n",
		"q.db.Query(ctx, pgkitXSQL, id)",
		"q.db.Query(ctx, pgkitYSQL)",
		"pgkitStreamQuery(ctx, q.db, pgkitYSQL)",
		`return XRow{}, pgkitNotFound("X")`, // "X: not found", pgx.ErrNoRows
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("generated file lacks %q:\n%s", want, src)
		}
	}
	for _, hidden := range []string{", pgkitX,", ", pgkitX)", ", pgkitY)", ", pgkitY,"} {
		if strings.Contains(string(src), hidden) {
			t.Errorf("a public method runs sqlc's constant (%q):\n%s", hidden, src)
		}
	}
}
