package sqllex

import "strings"

// SessionChange names what in sql would outlive its statement on a
// connection that other callers share, or returns "" when it can prove
// nothing does. It is conservative: text it cannot read fully is
// refused. What it refuses, in every statement of sql:
//
//   - text that ends inside a string, quoted identifier or comment
//     ("unterminated …"), or a U&"…" name whose escapes it cannot read;
//   - a statement beginning (after opening parentheses, and after EXPLAIN
//     and its options) with SET other than SET LOCAL, RESET, BEGIN,
//     START, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT, RELEASE, PREPARE,
//     DEALLOCATE, DISCARD, LISTEN, UNLISTEN, DECLARE, CLOSE, FETCH, MOVE,
//     LOAD (named by that keyword), DO ("DO block": its body can do all
//     of these), COPY (its sub-protocol holds the connection; "COPY (use
//     CopyFrom or pgkit.CopyTo)"), or CREATE [OR REPLACE] [GLOBAL | LOCAL] TEMP | TEMPORARY
//     ("CREATE TEMPORARY");
//   - UPDATE of pg_settings, whose rule runs set_config(…, false)
//     ("UPDATE pg_settings"; any statement with both the word UPDATE and
//     the name pg_settings);
//   - INTO not right after INSERT or MERGE ("SELECT INTO": SELECT … INTO
//     [TEMP] t creates a table), outside IMPORT FOREIGN SCHEMA;
//   - the name pg_temp or any name starting with pg_temp_, quoted or not
//     ("pg_temp": the connection's temporary schema);
//   - calls of the session-level advisory lock functions: every
//     pg_advisory_* and pg_try_advisory_* but the _xact_ ones ("session
//     advisory lock"); of setseed ("setseed"), dblink_connect and
//     dblink_connect_u ("dblink connection"), pg_backup_start and
//     pg_start_backup ("backup"); of currval and lastval ("currval" /
//     "lastval": they read what the connection's last nextval returned,
//     which on a shared connection may be another caller's);
//   - calls of set_config whose third argument is not literally true:
//     the word true, or a plain string constant that PostgreSQL's boolean
//     input reads as true ('t', 'true', 'y', 'yes', 'on', '1', their
//     prefixes, any case, surrounding spaces). A parameter, an
//     expression, a cast, a named argument are refused
//     ("set_config(…, false)", or "set_config(…) not provably local").
//
// It cannot see inside the functions a statement calls: a function that
// runs SET or creates a temporary table is not refused.
//
// A plain constant holding a backslash reads differently when the server
// has standard_conforming_strings off; both readings must be harmless,
// except that a reading ending inside a constant is one the server
// rejects whole, and only the reading with the setting on is refused for
// that.
func SessionChange(sql string) string {
	on, off := readings(sql)
	if what := sessionChange(on); what != "" {
		return what
	}
	if off == nil {
		return ""
	}
	if _, open := Unterminated(off); open {
		return "" // with the setting off the server refuses the text as it is
	}
	return sessionChange(off)
}

// sessionChange is SessionChange for one reading of the text.
func sessionChange(toks []Token) string {
	if t, open := Unterminated(toks); open {
		return "unterminated " + kindName(t.Kind)
	}
	for _, stmt := range Statements(Code(toks)) {
		if what := leadingSessionChange(stmt); what != "" {
			return what
		}
		if updatesSettings(stmt) {
			return "UPDATE pg_settings"
		}
		for i := range stmt {
			if what := sessionChangeAt(stmt, i); what != "" {
				return what
			}
		}
	}
	return ""
}

// leadingSessionChange names the session change a statement's leading
// keywords make, or returns "".
func leadingSessionChange(stmt []Token) string {
	i := skipExplain(stmt, skipParens(stmt, 0))
	if i >= len(stmt) || stmt[i].Kind != Word {
		return ""
	}
	switch kw := lowerASCII(stmt[i].Text); kw {
	case "set":
		if i+1 < len(stmt) && stmt[i+1].IsKeyword("local") {
			return "" // no effect outside a transaction block
		}
		return "SET"
	case "reset", "begin", "start", "commit", "end", "rollback", "abort", "savepoint", "release",
		"prepare", "deallocate", "discard", "listen", "unlisten", "declare", "close", "fetch", "move", "load":
		return strings.ToUpper(kw)
	case "do":
		return "DO block"
	case "copy": // not a session change: its sub-protocol cannot share a connection
		return "COPY (use CopyFrom or pgkit.CopyTo)"
	case "create":
		j := i + 1
		if j+1 < len(stmt) && stmt[j].IsKeyword("or") && stmt[j+1].IsKeyword("replace") {
			j += 2
		}
		if j < len(stmt) && (stmt[j].IsKeyword("global") || stmt[j].IsKeyword("local")) {
			j++
		}
		if j < len(stmt) && (stmt[j].IsKeyword("temp") || stmt[j].IsKeyword("temporary")) {
			return "CREATE TEMPORARY"
		}
	}
	return ""
}

// updatesSettings reports whether stmt has the word UPDATE and the name
// pg_settings: an UPDATE of the pg_settings view runs set_config(…, false)
// (its rule pg_settings_u), a session SET.
func updatesSettings(stmt []Token) bool {
	update, settings := false, false
	for i, t := range stmt {
		update = update || t.IsKeyword("update")
		if t.Kind == QuotedIdent || t.IsKeyword("pg_settings") {
			name, _ := nameAt(stmt, i)
			settings = settings || name == "pg_settings"
		}
	}
	return update && settings
}

// skipParens returns the index of the first token at or after i that is
// not an opening parenthesis.
func skipParens(stmt []Token, i int) int {
	for i < len(stmt) && stmt[i].Kind == Operator && stmt[i].Text == "(" {
		i++
	}
	return i
}

// skipExplain returns the index of the statement that EXPLAIN at i
// explains (past ANALYZE, VERBOSE and a parenthesized option list), or i.
func skipExplain(stmt []Token, i int) int {
	if i >= len(stmt) || !stmt[i].IsKeyword("explain") {
		return i
	}
	i++
	if i+1 < len(stmt) && stmt[i].Text == "(" && stmt[i+1].Kind == Word && !isQueryStart(stmt[i+1]) {
		for depth := 0; i < len(stmt); i++ {
			if stmt[i].Text == "(" && stmt[i].Kind == Operator {
				depth++
			} else if stmt[i].Text == ")" && stmt[i].Kind == Operator {
				if depth--; depth == 0 {
					i++
					break
				}
			}
		}
	}
	for i < len(stmt) && (stmt[i].IsKeyword("analyze") || stmt[i].IsKeyword("analyse") || stmt[i].IsKeyword("verbose")) {
		i++
	}
	return skipParens(stmt, i)
}

// isQueryStart reports whether t begins a query: (SELECT …) after EXPLAIN
// is the query, not an option list.
func isQueryStart(t Token) bool {
	return t.IsKeyword("select") || t.IsKeyword("values") || t.IsKeyword("table") || t.IsKeyword("with")
}

// sessionChangeAt names the session change that stmt[i] makes wherever it
// is in the statement, or returns "".
func sessionChangeAt(stmt []Token, i int) string {
	t := stmt[i]
	if t.IsKeyword("into") && !(i > 0 && (stmt[i-1].IsKeyword("insert") || stmt[i-1].IsKeyword("merge"))) &&
		!stmt[0].IsKeyword("import") {
		return "SELECT INTO"
	}
	if t.Kind == QuotedIdent || t.Kind == Word && len(t.Text) >= len("pg_temp") && t.Text[0]|0x20 == 'p' {
		name, ok := nameAt(stmt, i) // only here: folding every word would allocate
		switch {
		case !ok:
			return "identifier with unreadable Unicode escapes"
		case name == "pg_temp" || strings.HasPrefix(name, "pg_temp_"):
			return "pg_temp"
		}
	}
	called, args, _ := calledAt(stmt, i)
	switch {
	case called == "":
		return ""
	case (strings.HasPrefix(called, "pg_advisory_") || strings.HasPrefix(called, "pg_try_advisory_")) &&
		!strings.Contains(called, "_xact_"):
		return "session advisory lock"
	case called == "setseed":
		return "setseed"
	case called == "currval" || called == "lastval":
		return called
	case called == "dblink_connect" || called == "dblink_connect_u":
		return "dblink connection"
	case called == "pg_backup_start" || called == "pg_start_backup":
		return "backup"
	case called == "set_config":
		return setConfigChange(stmt[args:])
	}
	return ""
}

// setConfigChange returns "" when the arguments of a set_config call
// (the tokens after its opening parenthesis) make its setting local to
// the transaction: three arguments, the third literally true.
func setConfigChange(rest []Token) string {
	var args [][]Token
	start, depth := 0, 0
	for i, t := range rest {
		if t.Kind != Operator {
			continue
		}
		switch t.Text {
		case "(", "[":
			depth++
		case "]":
			depth--
		case ")":
			if depth > 0 {
				depth--
				continue
			}
			args = append(args, rest[start:i])
			return setConfigArgs(args)
		case ",":
			if depth == 0 {
				args = append(args, rest[start:i])
				start = i + 1
			}
		}
	}
	return "set_config(…) not provably local"
}

// setConfigArgs judges set_config's argument list.
func setConfigArgs(args [][]Token) string {
	if len(args) != 3 || len(args[2]) != 1 {
		return "set_config(…) not provably local"
	}
	switch boolLiteral(args[2][0]) {
	case "true":
		return ""
	case "false":
		return "set_config(…, false)"
	}
	return "set_config(…) not provably local"
}

// boolLiteral returns "true" or "false" for the word true or false or a
// plain string constant PostgreSQL's boolean input reads as one (boolin:
// surrounding spaces, any case, a unique prefix of true, false, yes, no,
// or on, off, 1, 0), else "".
func boolLiteral(t Token) string {
	if t.IsKeyword("true") {
		return "true"
	}
	if t.IsKeyword("false") {
		return "false"
	}
	if t.Kind != String || t.Text[0] != '\'' || strings.ContainsAny(t.Text[1:len(t.Text)-1], "'\\") {
		return ""
	}
	v := lowerASCII(strings.Trim(t.Text[1:len(t.Text)-1], " \t\n\r\f\v"))
	switch {
	case v == "":
		return ""
	case strings.HasPrefix("true", v), strings.HasPrefix("yes", v), v == "on", v == "1":
		return "true"
	case strings.HasPrefix("false", v), strings.HasPrefix("no", v), v == "off" || v == "of", v == "0":
		return "false"
	}
	return ""
}

// kindName names a kind of token that can be left unterminated.
func kindName(k Kind) string {
	switch k {
	case String:
		return "string constant"
	case QuotedIdent:
		return "quoted identifier"
	case DollarString:
		return "dollar-quoted string"
	case BlockComment:
		return "comment"
	}
	return "token"
}
