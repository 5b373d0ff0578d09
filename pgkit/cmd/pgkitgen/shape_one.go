package main

import (
	"fmt"
	"go/ast"
	"go/token"
)

// oneShape is sqlc's :one method:
//
//	row := q.db.QueryRow(ctx, sql, args…)
//	var i Row
//	err := row.Scan(&i.A, …)
//	return i, err
type oneShape struct {
	call *ast.CallExpr   // q.db.QueryRow(…)
	db   ast.Expr        // q.db or db
	row  *ast.ValueSpec  // var i Row (named after the column for a single column)
	scan *ast.CallExpr   // row.Scan(…)
	ret  *ast.ReturnStmt // return i, err
}

// oneQuery recognises sqlc's :one method fd, for publish.go's and nest.go's
// public methods alike.
func oneQuery(fset *token.FileSet, fd *ast.FuncDecl) (oneShape, error) {
	bad := func(why string) (oneShape, error) {
		return oneShape{}, fmt.Errorf("sqlc's method is neither :many nor :one of the known shape (%s; a newer sqlc?)", why)
	}
	b := fd.Body.List
	if fd.Type.Results == nil || len(fd.Type.Results.List) != 2 {
		return bad("not two results")
	}
	if len(b) != 4 {
		return bad(fmt.Sprintf("%d statements, not 4", len(b)))
	}
	as, ok := b[0].(*ast.AssignStmt)
	if !ok || len(as.Rhs) != 1 {
		return bad("no row := db.QueryRow(…)")
	}
	call, ok := as.Rhs[0].(*ast.CallExpr)
	if !ok {
		return bad("no row := db.QueryRow(…)")
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "QueryRow" || !dbExpr(fset, sel.X) || len(call.Args) < 2 {
		return bad("no row := db.QueryRow(…)")
	}
	ds, ok := b[1].(*ast.DeclStmt)
	if !ok {
		return bad("no var i Row")
	}
	gd, ok := ds.Decl.(*ast.GenDecl)
	if !ok || len(gd.Specs) != 1 {
		return bad("no var i Row")
	}
	vs, ok := gd.Specs[0].(*ast.ValueSpec)
	if !ok || vs.Type == nil || len(vs.Names) != 1 {
		return bad("no var i Row")
	}
	sc, ok := b[2].(*ast.AssignStmt)
	if !ok || len(sc.Rhs) != 1 {
		return bad("no err := row.Scan(…)")
	}
	scan, ok := sc.Rhs[0].(*ast.CallExpr)
	if !ok || text(fset, scan.Fun) != "row.Scan" {
		return bad("no err := row.Scan(…)")
	}
	ret, ok := b[3].(*ast.ReturnStmt)
	if !ok || len(ret.Results) != 2 {
		return bad("no return i, err")
	}
	return oneShape{call: call, db: sel.X, row: vs, scan: scan, ret: ret}, nil
}
