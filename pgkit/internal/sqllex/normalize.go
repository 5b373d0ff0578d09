package sqllex

import "strings"

// Normalize returns sql with every literal replaced by "?" and every
// comment by a space: string constants, dollar-quoted strings and
// numbers. Parameters ($1), identifiers (also "quoted" ones), keywords,
// operators and whitespace stay. A string, quoted identifier or comment
// left open at the end is replaced whole.
//
// Where a plain constant holding a backslash would lex differently with
// standard_conforming_strings off, the text from the first token the two
// readings disagree on is replaced by one "?": whichever way the server
// reads it, no literal reaches the result.
func Normalize(sql string) string {
	on, off := readings(sql)
	cut := len(on)
	if off != nil {
		cut = 0
		for cut < len(on) && cut < len(off) && on[cut] == off[cut] {
			cut++
		}
	}
	var b strings.Builder
	b.Grow(len(sql))
	for _, t := range on[:cut] {
		switch {
		case t.Kind == LineComment || t.Kind == BlockComment:
			b.WriteByte(' ')
		case t.Kind == String || t.Kind == DollarString || t.Kind == Number || t.Unterminated:
			b.WriteByte('?')
		default:
			b.WriteString(t.Text)
		}
	}
	if cut < len(on) {
		b.WriteByte('?')
	}
	return b.String()
}
