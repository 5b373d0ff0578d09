package pgkit

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// How a statement whose context ended is stopped when the context asks for
// it gently (Gather and Pipeline give their functions such contexts; see
// gently).
const (
	// gentleCancelDelay is how long the statement may go on by itself
	// first: a result the server has already sent (a sibling reading its
	// last rows) is read to its end, at no cost to the server.
	gentleCancelDelay = 50 * time.Millisecond
	// gentleCancelGrace is how long the server then has to answer the
	// cancel request and end the statement before the connection is given
	// up, as pgx does at once: a frozen server cannot hold the caller
	// longer than this.
	gentleCancelGrace = 2 * time.Second
)

// gentleKey marks a context whose statements are cancelled gently.
type gentleKey struct{}

// gently returns ctx marked so that, on the pools Open and ParseConfig
// make, a statement running when ctx ends is cancelled on the server (a
// CancelRequest, as psql's Ctrl-C sends) and its connection kept, instead
// of being closed, which is what pgx does by default and what costs the
// pool a new session for every sibling Gather and Pipeline cancel.
func gently(ctx context.Context) context.Context {
	if ctx.Value(gentleKey{}) != nil {
		return ctx
	}
	return context.WithValue(ctx, gentleKey{}, true)
}

// buildCancelWatcher is the pgconn.Config.BuildContextWatcherHandler of
// pgkit's pools.
func buildCancelWatcher(pg *pgconn.PgConn) ctxwatch.Handler { return &cancelWatcher{pg: pg} }

// cancelWatcher is what a connection does when the context of the statement
// it runs ends. A context that is not marked gently gets pgx's default
// (pgconn.DeadlineContextWatcherHandler with no delay): the connection's
// read is interrupted at once and pgx closes the connection. A gentle one
// gets a cancel request to the server after gentleCancelDelay, unless the
// statement ended by itself before; the statement then fails with SQLSTATE
// 57014 and the connection stays in the pool.
//
// It is hand-written rather than pgx's CancelRequestContextWatcherHandler,
// which is the same idea with two costs this one avoids: it sends the
// cancel request for every cancelled statement, also one whose result has
// already arrived, and it holds every cancelled statement's caller at least
// 100 ms, which pgx needs because it may stop waiting for the server's
// acknowledgement of the request. This one always waits for it (up to the
// grace) before the connection runs anything else, and gives the
// connection up when the server did not acknowledge it in time. The
// acknowledgement (the server closing the cancel connection) comes after
// the backend was signalled, and a backend that has already finished the
// statement ignores the signal while it waits for the next command, so an
// acknowledged request cannot cancel a later statement.
//
// A wait for something the server may never send, such as
// WaitForNotification, under a gentle context ends with the grace's
// deadline rather than at once.
//
// pgconn calls HandleCancel from a goroutine of its own and then
// HandleUnwatchAfterCancel from the statement's goroutine once the former
// has returned, one statement at a time, so the fields need no lock.
type cancelWatcher struct {
	pg  *pgconn.PgConn
	cur *gentleCancel // the gentle cancellation of the statement, or nil
}

// gentleCancel is one statement's gentle cancellation.
type gentleCancel struct {
	pg        *pgconn.PgConn
	timer     *time.Timer   // sends the cancel request after the delay
	sent      chan struct{} // closed once the request is answered or given up
	confirmed bool          // the server acknowledged the request; read after sent
}

// HandleCancel implements ctxwatch.Handler.
func (w *cancelWatcher) HandleCancel(ctx context.Context) {
	if ctx.Value(gentleKey{}) == nil {
		_ = w.pg.Conn().SetDeadline(time.Now())
		return
	}
	c := &gentleCancel{pg: w.pg, sent: make(chan struct{})}
	c.timer = time.AfterFunc(gentleCancelDelay, c.send)
	w.cur = c
}

// send asks the server to cancel the statement and waits for its
// acknowledgement, bounding the statement by the grace meanwhile.
func (c *gentleCancel) send() {
	defer close(c.sent)
	deadline := time.Now().Add(gentleCancelGrace)
	_ = c.pg.Conn().SetDeadline(deadline)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// pgx returns nil also when it stopped waiting for the server's
	// acknowledgement: the deadline says which it was.
	err := c.pg.CancelRequest(ctx)
	c.confirmed = err == nil && ctx.Err() == nil
}

// HandleUnwatchAfterCancel implements ctxwatch.Handler: the statement is
// over, its result read or failed.
func (w *cancelWatcher) HandleUnwatchAfterCancel() {
	c := w.cur
	w.cur = nil
	if c == nil {
		_ = w.pg.Conn().SetDeadline(time.Time{})
		return
	}
	if c.timer.Stop() {
		return // it ended by itself: nothing was sent, no deadline set
	}
	<-c.sent
	if !c.confirmed {
		// The request may still reach the server and cancel whatever
		// the connection runs next: give the connection up (the pool
		// drops a closed connection when it is released).
		_ = c.pg.Conn().SetDeadline(time.Unix(1, 0))
		_ = c.pg.Close(context.Background())
		return
	}
	_ = c.pg.Conn().SetDeadline(time.Time{})
}
