package main

import (
	"go/ast"
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
type appendLocals struct{ dst, dest, blank, kept string }

func pickAppendLocals(s stream) appendLocals {
	return appendLocals{
		dst:   pickLocal(s.params, "dst", "dstRows"),
		dest:  pickLocal(s.params, "dest", "scanDest"),
		blank: pickLocal(s.params, "blank", "blankRow"),
		kept:  pickLocal(s.params, "kept", "keptLen"),
	}
}

// hoists reports whether s's rows can be scanned through one Scan list
// built before the loop: when each row is appended by value (i, not &i),
// a copy of the one row variable is what the slice keeps.
func hoists(t func(ast.Node) string, s stream) bool { return t(s.item) == "i" }

// scanList is the Scan list of s's loop, built once: sqlc's destinations
// (pointers into the row variable i) as a []any.
func scanList(t func(ast.Node) string, s stream) string {
	var args []string
	for _, a := range s.scan.Args {
		args = append(args, t(a))
	}
	return "[]any{" + strings.Join(args, ", ") + "}"
}

// renderAppend writes s's …Append method: sqlc's :many query, its rows
// appended to the caller's slice. sqlc's method makes, for every row, a
// row variable and a []any Scan list that both escape to the heap (Scan is
// an interface method), and grows a fresh slice; here the Scan list points
// into one row variable, reset to its zero value before each row (so every
// destination starts as sqlc's fresh one does) and copied into dst, whose
// memory a caller may reuse from call to call.
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
	%[7]s := len(%[3]s)
`, name, o.AppendSuffix, l.dst, appendSig(t, s, l.dst), t(s.elem), t(s.call), l.kept)
	if hoists(t, s) {
		w(`	var i, %[1]s %[2]s
	%[3]s := %[4]s
	for rows.Next() {
		i = %[1]s
		if err := rows.Scan(%[3]s...); err != nil {
			return %[5]s[:%[6]s], err
		}
		%[5]s = append(%[5]s, i)
	}
`, l.blank, t(s.row.Type), l.dest, scanList(t, s), l.dst, l.kept)
	} else {
		w(`	for rows.Next() {
		var i %[1]s
		if err := %[2]s; err != nil {
			return %[3]s[:%[4]s], err
		}
		%[3]s = append(%[3]s, %[5]s)
	}
`, t(s.row.Type), t(s.scan), l.dst, l.kept, t(s.item))
	}
	w(`	if err := rows.Err(); err != nil {
		return %[1]s[:%[2]s], err
	}
	return %[1]s, nil
}

`, l.dst, l.kept)
}
