package pgkit

// How a transaction's outcome survives a lost COMMIT answer.
//
// A COMMIT whose answer is lost (the connection reset, the server shut
// down or crashed, a failover) may have committed or not: the client
// cannot tell. PostgreSQL can, afterwards, given the transaction's id:
// pg_xact_status(xid8) says committed, aborted or in progress. So the
// COMMIT of a transaction begun on a DB goes out in one round trip with
// a statement that asks that id (and the server's WAL timeline), flushed
// ahead of the COMMIT so that the id reaches the client even when the
// COMMIT's answer does not. When the answer is lost, resolveCommit asks
// the pool's (new) primary until it knows, within
// Config.CommitResolveTimeout.
//
// A failover can lose the tail of the old primary's WAL. A transaction
// whose records did not reach the new primary never happened there, and
// the new primary hands its id out again to a later transaction. So an id
// found committed is ours only on the timeline it was given on: after a
// promotion (another timeline) "committed" is reported as unknown, never
// as success. "Aborted", or an id the server has not handed out yet, is
// not committed on any timeline: safe to run again.
//
// "Committed" on the primary is not yet "held by the cluster": a COMMIT
// waiting for its synchronous standby has committed locally, and a
// primary that crashed there and restarted in place (pg_auto_failover's
// keeper restarts it within a second) says "committed" for a transaction
// the standby never got and a failover will lose. So a committed id is
// success only once a later commit on the same connection has waited for
// the standbys (durableSQL); until then it is asked again, and unknown at
// the bound.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// DefaultCommitResolveTimeout is Config.CommitResolveTimeout's default.
const DefaultCommitResolveTimeout = 30 * time.Second

// commitIDSQL asks, just before COMMIT, the transaction's id (NULL when it
// wrote nothing: there is then nothing to resolve) and, on a primary, the
// timeline its WAL is on (the first 8 hex digits of the WAL file's name).
const commitIDSQL = `SELECT pg_current_xact_id_if_assigned()::text,
	CASE WHEN pg_is_in_recovery() THEN NULL ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END`

// resolveSQL asks a server, for the transaction id $1: whether it is a
// standby, the id's status and the server's timeline. An id the server
// has not handed out yet (it never arrived there) fails with SQLSTATE
// 22023, "transaction ID … is in the future".
const resolveSQL = `SELECT pg_is_in_recovery(),
	CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_xact_status($1::text::xid8) END,
	CASE WHEN pg_is_in_recovery() THEN NULL ELSE substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) END`

// commitID is what commitIDSQL answered.
type commitID struct {
	xid      string // "" when the transaction wrote nothing
	timeline string
	learned  bool // the answer arrived
}

// notCommittedError marks a transaction known not to have committed
// although its connection was lost: its COMMIT never left, or its id was
// found aborted. WithTx runs such a transaction again (within
// TxOptions.FailoverWait).
type notCommittedError struct{ err error }

func (e *notCommittedError) Error() string { return "transaction not committed: " + e.err.Error() }
func (e *notCommittedError) Unwrap() error { return e.err }

// commitWithID commits the transaction open on conn, learning its id in
// the same round trip. It reports what it learned, and an error that
// says whether the COMMIT's answer was lost (lost true).
func commitWithID(ctx context.Context, conn *pgx.Conn) (id commitID, lost bool, err error) {
	pc := conn.PgConn()
	takeWarned(pc) // a warning of an earlier statement is not the COMMIT's
	p := pc.StartPipeline(ctx)
	p.SendQueryParams(commitIDSQL, nil, nil, nil, nil)
	p.SendFlushRequest()
	p.SendQueryParams("COMMIT", nil, nil, nil, nil)
	p.SendPipelineSync()
	if err := p.Flush(); err != nil {
		_ = p.Close()
		return id, !pgconn.SafeToRetry(err), err
	}
	rr, err := pipelineResult(p)
	if err != nil {
		_ = p.Close()
		return id, isLost(err) && !answered(err), err
	}
	res := rr.Read()
	if res.Err != nil {
		// The server answered the question with an error (the transaction
		// had failed, or the session was ended: a FATAL 57P01 at a
		// demotion): it skipped the COMMIT, or never reached it.
		_ = p.Close()
		return id, isLost(res.Err) && !answered(res.Err), res.Err
	}
	id.learned = true
	if len(res.Rows) == 1 && len(res.Rows[0]) == 2 {
		id.xid, id.timeline = string(res.Rows[0][0]), string(res.Rows[0][1])
	}
	rr, err = pipelineResult(p)
	if err != nil {
		_ = p.Close()
		return id, isLost(err), err
	}
	tag, err := rr.Close()
	if err != nil {
		_ = p.Close()
		return id, isLost(err), err
	}
	if cerr := p.Close(); cerr != nil {
		// The COMMIT's answer came; only the Sync's did not.
		return id, false, nil
	}
	if tag.String() == "ROLLBACK" {
		return id, false, pgx.ErrTxCommitRollback
	}
	if takeWarned(pc) {
		// Committed, perhaps on the primary only (syncwarn.go): look it
		// up as if the answer had been lost.
		return id, true, errSyncWaitCut
	}
	return id, false, nil
}

// pipelineResult is the pipeline's next statement result.
func pipelineResult(p *pgconn.Pipeline) (*pgconn.ResultReader, error) {
	r, err := p.GetResults()
	if err != nil {
		return nil, err
	}
	rr, ok := r.(*pgconn.ResultReader)
	if !ok {
		return nil, fmt.Errorf("pgkit: commit: unexpected %T in the pipeline", r)
	}
	return rr, nil
}

// isLost reports a failure that took the connection, and with it the
// answer, away: the connection broke, or the caller's context ended
// (pgx then gives the connection up) after something was sent.
func isLost(err error) bool {
	return pgerr.IsTransient(err) || pgconn.Timeout(err) ||
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) && !pgconn.SafeToRetry(err)
}

// answered reports an error the server itself sent (an ErrorResponse,
// FATAL included): the statement it answers was processed, and what the
// pipeline held after it was skipped or never read.
func answered(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr)
}

// resolveCommit finds out, on db's primary, whether the transaction id
// committed after its COMMIT's answer was lost with cause. It returns nil
// when it committed, a *notCommittedError when it did not, and a
// *pgerr.CommitUnknownError when it cannot tell within timeout (or ctx).
func resolveCommit(ctx context.Context, db *DB, id commitID, timeout time.Duration, cause error) error {
	if !id.learned {
		return &pgerr.CommitUnknownError{Reason: "the transaction's id never arrived", Err: cause}
	}
	if id.xid == "" {
		// It wrote nothing: committed or not, nothing is lost or doubled.
		return &notCommittedError{err: cause}
	}
	xid, _ := strconv.ParseUint(id.xid, 10, 64)
	unknown := func(reason string) error {
		return &pgerr.CommitUnknownError{Xid: xid, Reason: reason, Err: cause}
	}
	if ctx.Err() != nil {
		return errors.Join(unknown("the caller's context ended before it could be resolved"), ctx.Err())
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	wait := 10 * time.Millisecond
	for {
		st, err := askStatus(ctx, db, id)
		switch {
		case err == nil && st.status == "committed" && st.timeline == id.timeline && st.durable:
			return nil
		case err == nil && st.status == "committed" && st.timeline == id.timeline:
			// Committed there, but maybe there only: a primary that
			// crashed and restarted in place, or still runs as the other
			// node is promoted, knows commits its standby never got.
			// Ask again until it is confirmed, or another server answers.
		case err == nil && st.status == "committed":
			return unknown("a failover happened before it could be resolved: the new primary has a transaction of that id committed, which may be a later one given the same id")
		case err == nil && (st.status == "aborted" || st.status == "future"):
			return &notCommittedError{err: cause}
		case err == nil && st.status == "" && !st.standby:
			return unknown("the server no longer knows the transaction's status")
		}
		// In progress (its old session still committing), a standby, or
		// no answer: ask again, jittered, until the bound.
		select {
		case <-ctx.Done():
			reason := "no primary answered within the resolve timeout"
			switch {
			case err == nil && st.status == "in progress":
				reason = "it was still in progress at the resolve timeout"
			case err == nil && st.status == "committed":
				reason = "it committed on a server whose synchronous standby had not confirmed it by the resolve timeout"
			}
			return unknown(reason)
		case <-time.After(wait/2 + rand.N(wait/2+1)):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// xactStatus is one server's answer to resolveSQL.
type xactStatus struct {
	standby  bool
	status   string // committed, aborted, in progress, future; "" unknown
	timeline string
	durable  bool // committed on id's timeline, and a commit after it was confirmed (durableSQL)
}

// durableSQL commits, on a primary, a transaction that writes WAL (a
// logical decoding message, which leaves nothing in any table) and so
// waits, as every write's COMMIT does, for the synchronous standbys that
// synchronous_standby_names requires. Its commit comes after the one being
// resolved in that server's WAL, so when it returns, the standbys hold
// that one too. A cancel ends that wait with a mere warning and a success
// (syncwarn.go), so its answer counts only without a warning and while
// the context lives; statement_timeout is off for it all the same.
// synchronous_commit is on for it whatever the session's default: a
// transaction that asked for the standbys itself (SET LOCAL) is waited for
// as it asked. pg_logical_emit_message needs no privilege and works at
// every wal_level.
const durableSQL = `BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL synchronous_commit = on; SELECT pg_logical_emit_message(true, 'pgkit.commit', ''); COMMIT`

// askStatus asks one of db's connections about id; a connection to a
// standby is closed, so that the pool finds the primary. When the id is
// committed on its timeline, it then waits on that same connection, within
// ctx, until the server's synchronous standbys hold the commit (durableSQL).
func askStatus(ctx context.Context, db *DB, id commitID) (xactStatus, error) {
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := acquirePool(actx, db.pool)
	if err != nil {
		return xactStatus{}, err
	}
	var st xactStatus
	var status, timeline *string
	err = c.QueryRow(actx, resolveSQL, id.xid).Scan(&st.standby, &status, &timeline)
	if pgerr.SQLState(err) == "22023" {
		c.Release()
		return xactStatus{status: "future"}, nil
	}
	if status != nil {
		st.status = *status
	}
	if timeline != nil {
		st.timeline = *timeline
	}
	if err == nil && st.status == "committed" && st.timeline == id.timeline {
		pc := c.Conn().PgConn()
		takeWarned(pc)
		_, derr := pc.Exec(ctx, durableSQL).ReadAll()
		// A cancel (the context ended, or anyone's) also ends the wait with
		// a success, and a warning: only an answer without one, that came
		// while the context lived, counts.
		st.durable = derr == nil && ctx.Err() == nil && !takeWarned(pc)
		if !st.durable {
			err = errors.Join(derr, ctx.Err())
		}
	}
	if err != nil || st.standby {
		_ = c.Conn().Close(context.WithoutCancel(actx))
	}
	c.Release()
	if err != nil && st.status != "committed" {
		return xactStatus{}, err
	}
	return st, nil
}

// autocommitOutcome types the error of a statement run outside a
// transaction: when it may have written and its answer never came (the
// connection was lost, or the caller's context ended, after it was sent),
// its outcome is unknown and the error matches pgerr.ErrCommitUnknown as
// well as what it matched before. A read, a statement that never left
// (pgconn.SafeToRetry), and one the server answered with an error, keep
// their error.
func autocommitOutcome(ctx context.Context, sql string, err error) error {
	if err == nil || pgerr.IsCommitUnknown(err) || pgconn.SafeToRetry(err) || errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	switch code := pgerr.SQLState(err); {
	case code == "":
		if !errors.Is(err, pgerr.ErrConnectionLost) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	case code != "57P01" && code != "57P02" && code != "57P03" && !strings.HasPrefix(code, "08"):
		return err // the server's answer
	}
	if sql != "" && sqllex.ReadOnly(sql) {
		return err
	}
	reason := "a write outside a transaction lost its answer with its connection"
	if ctx != nil && ctx.Err() != nil {
		reason = "a write outside a transaction was given up when its context ended, before its answer came"
	}
	return &pgerr.CommitUnknownError{Reason: reason, Err: err}
}
