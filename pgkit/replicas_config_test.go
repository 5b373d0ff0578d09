package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// TestReplicatedEveryConfig runs Replicated with every combination of
// Config.Multiplex, Config.Pooler (none, or a PgBouncer in transaction
// mode in front of the primary and of the standby) and Config.QueryTimeout:
// reads reach the standby; :one, :many, :exec and :execrows queries and
// their typed errors (ErrNotFound, *ConstraintError), a
// stream, a transaction, Pipeline and Gather work, the transaction, Pipeline and Gather
// on the primary; with Multiplex the standby's pool multiplexes as the
// primary's does (a session-changing read fails with ErrSessionState
// wherever it runs); with QueryTimeout a read stuck on the standby fails
// with the deadline instead of being run again on the primary. Multiplex
// with a transaction pooler is refused, as Open refuses it.
func TestReplicatedEveryConfig(t *testing.T) {
	if _, err := os.Stat(pgtemp.BouncerBin); err != nil {
		t.Skip("pgbouncer is not installed: apt-get install -y pgbouncer (make test does it when run as root)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel() // the bouncers' start only: each subtest has its own bound
	primary, standby := primaryAndStandby(t)
	bouncers := map[string]string{}
	for _, s := range []*pgtemp.Server{primary, standby} {
		b, err := pgtemp.StartBouncer(ctx, s.URL(), "transaction", "postgres")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Stop() })
		bouncers[s.URL()] = b.URL(s.URL())
	}
	for _, multiplex := range []bool{false, true} {
		for _, pooler := range []pgkit.Pooler{pgkit.PoolerNone, pgkit.PoolerTransaction} {
			for _, timeout := range []time.Duration{0, 5 * time.Second} {
				name := fmt.Sprintf("multiplex=%v/pooler=%d/timeout=%s", multiplex, pooler, timeout)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					// Its own bound, from when it runs: a parallel subtest
					// waits for the package's other tests first, which on
					// a loaded machine used up a bound set before.
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					primaryURL, standbyURL := primary.URL(), standby.URL()
					if pooler == pgkit.PoolerTransaction {
						primaryURL, standbyURL = bouncers[primaryURL], bouncers[standbyURL]
					}
					cfg := pgkit.Config{MaxConns: 4, Multiplex: multiplex, Pooler: pooler, QueryTimeout: timeout}
					r, err := pgkit.OpenReplicated(ctx, primaryURL, []string{standbyURL}, cfg, pgkit.ReplicaConfig{CheckInterval: 50 * time.Millisecond})
					if multiplex && pooler == pgkit.PoolerTransaction {
						if err == nil || !strings.Contains(err.Error(), "Multiplex") {
							t.Fatalf("Multiplex behind a transaction pooler: %v, want Open's refusal", err)
						}
						if r != nil {
							r.Close()
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					defer r.Close()
					replicatedWorkload(t, ctx, r, strings.NewReplacer("/", "-", "=", "").Replace(name), multiplex, timeout)
				})
			}
		}
	}
}

// replicatedWorkload is TestReplicatedEveryConfig's work on one Replicated.
func replicatedWorkload(t *testing.T, ctx context.Context, r *pgkit.Replicated, tag string, multiplex bool, timeout time.Duration) {
	t.Helper()
	q := kitdb.New(r)
	inRecovery := func(ctx context.Context, db pgkit.DBTX) bool {
		t.Helper()
		var v bool
		if err := db.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	waitFor(t, 30*time.Second, func() bool { return inRecovery(ctx, r) })

	// Writes (:one, :execrows, :exec) run on the primary: on a standby they
	// would fail.
	a, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Cfg", Team: tag})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := q.AccountUpdateEmail(ctx, kitdb.AccountUpdateEmailParams{AccountID: a.AccountID, Email: &tag}); err != nil || n != 1 {
		t.Fatalf(":execrows: %d, %v", n, err)
	}
	p, err := q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: tag, Name: "Cfg", RateCents: 1, Credits: 1})
	if err != nil {
		t.Fatal(err)
	}
	note, err := q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: p.ProjectID, AccountID: a.AccountID, Priority: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.NoteDelete(ctx, note.NoteID); err != nil {
		t.Fatalf(":exec: %v", err)
	}
	// A read that finds nothing (on the standby or, in the read-your-writes
	// window, the primary) and a failing write are typed as on a DB.
	checkTypedErrors(t, ctx, "Replicated", q, a.AccountID)

	// Reads (:one, :many, a stream) see the writes once replayed.
	waitFor(t, 30*time.Second, func() bool {
		got, err := q.AccountGetByID(ctx, a.AccountID)
		return err == nil && got.Email != nil && *got.Email == tag
	})
	waitFor(t, 30*time.Second, func() bool {
		list, err := q.AccountList(ctx, kitdb.AccountListParams{TeamPrefix: tag, Max: 10})
		return err == nil && len(list) == 1 && list[0].AccountID == a.AccountID
	})
	streamed := 0
	for acc, err := range q.AccountListStream(ctx, kitdb.AccountListParams{TeamPrefix: tag, Max: 10}) {
		if err != nil || acc.AccountID != a.AccountID {
			t.Fatalf("stream: %+v, %v", acc, err)
		}
		streamed++
	}
	if streamed != 1 {
		t.Fatalf("stream: %d rows, want 1", streamed)
	}

	// A transaction, Pipeline and Gather run on the primary.
	if err := pgkit.WithTx(ctx, r, kitdb.New, func(q *kitdb.Queries) error {
		if inRecovery(ctx, q.DB()) {
			return errors.New("a transaction on a standby")
		}
		_, err := q.AccountUpdateEmail(ctx, kitdb.AccountUpdateEmailParams{AccountID: a.AccountID, Email: nil})
		return err
	}); err != nil {
		t.Fatalf("transaction: %v", err)
	}
	fns := []func(context.Context, *kitdb.Queries) error{
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountGetByID(ctx, a.AccountID)
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) error {
			if inRecovery(ctx, q.DB()) {
				return errors.New("on a standby")
			}
			return nil
		},
	}
	if err := pgkit.Pipeline(ctx, r, kitdb.New, fns...); err != nil {
		t.Fatalf("Pipeline: %v", err)
	}
	if err := pgkit.Gather(ctx, r, kitdb.New, fns...); err != nil {
		t.Fatalf("Gather: %v", err)
	}

	if multiplex {
		// The standby's pool multiplexes too: the same statements are
		// refused wherever a read runs.
		for range 10 {
			rows, err := r.Query(ctx, "SELECT set_config('pgkit.test', 'x', false)")
			if err == nil {
				rows.Close()
			}
			if !errors.Is(err, pgkit.ErrSessionState) {
				t.Fatalf("a session-changing read with Multiplex: %v, want ErrSessionState", err)
			}
		}
	}
	if timeout > 0 {
		// QueryTimeout bounds a read on the standby (a context without a
		// deadline), and a read that timed out is not run again on the
		// primary, where slowOnStandby answers at once.
		waitFor(t, 60*time.Second, func() bool {
			var onStandby bool
			var slept *string
			err := r.QueryRow(context.Background(), slowOnStandby).Scan(&onStandby, &slept)
			if err == nil && !onStandby {
				return false // the read went to the primary: the standby was skipped this time
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("a read stuck on the standby with QueryTimeout: on the standby %v, %v; want the deadline", onStandby, err)
			}
			return true
		})
	}
}
