package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/faultproxy"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// replicaReadSQL is a read Replicated sends to the standby: where it ran,
// and how many rows of token there are.
const replicaReadSQL = "SELECT pg_is_in_recovery(), (SELECT count(*)::int FROM retry_writes WHERE token = $1)"

// TestRetryPathReplicaRerun: with Replicated over a primary and a
// streaming standby, each behind a faultproxy. (1) A write on the primary
// whose reply is lost after it ran (Exec, and INSERT … RETURNING through
// QueryRow) fails with ErrConnectionLost, not safe to retry, and is not
// run again, on the primary or anywhere: writes are never rerun. (2) A
// read whose standby connection breaks after the read reached the standby
// and before any row came back is run again on the primary and returns
// the right answer; both when the break fails the statement's Prepare
// (not prepared on that connection yet) and when it fails its rows. (3)
// Writers and readers while connections to both servers are reset again
// and again: no write runs twice, every acknowledged write is there, reads
// return right answers (the primary's exact, the standby's possibly
// behind) or typed errors.
func TestRetryPathReplicaRerun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, standby := primaryAndStandby(t)
	clean := openT(t, primary.URL(), pgkit.Config{MaxConns: 2, ApplicationName: "retry-clean"})
	createRetryTable(t, clean)
	standbyClean := openT(t, standby.URL(), pgkit.Config{MaxConns: 2, ApplicationName: "retry-clean"})
	waitFor(t, 30*time.Second, func() bool { return stored(ctx, standbyClean, "none") == 0 }) // the table replicated
	pdsn, pp := proxied(t, primary.URL())
	sdsn, sp := proxied(t, standby.URL())
	tr := newFaultTracer()
	r := openWatched(t, pgkit.Config{MaxConns: 2, Tracer: tr, ApplicationName: "retry-replica", QueryTimeout: 30 * time.Second}, pdsn, sdsn)
	l := newLedger()

	// (1) Writes whose reply is lost, on the primary.
	for _, query := range []bool{false, true} {
		name := map[bool]string{false: "exec", true: "query"}[query]
		warmAll(t, ctx, l, r.Primary(), name)
		token := "lost-" + name
		err := loseReply(t, ctx, tr, pp, clean, token, func() error {
			if query {
				return l.queryRow(ctx, r, returningSQL, token, 1)
			}
			return l.exec(ctx, r, insertSQL, token, 1)
		})
		if !errors.Is(err, pgerr.ErrConnectionLost) || pgconn.SafeToRetry(err) {
			t.Errorf("%s: reply lost after the write ran on the primary: %v (SafeToRetry %v); want ErrConnectionLost, not safe to retry", name, err, pgconn.SafeToRetry(err))
		}
		if n := tr.startsOf(token); n != 1 {
			t.Errorf("%s: the write was started %d times, want once", name, n)
		}
	}

	// (2) Reads broken on the standby: run again on the primary, which has
	// each of these tokens once.
	for _, prepared := range []bool{false, true} {
		for _, token := range []string{"lost-exec", "warm-exec-query-0", "lost-query"} {
			onStandby, n, err := breakStandbyRead(t, ctx, r, tr, sp, standbyClean, token, prepared)
			if err != nil || onStandby || n != 1 {
				t.Errorf("read of %s (prepared %v) broken on the standby: on a standby %v, %d rows, %v; want it run again on the primary: false, 1 row, no error",
					token, prepared, onStandby, n, err)
			}
		}
	}

	// (3) Load while connections to both servers are reset.
	var reads, readFailures, writes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ackedMu sync.Mutex
	var ackedTokens []string
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				token := fmt.Sprintf("load%d-%d", w, i)
				var err error
				if i%2 == 0 {
					err = l.exec(ctx, r, insertSQL, token, i)
				} else {
					err = l.queryRow(ctx, r, returningSQL, token, i)
				}
				writes.Add(1)
				if err == nil {
					ackedMu.Lock()
					ackedTokens = append(ackedTokens, token)
					ackedMu.Unlock()
				}
			}
		})
	}
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ackedMu.Lock()
				if len(ackedTokens) == 0 {
					ackedMu.Unlock()
					time.Sleep(time.Millisecond)
					continue
				}
				token := ackedTokens[(g*7919+i)%len(ackedTokens)]
				ackedMu.Unlock()
				var onStandby bool
				var n int
				err := r.QueryRow(ctx, replicaReadSQL, token).Scan(&onStandby, &n)
				reads.Add(1)
				switch {
				case err != nil && typedFailure(err):
					readFailures.Add(1)
				case err != nil:
					t.Errorf("read of %s: untyped error %v", token, err)
				case n > 1 || (!onStandby && n != 1):
					t.Errorf("read of %s, acknowledged: %d rows (on a standby %v)", token, n, onStandby)
				}
			}
		})
	}
	for i := range 30 {
		time.Sleep(time.Duration(20+i%3*15) * time.Millisecond)
		[]*faultproxy.Proxy{pp, sp}[i%2].Reset()
	}
	close(stop)
	wg.Wait()
	acked, failed := l.check(t, clean)
	t.Logf("%d writes acknowledged, %d failed; under resets: %d writes, %d reads (%d failed, typed); proxies: primary %+v, standby %+v",
		acked, failed, writes.Load(), reads.Load(), readFailures.Load(), pp.Stats(), sp.Stats())
}

// warmAll prepares both writes on every connection of d's pool (its
// MaxConns), so that a write on any of them goes out whole (Bind, Execute,
// Sync) and runs.
func warmAll(t *testing.T, ctx context.Context, l *ledger, d *pgkit.DB, prefix string) {
	t.Helper()
	var held []interface{ Release() }
	defer func() {
		for _, c := range held {
			c.Release()
		}
	}()
	for i := range int(d.Pool().Config().MaxConns) {
		c, err := d.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if err := l.exec(ctx, c, insertSQL, fmt.Sprintf("warm-exec-%s-%d", prefix, i), 0); err != nil {
			t.Fatal(err)
		}
		if err := l.queryRow(ctx, c, returningSQL, fmt.Sprintf("warm-query-%s-%d", prefix, i), 0); err != nil {
			t.Fatal(err)
		}
	}
}

// breakStandbyRead reads token through r until a read reaches the standby
// (through sp) on a connection where replicaReadSQL is prepared already
// or not (prepared), and breaks it there: the proxy holds the standby's
// answer, and once the standby has answered (seen on standbyClean) resets
// the connection. It returns the read's outcome, and fails t unless the
// read was started a second time (on the primary).
func breakStandbyRead(t *testing.T, ctx context.Context, r *pgkit.Replicated, tr *faultTracer, sp *faultproxy.Proxy, standbyClean *pgkit.DB,
	token string, prepared bool) (onStandby bool, n int, err error) {
	t.Helper()
	type broken struct {
		pc   *faultproxy.Conn
		port int
		at   time.Time
	}
	for attempt := 0; ; attempt++ {
		if attempt == 100 {
			t.Fatalf("no read of %s (prepared %v) reached the standby in 100 attempts", token, prepared)
		}
		waitFor(t, 30*time.Second, func() bool { return r.ReplicaStats()[0].Healthy })
		sql := replicaReadSQL
		if !prepared {
			sql += " -- attempt " + strconv.Itoa(attempt) // a text this connection never prepared
		} else if attempt == 0 {
			for range 4 { // prepared on the standby's connections, most likely
				_ = r.QueryRow(ctx, sql, token).Scan(new(bool), new(int))
			}
		}
		hit := make(chan broken, 1)
		var once sync.Once
		tr.set(func(conn *pgx.Conn, s, tok string) {
			if tok != token || s != sql || tr.preparedOn(conn, sql) != prepared {
				return
			}
			pc := proxyConnOf(sp, conn)
			if pc == nil {
				return // on the primary
			}
			once.Do(func() {
				pc.Stall(faultproxy.ToClient)
				_, port, _ := net.SplitHostPort(pc.ServerAddr())
				p, _ := strconv.Atoi(port)
				hit <- broken{pc, p, time.Now()}
			})
		})
		starts := tr.startsOf(token)
		type outcome struct {
			onStandby bool
			n         int
			err       error
		}
		done := make(chan outcome, 1)
		go func() {
			var o outcome
			o.err = r.QueryRow(ctx, sql, token).Scan(&o.onStandby, &o.n)
			done <- o
		}()
		select {
		case b := <-hit:
			// The standby has the read, and answered: its backend went idle
			// since.
			waitFor(t, 20*time.Second, func() bool {
				var idle bool
				err := standbyClean.QueryRow(ctx, "SELECT count(*) = 1 FROM pg_stat_activity WHERE client_port = $1 AND state = 'idle' AND state_change > $2",
					b.port, b.at).Scan(&idle)
				return err == nil && idle
			})
			b.pc.Reset()
			o := <-done
			tr.set(nil)
			if got := tr.startsOf(token) - starts; got != 2 {
				t.Errorf("read of %s broken on the standby was started %d times, want twice: on the standby, then on the primary", token, got)
			}
			return o.onStandby, o.n, o.err
		case <-done: // not on the standby, or not as prepared asked: again
			tr.set(nil)
		}
	}
}
