package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestMultiplexLargeArgumentsBesideLargeResults: on one lane, statements
// that send 16 MB of arguments and return 16 MB are pipelined, several to
// a write. The lane used to flush a whole write with no reader running:
// the server, blocked sending one statement's result, stopped reading the
// next one's arguments, and lane, callers and DB.Close hung for good.
// Every statement must now be answered, with its own answer.
func TestMultiplexLargeArgumentsBesideLargeResults(t *testing.T) {
	t.Parallel()
	mx, _, _ := muxDB(t, 1, 0)                                              // 1 lane: every statement on the same connection
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard only
	defer cancel()
	const size = 16 << 20
	arg := strings.Repeat("y", size)
	g, ctx := errgroup.WithContext(ctx)
	for i := range 6 {
		g.Go(func() error {
			for range 2 {
				var n int
				var s string
				err := mx.QueryRow(ctx, "SELECT length($1::text) + $2::int, repeat(chr(120 + $2::int), $3::int)", arg, i%3, size).Scan(&n, &s)
				if err != nil {
					return err
				}
				if n != size+i%3 || len(s) != size || s[0] != byte('x'+i%3) {
					return fmt.Errorf("caller %d: got %d and %d bytes of %q, want %d and %d of %q", i, n, len(s), s[:1], size+i%3, size, string(rune('x'+i%3)))
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatalf("%v; stats %+v", err, mx.MultiplexStats())
	}
}

// TestMultiplexStalePlansConverge: on 3 lanes, 60 readers of a prepared
// statement meet 12 schema changes that alter its result type (ALTER …
// TYPE), with 9 callers of slow statements (pg_sleep of 30 to 70 ms)
// beside them. A lane sends nothing behind a slow statement, so a read
// that meets a stale copy there goes back to the queue, to whichever lane
// takes it next. No caller may see the server's "cached plan must not
// change result type" (0A000): each stale copy is prepared again, on
// whatever lane the statement goes to. Before (b314af5), a statement was
// sent again at most twice, each time to meet another lane's stale copy,
// and whole batches of reads failed: in 20 runs of 20 (5 of them with
// -race beside 2 CPU hogs), 55 to 199 of 2,400 to 5,400 reads saw 0A000.
func TestMultiplexStalePlansConverge(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 3, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // a hang guard only
	defer cancel()
	for _, sql := range []string{"CREATE TABLE stale (id int PRIMARY KEY, v int)", "INSERT INTO stale SELECT g, g FROM generate_series(1, 100) g"} {
		if _, err := plain.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	const sel = "SELECT v FROM stale WHERE id = $1"
	read := func(i int) error {
		if i%2 == 0 {
			var v any
			return mx.QueryRow(ctx, sel, i%100+1).Scan(&v)
		}
		rows, err := mx.Query(ctx, sel, i%100+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if _, err := rows.Values(); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	const readers, sleepers = 60, 9
	var stop atomic.Bool
	var reads atomic.Int64
	var mu sync.Mutex
	stale := 0
	var other []error
	var wg sync.WaitGroup
	for c := range readers + sleepers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := c; !stop.Load(); i++ {
				var err error
				if c < sleepers {
					_, err = mx.Exec(ctx, fmt.Sprintf("SELECT pg_sleep(0.0%d)", 3+c%5))
				} else {
					err = read(i)
					reads.Add(1)
				}
				if err == nil {
					continue
				}
				mu.Lock()
				if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "0A000" {
					stale++
				} else {
					other = append(other, err)
				}
				mu.Unlock()
			}
		}()
	}
	// Each ALTER lands while the readers have the statement prepared on
	// every lane, and each is followed by reads enough to meet every
	// stale copy (however slow the machine). The load runs for a second
	// before the first: on the old code, ALTERs in the load's first
	// second seldom reached a caller.
	settle := func() {
		from := reads.Load()
		time.Sleep(200 * time.Millisecond)
		for reads.Load() < from+100 && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	settle()
	time.Sleep(time.Second)
	for k := range 12 {
		typ := []string{"bigint", "int"}[k%2]
		if _, err := plain.Exec(ctx, "ALTER TABLE stale ALTER v TYPE "+typ+" USING v::"+typ); err != nil {
			t.Fatal(err)
		}
		settle()
	}
	stop.Store(true)
	wg.Wait()
	st := mx.MultiplexStats()
	if len(other) > 0 {
		t.Fatalf("%d errors other than 0A000, the first: %v; stats %+v", len(other), other[0], st)
	}
	if stale > 0 {
		t.Fatalf("%d of %d reads saw SQLSTATE 0A000; stats %+v", stale, reads.Load(), st)
	}
	if st.Resent == 0 {
		t.Fatalf("no statement met a stale copy: the ALTERs tested nothing; stats %+v", st)
	}
	t.Logf("%d reads, none saw 0A000; stats %+v", reads.Load(), st)
}

// TestMultiplexAdmissionIsBoundedInTime: statements known to be slow go
// one at a time on a lane, so callers beyond what the lanes can run
// within AcquireTimeout must fail with ErrPoolExhausted then, not wait in
// the queue for as long as the statements before them take (admitted
// callers used to wait 9.9 s against a 5 s AcquireTimeout). Every caller
// is counted as exhausted in both Stats and MultiplexStats, not as
// canceled. Before (b314af5), no caller failed with ErrPoolExhausted: all
// 40 waited their turn on the one lane, the last about 4 s against the
// 300 ms AcquireTimeout (6 runs of 6).
func TestMultiplexAdmissionIsBoundedInTime(t *testing.T) {
	t.Parallel()
	url := pgkittest.URL(t, kitdb.Migrations())
	ctx := context.Background()
	d, err := pgkit.Open(ctx, url, pgkit.Config{MaxConns: 2, Multiplex: true, AcquireTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const slow = "SELECT pg_sleep(0.1)"
	for range 3 { // known to be slow from now on
		if _, err := d.Exec(ctx, slow); err != nil {
			t.Fatal(err)
		}
	}
	// 40 statements of 100 ms on one lane take 4 s: far beyond 300 ms
	// however loaded the machine.
	var wg sync.WaitGroup
	var mu sync.Mutex
	exhausted := 0
	var other []error
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.Exec(ctx, slow)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, pgkit.ErrPoolExhausted):
				exhausted++
			case err != nil:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("errors other than ErrPoolExhausted: %v", other)
	}
	if exhausted == 0 {
		t.Fatal("no caller failed with ErrPoolExhausted: callers waited in the queue beyond AcquireTimeout")
	}
	st, mst := d.Stats(), d.MultiplexStats()
	if st.Exhausted != int64(exhausted) || mst.Exhausted != int64(exhausted) || st.Canceled != 0 {
		t.Fatalf("%d callers exhausted; Stats().Exhausted %d, MultiplexStats().Exhausted %d, Stats().Canceled %d", exhausted, st.Exhausted, mst.Exhausted, st.Canceled)
	}
	t.Logf("%d of 40 exhausted; %+v", exhausted, mst)
}

// TestPoolStalePlansConverge: on a plain pool whose every connection has
// the statements prepared, schema changes that alter their result type
// (ALTER … TYPE) reach no caller: pgx forgets a stale statement on the
// connection that met it, and the DB runs the statement again. Exec,
// QueryRow, StreamScan and Query each take a connection of their own, 40
// callers on 4 connections. Before (b314af5), the first query per cached
// statement and connection failed with 0A000: 3 to 8 of the 40 callers
// after each ALTER, in 10 runs of 10.
func TestPoolStalePlansConverge(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := pgkit.Open(ctx, pgkittest.URL(t, kitdb.Migrations()), pgkit.Config{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, sql := range []string{"CREATE TABLE stale (id int PRIMARY KEY, v int)", "INSERT INTO stale SELECT g, g FROM generate_series(1, 100) g"} {
		if _, err := d.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	call := func(i int) error {
		switch i % 4 {
		case 0:
			_, err := d.Exec(ctx, "SELECT v FROM stale WHERE id = $1", i%100+1)
			return err
		case 1:
			var v any
			return d.QueryRow(ctx, "SELECT v FROM stale WHERE id = $1", i%100+1).Scan(&v)
		case 2:
			for _, err := range pgkit.StreamScan(ctx, d, func(r pgx.CollectableRow) ([]any, error) { return r.Values() }, "SELECT v FROM stale WHERE id <= $1", i%100+1) {
				if err != nil {
					return err
				}
			}
			return nil
		}
		rows, err := d.Query(ctx, "SELECT v FROM stale WHERE id <= $1", i%100+1)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
	// run has 40 callers at once, more than connections: every connection
	// prepares each statement. It returns how many saw 0A000, and the
	// first other error.
	run := func() (stale int, other error) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range 40 {
			wg.Go(func() {
				err := call(i)
				mu.Lock()
				defer mu.Unlock()
				if pgErr := (*pgconn.PgError)(nil); errors.As(err, &pgErr) && pgErr.Code == "0A000" {
					stale++
				} else if err != nil && other == nil {
					other = err
				}
			})
		}
		wg.Wait()
		return stale, other
	}
	if stale, err := run(); stale > 0 || err != nil {
		t.Fatalf("before any ALTER: %d callers saw 0A000; %v", stale, err)
	}
	for _, typ := range []string{"bigint", "text", "int"} {
		if _, err := d.Exec(ctx, "ALTER TABLE stale ALTER v TYPE "+typ+" USING v::"+typ); err != nil {
			t.Fatal(err)
		}
		stale, err := run()
		if err != nil {
			t.Fatalf("after ALTER … TYPE %s: %v", typ, err)
		}
		if stale > 0 {
			t.Fatalf("after ALTER … TYPE %s: %d of 40 callers saw SQLSTATE 0A000", typ, stale)
		}
	}
}

// TestMultiplexSmallPools: a pool of one connection cannot multiplex
// (nothing would be left for transactions, streams and COPY) and Open
// says so; from two connections on, the lanes leave one free, so
// transactions beside a steady multiplexed load never wait for the
// multiplexer, and the default lane counts say the same. Before
// (b314af5), DefaultMultiplexConns(1) was 1 and Open took MaxConns 1 with
// Multiplex; with MaxConns 2 and MultiplexConns 2 both connections
// multiplexed, and the second transaction failed with ErrPoolExhausted
// after 5 s (6 runs of 6).
func TestMultiplexSmallPools(t *testing.T) {
	t.Parallel()
	for maxConns, want := range map[int]int{1: 0, 2: 1, 3: 2} {
		if got := pgkit.DefaultMultiplexConns(maxConns); got != want {
			t.Errorf("DefaultMultiplexConns(%d) = %d, want %d", maxConns, got, want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := pgkittest.URL(t, kitdb.Migrations())
	if d, err := pgkit.Open(ctx, url, pgkit.Config{MaxConns: 1, Multiplex: true}); err == nil || !strings.Contains(err.Error(), "MaxConns") {
		if d != nil {
			d.Close()
		}
		t.Fatalf("Open with MaxConns 1 and Multiplex: %v, want an error naming MaxConns", err)
	}
	d, err := pgkit.Open(ctx, url, pgkit.Config{MaxConns: 2, Multiplex: true, MultiplexConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	stop := make(chan struct{})
	g, gctx := errgroup.WithContext(ctx)
	for range 8 {
		g.Go(func() error {
			for {
				select {
				case <-stop:
					return nil
				default:
				}
				if _, err := d.Exec(gctx, "SELECT pg_sleep(0.001)"); err != nil {
					return err
				}
			}
		})
	}
	for i := range 30 {
		// AcquireTimeout is 5 s: a transaction that waited for a lane
		// to let go of the second connection would fail only if the
		// lane never did; one lane is all MaxConns 2 allows, so none
		// waits at all.
		tx, err := d.Begin(ctx)
		if err != nil {
			t.Fatalf("transaction %d beside multiplexed statements: %v", i, err)
		}
		if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(ctx); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if st := d.MultiplexStats(); st.Lanes > 1 {
		t.Fatalf("%d lanes on a pool of 2", st.Lanes)
	}
}

// TestMultiplexInFlightIsNeverSafeToRetry: a statement in flight when its
// multiplexed connection dies may have run: its error says the connection
// was lost and pgconn.SafeToRetry is false for it, whatever pgx says of
// the read that failed. Before (b314af5), the caller got pgx's read error
// as it was (FATAL 57P01, terminating connection due to administrator
// command), with SafeToRetry true and no ErrConnectionLost (6 runs of 6).
func TestMultiplexInFlightIsNeverSafeToRetry(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 1, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := mx.Exec(ctx, "SELECT pg_sleep(30)")
		errc <- err
	}()
	// Terminate the lane's backend once the statement runs on it (sleeps:
	// not while it is being prepared, when it has not been sent yet and
	// goes to another connection).
	for {
		var n int
		if err := plain.QueryRow(ctx, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'mux' AND query = 'SELECT pg_sleep(30)' AND wait_event = 'PgSleep'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := <-errc
	if err == nil || pgconn.SafeToRetry(err) || !errors.Is(err, pgerr.ErrConnectionLost) {
		t.Fatalf("statement in flight on a terminated connection: %v (SafeToRetry %v), want ErrConnectionLost, not safe to retry", err, pgconn.SafeToRetry(err))
	}
}
