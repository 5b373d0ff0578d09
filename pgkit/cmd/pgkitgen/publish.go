package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
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
// where this file reads them. publish groups the hidden methods by public
// name, checks them, and plans each public method; publish_null.go plans
// the typing changes and the scan, publish_render.go writes the methods,
// publish_sort.go the sort types.

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

// readHidden parses the doc comment of sqlc's unexported method fd, and
// returns it as a hidden query when it carries pgkit:public.
func readHidden(fset *token.FileSet, m method) (*hidden, bool, error) {
	fd := m.decl
	if fd.Doc == nil || !strings.Contains(fd.Doc.Text(), "pgkit:public") {
		return nil, false, nil
	}
	h := &hidden{method: m}
	var errs []string
	for _, c := range fd.Doc.List {
		line := strings.TrimSpace(strings.TrimPrefix(c.Text, "//"))
		if !strings.HasPrefix(line, "pgkit:") {
			h.doc = append(h.doc, strings.TrimPrefix(strings.TrimPrefix(c.Text, "//"), " "))
			continue
		}
		f := strings.Fields(strings.TrimPrefix(line, "pgkit:"))
		if len(f) == 0 {
			errs = append(errs, fmt.Sprintf("empty %q", line))
			continue
		}
		verb, args := f[0], f[1:]
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
	pos := fset.Position(fd.Pos())
	h.where = fmt.Sprintf("%s:%d", filepath.Base(pos.Filename), pos.Line)
	if h.source != "" {
		h.where = h.source
	}
	if len(errs) > 0 {
		return nil, false, fmt.Errorf("%s: query %s: %s", h.where, fd.Name.Name, strings.Join(errs, "; "))
	}
	if !token.IsIdentifier(h.public) || !token.IsExported(h.public) {
		return nil, false, fmt.Errorf("%s: query %s: pgkit:public %s is not an exported Go name", h.where, fd.Name.Name, h.public)
	}
	if len(h.nest) > 0 {
		return nil, false, fmt.Errorf("%s: query %s: %s: nesting is not implemented by this pgkitgen", h.where, fd.Name.Name, h.nest[0])
	}
	if err := h.shape(fset); err != nil {
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
	// :one: row := db.QueryRow(…); var i T; err := row.Scan(…); return i, err
	bad := h.errorf("pgkit:public needs a :one or :many query; pgkitgen does not know this shape of sqlc output")
	body := fd.Body.List
	if fd.Type.Results == nil || len(fd.Type.Results.List) != 2 || len(body) != 4 {
		return bad
	}
	as, ok := body[0].(*ast.AssignStmt)
	if !ok || len(as.Rhs) != 1 {
		return bad
	}
	call, ok := as.Rhs[0].(*ast.CallExpr)
	if !ok {
		return bad
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "QueryRow" || !dbExpr(fset, sel.X) || len(call.Args) < 2 {
		return bad
	}
	decl, ok := body[1].(*ast.DeclStmt)
	if !ok {
		return bad
	}
	gd, ok := decl.Decl.(*ast.GenDecl)
	if !ok || len(gd.Specs) != 1 {
		return bad
	}
	row, ok := gd.Specs[0].(*ast.ValueSpec)
	if !ok || len(row.Names) != 1 || row.Type == nil {
		return bad
	}
	sc, ok := body[2].(*ast.AssignStmt)
	if !ok || len(sc.Rhs) != 1 {
		return bad
	}
	scan, ok := sc.Rhs[0].(*ast.CallExpr)
	if !ok || text(fset, scan.Fun) != "row.Scan" {
		return bad
	}
	ret, ok := body[3].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 2 {
		return bad
	}
	h.kind, h.call, h.db, h.row, h.scan, h.item, h.result = "one", call, sel.X, row, scan, ret.Results[0], fd.Type.Results.List[0].Type
	renameVar(row.Names[0].Name, "i", row, scan, h.item)
	return nil
}

// findSQL fills in each hidden query's statement from sqlc's constant.
func findSQL(p *pkg, hs []*hidden) error {
	consts := map[string]string{}
	for _, f := range p.files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if v, err := strconv.Unquote(lit.Value); err == nil {
								consts[n.Name] = v
							}
						}
					}
				}
			}
		}
	}
	for _, h := range hs {
		id, ok := h.call.Args[1].(*ast.Ident)
		if !ok {
			return h.errorf("sqlc's method does not run a constant")
		}
		sql, ok := consts[id.Name]
		if !ok {
			return h.errorf("no constant %s", id.Name)
		}
		h.sql = sql
	}
	return nil
}

// publicHeader is the statement of h with the first line naming the public
// query, so that pgkit's errors and logs name X rather than pgkitX.
func publicHeader(h *hidden) string {
	kind := ":" + h.kind
	if h.opt {
		kind = ":opt"
	}
	head := "-- name: " + h.public + " " + kind
	if h.sort != "" {
		head += " sort=" + h.sort
	}
	_, rest, _ := strings.Cut(h.sql, "\n")
	return head + "\n" + rest
}

// goString quotes s as a raw string literal when it can.
func goString(s string) string {
	if !strings.Contains(s, "`") && !strings.Contains(s, "\r") {
		return "`" + s + "`"
	}
	return strconv.Quote(s)
}

// camel is a sort name as a Go name part: highest_rated → HighestRated.
func camel(name string) string {
	var b strings.Builder
	up := true
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// groupPublic groups the hidden queries by public name and checks each
// group: one query, or a sort set of variants with one default.
func groupPublic(hs []*hidden) ([]*public, error) {
	by := map[string][]*hidden{}
	for _, h := range hs {
		by[h.public] = append(by[h.public], h)
	}
	var out []*public
	for name, vs := range by {
		sort.SliceStable(vs, func(i, j int) bool {
			if vs[i].deflt != vs[j].deflt {
				return vs[i].deflt
			}
			return vs[i].sort < vs[j].sort
		})
		pb := &public{name: name, variants: vs}
		if err := checkVariants(pb); err != nil {
			return nil, err
		}
		out = append(out, pb)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

// renamer rewrites whole-word type names in printed Go.
func renamer(m map[string]string) func(string) string {
	if len(m) == 0 {
		return func(s string) string { return s }
	}
	var keys []string
	for k := range m {
		keys = append(keys, regexp.QuoteMeta(k))
	}
	sort.Strings(keys)
	re := regexp.MustCompile(`\b(` + strings.Join(keys, "|") + `)\b`)
	return func(s string) string { return re.ReplaceAllStringFunc(s, func(k string) string { return m[k] }) }
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

// planPublic plans the public method of every hidden query of p: its
// types, scan and names, claiming each name it will declare.
func planPublic(p *pkg, im *imports, claim func(name, why string) error, o Options) ([]*public, error) {
	if len(p.hidden) == 0 {
		return nil, nil
	}
	if err := findSQL(p, p.hidden); err != nil {
		return nil, err
	}
	pubs, err := groupPublic(p.hidden)
	if err != nil {
		return nil, err
	}
	for _, pb := range pubs {
		h := pb.first()
		why := "public query " + pb.name + " (from " + h.decl.Name.Name + ", " + h.where + ")"
		pb.rename = map[string]string{}
		for _, v := range pb.variants {
			for _, suffix := range []string{"Params", "Row"} {
				if _, ok := structOfName(p, v.decl.Name.Name+suffix); ok {
					pb.rename[v.decl.Name.Name+suffix] = pb.name + suffix
				}
			}
		}
		if err := sameVariants(p, pb); err != nil {
			return nil, err
		}
		if err := claim(pb.name, why); err != nil {
			return nil, err
		}
		if h.kind == "many" {
			if err := claim(pb.name+o.StreamSuffix, "the stream of "+why); err != nil {
				return nil, err
			}
		}
		var params []string
		for _, f := range h.decl.Type.Params.List {
			for _, n := range f.Names {
				params = append(params, n.Name)
			}
		}
		if err := im.uses(h.file, h.decl.Type.Params, h.result); err != nil {
			return nil, h.errorf("%v", err)
		}
		if st, ok := structOfName(p, h.decl.Name.Name+"Params"); ok {
			if err := im.uses(h.file, st); err != nil {
				return nil, h.errorf("%v", err)
			}
			pb.types = append(pb.types, structDecl(p, pb.name+"Params", fmt.Sprintf("%sParams are the parameters of %s.", pb.name, pb.name), st, nil))
		}
		if err := planScan(p, pb, params, im); err != nil {
			return nil, err
		}
		if _, ok := pb.rename[text(p.fset, h.row.Type)]; !ok && pb.plan.rowType == pb.name+"Row" {
			pb.rename[pb.name+"Row"] = pb.name + "Row" // a model row retyped: declared, claimed below
		}
		var types []string
		for _, to := range pb.rename {
			types = append(types, to)
		}
		if pb.first().sort != "" {
			pb.sortType = pb.name + "Sort"
			types = append(types, pb.sortType, "Parse"+pb.sortType)
			for _, v := range pb.variants {
				types = append(types, pb.sortType+camel(v.sort))
			}
		}
		sort.Strings(types)
		for _, ty := range slices.Compact(types) {
			if p.taken[ty] {
				return nil, fmt.Errorf("%s would declare %s, which the package already declares: rename the query", why, ty)
			}
		}
		if pb.plan.value && p.taken["pgkitValue"] {
			return nil, fmt.Errorf("%s needs pgkitgen's helper pgkitValue, which the package already declares", why)
		}
	}
	return pubs, nil
}

// structOfName returns the struct type the package declares as name.
func structOfName(p *pkg, name string) (*ast.StructType, bool) {
	st, _, ok := structOf(p, name)
	return st, ok
}

// relocate makes the warnings about hidden query name speak of its public
// query, and point at the user's source (pgkit:source) when stage 1 said
// where it is: its query's first line, as the expanded file's lines past
// the pgkit: header need not match the source's.
func relocate(p *pkg, name string, ws []warning) {
	for _, h := range p.hidden {
		if h.decl.Name.Name != name {
			continue
		}
		for i := range ws {
			ws[i].text = strings.Replace(ws[i].text, name+":", h.public+" ("+name+"):", 1)
			if file, line, ok := strings.Cut(h.source, ":"); ok {
				if n, err := strconv.Atoi(line); err == nil {
					ws[i].path, ws[i].line = file, n
				}
			}
		}
	}
}
