package main

import "fmt"

// renderPublicOne writes a :one public method, or with pgkit:opt one
// returning (Row, bool, error): false and no error when there is no row
// (errors.Is(err, pgx.ErrNoRows), which pgkit's not-found error also
// satisfies), any other error as it is.
func renderPublicOne(w func(string, ...any), s site) {
	h, pl := s.pb.first(), s.pb.plan
	zero := pickLocal(s.names, "zero", "zeroRow")
	fail, onErr, ok, fallback := "var "+zero+" "+pl.result+"\n\t\treturn "+zero+", ERR", "return "+s.item+", err", "return "+s.item+", nil",
		fmt.Sprintf("%s runs query %s and returns its row.", s.pb.name, s.pb.name)
	if h.opt {
		fail = "var " + zero + " " + pl.result + "\n\t\treturn " + zero + ", false, ERR"
		onErr = "var " + zero + " " + pl.result + "\n\tif errors.Is(err, pgx.ErrNoRows) {\n\t\treturn " + zero + ", false, nil\n\t}\n\treturn " + zero + ", false, err"
		ok = "return " + s.item + ", true, nil"
		fallback = fmt.Sprintf("%s runs query %s and returns its row, and false (with no error) when there is none.", s.pb.name, s.pb.name)
	}
	w("%sfunc (q *Queries) %s(%s) %s {\n", s.doc(fallback), s.pb.name, s.params, s.results())
	w("\t%s", dispatch(s.pb, s.consts, s.sortVar, s.query, fail, s.fmt))
	w("\trow := %s.QueryRow(%s, %s%s)\n", s.db, s.ctx, s.query, s.args)
	w("%s\n", s.scanBlock("row", "\t", onErr))
	w("\t%s\n}\n\n", ok)
	_ = pl
}
