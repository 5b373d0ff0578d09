package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"strconv"
	"strings"
)

// Public methods of hidden queries. pgkitgen expand (stage 1) emits a
// query whose Go side pgkitgen writes under the hidden name pgkit+X, its
// first comment lines saying what to write:
//
//	-- pgkit:public X
//	-- pgkit:opt                          (X returns (Row, bool, error))
//	-- pgkit:embed ARG nullable|notnull   (one per sqlc.embed, in select order)
//	-- pgkit:column NAME nullable|notnull (a result column's nullability)
//	-- pgkit:sort NAME [default]          (one variant of a sort set)
//	-- pgkit:source FILE:LINE             (where the user wrote the query)
//
// sqlc copies them into the doc comment of its (unexported) method pgkitX,
// where this file reads them. publish_plan.go groups the hidden methods by
// public name and plans each public method; publish_null.go plans the
// typing changes and the scan, publish_render.go and publish_opt.go write
// the methods, publish_sort.go the sort sets.

// hidden is one sqlc method carrying pgkit:public.
type hidden struct {
	method
	public  string
	opt     bool
	embeds  []nullMark // pgkit:embed lines, in order
	columns []nullMark // pgkit:column lines
	sort    string     // pgkit:sort NAME, or ""
	deflt   bool       // pgkit:sort NAME default
	nest    []string   // pgkit:nest lines (not implemented here)
	source  string     // pgkit:source FILE:LINE, or ""
	doc     []string   // the user's comment lines
	where   string     // where the query is written, for errors

	kind   string         // "one" or "many"
	call   *ast.CallExpr  // db.QueryRow(ctx, sql, args…) or db.Query(…)
	db     ast.Expr       // q.db or db
	row    *ast.ValueSpec // var i T
	scan   *ast.CallExpr  // row.Scan(…) or rows.Scan(…)
	item   ast.Expr       // what is returned or appended: i or &i
	result ast.Expr       // :one's result type, :many's element type
	items  ast.Stmt       // :many's var items []T or items := []T{}
	sql    string         // the statement sqlc's constant holds
	colVar string         // sqlc's row variable: a single column's name
	batch  *batchShape    // a :batchmany or :batchone's (publish_batch.go), or nil
}

// nullMark is one pgkit:embed or pgkit:column line.
type nullMark struct {
	name     string
	nullable bool
}

// public is one public method: its hidden variants (more than one for a
// sort set, the default first) and what publish decided about them.
type public struct {
	name     string
	variants []*hidden
	rename   map[string]string // sqlc's type names → the public ones (pgkitXRow → XRow)
	types    []string          // the public types' declarations
	plan     scanPlan
	sortType string // XSort, for a sort set
}

// first is the public method's default variant, whose shape all share.
func (pb *public) first() *hidden { return pb.variants[0] }

// readHidden reads sqlc's unexported method m, its doc comment split
// into dirs and user (docLines, not a nest query's: read gives those to
// readNests), and returns it as a hidden query when it carries
// pgkit:public.
func readHidden(p *pkg, m method, dirs []directive, user []string) (*hidden, bool, error) {
	fset, fd := p.fset, m.decl
	if !hasVerb(dirs, "public") {
		return nil, false, nil // not hidden
	}
	h := &hidden{method: m, doc: user}
	var errs []string
	for _, d := range dirs {
		verb, args := d.verb, d.args
		line := strings.TrimSpace("pgkit:" + verb + " " + strings.Join(args, " "))
		if verb == "" {
			errs = append(errs, fmt.Sprintf("empty %q", line))
			continue
		}
		arity := map[string][2]int{"public": {1, 1}, "opt": {0, 0}, "embed": {2, 2}, "column": {2, 2}, "sort": {1, 2}, "source": {1, 1}, "nest": {1, 2}}
		n, known := arity[verb]
		switch {
		case !known:
			errs = append(errs, fmt.Sprintf("unknown verb pgkit:%s", verb))
			continue
		case len(args) < n[0] || len(args) > n[1]:
			errs = append(errs, fmt.Sprintf("%q: want %d to %d arguments", line, n[0], n[1]))
			continue
		}
		switch verb {
		case "public":
			h.public = args[0]
		case "opt":
			h.opt = true
		case "embed", "column":
			if args[1] != "nullable" && args[1] != "notnull" {
				errs = append(errs, fmt.Sprintf("%q: want nullable or notnull, not %s", line, args[1]))
				continue
			}
			mk := nullMark{args[0], args[1] == "nullable"}
			if verb == "embed" {
				h.embeds = append(h.embeds, mk)
			} else {
				h.columns = append(h.columns, mk)
			}
		case "sort":
			h.sort = args[0]
			if len(args) == 2 {
				if args[1] != "default" {
					errs = append(errs, fmt.Sprintf("%q: the second argument can only be default", line))
				}
				h.deflt = true
			}
		case "source":
			h.source = args[0]
		case "nest":
			h.nest = append(h.nest, line)
		}
	}
	h.where = p.whereIs(fd)
	if h.source != "" {
		h.where = h.source
	}
	if len(errs) > 0 {
		return nil, false, fmt.Errorf("%s: query %s: %s", h.where, fd.Name.Name, strings.Join(errs, "; "))
	}
	if !token.IsIdentifier(h.public) || !token.IsExported(h.public) {
		return nil, false, fmt.Errorf("%s: query %s: pgkit:public %s is not an exported Go name", h.where, fd.Name.Name, h.public)
	}
	shape := h.shape
	if batchResults(fd) != "" {
		shape = h.batchShape // publish_batch.go
	}
	if err := shape(fset); err != nil {
		return nil, false, err
	}
	if h.opt && h.kind == "many" {
		return nil, false, h.errorf("pgkit:opt on a :many query (zero-or-one is a :one's)")
	}
	return h, true, nil
}

// errorf returns an error naming h's query and where it is written.
func (h *hidden) errorf(format string, args ...any) error {
	return fmt.Errorf("%s: query %s (public %s): %s", h.where, h.decl.Name.Name, h.public, fmt.Sprintf(format, args...))
}

// shape recognises sqlc's :one or :many method h.
func (h *hidden) shape(fset *token.FileSet) error {
	fd := h.decl
	h.colVar = rowVar(fd)
	if s, isMany, err := manyQuery(fset, h.method); err != nil {
		return h.errorf("%v", err)
	} else if isMany {
		h.kind, h.call, h.db, h.row, h.scan, h.item, h.result = "many", s.call, s.db, s.row, s.scan, s.item, s.elem
		for _, st := range fd.Body.List {
			if text(fset, st) != "" && strings.HasPrefix(strings.TrimPrefix(text(fset, st), "var "), "items") {
				h.items = st
			}
		}
		if h.items == nil {
			return h.errorf("no items declaration in sqlc's :many method")
		}
		return nil
	}
	one, err := oneQuery(fset, fd)
	if err != nil {
		return h.errorf("pgkit:public needs a :one or :many query: %v", err)
	}
	h.kind, h.call, h.db, h.row, h.scan, h.item, h.result = "one", one.call, one.db, one.row, one.scan, one.ret.Results[0], fd.Type.Results.List[0].Type
	renameVar(one.row.Names[0].Name, "i", one.row, one.scan, h.item)
	return nil
}

// findSQL fills in each hidden query's statement from sqlc's constant.
func findSQL(p *pkg, hs []*hidden) error {
	consts, _ := stmtConsts(p)
	for _, h := range hs {
		var sql string
		var err error
		if h.batch != nil {
			sql, err = batchSQL(consts, h)
		} else {
			sql, err = callSQL(consts, h.call)
		}
		if err != nil {
			return h.errorf("%v", err)
		}
		h.sql = sql
	}
	return nil
}

// callSQL returns the statement of the constant sqlc's Query or QueryRow
// call runs (its second argument).
func callSQL(consts map[string]string, call *ast.CallExpr) (string, error) {
	if len(call.Args) < 2 {
		return "", fmt.Errorf("sqlc's method runs no statement")
	}
	id, ok := call.Args[1].(*ast.Ident)
	if !ok {
		return "", fmt.Errorf("sqlc's method does not run a constant")
	}
	sql, ok := consts[id.Name]
	if !ok {
		return "", fmt.Errorf("no constant %s", id.Name)
	}
	return sql, nil
}

// stmtConsts returns the string literals sqlc's files name (the
// statements its methods run), by name, and where each is declared; for
// publish.go, nest.go and warn.go alike.
func stmtConsts(p *pkg) (map[string]string, map[string]token.Pos) {
	consts, at := map[string]string{}, map[string]token.Pos{}
	for _, f := range p.files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range gd.Specs {
				vs, ok := s.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if v, err := strconv.Unquote(lit.Value); err == nil {
								consts[n.Name], at[n.Name] = v, n.Pos()
							}
						}
					}
				}
			}
		}
	}
	return consts, at
}

// publicKind is the command of h as the user wrote it: opt, one or many.
func (h *hidden) publicKind() string {
	if h.opt {
		return "opt"
	}
	return h.kind
}

// publicStatement is sql, sqlc's statement of a hidden query, with the
// first line (sqlc's -- name: pgkitX :cmd) naming the public query X and
// its command kind as the user wrote it (and the order of a sort set's
// variant): pgkit's errors and logs take the query's name from it.
func publicStatement(public, kind, sort, sql string) string {
	head := "-- name: " + public + " :" + kind
	if sort != "" {
		head += " sort=" + sort
	}
	_, rest, _ := strings.Cut(sql, "\n")
	return head + "\n" + rest
}

// renderStatement writes the constant c holding the statement of hidden
// query hidden under its public name public (in order sort of a sort set).
func renderStatement(w func(string, ...any), c, hidden, public, kind, sort, sql string) {
	w("// %s is the statement of %s", c, public)
	if sort != "" {
		w(" in order %s", sort)
	}
	w(":\n// sqlc's %s, named %s for pgkit's errors and logs.\nconst %s = %s\n\n", hidden, public, c, goString(publicStatement(public, kind, sort, sql)))
}

// goString quotes s as a raw string literal when it can.
func goString(s string) string {
	if !strings.Contains(s, "`") && !strings.Contains(s, "\r") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// rowVar returns the name of the first var sqlc's method declares (in its
// body or its row loop): the row, named after the column when it is one.
func rowVar(fd *ast.FuncDecl) string {
	name := ""
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		if gd, ok := n.(*ast.GenDecl); ok && name == "" && gd.Tok == token.VAR && len(gd.Specs) == 1 {
			if vs, ok := gd.Specs[0].(*ast.ValueSpec); ok && len(vs.Names) == 1 && vs.Names[0].Name != "items" {
				name = vs.Names[0].Name
			}
		}
		return name == ""
	})
	return name
}
