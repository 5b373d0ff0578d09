package main

import (
	"go/ast"
	"slices"
	"strings"
)

// appendSig is the parameter list of s's …Append method: sqlc's, with
// dst []Elem after the context.
func appendSig(t func(ast.Node) string, s stream, dst string) string {
	list := s.decl.Type.Params.List
	parts := []string{field(t, list[0]), dst + " []" + t(s.elem)}
	for _, f := range list[1:] {
		parts = append(parts, field(t, f))
	}
	return strings.Join(parts, ", ")
}

// appendLocals are the local names of an …Append method (and of a
// stream's hoisted Scan list) that none of its parameters has.
// row is the row variable: sqlc's i, unless a parameter is named i (sqlc
// declares its i inside the loop, shadowing the parameter; a hoisted row
// variable shares the parameters' block, where it cannot).
type appendLocals struct{ row, dst, dest, blank, kept string }

func pickAppendLocals(s stream) appendLocals {
	r := s.reserved()
	return appendLocals{
		row:   pickLocal(r, "i", "row", "rowValue"),
		dst:   pickLocal(r, "dst", "dstRows"),
		dest:  pickLocal(r, "dest", "scanDest"),
		blank: pickLocal(r, "blank", "blankRow"),
		kept:  pickLocal(r, "kept", "keptRows"),
	}
}

// reserved are the names a local of s's …Append or stream must not take:
// its parameters, and every name its query call uses (sqlc's constant of
// the SQL is named after the query: a query Dst passes dst, which a
// parameter dst would shadow).
func (s stream) reserved() []string {
	names := slices.Clone(s.params)
	ast.Inspect(s.call, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			ast.Inspect(n.X, func(m ast.Node) bool {
				if id, ok := m.(*ast.Ident); ok {
					names = append(names, id.Name)
				}
				return true
			})
			return false
		case *ast.Ident:
			names = append(names, n.Name)
		}
		return true
	})
	return names
}

// hoists reports whether s's rows can be scanned through one Scan list
// built before the loop: when each row is appended by value (i, not &i),
// a copy of the one row variable is what the slice keeps.
func hoists(t func(ast.Node) string, s stream) bool { return t(s.item) == "i" }

// scanList is the Scan list of s's loop, built once: sqlc's destinations
// (pointers into the row variable i) as a []interface{}, i written as row.
// Not []any: sqlc does not escape a parameter named any, which would
// shadow the predeclared type in the method (a keyword cannot be).
func scanList(t func(ast.Node) string, s stream, row string) string {
	var args []string
	for _, a := range s.scan.Args {
		args = append(args, renameRow(t, a, row))
	}
	return "[]interface{}{" + strings.Join(args, ", ") + "}"
}

// renameRow prints n with sqlc's row variable i written as row: every
// identifier i that is not a field selector's name. The nodes are sqlc's
// parsed file, so the names are put back once printed.
func renameRow(t func(ast.Node) string, n ast.Node, row string) string {
	if row == "i" {
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
			if n.Name == "i" {
				ids = append(ids, n)
			}
		}
		return true
	}
	ast.Inspect(n, visit)
	for _, id := range ids {
		id.Name = row
	}
	out := t(n)
	for _, id := range ids {
		id.Name = "i"
	}
	return out
}

// renderAppend writes s's …Append method: sqlc's :many query, its rows
// appended to the caller's slice. sqlc's method makes, for every row, a
// row variable and a []any Scan list that both escape to the heap (Scan is
// an interface method), and grows a fresh slice; here the Scan list points
// into one row variable, reset to its zero value before each row (so every
// destination starts as sqlc's fresh one does) and copied into dst, whose
// memory a caller may reuse from call to call. dst as it came (kept) is
// what an error returns: no len(dst), which a parameter named len (sqlc
// does not escape it) would make a call of an int.
func renderAppend(w func(string, ...any), t func(ast.Node) string, s stream, o Options) {
	l := pickAppendLocals(s)
	name := s.decl.Name.Name
	w(`// %[1]s%[2]s appends %[1]s's rows to %[3]s and returns the extended slice:
// the same statement, each row scanned exactly as %[1]s scans it. Passing
// the slice an earlier call returned, as %[3]s[:0], reuses its memory; and
// the row and its Scan list are made once per call, not once per row. On
// an error it returns %[3]s at its length before the call (its spare
// capacity may have been written).
func (q *Queries) %[1]s%[2]s(%[4]s) ([]%[5]s, error) {
	rows, err := %[6]s
	if err != nil {
		return %[3]s, err
	}
	defer rows.Close()
	%[7]s := %[3]s
`, name, o.AppendSuffix, l.dst, appendSig(t, s, l.dst), t(s.elem), t(s.call), l.kept)
	if hoists(t, s) {
		w(`	var %[7]s, %[1]s %[2]s
	%[3]s := %[4]s
	for rows.Next() {
		%[7]s = %[1]s
		if err := rows.Scan(%[3]s...); err != nil {
			return %[6]s, err
		}
		%[5]s = append(%[5]s, %[7]s)
	}
`, l.blank, t(s.row.Type), l.dest, scanList(t, s, l.row), l.dst, l.kept, l.row)
	} else {
		w(`	for rows.Next() {
		var i %[1]s
		if err := %[2]s; err != nil {
			return %[4]s, err
		}
		%[3]s = append(%[3]s, %[5]s)
	}
`, t(s.row.Type), t(s.scan), l.dst, l.kept, t(s.item))
	}
	w(`	if err := rows.Err(); err != nil {
		return %[2]s, err
	}
	return %[1]s, nil
}

`, l.dst, l.kept)
}
