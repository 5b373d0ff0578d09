package mux

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lane is one connection in pipeline mode, the goroutine that drives it
// (run: takes, encodes, reads) and its writer.
type lane struct {
	m    *Mux
	pc   *pgxpool.Conn
	conn *pgx.Conn
	pg   *pgconn.PgConn
	w    *writer
	wake chan struct{}
	head atomic.Pointer[request] // the statement whose result is being read

	progress       atomic.Int64 // messages read and writes done: cancel.go's give-up rule looks
	free           atomic.Int32 // statements it would take now (publish): the sweep looks
	cancelling     atomic.Int32 // cancel requests under way
	lastCancelDone atomic.Int64 // unix nanoseconds

	idle     bool // in m.idle; under m.mu
	retiring bool // ReleaseIdle, Reset or leave took it out; under m.mu
	unfit    bool // its server is no longer what the pool wants (Config.Unfit); lane goroutine only

	// lane goroutine only
	stmts        *connStmts
	inflight     int        // taken and not yet answered
	wire         []wireItem // encoded, results awaited in order; the first flushed of them handed to the writer
	flushed      int
	out          []byte                // encoded, not yet handed to the writer
	lastRead     time.Time             // when the last result ended, or the idle server was sent work
	slowInFlight int                   // statements known to be slow, written and not answered
	preparing    map[string][]*request // statements awaiting their Prepare
	orphans      []*request            // statements whose Prepare the broken connection lost: never sent
	eqb          pgx.ExtendedQueryBuilder
	batch        []*request
	slab         *slab // where row values go, see slab.go
}

func (l *lane) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// kick wakes an idle lane for queued work, or starts one when every lane
// is busy and the cap allows; m.mu is held.
func (m *Mux) kick() {
	if n := len(m.idle); n > 0 {
		l := m.idle[n-1]
		m.idle = m.idle[:n-1]
		l.idle = false
		l.poke()
		return
	}
	if len(m.lanes)+m.starting < m.maxLanes && len(m.queue) > m.starting {
		m.starting++
		go m.startLane()
	}
}

// startLane takes a pooled connection and starts a lane on it. When it
// cannot, and no lane is left to take the queue, the queued statements
// fail with its error (ErrPoolExhausted when transactions and streams hold
// every connection for the whole acquire timeout).
func (m *Mux) startLane() {
	pc, err := m.cfg.Acquire(m.ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.starting--
	if err == nil && m.closed {
		pc.Release()
		err = errClosed
	}
	if err != nil {
		if len(m.lanes) == 0 && m.starting == 0 {
			for _, req := range m.queue {
				m.answer(req, result{err: err})
			}
			clear(m.queue)
			m.queue = m.queue[:0]
		}
		return
	}
	conn := pc.Conn()
	if m.scanWraps.Load() == nil {
		wraps := slices.Clip(conn.TypeMap().TryWrapScanPlanFuncs)
		m.scanWraps.Store(&wraps)
	}
	stmts := m.conns[conn.PgConn()]
	if stmts == nil {
		stmts = &connStmts{byName: map[string]*stmt{}}
		m.conns[conn.PgConn()] = stmts
	}
	l := &lane{
		m: m, pc: pc, conn: conn, pg: conn.PgConn(), stmts: stmts,
		wake:      make(chan struct{}, 1),
		preparing: map[string][]*request{},
	}
	l.free.Store(int32(m.depth))
	l.w = newWriter(conn.PgConn().Conn(), &l.progress, &m.writes)
	m.lanes = append(m.lanes, l)
	go l.w.run()
	go l.run()
}

// run encodes queued statements, reads results in order, and gives the
// connection back once idle for its linger.
func (l *lane) run() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		batch, retire := l.take()
		if retire {
			l.retire()
			return
		}
		l.sendBatch(batch)
		l.flush()
		l.publish()
		if len(l.wire) > 0 {
			// Read half of what is in flight before taking more: new
			// statements then go out several to a write (one syscall),
			// while the other half keeps the server busy.
			for n := max(1, len(l.wire)/2); n > 0 && len(l.wire) > 0; n-- {
				l.flush() // a Prepare's waiting statements, or a resend
				if err := l.readOne(); err != nil {
					l.die(err)
					return
				}
				l.publish()
				if !l.unfit && l.m.cfg.Unfit != nil && l.m.cfg.Unfit(l.pg) {
					l.leave()
				}
			}
			continue
		}
		if len(batch) > 0 {
			continue // every one failed before it was sent; look again
		}
		timer.Reset(linger)
		select {
		case <-l.wake:
		case <-timer.C:
			if l.retireIfIdle() {
				return
			}
		}
		timer.Stop()
	}
}

// take returns queued statements, as many as the lane's depth has room
// for. With nothing to take and nothing on the wire the lane lists itself
// as idle; retire is true when the lane is done (the Mux is closing, or
// ReleaseIdle took it out).
func (l *lane) take() (batch []*request, retire bool) {
	m := l.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.retiring { // ReleaseIdle or Reset removed it: it takes no more
		if len(l.wire) > 0 || l.inflight > 0 {
			return nil, false // answers what it has first
		}
		return nil, true
	}
	// A fair share: the other lanes, busy or being started, take the rest
	// when they come to look, so that a burst is spread over the
	// connections rather than piled on the first that looks (behind a
	// slow statement, perhaps).
	//
	// A lane still waiting for results pipelines more only when every lane
	// is open and none is idle or starting: until then new statements go
	// to a free connection, never behind one that may be slow.
	lanes := len(m.lanes) + m.starting
	share := (len(m.queue) + lanes - 1) / lanes
	if l.inflight > 0 && (len(m.idle) > 0 || m.starting > 0 || len(m.lanes) < m.maxLanes) || l.slowInFlight > 0 {
		share = 0
	}
	n := min(m.depth-l.inflight, share)
	if n > 0 {
		batch = append(l.batch[:0], m.queue[:n]...)
		clear(m.queue[:n])
		m.queue = m.queue[n:]
		l.batch = batch
		l.inflight += n
		l.publish()
		for _, req := range batch {
			req.lane.Store(l)
		}
		return batch, false
	}
	if len(l.wire) > 0 || len(m.queue) > 0 {
		return nil, false
	}
	if m.closed {
		m.removeLane(l)
		return nil, true
	}
	if !l.idle {
		l.idle = true
		m.idle = append(m.idle, l)
	}
	return nil, false
}

// publish says how many statements the lane would take now, for the
// sweep (sweep.go), which reads it from other goroutines: its depth less
// what it holds, and none behind a statement known to be slow. The lane
// calls it wherever these change, before it blocks in a read: a result
// it reads may take any time, and statements queued meanwhile that it
// has room for are its to take next.
func (l *lane) publish() {
	free := l.m.depth - l.inflight
	if l.slowInFlight > 0 {
		free = 0
	}
	l.free.Store(int32(free))
}

// retireIfIdle gives the connection back if the lane is still idle after
// its linger.
func (l *lane) retireIfIdle() bool {
	m := l.m
	m.mu.Lock()
	if l.retiring {
		m.mu.Unlock()
		l.retire()
		return true
	}
	if !l.idle || len(m.queue) > 0 {
		m.mu.Unlock()
		return false
	}
	m.removeLane(l)
	m.mu.Unlock()
	l.retire()
	return true
}

// retire stops the writer and gives the connection back to the pool;
// every result has been read, so it is idle. A connection to a server
// that is no longer fit is closed instead, so the pool destroys it.
func (l *lane) retire() {
	l.w.stop()
	if l.unfit {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = l.pg.Close(ctx)
		cancel()
	}
	l.pc.Release()
}

// leave takes a lane whose server is no longer fit out of the lanes: it
// answers what it has, then retires; the queue goes to the others, or to
// a new lane on another connection.
func (l *lane) leave() {
	l.unfit = true
	m := l.m
	m.mu.Lock()
	m.removeLane(l)
	l.retiring = true
	if len(m.queue) > 0 {
		m.kick()
	}
	m.mu.Unlock()
}

// removeLane drops l from the lanes and the idle list; m.mu is held.
func (m *Mux) removeLane(l *lane) {
	if i := slices.Index(m.lanes, l); i >= 0 {
		m.lanes = slices.Delete(m.lanes, i, i+1)
	}
	if i := slices.Index(m.idle, l); i >= 0 {
		m.idle = slices.Delete(m.idle, i, i+1)
	}
	l.idle = false
}

// inFlightError is the error of a statement that was (or may have been)
// written when its connection broke: it may have run, so it is never safe
// to send again (pgconn.SafeToRetry reports false for it, whatever the
// error it wraps says).
type inFlightError struct{ err error }

func (e *inFlightError) Error() string {
	return "connection lost with the statement in flight: " + e.err.Error()
}
func (e *inFlightError) Unwrap() error     { return e.err }
func (e *inFlightError) SafeToRetry() bool { return false }

// die fails every statement that was handed to the writer with err, puts
// the ones not yet written back in the queue, and closes the connection.
func (l *lane) die(err error) {
	if werr := l.w.failed(); werr != nil {
		err = fmt.Errorf("write to the server: %w", werr)
	}
	lost := &inFlightError{err: err}
	unsent := l.orphans
	l.inflight -= len(l.orphans)
	for i, it := range l.wire {
		switch {
		case it.kind == itemQuery && i < l.flushed:
			l.deliver(it.req, result{err: lost})
		case it.kind == itemQuery:
			unsent = append(unsent, it.req)
			l.inflight--
		case it.kind == itemPrepare:
			unsent = append(unsent, l.preparing[it.sql]...)
			l.inflight -= len(l.preparing[it.sql])
		}
	}
	l.wire = nil
	_ = l.pg.Conn().SetDeadline(time.Unix(1, 0)) // unblocks the writer
	closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = l.pg.Close(closeCtx)
	cancel()
	l.w.stop()
	l.pc.Release()

	m := l.m
	m.mu.Lock()
	m.removeLane(l)
	m.stats.LanesLost++
	delete(m.conns, l.pg)
	m.queue = append(unsent, m.queue...)
	if len(m.queue) > 0 {
		m.planSweep()
		m.kick()
	}
	m.mu.Unlock()
}

// errOutOfStep is a connection whose messages do not match what the lane
// sent.
var errOutOfStep = errors.New("pgkit: multiplexed connection out of step")
