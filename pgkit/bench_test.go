package pgkit_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgslog"
)

// Hot paths of the helpers, with allocations per operation, so that a
// regression shows as a number: go test -run '^$' -bench . -benchmem ./pgkit

// benchDatabase is a database with a page's worth of rows: a project with
// ten notes, an account with ten jobs.
func benchDatabase(b *testing.B) (*pgkit.DB, int64, int64) {
	b.Helper()
	ctx := context.Background()
	d := pgkittest.New(b, kitdb.Migrations())
	q := kitdb.New(d)
	a, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "B", Team: "B"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "B", Name: "B", RateCents: 1, Credits: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, sql := range []string{
		`INSERT INTO accounts (name, team) SELECT 'R', 'R' FROM generate_series(1, 10) WHERE $1::bigint > 0 AND $2::bigint > 0`,
		`INSERT INTO notes (project_id, account_id, priority) SELECT $1, account_id, 4 FROM accounts WHERE account_id <> $2`,
		`INSERT INTO jobs (account_id, state) SELECT $2, 'done' FROM generate_series(1, 10) WHERE $1::bigint > 0`,
	} {
		if _, err := d.Exec(ctx, sql, p.ProjectID, a.AccountID); err != nil {
			b.Fatal(err)
		}
	}
	return d, p.ProjectID, a.AccountID
}

// BenchmarkGetByID compares a generated :one query through *pgkit.DB (typed
// errors, bounded acquire) with the same generated code on the bare pool.
func BenchmarkGetByID(b *testing.B) {
	d, _, accountID := benchDatabase(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    *kitdb.Queries
	}{{"pgkit.DB", kitdb.New(d)}, {"pgxpool", kitdb.New(d.Pool())}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.q.AccountGetByID(ctx, accountID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPage fetches the page of pageFns three ways.
func BenchmarkPage(b *testing.B) {
	d, projectID, accountID := benchDatabase(b)
	ctx := context.Background()
	fns := func() []func(context.Context, *kitdb.Queries) error {
		return pageFns(&page{}, projectID, accountID)
	}
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		q := kitdb.New(d)
		for b.Loop() {
			for _, fn := range fns() {
				if err := fn(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("Gather", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := pgkit.Gather(ctx, d, kitdb.New, fns()...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Pipeline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := pgkit.Pipeline(ctx, d, kitdb.New, fns()...); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same three queries as a pgx.Batch written by hand: Pipeline's
	// reference, since it sends exactly this batch.
	b.Run("pgx.Batch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := pgxPageBatch(ctx, d.Pool(), projectID, accountID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func pgxPageBatch(ctx context.Context, pool *pgxpool.Pool, projectID, accountID int64) error {
	batch := &pgx.Batch{}
	batch.Queue(`SELECT project_id, slug, name, description, rate_cents, credits, created_at FROM projects WHERE project_id = $1`, projectID)
	batch.Queue(`SELECT note_id, project_id, account_id, priority, body, created_at FROM notes
		WHERE project_id = $1 ORDER BY created_at DESC, note_id DESC LIMIT 10`, projectID)
	batch.Queue(`SELECT job_id, account_id, state, cost_cents, created_at FROM jobs
		WHERE account_id = $1 ORDER BY created_at DESC, job_id DESC LIMIT 10`, accountID)
	br := pool.SendBatch(ctx, batch)
	defer br.Close()
	var p kitdb.Project
	if err := br.QueryRow().Scan(&p.ProjectID, &p.Slug, &p.Name, &p.Description, &p.RateCents, &p.Credits, &p.CreatedAt); err != nil {
		return err
	}
	if _, err := pgx.CollectRows(must2(br.Query()), pgx.RowToStructByPos[kitdb.Note]); err != nil {
		return err
	}
	if _, err := pgx.CollectRows(must2(br.Query()), pgx.RowToStructByPos[kitdb.Job]); err != nil {
		return err
	}
	return br.Close()
}

// must2 drops the error of BatchResults.Query, which pgx repeats in the rows.
func must2(rows pgx.Rows, _ error) pgx.Rows { return rows }

// BenchmarkWithTx is a transaction around one small write.
func BenchmarkWithTx(b *testing.B) {
	d, projectID, _ := benchDatabase(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		err := pgkit.WithTx(ctx, d, kitdb.New, func(q *kitdb.Queries) error {
			_, err := q.ProjectUpdateRate(ctx, kitdb.ProjectUpdateRateParams{ProjectID: projectID, RateCents: 2})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkErrorMapping is the cost of turning a server error into a typed one.
func BenchmarkErrorMapping(b *testing.B) {
	pgErr := &pgconn.PgError{Code: "23505", Message: "duplicate key value violates unique constraint", ConstraintName: "accounts_pkey", TableName: "accounts"}
	b.Run("AsConstraint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := pgerr.AsConstraint(pgErr); !ok {
				b.Fatal("not a constraint error")
			}
		}
	})
	b.Run("QueryName", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if pgerr.QueryName("-- name: AccountGetByID :one\nSELECT 1") != "AccountGetByID" {
				b.Fatal("wrong name")
			}
		}
	})
}

// BenchmarkTracer is the tracer's cost per query, with its records filtered
// out by level (production) and written (debugging).
func BenchmarkTracer(b *testing.B) {
	ctx := context.Background()
	start := pgx.TraceQueryStartData{SQL: "-- name: AccountGetByID :one\nSELECT 1", Args: []any{int64(1)}}
	end := pgx.TraceQueryEndData{CommandTag: pgconn.NewCommandTag("SELECT 1")}
	for _, bc := range []struct {
		name  string
		level slog.Level
	}{{"filtered", slog.LevelInfo}, {"written", slog.LevelDebug}} {
		b.Run(bc.name, func(b *testing.B) {
			tr := pgslog.NewTracer(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: bc.level})), pgslog.Config{})
			b.ReportAllocs()
			for b.Loop() {
				tr.TraceQueryEnd(tr.TraceQueryStart(ctx, nil, start), nil, end)
			}
		})
	}
}

// BenchmarkStream reads 100,000 rows through JobExportStream and through a
// hand-written pgx loop over the same SQL, per row.
func BenchmarkStream(b *testing.B) {
	d, _, accountID := benchDatabase(b)
	ctx := context.Background()
	if _, err := d.Exec(ctx, `INSERT INTO jobs (account_id, state) SELECT $1, 'done' FROM generate_series(1, 100000)`, accountID); err != nil {
		b.Fatal(err)
	}
	window := kitdb.JobExportParams{Since: time.Unix(0, 0), Until: time.Now().Add(time.Hour)}
	q := kitdb.New(d)
	b.Run("JobExportStream", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for _, err := range q.JobExportStream(ctx, window) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/row")
	})
	b.Run("pgx", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			rows, err := d.Pool().Query(ctx, `SELECT job_id, account_id, state, cost_cents, created_at FROM jobs
				WHERE created_at >= $1 AND created_at < $2 ORDER BY job_id`, window.Since, window.Until)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				// What code without the typed layer writes: state as a plain string.
				var j struct {
					JobID, AccountID, CostCents int64
					State                       string
					CreatedAt                   time.Time
				}
				if err := rows.Scan(&j.JobID, &j.AccountID, &j.State, &j.CostCents, &j.CreatedAt); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if rows.Err() != nil {
				b.Fatal(rows.Err())
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/row")
	})
}

// benchDB is one of the DBs a benchmark compares, by name.
type benchDB struct {
	name string
	d    *pgkit.DB
}

// benchMuxDatabase is benchDatabase's database twice: through a multiplexing DB
// (pool of 4, so 3 lanes) and through the plain pool of 4.
func benchMuxDatabase(b *testing.B) ([]benchDB, int64, int64) {
	b.Helper()
	plain, projectID, accountID := benchDatabase(b)
	mx, err := pgkit.Open(context.Background(), plain.Pool().Config().ConnString(), pgkit.Config{MaxConns: 4, Multiplex: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mx.Close)
	return []benchDB{{"multiplexed", mx}, {"pool", plain}}, projectID, accountID
}

// BenchmarkMultiplexed is the page of pageFns and a point query on a
// multiplexing DB (Config.Multiplex), from 64 goroutines at once, beside
// the plain pool: ns/op is per page or query, allocs/op what each costs the
// caller and the lane.
func BenchmarkMultiplexed(b *testing.B) {
	dbs, projectID, accountID := benchMuxDatabase(b)
	ctx := context.Background()
	for _, bc := range dbs {
		b.Run("page-Gather/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(32) // × GOMAXPROCS goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := pgkit.Gather(ctx, bc.d, kitdb.New, pageFns(&page{}, projectID, accountID)...); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run("point/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			q := kitdb.New(bc.d)
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := q.AccountGetByID(ctx, accountID); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkMultiplexHeadOfLine measures what a slow statement costs the
// quick ones around it: 64 goroutines of point queries, beside one
// goroutine running a 50 ms statement back to back, on a multiplexing DB
// (pool of 4, so 3 lanes) and on a plain pool of 4. It reports the quick
// queries' p50, p99, p99.9 and worst latency; ns/op is per quick query.
func BenchmarkMultiplexHeadOfLine(b *testing.B) {
	dbs, _, accountID := benchMuxDatabase(b)
	ctx := context.Background()
	for _, bc := range dbs {
		for _, slow := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/slow=%v", bc.name, slow), func(b *testing.B) {
				q := kitdb.New(bc.d)
				stop := make(chan struct{})
				var slowDone sync.WaitGroup
				if slow {
					slowDone.Go(func() {
						for {
							select {
							case <-stop:
								return
							default:
							}
							if _, err := bc.d.Exec(ctx, "SELECT pg_sleep(0.05)"); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				var mu sync.Mutex
				var lat []time.Duration
				b.SetParallelism(32)
				b.RunParallel(func(pb *testing.PB) {
					var mine []time.Duration
					for pb.Next() {
						start := time.Now()
						if _, err := q.AccountGetByID(ctx, accountID); err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, time.Since(start))
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				})
				close(stop)
				slowDone.Wait()
				slices.Sort(lat)
				if len(lat) > 0 {
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
					b.ReportMetric(float64(lat[len(lat)*999/1000].Microseconds())/1000, "p99.9-ms")
					b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
				}
			})
		}
	}
}

// BenchmarkPerStatement is what pgkit adds to one statement over a bare
// pgxpool.Pool (issue 18): SELECT 1+1 by QueryRow and Scan, and a one-row
// UPDATE by Exec, from 1 and from 64 goroutines on 10 connections, on a
// bare pgxpool, on pgkit.Open's DB and on a multiplexing one. Besides
// ns/op and allocs/op it reports the process's CPU time per statement
// (getrusage, user + system: the server is another process), the figure
// the issue compares. Interleave the variants and take medians:
//
//	go test -c -o /tmp/pgkit.test ./pgkit
//	for i in 1 2 3; do /tmp/pgkit.test -test.run '^$' -test.bench PerStatement -test.benchtime 20000x; done
func BenchmarkPerStatement(b *testing.B) {
	ctx := context.Background()
	url := pgkittest.EmptyURL(b)
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		b.Fatal(err)
	}
	pcfg.MaxConns = 10
	raw, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(raw.Close)
	if _, err := raw.Exec(ctx, `CREATE TABLE bench_kv (k int PRIMARY KEY, v int NOT NULL);
		INSERT INTO bench_kv SELECT k, 0 FROM generate_series(0, 63) k`); err != nil {
		b.Fatal(err)
	}
	dbs := []struct {
		name string
		db   pgkit.DBTX
	}{{"pgxpool", raw}}
	for _, v := range []struct {
		name string
		cfg  pgkit.Config
	}{{"pgkit", pgkit.Config{MaxConns: 10}}, {"multiplex", pgkit.Config{MaxConns: 10, Multiplex: true}}} {
		d, err := pgkit.Open(ctx, url, v.cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(d.Close)
		dbs = append(dbs, struct {
			name string
			db   pgkit.DBTX
		}{v.name, d})
	}
	statements := []struct {
		name string
		run  func(db pgkit.DBTX, k int) error
	}{
		{"select", func(db pgkit.DBTX, _ int) error {
			var n int
			return db.QueryRow(ctx, "SELECT 1+1").Scan(&n)
		}},
		{"exec", func(db pgkit.DBTX, k int) error {
			_, err := db.Exec(ctx, "UPDATE bench_kv SET v = v + 1 WHERE k = $1", k)
			return err
		}},
	}
	for _, st := range statements {
		for _, g := range []int{1, 64} {
			for _, v := range dbs {
				b.Run(fmt.Sprintf("%s/g%d/%s", st.name, g, v.name), func(b *testing.B) {
					benchConcurrent(b, g, func(k int) error { return st.run(v.db, k) })
				})
			}
		}
	}
}

// benchConcurrent runs op b.N times in all from g goroutines (op's k is
// the goroutine's number), after warming the pool, and reports the
// process's CPU time per op.
func benchConcurrent(b *testing.B, g int, op func(k int) error) {
	var wg sync.WaitGroup
	for k := range g { // warm: every connection open, every statement prepared
		wg.Go(func() {
			for range 20 {
				if err := op(k); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ReportAllocs()
	before := cpuTime(b)
	b.ResetTimer()
	for k := range g {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := op(k); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-before).Nanoseconds())/1000/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
