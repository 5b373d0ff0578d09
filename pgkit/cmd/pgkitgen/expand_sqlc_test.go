package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// expandSchema and expandQueries are a small package written with every
// annotation, for sqlc to compile after expand.
const (
	expandSchema = `CREATE TABLE users (id bigserial PRIMARY KEY, last_name text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE reviews (id bigserial PRIMARY KEY, user_id bigint REFERENCES users, rating int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
`
	expandQueries = `-- name: UserList :many
-- UserList lists users.
-- pgkit:optional name_prefix before_created_at before_id
SELECT * FROM users
WHERE starts_with(last_name, @name_prefix::text)
    AND (created_at, id) < (@before_created_at::timestamptz, @before_id::bigint)
ORDER BY id
LIMIT @max::integer;

-- name: ReviewList :many
-- ReviewList lists reviews.
-- pgkit:sort newest created_at DESC, id DESC
-- pgkit:sort top_rated rating DESC, id
SELECT * FROM reviews
WHERE user_id = @user_id::bigint
ORDER BY created_at DESC
LIMIT @max::integer;

-- name: ReviewWithUser :opt
SELECT sqlc.embed(r), sqlc.embed(u)
FROM reviews r LEFT JOIN users u ON u.id = r.user_id
WHERE r.id = @id::bigint;
`
)

// TestExpandCompilesWithSQLC runs the sqlc of tools/go.mod on expand's
// output: an optional parameter is a pointer in Params, each sort order
// is a hidden query of its own, and the contract lines reach the Go doc
// comments.
func TestExpandCompilesWithSQLC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds sqlc")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"schema.sql":    expandSchema,
		"queries/q.sql": expandQueries,
		"sqlc.yaml": `version: "2"
sql:
  - engine: postgresql
    schema: schema.sql
    queries: gen/sql
    gen:
      go:
        package: gen
        out: gen
        sql_package: pgx/v5
        emit_pointers_for_null_types: true
`,
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := runExpand(filepath.Join(dir, "queries"), filepath.Join(dir, "gen", "sql"), false); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "-modfile="+filepath.Join(root, "tools", "go.mod"), "sqlc", "generate", "-f", filepath.Join(dir, "sqlc.yaml"))
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlc generate: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "gen", "q.sql.go"))
	if err != nil {
		t.Fatal(err)
	}
	gen := string(b)
	for _, want := range []string{
		`NamePrefix\s+\*string`, `BeforeCreatedAt\s+pgtype.Timestamptz`, `BeforeID\s+\*int64`,
		`func \(q \*Queries\) UserList\(`,
		`// pgkit:public ReviewList\n// pgkit:sort newest default\n// ReviewList lists reviews.\nfunc \(q \*Queries\) pgkitReviewListSortNewest\(`,
		`// pgkit:public ReviewList\n// pgkit:sort top_rated\n// ReviewList lists reviews.\nfunc \(q \*Queries\) pgkitReviewListSortTopRated\(`,
		`ORDER BY rating DESC, id\nLIMIT \$2`,
		`// pgkit:public ReviewWithUser\n// pgkit:opt\n// pgkit:embed r notnull\n// pgkit:embed u nullable\nfunc \(q \*Queries\) pgkitReviewWithUser\(`,
	} {
		if !regexp.MustCompile(want).MatchString(gen) {
			t.Errorf("sqlc's q.sql.go has no match for %s", want)
		}
	}
	if strings.Contains(gen, "pgkit:optional") {
		t.Errorf("the optional annotation reached the Go doc:\n%s", gen)
	}
}
