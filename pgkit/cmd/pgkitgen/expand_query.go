package main

import (
	"regexp"
	"slices"
	"strings"
)

// Expanding one query: reading its annotations into a plan, and writing
// the plain sqlc query (or queries, one per sort order) of the plan, with
// the contract of pgkit: comment lines that pgkitgen reads back from
// sqlc's Go doc comments.

// plan is what expand decided for a query.
type plan struct {
	hidden   bool     // written as pgkit+name, its public method pgkitgen's
	cmd      string   // the command written out
	contract []string // pgkit: lines after the public line, before the sort line
	edits    []edit   // the optional filters'
	orders   []sortOrder
	st       *stmt
}

// rowCommands return rows.
var rowCommands = map[string]bool{"one": true, "many": true, "opt": true}

var goField = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]*$`)

// planQuery reads q's annotations and checks them against its SQL.
func planQuery(q *srcQuery, src string) (*plan, error) {
	code, err := q.statement()
	if err != nil {
		return nil, err
	}
	if len(code) == 0 {
		return nil, q.errorf(q.nameTok.line, "no SQL after -- name: %s", q.name)
	}
	st, err := newStmt(q, src, code)
	if err != nil {
		return nil, err
	}
	p := &plan{cmd: q.cmd, st: st}
	var optional []annotation
	for _, a := range q.anns {
		switch {
		case a.verb == "optional":
			optional = append(optional, a)
		case batchRows[q.cmd]:
			if err := batchAnnotation(q, a); err != nil {
				return nil, err
			}
		case !rowCommands[q.cmd]:
			return nil, q.errorf(a.line, "pgkit:%s is not supported on :%s yet (only pgkit:optional is)", a.verb, q.cmd)
		}
	}
	if len(optional) > 0 {
		if p.edits, err = st.optionalEdits(optional); err != nil {
			return nil, err
		}
	}
	if batchRows[q.cmd] {
		return p, p.batch(q) // expand_batch.go
	}
	if !rowCommands[q.cmd] {
		return p, nil
	}
	nests := q.has("nest")
	if q.cmd == "opt" {
		if !returnsRows(st) {
			return nil, q.errorf(q.nameTok.line, ":opt wants a query that returns rows (SELECT, or INSERT/UPDATE/DELETE … RETURNING), as :one does")
		}
		p.hidden, p.cmd = true, "one"
		p.contract = append(p.contract, "opt")
	}
	if nests && q.cmd == "one" {
		// One parent from the rows of a :many: pgkitgen's X returns it,
		// or a not-found error without one.
		p.contract = append(p.contract, "one")
	}
	nullability, err := p.nullability(q, nests)
	if err != nil {
		return nil, err
	}
	p.contract = append(p.contract, nullability...)
	if err := p.nest(q); err != nil {
		return nil, err
	}
	names, unsure := st.resultNames()
	for _, a := range q.anns {
		if a.verb == "json" {
			// A json/jsonb column decoded into []TYPE by pgkitgen (nest.go).
			if col := a.args[0]; !unsure && !names[strings.ToLower(col)] && !names[col] {
				return nil, q.errorf(a.line, "pgkit:json %s: the query returns no column %s: select the JSON list AS %s", col, col, col)
			}
			p.hidden = true
			p.contract = append(p.contract, "json "+a.args[0]+" "+a.args[1])
		}
	}
	if p.orders, err = q.sortOrders(); err != nil {
		return nil, err
	}
	if grouped := nests || q.has("json"); grouped {
		// README's limits: stage 2 writes a nest or json query as one
		// statement, with no sort set and no column override.
		for _, a := range q.anns {
			if a.verb == "sort" {
				return nil, q.errorf(a.line, "pgkit:sort beside pgkit:nest or pgkit:json is not supported yet: drop the sort orders (keep one ORDER BY), or write one query per order")
			}
		}
		for _, c := range nullability {
			if col, ok := strings.CutPrefix(c, "column "); ok {
				name := strings.Fields(col)[0]
				return nil, q.errorf(q.annLine(name), "pgkit:%s %s: a column override beside pgkit:nest or pgkit:json is not supported yet (an embed's is): cast the column in the SQL instead", strings.Fields(col)[1], name)
			}
		}
	}
	if len(p.orders) > 0 {
		p.hidden = true
	}
	return p, nil
}

// returnsRows reports whether st is a SELECT (WITH, VALUES, TABLE) or has
// a top-level RETURNING.
func returnsRows(st *stmt) bool {
	first := st.code[0]
	if first.kw("select") || first.kw("with") || first.kw("values") || first.kw("table") || first.is("(") {
		return true
	}
	for i, t := range st.code {
		if st.outer[i] < 0 && t.kw("returning") {
			return true
		}
	}
	return false
}

// nullability returns the embed and column lines of the contract: the
// embeds' nullability inferred from the joins, overridden by pgkit:nullable
// and pgkit:notnull, and the columns these name.
//
// With nest, the embed lines are written even when no embed is nullable:
// they tell pgkitgen which of sqlc's embed fields is the nested one.
func (p *plan) nullability(q *srcQuery, nest bool) ([]string, error) {
	st := p.st
	embeds := st.embeds()
	items, fromErr := st.fromItems()
	state := map[string]string{} // embed arg → nullable | notnull, as inferred
	explicit := map[string]int{} // embed arg or column → the line that set it
	for _, e := range embeds {
		state[e.arg] = "notnull"
		if fromErr != nil {
			continue
		}
		found := false
		for _, it := range items {
			if it.refersTo(e.arg) {
				found = true
				if it.nullable {
					state[e.arg] = "nullable"
				}
			}
		}
		if !found {
			return nil, q.errorf(e.line, "sqlc.embed(%s): the FROM clause has no table or alias %s", e.arg, e.arg)
		}
	}
	var columns []string
	names, star := st.resultNames()
	for _, a := range q.anns {
		if a.verb != "nullable" && a.verb != "notnull" {
			continue
		}
		for _, n := range a.args {
			if line, dup := explicit[n]; dup {
				return nil, q.errorf(a.line, "%s is annotated twice (first on line %d)", n, line)
			}
			explicit[n] = a.line
			p.hidden = true
			if _, isEmbed := state[n]; isEmbed {
				state[n] = a.verb
				continue
			}
			if !names[strings.ToLower(n)] && !names[n] && !star {
				return nil, q.errorf(a.line, "pgkit:%s %s: no sqlc.embed(%s) and no result column %s in the query", a.verb, n, n, n)
			}
			columns = append(columns, "column "+n+" "+a.verb)
		}
	}
	if fromErr != nil {
		for _, e := range embeds {
			if _, ok := explicit[e.arg]; !ok {
				return nil, q.errorf(e.line, "sqlc.embed(%s): %v, so whether the embed may be NULL is unknown: say it with -- pgkit:nullable %s or -- pgkit:notnull %s", e.arg, fromErr, e.arg, e.arg)
			}
		}
	}
	var lines []string
	show := nest && len(embeds) > 0
	for _, e := range embeds {
		_, set := explicit[e.arg]
		show = show || set || state[e.arg] == "nullable"
	}
	if show {
		p.hidden = true
		for _, e := range embeds {
			lines = append(lines, "embed "+e.arg+" "+state[e.arg])
		}
	}
	return append(lines, columns...), nil
}

// nest adds the contract line of a pgkit:nest annotation.
func (p *plan) nest(q *srcQuery) error {
	var nests []annotation
	for _, a := range q.anns {
		if a.verb == "nest" {
			nests = append(nests, a)
		}
	}
	if len(nests) == 0 {
		return nil
	}
	if len(nests) > 1 {
		return q.errorf(nests[1].line, "a second pgkit:nest: one nested embed per query")
	}
	a := nests[0]
	arg := a.args[0]
	found := false
	for _, e := range p.st.embeds() {
		found = found || e.arg == arg
	}
	if !found {
		return q.errorf(a.line, "pgkit:nest %s: the query has no sqlc.embed(%s)", arg, arg)
	}
	field := ""
	if len(a.args) == 2 {
		field = a.args[1]
	} else {
		items, _ := p.st.fromItems()
		name := arg
		for _, it := range items {
			if it.refersTo(arg) && it.table != "" {
				name = it.table
			}
		}
		field = camel(strings.ToLower(name))
	}
	if !goField.MatchString(field) {
		return q.errorf(a.line, "pgkit:nest %s: field name %q is not an exported Go name", arg, field)
	}
	p.hidden, p.cmd = true, "many"
	p.contract = append(p.contract, "nest "+arg+" "+field)
	return nil
}

// write returns the expanded text of q under p.
func (p *plan) write(q *srcQuery, src string) string {
	var user strings.Builder // the head's own lines, each with its line break
	for _, h := range q.head {
		if !pgkitLine.MatchString(h.text) {
			user.WriteString(src[h.start:h.end])
		}
	}
	body := func(extra ...edit) string {
		return applyEdits(src, q.bodyFrom, q.to, append(append([]edit(nil), p.edits...), extra...))
	}
	nameLine := func(name, cmd string) string {
		t, m := q.nameTok.Text, q.nameIdx
		return t[:m[0]] + name + t[m[1]:m[2]] + cmd + t[m[3]:]
	}
	if !p.hidden {
		return nameLine(q.name, p.cmd) + user.String() + body()
	}
	head := func(name string, sort string) string {
		var b strings.Builder
		b.WriteString(nameLine(name, p.cmd))
		b.WriteString("\n-- pgkit:public " + q.name)
		for _, c := range p.contract {
			b.WriteString("\n-- pgkit:" + c)
		}
		if sort != "" {
			b.WriteString("\n-- pgkit:" + sort)
		}
		return b.String() + user.String()
	}
	if len(p.orders) == 0 {
		return head("pgkit"+q.name, "") + body()
	}
	var b strings.Builder
	for i, o := range p.orders {
		sort := "sort " + o.name
		if i == 0 {
			sort += " default"
		}
		text := head("pgkit"+q.name+"Sort"+o.camel, sort) + body(p.st.sortEdit(o.list))
		if i < len(p.orders)-1 && !strings.HasSuffix(text, "\n\n") {
			text = strings.TrimRight(text, "\n") + "\n\n"
		}
		b.WriteString(text)
	}
	return b.String()
}

// annLine returns the line of q's pgkit:nullable or pgkit:notnull
// annotation naming name, or q's name line.
func (q *srcQuery) annLine(name string) int {
	for _, a := range q.anns {
		if (a.verb == "nullable" || a.verb == "notnull") && slices.Contains(a.args, name) {
			return a.line
		}
	}
	return q.nameTok.line
}

// has reports whether q carries an annotation with verb.
func (q *srcQuery) has(verb string) bool {
	for _, a := range q.anns {
		if a.verb == verb {
			return true
		}
	}
	return false
}
