package main

import (
	"fmt"
	"go/ast"
	"strings"
)

// nestSignature is the public method's parameter list and results.
func (q nestQuery) signature(t func(ast.Node) string) (params, results string) {
	params = publicParams(t, q)
	switch {
	case q.d.opt:
		return params, fmt.Sprintf("(%s, bool, error)", q.result())
	case q.d.one || !q.many:
		return params, fmt.Sprintf("(%s, error)", q.result())
	}
	return params, fmt.Sprintf("([]%s, error)", q.result())
}

// result is the type the public method returns a row as: XRow, or *XRow
// under emit_result_struct_pointers (as sqlc's own methods do).
func (q nestQuery) result() string {
	if q.ptr {
		return "*" + q.pubRow
	}
	return q.pubRow
}

// zero is the result's zero value; ref turns a row variable into a
// result.
func (q nestQuery) zero() string {
	if q.ptr {
		return "nil"
	}
	return q.pubRow + "{}"
}

func (q nestQuery) ref(v string) string {
	if q.ptr {
		return "&" + v
	}
	return v
}

// streams reports whether the public method has a …Stream: it returns a
// list.
func (q nestQuery) streams() bool { return q.many && !q.d.one && !q.d.opt }

// publicParams prints the hidden method's parameters with the public
// copies of its parameter types.
func publicParams(t func(ast.Node) string, q nestQuery) string {
	s := fields(t, q.decl.Type.Params)
	for _, c := range q.copies {
		s = strings.ReplaceAll(s, c.from, c.to)
	}
	return s
}

// nestDecls are the lines Store (or Streamer, with stream) lists for the
// public methods of the nest queries, beside publicDecls' for the other
// hidden queries.
func nestDecls(t func(ast.Node) string, nests []nestQuery, o Options, stream bool) []string {
	var out []string
	for _, q := range nests {
		params, results := q.signature(t)
		switch {
		case !stream:
			out = append(out, q.d.public+"("+params+") "+results)
		case q.streams():
			out = append(out, q.d.public+o.StreamSuffix+"("+params+") iter.Seq2["+q.result()+", error]")
		}
	}
	return out
}

// renderNests writes the public types, methods and streams of the nest
// and json queries, and the JSON decoders they use.
func renderNests(p *pkg, nests []nestQuery, n names, o Options, im *imports, w func(string, ...any), t func(ast.Node) string) error {
	dec := newJSONDecoders(p)
	for _, q := range nests {
		q.stmt = n.publicSQL[q.decl.Name.Name]
		if err := im.uses(q.file, q.decl.Type.Params); err != nil {
			return fmt.Errorf("%s: %w", q.d.public, err)
		}
		im.add("context", "context")
		im.add("pgx", "github.com/jackc/pgx/v5")
		for _, c := range q.copies {
			if err := im.uses(c.file, c.st); err != nil {
				return fmt.Errorf("%s: %w", q.d.public, err)
			}
			w("%s", structDecl(p, c.to, fmt.Sprintf("%s are the parameters of %s.", c.to, q.d.public), c.st, nil))
		}
		if err := renderNestRow(p, q, im, w); err != nil {
			return fmt.Errorf("%s: %w", q.d.public, err)
		}
		for _, typ := range q.jsonTyps {
			if err := dec.need(typ); err != nil {
				return fmt.Errorf("query %s (public %s): pgkit:json: %w", q.decl.Name.Name, q.d.public, err)
			}
		}
		renderStatement(w, q.stmt, q.decl.Name.Name, q.d.public, q.publicKind(), "", q.sql)
		renderNestScan(p, q, n, w)
		if q.d.nestArg != "" {
			renderGroup(q, w)
		}
		renderNestMethods(q, n, o, w, t)
	}
	for _, q := range nests {
		if q.many && q.d.one {
			renderNotFound(n, w)
			break
		}
	}
	return dec.render(im, n, w)
}

// renderNotFound writes the error a nest query on :one returns without a
// parent, worded as pgkit's (pgerr.ErrNotFound): "X: not found".
func renderNotFound(n names, w func(string, ...any)) {
	w(`// %[1]s is the error of a query, named by it, that found no row:
// its text is "Query: not found", as pgkit's, and it is pgx.ErrNoRows
// (which is pgkit's pgerr.ErrNotFound) for errors.Is.
type %[1]s string

// Error is the query's name and "not found".
func (e %[1]s) Error() string { return string(e) + ": not found" }

// Unwrap is pgx.ErrNoRows.
func (e %[1]s) Unwrap() error { return pgx.ErrNoRows }

`, n.notFound)
}

// renderNestRow writes the public row type.
func renderNestRow(p *pkg, q nestQuery, im *imports, w func(string, ...any)) error {
	lt := p.local[q.row]
	if err := im.uses(lt.file, lt.typ); err != nil {
		return err
	}
	if q.child != "" {
		if err := im.uses(p.local[q.child].file, p.local[q.child].typ); err != nil {
			return err
		}
	}
	switch {
	case q.child != "":
		for _, l := range wrap(fmt.Sprintf("%s is a row of %s: the parent's columns and its %s, grouped from consecutive rows with an equal %s.", q.pubRow, q.d.public, q.childFld, q.key), 72) {
			w("// %s\n", l)
		}
	default:
		w("// %s is a row of %s.\n", q.pubRow, q.d.public)
	}
	w("type %s struct {\n", q.pubRow)
	for _, f := range q.fields {
		if f.tag != "" {
			w("\t%s %s %s\n", f.name, f.typ, f.tag)
		} else {
			w("\t%s %s\n", f.name, f.typ)
		}
	}
	w("}\n\n")
	return nil
}

// scanFunc is the name of the query's row scanner.
func (q nestQuery) scanFunc() string  { return "pgkitScan" + q.d.public }
func (q nestQuery) groupFunc() string { return "pgkitGroup" + q.d.public }

// renderNestScan writes the function scanning one row of the query: the
// parent's columns into the public row, the child's into pointer
// temporaries (a child is there unless all of them are NULL), JSON columns
// decoded.
func renderNestScan(p *pkg, q nestQuery, n names, w func(string, ...any)) {
	results := "(i " + q.pubRow + ", err error)"
	if q.child != "" {
		results = fmt.Sprintf("(i %s, child %s, hasChild bool, err error)", q.pubRow, q.child)
	}
	fail := "return i, err"
	if q.child != "" {
		fail = "return i, child, false, err"
	}
	w("// %s scans one row of %s.\n", q.scanFunc(), q.d.public)
	w("func %s(row pgx.Row) %s {\n", q.scanFunc(), results)
	var args, nonNil []string
	for _, tg := range q.targets {
		if tg.temp == "" {
			args = append(args, tg.expr)
			continue
		}
		w("\tvar %s %s\n", tg.temp, tg.tempType)
		args = append(args, "&"+tg.temp)
		if tg.child != "" {
			nonNil = append(nonNil, tg.temp+" != nil")
		}
	}
	w("\tif err = row.Scan(%s); err != nil {\n\t\t%s\n\t}\n", strings.Join(args, ", "), fail)
	for _, tg := range q.targets {
		if tg.json == nil {
			continue
		}
		w("\tif i.%s, err = %s(%s); err != nil {\n", tg.json.field, jsonDecoderName(p, tg.json.typ), tg.temp)
		w("\t\terr = fmt.Errorf(\"%s: column %s: %%w\", err)\n\t\t%s\n\t}\n", q.d.public, tg.json.column, fail)
	}
	if q.child != "" {
		w("\tif %s {\n", strings.Join(nonNil, " || "))
		for _, tg := range q.targets {
			if tg.child != "" {
				w("\t\tif %[1]s != nil {\n\t\t\tchild.%[2]s = *%[1]s\n\t\t}\n", tg.temp, tg.child)
			}
		}
		w("\t\thasChild = true\n\t}\n\treturn i, child, hasChild, nil\n}\n\n")
		return
	}
	w("\treturn i, nil\n}\n\n")
}

// renderGroup writes the function grouping a nest query's rows into
// parents: consecutive rows with an equal key are one parent, yielded when
// the next key or the end arrives.
func renderGroup(q nestQuery, w func(string, ...any)) {
	for _, l := range wrap(fmt.Sprintf("%s reads rows of %s and yields one %s per run of consecutive rows with an equal %s, once its last child arrived; it stops when yield returns false. It closes rows.", q.groupFunc(), q.d.public, q.pubRow, q.key), 72) {
		w("// %s\n", l)
	}
	w(`func %[1]s(rows pgx.Rows, yield func(%[3]s) bool) error {
	defer rows.Close()
	var cur %[3]s
	have := false
	for rows.Next() {
		i, child, hasChild, err := %[5]s(rows)
		if err != nil {
			return err
		}
		if !have || i.%[4]s != cur.%[4]s {
			if have && !yield(cur) {
				return nil
			}
			cur, have = i, true
			cur.%[6]s = []%[7]s{}
		}
		if hasChild {
			cur.%[6]s = append(cur.%[6]s, child)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if have {
		yield(cur)
	}
	return nil
}

`, q.groupFunc(), q.d.public, q.pubRow, q.key, q.scanFunc(), q.childFld, q.child)
}

// callArgs prints the arguments of sqlc's Query or QueryRow call, the
// public statement's constant for sqlc's.
func callArgs(t func(ast.Node) string, q nestQuery) string {
	var args []string
	for k, a := range q.call.Args {
		if k == 1 {
			args = append(args, q.stmt)
			continue
		}
		args = append(args, t(a))
	}
	s := strings.Join(args, ", ")
	if q.call.Ellipsis.IsValid() {
		s += "..."
	}
	return s
}

// streamArgs prints the arguments of the stream's query call: those of
// callArgs, with the DB after the context.
func streamArgs(t func(ast.Node) string, q nestQuery) string {
	args := []string{t(q.call.Args[0]), t(q.db), q.stmt}
	for _, a := range q.call.Args[2:] {
		args = append(args, t(a))
	}
	s := strings.Join(args, ", ")
	if q.call.Ellipsis.IsValid() {
		s += "..."
	}
	return s
}

// doc writes the public method's doc comment: the user's lines, or a
// default naming the method, then what it adds.
func (q nestQuery) doc(w func(string, ...any), extra string) {
	w("%s", docComment(q.user, fmt.Sprintf("%s runs query %s.", q.d.public, q.d.public)))
	if extra != "" {
		w("//\n")
		for _, l := range wrap(extra, 72) {
			w("// %s\n", l)
		}
	}
}

// wrap breaks s into lines of at most width bytes, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// renderNestMethods writes the public method X and, for a list, XStream.
func renderNestMethods(q nestQuery, n names, o Options, w func(string, ...any), t func(ast.Node) string) {
	params, results := q.signature(t)
	name, row, db, args := q.d.public, q.pubRow, t(q.db), callArgs(t, q)
	res, zero := q.result(), q.zero()
	group := ""
	if q.child != "" {
		group = fmt.Sprintf("Rows are grouped by %s, the first column: the query must order by it (rows of one %s that are not consecutive make several items). A row whose %s columns are all NULL (a LEFT JOIN without a match) adds no child: %s is then empty, never nil.", q.key, row, q.d.nestArg, q.childFld)
	}
	switch {
	case !q.many:
		q.doc(w, "")
		w("func (q *Queries) %s(%s) %s {\n\ti, err := %s(%s.QueryRow(%s))\n\tif err != nil {\n\t\treturn %s, err\n\t}\n\treturn %s, nil\n}\n\n", name, params, results, q.scanFunc(), db, args, zero, q.ref("i"))
		return
	case q.d.one || q.d.opt:
		notFound := fmt.Sprintf("return %s, %s(%q)", zero, n.notFound, name)
		ok, none := "", notFound
		if q.d.opt {
			ok, none = ", true", fmt.Sprintf("return %s, false, nil", zero)
		}
		fail := fmt.Sprintf("return %s%s, err", zero, map[bool]string{true: ", false"}[q.d.opt])
		shape := fmt.Sprintf("the error %q (pgx.ErrNoRows, pgerr.ErrNotFound) when there is no parent", name+": not found")
		if q.d.opt {
			shape = "false and no error when there is no parent"
		}
		q.doc(w, group+" It returns the one parent, "+shape+", and an error when there are several.")
		w("func (q *Queries) %s(%s) %s {\n\trows, err := %s.Query(%s)\n\tif err != nil {\n\t\t%s\n\t}\n", name, params, results, db, args, fail)
		w("\tvar item, next %s\n\tparents := 0\n\terr = %s(rows, func(r %s) bool {\n\t\tparents++\n\t\tif parents == 1 {\n\t\t\titem = r\n\t\t} else {\n\t\t\tnext = r\n\t\t}\n\t\treturn parents == 1\n\t})\n", row, q.groupFunc(), row)
		w("\tswitch {\n\tcase err != nil:\n\t\t%s\n\tcase parents == 0:\n\t\t%s\n\tcase parents > 1:\n", fail, none)
		w(n.own("\t\terr = fmt.Errorf(\"%s: more than one parent (%s %%v, then %%v)\", item.%s, next.%s)\n"), name, q.key, q.key, q.key)
		w("\t\t%s\n\t}\n\treturn %s%s, nil\n}\n\n", fail, q.ref("item"), ok)
		return
	}
	// A list, and its stream.
	start := "var items []" + res
	if q.empty {
		start = "items := []" + res + "{}"
	}
	yield := pickLocal(q.params, "yield", "yieldRow")
	if q.child != "" {
		q.doc(w, group)
		w("func (q *Queries) %s(%s) %s {\n\trows, err := %s.Query(%s)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\t%s\n", name, params, results, db, args, start)
		w("\tif err := %s(rows, func(r %s) bool {\n\t\titems = append(items, %s)\n\t\treturn true\n\t}); err != nil {\n\t\treturn nil, err\n\t}\n\treturn items, nil\n}\n\n", q.groupFunc(), row, q.ref("r"))
		for _, l := range wrap(fmt.Sprintf("%s%s yields %s's parents one at a time, each once its last child arrived: memory holds one parent. Breaking out of the loop closes the rows. An error ends the sequence.", name, o.StreamSuffix, name), 72) {
			w("// %s\n", l)
		}
		w("func (q *Queries) %[1]s%[2]s(%[3]s) iter.Seq2[%[4]s, error] {\n\treturn func(%[5]s func(%[4]s, error) bool) {\n\t\trows, err := %[6]s(%[7]s)\n\t\tif err != nil {\n\t\t\t%[5]s(%[8]s, err)\n\t\t\treturn\n\t\t}\n", name, o.StreamSuffix, params, res, yield, n.streamQuery, streamArgs(t, q), zero)
		w("\t\tif err := %[1]s(rows, func(r %[2]s) bool { return %[3]s(%[5]s, nil) }); err != nil {\n\t\t\t%[3]s(%[4]s, err)\n\t\t}\n\t}\n}\n\n", q.groupFunc(), row, yield, zero, q.ref("r"))
		return
	}
	q.doc(w, "")
	w("func (q *Queries) %s(%s) %s {\n\trows, err := %s.Query(%s)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tdefer rows.Close()\n\t%s\n", name, params, results, db, args, start)
	w("\tfor rows.Next() {\n\t\ti, err := %s(rows)\n\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n\t\titems = append(items, %s)\n\t}\n\tif err := rows.Err(); err != nil {\n\t\treturn nil, err\n\t}\n\treturn items, nil\n}\n\n", q.scanFunc(), q.ref("i"))
	w("// %[1]s%[2]s yields %[1]s's rows one at a time. Breaking out of the\n// loop closes the rows. An error ends the sequence.\n", name, o.StreamSuffix)
	w("func (q *Queries) %[1]s%[2]s(%[3]s) iter.Seq2[%[4]s, error] {\n\treturn func(%[5]s func(%[4]s, error) bool) {\n\t\trows, err := %[6]s(%[7]s)\n\t\tif err != nil {\n\t\t\t%[5]s(%[8]s, err)\n\t\t\treturn\n\t\t}\n", name, o.StreamSuffix, params, res, yield, n.streamQuery, streamArgs(t, q), zero)
	w("\t\tdefer rows.Close()\n\t\tfor rows.Next() {\n\t\t\ti, err := %[1]s(rows)\n\t\t\tif err != nil {\n\t\t\t\t%[2]s(%[3]s, err)\n\t\t\t\treturn\n\t\t\t}\n\t\t\tif !%[2]s(%[4]s, nil) {\n\t\t\t\treturn\n\t\t\t}\n\t\t}\n\t\tif err := rows.Err(); err != nil {\n\t\t\t%[2]s(%[3]s, err)\n\t\t}\n\t}\n}\n\n", q.scanFunc(), yield, zero, q.ref("i"))
}
