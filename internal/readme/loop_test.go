package readme_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const loopSection = "## The loop: SQL → generate → use"

// TestLoopFromREADME follows the README's first steps in a copy of the
// SQL: the migration it tells a newcomer to add has the next free number,
// its example query does not exist yet (adding an existing name fails
// go generate with "duplicate query name"), and with both added sqlc
// generates the method step 3 calls.
func TestLoopFromREADME(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)
	start := strings.Index(section, "\n"+loopSection+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", loopSection)
	}
	section = section[start+len(loopSection)+2:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}

	// The migration number is the next one.
	m := regexp.MustCompile("`(\\d{5})_something\\.sql`").FindStringSubmatch(section)
	if m == nil {
		t.Fatal("step 1 names no NNNNN_something.sql migration")
	}
	files, err := filepath.Glob(filepath.Join(root, "schema", "[0-9][0-9][0-9][0-9][0-9]_*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations in schema/: %v", err)
	}
	last := 0
	for _, f := range files {
		n, _ := strconv.Atoi(filepath.Base(f)[:5])
		last = max(last, n)
	}
	if want := last + 1; m[1] != strconv.Itoa(100000 + want)[1:] {
		t.Errorf("step 1 says %s_something.sql; the next migration is %05d", m[1], want)
	}

	// The example query is new.
	block := regexp.MustCompile("(?s)```sql\n(.*?)```").FindStringSubmatch(section)
	if block == nil {
		t.Fatal("step 1 has no sql block")
	}
	query := dedent(block[1])
	nm := regexp.MustCompile(`-- name: (\w+) :\w+`).FindStringSubmatch(query)
	if nm == nil {
		t.Fatalf("step 1's query has no -- name: line:\n%s", query)
	}
	name := nm[1]
	sqlFiles, _ := filepath.Glob(filepath.Join(root, "queries", "*.sql"))
	for _, f := range sqlFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "-- name: "+name+" ") {
			t.Errorf("step 1's query %s already exists in %s: following the README fails go generate", name, filepath.Base(f))
		}
	}
	if !strings.Contains(section, "q."+name+"(") {
		t.Errorf("step 3 does not call the query of step 1, q.%s", name)
	}

	// Both steps in a copy: sqlc generates the method.
	dir := t.TempDir()
	for _, sub := range []string{"schema", "queries"} {
		if err := os.CopyFS(filepath.Join(dir, sub), os.DirFS(filepath.Join(root, sub))); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(root, "sqlc.yaml"), filepath.Join(dir, "sqlc.yaml"))
	migration := "-- +goose Up\nALTER TABLE products ADD COLUMN something text;\n\n-- +goose Down\nALTER TABLE products DROP COLUMN something;\n"
	if err := os.WriteFile(filepath.Join(dir, "schema", m[1]+"_something.sql"), []byte(migration), 0o644); err != nil {
		t.Fatal(err)
	}
	entity := filepath.Join(dir, "queries", entityFile(t, name, sqlFiles))
	f, err := os.OpenFile(entity, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n" + query); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	// pgkitgen expand writes the SQL sqlc reads (db/sql), then the sqlc
	// of tools/go.mod (go tool -n builds it and prints its path) compiles it.
	run(t, root, nil, "go", "run", "./pgkit/cmd/pgkitgen", "expand", "-from", filepath.Join(dir, "queries"), "-to", filepath.Join(dir, "db", "sql"))
	sqlc := strings.TrimSpace(run(t, root, nil, "go", "tool", "-modfile=tools/go.mod", "-n", "sqlc"))
	run(t, dir, nil, sqlc, "generate")
	generated, err := os.ReadFile(filepath.Join(dir, "db", strings.TrimSuffix(filepath.Base(entity), ".sql")+".sql.go"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(generated), "func (q *Queries) "+name+"(") {
		t.Errorf("sqlc generated no %s method", name)
	}
}

// dedent removes the indentation of a code block inside a list item.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "   ")
	}
	return strings.Join(lines, "\n")
}

// entityFile is the queries/ file of the entity a query name starts with
// (ProductGetByName: products.sql), one of files.
func entityFile(t *testing.T, name string, files []string) string {
	t.Helper()
	entity := regexp.MustCompile(`^[A-Z][a-z]+`).FindString(name)
	want := strings.ToLower(entity) + "s.sql"
	if !slices.ContainsFunc(files, func(f string) bool { return filepath.Base(f) == want }) {
		t.Fatalf("no queries/%s for the query %s", want, name)
	}
	return want
}

// copyFile copies the file src to dst.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
