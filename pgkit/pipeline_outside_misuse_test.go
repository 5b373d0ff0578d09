package pgkit_test

// Outside look: what Pipeline does when its fns break its rules (queries
// from goroutines of their own, a Pipeline inside a fn, COPY and batches,
// streams). Each must end (an error, or at worst wrong answers reported
// here) without a hang, a panic escaping, or a connection left unusable.

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

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// within runs Pipeline on d and fails the test (with every goroutine's
// stack) when it has not returned after 30s.
func within(t *testing.T, d *pgkit.DB, fns ...func(context.Context, pgkit.DBTX) error) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- pgkit.Pipeline(ctx, d, osID, fns...) }()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		cancel()
		select {
		case <-done:
			t.Fatalf("Pipeline hung for 30s (it returned once its context was cancelled)")
		case <-time.After(10 * time.Second):
			t.Fatalf("Pipeline hung for 30s, and 10s more after its context was cancelled:\n%s", dumpAll())
		}
	}
	return nil
}

// rowFn is a well-behaved fn: rounds QueryRows answering (fn, round).
func rowFn(fn, rounds int, bad *atomic.Int64) func(context.Context, pgkit.DBTX) error {
	return func(ctx context.Context, q pgkit.DBTX) error {
		for r := range rounds {
			var a, b int
			if err := q.QueryRow(ctx, "SELECT $1::int, $2::int", fn, r).Scan(&a, &b); err != nil {
				return err
			}
			if a != fn || b != r {
				bad.Add(1)
			}
		}
		return nil
	}
}

// TestPipelineOutsideMisuseOwnGoroutines: a fn issues its queries from
// goroutines of its own, which the doc forbids ("must issue its queries
// one after another"). Expected: an error (or answers that are right), no
// hang, no panic; the well-behaved fns beside it get their own answers.
// Observed (with -race -count=10, about one run in ten): an Exec's reply
// reaches a goroutine waiting in QueryRow, whose Row is then a nil
// *handoffRow: Scan panics with a nil pointer dereference in pgkit
// (pipeline_rows.go), on a goroutine Pipeline cannot recover, so the whole
// process dies. The errors the others get name a "Stream inside Pipeline",
// not the goroutines; some answers are another goroutine's (an Exec's
// row count read as a QueryRow's value); and sometimes (about one run in
// ten with -race) the call deadlocks: every goroutine waits in submit, no
// round is sent, and cancelling Pipeline's context does not end it (its
// connection stays acquired). The panic is recovered here and counted.
func TestPipelineOutsideMisuseOwnGoroutines(t *testing.T) {
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2})
	var swapped, asked, errs, bad, panics atomic.Int64
	var firstPanic atomic.Value
	var firstErr atomic.Value
	for range 30 {
		err := within(t, d,
			rowFn(0, 4, &bad),
			func(ctx context.Context, q pgkit.DBTX) error {
				var wg sync.WaitGroup
				for g := range 4 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer func() {
							if p := recover(); p != nil {
								panics.Add(1)
								firstPanic.CompareAndSwap(nil, fmt.Sprint(p))
							}
						}()
						for r := range 3 {
							want := g*100 + r
							var got int
							var err error
							if g%2 == 0 {
								err = q.QueryRow(ctx, "SELECT $1::int", want).Scan(&got)
							} else {
								var tag pgconn.CommandTag
								tag, err = q.Exec(ctx, "SELECT g FROM generate_series(1, $1::int) g", want+1)
								got = int(tag.RowsAffected()) - 1
							}
							asked.Add(1)
							switch {
							case err != nil:
								errs.Add(1)
								firstErr.CompareAndSwap(nil, err)
							case got != want:
								swapped.Add(1)
							}
						}
					}()
				}
				wg.Wait()
				return nil
			},
			rowFn(2, 4, &bad),
		)
		if err != nil {
			t.Logf("Pipeline: %v", err)
		}
	}
	if n := bad.Load(); n != 0 {
		t.Errorf("well-behaved fns beside the misbehaving one got %d answers not their own", n)
	}
	t.Logf("queries from a fn's own goroutines: %d asked, %d got another goroutine's answer, %d errors (first: %v), %d panics",
		asked.Load(), swapped.Load(), errs.Load(), firstErr.Load(), panics.Load())
	if panics.Load() != 0 || swapped.Load() != 0 {
		t.Errorf("queries from a fn's own goroutines: %d panicked inside pgkit (first: %v), %d answers were another query's; want errors at worst",
			panics.Load(), firstPanic.Load(), swapped.Load())
	}
	checkPool(t, "after goroutines of a fn's own", d.Pool())
}

// TestPipelineOutsideMisuseNested: a fn runs a Pipeline on its own
// Queries. The inner Pipeline's rounds go to the outer's DBTX, whose
// SendBatch refuses: an error, no hang, the outer fns unaffected.
func TestPipelineOutsideMisuseNested(t *testing.T) {
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2})
	var bad atomic.Int64
	var innerErr error
	err := within(t, d,
		rowFn(0, 3, &bad),
		func(ctx context.Context, q pgkit.DBTX) error {
			innerErr = pgkit.Pipeline(ctx, q, osID, rowFn(0, 2, &bad), rowFn(1, 2, &bad))
			return innerErr
		},
		rowFn(2, 3, &bad),
	)
	if innerErr == nil || err == nil || !errors.Is(err, innerErr) {
		t.Errorf("a Pipeline inside a fn: inner %v, outer %v; want an error returned by both", innerErr, err)
	}
	t.Logf("nested Pipeline: %v", innerErr)
	if bad.Load() != 0 {
		t.Errorf("%d answers not the fn's own", bad.Load())
	}
	checkPool(t, "after a nested Pipeline", d.Pool())
}

// TestPipelineOutsideMisuseCopyAndBatch: CopyFrom and SendBatch on a fn's
// DBTX return the documented error; the siblings' answers are their own.
func TestPipelineOutsideMisuseCopyAndBatch(t *testing.T) {
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2})
	type full interface {
		pgkit.DBTX
		CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error)
		SendBatch(context.Context, *pgx.Batch) pgx.BatchResults
	}
	var bad atomic.Int64
	var copyErr, batchErr, batchCloseErr error
	err := within(t, d,
		rowFn(0, 3, &bad),
		func(ctx context.Context, q pgkit.DBTX) error {
			f, ok := q.(full)
			if !ok {
				return fmt.Errorf("a fn's DBTX (%T) has no CopyFrom/SendBatch", q)
			}
			_, copyErr = f.CopyFrom(ctx, pgx.Identifier{"accounts"}, []string{"name"}, pgx.CopyFromRows([][]any{{"x"}}))
			b := &pgx.Batch{}
			b.Queue("SELECT 1")
			br := f.SendBatch(ctx, b)
			_, batchErr = br.Exec()
			batchCloseErr = br.Close()
			// It goes on with a query of its own, which works.
			return rowFn(1, 2, &bad)(ctx, q)
		},
		rowFn(2, 3, &bad),
	)
	for name, e := range map[string]error{"CopyFrom": copyErr, "SendBatch's Exec": batchErr, "SendBatch's Close": batchCloseErr} {
		if e == nil || !strings.Contains(e.Error(), "cannot run inside Pipeline") {
			t.Errorf("%s inside Pipeline: %v, want the documented refusal", name, e)
		}
	}
	if err != nil || bad.Load() != 0 {
		t.Errorf("Pipeline %v, %d answers not the fn's own", err, bad.Load())
	}
	checkPool(t, "after COPY and a batch inside Pipeline", d.Pool())
}

type outsideN struct{ G, Fn int }

// TestPipelineOutsideStreams: fns that stream (pgkit.Stream on their DBTX)
// beside fns with several rounds: read to the end, broken off early, and
// one that stops at a failing row. Each gets its own rows.
func TestPipelineOutsideStreams(t *testing.T) {
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2})
	var bad atomic.Int64
	stream := func(fn, n, stopAt int, failAt int) func(context.Context, pgkit.DBTX) error {
		return func(ctx context.Context, q pgkit.DBTX) error {
			sql := "SELECT g, $1::int FROM generate_series(1, $2::int) g"
			args := []any{fn, n}
			if failAt > 0 {
				sql = "SELECT g / (g - $3::int) * 0 + g, $1::int FROM generate_series(1, $2::int) g"
				args = append(args, failAt)
			}
			got := 0
			for v, err := range pgkit.Stream[outsideN](ctx, q, sql, args...) {
				if err != nil {
					if failAt > 0 && got == failAt-1 {
						return nil // the failure asked for; ignored
					}
					return err
				}
				got++
				if v.G != got || v.Fn != fn {
					bad.Add(1)
				}
				if got == stopAt {
					break
				}
			}
			if failAt > 0 {
				bad.Add(1) // the failing row was not reported
			}
			return nil
		}
	}
	for i := range 20 {
		err := within(t, d,
			stream(0, 5000, -1, 0),
			rowFn(1, 4, &bad),
			stream(2, 5000, 10, 0),
			rowFn(3, 2, &bad),
			stream(4, 100, -1, 0),
		)
		if err != nil || bad.Load() != 0 {
			t.Fatalf("run %d: Pipeline %v, %d answers not the fn's own", i, err, bad.Load())
		}
	}
	// A stream that fails mid-way, ignored by its fn: Pipeline returns it
	// (a query failed), the others' answers are theirs.
	err := within(t, d, rowFn(0, 2, &bad), stream(1, 100, -1, 50), rowFn(2, 2, &bad))
	if err == nil || bad.Load() != 0 {
		t.Errorf("a failing stream: Pipeline %v (want 22012), %d answers not the fn's own", err, bad.Load())
	}
	checkPool(t, "after streams", d.Pool())
}
