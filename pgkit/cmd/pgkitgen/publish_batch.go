package main

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"
)

// Public batches of hidden queries. Stage 1 writes a :batchmany or
// :batchone query with nullable embeds or column overrides as pgkit+X, for
// which sqlc writes
//
//	func (q *Queries) pgkitX(ctx, arg []pgkitXParams) *pgkitXBatchResults
//	func (b *pgkitXBatchResults) Query(f func(int, []pgkitXRow, error))  (QueryRow for :batchone)
//	func (b *pgkitXBatchResults) Close() error
//
// and this file writes the same for X: XBatchResults (and XParams, XRow)
// whose Query or QueryRow scans each row with the plan of publish_null.go,
// and the method X queueing the public statement (named X, for pgkit's
// errors). sqlc's queueing body is kept, its types and constant renamed.

// batchShape is what a hidden batch query adds to its hidden.
type batchShape struct {
	cmd     string        // "batchmany" or "batchone"
	results string        // sqlc's result type, pgkitXBatchResults
	queue   *ast.CallExpr // batch.Queue(pgkitX, vals...)
	read    *ast.FuncDecl // sqlc's Query or QueryRow of the results
	empty   bool          // :batchmany's items := []T{} (emit_empty_slices)
}

// batchLocals are the names the public batch's code declares, which the
// scan's temporaries must not take.
var batchLocals = []string{"b", "f", "t", "i", "items", "rows", "row", "err", "batch", "br", "a", "vals"}

// batchResults returns the name of the type fd returns when it is sqlc's
// batch method (*XBatchResults), or "".
func batchResults(fd *ast.FuncDecl) string {
	if fd.Type.Results == nil || len(fd.Type.Results.List) != 1 {
		return ""
	}
	star, ok := fd.Type.Results.List[0].Type.(*ast.StarExpr)
	if !ok {
		return ""
	}
	id, ok := star.X.(*ast.Ident)
	if !ok || id.Name != fd.Name.Name+"BatchResults" {
		return ""
	}
	return id.Name
}

// batchShape recognises sqlc's :batchmany or :batchone method h and the
// Query or QueryRow of its results.
func (h *hidden) batchShape(fset *token.FileSet) error {
	fd := h.decl
	bad := func(why string) error {
		return h.errorf("sqlc's batch method is not of the known shape (%s; a newer sqlc?)", why)
	}
	switch {
	case h.opt:
		return h.errorf("pgkit:opt on a batch query (zero-or-one is a :one's)")
	case h.sort != "":
		return h.errorf("pgkit:sort on a batch query (not supported on batches)")
	}
	b := &batchShape{results: batchResults(fd)}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		switch sel, _ := call.Fun.(*ast.SelectorExpr); {
		case sel == nil:
		case sel.Sel.Name == "Queue" && len(call.Args) == 2:
			b.queue = call
		case sel.Sel.Name == "SendBatch" && dbExpr(fset, sel.X) && len(call.Args) == 2:
			h.call, h.db = call, sel.X
		}
		return true
	})
	if b.queue == nil || h.call == nil {
		return bad("no batch.Queue(…) and db.SendBatch(ctx, batch)")
	}
	for _, d := range h.file.Decls {
		m, ok := d.(*ast.FuncDecl)
		if ok && m.Recv != nil && recvType(m) == b.results && (m.Name.Name == "Query" || m.Name.Name == "QueryRow") {
			b.read = m
		}
	}
	if b.read == nil {
		return bad("no Query or QueryRow method of " + b.results + " (a :batchexec cannot have nullable columns)")
	}
	b.cmd = map[string]string{"Query": "batchmany", "QueryRow": "batchone"}[b.read.Name.Name]
	params := b.read.Type.Params.List
	if len(params) != 1 {
		return bad(b.read.Name.Name + " does not take one callback")
	}
	cb, ok := params[0].Type.(*ast.FuncType)
	if !ok || len(cb.Params.List) != 3 {
		return bad(b.read.Name.Name + "'s callback is not func(int, T, error)")
	}
	h.result = cb.Params.List[1].Type
	if b.cmd == "batchmany" {
		arr, ok := h.result.(*ast.ArrayType)
		if !ok {
			return bad("Query's callback does not take a slice")
		}
		h.result = arr.Elt
	}
	ast.Inspect(b.read.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if id, ok := n.Lhs[0].(*ast.Ident); ok && id.Name == "items" && n.Tok == token.DEFINE {
				b.empty = true
			}
		case *ast.ValueSpec:
			if len(n.Names) == 1 && n.Names[0].Name != "items" && h.row == nil {
				h.row = n
			}
		case *ast.CallExpr:
			switch fn := text(fset, n.Fun); {
			case fn == "rows.Scan" || fn == "row.Scan":
				h.scan = n
			case fn == "append" && len(n.Args) == 2 && b.cmd == "batchmany":
				h.item = n.Args[1]
			case fn == "f" && len(n.Args) == 3 && b.cmd == "batchone" && text(fset, n.Args[2]) == "err":
				h.item = n.Args[1]
			}
		}
		return true
	})
	if h.row == nil || h.row.Type == nil || h.scan == nil || h.item == nil {
		return bad(b.read.Name.Name + " has no var i T, Scan(…) and result")
	}
	h.colVar = h.row.Names[0].Name
	renameVar(h.colVar, "i", h.row, h.scan, h.item)
	h.kind, h.batch = b.cmd, b
	return nil
}

// batchSQL returns the statement batch query h queues.
func batchSQL(consts map[string]string, h *hidden) (string, error) {
	id, ok := h.batch.queue.Args[0].(*ast.Ident)
	if !ok {
		return "", fmt.Errorf("sqlc's batch does not queue a constant")
	}
	sql, ok := consts[id.Name]
	if !ok {
		return "", fmt.Errorf("no constant %s", id.Name)
	}
	return sql, nil
}

// renderPublicBatch writes the results type and the method of the public
// batch pb.
func renderPublicBatch(w func(string, ...any), p *pkg, pb *public, n names) {
	h, pl := pb.first(), pb.plan
	s := newSite(p, pb, n)
	rn := renamer(pb.rename)
	results := pb.name + "BatchResults"
	constant := renamer(map[string]string{h.batch.queue.Args[0].(*ast.Ident).Name: s.query})
	read, what := "QueryRow", "row"
	if h.kind == "batchmany" {
		read, what = "Query", "rows"
	}
	w("%sfunc (q *Queries) %s(%s) %s %s\n\n", s.doc(fmt.Sprintf("%s queues query %s once for each element of its last\n// argument and sends them as one batch, whose results %s.%s reads.", pb.name, pb.name, results, read)),
		pb.name, s.params, s.results(), constant(rn(text(p.fset, h.decl.Body))))
	w(`// %[1]s are the results of a batch of %[2]s.
// %[3]s passes each query's %[4]s to a callback, in the order queued;
// Close discards those not read.
type %[1]s struct {
	br     pgx.BatchResults
	tot    int
	closed bool
}

// Close ends the batch: the results not read are discarded, and %[3]s
// passes ErrBatchAlreadyClosed for each of them.
func (b *%[1]s) Close() error {
	b.closed = true
	return b.br.Close()
}

`, results, pb.name, read, what)
	doc := fmt.Sprintf("// %s calls f with the index and the %s of each query of the\n// batch, in order, scanned as %s scans them", read, what, pb.name)
	if len(pl.post) > 0 {
		doc += ":\n// a nullable embed is nil when all its columns are NULL"
	}
	doc += ".\n"
	if h.kind == "batchmany" {
		items := "var items []" + pl.result
		if h.batch.empty {
			items = "items := []" + pl.result + "{}"
		}
		w(`%[1]sfunc (b *%[2]s) Query(f func(int, []%[3]s, error)) {
	defer b.br.Close()
	for t := 0; t < b.tot; t++ {
		%[4]s
		if b.closed {
			if f != nil {
				f(t, items, ErrBatchAlreadyClosed)
			}
			continue
		}
		err := func() error {
			rows, err := b.br.Query()
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
%[5]s
				items = append(items, %[6]s)
			}
			return rows.Err()
		}()
		if f != nil {
			f(t, items, err)
		}
	}
}

`, doc, results, pl.result, items, s.scanBlock("rows", "\t\t\t\t", "return err"), s.item)
		return
	}
	closed := "i"
	if s.item == "&i" {
		closed = "nil"
	}
	lines := append([]string{"row := b.br.QueryRow()"}, pl.temps...)
	lines = append(lines, "err := row.Scan("+list(pl.targets)+")")
	if len(pl.post) > 0 {
		lines = append(lines, "if err == nil {\n"+strings.Join(pl.post, "\n")+"\n}")
	}
	w(`%[1]sfunc (b *%[2]s) QueryRow(f func(int, %[3]s, error)) {
	defer b.br.Close()
	for t := 0; t < b.tot; t++ {
		var i %[4]s
		if b.closed {
			if f != nil {
				f(t, %[5]s, ErrBatchAlreadyClosed)
			}
			continue
		}
		%[6]s
		if f != nil {
			f(t, %[7]s, err)
		}
	}
}

`, doc, results, pl.result, pl.rowType, closed, strings.Join(lines, "\n"), s.item)
}
