package pgkit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// longHistory makes an account with n done jobs and returns it.
func longHistory(t *testing.T, ctx context.Context, d *pgkit.DB, n int) kitdb.Account {
	t.Helper()
	a := kittest.Must(kitdb.New(d).AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Long", Team: "History"}))(t)
	if _, err := d.Exec(ctx, `INSERT INTO jobs (account_id, state, cost_cents)
		SELECT $1, 'done', g FROM generate_series(1, $2::int) g`, a.AccountID, n); err != nil {
		t.Fatal(err)
	}
	return a
}

// notFoundPage is a page whose first fn fails with ErrNotFound while the
// second reads an account's jobs.
func notFoundPage(accountID int64, jobs int) []func(context.Context, *kitdb.Queries) error {
	return []func(context.Context, *kitdb.Queries) error{
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.ProjectGetByID(ctx, 987654321)
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.JobListByAccount(ctx, kitdb.JobListByAccountParams{AccountID: accountID, Max: int32(jobs)})
			return err
		},
	}
}

// TestFirstErrorKeepsConnections: a page whose first fn fails (not found)
// while a sibling reads 1,000 rows, run 40 times through Pipeline and 40
// times through Gather on a pool of two connections, opens no connection:
// the siblings are cancelled without their connections being closed.
// Before, cancelling the siblings' context made pgx close the connection
// of every sibling still reading, and the pool dialled a new one for the
// next page (27–29 new sessions in 200 pages).
func TestFirstErrorKeepsConnections(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2})
	const jobs = 1_000
	a := longHistory(t, ctx, d, jobs)
	// Open both connections before counting.
	fns := notFoundPage(a.AccountID, jobs)
	if err := pgkit.Gather(ctx, d, kitdb.New, fns[1], fns[1]); err != nil {
		t.Fatal(err)
	}
	opened := map[string]int64{}
	for i := range 40 {
		for _, run := range []struct {
			name string
			f    func(context.Context, pgkit.DBTX, func(kitdb.DBTX) *kitdb.Queries, ...func(context.Context, *kitdb.Queries) error) error
		}{
			{"Pipeline", pgkit.Pipeline[kitdb.DBTX, *kitdb.Queries]},
			{"Gather", pgkit.Gather[kitdb.DBTX, *kitdb.Queries]},
		} {
			before := d.Pool().Stat().NewConnsCount()
			err := run.f(ctx, d, kitdb.New, fns...)
			opened[run.name] += d.Pool().Stat().NewConnsCount() - before
			if !errors.Is(err, pgerr.ErrNotFound) || err.Error() != "ProjectGetByID: not found" {
				t.Fatalf("%s, page %d: error %v, want ProjectGetByID's ErrNotFound", run.name, i, err)
			}
		}
	}
	if opened["Pipeline"] != 0 || opened["Gather"] != 0 {
		t.Fatalf("40 failed pages each opened %d new connections through Pipeline and %d through Gather, want 0: cancelled siblings' connections were closed",
			opened["Pipeline"], opened["Gather"])
	}
}

// TestPipelineFirstFnErrorWins: when one fn fails (project not found)
// while a sibling is in the middle of reading its result, Pipeline returns
// that fn's error, never the sibling's error that the failure caused, and
// the sibling's result is read to its end on the same connection, which
// stays open. PipelineInOrder puts the failing query first in the round,
// so the sibling gets its rows only once the failing fn had its result:
// it reads one row, waits until the failure has cancelled its context,
// and reads on. Before, the cancellation made pgx close the connection
// under the sibling (a new connection each time); and an older Pipeline
// returned the sibling's "JobListByAccount: context canceled" in 5–16% of
// calls, which this test used to find by chance in 200 pipelines of a
// 20,000-row sibling (17 s under -race).
func TestPipelineFirstFnErrorWins(t *testing.T) {
	t.Parallel()
	ctx := context.Background() // no deadline to miss: the wait below has a hang guard
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 1})
	const jobs = 2_000
	a := longHistory(t, ctx, d, jobs)
	before := d.Pool().Stat().NewConnsCount()
	for i := range 5 {
		var read int
		var siblingErr error
		err := pgkit.PipelineInOrder(ctx, d, kitdb.New,
			func(ctx context.Context, q *kitdb.Queries) error {
				_, err := q.ProjectGetByID(ctx, 987654321)
				return err
			},
			func(ctx context.Context, q *kitdb.Queries) error {
				rows, err := q.DB().Query(ctx, "SELECT job_id, cost_cents FROM jobs WHERE account_id = $1", a.AccountID)
				if err != nil {
					siblingErr = err
					return err
				}
				defer rows.Close()
				for rows.Next() {
					if read++; read == 1 {
						select {
						case <-ctx.Done(): // the failure cancelled the siblings
						case <-time.After(time.Minute):
							siblingErr = errors.New("not cancelled within a minute of the first fn's failure")
							return siblingErr
						}
					}
				}
				siblingErr = rows.Err()
				return siblingErr
			},
		)
		if !errors.Is(err, pgerr.ErrNotFound) || err.Error() != "ProjectGetByID: not found" {
			t.Fatalf("pipeline %d: error = %v, want ProjectGetByID's ErrNotFound", i, err)
		}
		// The sibling's result had arrived: it is read to its end (or,
		// on a machine slow enough for the server to be asked to cancel
		// it, ends with the cancellation), never cut by a closed
		// connection.
		if siblingErr != nil && pgerr.SQLState(siblingErr) != "57014" {
			t.Fatalf("pipeline %d: the sibling read %d of %d rows and failed with %v, want all rows or the server's cancellation (57014)", i, read, jobs, siblingErr)
		}
		if siblingErr == nil && read != jobs {
			t.Fatalf("pipeline %d: the sibling read %d of %d rows", i, read, jobs)
		}
	}
	if n := d.Pool().Stat().NewConnsCount() - before; n != 0 {
		t.Fatalf("5 pipelines opened %d new connections, want 0: the cancellation closed the connection under the sibling", n)
	}
	// The connection still works.
	if _, err := kitdb.New(d).JobListByAccount(ctx, kitdb.JobListByAccountParams{AccountID: a.AccountID, Max: 1}); err != nil {
		t.Fatal(err)
	}
}
