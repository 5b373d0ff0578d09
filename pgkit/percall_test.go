package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// What pgkit adds to each statement (issue 18). The figures are
// BenchmarkPerStatement's and BenchmarkAcquireRelease's; these tests pin
// the rules that keep them low, and that the bound on the wait for a
// connection still holds for every kind of caller's context.

// TestBusyConnectionsSkipThePeek: a connection taken again within a
// millisecond of its release, as a busy pool's are, is handed out without
// the system call that looks at its socket; one idle longer is looked at,
// so a dead one is still pinged (and replaced) before use. Before, every
// acquire made the system call: a few microseconds of each statement.
func TestBusyConnectionsSkipThePeek(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgkittest.EmptyURL(t)
	for _, v := range []struct{ name, dsn string }{{"plain", url}, {"read-write", url + sepOf(url) + "target_session_attrs=read-write"}} {
		d, err := pgkit.Open(ctx, v.dsn, pgkit.Config{MaxConns: 1, ApplicationName: "peeked"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := d.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d.PingsForTest(ctx, c, 10*time.Microsecond) || d.PingsForTest(ctx, c, 5*time.Millisecond) {
			t.Fatalf("%s: a healthy connection is pinged before a second of idleness", v.name)
		}
		// The server ends the session: its goodbye waits on the socket.
		var pid int
		if err := c.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		adminExec(t, url, fmt.Sprintf("SELECT pg_terminate_backend(%d, 10000)", pid))
		for deadline := time.Now().Add(10 * time.Second); !d.PingsForTest(ctx, c, 5*time.Millisecond); {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the terminated session's connection is never found dead", v.name)
			}
			time.Sleep(5 * time.Millisecond)
		}
		// Meant for the primary, a pool that just found a dead connection
		// pings every connection idle since (role.go): be past that.
		time.Sleep(20 * time.Millisecond)
		if d.PingsForTest(ctx, c, 10*time.Microsecond) {
			t.Errorf("%s: a connection released 10µs ago is looked at: a system call on every acquire of a busy pool", v.name)
		}
		_ = c.Conn().Close(ctx)
		c.Release()
		d.Close()
	}
}

// sepOf is what appends a parameter to url.
func sepOf(url string) string {
	if strings.Contains(url, "?") {
		return "&"
	}
	return "?"
}

// TestHealthyAcquireAllocatesNothing: taking an idle connection and giving
// it back, as every statement does, allocates nothing with a background
// context (no timer, no context per acquire; pgxpool's own Acquire does
// not allocate either). Before, each acquire made a context with a timer
// (5 allocations, and a timer that woke another thread) and the liveness
// peek 3 more. Not parallel: the allocations counted are the process's.
func TestHealthyAcquireAllocatesNothing(t *testing.T) {
	ctx := context.Background()
	d, err := pgkit.Open(ctx, pgkittest.EmptyURL(t), pgkit.Config{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.AcquireReleaseForTest(ctx); err != nil {
		t.Fatal(err)
	}
	var failed error
	allocs := testing.AllocsPerRun(500, func() {
		if err := d.AcquireReleaseForTest(ctx); err != nil {
			failed = err
		}
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if allocs > 1 {
		t.Errorf("an acquire and release allocate %.1f times, want at most 1", allocs)
	}
}

// TestStatementAllocatesAsPgx: a statement through the DB allocates at
// most once more than the same statement on its bare pgxpool (QueryRow's
// rows and row are one allocation, as pgx's; Exec none more). Before,
// QueryRow allocated 10 times more and Exec 8 (the acquire's context and
// timer, the rows and the row apart). Not parallel: the allocations
// counted are the process's.
func TestStatementAllocatesAsPgx(t *testing.T) {
	ctx := context.Background()
	d, err := pgkit.Open(ctx, pgkittest.EmptyURL(t), pgkit.Config{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, st := range []struct {
		name string
		run  func(pgkit.DBTX) error
	}{
		{"QueryRow", func(db pgkit.DBTX) error {
			var n int
			return db.QueryRow(ctx, "SELECT 1+1").Scan(&n)
		}},
		{"Exec", func(db pgkit.DBTX) error {
			_, err := db.Exec(ctx, "SELECT $1::int", 7)
			return err
		}},
	} {
		var failed error
		allocs := func(db pgkit.DBTX) float64 {
			_ = st.run(db) // prepared, and its connection warm
			return testing.AllocsPerRun(200, func() {
				if err := st.run(db); err != nil {
					failed = err
				}
			})
		}
		pool, ours := allocs(d.Pool()), allocs(d)
		if failed != nil {
			t.Fatal(failed)
		}
		if ours > pool+1 {
			t.Errorf("%s allocates %.1f times through the DB, %.1f on its pgxpool: want at most 1 more", st.name, ours, pool)
		}
	}
}

// acquireValueKey is a context key that TestAcquireWaitByCallerContext's
// tracer looks for.
type acquireValueKey struct{}

// valueTracer records whether acquires' contexts carried acquireValueKey.
type valueTracer struct{ seen chan any }

func (v *valueTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (v *valueTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (v *valueTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	select {
	case v.seen <- ctx.Value(acquireValueKey{}):
	default:
	}
	return ctx
}
func (v *valueTracer) TraceAcquireEnd(context.Context, *pgxpool.Pool, pgxpool.TraceAcquireEndData) {}

// TestAcquireWaitByCallerContext: on a full pool, the wait for a
// connection ends as the caller's context says, whichever kind it is: with
// ErrPoolExhausted no sooner than AcquireTimeout when the caller would
// wait longer (a background context, values only, a cancellable one, one
// with a later deadline, one whose deadline is only just later), with the
// caller's own error when its deadline comes first or it is cancelled;
// and the caller's values reach pgxpool's hooks.
func TestAcquireWaitByCallerContext(t *testing.T) {
	t.Parallel()
	const timeout = 200 * time.Millisecond
	tr := &valueTracer{seen: make(chan any, 1)}
	d, err := pgkit.Open(context.Background(), pgkittest.EmptyURL(t), pgkit.Config{MaxConns: 1, AcquireTimeout: timeout, Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	held, err := d.Pool().Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	<-tr.seen // that acquire's
	bg := context.Background()
	var cancel lateCancel
	lateExhausted := 0
	for _, c := range []struct {
		name      string
		ctx       func() (context.Context, context.CancelFunc)
		exhausted bool
		want      error // the caller's error, when not exhausted
	}{
		{"background", func() (context.Context, context.CancelFunc) { return bg, func() {} }, true, nil},
		{"values", func() (context.Context, context.CancelFunc) {
			return context.WithValue(bg, acquireValueKey{}, "mine"), func() {}
		}, true, nil},
		{"cancellable", func() (context.Context, context.CancelFunc) { return context.WithCancel(bg) }, true, nil},
		{"later deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(bg, time.Hour) }, true, nil},
		{"deadline just later", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(bg, timeout+justLater)
		}, true, nil},
		{"earlier deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(bg, timeout/4) }, false, context.DeadlineExceeded},
		{"cancelled while waiting", func() (context.Context, context.CancelFunc) {
			return cancel.after(context.WithValue(bg, acquireValueKey{}, "mine"), timeout/4)
		}, false, context.Canceled},
	} {
		ctx, stop := c.ctx()
		took, late, err := cancel.waitEnd(t, c.name, d, ctx, stop, timeout, c.exhausted, c.want)
		lateExhausted += late
		if c.exhausted && err != nil && !strings.Contains(err.Error(), "no connection free after 200ms (1 of 1 in use)") {
			t.Errorf("%s: error text %q", c.name, err)
		}
		if took > timeout+10*time.Second {
			t.Errorf("%s: waited %s", c.name, took) // a hang, not a slow machine
		}
		if v := <-tr.seen; strings.Contains(c.name, "values") && v != "mine" {
			t.Errorf("%s: pgxpool's acquire hook saw the value %v, want the caller's", c.name, v)
		}
	}
	if st := d.Stats(); st.Exhausted != int64(5+lateExhausted) || st.Canceled != int64(2-lateExhausted) {
		t.Errorf("stats %s: want %d exhausted, %d canceled (the caller's deadline, the caller's cancel)", st, 5+lateExhausted, 2-lateExhausted)
	}
}

// justLater is how much later than the acquire timeout the "deadline just
// later" cases' deadline is: late enough that the time between making the
// context and the wait's start (which a busy machine may stretch to a few
// scheduler slices) does not make it the earlier one, early enough that a
// late wake-up on a busy machine finds both expired.
const justLater = 100 * time.Millisecond

// lateCancel cancels a context after a while and tells whether the cancel
// came too late to be the first end of a wait bounded by an acquire
// timeout: a busy machine may run the timer after the timeout, and then
// ErrPoolExhausted is the right answer, not the caller's cancel.
type lateCancel struct {
	start time.Time
	fired chan time.Time // when after's cancel ran; nil once waitEnd took it
}

// after is ctx cancelled after d, counted from now.
func (l *lateCancel) after(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(ctx)
	l.start, l.fired = time.Now(), make(chan time.Time, 1)
	time.AfterFunc(d, func() { l.fired <- time.Now(); cancel() })
	return c, cancel
}

// waitEnd runs SELECT 1 on d with ctx, ends ctx with stop, and fails t
// unless the wait for room ended as wanted: with ErrPoolExhausted no
// sooner than timeout when exhausted, else with want (and not
// ErrPoolExhausted); or, when ctx was after's and its cancel ran after the
// acquire timeout, with either end: late is 1 when that gave
// ErrPoolExhausted.
func (l *lateCancel) waitEnd(t *testing.T, name string, d *pgkit.DB, ctx context.Context, stop context.CancelFunc,
	timeout time.Duration, exhausted bool, want error) (took time.Duration, late int, err error) {
	t.Helper()
	start := time.Now()
	_, err = d.Exec(ctx, "SELECT 1")
	took = time.Since(start)
	stop()
	if l.fired != nil {
		at := <-l.fired // the cancel has run
		l.fired = nil
		if at.Sub(l.start) >= timeout && errors.Is(err, pgkit.ErrPoolExhausted) {
			exhausted, late = true, 1 // the cancel ran after the acquire timeout: either end is right
		}
	}
	switch {
	case exhausted && !errors.Is(err, pgkit.ErrPoolExhausted):
		t.Errorf("%s: %v, want ErrPoolExhausted", name, err)
	case exhausted && took < timeout:
		t.Errorf("%s: ErrPoolExhausted after %s, before the AcquireTimeout of %s", name, took, timeout)
	case !exhausted && (errors.Is(err, pgkit.ErrPoolExhausted) || !errors.Is(err, want)):
		t.Errorf("%s: %v, want %v", name, err, want)
	}
	return took, late, err
}
