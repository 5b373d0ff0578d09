package pgkit

// Reconnecting without a stampede. While connecting to the server fails
// (it is down, starting, full, or not of the role target_session_attrs
// asks for: a failover without a primary yet), a DB makes one connection
// attempt at a time, the delay between attempts growing from
// reconnectMin to reconnectMax, jittered. A caller that would need a new
// connection meanwhile waits for the next attempt (within its context and
// AcquireTimeout) and takes its outcome: it goes ahead when the attempt
// connected, and fails with the attempt's error when it did not. So
// during an outage callers fail within one delay, typed, and the server
// sees one attempt per delay however many callers there are; once it
// accepts connections again, they all go ahead within one delay.
//
// Written here rather than taken from a library: the gate has to sit
// around pgxpool's Acquire, which makes the connections, and pgxpool has
// no hook after a failed attempt; its BeforeConnect could delay attempts
// but never learn their outcome.
//
// The healthy path costs one atomic load per acquire: no lock, no timer.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Bounds of the delay between connection attempts while connecting fails:
// it starts at reconnectMin and doubles up to reconnectMax, each wait a
// random part of it, between half and all of it, so that processes that
// lost their server together do not come back in step. The cap keeps a
// new primary waiting at most reconnectMax for the next attempt.
const (
	reconnectMin = 25 * time.Millisecond
	reconnectMax = 250 * time.Millisecond
)

// connectGate paces the connection attempts of a DB whose last attempt
// failed.
type connectGate struct {
	failing atomic.Bool // the last connection attempt failed
	// probe makes one connection attempt (an acquire, the connection
	// given back to the pool idle when made) and returns its error.
	probe  func() error
	closed chan struct{} // closed by close: no more attempts

	mu    sync.Mutex
	round *connectRound // the attempt scheduled or under way; nil when none
	delay time.Duration // the current backoff
	next  time.Time     // not before then, the next attempt
	last  error         // the last attempt's error
	shut  bool          // close was called
}

// connectRound is one attempt that callers wait for.
type connectRound struct {
	done chan struct{} // closed when the attempt ended
	err  error         // its error; nil when it connected
}

func newConnectGate(probe func() error) *connectGate {
	return &connectGate{probe: probe, closed: make(chan struct{})}
}

// newGate is d's reconnect gate. Its attempt is an acquire of d's pool,
// which makes a connection when none is idle, the connection given back;
// bounded by ConnectTimeout for each host of the connection string.
func (d *DB) newGate() *connectGate {
	cc := d.pool.Config().ConnConfig
	timeout := time.Duration(1+len(cc.Fallbacks))*max(cc.ConnectTimeout, DefaultConnectTimeout) + time.Second
	return newConnectGate(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		c, err := acquirePool(ctx, d.pool)
		if err != nil {
			return err
		}
		c.Release()
		return nil
	})
}

// wouldConnect reports whether an acquire now may make a new connection:
// none is idle, and not all are in use (those being made count: an
// acquire waits for one of them, and makes its own if it fails). With
// every connection in use, an acquire waits for one to come back.
func (d *DB) wouldConnect() bool {
	st := d.pool.Stat()
	return st.IdleConns() == 0 && st.AcquiredConns() < st.MaxConns()
}

// pass runs acquire, which takes a pooled connection with the context it
// is given, through the gate: at once while connecting works, or when
// wouldConnect says the pool has a connection to give (or none it may
// make); else once the next attempt connected, or with its error.
func (g *connectGate) pass(ctx context.Context, wouldConnect func() bool, acquire func(context.Context) error) error {
	for g.failing.Load() && wouldConnect() {
		r := g.join()
		select {
		case <-r.done:
		case <-ctx.Done():
			return g.waitError(ctx)
		}
		if r.err != nil {
			return &reconnectError{last: r.err}
		}
	}
	err := acquire(ctx)
	if err != nil && ctx.Err() == nil && connectFailed(err) {
		g.failed(err)
	}
	return err
}

// join returns the attempt callers wait for, scheduling one after the
// delay when none is.
func (g *connectGate) join() *connectRound {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.round != nil {
		return g.round
	}
	r := &connectRound{done: make(chan struct{})}
	g.round = r
	if g.shut {
		g.end(r, errClosedDB)
		return r
	}
	wait := time.Until(g.next)
	go g.attempt(r, wait)
	return r
}

// attempt makes round r's connection attempt after wait.
func (g *connectGate) attempt(r *connectRound, wait time.Duration) {
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-g.closed:
			t.Stop()
			g.mu.Lock()
			g.end(r, errClosedDB)
			g.mu.Unlock()
			return
		}
	}
	err := g.probe()
	g.mu.Lock()
	defer g.mu.Unlock()
	if err == nil {
		g.delay, g.last = 0, nil
		g.failing.Store(false)
	} else {
		g.backoff(err)
	}
	g.end(r, err)
}

// end closes round r with err; g.mu is held.
func (g *connectGate) end(r *connectRound, err error) {
	r.err = err
	if g.round == r {
		g.round = nil
	}
	close(r.done)
}

// failed notes an acquire that could not connect while the gate was
// open: the first failure starts the backoff.
func (g *connectGate) failed(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.failing.Load() {
		g.backoff(err)
	}
	g.last = err
}

// backoff grows the delay and schedules the next attempt after a failed
// one; g.mu is held.
func (g *connectGate) backoff(err error) {
	g.delay = min(max(2*g.delay, reconnectMin), reconnectMax)
	g.next = time.Now().Add(g.delay/2 + rand.N(g.delay/2+1))
	g.last = err
	g.failing.Store(true)
}

// close ends a scheduled attempt and makes no more: the DB is closing.
func (g *connectGate) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.shut {
		g.shut = true
		close(g.closed)
	}
}

// waitError is the error of an acquire whose context ended while it waited
// for the next attempt: the last attempt's error, so that the caller sees
// why.
func (g *connectGate) waitError(ctx context.Context) error {
	g.mu.Lock()
	last := g.last
	g.mu.Unlock()
	if last == nil {
		return ctx.Err()
	}
	return &reconnectError{last: last}
}

// errClosedDB is the outcome of an attempt the closing DB called off.
var errClosedDB = errors.New("pgkit: the DB is closed")

// connectFailed reports an acquire that failed because pgx could not
// connect: refused, timed out, the server starting, shutting down or full,
// or not of the role target_session_attrs asks for.
func connectFailed(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}

// reconnectError is an acquire that waited for a connection attempt while
// connecting kept failing, and got its failure (or its context ended
// first). It unwraps to the attempt's error (a *pgconn.ConnectError, as a
// rule), so pgerr.IsTransient or pgerr.IsWrongServerRole match it as they
// match that error.
type reconnectError struct{ last error }

// Error says that connecting fails, and the last attempt's error.
func (e *reconnectError) Error() string {
	return fmt.Sprintf("connecting keeps failing (one attempt at a time, at most %s apart); the last attempt: %v", reconnectMax, e.last)
}

// Unwrap gives the last attempt's error.
func (e *reconnectError) Unwrap() error { return e.last }
