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
	querier := reflect.TypeFor[db.Querier]()
	var missing []string
	for i := range querier.NumMethod() {
		name := querier.Method(i).Name
		// A hidden query of pgkitgen expand's output (pgkitX) is tested
		// through its public method X.
		// merge: may duplicate the stage-2 opt/sort work.
		if public, ok := strings.CutPrefix(name, "pgkit"); ok && called[public] {
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
