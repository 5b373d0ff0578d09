package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Warnings about sqlc's type inference, the kinds that cost client CPU or
// correctness at run time and that a cast in the SQL fixes:
//
//   - numeric where the SQL means an integer: sqlc reads generate_series
//     as its numeric form whatever its arguments, so a parameter used in
//     it and a column it yields are pgtype.Numeric, which pgx encodes and
//     decodes through math/big;
//   - no type at all (interface{}): a parameter or column sqlc could not
//     infer (NULL, $1 IS NULL, an expression of unknown type), which pgx
//     then encodes or scans by the value's dynamic type.
//
// They are read from sqlc's Go output: the parameters a method passes to
// Query, QueryRow, Exec or a batch's Queue (in $1, $2, … order) and the
// targets of its Scan, with their Go types.

// warning is one warning: where, and what.
type warning struct {
	path string
	line int
	text string
}

var (
	generateSeries = regexp.MustCompile(`(?i)\bgenerate_series\b`)
	// seriesCall finds generate_series(…) (one level of nested
	// parentheses inside) and the alias after it.
	seriesCall  = regexp.MustCompile(`(?i)\bgenerate_series\s*\(((?:[^()]|\([^()]*\))*)\)(?:\s+(?:as\s+)?([a-z_][a-z0-9_]*))?`)
	dollarParam = regexp.MustCompile(`\$([0-9]+)`)
	keywords    = map[string]bool{"where": true, "join": true, "on": true, "order": true, "group": true, "limit": true, "cross": true, "left": true, "inner": true, "union": true, "with": true}
)

// sent is a statement of sqlc's and the Go file that sends it.
type sent struct {
	query
	goFile string
}

// collect returns the statements sqlc's functions in p send, with their
// parameters and scan targets. read calls it before it shapes the
// streams (which rename sqlc's row variables in place).
func collect(p *pkg) []sent {
	w := newWarner(p)
	var all []sent
	batchCols := map[string][]typed{} // query name → the columns its batch results scan
	for i, file := range p.files {
		for _, d := range file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			qs, cols := w.queries(fd)
			for _, q := range qs {
				all = append(all, sent{q, p.paths[i]})
			}
			// sqlc's :batchone and :batchmany scan in methods of
			// XBatchResults, apart from the method that queues X.
			if fd.Recv != nil && len(qs) == 0 && strings.HasSuffix(recvType(fd), "BatchResults") {
				name := strings.TrimSuffix(recvType(fd), "BatchResults")
				batchCols[name] = append(batchCols[name], cols...)
			}
		}
	}
	for i := range all {
		all[i].columns = append(all[i].columns, batchCols[all[i].name]...)
	}
	return all
}

// warn returns pgkitgen's warnings about sqlc's type inference in p, one
// line each ("file:line: warning: Query: …"), ordered by file and line.
func warn(p *pkg, dir string) []string {
	if len(p.sent) == 0 {
		return nil
	}
	sites := p.sites
	var found []warning
	for _, q := range p.sent {
		ws := check(p.fset, q, sites, dir)
		relocate(p, q.name, ws)
		found = append(found, ws...)
	}
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].path != found[j].path {
			return found[i].path < found[j].path
		}
		return found[i].line < found[j].line
	})
	out := make([]string, len(found))
	for i, f := range found {
		out[i] = fmt.Sprintf("%s:%d: warning: %s", f.path, f.line, f.text)
	}
	return out
}

// warner knows the package's constants and struct types.
type warner struct {
	fset    *token.FileSet
	consts  map[string]string // const name → its string value (a query)
	structs map[string]*ast.StructType
	constAt map[string]token.Pos
}

func newWarner(p *pkg) *warner {
	w := &warner{fset: p.fset, structs: map[string]*ast.StructType{}}
	w.consts, w.constAt = stmtConsts(p)
	for _, file := range p.files {
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range gd.Specs {
				if ts, ok := s.(*ast.TypeSpec); ok {
					if st, ok := ts.Type.(*ast.StructType); ok {
						w.structs[ts.Name.Name] = st
					}
				}
			}
		}
	}
	return w
}

// query is one statement a function of sqlc's sends: its SQL, its
// parameters ($1 first) and its scan targets, with their Go types.
type query struct {
	name, sql string
	at        token.Pos // the constant holding sql
	params    []typed
	columns   []typed
}

// typed is a parameter or column: its Go name and type.
type typed struct {
	name string
	typ  ast.Expr
}

// queries returns the statements fd sends, the scan targets matched to
// the only one; with no statement, the scan targets alone.
func (w *warner) queries(fd *ast.FuncDecl) ([]query, []typed) {
	env := map[string]ast.Expr{} // variable → type
	for _, f := range fd.Type.Params.List {
		for _, n := range f.Names {
			env[n.Name] = f.Type
		}
	}
	var qs []query
	var scans []*ast.CallExpr
	vals := map[string][]ast.Expr{} // vals := []interface{}{…} of a batch
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			if n.Type != nil {
				for _, id := range n.Names {
					env[id.Name] = n.Type
				}
			}
		case *ast.RangeStmt:
			if id, ok := n.Value.(*ast.Ident); ok {
				if x, ok := n.X.(*ast.Ident); ok {
					if arr, ok := env[x.Name].(*ast.ArrayType); ok {
						env[id.Name] = arr.Elt
					}
				}
			}
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
				if id, ok := n.Lhs[0].(*ast.Ident); ok {
					if cl, ok := n.Rhs[0].(*ast.CompositeLit); ok {
						vals[id.Name] = cl.Elts
					}
				}
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			switch {
			case sel.Sel.Name == "Scan":
				scans = append(scans, n)
			case (sel.Sel.Name == "Query" || sel.Sel.Name == "QueryRow" || sel.Sel.Name == "Exec") && dbExpr(w.fset, sel.X) && len(n.Args) >= 2:
				if q, ok := w.statement(n.Args[1], n.Args[2:], env); ok {
					qs = append(qs, q)
				}
			case sel.Sel.Name == "Queue" && len(n.Args) >= 1:
				args := n.Args[1:]
				if len(args) == 1 && n.Ellipsis.IsValid() {
					if id, ok := args[0].(*ast.Ident); ok {
						args = vals[id.Name]
					}
				}
				if q, ok := w.statement(n.Args[0], args, env); ok {
					qs = append(qs, q)
				}
			}
		}
		return true
	})
	if len(qs) > 1 {
		return qs, nil // scans are matched only to a function's only statement
	}
	var cols []typed
	for _, s := range scans {
		for _, a := range s.Args {
			u, ok := a.(*ast.UnaryExpr)
			if !ok || u.Op != token.AND {
				continue
			}
			if t := w.typeOf(u.X, env); t != nil {
				cols = append(cols, typed{name: lastName(u.X), typ: t})
			}
		}
	}
	if len(qs) == 1 {
		qs[0].columns = cols
		return qs, nil
	}
	return nil, cols
}

// statement is the query whose SQL is the constant sqlExpr names.
func (w *warner) statement(sqlExpr ast.Expr, args []ast.Expr, env map[string]ast.Expr) (query, bool) {
	id, ok := sqlExpr.(*ast.Ident)
	if !ok {
		return query{}, false
	}
	sql, ok := w.consts[id.Name]
	if !ok {
		return query{}, false
	}
	m := nameLine.FindStringSubmatch(strings.SplitN(sql, "\n", 2)[0])
	if m == nil {
		return query{}, false
	}
	q := query{name: m[1], sql: sql, at: w.constAt[id.Name]}
	for _, a := range args {
		q.params = append(q.params, typed{name: lastName(a), typ: w.typeOf(a, env)})
	}
	return q, true
}

// typeOf resolves the type of a variable or a field of one (i.Field,
// arg.Field, a.Embed.Field), or nil.
func (w *warner) typeOf(x ast.Expr, env map[string]ast.Expr) ast.Expr {
	switch x := x.(type) {
	case *ast.Ident:
		return env[x.Name]
	case *ast.SelectorExpr:
		t := w.typeOf(x.X, env)
		if s, ok := t.(*ast.StarExpr); ok {
			t = s.X
		}
		id, ok := t.(*ast.Ident)
		if !ok {
			return nil
		}
		st := w.structs[id.Name]
		if st == nil {
			return nil
		}
		for _, f := range st.Fields.List {
			for _, n := range f.Names {
				if n.Name == x.Sel.Name {
					return f.Type
				}
			}
		}
	}
	return nil
}

func lastName(x ast.Expr) string {
	switch x := x.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	}
	return ""
}

// isNumeric reports a pgtype.Numeric (however pgtype is imported: sqlc
// imports it under its name).
func isNumeric(t ast.Expr) bool {
	sel, ok := t.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Numeric" && fmt.Sprint(sel.X) == "pgtype"
}

// isUntyped reports interface{} or any, also as the element of a slice.
func isUntyped(t ast.Expr) bool {
	switch t := t.(type) {
	case *ast.InterfaceType:
		return len(t.Methods.List) == 0
	case *ast.Ident:
		return t.Name == "any"
	case *ast.ArrayType:
		return isUntyped(t.Elt)
	}
	return false
}

// check returns q's warnings, located in its query file when sites has
// it, else at its constant in its Go file.
func check(fset *token.FileSet, q sent, sites map[string]querySite, dir string) []warning {
	site, found := sites[q.name]
	at := func(re *regexp.Regexp) (string, int) {
		if !found {
			return display(dir, q.goFile), fset.Position(q.at).Line
		}
		return display(dir, site.file), site.find(re)
	}
	// The parameters used inside generate_series, and its aliases.
	inSeries := map[int]bool{}
	aliases := map[string]bool{"generate_series": true}
	for _, m := range seriesCall.FindAllStringSubmatch(q.sql, -1) {
		for _, d := range dollarParam.FindAllStringSubmatch(m[1], -1) {
			n, _ := strconv.Atoi(d[1])
			inSeries[n] = true
		}
		if a := strings.ToLower(m[2]); a != "" && !keywords[a] {
			aliases[a] = true
		}
	}
	var out []warning
	add := func(re *regexp.Regexp, format string, args ...any) {
		path, line := at(re)
		out = append(out, warning{path: path, line: line, text: q.name + ": " + fmt.Sprintf(format, args...)})
	}
	for i, p := range q.params {
		n := i + 1
		written, re := paramSpelling(n, p.name, site, found)
		switch {
		case p.typ == nil:
		case isNumeric(p.typ) && inSeries[n]:
			add(generateSeries, "parameter %s is numeric, which sqlc read from generate_series: pgx encodes it through math/big; write %s::int (or ::bigint)", paramLabel(n, p.name, written), written)
		case isUntyped(p.typ):
			add(re, "parameter %s has no type sqlc could infer (interface{}): write a cast to its type, e.g. %s::text", paramLabel(n, p.name, written), written)
		}
	}
	for _, c := range q.columns {
		col := snake(c.name)
		switch {
		case isNumeric(c.typ) && generateSeries.MatchString(q.sql) && aliases[col]:
			expr := col
			if col == "generate_series" {
				expr = "generate_series(…)"
			}
			add(generateSeries, "column %s is numeric, which sqlc read from generate_series: pgx decodes it through math/big; write %s::int AS %s (or ::bigint)", col, expr, col)
		case isUntyped(c.typ):
			add(regexp.MustCompile(`(?i)\b`+regexp.QuoteMeta(col)+`\b`), "column %s has no type sqlc could infer (interface{}): write a cast to its type where it is selected, e.g. …::text AS %s", col, col)
		}
	}
	return out
}

// paramSpelling returns how parameter n (Go name goName) is written in
// the query file, @name or $n, and a pattern finding its line.
func paramSpelling(n int, goName string, site querySite, found bool) (string, *regexp.Regexp) {
	dollar := regexp.MustCompile(`\$` + strconv.Itoa(n) + `\b`)
	if !found {
		return "$" + strconv.Itoa(n), dollar
	}
	name := regexp.QuoteMeta(snake(goName))
	named := regexp.MustCompile(`(?i)(@` + name + `\b|sqlc\.n?arg\(\s*'?` + name + `\b)`)
	body := strings.Join(site.lines[1:], "\n")
	if !dollar.MatchString(body) && named.MatchString(body) {
		return "@" + snake(goName), named
	}
	return "$" + strconv.Itoa(n), dollar
}

// paramLabel names a parameter in a warning: "$2 (Column2)" or "@max ($1)".
func paramLabel(n int, goName, written string) string {
	if strings.HasPrefix(written, "@") {
		return fmt.Sprintf("%s ($%d)", written, n)
	}
	return fmt.Sprintf("$%d (%s)", n, goName)
}

// snake turns sqlc's Go name of a column or parameter back into the
// name it was derived from: SeenAt → seen_at, ID → id, Column2 →
// column_2; a name that has no capitals (a local variable sqlc named
// after the column) is returned as it is.
func snake(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		upper := unicode.IsUpper(r)
		digit := unicode.IsDigit(r)
		if i > 0 && (upper && (!unicode.IsUpper(rs[i-1]) || i+1 < len(rs) && unicode.IsLower(rs[i+1])) || digit && !unicode.IsDigit(rs[i-1])) && rs[i-1] != '_' {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
