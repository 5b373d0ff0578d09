package mux

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// request is one statement on its way through a lane.
type request struct {
	ctx   context.Context
	sql   string
	args  []any
	start time.Time // when the caller asked: admission is bounded from here

	lane          atomic.Pointer[lane]
	abandoned     atomic.Bool // the caller's context ended; nobody reads the result
	finished      atomic.Bool // answered (cancel.go's timers look)
	watched       atomic.Bool // the give-up rule is armed for it
	cancelPlanned atomic.Bool // a cancel is planned for it
	resent        int         // lane goroutine only
	tctx          context.Context

	done chan struct{} // receives once res is set; capacity 1, so a request can be reused
	res  result
}

// result is what a statement produced: rows copied out of the connection's
// buffer, or its command tag, or its error.
type result struct {
	fields []pgconn.FieldDescription // shared, read-only
	types  []*pgtype.Type            // stmt.types: shared, read-only
	values [][]byte                  // rows × len(fields)
	rows   int                       // counted apart: a row may have no columns
	tag    pgconn.CommandTag
	err    error
}

// getRequest takes a request from the multiplexer's pool: answered
// requests are reused (their channel too), two allocations fewer per
// statement. Abandoned ones are not, as a lane or a timer may still hold
// them.
func (m *Mux) getRequest() *request {
	if req, ok := m.reqs.Get().(*request); ok {
		return req
	}
	return &request{done: make(chan struct{}, 1)}
}

func (m *Mux) putRequest(req *request) {
	done := req.done
	req.lane.Store(nil)
	req.finished.Store(false)
	req.watched.Store(false)
	req.cancelPlanned.Store(false)
	*req = request{done: done}
	m.reqs.Put(req)
}

// Query runs one statement on a lane and returns its rows, all in memory.
func (m *Mux) Query(ctx context.Context, sql string, args []any) (*Rows, error) {
	res, err := m.do(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	return &Rows{m: m, ctx: ctx, res: res}, nil
}

// Exec runs one statement on a lane and returns its command tag.
func (m *Mux) Exec(ctx context.Context, sql string, args []any) (pgconn.CommandTag, error) {
	res, err := m.do(ctx, sql, args)
	return res.tag, err
}

// do runs one statement on a lane and waits for its result or for ctx.
func (m *Mux) do(ctx context.Context, sql string, args []any) (result, error) {
	if err := m.info(sql).refused; err != nil {
		return result{}, err
	}
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	req := m.getRequest()
	req.ctx, req.sql, req.args, req.start = ctx, sql, args, time.Now()
	if err := m.enqueue(ctx, req); err != nil {
		m.putRequest(req)
		return result{}, err
	}
	select {
	case <-req.done:
		res := req.res
		m.putRequest(req)
		return res, res.err
	case <-ctx.Done():
	}
	// The caller leaves at once. The lane reads the result and drops it;
	// if the statement is running, it is cancelled on the server unless it
	// ends by itself first (cancel.go).
	req.abandoned.Store(true)
	if l := req.lane.Load(); l != nil {
		l.watch(req)
	}
	return result{}, ctx.Err()
}

// enqueue admits req when fewer than maxLanes × depth statements are
// unanswered, waiting for room at most the acquire timeout, and makes sure
// a lane will take it.
func (m *Mux) enqueue(ctx context.Context, req *request) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return errClosed
	}
	if m.pending < m.maxLanes*m.depth && len(m.waitq) == 0 {
		m.pending++
	} else if err := m.waitForRoom(ctx, req.start); err != nil { // returns with m.mu held and a slot, or unlocked
		return err
	}
	m.stats.Statements++
	m.queue = append(m.queue, req)
	m.planSweep()
	m.kick()
	m.mu.Unlock()
	return nil
}

// waiter is a caller waiting for room, first come first served: a slot
// freed goes to the longest waiter directly (no herd of waiters woken to
// race for it, and no caller overtaken for ever).
type waiter struct {
	ch      chan struct{} // closed when granted a slot, or when the Mux closes
	granted bool          // under m.mu
}

// waitForRoom queues the caller for a slot, m.mu held; it returns nil with
// m.mu held and the slot counted in pending, or an error with m.mu
// released: the context's, Config.Exhausted's once the acquire timeout
// (counted from start) has passed, or errClosed.
func (m *Mux) waitForRoom(ctx context.Context, start time.Time) error {
	w := &waiter{ch: make(chan struct{})}
	m.waitq = append(m.waitq, w)
	m.stats.Waited++
	m.mu.Unlock()
	var timeout <-chan time.Time
	if m.cfg.AcquireTimeout >= 0 {
		t := time.NewTimer(m.cfg.AcquireTimeout - time.Since(start))
		defer t.Stop()
		timeout = t.C
	}
	var err error
	exhausted := false
	select {
	case <-w.ch:
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		exhausted = true
	}
	m.mu.Lock()
	switch {
	case w.granted && err == nil && !m.closed:
		return nil // granted, also when the timer fired meanwhile
	case w.granted:
		m.release() // granted as the caller gave up: pass the slot on
	default:
		if i := slices.Index(m.waitq, w); i >= 0 {
			m.waitq = slices.Delete(m.waitq, i, i+1)
		}
	}
	if exhausted && !m.closed {
		m.stats.Exhausted++
		m.mu.Unlock()
		return m.cfg.Exhausted()
	}
	m.mu.Unlock()
	if err == nil {
		err = errClosed
	}
	return err
}

// release frees the slot of an answered statement: it goes to the first
// waiter, if any; m.mu is held.
func (m *Mux) release() {
	if len(m.waitq) > 0 && !m.closed {
		w := m.waitq[0]
		m.waitq[0] = nil
		m.waitq = m.waitq[1:]
		w.granted = true
		close(w.ch)
		return
	}
	m.pending--
}

// answer hands req its result; m.mu is held.
func (m *Mux) answer(req *request, res result) {
	req.res = res
	req.finished.Store(true)
	req.done <- struct{}{}
	m.release()
}

// planSweep makes sure the queue's statements that no lane takes within
// the acquire timeout fail then (sweep); m.mu is held. Admitted does not
// mean taken: behind slow statements, every lane may stay at its depth.
func (m *Mux) planSweep() {
	if m.sweeping || m.cfg.AcquireTimeout < 0 || len(m.queue) == 0 {
		return
	}
	m.sweeping = true
	oldest := m.queue[0].start
	for _, req := range m.queue[1:] { // giveBack puts statements back in front
		if req.start.Before(oldest) {
			oldest = req.start
		}
	}
	time.AfterFunc(max(m.cfg.AcquireTimeout-time.Since(oldest), time.Millisecond), m.sweep)
}

// sweep fails the queued statements that have waited the whole acquire
// timeout since their callers asked, and plans the next sweep.
func (m *Mux) sweep() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweeping = false
	var expired []*request
	kept := m.queue[:0]
	for _, req := range m.queue {
		if time.Since(req.start) >= m.cfg.AcquireTimeout && !m.closed {
			expired = append(expired, req)
			continue
		}
		kept = append(kept, req)
	}
	clear(m.queue[len(kept):])
	m.queue = kept
	for _, req := range expired {
		m.stats.Exhausted++
		m.answer(req, result{err: m.cfg.Exhausted()})
	}
	m.planSweep()
}
