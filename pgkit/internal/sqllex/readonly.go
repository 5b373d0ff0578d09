package sqllex

import "strings"

// ReadOnly reports whether sql can be proven to only read, so that it may
// run on a read replica as an autocommit statement. It is conservative:
// true only for text that lexes completely (nothing unterminated) into a
// single statement (a semicolon may end it, none may separate it from
// another) whose first keyword, after any opening parentheses, is SELECT,
// VALUES, TABLE or WITH, and which nowhere has
//
//   - the words INSERT, UPDATE, DELETE or MERGE (so a WITH whose every CTE
//     and main statement are reads passes, a data-modifying CTE does not;
//     a column named "update" must be quoted to pass), nor INTO
//     (SELECT … INTO creates a table);
//   - a locking clause: FOR followed by UPDATE, NO (KEY UPDATE), SHARE or
//     KEY (SHARE);
//   - a call (a name, quoted or not, schema-qualified or not, followed by
//     a parenthesis) of a function that writes or needs the primary (see
//     NeedsPrimary), or of a U&"…" name whose escapes it cannot read.
//
// Words in string constants and comments are not seen; quoted
// identifiers are names, never keywords ("select" is a column).
//
// Functions it does not know, user functions included, are allowed: it
// cannot see what they do. A function that writes must not be called in
// an autocommit read; on a replica it fails (SQLSTATE 25006, read-only
// transaction) rather than write anywhere, so a mistake is loud, not
// silent. Run such a call with Exec, or in a transaction, which go to the
// primary.
//
// A plain constant holding a backslash reads differently when the server
// has standard_conforming_strings off; ReadOnly is true only when both
// readings are reads.
func ReadOnly(sql string) bool {
	on, off := readings(sql)
	return readOnly(on) && (off == nil || readOnly(off))
}

// readings returns the tokens of sql as a server with
// standard_conforming_strings on reads it and, only when a plain constant
// holds a backslash (where the setting matters), as one with it off.
func readings(sql string) (on, off []Token) {
	on = Lex(sql)
	for _, t := range on {
		if t.Kind == String && strings.IndexByte(t.Text, '\\') >= 0 && (t.Text[0] == '\'' || t.Text[0] == 'n' || t.Text[0] == 'N') {
			return on, LexWith(sql, false)
		}
	}
	return on, nil
}

// readOnly is ReadOnly for one reading of the text.
func readOnly(toks []Token) bool {
	if _, open := Unterminated(toks); open {
		return false
	}
	stmts := Statements(Code(toks))
	if len(stmts) != 1 {
		return false
	}
	code := stmts[0]
	first := 0
	for first < len(code) && code[first].Kind == Operator && code[first].Text == "(" {
		first++
	}
	if first == len(code) || !(code[first].IsKeyword("select") || code[first].IsKeyword("values") ||
		code[first].IsKeyword("table") || code[first].IsKeyword("with")) {
		return false
	}
	for i, t := range code {
		switch {
		case t.IsKeyword("insert"), t.IsKeyword("update"), t.IsKeyword("delete"), t.IsKeyword("merge"), t.IsKeyword("into"):
			return false
		case t.IsKeyword("for") && i+1 < len(code):
			if n := code[i+1]; n.IsKeyword("update") || n.IsKeyword("no") || n.IsKeyword("share") || n.IsKeyword("key") {
				return false
			}
		}
		if name, _, ok := calledAt(code, i); !ok || name != "" && NeedsPrimary(name) {
			return false
		}
	}
	return true
}

// calledAt returns the name of the function code[i] calls when it is a
// name followed by an opening parenthesis (after the UESCAPE clause of a
// U&"…" name), and the index of the token after that parenthesis; else
// "". ok is false for a name that cannot be read (see nameAt).
func calledAt(code []Token, i int) (name string, args int, ok bool) {
	j := i + 1
	if code[i].Kind == QuotedIdent && j+1 < len(code) && code[j].IsKeyword("uescape") {
		j += 2
	}
	if j >= len(code) || code[j].Kind != Operator || code[j].Text != "(" {
		return "", 0, true
	}
	name, ok = nameAt(code, i)
	return name, j + 1, ok
}

// NeedsPrimary reports whether the built-in function name (lower case, as
// PostgreSQL folds it) writes, takes a lock or a resource that only means
// something on the primary, or runs SQL given as text, so that a call of
// it must not be routed to a replica:
//
//   - sequences: nextval, setval, currval, lastval;
//   - advisory locks: pg_advisory_*, pg_try_advisory_*;
//   - settings and session state: set_config, setseed;
//   - notifications: pg_notify;
//   - large objects: lo_*, loread, lowrite;
//   - transaction ids and WAL positions: txid_current*, pg_current_*
//     (pg_current_xact_id, pg_current_wal_lsn, …), pg_switch_wal,
//     pg_create_restore_point, pg_nextoid;
//   - replication and backups: pg_create_*, pg_drop_*, pg_copy_*,
//     pg_replication_*, pg_logical_*, pg_backup_*, pg_start_backup,
//     pg_stop_backup, pg_promote, pg_wal_replay_*;
//   - server processes, configuration, statistics: pg_cancel_backend,
//     pg_terminate_backend, pg_signal_backend, pg_reload_conf,
//     pg_rotate_logfile, pg_log_backend_memory_contexts, pg_stat_reset*,
//     pg_stat_statements_reset, pg_import_system_collations;
//   - index maintenance: brin_summarize_*, brin_desummarize_range,
//     gin_clean_pending_list;
//   - SQL run from text: query_to_xml*, query_to_xmlschema, ts_stat,
//     ts_rewrite, dblink*.
func NeedsPrimary(name string) bool {
	switch name {
	case "nextval", "setval", "currval", "lastval",
		"set_config", "setseed", "pg_notify", "loread", "lowrite",
		"pg_switch_wal", "pg_create_restore_point", "pg_nextoid",
		"pg_start_backup", "pg_stop_backup", "pg_promote",
		"pg_cancel_backend", "pg_terminate_backend", "pg_signal_backend", "pg_reload_conf",
		"pg_rotate_logfile", "pg_log_backend_memory_contexts", "pg_stat_statements_reset",
		"pg_import_system_collations", "brin_desummarize_range", "gin_clean_pending_list",
		"query_to_xmlschema", "ts_stat", "ts_rewrite":
		return true
	}
	for _, prefix := range [...]string{
		"pg_advisory_", "pg_try_advisory_", "lo_", "txid_current", "pg_current_",
		"pg_create_", "pg_drop_", "pg_copy_", "pg_replication_", "pg_logical_", "pg_backup_",
		"pg_wal_replay_", "pg_stat_reset", "brin_summarize_", "query_to_xml", "dblink",
	} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}
