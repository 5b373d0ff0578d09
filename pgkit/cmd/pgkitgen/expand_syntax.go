package main

import (
	"strings"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// The syntax expand reads in a statement's code tokens: nested groups
// (parentheses, brackets, CASE … END), parameters with their casts, and
// sqlc.embed calls.

// stmt is one statement's code tokens and their groups.
type stmt struct {
	q     *srcQuery
	src   string
	code  []tok
	match []int // match[i]: for an opening token the index of its closing one and the reverse; -1 elsewhere
	outer []int // outer[i]: the index of the opening token of the innermost group holding i, or -1
}

// opens and closes pair the group tokens.
func opens(t tok) bool  { return t.is("(") || t.is("[") || t.kw("case") }
func closes(t tok) bool { return t.is(")") || t.is("]") || t.kw("end") }

// newStmt pairs the groups of code, or fails naming the first unpaired
// token.
func newStmt(q *srcQuery, src string, code []tok) (*stmt, error) {
	s := &stmt{q: q, src: src, code: code, match: make([]int, len(code)), outer: make([]int, len(code))}
	var stack []int
	for i, t := range code {
		s.match[i] = -1
		s.outer[i] = -1
		if len(stack) > 0 {
			s.outer[i] = stack[len(stack)-1]
		}
		switch {
		case opens(t):
			stack = append(stack, i)
		case closes(t):
			if len(stack) == 0 || !pairs(code[stack[len(stack)-1]], t) {
				return nil, q.errorf(t.line, "unbalanced %q", t.Text)
			}
			o := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			s.match[o], s.match[i] = i, o
			s.outer[i] = s.outer[o]
		}
	}
	if len(stack) > 0 {
		t := code[stack[len(stack)-1]]
		return nil, q.errorf(t.line, "unclosed %q", t.Text)
	}
	return s, nil
}

// pairs reports whether close ends the group open opened.
func pairs(open, close tok) bool {
	switch {
	case open.is("("):
		return close.is(")")
	case open.is("["):
		return close.is("]")
	}
	return close.kw("end")
}

// text returns the source text of code tokens i through j.
func (s *stmt) text(i, j int) string { return s.src[s.code[i].off:s.code[j].end()] }

// skip returns the index after the token at i at its depth: past the
// group when i opens one.
func (s *stmt) skip(i int) int {
	if opens(s.code[i]) && s.match[i] > i {
		return s.match[i] + 1
	}
	return i + 1
}

// param is one occurrence of a named parameter: @p, sqlc.arg(p),
// sqlc.arg('p'), sqlc.narg(p) or sqlc.narg('p'), and its cast.
type param struct {
	name       string
	first      int    // its first code token
	last       int    // its last code token, its cast's included
	typ        string // the cast's type as written, spaces collapsed; "" without one
	line       int
	hasNullArg bool // written sqlc.narg
}

// params returns every named parameter in s.
func (s *stmt) params() []param {
	var ps []param
	for i := 0; i < len(s.code); i++ {
		p, ok := s.paramAt(i)
		if !ok {
			continue
		}
		ps = append(ps, p)
		i = p.last
	}
	return ps
}

// paramAt reads the parameter starting at code token i.
func (s *stmt) paramAt(i int) (param, bool) {
	c := s.code
	var p param
	switch {
	case c[i].is("@") && i+1 < len(c) && c[i+1].Kind == sqllex.Word && c[i+1].off == c[i].end():
		p = param{name: c[i+1].Text, first: i, last: i + 1}
	case s.sqlcCall(i, "arg") || s.sqlcCall(i, "narg"):
		arg := c[i+4]
		name := arg.Text
		if arg.Kind == sqllex.String {
			name = strings.ReplaceAll(name[1:len(name)-1], "''", "'")
		}
		p = param{name: name, first: i, last: i + 5, hasNullArg: c[i+2].kw("narg")}
	default:
		return param{}, false
	}
	p.line = c[i].line
	if p.last+2 < len(c) && c[p.last+1].is("::") {
		if end, ok := s.typeEnd(p.last + 2); ok {
			p.typ = strings.Join(strings.Fields(s.text(p.last+2, end)), " ")
			p.last = end
		}
	}
	return p, true
}

// sqlcCall reports whether code token i starts sqlc.fn(x) with one
// argument, a word or a string.
func (s *stmt) sqlcCall(i int, fn string) bool {
	c := s.code
	return i+5 < len(c) && c[i].kw("sqlc") && c[i+1].is(".") && c[i+2].kw(fn) && c[i+3].is("(") &&
		(c[i+4].Kind == sqllex.Word || c[i+4].Kind == sqllex.String || c[i+4].Kind == sqllex.QuotedIdent) && c[i+5].is(")")
}

// typeEnd returns the last code token of the type name starting at i: a
// possibly qualified name, the multi-word names of SQL's standard types,
// a modifier in parentheses, array brackets.
func (s *stmt) typeEnd(i int) (int, bool) {
	c := s.code
	isName := func(j int) bool {
		return j < len(c) && (c[j].Kind == sqllex.Word || c[j].Kind == sqllex.QuotedIdent)
	}
	if !isName(i) {
		return 0, false
	}
	j := i
	if isName(j+2) && c[j+1].is(".") {
		j += 2
	}
	word := func(k int, kw string) bool { return k < len(c) && c[k].kw(kw) }
	modifier := func() {
		if j+1 < len(c) && c[j+1].is("(") && s.match[j+1] > j {
			j = s.match[j+1]
		}
	}
	switch strings.ToLower(c[j].Text) {
	case "double":
		if word(j+1, "precision") {
			j++
		}
	case "character", "char", "bit", "national":
		if word(j+1, "varying") {
			j++
		}
	case "timestamp", "time":
		modifier()
		if (word(j+1, "with") || word(j+1, "without")) && word(j+2, "time") && word(j+3, "zone") {
			j += 3
		}
	}
	modifier()
	for j+1 < len(c) && c[j+1].is("[") && s.match[j+1] > j {
		j = s.match[j+1]
	}
	return j, true
}

// embed is one sqlc.embed(arg) in a select list.
type embed struct {
	arg  string
	at   int // its first code token
	line int
}

// embeds returns the sqlc.embed calls of s, in order.
func (s *stmt) embeds() []embed {
	var es []embed
	for i := range s.code {
		if s.sqlcCall(i, "embed") {
			es = append(es, embed{arg: s.code[i+4].Text, at: i, line: s.code[i].line})
		}
	}
	return es
}

// depth0 reports whether code token i is outside every parenthesis
// (CASE … END does not count: no clause is inside one).
func (s *stmt) depth0(i int) bool {
	for o := s.outer[i]; o >= 0; o = s.outer[o] {
		if !s.code[o].kw("case") {
			return false
		}
	}
	return true
}
