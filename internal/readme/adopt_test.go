// Package readme_test follows README.md's "Adopt pgkit in your sqlc
// project" section as a new user would, in a Go module of its own.
package readme_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

const section = "## Adopt pgkit in your sqlc project"

// fileBlocks returns the fenced code blocks of the README's adoption
// section whose first line names a file ("# sqlc.yaml", "-- schema.sql",
// "// main.go"), by file.
func fileBlocks(t *testing.T, readme string) map[string]string {
	start := strings.Index(readme, "\n"+section+"\n")
	if start < 0 {
		t.Fatalf("README.md has no %q section", section)
	}
	rest := readme[start+len(section)+2:]
	if end := strings.Index(rest, "\n## "); end >= 0 {
		rest = rest[:end]
	}
	fence := regexp.MustCompile("(?s)```(\\w+)\n(.*?)```")
	named := regexp.MustCompile(`^(?:#|--|//) ([\w./]+\.(?:yaml|sql|go))$`)
	files := map[string]string{}
	for _, m := range fence.FindAllStringSubmatch(rest, -1) {
		first, _, _ := strings.Cut(m[2], "\n")
		if f := named.FindStringSubmatch(first); f != nil {
			files[f[1]] = m[2]
		}
	}
	for _, want := range []string{"sqlc.yaml", "schema.sql", "query.sql", "yourdb/generate.go", "main.go"} {
		if _, ok := files[want]; !ok {
			t.Fatalf("the adoption section has no block for %s (found %d files)", want, len(files))
		}
	}
	return files
}

// moduleFile is the go.mod of the user's module: the README's go get, as
// a replace of this checkout (nothing is published from a test), with the
// versions this module is tested with.
func moduleFile(t *testing.T, root string) string {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var reqs []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "require (":
			in = true
		case line == ")":
			in = false
		case in && line != "":
			reqs = append(reqs, "\t"+line)
		}
	}
	return "module example.com/yourapp\n\ngo 1.26.0\n\nrequire (\n\tgithub.com/shopdb/shopdb v0.0.0-00010101000000-000000000000\n" +
		strings.Join(reqs, "\n") + "\n)\n\nreplace github.com/shopdb/shopdb => " + root + "\n"
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestAdoptionFromREADME writes the section's files into a new module,
// runs go generate (sqlc, then pgkitgen) and go vet there, and runs the
// program against a database migrated with the section's schema.
func TestAdoptionFromREADME(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := fileBlocks(t, string(readme))
	mod := t.TempDir()
	for name, body := range files {
		path := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(moduleFile(t, root)), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	// The README's `sqlc` is whatever the user installed: here the one
	// this module pins, built onto PATH.
	bin := t.TempDir()
	run(t, root, nil, "go", "build", "-modfile=tools/go.mod", "-o", filepath.Join(bin, "sqlc"), "github.com/sqlc-dev/sqlc/cmd/sqlc")
	env := []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"), "GOFLAGS=-mod=mod", "GOWORK=off"}

	run(t, mod, env, "go", "generate", "./...")
	for _, f := range []string{"yourdb/db.go", "yourdb/query.sql.go", "yourdb/pgkitgen.go"} {
		if _, err := os.Stat(filepath.Join(mod, f)); err != nil {
			t.Errorf("go generate wrote no %s", f)
		}
	}
	run(t, mod, env, "go", "vet", "./...")

	url := pgkittest.URL(t, fstest.MapFS{"00001_schema.sql": {Data: []byte("-- +goose Up\n" + files["schema.sql"])}})
	out := run(t, mod, append(env, "DATABASE_URL="+url), "go", "run", ".")
	want := "refused: AuthorCreate: unique violation on constraint \"authors_name_key\" of table \"authors\"\nAda 1\n1 Ada\n"
	if out != want {
		t.Errorf("the program printed\n%s\nwant\n%s", out, want)
	}
}
