package mux

import (
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
)

// sqlInfo is what the multiplexer knows of one SQL text, shared by every
// connection.
type sqlInfo struct {
	refused       error        // not nil for a statement that would change the session
	commitsMidway bool         // a CALL (sqllex.CommitsMidway): its work may be committed in part when it fails, so a cancel is not a reason to resend it
	took          atomic.Int64 // nanoseconds: moving average of its time on the server, see stmt.slow
	// gen counts the times a connection found its prepared statement for
	// the text stale (a schema change altered its result): a statement
	// prepared before is prepared again on every connection before use,
	// so that no other caller meets a stale copy.
	gen atomic.Int64
}

// info returns what is known of sql, looking at its text the first time.
// Entries are bounded, as pgx's statement caches are: SQL built with
// literals must not grow them without end; past the bound a text is looked
// at each time and its timing is learned per connection.
func (m *Mux) info(sql string) *sqlInfo {
	if v, ok := m.sqls.Load(sql); ok {
		return v.(*sqlInfo)
	}
	in := &sqlInfo{commitsMidway: sqllex.CommitsMidway(sql)}
	if what := sqllex.SessionChange(sql); what != "" {
		in.refused = fmt.Errorf("pgkit: multiplexed %s: %w; run it in a transaction (WithTx) or on DB.Pool()", what, ErrSessionState)
	}
	if m.sqlsN.Add(1) > maxSQLInfo {
		return in
	}
	v, _ := m.sqls.LoadOrStore(sql, in)
	return v.(*sqlInfo)
}

// connStmts is what a connection has prepared, oldest first.
type connStmts struct {
	byName map[string]*stmt // by SQL text
	order  []string
}

// stmt is a statement prepared on a connection, with the result formats,
// field descriptions and types its results are decoded with.
type stmt struct {
	sd            *pgconn.StatementDescription
	resultFormats []int16
	fields        []pgconn.FieldDescription
	types         []*pgtype.Type // Mux.resultTypes: nil for built-in types only
	info          *sqlInfo
	gen           int64 // info.gen when prepared
}

// slow reports a statement that usually runs longer than slowStatement:
// a lane sends nothing behind it (see lane.sendBatch).
func (st *stmt) slow() bool {
	return st != nil && time.Duration(st.info.took.Load()) > slowStatement
}

// slowStatement is where a statement starts to count as slow: behind one,
// a pipelined statement would wait that long for nothing.
const slowStatement = time.Millisecond

// current returns the connection's prepared statement for sql, nil when
// there is none or it is of an older generation (it is then closed).
func (l *lane) current(sql string) *stmt {
	st := l.stmts.byName[sql]
	if st != nil && st.gen != st.info.gen.Load() {
		l.forget(sql)
		return nil
	}
	return st
}

// forget closes the connection's prepared statement for sql.
func (l *lane) forget(sql string) {
	if _, ok := l.stmts.byName[sql]; !ok {
		return
	}
	delete(l.stmts.byName, sql)
	if i := slices.Index(l.stmts.order, sql); i >= 0 {
		l.stmts.order = slices.Delete(l.stmts.order, i, i+1)
	}
	l.sendDeallocate(sql)
}

// prepared records what a Prepare's answer described.
func (l *lane) prepared(sql string, desc description) {
	info := l.m.info(sql)
	sd := &pgconn.StatementDescription{Name: stmtName(sql), SQL: sql, ParamOIDs: desc.params, Fields: desc.fields}
	st := &stmt{sd: sd, resultFormats: make([]int16, len(sd.Fields)), fields: make([]pgconn.FieldDescription, len(sd.Fields)),
		info: info, gen: info.gen.Load()}
	tm := l.conn.TypeMap()
	for i, f := range sd.Fields {
		st.resultFormats[i] = tm.FormatCodeForOID(f.DataTypeOID)
		st.fields[i] = f
		st.fields[i].Format = st.resultFormats[i]
	}
	st.types = l.m.resultTypes(tm, sd.Fields)
	l.stmts.byName[sql] = st
	l.stmts.order = append(l.stmts.order, sql)
	l.m.mu.Lock()
	l.m.stats.Prepares++
	l.m.mu.Unlock()
}

// stmtName names sql's prepared statement: the same on every connection,
// and apart from pgx's own (stmtcache_…).
func stmtName(sql string) string {
	return fmt.Sprintf("pgkit_%016x", fnv64(sql))
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
