package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// slowOnStandby answers at once on a primary and sleeps a minute on a
// standby before its one row: a read that is still running on the
// standby when the test breaks it. It reads accounts, so that it holds a
// lock that recovery can conflict with.
const slowOnStandby = `SELECT pg_is_in_recovery() AS standby,
	CASE WHEN pg_is_in_recovery() THEN pg_sleep(60)::text END AS slept
	FROM (SELECT count(*) FROM accounts) a`

// TestBrokenReplicaReadRerunsOnPrimary: a read whose standby breaks before
// any row reached the caller is run again on the primary and succeeds, on
// every path (Query, QueryRow, QueryStream) and with the replica pools
// pooled or multiplexed, for a terminated backend (57P01, the connection
// lost) and for a statement cancelled by a conflict with recovery (40001).
// Before, a pooled replica's break came at the first Next, which was not
// looked at, so the read failed; and replicas never multiplexed.
func TestBrokenReplicaReadRerunsOnPrimary(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, standby := primaryAndStandby(t)
	// Recovery cancels a conflicting read after 10ms instead of 30s.
	for _, sql := range []string{"ALTER SYSTEM SET max_standby_streaming_delay = '10ms'", "SELECT pg_reload_conf()"} {
		if _, err := pgkitExecOn(ctx, standby.URL(), sql); err != nil {
			t.Fatal(err)
		}
	}
	paths := map[string]func(r *pgkit.Replicated) (bool, error){
		"Query":       func(r *pgkit.Replicated) (bool, error) { return readRows(r.Query(ctx, slowOnStandby)) },
		"QueryStream": func(r *pgkit.Replicated) (bool, error) { return readRows(r.QueryStream(ctx, slowOnStandby)) },
		"QueryRow": func(r *pgkit.Replicated) (bool, error) {
			var onStandby bool
			var slept *string
			err := r.QueryRow(ctx, slowOnStandby).Scan(&onStandby, &slept)
			return onStandby, err
		},
	}
	breaks := map[string]func(app string) bool{
		"terminated": func(app string) bool {
			n, err := pgkitExecOn(ctx, standby.URL(), fmt.Sprintf(`SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
				WHERE application_name = '%s' AND wait_event = 'PgSleep'`, app))
			return err == nil && n > 0
		},
		"recovery conflict": func(app string) bool {
			n, err := pgkitExecOn(ctx, standby.URL(), fmt.Sprintf(`SELECT pid FROM pg_stat_activity
				WHERE application_name = '%s' AND wait_event = 'PgSleep'`, app))
			if err != nil || n == 0 {
				return false
			}
			// Replaying the primary's exclusive lock cancels the read.
			if _, err := pgkitExecOn(ctx, primary.URL(), "DO $$ BEGIN LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE; END $$"); err != nil {
				t.Fatal(err)
			}
			return true
		},
	}
	for _, multiplex := range []bool{false, true} {
		for pathName, read := range paths {
			for breakName, breakIt := range breaks {
				app := fmt.Sprintf("rerun-%v-%s-%s", multiplex, pathName, breakName)
				t.Run(app, func(t *testing.T) {
					r := openWatched(t, pgkit.Config{MaxConns: 4, Multiplex: multiplex, ApplicationName: app}, primary.URL(), standby.URL())
					onStandby, err := breakRead(t, ctx, func() (bool, error) { return read(r) }, func() bool { return breakIt(app) })
					if err != nil || onStandby {
						t.Fatalf("the read broken on the standby: on a standby %v, %v; want it run again on the primary", onStandby, err)
					}
				})
			}
		}
	}
}

// breakRead runs read in a goroutine and calls breakIt until it reports
// that it broke the read on the standby, then returns the read's outcome.
// A read that finished before (the replica was skipped: a check timed out
// on a busy machine) is tried again.
func breakRead(t *testing.T, ctx context.Context, read func() (bool, error), breakIt func() bool) (bool, error) {
	t.Helper()
	type outcome struct {
		onStandby bool
		err       error
	}
	deadline := time.Now().Add(30 * time.Second)
attempts:
	for time.Now().Before(deadline) {
		done := make(chan outcome, 1)
		go func() {
			onStandby, err := read()
			done <- outcome{onStandby, err}
		}()
		for broke := false; !broke; {
			select {
			case <-done:
				continue attempts // it never reached the standby
			case <-ctx.Done():
				t.Fatal(ctx.Err())
			case <-time.After(10 * time.Millisecond):
				broke = breakIt()
			}
		}
		o := <-done
		return o.onStandby, o.err
	}
	t.Fatal("no read reached the standby in 30s")
	return false, nil
}

// readRows reads rows of slowOnStandby to the end and returns whether the
// first ran on a standby, and the error that ended them.
func readRows(rows pgx.Rows, err error) (onStandby bool, _ error) {
	if err != nil {
		return false, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var standby bool
		var slept *string
		if err := rows.Scan(&standby, &slept); err != nil {
			return false, err
		}
		if n == 0 {
			onStandby = standby
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return onStandby, err
	}
	if n != 1 {
		return onStandby, fmt.Errorf("%d rows, want 1", n)
	}
	return onStandby, nil
}

// TestReplicaBreakAfterRowIsCallersError: once a row of a read reached the
// caller, a break of the standby's connection is not hidden by a rerun
// (the caller would see rows twice): the rows end with an error that
// matches pgerr.ErrConnectionLost, after the standby's rows only.
func TestReplicaBreakAfterRowIsCallersError(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, standby := primaryAndStandby(t)
	// Two rows big enough to leave the server's 8 kB send buffer, then one
	// that sleeps on a standby.
	const sql = `SELECT pg_is_in_recovery() AS standby,
		CASE WHEN x = 3 AND pg_is_in_recovery() THEN pg_sleep(60)::text ELSE repeat('x', 20000) END AS pad
		FROM generate_series(1, 3) x`
	for _, multiplex := range []bool{false, true} {
		app := fmt.Sprintf("after-row-%v", multiplex)
		r := openWatched(t, pgkit.Config{MaxConns: 4, Multiplex: multiplex, ApplicationName: app}, primary.URL(), standby.URL())
		// QueryStream: rows as they come, also when multiplexing (Query
		// would have the whole result first, then no row is out when it
		// breaks).
		var rows pgx.Rows
		waitFor(t, 30*time.Second, func() bool {
			var err error
			rows, err = r.QueryStream(ctx, sql)
			if err != nil {
				t.Fatal(err)
			}
			var standby bool
			var pad string
			if !rows.Next() {
				t.Fatalf("no first row: %v", rows.Err())
			}
			if err := rows.Scan(&standby, &pad); err != nil {
				t.Fatal(err)
			}
			if !standby {
				rows.Close() // on the primary: the replica was skipped this time
			}
			return standby
		})
		killed, err := pgkitExecOn(ctx, standby.URL(), fmt.Sprintf(`SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
			WHERE application_name = '%s' AND query LIKE '%%generate_series%%' AND pid <> pg_backend_pid()`, app))
		if err != nil || killed != 1 {
			t.Fatalf("terminated %d backends (%v), want the read's", killed, err)
		}
		n := 1
		for rows.Next() {
			var standby bool
			var pad string
			if err := rows.Scan(&standby, &pad); err != nil || !standby {
				t.Fatalf("row %d: on a standby %v, %v; want the standby's rows only", n+1, standby, err)
			}
			n++
		}
		err = rows.Err()
		if !errors.Is(err, pgerr.ErrConnectionLost) || n >= 3 {
			t.Fatalf("multiplex %v: after %d rows: %v; want pgerr.ErrConnectionLost before the third", multiplex, n, err)
		}
		rows.Close()
	}
}

// openWatched opens a Replicated with cfg on primary and the replica DSNs,
// measured every 50ms; the test's cleanup closes it.
func openWatched(t *testing.T, cfg pgkit.Config, primary string, replicas ...string) *pgkit.Replicated {
	t.Helper()
	r, err := pgkit.OpenReplicated(context.Background(), primary, replicas, cfg, pgkit.ReplicaConfig{CheckInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}
