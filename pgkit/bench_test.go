package pgkit_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgslog"
	"github.com/shopdb/shopdb/schema"
)

// Hot paths of the helpers, with allocations per operation, so that a
// regression shows as a number: go test -run '^$' -bench . -benchmem ./db

// benchShop is a database with a product page's worth of rows.
func benchShop(b *testing.B) (*pgkit.DB, int64, int64) {
	b.Helper()
	ctx := context.Background()
	d := pgkittest.New(b, schema.FS())
	q := db.New(d)
	u, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "B", LastName: "B"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := q.ProductCreate(ctx, db.ProductCreateParams{Sku: "B", Name: "B", PriceCents: 1, Stock: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, sql := range []string{
		`INSERT INTO users (first_name, last_name) SELECT 'R', 'R' FROM generate_series(1, 10) WHERE $1::bigint > 0 AND $2::bigint > 0`,
		`INSERT INTO reviews (product_id, user_id, rating) SELECT $1, user_id, 4 FROM users WHERE user_id <> $2`,
		`INSERT INTO orders (user_id, status) SELECT $2, 'paid' FROM generate_series(1, 10) WHERE $1::bigint > 0`,
	} {
		if _, err := d.Exec(ctx, sql, p.ProductID, u.UserID); err != nil {
			b.Fatal(err)
		}
	}
	return d, p.ProductID, u.UserID
}

// BenchmarkGetByID compares a generated :one query through *pgkit.DB (typed
// errors, bounded acquire) with the same generated code on the bare pool.
func BenchmarkGetByID(b *testing.B) {
	d, _, userID := benchShop(b)
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		q    *db.Queries
	}{{"pgkit.DB", db.New(d)}, {"pgxpool", db.New(d.Pool())}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.q.UserGetByID(ctx, userID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPage fetches the product page three ways.
func BenchmarkPage(b *testing.B) {
	d, productID, userID := benchShop(b)
	ctx := context.Background()
	fns := func() []func(context.Context, *db.Queries) error {
		return pageFns(&page{}, productID, userID)
	}
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		q := db.New(d)
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
			if err := pgkit.Gather(ctx, d, db.New, fns()...); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Pipeline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := pgkit.Pipeline(ctx, d, db.New, fns()...); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The same three queries as a pgx.Batch written by hand: Pipeline's
	// reference, since it sends exactly this batch.
	b.Run("pgx.Batch", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := pgxPageBatch(ctx, d.Pool(), productID, userID); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func pgxPageBatch(ctx context.Context, pool *pgxpool.Pool, productID, userID int64) error {
	batch := &pgx.Batch{}
	batch.Queue(`SELECT product_id, sku, name, description, price_cents, stock, created_at FROM products WHERE product_id = $1`, productID)
	batch.Queue(`SELECT review_id, product_id, user_id, rating, body, created_at FROM reviews
		WHERE product_id = $1 ORDER BY created_at DESC, review_id DESC LIMIT 10`, productID)
	batch.Queue(`SELECT order_id, user_id, status, total_cents, created_at FROM orders
		WHERE user_id = $1 ORDER BY created_at DESC, order_id DESC LIMIT 10`, userID)
	br := pool.SendBatch(ctx, batch)
	defer br.Close()
	var p db.Product
	if err := br.QueryRow().Scan(&p.ProductID, &p.Sku, &p.Name, &p.Description, &p.PriceCents, &p.Stock, &p.CreatedAt); err != nil {
		return err
	}
	if _, err := pgx.CollectRows(must2(br.Query()), pgx.RowToStructByPos[db.Review]); err != nil {
		return err
	}
	if _, err := pgx.CollectRows(must2(br.Query()), pgx.RowToStructByPos[db.Order]); err != nil {
		return err
	}
	return br.Close()
}

// must2 drops the error of BatchResults.Query, which pgx repeats in the rows.
func must2(rows pgx.Rows, _ error) pgx.Rows { return rows }

// BenchmarkWithTx is a transaction around one small write.
func BenchmarkWithTx(b *testing.B) {
	d, productID, _ := benchShop(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		err := pgkit.WithTx(ctx, d, db.New, func(q *db.Queries) error {
			_, err := q.ProductUpdatePrice(ctx, db.ProductUpdatePriceParams{ProductID: productID, PriceCents: 2})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkErrorMapping is the cost of turning a server error into a typed one.
func BenchmarkErrorMapping(b *testing.B) {
	pgErr := &pgconn.PgError{Code: "23505", Message: "duplicate key value violates unique constraint", ConstraintName: "users_pkey", TableName: "users"}
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
			if pgerr.QueryName("-- name: UserGetByID :one\nSELECT 1") != "UserGetByID" {
				b.Fatal("wrong name")
			}
		}
	})
}

// BenchmarkTracer is the tracer's cost per query, with its records filtered
// out by level (production) and written (debugging).
func BenchmarkTracer(b *testing.B) {
	ctx := context.Background()
	start := pgx.TraceQueryStartData{SQL: "-- name: UserGetByID :one\nSELECT 1", Args: []any{int64(1)}}
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

// BenchmarkStream reads 100,000 rows through OrderExportStream and through a
// hand-written pgx loop over the same SQL, per row.
func BenchmarkStream(b *testing.B) {
	d, _, userID := benchShop(b)
	ctx := context.Background()
	if _, err := d.Exec(ctx, `INSERT INTO orders (user_id, status) SELECT $1, 'paid' FROM generate_series(1, 100000)`, userID); err != nil {
		b.Fatal(err)
	}
	window := db.OrderExportParams{Since: time.Unix(0, 0), Until: time.Now().Add(time.Hour)}
	q := db.New(d)
	b.Run("OrderExportStream", func(b *testing.B) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for _, err := range q.OrderExportStream(ctx, window) {
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
			rows, err := d.Pool().Query(ctx, `SELECT order_id, user_id, status, total_cents, created_at FROM orders
				WHERE created_at >= $1 AND created_at < $2 ORDER BY order_id`, window.Since, window.Until)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
				// What code without the typed layer writes: status as a plain string.
				var o struct {
					OrderID, UserID, TotalCents int64
					Status                      string
					CreatedAt                   time.Time
				}
				if err := rows.Scan(&o.OrderID, &o.UserID, &o.Status, &o.TotalCents, &o.CreatedAt); err != nil {
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

// benchMuxShop is benchShop's database twice: through a multiplexing DB
// (pool of 4, so 3 lanes) and through the plain pool of 4.
func benchMuxShop(b *testing.B) ([]benchDB, int64, int64) {
	b.Helper()
	plain, productID, userID := benchShop(b)
	mx, err := pgkit.Open(context.Background(), plain.Pool().Config().ConnString(), pgkit.Config{MaxConns: 4, Multiplex: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mx.Close)
	return []benchDB{{"multiplexed", mx}, {"pool", plain}}, productID, userID
}

// BenchmarkMultiplexed is the product page and a point query on a
// multiplexing DB (Config.Multiplex), from 64 goroutines at once (as the
// bench program's page workload runs), beside the plain pool: ns/op is per
// page or query, allocs/op what each costs the caller and the lane.
func BenchmarkMultiplexed(b *testing.B) {
	dbs, productID, userID := benchMuxShop(b)
	ctx := context.Background()
	for _, bc := range dbs {
		b.Run("page-Gather/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(32) // × GOMAXPROCS goroutines
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := pgkit.Gather(ctx, bc.d, db.New, pageFns(&page{}, productID, userID)...); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
		b.Run("point/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			q := db.New(bc.d)
			b.SetParallelism(32)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := q.UserGetByID(ctx, userID); err != nil {
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
	dbs, _, userID := benchMuxShop(b)
	ctx := context.Background()
	for _, bc := range dbs {
		for _, slow := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/slow=%v", bc.name, slow), func(b *testing.B) {
				q := db.New(bc.d)
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
						if _, err := q.UserGetByID(ctx, userID); err != nil {
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
