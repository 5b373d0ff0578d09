package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// psOrder records the order in which the queries of a pipeline's batches
// were read (pgx calls TraceBatchQuery as each result is read, in the
// batch's order), so that a test knows which of two queries of one round
// came first.
type psOrder struct {
	mu   sync.Mutex
	sqls []string
}

func (o *psOrder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}
func (o *psOrder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (o *psOrder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (o *psOrder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (o *psOrder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	o.mu.Lock()
	o.sqls = append(o.sqls, data.SQL)
	o.mu.Unlock()
}

// reset forgets what was recorded.
func (o *psOrder) reset() {
	o.mu.Lock()
	o.sqls = nil
	o.mu.Unlock()
}

// after reports whether sql came after failing in the round: read after
// it, or not read at all (pgx reads no result for a query the server
// skipped). ok is false when failing was not read.
func (o *psOrder) after(failing, sql string) (after, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i, j := slices.Index(o.sqls, failing), slices.Index(o.sqls, sql)
	return j < 0 || j > i, i >= 0
}

// The queries of the tests, each told apart by its text.
const (
	psNullBool  = `SELECT NULL::bool AS failing_one`                                                  // into a bool: fails in the client
	psNullMany  = `SELECT x, CASE WHEN x = 2 THEN NULL ELSE true END FROM generate_series(1, 3) AS x` // its second row fails in the client
	psDivZero   = `SELECT 1/(2-x) FROM generate_series(2, 2) AS x`                                    // fails on the server
	psFortyTwo  = `SELECT 42 AS sibling`
	psSeries    = `SELECT generate_series(1, 3) AS sibling_many`
	psExec      = `SELECT 'sibling_exec'`
	psAfterward = `SELECT 7 AS next_round`
)

// psCase is one failing fn beside its siblings.
type psCase struct {
	name    string
	failing string // its SQL
	// fail runs the failing query as a :one or a :many and returns its
	// error.
	fail func(ctx context.Context, q *tyQueries) error
	// server says the server reports the failure: the siblings after it
	// in the round are skipped.
	server bool
}

var psCases = []psCase{
	{name: "one", failing: psNullBool, fail: func(ctx context.Context, q *tyQueries) error {
		var b bool
		return q.db.QueryRow(ctx, psNullBool).Scan(&b)
	}},
	{name: "many", failing: psNullMany, fail: func(ctx context.Context, q *tyQueries) error {
		rows, err := q.db.Query(ctx, psNullMany)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x int
			var b bool
			if err := rows.Scan(&x, &b); err != nil {
				return err
			}
		}
		return rows.Err()
	}},
	{name: "server", failing: psDivZero, server: true, fail: func(ctx context.Context, q *tyQueries) error {
		var n int
		return q.db.QueryRow(ctx, psDivZero).Scan(&n)
	}},
}

// psSiblings is what the sibling fns got.
type psSiblings struct {
	one  int
	many []int
	tag  string
	errs [3]error
}

// psRun runs c's failing fn and three siblings (a :one, a :many and an
// :exec) as one Pipeline on src. The failing fn returns its error when
// returnErr, else swallows it and, after a failure in the client, runs
// another query in the next round. A round runs in the fns' order:
// failingLast passes the failing fn after the siblings, else before them;
// the test reads the real order off the tracer.
func psRun(ctx context.Context, src pgkit.DBTX, c psCase, returnErr, failingLast bool) (failErr, pipeErr error, sib psSiblings, next int) {
	fns := []func(context.Context, *tyQueries) error{
		func(ctx context.Context, q *tyQueries) error {
			failErr = c.fail(ctx, q)
			switch {
			case returnErr:
				return failErr
			case c.server:
				return nil // a transaction would now refuse the next query
			}
			return q.db.QueryRow(ctx, psAfterward).Scan(&next)
		},
		func(ctx context.Context, q *tyQueries) error {
			sib.errs[0] = q.db.QueryRow(ctx, psFortyTwo).Scan(&sib.one)
			return nil
		},
		func(ctx context.Context, q *tyQueries) error {
			rows, err := q.db.Query(ctx, psSeries)
			if err != nil {
				sib.errs[1] = err
				return nil
			}
			defer rows.Close()
			for rows.Next() {
				var n int
				if err := rows.Scan(&n); err != nil {
					sib.errs[1] = err
					return nil
				}
				sib.many = append(sib.many, n)
			}
			sib.errs[1] = rows.Err()
			return nil
		},
		func(ctx context.Context, q *tyQueries) error {
			tag, err := q.db.Exec(ctx, psExec)
			sib.tag, sib.errs[2] = tag.String(), err
			return nil
		},
	}
	if failingLast {
		fns = append(fns[1:], fns[0])
	}
	pipeErr = pgkit.Pipeline(ctx, src, newTyQueries, fns...)
	return failErr, pipeErr, sib, next
}

// TestPipelineClientScanErrorLeavesSiblings checks that a value that fails
// to decode in the client (NULL into a bool, in a :one or in a row of a
// :many) is the error of the fn that scanned it only: the queries of the
// other fns in the same round were answered by the server, and they get
// their results whether they came before or after it in the round; the
// round is read on in step (the next round works). A failure the server
// reports (division by zero) still has the later queries of its round
// reported as skipped. On a pool and inside a transaction.
func TestPipelineClientScanErrorLeavesSiblings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	order := &psOrder{}
	d := pgkittest.NewWithConfig(t, zcMigrations, pgkit.Config{MaxConns: 2, Tracer: order})

	sources := []struct {
		name string
		run  func(fn func(src pgkit.DBTX) error) error
	}{
		{"pool", func(fn func(pgkit.DBTX) error) error { return fn(d) }},
		{"WithTx", func(fn func(pgkit.DBTX) error) error {
			return pgkit.WithTx(ctx, d, newTyQueries, func(q *tyQueries) error {
				if err := fn(q.db); err != nil {
					return err
				}
				// The transaction is still usable after the pipeline.
				var n int
				if err := q.db.QueryRow(ctx, psAfterward).Scan(&n); err != nil || n != 7 {
					return fmt.Errorf("a query after the pipeline: %d, %w", n, err)
				}
				return nil
			})
		}},
	}
	for _, src := range sources {
		for _, c := range psCases {
			for _, returnErr := range []bool{true, false} {
				name := fmt.Sprintf("%s/%s/returnErr=%v", src.name, c.name, returnErr)
				seen := map[bool]int{} // failing query before the :one sibling in the round → times
				// 20 runs each way round: the failing fn passed first,
				// then last.
				for i := range 40 {
					order.reset()
					var (
						failErr, pipeErr error
						sib              psSiblings
						next             int
						after            [3]bool // sibling i came after the failing query
					)
					err := src.run(func(x pgkit.DBTX) error {
						failErr, pipeErr, sib, next = psRun(ctx, x, c, returnErr, i%2 == 1)
						for i, sql := range []string{psFortyTwo, psSeries, psExec} {
							var ok bool
							if after[i], ok = order.after(c.failing, sql); !ok {
								return fmt.Errorf("the tracer did not see the failing query: %q", order.sqls)
							}
						}
						return pipeErr
					})
					seen[after[0]]++
					where := fmt.Sprintf("%s run %d (siblings after the failing query: %v)", name, i, after)
					if !psCheck(t, where, c, returnErr, after, err, failErr, pipeErr, sib, next) {
						return
					}
				}
				t.Logf("%s: the failing query came before the :one sibling in %d runs, after it in %d", name, seen[true], seen[false])
				if seen[true] == 0 || seen[false] == 0 {
					t.Errorf("%s: the failing query came first in %d runs and after the sibling in %d: both orders wanted", name, seen[true], seen[false])
				}
			}
		}
	}
}

// psCheck checks one run of psRun; err is what the source's run returned
// (WithTx's error, or the pipeline's on the pool).
func psCheck(t *testing.T, where string, c psCase, returnErr bool, after [3]bool, err, failErr, pipeErr error, sib psSiblings, next int) bool {
	t.Helper()
	const skipped = "skipped after an earlier query of the pipeline failed"
	ok := true
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: "+format, append([]any{where}, args...)...)
		ok = false
	}
	if failErr == nil {
		fail("the failing query did not fail")
		return false
	}
	if strings.Contains(failErr.Error(), skipped) {
		fail("the failing query's own error is %v", failErr)
	}
	var pgErr *pgconn.PgError
	if c.server {
		if !errors.As(failErr, &pgErr) || pgErr.Code != "22012" {
			fail("division by zero: %v, want SQLSTATE 22012", failErr)
		}
		// The siblings after it were skipped, the ones before answered.
		for i, serr := range sib.errs {
			switch {
			case after[i] && (serr == nil || !strings.Contains(serr.Error(), skipped) || !errors.As(serr, &pgErr) || pgErr.Code != "22012"):
				fail("sibling %d after the failing query: %v, want %q wrapping the division by zero", i, serr, skipped)
			case !after[i] && serr != nil:
				fail("sibling %d before the failing query: %v, want no error", i, serr)
			}
		}
		if !after[0] && sib.one != 42 || !after[1] && !reflect.DeepEqual(sib.many, []int{1, 2, 3}) || !after[2] && sib.tag != "SELECT 1" {
			fail("siblings before the failing query got %d, %v, %q; want 42, [1 2 3], \"SELECT 1\"", sib.one, sib.many, sib.tag)
		}
		if pipeErr == nil || !errors.As(pipeErr, &pgErr) || pgErr.Code != "22012" {
			fail("Pipeline: %v, want the division by zero", pipeErr)
		}
		if err == nil {
			fail("the run: no error, want the division by zero")
		}
		return ok
	}
	// A failure in the client: the siblings are untouched.
	if !strings.Contains(failErr.Error(), "NULL") {
		fail("the failing query: %v, want the NULL it could not scan", failErr)
	}
	for i, serr := range sib.errs {
		if serr != nil {
			fail("sibling %d: %v, want no error", i, serr)
		}
	}
	if sib.one != 42 || !reflect.DeepEqual(sib.many, []int{1, 2, 3}) || sib.tag != "SELECT 1" {
		fail("siblings got %d, %v, %q; want 42, [1 2 3], \"SELECT 1\"", sib.one, sib.many, sib.tag)
	}
	if returnErr {
		if pipeErr == nil || pipeErr.Error() != failErr.Error() {
			fail("Pipeline: %v, want the failing fn's error %v", pipeErr, failErr)
		}
		if err == nil {
			fail("the run: no error, want the failing fn's")
		}
		return ok
	}
	if pipeErr != nil || err != nil {
		fail("Pipeline: %v (the run: %v), want nil: the fn that failed returned nil", pipeErr, err)
	}
	if next != 7 {
		fail("the next round's query: %d, want 7", next)
	}
	return ok
}
