package pgkit_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// module is the import path of the module pgkit lives in today.
const module = "github.com/shopdb/shopdb"

// TestArrowsRunOneWay: the toolkit, its tests included, imports nothing of
// the module outside pgkit/ (so that pgkit/ can be lifted into another
// project as it is), and the generated db package nothing of this module:
// examples and cmd → shop → pgkit + db → pgx.
func TestArrowsRunOneWay(t *testing.T) {
	t.Parallel()
	// pgkit, with the packages its tests need.
	out, err := exec.Command("go", "list", "-test", "-deps", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -test -deps ./...: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// A test variant is listed as "path [path.test]", a test binary
		// as "path.test", an external test package as "path_test".
		dep, _, _ := strings.Cut(line, " ")
		dep = strings.TrimSuffix(strings.TrimSuffix(dep, ".test"), "_test")
		if dep != module && !strings.HasPrefix(dep, module+"/") {
			continue
		}
		if dep != module+"/pgkit" && !strings.HasPrefix(dep, module+"/pgkit/") {
			t.Errorf("pgkit (tests included) depends on %s, outside pgkit/", line)
		}
	}
	for pkgs, forbidden := range map[string][]string{
		"../db":   {"/pgkit", "/shop", "/schema", "/migrate", "/internal"},
		"../shop": {"/examples", "/cmd/migrate", "/migrate"},
	} {
		out, err := exec.Command("go", "list", "-deps", pkgs).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkgs, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == module+f || strings.HasPrefix(dep, module+f+"/") {
					t.Errorf("%s depends on %s", pkgs, dep)
				}
			}
		}
	}
}

// TestLayout: pgkit's files keep pgxpool's layout: every exported method
// of a type is in the file that declares the type (DB's in db.go, Tx's in
// tx.go, …), no file has more than 500 lines, and no code outside the
// executor (executor.go, mapped.go) asks which of pgkit's own row types it
// holds.
func TestLayout(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]string{} // type → file
	type method struct{ recv, name, file string }
	var methods []method
	for _, f := range pkgs["pgkit"].Files {
		file := filepath.Base(fset.Position(f.Pos()).Filename)
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.GenDecl:
				for _, s := range d.Specs {
					if ts, ok := s.(*ast.TypeSpec); ok {
						declared[ts.Name.Name] = file
					}
				}
			case *ast.FuncDecl:
				if d.Recv == nil || !d.Name.IsExported() {
					continue
				}
				recv := d.Recv.List[0].Type
				if st, ok := recv.(*ast.StarExpr); ok {
					recv = st.X
				}
				if id, ok := recv.(*ast.Ident); ok {
					methods = append(methods, method{id.Name, d.Name.Name, file})
				}
			}
		}
		if file == "executor.go" || file == "mapped.go" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var typ ast.Expr
			switch n := n.(type) {
			case *ast.TypeAssertExpr:
				typ = n.Type
			case *ast.CaseClause:
				for _, e := range n.List {
					if isOwnRows(e) {
						t.Errorf("%s: a type switch on pgkit's row type %s outside the executor", fset.Position(n.Pos()), types.ExprString(e))
					}
				}
			}
			if typ != nil && isOwnRows(typ) {
				t.Errorf("%s: a type assertion to pgkit's row type %s outside the executor", fset.Position(n.Pos()), types.ExprString(typ))
			}
			return true
		})
	}
	for _, m := range methods {
		if want := declared[m.recv]; want != "" && m.file != want {
			t.Errorf("%s.%s is in %s, not with its type in %s", m.recv, m.name, m.file, want)
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), "\n"); n > 500 {
			t.Errorf("%s has %d lines, more than 500", name, n)
		}
	}
}

// isOwnRows reports an expression naming one of pgkit's rows types.
func isOwnRows(e ast.Expr) bool {
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X
	}
	id, ok := e.(*ast.Ident)
	return ok && (strings.HasSuffix(id.Name, "Rows") || strings.HasSuffix(id.Name, "Row")) && id.Name[0] >= 'a' && id.Name[0] <= 'z'
}
