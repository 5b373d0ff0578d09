package sqllex

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// IsKeyword reports whether t is the unquoted word kw, which is given in
// lower case: PostgreSQL folds unquoted words to lower case (ASCII only),
// and a "quoted" word is an identifier, never a keyword.
func (t Token) IsKeyword(kw string) bool {
	return t.Kind == Word && len(t.Text) == len(kw) && strings.EqualFold(t.Text, kw) && isASCII(t.Text)
}

// Unterminated reports the first token that the input ends inside of.
func Unterminated(toks []Token) (Token, bool) {
	for _, t := range toks {
		if t.Unterminated {
			return t, true
		}
	}
	return Token{}, false
}

// Code returns the tokens that are neither whitespace nor comments.
func Code(toks []Token) []Token {
	code := make([]Token, 0, len(toks))
	for _, t := range toks {
		if t.Kind != Space && t.Kind != LineComment && t.Kind != BlockComment {
			code = append(code, t)
		}
	}
	return code
}

// Statements splits code tokens (see Code) at semicolons into statements,
// dropping empty ones. The semicolons of a BEGIN ATOMIC … END function
// body do not end its CREATE statement.
func Statements(code []Token) [][]Token {
	var stmts [][]Token
	start, atomic := 0, 0
	for i, t := range code {
		switch {
		case t.IsKeyword("atomic") && i > 0 && code[i-1].IsKeyword("begin"):
			atomic++
		case atomic > 0 && t.IsKeyword("case"):
			atomic++
		case atomic > 0 && t.IsKeyword("end"):
			atomic--
		case atomic == 0 && t.Kind == Operator && t.Text == ";":
			if i > start {
				stmts = append(stmts, code[start:i])
			}
			start = i + 1
		}
	}
	if start < len(code) {
		stmts = append(stmts, code[start:])
	}
	return stmts
}

// nameAt returns the name code[i] stands for when it is a word or a
// quoted identifier: a word folded to lower case, a quoted identifier as
// it is written, U&"…" with its escapes decoded (UESCAPE honoured). It
// returns "" for other tokens, and ok false for an identifier whose
// escapes it cannot decode (which the server rejects, or reads in a way
// this lexer does not).
func nameAt(code []Token, i int) (name string, ok bool) {
	t := code[i]
	switch {
	case t.Kind == Word:
		return lowerASCII(t.Text), true
	case t.Kind != QuotedIdent || t.Unterminated:
		return "", true
	case t.Text[0] == '"':
		return strings.ReplaceAll(t.Text[1:len(t.Text)-1], `""`, `"`), true
	}
	body := strings.ReplaceAll(t.Text[3:len(t.Text)-1], `""`, `"`) // U&"…"
	esc := byte('\\')
	if i+2 < len(code) && code[i+1].IsKeyword("uescape") {
		e := code[i+2]
		if e.Kind != String || len(e.Text) != 3 || e.Text[0] != '\'' {
			return "", false
		}
		esc = e.Text[1]
	}
	return decodeUnicode(body, esc)
}

// decodeUnicode decodes the escapes of a U&"…" identifier: esc followed by
// 4 hex digits, by + and 6 hex digits, or by itself; UTF-16 surrogate
// pairs are combined, as PostgreSQL does.
func decodeUnicode(s string, esc byte) (string, bool) {
	if !strings.Contains(s, string(esc)) {
		return s, true
	}
	var b strings.Builder
	var high rune
	for i := 0; i < len(s); {
		if s[i] != esc {
			if high != 0 {
				return "", false
			}
			b.WriteByte(s[i])
			i++
			continue
		}
		var hex string
		switch {
		case i+1 < len(s) && s[i+1] == esc && high == 0:
			b.WriteByte(esc)
			i += 2
			continue
		case i+1 < len(s) && s[i+1] == '+' && i+8 <= len(s):
			hex, i = s[i+2:i+8], i+8
		case i+5 <= len(s):
			hex, i = s[i+1:i+5], i+5
		default:
			return "", false
		}
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil {
			return "", false
		}
		r := rune(v)
		switch {
		case r >= 0xD800 && r <= 0xDBFF && high == 0:
			high = r
			continue
		case r >= 0xDC00 && r <= 0xDFFF && high != 0:
			r = (high-0xD800)<<10 + (r - 0xDC00) + 0x10000
			high = 0
		case high != 0 || r == 0 || r >= 0xD800 && r <= 0xDFFF || !utf8.ValidRune(r):
			return "", false
		}
		b.WriteRune(r)
	}
	if high != 0 {
		return "", false
	}
	return b.String(), true
}

// lowerASCII folds A-Z to a-z, as PostgreSQL folds unquoted identifiers
// in UTF-8 databases.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
