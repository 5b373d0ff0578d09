package main

import (
	"go/ast"
	"sort"
	"strconv"
	"strings"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// decoder is what pgkitgen emits for one query's binary decoder (issue
// 18): the pointers of sqlc's own Scan list into a row variable of sqlc's
// own type, so that the compiler resolves every destination's type
// whatever the options (overrides, renames, emit_pointers_for_null_types,
// enums); pgkit makes the decoder from them (pgkit.Decoders).
type decoder struct {
	name string         // the query's name on its "-- name:" line
	file *ast.File      // the file declaring sqlc's method (its imports)
	row  *ast.ValueSpec // var i Row
	scan *ast.CallExpr  // rows.Scan(&i.A, …)
}

// decoders lists the queries that get a decoder: sqlc's exported :many
// and :one methods whose statement is a constant starting with its
// "-- name:" line, the first method of each name. Others (pgkitgen's
// public methods of hidden queries among them) get none: pgx scans them.
func decoders(p *pkg) []decoder {
	consts, _ := stmtConsts(p)
	seen := map[string]bool{}
	var out []decoder
	add := func(call *ast.CallExpr, m method, row *ast.ValueSpec, scan *ast.CallExpr) {
		sql, err := callSQL(consts, call)
		name := pgerr.QueryName(sql)
		if err != nil || name == "" || seen[name] || len(row.Names) != 1 || len(scan.Args) == 0 {
			return
		}
		seen[name] = true
		out = append(out, decoder{name: name, file: m.file, row: row, scan: scan})
	}
	for _, s := range p.streams {
		add(s.call, s.method, s.row, s.scan)
	}
	for _, m := range p.queries {
		if one, err := oneQuery(p.fset, m.decl); err == nil {
			add(one.call, m, one.row, one.scan)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// renderDecoders writes the package's Decoders function (PgkitDecoders
// when the package declares Decoders).
func renderDecoders(p *pkg, im *imports, w func(string, ...any), t func(ast.Node) string) error {
	ds := decoders(p)
	name, err := pickType(p.taken, "", "Decoders", "PgkitDecoders", "")
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		// Still there, so that a program's Config{Decoders: pkg.Decoders()}
		// compiles whatever queries the package has today.
		w("// %s returns nothing to decode: the package has no exported :one\n", name)
		w("// or :many method (see pgkit.Config.Decoders).\n")
		w("func %s() map[string][]interface{} { return nil }\n\n", name)
		return nil
	}
	w("// %s returns, by query name, the destinations each :one and :many\n", name)
	w("// method of the package scans a row into (pointers into a zero row: only\n")
	w("// their types count), for pgkit.Config.Decoders, which decodes those\n")
	w("// queries' rows straight into them, without pgx's scan plans.\n")
	w("func %s() map[string][]interface{} {\n\treturn map[string][]interface{}{\n", name)
	for _, d := range ds {
		if err := im.uses(d.file, d.row.Type); err != nil {
			return err
		}
		args := make([]string, len(d.scan.Args))
		for i, a := range d.scan.Args {
			args[i] = t(a)
		}
		w("\t\t%s: func() []interface{} { var %s %s; return []interface{}{%s} }(),\n",
			strconv.Quote(d.name), d.row.Names[0].Name, t(d.row.Type), strings.Join(args, ", "))
	}
	w("\t}\n}\n\n")
	return nil
}
