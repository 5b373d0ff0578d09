package pgkit_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestMultiplexResetMovesToNewConnections: a reset (what Replicated does
// when a node changes role) lets the statements already on the lanes
// finish with their own answers, sends later statements over new
// connections, and gives the old connections back, so that they close.
func TestMultiplexResetMovesToNewConnections(t *testing.T) {
	t.Parallel()
	mx, plain, _ := muxDB(t, 2, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lanePids := func() []int32 {
		t.Helper()
		var pids []int32
		rows, err := plain.Query(ctx, "SELECT pid FROM pg_stat_activity WHERE application_name = 'mux' AND pid <> pg_backend_pid()")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var pid int32
			if err := rows.Scan(&pid); err != nil {
				t.Fatal(err)
			}
			pids = append(pids, pid)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return pids
	}

	// Slow statements in flight on the lanes when the reset comes; each
	// returns its caller's own number.
	const callers = 8
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got int
			if err := mx.QueryRow(ctx, "SELECT $1::int FROM pg_sleep(0.5)", i).Scan(&got); err != nil {
				errs <- fmt.Errorf("caller %d: %w", i, err)
			} else if got != i {
				errs <- fmt.Errorf("caller %d got %d", i, got)
			}
		}()
	}
	waitFor(t, 30*time.Second, func() bool {
		var n int
		err := plain.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mux' AND wait_event = 'PgSleep'").Scan(&n)
		return err == nil && n > 0
	})
	before := lanePids()
	mx.ResetForTest()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error("a statement in flight at the reset:", err)
	}

	// Later statements run on other connections than the old lanes'.
	for range 20 {
		var pid int32
		if err := mx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(before, pid) {
			t.Fatalf("after the reset a statement ran on the old connection %d (old: %v)", pid, before)
		}
	}
	// And the old connections close (a hang guard: at load averages of
	// 15-20 they took more than 30 s).
	waitFor(t, 90*time.Second, func() bool {
		now := lanePids()
		return !slices.ContainsFunc(before, func(pid int32) bool { return slices.Contains(now, pid) })
	})
}
