package pgkit

// The acquire timeout without a timer per acquire.
//
// Every wait for a pooled connection is bounded by AcquireTimeout. A
// context.WithTimeout per acquire costs a runtime timer, and adding a
// timer to a processor's empty timer heap wakes another thread (the
// runtime's wakeNetPoller: a futex or eventfd write), so on the healthy
// path, an idle connection taken at once, that wake-up was the largest
// part of what pgkit added to a statement (issue 18). So the acquires
// that start within one grain (AcquireTimeout/16) of each other share one
// deadline, AcquireTimeout after the grain's end, on one context whose
// one timer fires then: an acquire waits at least AcquireTimeout and at
// most a sixteenth more, never less. That is one timer per grain however
// many statements, and none while the DB is idle.
//
// Not "try without a bound first, then bound the wait": pgxpool has no
// TryAcquire (puddle's is not exposed), and a connection seen idle in
// Stat may be taken by another caller before ours gets it, which would
// leave ours waiting unbounded. A bound that is always there but costs no
// timer leaves nothing to race.
//
// The context an acquire waits with, given the caller's:
//   - a deadline that ends before the acquire timeout would: the caller's,
//     as it is (nothing derived); one that ends within the grain after it
//     (rare): context.WithTimeout as before, so that the pool-exhausted
//     error comes when it came;
//   - no Done channel (context.Background, WithoutCancel, values only):
//     the shared context, with the caller's values;
//   - else (a request's context: cancellable, with no deadline or a later
//     one): a child of the shared context, with the caller's values, that
//     the caller's end also cancels (context.AfterFunc: for the standard
//     library's contexts no timer and no goroutine, only registrations).
// The wait's context reports context.DeadlineExceeded and the shared
// deadline when the acquire timeout ends it, as a WithTimeout's would,
// and errAcquireTimedOut as its cause (context.Cause): whichever of the
// acquire timeout and the caller's own end came first is recorded there
// when it happens, so a busy machine that runs the caller late, after
// both, cannot turn a pool-exhausted wait into the caller's deadline.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// errAcquireTimedOut is the cause of a wait's context that the acquire
// timeout ended (never returned to a caller: bounded turns it into
// *PoolExhaustedError).
var errAcquireTimedOut = errors.New("pgkit: acquire timeout")

// acquireGrains is how many grains one AcquireTimeout has: the shared
// deadlines are at most AcquireTimeout/acquireGrains late.
const acquireGrains = 16

// acquireClock hands out the shared deadlines of a DB's acquires.
type acquireClock struct {
	timeout time.Duration
	grain   time.Duration
	cur     atomic.Pointer[acquireTick] // the newest deadline; nil at first
	mu      sync.Mutex                  // serializes making the next one
}

// acquireTick is one shared deadline: ctx ends at end, with
// context.DeadlineExceeded, by its own timer.
type acquireTick struct {
	ctx    context.Context
	cancel context.CancelFunc // never needed: ctx's timer releases it
	end    time.Time
}

func newAcquireClock(timeout time.Duration) *acquireClock {
	return &acquireClock{timeout: timeout, grain: timeout / acquireGrains}
}

// tick is a shared deadline no earlier than now plus the timeout, made
// when the newest one is too early.
func (k *acquireClock) tick(now time.Time) *acquireTick {
	due := now.Add(k.timeout)
	if t := k.cur.Load(); t != nil && !t.end.Before(due) {
		return t
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if t := k.cur.Load(); t != nil && !t.end.Before(due) {
		return t // another caller made it meanwhile
	}
	end := due.Add(k.grain)
	ctx, cancel := context.WithDeadlineCause(context.Background(), end, errAcquireTimedOut)
	t := &acquireTick{ctx: ctx, cancel: cancel, end: end}
	k.cur.Store(t)
	return t
}

// acquireWait is the context one acquire waits with; end releases it
// once the acquire returned.
type acquireWait struct {
	ctx    context.Context
	cancel context.CancelFunc // of a child of the shared context, or nil
	stop   func() bool        // unregisters from the caller's context, or nil
}

// timedOut reports whether the acquire timeout ended the wait, before the
// caller's context ended (if it has since, the wait still ended first).
func (w acquireWait) timedOut() bool {
	return w.ctx.Err() != nil && context.Cause(w.ctx) == errAcquireTimedOut
}

func (w acquireWait) end() {
	if w.stop != nil {
		w.stop()
	}
	if w.cancel != nil {
		w.cancel()
	}
}

// wait is the context an acquire for caller waits with (see the top of
// this file).
func (k *acquireClock) wait(caller context.Context) acquireWait {
	now := time.Now()
	dl, hasDeadline := caller.Deadline()
	if hasDeadline && !dl.After(now.Add(k.timeout)) {
		return acquireWait{ctx: caller}
	}
	t := k.tick(now)
	if hasDeadline && !dl.After(t.end) {
		ctx, cancel := context.WithTimeoutCause(caller, k.timeout, errAcquireTimedOut)
		return acquireWait{ctx: ctx, cancel: cancel}
	}
	if caller.Done() == nil {
		if caller == context.Background() {
			return acquireWait{ctx: t.ctx}
		}
		return acquireWait{ctx: &waitCtx{Context: t.ctx, values: caller}}
	}
	if caller.Err() != nil {
		return acquireWait{ctx: caller} // over already: pgxpool fails at once
	}
	child, cancel := context.WithCancel(t.ctx)
	stop := context.AfterFunc(caller, cancel)
	return acquireWait{ctx: &waitCtx{Context: child, values: caller}, cancel: cancel, stop: stop}
}

// waitCtx waits as its Context and holds the values of the caller's: the
// tracer's span, the caller's keys, reach pgxpool's hooks as before.
type waitCtx struct {
	context.Context // Deadline, Done, Err: the shared context or a child of it
	values          context.Context
}

// Value is the caller's value for key. Its Context, made by the context
// package over context.Background, holds no value but the context
// package's own key, by which a context derived from this one (pgconn's
// context.AfterFunc for BEGIN) finds the one it ends with and registers
// there instead of starting a goroutine to watch Done.
func (c *waitCtx) Value(key any) any {
	if v := c.Context.Value(key); v != nil {
		return v
	}
	return c.values.Value(key)
}
