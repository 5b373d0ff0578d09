package pgkit_test

// An outside look at issue 15 on a real pg_auto_failover formation: a
// planned failover, a postmaster kill and a node loss while writers of
// every kind run, including what TestFailoverFormation has not: a
// transaction begun and committed by hand (with the deferred Rollback),
// WithTx on a Replicated, and callers whose context is cancelled after a
// few milliseconds (a client that went away), as an HTTP service's are.
// Then: nothing lost, doubled or misreported; every error typed; an
// unknown outcome of a transaction carries its id; and nothing left
// behind: no connection in use, no session on the servers, no goroutine.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// outsideWrite is one write and what its caller was told.
type outsideWrite struct {
	kind    string
	err     error
	impatie bool      // its context was cancelled on a timer
	at      time.Time // when its caller was told
}

func TestOutsideFormationEveryWriterAndNoLeaks(t *testing.T) {
	if err := pgtemp.FormationAvailable(); err != nil {
		t.Skip(err)
	}
	if testing.Short() {
		t.Skip("minutes: a formation through three faults")
	}
	// Not parallel: the goroutine check at the end must see only this
	// test's goroutines.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	f, err := pgtemp.StartFormation(ctx, pgtemp.FormationConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Stop() }()
	watch := f.Watch(ctx)
	defer watch.Stop()
	setup, err := pgx.Connect(ctx, f.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setup.Exec(ctx, `CREATE TABLE outside_writes (token text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	setup.Close(ctx)
	// The formation's own goroutines (its processes' waiters, including
	// a keeper RestartNode starts later) are not the pools'.
	leakBase := []goleak.Option{goleak.IgnoreCurrent(), goleak.IgnoreAnyFunction("github.com/shopdb/shopdb/pgkit/pgtemp.(*autoctl).start.func1")}

	const app = "outside-formation"
	cfg := pgkit.Config{MaxConns: 8, AcquireTimeout: 10 * time.Second, CommitResolveTimeout: time.Minute, ApplicationName: app}
	pooled, err := pgkit.Open(ctx, f.URL(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mcfg := cfg
	mcfg.Multiplex = true
	muxed, err := pgkit.Open(ctx, f.URL(), mcfg)
	if err != nil {
		t.Fatal(err)
	}
	repl, err := pgkit.OpenReplicated(ctx, f.URL(), []string{f.NodeURL(0), f.NodeURL(1)}, cfg, pgkit.ReplicaConfig{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	closeAll := func() {
		if !closed {
			closed = true
			repl.Close()
			muxed.Close()
			pooled.Close()
		}
	}
	defer closeAll()

	insert := `INSERT INTO outside_writes (token) VALUES ($1)`
	id := func(x pgkit.DBTX) pgkit.DBTX { return x }
	inTx := func(wctx context.Context, token string) func(pgkit.DBTX) error {
		return func(tx pgkit.DBTX) error { _, err := tx.Exec(wctx, insert, token); return err }
	}
	writers := map[string]func(wctx context.Context, token string) error{
		"WithTx pooled": func(wctx context.Context, token string) error {
			return pgkit.WithTx(wctx, pooled, id, inTx(wctx, token))
		},
		"WithTx multiplexed": func(wctx context.Context, token string) error {
			return pgkit.WithTx(wctx, muxed, id, inTx(wctx, token))
		},
		"WithTx replicated": func(wctx context.Context, token string) error {
			return pgkit.WithTx(wctx, repl, id, inTx(wctx, token))
		},
		"Begin+Commit": func(wctx context.Context, token string) error {
			tx, err := pooled.Begin(wctx)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback(context.WithoutCancel(wctx)) }()
			if _, err := tx.Exec(wctx, insert, token); err != nil {
				return err
			}
			return tx.Commit(wctx)
		},
		"Exec pooled": func(wctx context.Context, token string) error {
			_, err := pooled.Exec(wctx, insert, token)
			return err
		},
		"WithTx pooled, impatient": func(wctx context.Context, token string) error {
			return pgkit.WithTx(wctx, pooled, id, inTx(wctx, token))
		},
	}
	var (
		mu     sync.Mutex
		writes = map[string]outsideWrite{}
		stop   = make(chan struct{})
		wg     sync.WaitGroup
	)
	for kind, write := range writers {
		for w := range 2 {
			wg.Go(func() {
				impatient := strings.HasSuffix(kind, "impatient")
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					token := fmt.Sprintf("%s/%d/%d", kind, w, i)
					wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
					if impatient {
						// A client that goes away a few ms in: sometimes
						// before, sometimes during the COMMIT.
						time.AfterFunc(time.Duration(rand.N(15000))*time.Microsecond, wcancel)
					}
					err := write(wctx, token)
					wcancel()
					mu.Lock()
					writes[token] = outsideWrite{kind: kind, err: err, impatie: impatient, at: time.Now()}
					mu.Unlock()
					if err != nil {
						time.Sleep(10 * time.Millisecond)
					}
				}
			})
		}
	}
	stopped := false
	stopWriters := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopWriters()

	for _, trigger := range []string{"planned failover", "postmaster kill", "node loss"} {
		time.Sleep(2 * time.Second)
		old, err := f.Primary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var at time.Time
		switch trigger {
		case "planned failover":
			_, at, err = f.FailoverTimed(ctx)
		case "postmaster kill":
			if err = f.KillPostmaster(ctx, old); err == nil {
				_, at, err = f.WaitPrimary(ctx)
			}
		case "node loss":
			if err = f.KillNode(ctx, old); err == nil {
				_, at, err = f.WaitNewPrimary(ctx, old)
			}
			if err == nil {
				err = f.RestartNode(ctx, old)
			}
		}
		if err == nil {
			err = f.WaitSecondary(ctx)
		}
		if err != nil {
			t.Fatalf("%s: %v", trigger, err)
		}
		t.Logf("%s: new primary writable after %s", trigger, at.Sub(start).Round(time.Millisecond))
	}
	time.Sleep(2 * time.Second)
	stopWriters()

	// Nothing left in use once every caller has returned (pgxpool's
	// health check holds idle connections for a moment: up to 10 s).
	for name, db := range map[string]*pgkit.DB{"pooled": pooled, "multiplexed": muxed, "replicated primary": repl.Primary()} {
		var s pgkit.PoolStats
		for range 100 {
			if s = db.Stats(); s.InUse == 0 {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if s.InUse != 0 {
			t.Errorf("%s: %d connections still in use 10 s after every caller returned (%s)", name, s.InUse, s)
		}
	}

	check, err := pgx.Connect(ctx, f.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close(context.Background())
	var busy string
	if err := check.QueryRow(ctx, `SELECT coalesce(string_agg(state || ': ' || left(query, 40), '; '), '')
		FROM pg_stat_activity WHERE application_name = $1 AND state <> 'idle'`, app).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if busy != "" {
		t.Errorf("sessions of the pools still busy on the primary after every caller returned: %s", busy)
	}
	stored := map[string]int{}
	rows, err := check.Query(ctx, `SELECT token, count(*) FROM outside_writes GROUP BY token`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tok string
		var n int
		if err := rows.Scan(&tok, &n); err != nil {
			t.Fatal(err)
		}
		stored[tok] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	watch.Stop()
	type tally struct{ writes, acked, failed, unknown, unknownStored, noXid, lost, splitLost, doubled, misreported, untyped int }
	tallies := map[string]*tally{}
	examples := map[string]string{}
	reasons := map[string]int{} // unknown outcomes by writer, reason and whether stored
	for tok, w := range writes {
		tl := tallies[w.kind]
		if tl == nil {
			tl = &tally{}
			tallies[w.kind] = tl
		}
		tl.writes++
		n := stored[tok]
		if n > 1 {
			tl.doubled++
			examples[w.kind+" doubled"] = fmt.Sprintf("%s: %v", tok, w.err)
		}
		var cu *pgerr.CommitUnknownError
		switch {
		case w.err == nil:
			tl.acked++
			switch {
			case n > 0:
			case watch.SplitBrain(w.at):
				tl.splitLost++ // the cluster's loss: pgtemp.FormationWatch
			default:
				tl.lost++
				examples[w.kind+" lost"] = tok
			}
		case errors.As(w.err, &cu):
			tl.unknown++
			if n > 0 {
				tl.unknownStored++
			}
			if cu.Xid == 0 && w.kind != "Exec pooled" {
				tl.noXid++
			}
			reasons[fmt.Sprintf("%s: xid %v, stored %v: %s", w.kind, cu.Xid != 0, n > 0, cu.Reason)]++
		default:
			tl.failed++
			if n > 0 {
				tl.misreported++
				examples[w.kind+" misreported"] = fmt.Sprintf("%s: %v", tok, w.err)
			}
			ctxErr := errors.Is(w.err, context.Canceled) || errors.Is(w.err, context.DeadlineExceeded)
			if !pgerr.IsTransient(w.err) && !pgerr.IsWrongServerRole(w.err) && !errors.Is(w.err, pgkit.ErrPoolExhausted) &&
				pgerr.SQLState(w.err) == "" && !(w.impatie && ctxErr) {
				tl.untyped++
				examples[w.kind+" untyped"] = fmt.Sprintf("%s: %v", tok, w.err)
			}
		}
	}
	kinds := make([]string, 0, len(tallies))
	for k := range tallies {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		tl := tallies[k]
		t.Logf("%-26s %5d writes: %5d acked, %4d failed, %3d unknown (%d stored, %d without xid); lost %d (and %d by a split cluster), doubled %d, failed but committed %d, untyped %d",
			k, tl.writes, tl.acked, tl.failed, tl.unknown, tl.unknownStored, tl.noXid, tl.lost, tl.splitLost, tl.doubled, tl.misreported, tl.untyped)
		if tl.lost+tl.doubled+tl.misreported+tl.untyped > 0 {
			t.Errorf("%s: %d acknowledged writes lost, %d doubled, %d reported failed that committed, %d untyped errors; the monitor's view:\n%s",
				k, tl.lost, tl.doubled, tl.misreported, tl.untyped, watch.Timeline())
		}
		if tl.acked == 0 {
			t.Errorf("%s: no write acknowledged", k)
		}
	}
	rs := make([]string, 0, len(reasons))
	for r, n := range reasons {
		rs = append(rs, fmt.Sprintf("%3d × %s", n, r))
	}
	sort.Strings(rs)
	for _, r := range rs {
		t.Logf("unknown: %s", r)
	}
	ex := make([]string, 0, len(examples))
	for k, v := range examples {
		ex = append(ex, k+": "+v)
	}
	sort.Strings(ex)
	for _, e := range ex {
		t.Logf("example: %s", e)
	}

	// Closed, the pools leave no session and no goroutine behind.
	closeAll()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		if err := check.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("%d sessions of the closed pools still on the primary after 20 s", n)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var leaked error
	for range 100 { // up to 20 s for timers (AfterFunc) and closing goroutines to end
		if leaked = goleak.Find(leakBase...); leaked == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if leaked != nil {
		t.Errorf("goroutines left after the pools were closed: %v", leaked)
	}
}
