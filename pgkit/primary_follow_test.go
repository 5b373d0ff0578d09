package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// twoHostDSNs are the connection strings, by Pooler, naming both servers
// with target_session_attrs=read-write: straight to them, and through a
// PgBouncer in transaction mode in front of each.
func twoHostDSNs(t *testing.T, srv []*pgtemp.Server) map[pgkit.Pooler]string {
	t.Helper()
	var direct, bounced []string
	for _, s := range srv {
		bc, err := pgtemp.StartBouncer(context.Background(), s.URL(), "transaction", "postgres")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = bc.Stop() })
		direct, bounced = append(direct, hostOf(s.URL())), append(bounced, hostOf(bc.URL(s.URL())))
	}
	return map[pgkit.Pooler]string{
		pgkit.PoolerNone:        multiHost("read-write", direct...),
		pgkit.PoolerTransaction: multiHost("read-write", bounced...),
	}
}

// followCase is one Config combination of the tests of a pool meant for
// the primary.
type followCase struct {
	multiplex bool
	pooler    pgkit.Pooler
	timeout   time.Duration
}

func (c followCase) String() string {
	return fmt.Sprintf("multiplex=%v/pooler=%d/timeout=%s", c.multiplex, c.pooler, c.timeout)
}

func (c followCase) config(maxConns int32) pgkit.Config {
	return pgkit.Config{MaxConns: maxConns, Multiplex: c.multiplex, Pooler: c.pooler, QueryTimeout: c.timeout}
}

// followCases lists Multiplex × QueryTimeout, and × Pooler when
// withPooler (Multiplex behind a transaction pooler is refused by Open).
func followCases(withPooler bool) []followCase {
	poolers := []pgkit.Pooler{pgkit.PoolerNone}
	if withPooler {
		poolers = append(poolers, pgkit.PoolerTransaction)
	}
	var out []followCase
	for _, multiplex := range []bool{false, true} {
		for _, pooler := range poolers {
			for _, timeout := range []time.Duration{0, 5 * time.Second} {
				if multiplex && pooler == pgkit.PoolerTransaction {
					continue
				}
				out = append(out, followCase{multiplex, pooler, timeout})
			}
		}
	}
	return out
}

// TestPrimaryPoolSkipsReadOnlyIdleConnections: a pool on two hosts with
// target_session_attrs=read-write has idle connections on the first; the
// first turns read-only (as pg_auto_failover fences a node) and the second
// takes writes. Once the idle connections have been idle for a second,
// so that acquiring one pings it and the server's report of
// default_transaction_read_only is current, not one write fails: each
// such connection is closed instead of used, and writes reach the second
// host. Before, every write failed with SQLSTATE 25006 for as long as
// the idle connections lived. Multiplex × QueryTimeout, sequentially on
// the same two servers. Not behind PgBouncer: it gives a server
// connection's report of the change to the one client that used it
// first, so the others never learn it; there the 25006 rule applies
// (TestPrimaryPoolReadOnlyRefusalFollows).
func TestPrimaryPoolSkipsReadOnlyIdleConnections(t *testing.T) {
	t.Parallel()
	srv := startServers(t, 2)
	a, b := srv[0], srv[1]
	dsn := multiHost("read-write", hostOf(a.URL()), hostOf(b.URL()))
	for i, c := range followCases(false) {
		t.Run(c.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			d := openT(t, dsn, c.config(4))
			prefix := fmt.Sprintf("skip%d-", i)
			for j := range 4 {
				if port, err := writeAt(ctx, d, fmt.Sprintf("%sa%d", prefix, j), true); err != nil || port != a.Port() {
					t.Fatalf("write before: on port %d, %v; want port %d (the first host)", port, err, a.Port())
				}
			}
			warmPool(t, ctx, d, 4)
			setReadOnly(t, a.URL(), true)
			defer setReadOnly(t, a.URL(), false)
			time.Sleep(1100 * time.Millisecond)
			for j := range 20 {
				port, err := writeAt(ctx, d, fmt.Sprintf("%sb%d", prefix, j), j%2 == 1)
				if err != nil {
					t.Fatalf("write %d after the first host turned read-only: %v (SQLSTATE %s)", j, err, pgerr.SQLState(err))
				}
				if j%2 == 1 && port != b.Port() {
					t.Fatalf("write %d ran on port %d, want %d (the second host)", j, port, b.Port())
				}
			}
			if n := tokensOn(t, b.URL(), prefix+"b"); n != 20 {
				t.Fatalf("%d writes on the second host, want 20", n)
			}
		})
	}
}

// TestPrimaryPoolReadOnlyRefusalFollows: four goroutines write without
// pause through a pool on two hosts (target_session_attrs=read-write)
// while the first turns read-only. Its connections are never idle, so no
// report of the change reaches the pool before a write is refused there
// with SQLSTATE 25006: such a refusal must be an error that
// pgerr.IsWrongServerRole matches, and must drop the pool's connections
// so that writes go to the second host soon after. Before, the refusals
// were bare 25006 errors and every write failed for as long as the
// connections lived. Every Config combination (Multiplex × Pooler ×
// QueryTimeout; the pooler a PgBouncer in transaction mode in front of
// each host), sequentially on the same two servers.
func TestPrimaryPoolReadOnlyRefusalFollows(t *testing.T) {
	skipWithoutBouncer(t)
	t.Parallel()
	srv := startServers(t, 2)
	a, b := srv[0], srv[1]
	dsns := twoHostDSNs(t, srv)
	for i, c := range followCases(true) {
		t.Run(c.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			d := openT(t, dsns[c.pooler], c.config(4))
			prefix := fmt.Sprintf("refuse%d-", i)
			var onA, onB, refused atomic.Int64
			var mu sync.Mutex
			var wrong []error
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for w := range 4 {
				wg.Go(func() {
					for j := 0; ; j++ {
						select {
						case <-stop:
							return
						default:
						}
						port, err := writeAt(ctx, d, fmt.Sprintf("%s%d-%d", prefix, w, j), true)
						switch {
						case err == nil && port == a.Port():
							onA.Add(1)
						case err == nil && port == b.Port():
							onB.Add(1)
						case err != nil && pgerr.IsWrongServerRole(err) && pgerr.SQLState(err) == "25006":
							refused.Add(1)
						case err != nil:
							mu.Lock()
							wrong = append(wrong, err)
							mu.Unlock()
						}
					}
				})
			}
			waitFor(t, 15*time.Second, func() bool { return onA.Load() >= 20 })
			setReadOnly(t, a.URL(), true)
			defer setReadOnly(t, a.URL(), false)
			switched := time.Now()
			deadline := time.Now().Add(15 * time.Second)
			for onB.Load() < 20 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			close(stop)
			wg.Wait()
			t.Logf("%d writes on the first host, then %d refused (IsWrongServerRole), %d on the second host within %s of the switch",
				onA.Load(), refused.Load(), onB.Load(), time.Since(switched).Round(time.Millisecond))
			if len(wrong) > 0 {
				t.Errorf("%d writes failed otherwise than IsWrongServerRole with 25006: %v", len(wrong), errorsJoin(wrong, 3))
			}
			if onB.Load() < 20 {
				t.Fatalf("only %d writes reached the second host within 15s of the first turning read-only", onB.Load())
			}
		})
	}
}

// TestPrimaryPoolReadOnlyStormResetsRarely: through a pool on a read-only
// primary (target_session_attrs=primary, which a read-only primary
// satisfies), 1,000 writes from 8 goroutines are all refused with 25006;
// each refusal is typed (pgerr.IsWrongServerRole), and the pool's
// connections are dropped at most about once a second, not once per
// refusal: the connections it opened stay within MaxConns per second
// elapsed, plus slack. Before, the refusals were bare 25006 errors.
func TestPrimaryPoolReadOnlyStormResetsRarely(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	a := startServers(t, 1)[0]
	setReadOnly(t, a.URL(), true)
	const maxConns = 4
	d := openT(t, multiHost("primary", hostOf(a.URL())), pgkit.Config{MaxConns: maxConns})
	start := time.Now()
	var untyped atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for j := range 125 {
				_, err := writeAt(ctx, d, fmt.Sprintf("storm%d-%d", w, j), j%2 == 1)
				if err == nil || !pgerr.IsWrongServerRole(err) || pgerr.SQLState(err) != "25006" {
					untyped.Add(1)
					first.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	opened := d.Pool().Stat().NewConnsCount()
	t.Logf("1,000 refused writes in %s; the pool opened %d connections", elapsed.Round(time.Millisecond), opened)
	if n := untyped.Load(); n > 0 {
		t.Errorf("%d of 1,000 writes on a read-only primary did not fail with a 25006 that IsWrongServerRole matches; first: %v", n, *first.Load())
	}
	if bound := int64(maxConns * (int(elapsed/time.Second) + 3)); opened > bound {
		t.Errorf("the pool opened %d connections in %s: reset more than once a second (bound %d)", opened, elapsed, bound)
	}
}

// TestPrimaryPoolChecksIdleConnectionsAfterALoss: a pool on two hosts
// (target_session_attrs=read-write) has four connections on the first,
// idle for less than a second (so not pinged on acquire for their age),
// when the first turns read-only and a statement on that host loses its
// connection (its backend terminated). Having seen a connection lost,
// the pool checks each idle connection once before its next use (a
// round trip, which brings the server's current
// default_transaction_read_only), so not one of the writes that follow
// is refused: they reach the second host. Before, they failed with
// SQLSTATE 25006. Multiplex × QueryTimeout, sequentially (not behind
// PgBouncer: see TestPrimaryPoolSkipsReadOnlyIdleConnections).
func TestPrimaryPoolChecksIdleConnectionsAfterALoss(t *testing.T) {
	t.Parallel()
	srv := startServers(t, 2)
	a, b := srv[0], srv[1]
	dsn := multiHost("read-write", hostOf(a.URL()), hostOf(b.URL()))
	for i, c := range followCases(false) {
		t.Run(c.String(), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			d := openT(t, dsn, c.config(6))
			prefix := fmt.Sprintf("loss%d-", i)
			if port, err := writeAt(ctx, d, prefix+"a", true); err != nil || port != a.Port() {
				t.Fatalf("write before: on port %d, %v; want port %d", port, err, a.Port())
			}
			slept := make(chan error, 1)
			go func() {
				_, err := d.Exec(ctx, "SELECT pg_sleep(60) -- "+prefix)
				slept <- err
			}()
			var pid int
			waitFor(t, 20*time.Second, func() bool {
				return queryOn(ctx, a.URL(), "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60) -- '||$1 AND state = 'active'", prefix).Scan(&pid) == nil
			})
			warmPool(t, ctx, d, 4)
			warmed := time.Now()
			setReadOnly(t, a.URL(), true)
			defer setReadOnly(t, a.URL(), false)
			adminExec(t, a.URL(), fmt.Sprintf("SELECT pg_terminate_backend(%d)", pid))
			if err := <-slept; !errors.Is(err, pgerr.ErrConnectionLost) {
				t.Fatalf("the statement whose backend was terminated: %v, want ErrConnectionLost", err)
			}
			idle := time.Since(warmed)
			for j := range 8 {
				port, err := writeAt(ctx, d, fmt.Sprintf("%sb%d", prefix, j), j%2 == 1)
				if err != nil {
					t.Fatalf("write %d after the loss (connections idle %s): %v (SQLSTATE %s)", j, idle, err, pgerr.SQLState(err))
				}
				if j%2 == 1 && port != b.Port() {
					t.Fatalf("write %d ran on port %d, want %d", j, port, b.Port())
				}
			}
			if idle >= time.Second {
				t.Logf("the connections were idle %s: pinged for their age too, so this run did not tell the check after a loss apart", idle)
			}
		})
	}
}

// queryOn runs a one-row query on its own connection to url.
func queryOn(ctx context.Context, url, sql string, args ...any) pgx.Row {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return errRowT{err}
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		conn.Close(ctx)
		return errRowT{err}
	}
	return closingRow{rows: rows, conn: conn, ctx: ctx}
}

type errRowT struct{ err error }

func (r errRowT) Scan(...any) error { return r.err }

// closingRow scans the first row, then closes its connection.
type closingRow struct {
	rows pgx.Rows
	conn *pgx.Conn
	ctx  context.Context
}

func (r closingRow) Scan(dest ...any) error {
	defer r.conn.Close(r.ctx)
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	return r.rows.Scan(dest...)
}

// TestServerReportsRoleChanges checks what the pool's role check relies
// on, on PostgreSQL itself: a session reports in_hot_standby and
// default_transaction_read_only (PostgreSQL 14+) at start, and again in
// the round trip after either changed: a promoted standby's existing
// sessions report in_hot_standby=off, a session on a server made
// read-only by a reload reports default_transaction_read_only=on, in
// both cases only once they sent something. A demoted primary (stopped,
// to come back as a standby) ends its sessions: they see the connection
// lost.
func TestServerReportsRoleChanges(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, standby := primaryAndStandby(t)
	connect := func(url string) *pgx.Conn {
		c, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close(context.Background()) })
		return c
	}
	report := func(c *pgx.Conn) string {
		return "in_hot_standby=" + c.PgConn().ParameterStatus("in_hot_standby") +
			" default_transaction_read_only=" + c.PgConn().ParameterStatus("default_transaction_read_only")
	}
	expect := func(what string, c *pgx.Conn, want string) {
		t.Helper()
		if got := report(c); got != want {
			t.Errorf("%s: %s, want %s", what, got, want)
		}
	}
	onStandby, onPrimary := connect(standby.URL()), connect(primary.URL())
	expect("a session on the standby", onStandby, "in_hot_standby=on default_transaction_read_only=off")
	expect("a session on the primary", onPrimary, "in_hot_standby=off default_transaction_read_only=off")

	setReadOnly(t, primary.URL(), true)
	expect("the primary's idle session after the reload", onPrimary, "in_hot_standby=off default_transaction_read_only=off")
	if err := onPrimary.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	expect("the primary's session after a round trip", onPrimary, "in_hot_standby=off default_transaction_read_only=on")
	setReadOnly(t, primary.URL(), false)

	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	expect("the promoted standby's idle session", onStandby, "in_hot_standby=on default_transaction_read_only=off")
	if err := onStandby.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	expect("the promoted standby's session after a round trip", onStandby, "in_hot_standby=off default_transaction_read_only=off")

	if err := primary.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := onPrimary.Ping(ctx); !errors.Is(pgerr.Map(ctx, "", err), pgerr.ErrConnectionLost) {
		t.Errorf("a session of the stopped primary: %v, want the connection lost", err)
	}
}
