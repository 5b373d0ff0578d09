package pgkit_test

// Failover on a real high-availability cluster (pgtemp.Formation: a
// pg_auto_failover monitor, a primary and a synchronous standby): writers
// through WithTx and autocommit, pooled and multiplexed, while the
// formation is failed over (planned) and its primary's postmaster killed.
// Every write carries a token into a table without constraints; the
// checker then requires that no acknowledged write is lost, none is
// stored twice, none reported failed had committed (a lost commit is
// resolved, or reported as pgerr.ErrCommitUnknown), and every error is
// typed. bench/failover (make failover) runs the long version.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// failoverLedger is what writers were told, per token.
type failoverLedger struct {
	mu      sync.Mutex
	outcome map[string]error
	ackedAt map[string]time.Time
	oks     []time.Time
}

func (l *failoverLedger) note(token string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.outcome[token] = err
	if err == nil {
		now := time.Now()
		l.ackedAt[token] = now
		l.oks = append(l.oks, now)
	}
}

// firstOKAfter is the first acknowledgement at or after t, or the zero
// time.
func (l *failoverLedger) firstOKAfter(t time.Time) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, ok := range l.oks {
		if !ok.Before(t) {
			return ok
		}
	}
	return time.Time{}
}

func TestFailoverFormation(t *testing.T) {
	if err := pgtemp.FormationAvailable(); err != nil {
		t.Skip(err)
	}
	// Not parallel: a formation is three servers and their keepers, and
	// this package's formation tests run one at a time, before the
	// parallel tests, so that a loaded machine is not overrun.
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	f, err := pgtemp.StartFormation(ctx, pgtemp.FormationConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Stop() })
	setupConn, err := pgx.Connect(ctx, f.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := setupConn.Exec(ctx, `CREATE TABLE failover_writes (token text NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	setupConn.Close(ctx)

	cfg := pgkit.Config{MaxConns: 8, AcquireTimeout: 10 * time.Second, CommitResolveTimeout: time.Minute, ApplicationName: "failover-test"}
	pooled := openT(t, f.URL(), cfg)
	mcfg := cfg
	mcfg.Multiplex = true
	muxed := openT(t, f.URL(), mcfg)

	watch := f.Watch(ctx)
	defer watch.Stop()
	l := &failoverLedger{outcome: map[string]error{}, ackedAt: map[string]time.Time{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		db := pooled
		if w%2 == 1 {
			db = muxed
		}
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				token := fmt.Sprintf("w%d-%d", w, i)
				wctx, wcancel := context.WithTimeout(ctx, 90*time.Second)
				var err error
				if w < 6 {
					err = pgkit.WithTx(wctx, db, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
						_, err := tx.Exec(wctx, `INSERT INTO failover_writes (token) VALUES ($1)`, token)
						return err
					})
				} else {
					_, err = db.Exec(wctx, `INSERT INTO failover_writes (token) VALUES ($1)`, token)
				}
				wcancel()
				l.note(token, err)
				if err != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		})
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

	for _, trigger := range []string{"planned failover", "postmaster kill"} {
		time.Sleep(time.Second)
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
		}
		if err != nil {
			t.Fatalf("%s: %v", trigger, err)
		}
		if err := f.WaitSecondary(ctx); err != nil {
			t.Fatalf("%s: the formation did not recover: %v", trigger, err)
		}
		time.Sleep(time.Second)
		first := l.firstOKAfter(at)
		t.Logf("%s: new primary writable after %s, our first write %s after that", trigger,
			at.Sub(start).Round(time.Millisecond), first.Sub(at).Round(time.Millisecond))
		if first.IsZero() {
			t.Errorf("%s: no write acknowledged after the new primary accepted writes", trigger)
		}
	}
	stopWriters()

	// The checker, on the primary.
	check, err := pgx.Connect(ctx, f.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer check.Close(ctx)
	stored := map[string]int{}
	rows, err := check.Query(ctx, `SELECT token, count(*) FROM failover_writes GROUP BY token`)
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
	var acked, failedN, unknown, unknownStored int
	var lost []string
	kinds := map[string]int{} // a failure's text without its token or ports, for the log
	for tok, err := range l.outcome {
		if err != nil {
			kinds[failureKind(tok, err)]++
		}
		n := stored[tok]
		switch {
		case n > 1:
			t.Errorf("%s stored %d times", tok, n)
		case err == nil:
			acked++
			if n != 1 {
				lost = append(lost, tok)
			}
		case pgerr.IsCommitUnknown(err):
			unknown++
			unknownStored += n
		default:
			failedN++
			if n != 0 {
				t.Errorf("%s reported failed (%v) and stored", tok, err)
			}
			if !pgerr.IsTransient(err) && !pgerr.IsWrongServerRole(err) && !errors.Is(err, pgkit.ErrPoolExhausted) && pgerr.SQLState(err) == "" {
				t.Errorf("%s: untyped failure: %v", tok, err)
			}
		}
	}
	t.Logf("%d writes: %d acknowledged, %d failed (none stored), %d unknown (%d of them stored)", len(l.outcome), acked, failedN, unknown, unknownStored)
	watch.Stop()
	if len(lost) > 0 {
		reportLost(t, watch, l, lost)
	} else {
		t.Logf("the monitor's view:\n%s", watch.Timeline())
	}
	for k, n := range kinds {
		t.Logf("%5d × %s", n, k)
	}
	if acked == 0 {
		t.Fatal("no write acknowledged")
	}
}

// failureKind is err's class for the log: the kind of writer (WithTx for
// w0–w5, autocommit for w6–w7) and the error's first words.
func failureKind(token string, err error) string {
	kind := "WithTx"
	if strings.HasPrefix(token, "w6-") || strings.HasPrefix(token, "w7-") {
		kind = "autocommit"
	}
	msg := err.Error()
	if i := strings.Index(msg, ": "); i > 0 {
		if j := strings.Index(msg[i+2:], ": "); j > 0 {
			msg = msg[:i+2+j]
		}
	}
	return kind + ": " + msg
}

// reportLost fails the test for acknowledged writes that were not
// stored, naming a few, when they were acknowledged and the monitor's
// timeline; except those acknowledged while the formation was split
// (pgtemp.FormationWatch: pg_auto_failover 2.0's own loss, which no
// client can see), which it logs.
func reportLost(t *testing.T, watch *pgtemp.FormationWatch, l *failoverLedger, lost []string) {
	t.Helper()
	var ours, cluster []string
	var first, last time.Time
	for _, tok := range lost {
		at := l.ackedAt[tok]
		if watch.SplitBrain(at) {
			cluster = append(cluster, tok)
			continue
		}
		ours = append(ours, tok)
		if first.IsZero() || at.Before(first) {
			first = at
		}
		if at.After(last) {
			last = at
		}
	}
	if len(cluster) > 0 {
		t.Logf("%d acknowledged writes lost by the cluster: acknowledged by an old primary that pg_auto_failover left writable, without its standby, while it promoted the other node (upstream issue #774; see pgtemp.FormationWatch)", len(cluster))
	}
	if len(ours) == 0 {
		t.Logf("the monitor's view:\n%s", watch.Timeline())
		return
	}
	slices.Sort(ours)
	t.Errorf("%d acknowledged writes not stored (e.g. %s), acknowledged from %s to %s; the monitor's view:\n%s",
		len(ours), strings.Join(ours[:min(len(ours), 5)], ", "), watch.Since(first), watch.Since(last), watch.Timeline())
}
