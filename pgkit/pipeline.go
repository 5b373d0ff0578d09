package pgkit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/internal/sqllex"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Pipeline runs fns concurrently against ONE connection and sends the
// queries they issue together, in one network round trip per round
// (PostgreSQL's pipeline mode, through pgx.Batch). Each fn calls the
// generated methods on its Queries (made by newQ, the generated New) as
// usual and gets the same typed rows as without Pipeline. A page that needs
// a product, its reviews and the customer's orders holds one connection for
// one round trip, not three connections (Gather) or three round trips (one
// after the other).
//
// On a pool (*DB, *pgxpool.Pool) Pipeline takes one connection for the
// call. On a transaction (a *Tx, a pgx.Tx, the Queries' tx inside WithTx)
// or a connection it runs on that: inside a transaction, every query of
// every fn is part of it, and rolls back with it. Within a round, queries
// run in the order of fns (fn 0's first), whatever order their goroutines
// issued them in.
//
// How it works: every fn runs in its own goroutine; a query it issues waits
// until every fn still running has issued one too (or returned), then all
// waiting queries go out as one batch, and each fn in turn reads its own
// result straight off the connection (no copy), while the others wait for
// theirs. A fn that issues a second query takes part in the next round. So a
// fn must issue its queries one after another (not from goroutines of its
// own) and should not block on anything but its queries, or it holds up the
// round.
//
// Errors: the first error a fn returns is the error Pipeline returns, and
// it cancels the other fns' contexts. On a pool made by Open (or with
// ParseConfig's config) that cancels their statements, not the connection:
// a result that has already arrived is read to its end, and one still
// coming after 50ms is cancelled on the server (SQLSTATE 57014, the
// context's error attached), so that the connection goes back to the pool
// healthy; only a server that does not answer the cancel request within
// 2s loses its connection. The caller's own cancellation, and
// Config.QueryTimeout (which bounds each round), stop a round the same
// way. A fn that lets go of its result reads the next one of the round
// for the fn that asked for it, so a failing fn returns, and cancels the
// others, only once every later query of its round has begun to answer.
// The queries of one round run in one
// implicit transaction (outside an explicit one): when one fails, the
// server skips the rest of that round and rolls back the round's writes, so
// when every fn returned nil but a query failed (a fn ignored its error),
// that query's error is returned, since other fns' writes may be gone. A
// value that fails to decode in the client (a NULL scanned into a bool) is
// the error of the fn that scanned it only: the server ran the round, and
// the other fns get their results. A panic in a fn is returned as an error.
//
// Not for: COPY (CopyFrom) and the :batch methods, which return an error
// here. A Stream works, but a query issued inside its loop fails, since the
// stream holds the connection.
func Pipeline[D DBTX, Q any](ctx context.Context, src DBTX, newQ func(D) Q, fns ...func(ctx context.Context, q Q) error) error {
	if len(fns) == 0 {
		return nil
	}
	qs := make([]Q, len(fns))
	requests := make(chan pipeRequest)
	for i := range fns {
		q, err := bind(newQ, pipeDBTX{requests: requests, fn: i})
		if err != nil {
			return err
		}
		qs[i] = q
	}
	conn, pooled, err := connOf(ctx, src)
	if err != nil {
		return err
	}
	if pooled != nil {
		defer pooled.Release()
	}
	return runPipeline(ctx, conn, queryTimeoutOf(src), decodersOf(src), pooled != nil, requests, fns, qs)
}

// request kinds
const (
	kindQuery = iota
	kindRow
	kindExec
)

// pipeRequest is one query a fn issued, waiting for its round.
type pipeRequest struct {
	fn    int
	kind  int
	sql   string
	args  []any
	reply chan pipeReply
}

type pipeReply struct {
	rows *handoffRows
	row  *handoffRow
	tag  pgconn.CommandTag
	err  error
}

type fnDone struct {
	fn  int
	err error
}

var (
	errPipelineUnsupported = errors.New("pipeline: COPY and :batch queries cannot run inside Pipeline; call them outside it")
	errPipelineNested      = errors.New("pipeline: a query was issued while a result of the same fn was still open (a Stream inside Pipeline?)")
)

// coordinator runs the rounds of one Pipeline call. Only its goroutine
// touches the connection, except a fn reading the result handed to it,
// while the coordinator waits.
type coordinator struct {
	ctx        context.Context
	cancel     context.CancelFunc
	conn       batchSender
	timeout    time.Duration // bounds each round whose ctx has no deadline (Config.QueryTimeout)
	decs       decoders      // src's Config.Decoders, or nil
	autocommit bool          // on a pooled connection: a lost round's outcome is unknown (autocommitOutcome)
	requests   chan pipeRequest
	done       chan fnDone
	active     int
	pending    []pipeRequest
	fnErr      error // the first error a fn returned: Pipeline's error
	queryErr   error // the first query that failed, returned when no fn failed
}

func runPipeline[Q any](parent context.Context, conn batchSender, timeout time.Duration, decs decoders, autocommit bool, requests chan pipeRequest, fns []func(context.Context, Q) error, qs []Q) error {
	n := len(fns)
	ctx, cancel := context.WithCancel(gently(parent))
	defer cancel()
	c := &coordinator{
		autocommit: autocommit,
		ctx:        ctx, cancel: cancel, conn: conn, timeout: timeout, decs: decs,
		requests: requests,
		done:     make(chan fnDone, n),
		active:   n,
	}
	for i := range n {
		go func() {
			var err error
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("pipeline: fn %d panicked: %v\n%s", i, r, debug.Stack())
				}
				c.done <- fnDone{fn: i, err: err}
			}()
			err = fns[i](ctx, qs[i])
		}()
	}
	for c.active > 0 {
		if ctx.Err() == nil && len(c.pending) > 0 && len(c.pending) >= c.active {
			reqs := c.pending
			c.pending = nil
			c.round(reqs)
			continue
		}
		select {
		case r := <-c.requests:
			c.pending = append(c.pending, r)
		case d := <-c.done:
			c.finished(d)
		}
		if ctx.Err() != nil {
			for _, r := range c.pending {
				r.reply <- pipeReply{err: ctx.Err()}
			}
			c.pending = nil
		}
	}
	// The first fn error wins: a sibling's "context canceled", caused by
	// that very error cancelling the round, must not mask it.
	if c.fnErr != nil {
		return c.fnErr
	}
	return c.queryErr
}

func (c *coordinator) finished(d fnDone) {
	c.active--
	if d.err != nil && c.fnErr == nil {
		c.fnErr = d.err
		c.cancel()
	}
}

// failed records a query error; the round's first one is the cause of any
// later ones in it.
func (rs *roundState) failed(sql string, err error) error {
	if err == nil {
		return nil
	}
	if rs.first != nil {
		return fmt.Errorf("skipped after an earlier query of the pipeline failed: %w", rs.first)
	}
	rs.first = pgerr.Map(rs.ctx, sql, err)
	if rs.c.autocommit {
		// One implicit transaction: a lost answer leaves all its writes unknown.
		outcome := sql
		if slices.ContainsFunc(rs.reqs, func(r pipeRequest) bool { return !sqllex.ReadOnly(r.sql) }) {
			outcome = ""
		}
		rs.first = autocommitOutcome(rs.ctx, outcome, rs.first)
	}
	if rs.c.queryErr == nil {
		rs.c.queryErr = rs.first
	}
	return rs.first
}

// round sends reqs as one batch and serves the results in order. Serving
// passes from goroutine to goroutine: the fn that lets go of its result
// reads the next one and hands it on (roundState.advance), so the
// coordinator is woken once per round, not once per query.
func (c *coordinator) round(reqs []pipeRequest) {
	ctx, cancel := withQueryTimeout(c.ctx, c.timeout)
	defer cancel()
	// In the order the fns were given, not the order their goroutines
	// happened to issue them: which statements a failure skips, and the
	// order of writes in a transaction, must not depend on scheduling.
	slices.SortFunc(reqs, func(a, b pipeRequest) int { return cmp.Compare(a.fn, b.fn) })
	batch := &pgx.Batch{}
	for _, r := range reqs {
		batch.Queue(r.sql, concreteArgs(r.args)...)
	}
	rs := &roundState{c: c, ctx: ctx, br: c.conn.SendBatch(ctx, batch), reqs: reqs, done: make(chan struct{})}
	rs.holder.Store(-1)
	rs.advance()
	c.waitRound(rs)
}

// roundState is one round being served. Only the goroutine holding the turn
// touches it (and the connection); the turn passes with the reply sent to
// the next fn, which orders the accesses.
type roundState struct {
	c      *coordinator
	ctx    context.Context // the round's: the fns' bounded by the timeout
	br     pgx.BatchResults
	reqs   []pipeRequest
	next   int
	first  error        // the first failed query of the round
	holder atomic.Int64 // the fn holding an unread result, or -1
	drop   func()       // closes that result unread, for a holder that died
	done   chan struct{}
}

// advance serves requests until one hands a result to its fn, or the round
// is over.
func (rs *roundState) advance() {
	c := rs.c
	for rs.next < len(rs.reqs) {
		r := rs.reqs[rs.next]
		rs.next++
		switch r.kind {
		case kindExec:
			tag, err := rs.br.Exec()
			r.reply <- pipeReply{tag: tag, err: rs.failed(r.sql, err)}
		default:
			// QueryRow too: pgx's batch QueryRow is Query with a Scan
			// that handoffRow does itself.
			rows, err := rs.br.Query()
			if err != nil {
				r.reply <- pipeReply{err: rs.failed(r.sql, err)}
				continue
			}
			h := &handoffRows{Rows: rows, ctx: rs.ctx, sql: r.sql, prior: rs.first, decs: c.decs}
			h.onRelease = func() {
				// pgx's own rows hold only what the server or the
				// connection reported: a value that failed to decode
				// here is the fn's error (handoffRows.decodeErr), and
				// the server ran the rest of the round.
				_ = rs.failed(r.sql, rows.Err())
				rs.advance()
			}
			rep := pipeReply{rows: h}
			if r.kind == kindRow {
				h.row.rows = h
				rep = pipeReply{row: &h.row}
			}
			rs.hand(r, rep, h.Close)
			return
		}
	}
	rs.holder.Store(-1)
	if err := rs.br.Close(); err != nil && rs.first == nil && c.queryErr == nil {
		c.queryErr = fmt.Errorf("pipeline: %w", err)
	}
	close(rs.done)
}

// hand gives r's fn its result and the turn.
func (rs *roundState) hand(r pipeRequest, rep pipeReply, drop func()) {
	rs.drop = drop
	rs.holder.Store(int64(r.fn))
	r.reply <- rep
}

// waitRound waits for the round to be served. Meanwhile other fns' next
// queries are queued for the next round; a query from the holder itself
// cannot be served before it lets go, so it fails. A holder that returns
// without letting go (a panic) has its result dropped, which moves the round
// on.
func (c *coordinator) waitRound(rs *roundState) {
	for {
		select {
		case <-rs.done:
			return
		case r := <-c.requests:
			if int64(r.fn) == rs.holder.Load() {
				r.reply <- pipeReply{err: errPipelineNested}
			} else {
				c.pending = append(c.pending, r)
			}
		case d := <-c.done:
			c.finished(d)
			if int64(d.fn) == rs.holder.Load() {
				rs.drop()
			}
		}
	}
}

// pipeDBTX is the DBTX a fn's Queries run on: each call joins the next round.
type pipeDBTX struct {
	requests chan<- pipeRequest
	fn       int
}

func (d pipeDBTX) submit(ctx context.Context, r pipeRequest) pipeReply {
	r.fn = d.fn
	r.reply = make(chan pipeReply, 1)
	if err := ctx.Err(); err != nil { // as pgx: a query on a dead context is not sent
		return pipeReply{err: pgerr.Map(ctx, r.sql, err)}
	}
	select {
	case d.requests <- r:
	case <-ctx.Done():
		return pipeReply{err: pgerr.Map(ctx, r.sql, ctx.Err())}
	}
	// The reply always comes: the coordinator answers every request it
	// took, also after cancellation.
	return <-r.reply
}

func (d pipeDBTX) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	rep := d.submit(ctx, pipeRequest{kind: kindExec, sql: sql, args: args})
	return rep.tag, rep.err
}

func (d pipeDBTX) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rep := d.submit(ctx, pipeRequest{kind: kindQuery, sql: sql, args: args})
	if rep.err != nil {
		return nil, rep.err
	}
	return rep.rows, nil
}

func (d pipeDBTX) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	rep := d.submit(ctx, pipeRequest{kind: kindRow, sql: sql, args: args})
	if rep.err != nil {
		return errRow{rep.err}
	}
	return rep.row
}

func (d pipeDBTX) CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error) {
	return 0, errPipelineUnsupported
}

func (d pipeDBTX) SendBatch(context.Context, *pgx.Batch) pgx.BatchResults {
	return errBatch{errPipelineUnsupported}
}
