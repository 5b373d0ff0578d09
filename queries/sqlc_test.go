package queries_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// TestSQLCVet prepares every query in queries/ against a freshly migrated
// database (sqlc vet, rule sqlc/db-prepare): a query that names a missing
// column or mistypes a parameter fails here, before any code runs it.
func TestSQLCVet(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("go", "tool", "-modfile=tools/go.mod", "sqlc", "vet")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "SHOPDB_VET_DATABASE_URL="+pgkittest.URL(t, schema.FS()))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sqlc vet: %v\n%s", err, out)
	}
}

// TestEveryQueryIsTested fails when a Querier method is never called from
// a test of the module (here, shop/, pgkit/, examples/), so every query
// added to queries/ comes with a test.
func TestEveryQueryIsTested(t *testing.T) {
	var files []string
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bench" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	called := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
					called[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	publicOf := hiddenQueries(t)
	querier := reflect.TypeFor[db.Querier]()
	var missing []string
	for i := range querier.NumMethod() {
		name := querier.Method(i).Name
		// A hidden query of pgkitgen expand's output (pgkitX, or
		// pgkitXSortY for each order of a sort) is tested through its
		// public method X.
		if public, ok := publicOf[name]; ok && called[public] {
			continue
		}
		if !called[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("Querier methods no test calls: %s", strings.Join(missing, ", "))
	}
}

// hiddenQueries maps each hidden query of pgkitgen expand's output in
// ../db/sql to its public name (its -- pgkit:public line).
func hiddenQueries(t *testing.T) map[string]string {
	files, err := filepath.Glob(filepath.Join("..", "db", "sql", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no expanded SQL in ../db/sql (%v)", err)
	}
	line := regexp.MustCompile(`(?m)^-- name: (pgkit\w+) :\w+\s*\n-- pgkit:public (\w+)$`)
	out := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range line.FindAllSubmatch(b, -1) {
			out[string(m[1])] = string(m[2])
		}
	}
	return out
}
