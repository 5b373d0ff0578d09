package main

import (
	"sort"
	"strings"
)

// Optional filters: `-- pgkit:optional p` makes parameter p nullable and
// every boolean term mentioning it true when it is NULL. A term is an
// operand of AND/OR in a WHERE, HAVING, ON or WHEN condition, at the
// parenthesis depth where such a split exists: for @p inside a function
// call or a row constructor, the term holding the call or the comparison.
// `x BETWEEN @a AND @b` is one term: BETWEEN's AND does not split.

// edit replaces the file's bytes [from, to) with text; from == to
// inserts.
type edit struct {
	from, to int
	text     string
	kind     int // at one offset: 0 closes, 1 opens, 2 replaces
	span     int // the length of the term an open or close belongs to
}

// applyEdits returns src[from:to] with edits applied.
func applyEdits(src string, from, to int, edits []edit) string {
	es := append([]edit(nil), edits...)
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.from != b.from {
			return a.from < b.from
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		if a.kind == 1 {
			return a.span > b.span // the outer term opens first
		}
		return a.span < b.span // and closes last
	})
	var b strings.Builder
	at := from
	for _, e := range es {
		if e.from < at {
			continue // inside a replaced range: cannot happen for disjoint parameters
		}
		b.WriteString(src[at:e.from])
		b.WriteString(e.text)
		at = e.to
	}
	b.WriteString(src[at:to])
	return b.String()
}

// regionDelims end a region of an expression at its depth.
var regionDelims = map[string]bool{
	"where": true, "having": true, "on": true, "when": true, "then": true, "else": true,
	"select": true, "from": true, "order": true, "group": true, "limit": true, "offset": true,
	"returning": true, "for": true, "union": true, "intersect": true, "except": true, "window": true,
	"set": true, "values": true, "join": true, "inner": true, "left": true, "right": true, "full": true,
	"cross": true, "natural": true, "using": true, "as": true, "fetch": true, "into": true,
	"lateral": true, "with": true, "do": true,
}

// conditionStarts open a boolean region.
var conditionStarts = map[string]bool{"where": true, "having": true, "on": true, "when": true}

// region is the tokens strictly between start and end at one depth,
// start and end being the delimiters (-1 and len(code) at the edges).
type region struct{ start, end int }

// isDelim reports whether code token j ends a region.
func (s *stmt) isDelim(j int) bool {
	t := s.code[j]
	if t.is(",") || t.is(";") {
		return true
	}
	if t.kw("from") && j > 0 && s.code[j-1].kw("distinct") {
		return false // IS [NOT] DISTINCT FROM
	}
	return regionDelims[strings.ToLower(t.Text)] && t.kw(strings.ToLower(t.Text))
}

// regionAt returns the region holding code token pos.
func (s *stmt) regionAt(pos int) region {
	r := region{start: -1, end: len(s.code)}
	o := s.outer[pos]
	for j := pos - 1; j >= 0; j-- {
		if j == o {
			r.start = j
			break
		}
		if closes(s.code[j]) && s.match[j] >= 0 && s.match[j] < j {
			j = s.match[j]
			continue
		}
		if s.isDelim(j) {
			r.start = j
			break
		}
	}
	for j := s.skip(pos); j < len(s.code); {
		if o >= 0 && j == s.match[o] || s.isDelim(j) {
			r.end = j
			break
		}
		j = s.skip(j)
	}
	return r
}

// pieces splits r at its AND and OR (not BETWEEN's AND) into terms,
// each the indexes of its first and last tokens.
func (s *stmt) pieces(r region) [][2]int {
	var out [][2]int
	first, between := r.start+1, false
	for j := r.start + 1; j < r.end; j = s.skip(j) {
		t := s.code[j]
		switch {
		case t.kw("between"):
			between = true
		case t.kw("and") && between:
			between = false
		case t.kw("and") || t.kw("or"):
			out = append(out, [2]int{first, j - 1})
			first = j + 1
		}
	}
	return append(out, [2]int{first, r.end - 1})
}

// pieceAt returns the term of r holding pos.
func (s *stmt) pieceAt(r region, pos int) [2]int {
	for _, p := range s.pieces(r) {
		if p[0] <= pos && pos <= p[1] {
			return p
		}
	}
	return [2]int{pos, pos}
}

// isCondition reports whether r is a boolean region: it follows WHERE,
// HAVING, ON or WHEN, or it is all of a parenthesised group that is
// (after NOTs) a whole term of a boolean region.
func (s *stmt) isCondition(r region) bool {
	if r.start < 0 {
		return false
	}
	t := s.code[r.start]
	if conditionStarts[strings.ToLower(t.Text)] && t.kw(strings.ToLower(t.Text)) {
		return true
	}
	if !t.is("(") || s.match[r.start] != r.end {
		return false
	}
	parent := s.regionAt(r.start)
	if !s.isCondition(parent) {
		return false
	}
	p := s.pieceAt(parent, r.start)
	for p[0] < r.start && s.code[p[0]].kw("not") {
		p[0]++
	}
	return p[0] == r.start && p[1] == r.end
}

// termOf returns the boolean term holding the parameter at pos and the
// region it is a term of, or the keyword of the clause it was found in
// when it is in none.
func (s *stmt) termOf(pos int) ([2]int, region, string, bool) {
	for {
		r := s.regionAt(pos)
		if s.isCondition(r) {
			return s.pieceAt(r, pos), r, "", true
		}
		if s.outer[pos] < 0 {
			where := "the select list"
			if r.start >= 0 {
				where = strings.ToUpper(s.code[r.start].Text)
				if s.code[r.start].is(",") {
					where = "a list"
				}
			}
			return [2]int{}, region{}, where, false
		}
		pos = s.outer[pos]
	}
}

// negatedTerm applies NOT to the term t of region r: a NOT applied to the
// term, or to parenthesised groups that are exactly the term, belongs to
// the term (NOT (id = @x) is skipped whole when x is NULL). A NOT around a
// group that holds more than the term would negate the NULL test too; it
// returns ok false and the NOT's token.
func (s *stmt) negatedTerm(t [2]int, r region) (term [2]int, not int, ok bool) {
	term, whole := t, true
	for r.start >= 0 && s.code[r.start].is("(") && s.match[r.start] == r.end {
		// r is a condition group: a whole term of its parent, after NOTs.
		parent := s.regionAt(r.start)
		p := s.pieceAt(parent, r.start)
		negated := s.code[p[0]].kw("not")
		whole = whole && t[0] == r.start+1 && t[1] == r.end-1
		switch {
		case whole && negated:
			term = p
		case negated:
			return term, p[0], false
		}
		t, r = p, parent
	}
	return term, -1, true
}

// optionalEdits returns the edits that make the parameters names
// optional in s.
func (s *stmt) optionalEdits(names []annotation) ([]edit, error) {
	q := s.q
	all := s.params()
	want := map[string]int{}
	for _, a := range names {
		for _, n := range a.args {
			if _, dup := want[n]; dup {
				return nil, q.errorf(a.line, "parameter %s is optional twice", n)
			}
			want[n] = a.line
		}
	}
	types := map[string]string{}
	for n, line := range want {
		found := false
		for _, p := range all {
			if p.name != n {
				continue
			}
			found = true
			switch {
			case p.typ == "":
			case types[n] == "":
				types[n] = p.typ
			case !strings.EqualFold(types[n], p.typ):
				return nil, q.errorf(p.line, "optional parameter %s is cast to %s and to %s: cast it to one type", n, types[n], p.typ)
			}
		}
		if !found {
			return nil, q.errorf(line, "pgkit:optional %s: the query has no parameter %s (@%s, sqlc.arg(%s) or sqlc.narg(%s))", n, n, n, n, n)
		}
		if types[n] == "" {
			return nil, q.errorf(line, "optional parameter %s has no cast: write @%s::type (e.g. @%s::text) where it is used, so that it has a type when NULL", n, n, n)
		}
	}
	var edits []edit
	terms := map[[2]int]bool{}
	var order [][2]int
	for _, p := range all {
		if _, ok := want[p.name]; !ok {
			continue
		}
		term, r, where, ok := s.termOf(p.first)
		if !ok {
			return nil, q.errorf(p.line, "optional parameter %s is used in %s, outside any WHERE, HAVING, ON or WHEN condition: only a condition's terms can be skipped when it is NULL", p.name, where)
		}
		term, not, ok := s.negatedTerm(term, r)
		if !ok {
			return nil, q.errorf(p.line, "optional parameter %s is in a group negated by NOT (line %d) that holds more than its term %s, so NOT would negate the test that skips the term when %s is NULL: write the condition without NOT around the group (NOT (a OR b) as NOT a AND NOT b), or make the group hold the term alone (NOT (%s) AND …)",
				p.name, s.code[not].line, s.text(term[0], term[1]), p.name, s.text(term[0], term[1]))
		}
		if at, why, bad := s.turnsAround(p.first, term, r); bad {
			return nil, q.errorf(p.line, "optional parameter %s is in %s (line %d): skipping its term %s when %s is NULL would not drop a filter there but could narrow the result or turn it around; write the condition so that the term stands in the query's own WHERE, or make %s required",
				p.name, why, s.code[at].line, s.text(term[0], term[1]), p.name, p.name)
		}
		if !terms[term] {
			terms[term] = true
			order = append(order, term)
		}
		edits = append(edits, edit{from: s.code[p.first].off, to: s.code[p.last].end(), text: narg(p.name, types[p.name]), kind: 2})
	}
	for _, term := range order {
		var tests []string
		seen := map[string]bool{}
		for _, p := range all {
			if _, ok := want[p.name]; ok && !seen[p.name] && p.first >= term[0] && p.last <= term[1] {
				seen[p.name] = true
				tests = append(tests, narg(p.name, types[p.name])+" IS NULL")
			}
		}
		from, to := s.code[term[0]].off, s.code[term[1]].end()
		edits = append(edits,
			edit{from: from, to: from, text: "(" + strings.Join(tests, " OR ") + " OR ", kind: 1, span: to - from},
			edit{from: to, to: to, text: ")", kind: 0, span: to - from})
	}
	return edits, nil
}

// narg is sqlc's nullable parameter name with its cast.
func narg(name, typ string) string {
	return "sqlc.narg('" + strings.ReplaceAll(name, "'", "''") + "')::" + typ
}

// turnsAround reports whether skipping the term t (of region r) of the
// parameter at pos could narrow the result rather than widen it, naming
// the construct and its token: a CASE's WHEN (a skipped test picks the
// THEN branch), or a subquery whose rows count against the outer query
// (NOT EXISTS, NOT IN, ALL, a scalar subquery compared in a condition, or
// any subquery whose outer term is negated or in a WHEN). Subqueries in
// EXISTS, IN, ANY or SOME, in FROM, JOIN or a CTE, and in the select list
// only widen when a term of theirs is skipped.
func (s *stmt) turnsAround(pos int, t [2]int, r region) (int, string, bool) {
	if r.start >= 0 && s.code[r.start].kw("when") {
		return r.start, "a CASE's WHEN", true
	}
	for o := s.outer[pos]; o >= 0; o = s.outer[o] {
		if !s.code[o].is("(") || o+1 >= len(s.code) {
			continue
		}
		if first := s.code[o+1]; !first.kw("select") && !first.kw("with") && !first.kw("values") {
			continue
		}
		var prev, before tok
		if o >= 1 {
			prev = s.code[o-1]
		}
		if o >= 2 {
			before = s.code[o-2]
		}
		switch {
		case (prev.kw("exists") || prev.kw("in")) && before.kw("not"):
			return o - 2, "a NOT " + strings.ToUpper(prev.Text) + " subquery", true
		case prev.kw("all"):
			return o - 1, "an ALL subquery", true
		}
		term, outer, _, inCondition := s.termOf(o)
		if !inCondition {
			continue // a derived table, a CTE or the select list: only widens
		}
		term, not, ok := s.negatedTerm(term, outer)
		if !ok {
			return not, "a subquery negated by NOT", true
		}
		if s.code[term[0]].kw("not") {
			return term[0], "a subquery negated by NOT", true
		}
		if outer.start >= 0 && s.code[outer.start].kw("when") {
			return outer.start, "a subquery in a CASE's WHEN", true
		}
		if !prev.kw("exists") && !prev.kw("in") && !prev.kw("any") && !prev.kw("some") && !prev.kw("from") && !prev.kw("join") && !prev.kw("lateral") && !prev.kw("as") && !prev.is(",") {
			return o, "a scalar subquery compared in a condition", true
		}
	}
	return 0, "", false
}
