package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"
)

// queued is one of sqlc's queries as the Batch type queues it: its
// statement, and how its answer reaches the caller's destination.
type queued struct {
	method
	kind   string        // "one", "many", "exec", "execrows", "execresult"
	call   *ast.CallExpr // db.QueryRow / db.Query / db.Exec (ctx, sql, args…)
	dst    ast.Expr      // what dst points to: the result type, []elem; nil for exec
	one    oneShape      // kind "one"
	many   stream        // kind "many"
	params []string      // the parameter names
	dbArg  string        // the DB parameter's name (emit_methods_with_db_argument), or ""
}

// queuedQueries recognises, among sqlc's exported methods, the :one,
// :many, :exec, :execrows and :execresult queries, in the order of
// p.queries. Others (:batch…, :copyfrom) are not queued.
func queuedQueries(p *pkg) []queued {
	many := map[string]stream{}
	for _, s := range p.streams {
		many[s.decl.Name.Name] = s
	}
	var out []queued
	for _, m := range p.queries {
		fd := m.decl
		q := queued{method: m, params: paramNames(fd)}
		if s, ok := many[fd.Name.Name]; ok {
			q.kind, q.call, q.many = "many", s.call, s
			q.dst = &ast.ArrayType{Elt: s.elem}
		} else if one, err := oneQuery(p.fset, fd); err == nil {
			q.kind, q.call, q.one = "one", one.call, one
			q.dst = fd.Type.Results.List[0].Type
		} else if call, kind, ok := execQuery(p.fset, fd); ok {
			q.kind, q.call = kind, call
			if kind != "exec" {
				q.dst = fd.Type.Results.List[0].Type
			}
		} else {
			continue
		}
		if p.dbArg {
			q.dbArg = text(p.fset, q.call.Fun.(*ast.SelectorExpr).X)
		}
		out = append(out, q)
	}
	return out
}

// execQuery recognises sqlc's :exec (_, err := db.Exec(…); return err),
// :execrows (result, err := db.Exec(…); …; return result.RowsAffected(),
// nil) and :execresult (return db.Exec(…)) methods.
func execQuery(fset *token.FileSet, fd *ast.FuncDecl) (*ast.CallExpr, string, bool) {
	if fd.Body == nil || len(fd.Body.List) == 0 || fd.Type.Results == nil {
		return nil, "", false
	}
	var call *ast.CallExpr
	switch st := fd.Body.List[0].(type) {
	case *ast.AssignStmt:
		if len(st.Rhs) == 1 {
			call, _ = st.Rhs[0].(*ast.CallExpr)
		}
	case *ast.ReturnStmt:
		if len(st.Results) == 1 {
			call, _ = st.Results[0].(*ast.CallExpr)
		}
	}
	if call == nil || len(call.Args) < 2 {
		return nil, "", false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Exec" || !dbExpr(fset, sel.X) {
		return nil, "", false
	}
	res := fd.Type.Results.List
	switch {
	case len(res) == 1 && text(fset, res[0].Type) == "error":
		return call, "exec", true
	case len(res) == 2 && text(fset, res[0].Type) == "int64":
		return call, "execrows", true
	case len(res) == 2 && strings.HasSuffix(text(fset, res[0].Type), ".CommandTag"):
		return call, "execresult", true
	}
	return nil, "", false
}

// batchNames are the names of the Batch type's receiver and destination
// parameter in q's method: none of q's parameters, nor of what its call
// names (the SQL constant).
func (q queued) batchNames() (recv, dst string) {
	r := append([]string{}, q.params...)
	ast.Inspect(q.call, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			r = append(r, id.Name)
		}
		return true
	})
	return pickLocal(r, "b", "batch", "pgkitBatch"), pickLocal(r, "dst", "dstValue", "pgkitDst")
}

// batchSig is the parameter list of q's Batch method: dst (unless :exec),
// then sqlc's parameters but the context and the DB.
func batchSig(t func(ast.Node) string, q queued, dst string) string {
	var parts []string
	if q.dst != nil {
		parts = append(parts, dst+" *"+t(q.dst))
	}
	for _, f := range q.decl.Type.Params.List[1:] {
		if q.dbArg != "" && len(f.Names) == 1 && f.Names[0].Name == q.dbArg {
			continue
		}
		parts = append(parts, field(t, f))
	}
	return strings.Join(parts, ", ")
}

// printAs prints n with every identifier from (not a field selector's
// name) written as to, and puts the names back.
func printAs(t func(ast.Node) string, n ast.Node, from, to string) string {
	if from == to {
		return t(n)
	}
	var ids []*ast.Ident
	var visit func(ast.Node) bool
	visit = func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(n.X, visit)
			return false
		case *ast.Ident:
			if n.Name == from {
				ids = append(ids, n)
			}
		}
		return true
	}
	ast.Inspect(n, visit)
	for _, id := range ids {
		id.Name = to
	}
	out := t(n)
	for _, id := range ids {
		id.Name = from
	}
	return out
}

// queueArgs are q's statement and arguments as Queue takes them: its
// call's but the context.
func queueArgs(t func(ast.Node) string, q queued) string {
	var args []string
	for _, a := range q.call.Args[1:] {
		args = append(args, t(a))
	}
	s := strings.Join(args, ", ")
	if q.call.Ellipsis.IsValid() {
		s += "..."
	}
	return s
}

// renderBatch writes the Batch type: every :one, :many, :exec, :execrows
// and :execresult query queued with its destination, and Send, which
// sends them in one round trip (pgx's pipeline mode) and scans each
// answer into its destination through pgx's queued-query callbacks, on
// the caller's goroutine: no goroutine per query, as pgkit.Pipeline
// needs for the methods that return their rows.
func renderBatch(w func(string, ...any), t func(ast.Node) string, p *pkg, qs []queued, typ, send string) {
	w(`// %[1]s queues queries of this package to be sent together by %[2]s: one
// network round trip (PostgreSQL's pipeline mode, through pgx.Batch) on
// one connection, each answer scanned into the destination its method was
// given, on the goroutine that calls %[2]s. The zero value is empty and
// ready; a %[1]s is sent once.
//
// Each method queues the query of the same name, taking a pointer to what
// that query returns (a row, the rows' slice, the rows affected) and its
// parameters without the context. The destinations are written during
// %[2]s, in the order queued; one is left as it was when its query or an
// earlier one failed (a :many query's slice keeps its memory, and may have
// been written past its length).
type %[1]s struct {
	batch pgx.Batch
}

// %[2]s sends b's queries on db (a pool, a connection or a transaction: on
// a transaction, inside it) and scans their answers. Its error is the
// first query's that failed, or the first destination's that could not be
// scanned (a :one query without a row: pgx.ErrNoRows); the server skips the
// queries after one that fails. Outside a transaction the queries run in
// one implicit transaction: one that fails rolls back the writes of the
// others.
func (b *%[1]s) %[2]s(ctx context.Context, db DBTX) error {
	s, ok := db.(interface {
		SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
	})
	if !ok {
		return fmt.Errorf("%[1]s.%[2]s: %%T cannot send a batch (it has no SendBatch method)", db)
	}
	return s.SendBatch(ctx, &b.batch).Close()
}

`, typ, send)
	for _, q := range qs {
		recv, dst := q.batchNames()
		name := q.decl.Name.Name
		w("// %s queues %s; see %s.\nfunc (%s *%s) %s(%s) {\n", name, name, typ, recv, typ, name, batchSig(t, q, dst))
		queue := fmt.Sprintf("%s.batch.Queue(%s)", recv, queueArgs(t, q))
		switch q.kind {
		case "exec":
			w("\t%s\n", queue)
		case "execrows":
			w("\t%s.Exec(func(ct pgconn.CommandTag) error {\n\t\t*%s = ct.RowsAffected()\n\t\treturn nil\n\t})\n", queue, dst)
		case "execresult":
			w("\t%s.Exec(func(ct pgconn.CommandTag) error {\n\t\t*%s = ct\n\t\treturn nil\n\t})\n", queue, dst)
		case "one":
			row := q.one.row.Names[0].Name
			w("\t%s.QueryRow(func(row pgx.Row) error {\n\t\tvar i %s\n\t\tif err := %s; err != nil {\n\t\t\treturn err\n\t\t}\n\t\t*%s = %s\n\t\treturn nil\n\t})\n",
				queue, t(q.one.row.Type), printAs(t, q.one.scan, row, "i"), dst, printAs(t, q.one.ret.Results[0], row, "i"))
		case "many":
			s := q.many
			w("\t%s.Query(func(rows pgx.Rows) error {\n\t\titems := (*%s)[:0]\n\t\tif items == nil {\n\t\t\titems = []%s{}\n\t\t}\n", queue, dst, t(s.elem))
			if hoists(t, s) {
				w("\t\tvar i, blank %s\n\t\tdest := %s\n\t\tfor rows.Next() {\n\t\t\ti = blank\n\t\t\tif err := rows.Scan(dest...); err != nil {\n\t\t\t\treturn err\n\t\t\t}\n\t\t\titems = append(items, i)\n\t\t}\n",
					t(s.row.Type), scanList(t, s, "i"))
			} else {
				w("\t\tfor rows.Next() {\n\t\t\tvar i %s\n\t\t\tif err := %s; err != nil {\n\t\t\t\treturn err\n\t\t\t}\n\t\t\titems = append(items, %s)\n\t\t}\n", t(s.row.Type), t(s.scan), t(s.item))
			}
			w("\t\tif err := rows.Err(); err != nil {\n\t\t\treturn err\n\t\t}\n\t\t*%s = items\n\t\treturn nil\n\t})\n", dst)
		}
		w("}\n\n")
	}
}
