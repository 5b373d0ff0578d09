package pgslog

import "github.com/shopdb/shopdb/pgkit/internal/sqllex"

// Normalize returns sql with every literal replaced by "?" and comments
// removed: string constants ('…', E'…', U&'…', B'…', X'…'), dollar-quoted
// strings ($$…$$, $tag$…$tag$) and numbers. Parameters ($1), identifiers
// (also "quoted" ones), keywords and operators stay. ALTER ROLE app
// PASSWORD 'secret' becomes ALTER ROLE app PASSWORD ?, so a statement can
// be logged without what it carries. A string, quoted identifier or
// comment left open is replaced whole, and where a server with
// standard_conforming_strings off would read a constant holding a
// backslash differently, everything from there is one "?".
//
// It is pgkit's SQL lexer (pgkit/internal/sqllex), the one the replica
// router and the multiplexer classify statements with.
func Normalize(sql string) string { return sqllex.Normalize(sql) }
