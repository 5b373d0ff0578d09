package sqllex

// CommitsMidway reports whether a statement of sql may commit part of its
// work before it ends, so that its failing (cancelled, say) does not mean
// that none of it ran: a CALL, whose procedure may COMMIT, or a DO block.
// Text it cannot read fully counts as such.
func CommitsMidway(sql string) bool {
	on, off := readings(sql)
	return commitsMidway(on) || (off != nil && commitsMidway(off))
}

// commitsMidway is CommitsMidway for one reading of the text.
func commitsMidway(toks []Token) bool {
	if _, open := Unterminated(toks); open {
		return true
	}
	for _, stmt := range Statements(Code(toks)) {
		if i := skipParens(stmt, 0); i < len(stmt) && (stmt[i].IsKeyword("call") || stmt[i].IsKeyword("do")) {
			return true
		}
	}
	return false
}
