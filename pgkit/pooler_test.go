package pgkit_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// poolerWorkload runs 8 goroutines × 20 rounds of an application's kinds
// of work (single queries, a transaction with locks and a batch, a
// pipelined page, a stream, COPY, a nested transaction) and counts the
// operations that failed.
func poolerWorkload(t *testing.T, ctx context.Context, run, dsn string, cfg pgkit.Config) (ops, failed int, first error) {
	t.Helper()
	d, err := pgkit.Open(ctx, dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	q := kitdb.New(d)
	var mu sync.Mutex
	note := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		ops++
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				tag := fmt.Sprintf("%s-%d-%d", run, g, i)
				a, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "B", Team: tag})
				note(err)
				p, err := q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "B-" + tag, Name: "B", RateCents: 1, Credits: 10})
				note(err)
				_, err = q.AccountGetByID(ctx, a.AccountID)
				note(err)
				_, err = startJob(ctx, d, a.AccountID, []int64{p.ProjectID}, []string{"pooler", tag})
				note(err)
				note(pgkit.Pipeline(ctx, d, kitdb.New, pageFns(&page{}, p.ProjectID, a.AccountID)...))
				n := 0
				for _, err := range q.AccountListStream(ctx, kitdb.AccountListParams{Max: 5}) {
					if err != nil {
						note(err)
						break
					}
					n++
				}
				_, err = q.AccountCreateMany(ctx, []kitdb.AccountCreateManyParams{{Name: "C", Team: tag}})
				note(err)
				note(pgkit.WithTx(ctx, d, kitdb.New, func(q *kitdb.Queries) error {
					return q.RunInTx(ctx, func(s kitdb.Store) error {
						_, err := s.AccountUpdateEmail(ctx, kitdb.AccountUpdateEmailParams{AccountID: a.AccountID, Email: nil})
						return err
					})
				}))
			}
		}()
	}
	wg.Wait()
	return ops, failed, first
}

// startJob is a write transaction as applications have them: it locks the
// projects FOR UPDATE in project_id order, checks and spends one credit of
// each, creates a queued job for accountID costing their rates, and adds
// the job's tags as one batch (:batchexec).
func startJob(ctx context.Context, src pgkit.Source, accountID int64, projectIDs []int64, tags []string) (kitdb.Job, error) {
	var job kitdb.Job
	err := pgkit.WithTx(ctx, src, kitdb.New, func(q *kitdb.Queries) error {
		locked, err := q.ProjectLockForJob(ctx, projectIDs)
		if err != nil {
			return err
		}
		if len(locked) != len(projectIDs) {
			return fmt.Errorf("start job: %d of %d projects found", len(locked), len(projectIDs))
		}
		var cost int64
		amounts := make([]int32, len(locked))
		for i, p := range locked {
			if p.Credits < 1 {
				return fmt.Errorf("start job: project %d has no credits left", p.ProjectID)
			}
			cost += p.RateCents
			amounts[i] = 1
		}
		n, err := q.ProjectSpendCredits(ctx, kitdb.ProjectSpendCreditsParams{ProjectIds: projectIDs, Amounts: amounts})
		if err != nil {
			return err
		}
		if n != int64(len(projectIDs)) {
			return fmt.Errorf("start job: credits spent on %d projects, want %d", n, len(projectIDs))
		}
		job, err = q.JobCreate(ctx, kitdb.JobCreateParams{AccountID: accountID, State: kitdb.JobStateQueued, CostCents: cost})
		if err != nil {
			return err
		}
		params := make([]kitdb.JobTagAddParams, len(tags))
		for i, tag := range tags {
			params[i] = kitdb.JobTagAddParams{JobID: job.JobID, Tag: tag}
		}
		var tagErr error
		q.JobTagAdd(ctx, params).Exec(func(_ int, err error) {
			if err != nil && tagErr == nil {
				tagErr = err
			}
		})
		return tagErr
	})
	return job, err
}

// TestThroughPgBouncer: through a real PgBouncer in transaction mode,
// pgkit's default statement caching breaks (prepared statements do not
// follow a client from one server connection to the next), and with
// Config.Pooler = PoolerTransaction the same work has no failure at all.
func TestThroughPgBouncer(t *testing.T) {
	if _, err := os.Stat(pgtemp.BouncerBin); err != nil {
		t.Skip("pgbouncer is not installed: apt-get install -y pgbouncer (make test does it when run as root)")
	}
	t.Parallel()
	ctx := context.Background()
	dsn := pgkittest.URL(t, kitdb.Migrations())
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pgtemp.StartBouncer(ctx, dsn, "transaction", u.User.Username()) // whichever role pgkittest connects as
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	through := b.URL(dsn)

	ops, failed, first := poolerWorkload(t, ctx, "default", through, pgkit.Config{MaxConns: 8})
	t.Logf("default statement cache through PgBouncer: %d of %d operations failed (first: %v)", failed, ops, first)
	ops, failed, first = poolerWorkload(t, ctx, "pooler", through, pgkit.Config{MaxConns: 8, Pooler: pgkit.PoolerTransaction})
	t.Logf("PoolerTransaction through PgBouncer: %d of %d operations failed", failed, ops)
	if failed != 0 {
		t.Fatalf("%d of %d operations failed behind PgBouncer with PoolerTransaction; first: %v", failed, ops, first)
	}
	// The connection string can say it (Prisma's convention).
	ops, failed, first = poolerWorkload(t, ctx, "dsn", through+"&pgbouncer=true", pgkit.Config{MaxConns: 8})
	if failed != 0 {
		t.Fatalf("pgbouncer=true: %d of %d operations failed; first: %v", failed, ops, first)
	}

	// A server setting as a startup parameter is refused with advice, not
	// sent to a pooler that would refuse the connection.
	_, err = pgkit.Open(ctx, through+"&statement_timeout=5000", pgkit.Config{Pooler: pgkit.PoolerTransaction})
	if err == nil || !strings.Contains(err.Error(), "statement_timeout") || !strings.Contains(err.Error(), "ALTER ROLE") {
		t.Fatalf("statement_timeout behind a transaction pooler: %v", err)
	}
}
