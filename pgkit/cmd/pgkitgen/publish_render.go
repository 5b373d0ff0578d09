package main

import (
	"fmt"
	"go/ast"
	"strings"
)

// site is what the body of one public method is written from.
type site struct {
	pb      *public
	params  string   // the printed parameter list, with the sort parameter
	names   []string // the parameter names
	sortVar string   // the sort parameter, for a sort set
	query   string   // the local variable the dispatch sets
	consts  []string // the statements' constants, in variant order
	db      string   // q.db or db
	ctx     string   // the context argument
	args    string   // the arguments after the statement, each with a leading ", "
	item    string   // i or &i
	fmt     string   // the name fmt is imported under
}

// newSite prepares the rendering of pb.
func newSite(p *pkg, pb *public, n names) site {
	h := pb.first()
	t := func(x ast.Node) string { return text(p.fset, x) }
	rn := renamer(pb.rename)
	s := site{pb: pb, params: rn(fields(t, h.decl.Type.Params)), db: t(h.db), ctx: t(h.call.Args[0]), item: t(h.item), fmt: n.fmt}
	s.names = paramNames(h.decl)
	for _, a := range h.call.Args[2:] {
		s.args += ", " + t(a)
	}
	if h.call.Ellipsis.IsValid() {
		s.args += "..."
	}
	for _, v := range pb.variants {
		s.consts = append(s.consts, n.publicSQL[v.decl.Name.Name])
	}
	s.query = s.consts[0]
	if pb.sortType != "" {
		s.sortVar = pickLocal(s.names, "sort", "order", "sortBy")
		s.query = pickLocal(append(s.names, s.sortVar), "query", "statement", "sqlText")
		s.params += ", " + s.sortVar + " " + pb.sortType
		s.names = append(s.names, s.sortVar)
	}
	return s
}

// results is the method's result list.
func (s site) results() string {
	switch {
	case s.pb.first().batch != nil:
		return "*" + s.pb.name + "BatchResults"
	case s.pb.first().kind == "many":
		return "([]" + s.pb.plan.result + ", error)"
	case s.pb.first().opt:
		return "(" + s.pb.plan.result + ", bool, error)"
	}
	return "(" + s.pb.plan.result + ", error)"
}

// scanBlock is the row variable, the temporaries, the scan (its error
// handled by onErr) and what follows it, indented by tabs.
func (s site) scanBlock(scanner, tabs string, onErr string) string {
	pl := s.pb.plan
	lines := []string{"var i " + pl.rowType}
	lines = append(lines, pl.temps...)
	lines = append(lines, fmt.Sprintf("if err := %s.Scan(%s); err != nil {\n\t%s\n}", scanner, list(pl.targets), onErr))
	lines = append(lines, pl.post...)
	return tabs + strings.ReplaceAll(strings.Join(lines, "\n"), "\n", "\n"+tabs)
}

// doc is the method's doc comment: the user's lines, or one of pgkitgen's.
func (s site) doc(fallback string) string {
	var b strings.Builder
	b.WriteString(docComment(s.pb.first().doc, fallback))
	if s.pb.sortType != "" {
		fmt.Fprintf(&b, "//\n// %s picks the order of the rows, one static statement each:\n// %s.\n", s.sortVar, sortNames(s.pb))
	}
	return b.String()
}

// docComment is the doc comment of a public method: the user's lines
// (those of the query that are not pgkit: lines), or fallback when there
// are none, each line "// …" without trailing blanks.
func docComment(lines []string, fallback string) string {
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		lines = []string{fallback}
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(strings.TrimRight("// "+l, " ") + "\n")
	}
	return b.String()
}

// renderPublic writes the types, statements and methods of every public
// query, and the pgkitValue helper when a nullable embed needs it.
func renderPublic(w func(string, ...any), p *pkg, pubs []*public, n names, o Options) {
	value := false
	for _, pb := range pubs {
		for _, t := range pb.types {
			w("%s", t)
		}
		if pb.sortType != "" {
			renderSortType(w, pb)
		}
		for _, v := range pb.variants {
			renderStatement(w, n.publicSQL[v.decl.Name.Name], v.decl.Name.Name, pb.name, v.publicKind(), v.sort, v.sql)
		}
		s := newSite(p, pb, n)
		if pb.first().batch != nil {
			renderPublicBatch(w, p, pb, n) // publish_batch.go
		} else if pb.first().kind == "many" {
			renderPublicMany(w, s)
			renderPublicStream(w, s, n, o)
		} else {
			renderPublicOne(w, s)
		}
		value = value || pb.plan.value
	}
	if value {
		w(`// pgkitValue is *p, or T's zero value when p is nil.
func pgkitValue[T interface{}](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

`)
	}
}

// publicDecls are the lines Store (or Streamer, with stream) lists for
// the public methods.
func publicDecls(p *pkg, pubs []*public, n names, o Options, stream bool) []string {
	var out []string
	for _, pb := range pubs {
		s := newSite(p, pb, n)
		switch {
		case !stream:
			out = append(out, pb.name+"("+s.params+") "+s.results())
		case pb.first().kind == "many":
			out = append(out, pb.name+o.StreamSuffix+"("+s.params+") iter.Seq2["+pb.plan.result+", error]")
		}
	}
	return out
}

// renderPublicMany writes a :many public method.
func renderPublicMany(w func(string, ...any), s site) {
	h, pl := s.pb.first(), s.pb.plan
	items := "var items []" + pl.result
	if _, short := h.items.(*ast.AssignStmt); short {
		items = "items := []" + pl.result + "{}"
	}
	w("%sfunc (q *Queries) %s(%s) %s {\n", s.doc(fmt.Sprintf("%s runs query %s and returns its rows.", s.pb.name, s.pb.name)), s.pb.name, s.params, s.results())
	w("\t%s", dispatch(s.pb, s.consts, s.sortVar, s.query, "return nil, ERR", s.fmt))
	w(`	rows, err := %s.Query(%s, %s%s)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	%s
	for rows.Next() {
%s
		items = append(items, %s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return items, nil
}

`, s.db, s.ctx, s.query, s.args, items, s.scanBlock("rows", "\t\t", "return nil, err"), s.item)
}

// renderPublicStream writes the …Stream of a :many public method, built
// as renderStream builds sqlc's.
func renderPublicStream(w func(string, ...any), s site, n names, o Options) {
	pl := s.pb.plan
	yield := pickLocal(s.names, "yield", "yieldRow")
	zero := pickLocal(s.names, "zero", "zeroRow")
	fail := yield + "(" + zero + ", err)\n\t\t\treturn"
	w(`// %[1]s%[2]s yields %[1]s's rows one at a time, scanned exactly as %[1]s
// scans them, in constant memory. Breaking out of the loop closes the
// rows; an error ends the sequence.
func (q *Queries) %[1]s%[2]s(%[3]s) iter.Seq2[%[4]s, error] {
	return func(%[5]s func(%[4]s, error) bool) {
		var %[6]s %[4]s
		%[7]s`, s.pb.name, o.StreamSuffix, s.params, pl.result, yield, zero,
		strings.ReplaceAll(dispatch(s.pb, s.consts, s.sortVar, s.query, yield+"("+zero+", ERR)\n\t\treturn", s.fmt), "\n", "\n\t"))
	w(`rows, err := %[1]s(%[2]s, %[3]s, %[4]s%[5]s)
		if err != nil {
			%[6]s
		}
		defer rows.Close()
		for rows.Next() {
%[7]s
			if !%[8]s(%[9]s, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			%[8]s(%[10]s, err)
		}
	}
}

`, n.streamQuery, s.ctx, s.db, s.query, s.args, fail, s.scanBlock("rows", "\t\t\t", yield+"("+zero+", err)\n\treturn"), yield, s.item, zero)
}

// usePublic records the imports the public methods' own code needs.
func usePublic(im *imports, pubs []*public, n names) {
	for _, pb := range pubs {
		h := pb.first()
		im.add("context", "context")
		if pb.sortType != "" {
			im.add(n.fmt, "fmt")
		}
		if h.opt {
			im.add(n.errors, "errors")
			im.add("pgx", "github.com/jackc/pgx/v5")
		}
		if h.batch != nil {
			im.add("pgx", "github.com/jackc/pgx/v5")
		}
		if h.kind == "many" {
			im.add(n.iter, "iter")
			im.add("pgx", "github.com/jackc/pgx/v5")
		}
	}
}

// list joins a scan's targets or a literal's fields as sqlc does: on one
// line up to three, else one a line.
func list(items []string) string {
	if len(items) <= 3 {
		return strings.Join(items, ", ")
	}
	return "\n\t" + strings.Join(items, ",\n\t") + ",\n"
}
