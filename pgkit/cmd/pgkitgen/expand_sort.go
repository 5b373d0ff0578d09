package main

import (
	"regexp"
	"strings"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// Typed sort orders: `-- pgkit:sort NAME LIST` (repeatable, the first the
// default) makes one static statement per order, the query's top-level
// ORDER BY replaced by LIST (or LIST added before LIMIT, OFFSET, FETCH,
// FOR or the end when it has none).

// sortOrder is one pgkit:sort annotation.
type sortOrder struct {
	name  string // as written: top_rated
	camel string // TopRated
	list  string // the ORDER BY list
	line  int
}

var sortName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// camel returns the CamelCase of a sort name: top_rated → TopRated.
func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// sortOrders checks q's pgkit:sort annotations.
func (q *srcQuery) sortOrders() ([]sortOrder, error) {
	var orders []sortOrder
	names := map[string]int{}
	camels := map[string]string{}
	for _, a := range q.anns {
		if a.verb != "sort" {
			continue
		}
		o := sortOrder{name: a.args[0], camel: camel(a.args[0]), list: a.args[1], line: a.line}
		if !sortName.MatchString(o.name) {
			return nil, q.errorf(a.line, "sort name %q: write it as [a-z][a-z0-9_]* (newest, top_rated)", o.name)
		}
		if line, dup := names[o.name]; dup {
			return nil, q.errorf(a.line, "sort %s is declared twice (first on line %d)", o.name, line)
		}
		if other, dup := camels[o.camel]; dup {
			return nil, q.errorf(a.line, "sorts %s and %s have the same Go name %s", other, o.name, o.camel)
		}
		if err := q.checkSortList(o); err != nil {
			return nil, err
		}
		names[o.name], camels[o.camel] = a.line, o.name
		orders = append(orders, o)
	}
	return orders, nil
}

// checkSortList refuses a list that is not one: empty, open, holding a
// parameter, a semicolon or unbalanced parentheses.
func (q *srcQuery) checkSortList(o sortOrder) error {
	depth := 0
	toks := sqllex.Lex(o.list)
	if t, open := sqllex.Unterminated(toks); open {
		return q.errorf(o.line, "sort %s: unterminated %s in its ORDER BY list", o.name, kindName(t.Kind))
	}
	code := sqllex.Code(toks)
	if len(code) == 0 {
		return q.errorf(o.line, "sort %s has an empty ORDER BY list", o.name)
	}
	if code[0].IsKeyword("order") {
		return q.errorf(o.line, "sort %s: write the list without ORDER BY: -- pgkit:sort %s created_at DESC, id DESC", o.name, o.name)
	}
	for i, t := range code {
		switch {
		case t.Kind == sqllex.Param, t.Kind == sqllex.Operator && strings.HasSuffix(t.Text, "@") && i+1 < len(code) && code[i+1].Kind == sqllex.Word,
			t.IsKeyword("sqlc") && i+1 < len(code) && code[i+1].Text == ".":
			return q.errorf(o.line, "sort %s mentions a parameter (%s): an order is static SQL; declare one order per choice", o.name, t.Text)
		case t.Kind == sqllex.Operator && t.Text == ";":
			return q.errorf(o.line, "sort %s: a semicolon in its ORDER BY list", o.name)
		case t.Kind == sqllex.Operator && t.Text == "(":
			depth++
		case t.Kind == sqllex.Operator && t.Text == ")":
			depth--
			if depth < 0 {
				return q.errorf(o.line, "sort %s: unbalanced ) in its ORDER BY list", o.name)
			}
		}
	}
	if depth != 0 {
		return q.errorf(o.line, "sort %s: unclosed ( in its ORDER BY list", o.name)
	}
	return nil
}

// sortEdit returns the edit that gives s the order list: it replaces the
// top-level ORDER BY (outside every parenthesis: not a subquery's, a
// window's or an aggregate's) up to LIMIT, OFFSET, FETCH, FOR or the end,
// or adds one there.
func (s *stmt) sortEdit(list string) edit {
	order, stop := -1, len(s.code)
	for i := range s.code {
		if !s.depth0(i) {
			continue
		}
		t := s.code[i]
		switch {
		case order < 0 && t.kw("order") && i+1 < len(s.code) && s.code[i+1].kw("by"):
			order = i
		case t.kw("limit"), t.kw("offset"), t.kw("fetch"), t.kw("for"):
			if stop == len(s.code) && i > order {
				stop = i
			}
		}
	}
	clause := "ORDER BY " + list
	switch {
	case order >= 0:
		return edit{from: s.code[order].off, to: s.code[stop-1].end(), text: clause, kind: 2}
	case stop < len(s.code):
		at := s.code[stop].off
		return edit{from: at, to: at, text: clause + " ", kind: 2}
	}
	at := s.code[len(s.code)-1].end()
	return edit{from: at, to: at, text: " " + clause, kind: 2}
}
