package mux

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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
	st   *stmt     // its fields and types (shared, read-only): nil unless it succeeded
	seg  segment   // the rows, or the first of them (slab.go)
	more []segment // the rest of the rows, when they did not fit in seg's slab
	rows int       // in all the segments
	tag  pgconn.CommandTag
	err  error
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
	res.release() // rows of an Exec are not read
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
	if m.pending.Load() < m.room() && len(m.waitq) == 0 {
		m.pending.Add(1)
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
	m.waiting.Store(int32(len(m.waitq)))
	m.stats.Waited++
	// A lane may have answered without m.mu since pending was looked at
	// (answerDirect): the room it left goes to the first waiter now.
	if m.grant(); w.granted {
		return nil
	}
	m.mu.Unlock()
	var timeout <-chan time.Time
	if m.cfg.AcquireTimeout >= 0 {
		t := time.NewTimer(m.cfg.AcquireTimeout - time.Since(start))
		defer t.Stop()
		timeout = t.C
	}
	var err error
	exhausted, woken := false, false
	select {
	case <-w.ch:
		woken = true
	case <-ctx.Done():
	case <-timeout:
	}
	if !woken {
		// Either end, or both when a busy machine runs us late (select
		// then picks at random): firstEnd decides which came first.
		exhausted, err = m.firstEnd(ctx, start)
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
			m.waiting.Store(int32(len(m.waitq)))
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

// firstEnd is how a wait that started at start ended, once the acquire
// timeout or ctx has: (true, nil) for the acquire timeout, (false,
// ctx.Err()) for the caller's end. Both may be over when a busy machine runs
// the waiter late, so the order is decided from the times, not from which
// channel select chose: a deadline later than the acquire timeout's came
// second; an earlier deadline, or a cancel (whose time is not known: the
// caller gave up, either answer is true), is the caller's.
func (m *Mux) firstEnd(ctx context.Context, start time.Time) (exhausted bool, err error) {
	err = ctx.Err()
	if err == nil {
		return true, nil // the timer alone
	}
	if dl, ok := ctx.Deadline(); ok && m.cfg.AcquireTimeout >= 0 && errors.Is(err, context.DeadlineExceeded) &&
		dl.After(start.Add(m.cfg.AcquireTimeout)) {
		return true, nil
	}
	return false, err
}

// room is how many statements may be admitted and not yet answered.
func (m *Mux) room() int64 { return int64(m.maxLanes * m.depth) }

// release frees the slot of an answered statement: it goes to the first
// waiter, if any; m.mu is held.
func (m *Mux) release() {
	m.pending.Add(-1)
	m.grant()
}

// grant admits the waiters, oldest first, that the room allows; m.mu is
// held.
func (m *Mux) grant() {
	for len(m.waitq) > 0 && !m.closed && m.pending.Load() < m.room() {
		w := m.waitq[0]
		m.waitq[0] = nil
		m.waitq = m.waitq[1:]
		m.waiting.Store(int32(len(m.waitq)))
		m.pending.Add(1)
		w.granted = true
		close(w.ch)
	}
}

// answer hands req its result; m.mu is held. The slot is freed before
// the caller is woken, so that a caller with its answer never finds its
// own slot still taken (a caller that asks again at once would wait for
// room, and fail if the lane that answered it were held up).
func (m *Mux) answer(req *request, res result) {
	req.res = res
	req.finished.Store(true)
	m.release()
	m.wake(req)
}

// answerDirect is answer for a lane, without m.mu: taken only when
// callers wait for room, so that answers are not a lock every statement
// passes through. A caller that starts to wait as the slot is freed sees
// either the lower pending (waitForRoom's grant) or is seen here
// (waiting): both are sequentially consistent atomics. The slot is freed
// before the caller is woken, as in answer.
func (m *Mux) answerDirect(req *request, res result) {
	req.res = res
	req.finished.Store(true)
	m.pending.Add(-1)
	if m.waiting.Load() > 0 {
		m.mu.Lock()
		m.grant()
		m.mu.Unlock()
	}
	m.wake(req)
}

// wake hands the caller of req the result set on it. Nothing of the
// answer may come after it: the caller may at once reuse req, and ask
// again.
func (m *Mux) wake(req *request) {
	req.done <- struct{}{}
	if testHookWoken != nil {
		testHookWoken()
	}
}

// testHookWoken, when set (by tests only, before any statement), runs
// after a caller is woken with its answer: a test holds the answering
// goroutine there to look at what the caller finds.
var testHookWoken func()
