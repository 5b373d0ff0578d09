// Package sqllex is a lexer of PostgreSQL's SQL text and the classifiers
// pgkit builds on it: ReadOnly (may a statement run on a read replica?),
// SessionChange (would it change the state of a connection other callers
// share?) and Normalize (its text with every literal replaced, for logs).
//
// The lexer follows PostgreSQL's own (src/backend/parser/scan.l): string
// constants '…' (a doubled quote inside), their continuation over a newline,
// E'…' with backslash escapes, U&'…', B'…', X'…', N'…', dollar-quoted
// $tag$…$tag$ strings, "quoted" and U&"quoted" identifiers, numbers
// (PostgreSQL 16's underscores and 0x/0o/0b forms included), parameters
// $1, operators, -- line comments and /* */ comments that nest. It never
// fails: a string, identifier or comment left open at the end of the text
// is a last token marked Unterminated, and the texts of the tokens always
// concatenate back to the input.
//
// It is hand-written because no library we use exposes PostgreSQL's lexer
// (pgx sanitizes the other way, quoting values into SQL) and a full parser
// (pg_query_go) would add cgo and a copy of the server's parser to a pure
// Go module, for decisions a lexer can make conservatively.
package sqllex

import "strings"

// Kind is the kind of a token.
type Kind uint8

// The kinds of tokens.
const (
	// Space is a run of whitespace.
	Space Kind = iota
	// LineComment is -- up to the end of the line (the newline excluded).
	LineComment
	// BlockComment is /* … */, nested ones included.
	BlockComment
	// Word is a keyword or an unquoted identifier: abc, SELECT, a$b.
	Word
	// QuotedIdent is "an identifier" or U&"an identifier".
	QuotedIdent
	// String is a string constant: '…', E'…', U&'…', B'…', X'…', N'…',
	// with its continuations over newlines ('a'\n'b' is one constant).
	String
	// DollarString is $$…$$ or $tag$…$tag$.
	DollarString
	// Number is a numeric constant: 42, 3.5e-3, .5, 1_000, 0x1F.
	Number
	// Param is a parameter: $1.
	Param
	// Operator is an operator or punctuation: = <> :: ( ) , ; . and any
	// byte the lexer does not otherwise know.
	Operator
)

// Token is one token of SQL text.
type Token struct {
	// Text is the token's text as it is in the input.
	Text string
	// Kind is what the token is.
	Kind Kind
	// Unterminated marks a string, quoted identifier, dollar-quoted
	// string or block comment that the input ends inside of.
	Unterminated bool
}

// Lex splits sql into tokens, reading string constants as a server with
// standard_conforming_strings on does (the default since PostgreSQL 9.1).
func Lex(sql string) []Token { return LexWith(sql, true) }

// LexWith splits sql into tokens; standardConformingStrings says whether
// a backslash in a plain '…' constant is an ordinary character (on) or an
// escape as in E'…' (off).
func LexWith(sql string, standardConformingStrings bool) []Token {
	l := lexer{sql: sql, scs: standardConformingStrings}
	toks := make([]Token, 0, len(sql)/3+1) // about a token per 3 bytes in generated queries
	for l.pos < len(sql) {
		toks = append(toks, l.next())
	}
	return toks
}

// lexer is the state of one LexWith.
type lexer struct {
	sql string
	pos int
	scs bool
}

// next reads the token at l.pos.
func (l *lexer) next() Token {
	s, i := l.sql, l.pos
	c := s[i]
	switch {
	case isSpace(c):
		return l.emit(Space, spanOf(s, i, isSpace), false)
	case c == '-' && at(s, i+1) == '-':
		return l.emit(LineComment, lineEnd(s, i), false)
	case c == '/' && at(s, i+1) == '*':
		end, ok := blockCommentEnd(s, i)
		return l.emit(BlockComment, end, !ok)
	case c == '\'':
		end, ok := l.stringEnd(i, !l.scs, true)
		return l.emit(String, end, !ok)
	case c == '"':
		end, ok := quotedEnd(s, i)
		return l.emit(QuotedIdent, end, !ok)
	case (c == 'e' || c == 'E') && at(s, i+1) == '\'':
		end, ok := l.stringEnd(i+1, true, true)
		return l.emit(String, end, !ok)
	case (c == 'n' || c == 'N') && at(s, i+1) == '\'':
		end, ok := l.stringEnd(i+1, !l.scs, true)
		return l.emit(String, end, !ok)
	case (c == 'b' || c == 'B' || c == 'x' || c == 'X') && at(s, i+1) == '\'':
		end, ok := l.stringEnd(i+1, false, false) // no '' inside: the constant ends at the first quote
		return l.emit(String, end, !ok)
	case (c == 'u' || c == 'U') && at(s, i+1) == '&' && at(s, i+2) == '\'':
		end, ok := l.stringEnd(i+2, false, true)
		return l.emit(String, end, !ok)
	case (c == 'u' || c == 'U') && at(s, i+1) == '&' && at(s, i+2) == '"':
		end, ok := quotedEnd(s, i+2)
		return l.emit(QuotedIdent, end, !ok)
	case isIdentStart(c):
		return l.emit(Word, spanOf(s, i, isIdentCont), false)
	case c == '$':
		return l.dollar()
	case isDigit(c) || c == '.' && isDigit(at(s, i+1)):
		return l.emit(Number, numberEnd(s, i), false)
	case isOpChar(c):
		return l.emit(Operator, operatorEnd(s, i), false)
	case c == ':' && (at(s, i+1) == ':' || at(s, i+1) == '='), c == '.' && at(s, i+1) == '.':
		return l.emit(Operator, i+2, false)
	default:
		// , ( ) [ ] ; : . and bytes SQL has no use for: one at a time.
		return l.emit(Operator, i+1, false)
	}
}

// emit returns the token from l.pos to end and moves past it.
func (l *lexer) emit(k Kind, end int, unterminated bool) Token {
	t := Token{Text: l.sql[l.pos:end], Kind: k, Unterminated: unterminated}
	l.pos = end
	return t
}

// dollar reads a token starting with $: a parameter, a dollar-quoted
// string, or a lone $ (PostgreSQL's dolqfailed: the $ alone, the word after
// it read again).
func (l *lexer) dollar() Token {
	s, i := l.sql, l.pos
	if isDigit(at(s, i+1)) {
		return l.emit(Param, decimalEnd(s, i+1), false)
	}
	j := i + 1
	if j < len(s) && isIdentStart(s[j]) {
		j = spanOf(s, j, isTagCont)
	}
	if at(s, j) != '$' {
		return l.emit(Operator, i+1, false)
	}
	tag := s[i : j+1]
	if k := strings.Index(s[j+1:], tag); k >= 0 {
		return l.emit(DollarString, j+1+k+len(tag), false)
	}
	return l.emit(DollarString, len(s), true)
}

// stringEnd returns the end of the string constant whose opening quote is
// at q, and false when the input ends inside it. backslash: \ escapes the
// next byte (E'…'); doubled: two quotes are a quote inside the constant. A
// constant continues after whitespace holding a newline (comments
// allowed) when the next byte is a quote, read the same way (scan.l's
// quotecontinue).
func (l *lexer) stringEnd(q int, backslash, doubled bool) (int, bool) {
	s := l.sql
	for j := q + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslash {
				j++
			}
		case '\'':
			if doubled && at(s, j+1) == '\'' {
				j++
				continue
			}
			if k, ok := continuation(s, j+1); ok {
				j = k
				continue
			}
			return j + 1, true
		}
	}
	return len(s), false
}

// continuation reports whether the string constant that closed just before
// i continues: whitespace and -- comments holding a newline, then a quote,
// whose index it returns.
func continuation(s string, i int) (int, bool) {
	newline := false
	for i < len(s) {
		switch c := s[i]; {
		case c == '\n' || c == '\r':
			newline = true
			i++
		case isSpace(c):
			i++
		case c == '-' && at(s, i+1) == '-':
			i = lineEnd(s, i)
		case c == '\'' && newline:
			return i, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// quotedEnd returns the end of the quoted identifier whose opening " is
// at q ("" is a " inside it), and false when the input ends inside it.
func quotedEnd(s string, q int) (int, bool) {
	for j := q + 1; j < len(s); j++ {
		if s[j] == '"' {
			if at(s, j+1) == '"' {
				j++
				continue
			}
			return j + 1, true
		}
	}
	return len(s), false
}

// blockCommentEnd returns the end of the comment opened at i, nesting as
// PostgreSQL's do, and false when the input ends inside it.
func blockCommentEnd(s string, i int) (int, bool) {
	depth := 0
	for j := i; j < len(s); {
		switch {
		case s[j] == '/' && at(s, j+1) == '*':
			depth++
			j += 2
		case s[j] == '*' && at(s, j+1) == '/':
			depth--
			j += 2
			if depth == 0 {
				return j, true
			}
		default:
			j++
		}
	}
	return len(s), false
}

// lineEnd returns the index of the newline ending the line at i, or the
// end of s.
func lineEnd(s string, i int) int {
	for i < len(s) && s[i] != '\n' && s[i] != '\r' {
		i++
	}
	return i
}

// operatorEnd returns the end of the operator at i: a run of operator
// characters, cut where a comment starts.
func operatorEnd(s string, i int) int {
	j := i
	for j < len(s) && isOpChar(s[j]) {
		if j > i && (s[j] == '-' && at(s, j+1) == '-' || s[j] == '/' && at(s, j+1) == '*') {
			break
		}
		j++
	}
	return j
}

// numberEnd returns the end of the numeric constant at i: an integer
// (decimal with _ separators, or 0x, 0o, 0b), a decimal fraction, an
// exponent. Letters right after it are left to the next token (the
// server rejects them as trailing junk).
func numberEnd(s string, i int) int {
	if s[i] == '0' {
		var digit func(byte) bool
		switch at(s, i+1) {
		case 'x', 'X':
			digit = isHex
		case 'o', 'O':
			digit = func(c byte) bool { return c >= '0' && c <= '7' }
		case 'b', 'B':
			digit = func(c byte) bool { return c == '0' || c == '1' }
		}
		if digit != nil {
			if j := separatedEnd(s, i+2, digit); j > i+2 {
				return j
			}
		}
	}
	j := i
	if s[j] != '.' {
		j = decimalEnd(s, j)
		if at(s, j) == '.' && at(s, j+1) == '.' {
			return j // 1..10: the integer, then ".."
		}
	}
	if at(s, j) == '.' {
		j++
		if isDigit(at(s, j)) {
			j = decimalEnd(s, j)
		}
	}
	if c := at(s, j); c == 'e' || c == 'E' {
		k := j + 1
		if c := at(s, k); c == '+' || c == '-' {
			k++
		}
		if isDigit(at(s, k)) {
			j = decimalEnd(s, k)
		}
	}
	return j
}

// decimalEnd returns the end of the decimal digits at i, single _
// separators between them included.
func decimalEnd(s string, i int) int { return separatedEnd(s, i, isDigit) }

// separatedEnd returns the end of the run of digits at i, single _
// between (or, for 0x_1F, before) digits included.
func separatedEnd(s string, i int, digit func(byte) bool) int {
	j := i
	for {
		switch {
		case digit(at(s, j)):
			j++
		case at(s, j) == '_' && digit(at(s, j+1)):
			j += 2
		default:
			return j
		}
	}
}

// spanOf returns the end of the run of bytes at i for which in holds.
func spanOf(s string, i int, in func(byte) bool) int {
	for i < len(s) && in(s[i]) {
		i++
	}
	return i
}

// at returns s[i], or 0 past the end.
func at(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// isIdentStart: scan.l's ident_start, [A-Za-z\200-\377_].
func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// isIdentCont: scan.l's ident_cont, ident_start plus digits and $.
func isIdentCont(c byte) bool { return isIdentStart(c) || isDigit(c) || c == '$' }

// isTagCont: scan.l's dolq_cont, ident_start plus digits.
func isTagCont(c byte) bool { return isIdentStart(c) || isDigit(c) }

// isOpChar: scan.l's op_chars.
func isOpChar(c byte) bool {
	switch c {
	case '~', '!', '@', '#', '^', '&', '|', '`', '?', '+', '-', '*', '/', '%', '<', '>', '=':
		return true
	}
	return false
}
