package sqllex_test

import (
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// FuzzLex: on any input, with standard_conforming_strings on and off, the
// lexer does not panic, its tokens are not empty and concatenate back to
// the input, only the last one may be unterminated, and each token lexed
// on its own is that one token again; the classifiers do not panic, and
// ReadOnly is never true for text left open.
//
//	go test -run '^$' -fuzz FuzzLex -fuzztime 1m ./pgkit/internal/sqllex
func FuzzLex(f *testing.F) {
	for _, seed := range []string{
		"SELECT '--', nextval('s')", "E'\\''", "$a$ $b$ $a$", "$1$", "/* /* */ */", "'a'\n'b'",
		"'a' -- c\n'b'", "U&\"\\0061\" UESCAPE '!'", "B'1''0'", "0x_1F 1..2 .5e-3", "a+/*c*/-b--c",
		"SELECT set_config('a', 'b', true)", "EXPLAIN (ANALYZE) CREATE TEMP TABLE t AS SELECT 1",
		"BEGIN ATOMIC CASE END; END;", "'x\\', ' , nextval('s') --'", "\x00\xff\"", "$", "'", "-", "/",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		for _, scs := range []bool{true, false} {
			toks := sqllex.LexWith(sql, scs)
			var b strings.Builder
			for i, tok := range toks {
				if tok.Text == "" {
					t.Fatalf("scs=%v: empty token %d in %q", scs, i, sql)
				}
				if tok.Unterminated && i != len(toks)-1 {
					t.Fatalf("scs=%v: unterminated token %d of %d in %q", scs, i, len(toks), sql)
				}
				if alone := sqllex.LexWith(tok.Text, scs); len(alone) != 1 || alone[0] != tok {
					t.Fatalf("scs=%v: token %+v of %q lexes alone as %+v", scs, tok, sql, alone)
				}
				b.WriteString(tok.Text)
			}
			if b.String() != sql {
				t.Fatalf("scs=%v: tokens of %q concatenate to %q", scs, sql, b.String())
			}
		}
		_ = sqllex.SessionChange(sql)
		_ = sqllex.Normalize(sql)
		if sqllex.ReadOnly(sql) {
			if _, open := sqllex.Unterminated(sqllex.Lex(sql)); open {
				t.Fatalf("ReadOnly(%q) with an unterminated token", sql)
			}
		}
	})
}
