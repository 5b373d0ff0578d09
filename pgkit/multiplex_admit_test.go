package pgkit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestMultiplexStatementWaitsForTheLaneReading: a statement admitted
// while the only lane, with room left in its depth, reads the result of a
// statement not yet known to be slow is that lane's to take once the
// result arrives, however long that is: it does not fail with
// ErrPoolExhausted after AcquireTimeout (the lane takes statements only
// between results). It used to fail, every time, whenever it came after
// the lane had written the long one: TestMultiplexFullIsPoolExhausted's
// second statement sometimes did, and that test failed.
func TestMultiplexStatementWaitsForTheLaneReading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const app = "mux-lane-reading"
	url := pgkittest.URL(t, kitdb.Migrations())
	open := func(cfg pgkit.Config) *pgkit.DB {
		d, err := pgkit.Open(ctx, url, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		return d
	}
	mx := open(pgkit.Config{MaxConns: 2, MultiplexConns: 1, MultiplexDepth: 2, Multiplex: true,
		AcquireTimeout: 100 * time.Millisecond, ApplicationName: app})
	plain := open(pgkit.Config{MaxConns: 1})
	// The lane connected first (see TestMultiplexFullIsPoolExhausted).
	waitFor(t, 30*time.Second, func() bool { _, err := mx.Exec(ctx, "SELECT 1"); return err == nil })
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := mx.Exec(ctx, "SELECT pg_sleep(1)"); err != nil {
			t.Error("the long statement:", err)
		}
	})
	// Written, and running on the server: the lane reads its result now,
	// and takes nothing before it has.
	waitFor(t, 30*time.Second, func() bool {
		var n int
		err := plain.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep'", app).Scan(&n)
		return err == nil && n == 1
	})
	var n int
	if err := mx.QueryRow(ctx, "SELECT 2").Scan(&n); err != nil || n != 2 {
		t.Errorf("statement admitted while the lane read a long result: %d, %v", n, err)
	}
	wg.Wait()
	if st := mx.MultiplexStats(); st.Exhausted != 0 {
		t.Errorf("%d statements exhausted: %+v", st.Exhausted, st)
	}
}

// TestMultiplexAdmissionWaitByCallerContext: on a full multiplexer, the
// wait for room ends as on a full pool (TestAcquireWaitByCallerContext):
// ErrPoolExhausted no sooner than AcquireTimeout when the caller would
// wait longer, also when its deadline is only just later (a late wake-up
// on a busy machine finds both expired: the acquire timeout came first),
// and the caller's own error when its deadline comes first or it cancels.
func TestMultiplexAdmissionWaitByCallerContext(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const app, timeout = "mux-admission-ctx", 200 * time.Millisecond
	url := pgkittest.URL(t, kitdb.Migrations())
	mx, err := pgkit.Open(ctx, url, pgkit.Config{MaxConns: 2, MultiplexConns: 1, MultiplexDepth: 1, Multiplex: true,
		AcquireTimeout: timeout, ApplicationName: app})
	if err != nil {
		t.Fatal(err)
	}
	defer mx.Close()
	plain, err := pgkit.Open(ctx, url, pgkit.Config{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	waitFor(t, 30*time.Second, func() bool { _, err := mx.Exec(ctx, "SELECT 1"); return err == nil })
	long, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = mx.Exec(long, "SELECT pg_sleep(120)") }) // fills the only lane's depth; cancelled at the end
	defer wg.Wait()
	defer stop()
	waitFor(t, 30*time.Second, func() bool {
		var n int
		err := plain.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event = 'PgSleep'", app).Scan(&n)
		return err == nil && n == 1
	})
	var cancel lateCancel
	lateExhausted := 0
	for _, c := range []struct {
		name      string
		ctx       func() (context.Context, context.CancelFunc)
		exhausted bool
		want      error
	}{
		{"background", func() (context.Context, context.CancelFunc) { return ctx, func() {} }, true, nil},
		{"later deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, time.Hour) }, true, nil},
		{"deadline just later", func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, timeout+justLater) }, true, nil},
		{"earlier deadline", func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, timeout/4) }, false, context.DeadlineExceeded},
		{"cancelled while waiting", func() (context.Context, context.CancelFunc) { return cancel.after(ctx, timeout/4) }, false, context.Canceled},
	} {
		for range 5 { // the just-later case races a timer against a deadline: ask it often
			cctx, stop := c.ctx()
			_, late, _ := cancel.waitEnd(t, c.name, mx, cctx, stop, timeout, c.exhausted, c.want)
			lateExhausted += late
		}
	}
	if st := mx.MultiplexStats(); st.Exhausted != int64(15+lateExhausted) {
		t.Errorf("%d exhausted, want %d: %+v", st.Exhausted, 15+lateExhausted, st)
	}
}
