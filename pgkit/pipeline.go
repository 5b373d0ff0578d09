package pgkit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
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
// How it works: fns[0] runs in the caller's goroutine, every other fn in
// its own; a query a fn issues waits until every fn still running has
// issued one too (or returned), then the caller's goroutine sends all
// waiting queries as one batch, and each fn in turn reads its own result
// straight off the connection (no copy), while the others wait for
// theirs. No goroutine of Pipeline's own stands between them. A fn that
// issues a second query takes part in the next round. So a fn must
// issue its queries one after another (not from goroutines of its own: a
// query issued while another of the same fn waits, or after the fn
// returned, is an error) and should not block on anything but its
// queries, or it holds up the round. The context a fn passes to a query
// is checked when the query is issued; once sent with its round, the query
// runs under Pipeline's context and Config.QueryTimeout, not a deadline
// the fn added for it alone.
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
	p := &pipe{replies: make([]chan pipeReply, len(fns))}
	qs := make([]Q, len(fns))
	for i := range fns {
		q, err := bind(newQ, pipeDBTX{p: p, fn: i})
		if err != nil {
			return err
		}
		qs[i] = q
		p.replies[i] = make(chan pipeReply, 1)
	}
	conn, pooled, err := connOf(ctx, src)
	if err != nil {
		return err
	}
	if pooled != nil {
		defer pooled.Release()
	}
	return runPipeline(ctx, p, conn, queryTimeoutOf(src), decodersOf(src), pooled != nil, fns, qs)
}

// request kinds
const (
	kindQuery = iota
	kindRow
	kindExec
)

// pipeRequest is one query a fn issued, waiting for its round.
type pipeRequest struct {
	fn   int
	kind int
	sql  string
	args []any
}

// pipeReply is what a fn's goroutine is woken with: the result of its
// query; or, for the caller's goroutine (fn 0's), a round to send or the
// end of the call.
type pipeReply struct {
	rows  *handoffRows
	row   *handoffRow
	tag   pgconn.CommandTag
	err   error
	round []pipeRequest // to send (to the caller's goroutine only)
	done  bool          // every fn has returned, no round is left (to the caller's only)
}

var (
	errPipelineUnsupported = errors.New("pipeline: COPY and :batch queries cannot run inside Pipeline; call them outside it")
	errPipelineNested      = errors.New("pipeline: a query was issued while a result of the same fn was still open (a Stream inside Pipeline?)")
	errPipelineOverlap     = errors.New("pipeline: a fn issued a query while another of its queries was waiting for its answer, or after the fn had returned: a fn's queries must be issued one after another from the fn itself, not from goroutines of its own")
)

// pipe is one Pipeline call. The caller's goroutine sends each round (its
// stack has grown already, a fn's new goroutine would grow its own for
// pgx's send path), and the turn to read the connection then passes from
// fn to fn with the results (roundState): only the goroutine holding the
// turn touches the connection. Whichever goroutine completes a round wakes
// the caller's with it (replies[0]): one hand-off per round, one per
// result, one at the end. mu guards the fields below it.
type pipe struct {
	ctx        context.Context
	cancel     context.CancelFunc
	conn       batchSender
	timeout    time.Duration    // bounds each round whose ctx has no deadline (Config.QueryTimeout)
	decs       decoders         // src's Config.Decoders, or nil
	autocommit bool             // on a pooled connection: a lost round's outcome is unknown (autocommitOutcome)
	replies    []chan pipeReply // per fn, each holding at most one reply; replies[0] is the caller's goroutine's
	holder     atomic.Int64     // the fn holding an unread result, or -1
	drop       func()           // closes that result unread, for a holder that returns
	queryErr   error            // the first query that failed, returned when no fn failed: written by the turn's holder

	mu      sync.Mutex
	active  int    // fns still running
	state   []byte // per fn: fnRunning, fnWaiting (a query of it queued or being answered), fnDone
	pending []pipeRequest
	serving bool  // a round is being served
	fnErr   error // the first error a fn returned: Pipeline's error
}

func runPipeline[Q any](parent context.Context, p *pipe, conn batchSender, timeout time.Duration, decs decoders, autocommit bool, fns []func(context.Context, Q) error, qs []Q) error {
	n := len(fns)
	ctx, cancel := context.WithCancel(gently(parent))
	defer cancel()
	p.ctx, p.cancel, p.conn, p.timeout, p.decs, p.autocommit = ctx, cancel, conn, timeout, decs, autocommit
	p.active = n
	p.state = make([]byte, n)
	p.holder.Store(-1)
	run := func(i int) {
		var err error
		returned := false
		defer func() {
			r := recover()
			switch {
			case r != nil:
				err = fmt.Errorf("pipeline: fn %d panicked: %v\n%s", i, r, debug.Stack())
			case !returned:
				// runtime.Goexit (t.FailNow in a test's fn): the other
				// fns are cancelled, and on the caller's goroutine the
				// call ends before it does, so that no fn is left on a
				// connection gone back to the pool.
				err = fmt.Errorf("pipeline: fn %d called runtime.Goexit", i)
			}
			p.finished(i, err)
			if i == 0 && !returned && r == nil {
				p.wait()
			}
		}()
		err = fns[i](ctx, qs[i])
		returned = true
	}
	for i := 1; i < n; i++ {
		go run(i)
	}
	run(0)
	p.wait()
	// The first fn error wins: a sibling's "context canceled", caused by
	// that very error cancelling the round, must not mask it.
	if p.fnErr != nil {
		return p.fnErr
	}
	return p.queryErr
}

// wait sends the rounds the other fns complete, on the caller's goroutine,
// until every fn has returned and no round is left.
func (p *pipe) wait() {
	for rep := range p.replies[0] {
		if rep.done {
			return
		}
		p.serve(0, rep.round)
	}
}

// finished records that fn i returned err, and passes on the round its
// return completes, if any.
func (p *pipe) finished(i int, err error) {
	if p.holder.Load() == int64(i) {
		// It returned holding a result (a panic): dropping the result
		// moves the round on.
		p.drop()
	}
	p.mu.Lock()
	p.active--
	p.state[i] = fnDone
	if err != nil && p.fnErr == nil {
		p.fnErr = err
		p.cancel()
	}
	reqs := p.takeLocked()
	p.mu.Unlock()
	p.dispatch(i, reqs)
}

// takeLocked returns the next round's requests, once every fn still
// running has issued one (or nil: not yet, or a round is being served),
// and tells the caller's goroutine once there is nothing left to serve. After the
// cancellation of the call, the waiting requests get its error instead.
func (p *pipe) takeLocked() []pipeRequest {
	if p.serving {
		return nil
	}
	if err := p.ctx.Err(); err != nil && len(p.pending) > 0 {
		for _, r := range p.pending {
			p.replies[r.fn] <- pipeReply{err: err}
		}
		p.pending = nil
	}
	if p.active == 0 {
		p.replies[0] <- pipeReply{done: true}
		return nil
	}
	if len(p.pending) == 0 || len(p.pending) < p.active {
		return nil
	}
	reqs := p.pending
	p.pending = nil
	p.serving = true
	return reqs
}

// dispatch has the round reqs (if any) sent by the caller's goroutine:
// at once when self, the fn whose goroutine this is, is fn 0.
func (p *pipe) dispatch(self int, reqs []pipeRequest) {
	switch {
	case reqs == nil:
	case self == 0:
		p.serve(0, reqs)
	default:
		// The caller's goroutine waits: it is in fn 0's query, which
		// the round needs, or fn 0 has returned.
		p.replies[0] <- pipeReply{round: reqs}
	}
}

// serve sends reqs as a round (from the caller's goroutine: self is 0),
// and the rounds that follow while no fn takes the turn (every result of
// the round was an Exec's).
func (p *pipe) serve(self int, reqs []pipeRequest) {
	for reqs != nil {
		if !p.round(reqs).advance(self) {
			return // a fn holds the turn; it serves the rest
		}
		reqs = p.roundOver()
	}
}

// roundOver ends the round being served and returns the next one's
// requests, if they are all there.
func (p *pipe) roundOver() []pipeRequest {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serving = false
	return p.takeLocked()
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
	rs.first = pgerr.Map(rs.mapCtx(), sql, err)
	if rs.p.autocommit {
		// One implicit transaction: a lost answer leaves all its writes unknown.
		outcome := sql
		if slices.ContainsFunc(rs.reqs, func(r pipeRequest) bool { return !sqllex.ReadOnly(r.sql) }) {
			outcome = ""
		}
		rs.first = autocommitOutcome(rs.mapCtx(), outcome, rs.first)
	}
	if rs.p.queryErr == nil {
		rs.p.queryErr = rs.first
	}
	return rs.first
}

// round sends reqs as one batch. Serving its results passes from goroutine
// to goroutine: the fn that lets go of its result reads the next one and
// hands it on (roundState.advance).
func (p *pipe) round(reqs []pipeRequest) *roundState {
	ctx, cancel := withQueryTimeout(p.ctx, p.timeout)
	// In the order the fns were given, not the order their goroutines
	// happened to issue them: which statements a failure skips, and the
	// order of writes in a transaction, must not depend on scheduling.
	slices.SortFunc(reqs, func(a, b pipeRequest) int { return cmp.Compare(a.fn, b.fn) })
	batch := &pgx.Batch{}
	for _, r := range reqs {
		batch.Queue(r.sql, concreteArgs(r.args)...)
	}
	return &roundState{p: p, ctx: ctx, cancel: cancel, br: p.conn.SendBatch(ctx, batch), reqs: reqs}
}

// roundState is one round being served. Only the goroutine holding the turn
// touches it (and the connection); the turn passes with the reply sent to
// the next fn, which orders the accesses.
type roundState struct {
	p      *pipe
	ctx    context.Context // the round's: the fns' bounded by the timeout
	cancel context.CancelFunc
	br     pgx.BatchResults
	reqs   []pipeRequest
	next   int
	first  error // the first failed query of the round
}

// mapCtx is the context the round's errors are typed with (pgerr.Map
// names the context's error as a cause when it has ended): the round's,
// unless the round has ended it itself (cancel, once its last result is
// read), which is no cause of anything; then the fns' context, whose end
// (the caller's cancellation, a fn's error) is.
func (rs *roundState) mapCtx() context.Context {
	if errors.Is(rs.ctx.Err(), context.Canceled) {
		return rs.p.ctx
	}
	return rs.ctx
}

// advance serves requests, from the goroutine of fn self, until one hands
// a result to its fn (false), or the round is over (true).
func (rs *roundState) advance(self int) bool {
	p := rs.p
	for rs.next < len(rs.reqs) {
		r := rs.reqs[rs.next]
		rs.next++
		switch r.kind {
		case kindExec:
			tag, err := rs.br.Exec()
			p.replies[r.fn] <- pipeReply{tag: tag, err: rs.failed(r.sql, err)}
		default:
			// QueryRow too: pgx's batch QueryRow is Query with a Scan
			// that handoffRow does itself.
			rows, err := rs.br.Query()
			if err != nil {
				p.replies[r.fn] <- pipeReply{err: rs.failed(r.sql, err)}
				continue
			}
			h := &handoffRows{Rows: rows, round: rs, sql: r.sql, prior: rs.first, decs: p.decs}
			h.onRelease = func() {
				// pgx's own rows hold only what the server or the
				// connection reported: a value that failed to decode
				// here is the fn's error (handoffRows.decodeErr), and
				// the server ran the rest of the round.
				_ = rs.failed(r.sql, rows.Err())
				if rs.advance(r.fn) {
					p.dispatch(r.fn, p.roundOver())
				}
			}
			rep := pipeReply{rows: h}
			if r.kind == kindRow {
				h.row.rows = h
				rep = pipeReply{row: &h.row}
			}
			// The turn goes with the result.
			p.drop = h.Close
			p.holder.Store(int64(r.fn))
			p.replies[r.fn] <- rep
			return false
		}
	}
	p.holder.Store(-1)
	if err := rs.br.Close(); err != nil && rs.first == nil && p.queryErr == nil {
		p.queryErr = fmt.Errorf("pipeline: %w", err)
	}
	rs.cancel()
	return true
}

// pipeDBTX is the DBTX a fn's Queries run on: each call joins the next round.
type pipeDBTX struct {
	p  *pipe
	fn int
}

func (d pipeDBTX) submit(ctx context.Context, r pipeRequest) pipeReply {
	if err := ctx.Err(); err != nil { // as pgx: a query on a dead context is not sent
		return pipeReply{err: pgerr.Map(ctx, r.sql, err)}
	}
	p := d.p
	if p.holder.Load() == int64(d.fn) {
		// Its own open result would have to be read first.
		return pipeReply{err: errPipelineNested}
	}
	r.fn = d.fn
	p.mu.Lock()
	if p.state[d.fn] != fnRunning {
		// Queued beside its other query, it would take that one's turn
		// and reply; after its fn returned, no round would wait for it.
		p.mu.Unlock()
		return pipeReply{err: errPipelineOverlap}
	}
	p.state[d.fn] = fnWaiting
	p.pending = append(p.pending, r)
	reqs := p.takeLocked()
	p.mu.Unlock()
	p.dispatch(d.fn, reqs)
	// The reply always comes: every request taken is answered, also
	// after cancellation. The caller's goroutine sends rounds meanwhile.
	for {
		rep := <-p.replies[d.fn]
		if rep.round == nil {
			p.mu.Lock()
			if p.state[d.fn] == fnWaiting {
				p.state[d.fn] = fnRunning
			}
			p.mu.Unlock()
			return rep
		}
		p.serve(0, rep.round)
	}
}

// The states of a fn (pipe.state).
const (
	fnRunning byte = iota
	fnWaiting
	fnDone
)

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
