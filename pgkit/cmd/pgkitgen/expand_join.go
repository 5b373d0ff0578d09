package main

import (
	"errors"
	"strings"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// Join inference: an embed of a table on the nullable side of an outer
// join (the right of LEFT JOIN, the left of RIGHT JOIN, both of FULL JOIN)
// may be all NULL, so it is nullable without an annotation. The top-level
// FROM clause's join chain is read: items (tables, functions, subqueries,
// parenthesised join trees, LATERAL ones), their aliases, joined by
// commas, [NATURAL] [INNER | LEFT | RIGHT | FULL [OUTER] | CROSS] JOIN.

// fromItem is one table (or function, or subquery) of a FROM clause.
type fromItem struct {
	table    string // the table or function name, unqualified; "" for a subquery
	alias    string
	nullable bool
}

// refersTo reports whether name (an embed's argument) names it.
func (f fromItem) refersTo(name string) bool {
	if f.alias != "" {
		return f.alias == name
	}
	return f.table == name
}

// errFrom is a FROM clause this reader does not follow.
var errFrom = errors.New("cannot read the FROM clause")

// fromEnds end a FROM clause.
var fromEnds = map[string]bool{
	"where": true, "group": true, "having": true, "window": true, "order": true, "limit": true, "offset": true,
	"fetch": true, "for": true, "union": true, "intersect": true, "except": true, "returning": true,
}

// joinWords start a join or end an item.
var joinWords = map[string]bool{"join": true, "inner": true, "left": true, "right": true, "full": true, "cross": true, "natural": true}

// isWord reports whether code token i is the keyword in set (lower case).
func (s *stmt) isWord(i int, set map[string]bool) bool {
	if i >= len(s.code) || s.code[i].Kind != sqllex.Word {
		return false
	}
	w := strings.ToLower(s.code[i].Text)
	return set[w] && s.code[i].kw(w)
}

// fromItems returns the items of s's top-level FROM clause, nil when it
// has none.
func (s *stmt) fromItems() ([]fromItem, error) {
	start := -1
	for i, t := range s.code {
		if s.outer[i] < 0 && t.kw("from") && !(i > 0 && s.code[i-1].kw("distinct")) {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, nil
	}
	end := start
	for end < len(s.code) && !s.isWord(end, fromEnds) {
		end = s.skip(end)
	}
	items, next, err := s.joinTree(start, end)
	if err == nil && next != end {
		err = errFrom
	}
	return items, err
}

// joinTree reads items and joins from i up to end, returning the items
// and where it stopped.
func (s *stmt) joinTree(i, end int) ([]fromItem, int, error) {
	var all []fromItem
	group := 0 // where the current comma-separated element starts in all
	first := true
	for i < end {
		kind := ""
		switch {
		case first:
			first = false
		case s.code[i].is(","):
			i++
			group = len(all)
		case s.isWord(i, joinWords):
			if s.code[i].kw("natural") {
				i++
			}
			switch {
			case s.code[i].kw("join"):
			case s.code[i].kw("inner"), s.code[i].kw("cross"):
				i++
			case s.code[i].kw("left"), s.code[i].kw("right"), s.code[i].kw("full"):
				kind = strings.ToLower(s.code[i].Text)
				i++
				if i < end && s.code[i].kw("outer") {
					i++
				}
			}
			if i >= end || !s.code[i].kw("join") {
				return nil, i, errFrom
			}
			i++
		default:
			return nil, i, errFrom
		}
		items, next, err := s.fromItem(i, end)
		if err != nil {
			return nil, next, err
		}
		i = next
		switch kind {
		case "left":
			markNullable(items)
		case "right":
			markNullable(all[group:])
		case "full":
			markNullable(items)
			markNullable(all[group:])
		}
		all = append(all, items...)
		// The join's condition.
		if i < end && s.code[i].kw("on") {
			i++
			for i < end && !s.code[i].is(",") && !s.isWord(i, joinWords) {
				i = s.skip(i)
			}
		} else if i < end && s.code[i].kw("using") {
			i++
			if i < end && s.code[i].is("(") {
				i = s.skip(i)
			}
		}
	}
	return all, i, nil
}

func markNullable(items []fromItem) {
	for i := range items {
		items[i].nullable = true
	}
}

// fromItem reads one item at i: [LATERAL] [ONLY] name[.name] [*] or
// name(args) or (subquery) or (join tree), then [AS] alias [(columns)].
func (s *stmt) fromItem(i, end int) ([]fromItem, int, error) {
	if i < end && (s.code[i].kw("lateral") || s.code[i].kw("only")) {
		i++
	}
	if i >= end {
		return nil, i, errFrom
	}
	var items []fromItem
	t := s.code[i]
	switch {
	case t.is("("):
		inner := i + 1
		if inner < s.match[i] && (s.code[inner].kw("select") || s.code[inner].kw("with") || s.code[inner].kw("values") || s.code[inner].kw("table")) {
			items = []fromItem{{}}
		} else {
			tree, next, err := s.joinTree(inner, s.match[i])
			if err != nil || next != s.match[i] {
				return nil, i, errFrom
			}
			items = tree
		}
		i = s.match[i] + 1
	case t.Kind == sqllex.Word || t.Kind == sqllex.QuotedIdent:
		name := identName(t)
		i++
		for i+1 < end && s.code[i].is(".") && (s.code[i+1].Kind == sqllex.Word || s.code[i+1].Kind == sqllex.QuotedIdent) {
			name = identName(s.code[i+1])
			i += 2
		}
		if i < end && s.code[i].is("*") {
			i++
		}
		if i < end && s.code[i].is("(") {
			i = s.skip(i)
		}
		items = []fromItem{{table: name}}
	default:
		return nil, i, errFrom
	}
	if i < end && s.code[i].kw("with") && i+1 < end && s.code[i+1].kw("ordinality") {
		i += 2
	}
	if i < end && s.code[i].kw("as") {
		i++
	}
	if i < end && (s.code[i].Kind == sqllex.QuotedIdent || s.code[i].Kind == sqllex.Word && !s.isWord(i, joinWords) && !s.isWord(i, fromEnds) && !s.code[i].kw("on") && !s.code[i].kw("using") && !s.code[i].kw("tablesample")) {
		alias := identName(s.code[i])
		i++
		if i < end && s.code[i].is("(") {
			i = s.skip(i)
		}
		if len(items) == 1 {
			items[0].alias = alias
		} else {
			items = []fromItem{{alias: alias, nullable: anyNullable(items)}}
		}
	}
	return items, i, nil
}

func anyNullable(items []fromItem) bool {
	for _, it := range items {
		if it.nullable {
			return true
		}
	}
	return false
}

// identName is the name an identifier token stands for: a word folded to
// lower case, a quoted identifier unquoted.
func identName(t tok) string {
	if t.Kind == sqllex.QuotedIdent && strings.HasPrefix(t.Text, `"`) && len(t.Text) >= 2 {
		return strings.ReplaceAll(t.Text[1:len(t.Text)-1], `""`, `"`)
	}
	return strings.ToLower(t.Text)
}

// resultNames returns the names of the top-level select (or RETURNING)
// list's columns, and whether the list has a column whose name it cannot
// know: a *, or an expression PostgreSQL names by rules not followed here
// (a cast, CASE, a constant).
func (s *stmt) resultNames() (map[string]bool, bool) {
	names := map[string]bool{}
	start := -1
	for i, t := range s.code {
		if s.outer[i] < 0 && (t.kw("select") || t.kw("returning")) {
			start = i + 1
		}
	}
	if start < 0 {
		return names, false
	}
	star := false
	itemStart := start
	for i := start; ; {
		atEnd := i >= len(s.code) || s.outer[i] < 0 && (s.code[i].kw("from") || s.isWord(i, fromEnds) || s.code[i].kw("into"))
		if atEnd || s.code[i].is(",") {
			if i > itemStart {
				last := s.code[i-1]
				cast := func(j int) bool { return j > itemStart && s.code[j-1].is("::") }
				switch {
				case last.is("*"):
					star = true
				case (last.Kind == sqllex.Word || last.Kind == sqllex.QuotedIdent) && !cast(i-1) && !last.kw("end"):
					names[identName(last)] = true
				case last.is(")") && s.match[i-1] > itemStart && s.code[s.match[i-1]-1].Kind == sqllex.Word && !cast(s.match[i-1]-1):
					names[identName(s.code[s.match[i-1]-1])] = true
				default:
					star = true
				}
			}
			if atEnd {
				return names, star
			}
			itemStart = i + 1
			i++
			continue
		}
		i = s.skip(i)
	}
}
