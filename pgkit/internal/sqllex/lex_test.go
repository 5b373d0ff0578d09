package sqllex_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// show writes tokens compactly for tables: each kind's letter, its text
// and, with a trailing "!", unterminated.
func show(toks []sqllex.Token) string {
	letter := map[sqllex.Kind]string{
		sqllex.Space: "_", sqllex.LineComment: "C", sqllex.BlockComment: "B", sqllex.Word: "w",
		sqllex.QuotedIdent: "q", sqllex.String: "s", sqllex.DollarString: "d", sqllex.Number: "n",
		sqllex.Param: "p", sqllex.Operator: "o",
	}
	var parts []string
	for _, t := range toks {
		p := letter[t.Kind] + fmt.Sprintf("%q", t.Text)
		if t.Unterminated {
			p += "!"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

// TestLex: the token boundaries PostgreSQL's lexer draws, on the inputs
// where a simpler scanner goes wrong.
func TestLex(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT a1, $1", `w"SELECT" _" " w"a1" o"," _" " p"$1"`},
		{"select '--', x", `w"select" _" " s"'--'" o"," _" " w"x"`},
		{"'/* no */'", `s"'/* no */'"`},
		{"'it''s' x", `s"'it''s'" _" " w"x"`},
		{`E'\'' x`, `s"E'\\''" _" " w"x"`},
		{`e'a\\' 'b'`, `s"e'a\\\\'" _" " s"'b'"`},
		{`'a\' x`, `s"'a\\'" _" " w"x"`}, // standard_conforming_strings on: \ is a character
		{`U&'d\0061t' UESCAPE '!'`, `s"U&'d\\0061t'" _" " w"UESCAPE" _" " s"'!'"`},
		{"B'1010' X'1F' N'n'", `s"B'1010'" _" " s"X'1F'" _" " s"N'n'"`},
		{"B'1''0'", `s"B'1'" s"'0'"`}, // no doubled quote in a bit string
		{"xe'a'", `w"xe" s"'a'"`},     // E is a prefix only at a token's start
		{"'a'\n'b' 'c'", `s"'a'\n'b'" _" " s"'c'"`},
		{"'a' -- c\n  'b'", `s"'a' -- c\n  'b'"`},
		{"'a' 'b'", `s"'a'" _" " s"'b'"`}, // no newline: two constants
		{"E'a'\n'\\'' x", `s"E'a'\n'\\''" _" " w"x"`},
		{"$$a$$ $tag$ $x$ ' $tag$ $1", `d"$$a$$" _" " d"$tag$ $x$ ' $tag$" _" " p"$1"`},
		{"$a$ $A$ $a$", `d"$a$ $A$ $a$"`}, // tags are case-sensitive
		{"a$b$c $ $x", `w"a$b$c" _" " o"$" _" " o"$" w"x"`},
		{"$1$", `p"$1" o"$"`},
		{"/* a /* b */ c */x", `B"/* a /* b */ c */" w"x"`},
		{"/**/*/", `B"/**/" o"*/"`},
		{"1--2\n", `n"1" C"--2" _"\n"`},
		{"a+/*c*/b", `w"a" o"+" B"/*c*/" w"b"`},
		{"a <> b::int[]", `w"a" _" " o"<>" _" " w"b" o"::" w"int" o"[" o"]"`},
		{`"select" "a""b" U&"\0061"`, `q"\"select\"" _" " q"\"a\"\"b\"" _" " q"U&\"\\0061\""`},
		{"42 3.5e-3 .5 1_000 0x1F 0b_1 1e 1..2 1.e5", `n"42" _" " n"3.5e-3" _" " n".5" _" " n"1_000" _" " n"0x1F" _" " n"0b_1" _" " n"1" w"e" _" " n"1" o".." n"2" _" " n"1.e5"`},
		{"1abc", `n"1" w"abc"`},
		{"x:=1", `w"x" o":=" n"1"`},
		{"é'x'", `w"é" s"'x'"`},
		{"'open", `s"'open"!`},
		{"E'open\\'", `s"E'open\\'"!`},
		{`"open`, `q"\"open"!`},
		{"$q$ open", `d"$q$ open"!`},
		{"/* /* */", `B"/* /* */"!`},
		{"-- to the end", `C"-- to the end"`},
		{"a\r--c\rb", `w"a" _"\r" C"--c" _"\r" w"b"`},
	} {
		if got := show(sqllex.Lex(c.in)); got != c.want {
			t.Errorf("Lex(%q)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// TestLexWithoutStandardStrings: with standard_conforming_strings off a
// backslash escapes in plain constants too.
func TestLexWithoutStandardStrings(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`'a\' x'`, `s"'a\\' x'"`},
		{`N'a\'' x`, `s"N'a\\''" _" " w"x"`},
		{`'a\\' x`, `s"'a\\\\'" _" " w"x"`},
	} {
		if got := show(sqllex.LexWith(c.in, false)); got != c.want {
			t.Errorf("LexWith(%q, false)\n got %s\nwant %s", c.in, got, c.want)
		}
	}
}

// TestNames: keywords fold case; quoted identifiers are names, not
// keywords.
func TestNames(t *testing.T) {
	toks := sqllex.Code(sqllex.Lex(`SeLeCt "select" SELECTX`))
	if !toks[0].IsKeyword("select") || toks[1].IsKeyword("select") || toks[2].IsKeyword("select") {
		t.Errorf("IsKeyword: %s", show(toks))
	}
	if sqllex.Lex("ſelect")[0].IsKeyword("select") {
		t.Error("a non-ASCII letter folded into a keyword")
	}
}

// TestStatements: statements split at semicolons, not inside strings or
// a BEGIN ATOMIC body.
func TestStatements(t *testing.T) {
	for in, want := range map[string]int{
		"SELECT 1":                1,
		"SELECT 1;":               1,
		";; SELECT ';' ;;":        1,
		"SELECT 1; DELETE FROM t": 2,
		"SELECT 1 -- ; x\n":       1,
		"":                        0,
		"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END; SELECT 3": 2,
	} {
		if got := len(sqllex.Statements(sqllex.Code(sqllex.Lex(in)))); got != want {
			t.Errorf("%q: %d statements, want %d", in, got, want)
		}
	}
}
