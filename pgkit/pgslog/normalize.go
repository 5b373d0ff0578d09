package pgslog

import "strings"

// Normalize returns sql with every literal replaced by "?" and comments
// removed: string constants ('…', E'…', U&'…', B'…', X'…'), dollar-quoted
// strings ($$…$$, $tag$…$tag$) and numbers. Parameters ($1), identifiers
// (also "quoted" ones), keywords and operators stay. ALTER ROLE app
// PASSWORD 'secret' becomes ALTER ROLE app PASSWORD ?, so a statement can
// be logged without what it carries.
//
// It is a lexer of PostgreSQL's literal syntax, not a parser: no library we
// use exposes one (pgx sanitizes the other way, quoting values into SQL),
// and a full parser (pg_query) would add cgo for a log line.
func Normalize(sql string) string {
	var b strings.Builder
	b.Grow(len(sql))
	n := len(sql)
	for i := 0; i < n; {
		c := sql[i]
		switch {
		case c == '-' && i+1 < n && sql[i+1] == '-': // line comment
			for i < n && sql[i] != '\n' {
				i++
			}
			b.WriteByte(' ')
		case c == '/' && i+1 < n && sql[i+1] == '*': // block comment, nested
			depth := 0
			for i < n {
				if sql[i] == '/' && i+1 < n && sql[i+1] == '*' {
					depth++
					i += 2
				} else if sql[i] == '*' && i+1 < n && sql[i+1] == '/' {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
			b.WriteByte(' ')
		case c == '"': // quoted identifier: kept
			j := i + 1
			for j < n {
				if sql[j] == '"' {
					if j+1 < n && sql[j+1] == '"' {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			b.WriteString(sql[i:j])
			i = j
		case c == '\'':
			i = skipString(sql, i, false)
			b.WriteByte('?')
		case (c == 'E' || c == 'e') && i+1 < n && sql[i+1] == '\'' && !identBefore(sql, i):
			i = skipString(sql, i+1, true)
			b.WriteByte('?')
		case (c == 'B' || c == 'b' || c == 'X' || c == 'x' || c == 'N' || c == 'n') && i+1 < n && sql[i+1] == '\'' && !identBefore(sql, i):
			i = skipString(sql, i+1, false)
			b.WriteByte('?')
		case (c == 'U' || c == 'u') && i+2 < n && sql[i+1] == '&' && sql[i+2] == '\'' && !identBefore(sql, i):
			i = skipString(sql, i+2, false)
			b.WriteByte('?')
		case c == '$' && !identBefore(sql, i):
			if i+1 < n && isDigit(sql[i+1]) { // parameter $1: kept
				j := i + 1
				for j < n && isDigit(sql[j]) {
					j++
				}
				b.WriteString(sql[i:j])
				i = j
				continue
			}
			j := i + 1
			for j < n && sql[j] != '$' && isIdent(sql[j]) {
				j++
			}
			if j < n && sql[j] == '$' {
				tag := sql[i : j+1]
				end := strings.Index(sql[j+1:], tag)
				if end < 0 {
					i = n // unterminated: drop the rest
				} else {
					i = j + 1 + end + len(tag)
				}
				b.WriteByte('?')
				continue
			}
			b.WriteByte(c)
			i++
		case isDigit(c) && !identBefore(sql, i), c == '.' && i+1 < n && isDigit(sql[i+1]) && !identBefore(sql, i):
			j := i
			for j < n && (isDigit(sql[j]) || sql[j] == '.' || sql[j] == '_' ||
				sql[j] == 'e' || sql[j] == 'E' || sql[j] == 'x' || sql[j] == 'X' ||
				(j > i && (sql[j-1] == 'e' || sql[j-1] == 'E') && (sql[j] == '+' || sql[j] == '-')) ||
				(j > i+1 && (sql[i+1] == 'x' || sql[i+1] == 'X') && isHex(sql[j]))) {
				j++
			}
			b.WriteByte('?')
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

// skipString returns the index after the string constant whose opening
// quote is at i. backslash says whether \ escapes (E'…').
func skipString(sql string, i int, backslash bool) int {
	n := len(sql)
	j := i + 1
	for j < n {
		switch sql[j] {
		case '\\':
			if backslash {
				j += 2
				continue
			}
		case '\'':
			if j+1 < n && sql[j+1] == '\'' {
				j += 2
				continue
			}
			return j + 1
		}
		j++
	}
	return n
}

// identBefore reports whether sql[i] continues an identifier or keyword.
func identBefore(sql string, i int) bool { return i > 0 && isIdent(sql[i-1]) }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

func isIdent(c byte) bool {
	return c == '_' || c == '$' || isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}
