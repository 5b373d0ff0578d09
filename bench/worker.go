package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"iter"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/shop"
)

// params is what a worker process is told to measure.
type params struct {
	client, workload, mode string
	dsn                    string
	warmup, duration       time.Duration
	users, products        int
	cutoff                 time.Time // orders created before it are the seeded ones
	rows                   int       // rows to copy
}

// workload sizes shared by every client.
const (
	pointWorkers, pointConns     = 16, 16
	pageInflight, pageConns      = 64, 10
	orderWorkers, orderConns     = 32, 32
	orderProducts                = 100
	oversubCallers, oversubConns = 1000, 10
)

// workerMain runs one Go client on one workload and prints its Result.
func workerMain(args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var p params
	var cutoff int64
	fs.StringVar(&p.client, "client", "shopdb", "shopdb or pgx")
	fs.StringVar(&p.workload, "workload", "point", "point, page, order, copy or stream")
	fs.StringVar(&p.mode, "mode", "", "page: sequential, fan-out or pipelined")
	fs.StringVar(&p.dsn, "dsn", "", "database")
	fs.DurationVar(&p.warmup, "warmup", time.Second, "")
	fs.DurationVar(&p.duration, "duration", 3*time.Second, "")
	fs.IntVar(&p.users, "users", 0, "")
	fs.IntVar(&p.products, "products", 0, "")
	fs.Int64Var(&cutoff, "cutoff", 0, "unix nanoseconds")
	fs.IntVar(&p.rows, "rows", 1_000_000, "")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	p.cutoff = time.Unix(0, cutoff)
	ctx := context.Background()
	var r Result
	var err error
	switch p.client {
	case "shopdb", "shopdb-mux":
		r, err = runShopdb(ctx, p)
	case "pgx":
		r, err = runPgx(ctx, p)
	default:
		err = fmt.Errorf("unknown client %q", p.client)
	}
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", p.client, p.workload, p.mode, err)
	}
	r.Client, r.Workload, r.Mode = p.client, p.workload, p.mode
	r.PeakRSSMB = peakRSSMB()
	return json.NewEncoder(os.Stdout).Encode(r)
}

// peakRSSMB is this process's peak resident set (VmHWM), in MB.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// copyRows yields the rows every client copies: narrow users.
func copyRows(n int) iter.Seq[db.UserCreateManyParams] {
	return func(yield func(db.UserCreateManyParams) bool) {
		for i := range n {
			email := fmt.Sprintf("user%d@copy.example.com", i)
			if !yield(db.UserCreateManyParams{FirstName: fmt.Sprint("First", i), LastName: fmt.Sprint("Last", i), Email: &email}) {
				return
			}
		}
	}
}

// orderLines picks two of the first 100 products, one unit each.
func orderLines() []shop.OrderLine {
	return []shop.OrderLine{
		{ProductID: 1 + rand.Int64N(orderProducts), Quantity: 1},
		{ProductID: 1 + rand.Int64N(orderProducts), Quantity: 1},
	}
}

// ---- shopdb: the generated methods and helpers, as an application calls them.

func runShopdb(ctx context.Context, p params) (Result, error) {
	conns := map[string]int32{"point": pointConns, "page": pageConns, "order": orderConns, "copy": 1, "stream": 1, "oversub": oversubConns}[p.workload]
	cfg := pgkit.Config{MaxConns: conns, MinConns: conns, AcquireTimeout: -1}
	if p.workload == "oversub" {
		cfg.AcquireTimeout = 0 // the default, 5s: an application's setting, under which a pool sheds load
	}
	if p.client == "shopdb-mux" {
		cfg.Multiplex = true
		cfg.MultiplexConns = muxConns()
	}
	d, err := pgkit.Open(ctx, p.dsn, cfg)
	if err != nil {
		return Result{}, err
	}
	defer d.Close()
	q := db.New(d)
	if d.Multiplexing() && os.Getenv("SHOPDB_MUX_STATS") != "" {
		defer func() { fmt.Fprintf(os.Stderr, "multiplexer: %+v\n", d.MultiplexStats()) }()
	}
	switch p.workload {
	case "oversub":
		var exhausted atomic.Int64
		lat, err := closedLoop(ctx, oversubCallers, p.warmup, p.duration, func(ctx context.Context, _, _ int) error {
			_, err := q.UserGetByID(ctx, 1+rand.Int64N(int64(p.users)))
			if errors.Is(err, pgkit.ErrPoolExhausted) {
				exhausted.Add(1)
				return nil
			}
			return err
		})
		r := latencyResult(lat, p.duration)
		r.Errors = exhausted.Load()
		return r, err
	case "point":
		lat, err := closedLoop(ctx, pointWorkers, p.warmup, p.duration, func(ctx context.Context, _, _ int) error {
			_, err := q.UserGetByID(ctx, 1+rand.Int64N(int64(p.users)))
			return err
		})
		return latencyResult(lat, p.duration), err
	case "page":
		fetch := map[string]func(ctx context.Context, fns ...func(context.Context, *db.Queries) error) error{
			"sequential": func(ctx context.Context, fns ...func(context.Context, *db.Queries) error) error {
				for _, fn := range fns {
					if err := fn(ctx, q); err != nil {
						return err
					}
				}
				return nil
			},
			"fan-out": func(ctx context.Context, fns ...func(context.Context, *db.Queries) error) error {
				return pgkit.Gather(ctx, d, db.New, fns...)
			},
			"pipelined": func(ctx context.Context, fns ...func(context.Context, *db.Queries) error) error {
				return pgkit.Pipeline(ctx, d, db.New, fns...)
			},
		}[p.mode]
		if fetch == nil {
			return Result{}, fmt.Errorf("unknown page mode %q", p.mode)
		}
		lat, err := closedLoop(ctx, pageInflight, p.warmup, p.duration, func(ctx context.Context, _, _ int) error {
			productID, userID := 1+rand.Int64N(int64(p.products)), 1+rand.Int64N(int64(p.users))
			var pg struct {
				product db.Product
				reviews []db.Review
				orders  []db.Order
			}
			return fetch(ctx,
				func(ctx context.Context, q *db.Queries) (err error) {
					pg.product, err = q.ProductGetByID(ctx, productID)
					return err
				},
				func(ctx context.Context, q *db.Queries) (err error) {
					pg.reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: productID, Max: 10})
					return err
				},
				func(ctx context.Context, q *db.Queries) (err error) {
					pg.orders, err = q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: userID, Max: 10})
					return err
				},
			)
		})
		return latencyResult(lat, p.duration), err
	case "order":
		var retries atomic.Int64
		opts := pgkit.TxOptions{OnRetry: func(int, error) { retries.Add(1) }}
		lat, err := closedLoop(ctx, orderWorkers, p.warmup, p.duration, func(ctx context.Context, _, _ int) error {
			_, err := shop.PlaceOrder(ctx, d, 1+rand.Int64N(int64(p.users)), orderLines(), opts)
			return err
		})
		r := latencyResult(lat, p.duration)
		r.Retries = retries.Load()
		return r, err
	case "copy":
		start := time.Now()
		n, err := q.UserCreateManySeq(ctx, copyRows(p.rows))
		return Result{Rate: float64(n) / time.Since(start).Seconds(), Count: n}, err
	case "stream":
		return repeatStream(p.duration, func() (int64, error) {
			var n int64
			for _, err := range q.OrderExportStream(ctx, db.OrderExportParams{Since: time.Unix(0, 0), Until: p.cutoff}) {
				if err != nil {
					return n, err
				}
				n++
			}
			return n, nil
		})
	}
	return Result{}, fmt.Errorf("unknown workload %q", p.workload)
}

// muxConns is how many of the pool's connections shopdb-mux multiplexes
// on: SHOPDB_MUX_CONNS when set (for tuning), else 0, pgkit's default
// (DefaultMultiplexConns).
func muxConns() int32 {
	if v, err := strconv.Atoi(os.Getenv("SHOPDB_MUX_CONNS")); err == nil && v > 0 {
		return int32(v)
	}
	return 0
}

// repeatStream reads the whole result again until duration has passed (at
// least once): one pass of a million rows is too short to measure on a
// shared machine.
func repeatStream(duration time.Duration, pass func() (int64, error)) (Result, error) {
	start := time.Now()
	var total int64
	for total == 0 || time.Since(start) < duration {
		n, err := pass()
		if err != nil {
			return Result{}, err
		}
		if n == 0 {
			return Result{}, fmt.Errorf("stream: no rows")
		}
		total += n
	}
	return Result{Rate: float64(total) / time.Since(start).Seconds(), Count: total}, nil
}

// ---- raw pgx: the same SQL, written by hand against pgxpool.

const (
	sqlUser    = `SELECT user_id, first_name, last_name, email, created_at FROM users WHERE user_id = $1`
	sqlProduct = `SELECT product_id, sku, name, description, price_cents, stock, created_at FROM products WHERE product_id = $1`
	sqlReviews = `SELECT review_id, product_id, user_id, rating, body, created_at FROM reviews
		WHERE product_id = $1 ORDER BY created_at DESC, review_id DESC LIMIT 10`
	sqlOrders = `SELECT order_id, user_id, status, total_cents, created_at FROM orders
		WHERE user_id = $1 ORDER BY created_at DESC, order_id DESC LIMIT 10`
	sqlOrderExport = `SELECT order_id, user_id, status, total_cents, created_at FROM orders
		WHERE created_at >= $1 AND created_at < $2 ORDER BY order_id`
)

type rawUser struct {
	ID          int64
	First, Last string
	Email       *string
	Created     time.Time
}

type rawProduct struct {
	ID          int64
	SKU, Name   string
	Description *string
	Price       int64
	Stock       int32
	Created     time.Time
}

type rawReview struct {
	ID, ProductID, UserID int64
	Rating                int16
	Body                  *string
	Created               time.Time
}

type rawOrder struct {
	ID, UserID int64
	Status     string
	Total      int64
	Created    time.Time
}

func scanReviews(rows pgx.Rows) ([]rawReview, error) {
	defer rows.Close()
	var out []rawReview
	for rows.Next() {
		var r rawReview
		if err := rows.Scan(&r.ID, &r.ProductID, &r.UserID, &r.Rating, &r.Body, &r.Created); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func scanOrders(rows pgx.Rows) ([]rawOrder, error) {
	defer rows.Close()
	var out []rawOrder
	for rows.Next() {
		var o rawOrder
		if err := rows.Scan(&o.ID, &o.UserID, &o.Status, &o.Total, &o.Created); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func runPgx(ctx context.Context, p params) (Result, error) {
	conns := map[string]int32{"point": pointConns, "page": pageConns, "order": orderConns, "copy": 1, "stream": 1, "oversub": oversubConns}[p.workload]
	cfg, err := pgxpool.ParseConfig(p.dsn)
	if err != nil {
		return Result{}, err
	}
	cfg.MaxConns, cfg.MinConns = conns, conns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer pool.Close()
	switch p.workload {
	case "point", "oversub":
		workers := map[string]int{"point": pointWorkers, "oversub": oversubCallers}[p.workload]
		lat, err := closedLoop(ctx, workers, p.warmup, p.duration, func(ctx context.Context, _, _ int) error {
			var u rawUser
			return pool.QueryRow(ctx, sqlUser, 1+rand.Int64N(int64(p.users))).Scan(&u.ID, &u.First, &u.Last, &u.Email, &u.Created)
		})
		return latencyResult(lat, p.duration), err
	case "page":
		lat, err := closedLoop(ctx, pageInflight, p.warmup, p.duration, func(ctx context.Context, _, _ int) error {
			productID, userID := 1+rand.Int64N(int64(p.products)), 1+rand.Int64N(int64(p.users))
			switch p.mode {
			case "sequential":
				return pgxPageSequential(ctx, pool, productID, userID)
			case "pipelined":
				return pgxPagePipelined(ctx, pool, productID, userID)
			}
			return fmt.Errorf("unknown page mode %q", p.mode)
		})
		return latencyResult(lat, p.duration), err
	case "order":
		lat, err := closedLoop(ctx, orderWorkers, p.warmup, p.duration, func(ctx context.Context, _, _ int) error {
			return pgxPlaceOrder(ctx, pool, 1+rand.Int64N(int64(p.users)), orderLines())
		})
		return latencyResult(lat, p.duration), err
	case "copy":
		start := time.Now()
		next, stop := iter.Pull(copyRows(p.rows))
		defer stop()
		row := make([]any, 3)
		n, err := pool.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"first_name", "last_name", "email"},
			pgx.CopyFromFunc(func() ([]any, error) {
				u, ok := next()
				if !ok {
					return nil, nil
				}
				row[0], row[1], row[2] = u.FirstName, u.LastName, u.Email
				return row, nil
			}))
		return Result{Rate: float64(n) / time.Since(start).Seconds(), Count: n}, err
	case "stream":
		return repeatStream(p.duration, func() (int64, error) {
			rows, err := pool.Query(ctx, sqlOrderExport, time.Unix(0, 0), p.cutoff)
			if err != nil {
				return 0, err
			}
			defer rows.Close()
			var n int64
			for rows.Next() {
				var o rawOrder
				if err := rows.Scan(&o.ID, &o.UserID, &o.Status, &o.Total, &o.Created); err != nil {
					return n, err
				}
				n++
			}
			return n, rows.Err()
		})
	}
	return Result{}, fmt.Errorf("unknown workload %q", p.workload)
}

func pgxPageSequential(ctx context.Context, pool *pgxpool.Pool, productID, userID int64) error {
	var pr rawProduct
	if err := pool.QueryRow(ctx, sqlProduct, productID).Scan(&pr.ID, &pr.SKU, &pr.Name, &pr.Description, &pr.Price, &pr.Stock, &pr.Created); err != nil {
		return err
	}
	rows, err := pool.Query(ctx, sqlReviews, productID)
	if err != nil {
		return err
	}
	if _, err := scanReviews(rows); err != nil {
		return err
	}
	rows, err = pool.Query(ctx, sqlOrders, userID)
	if err != nil {
		return err
	}
	_, err = scanOrders(rows)
	return err
}

func pgxPagePipelined(ctx context.Context, pool *pgxpool.Pool, productID, userID int64) error {
	b := &pgx.Batch{}
	b.Queue(sqlProduct, productID)
	b.Queue(sqlReviews, productID)
	b.Queue(sqlOrders, userID)
	br := pool.SendBatch(ctx, b)
	defer br.Close()
	var pr rawProduct
	if err := br.QueryRow().Scan(&pr.ID, &pr.SKU, &pr.Name, &pr.Description, &pr.Price, &pr.Stock, &pr.Created); err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	if _, err := scanReviews(rows); err != nil {
		return err
	}
	rows, err = br.Query()
	if err != nil {
		return err
	}
	if _, err := scanOrders(rows); err != nil {
		return err
	}
	return br.Close()
}

func pgxPlaceOrder(ctx context.Context, pool *pgxpool.Pool, userID int64, lines []shop.OrderLine) error {
	qty := map[int64]int32{}
	for _, l := range lines {
		qty[l.ProductID] += l.Quantity
	}
	ids := make([]int64, 0, len(qty))
	for id := range qty {
		ids = append(ids, id)
	}
	if len(ids) == 2 && ids[0] > ids[1] {
		ids[0], ids[1] = ids[1], ids[0]
	}
	q := make([]int32, len(ids))
	for i, id := range ids {
		q[i] = qty[id]
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT product_id, price_cents, stock FROM products WHERE product_id = ANY($1) ORDER BY product_id FOR UPDATE`, ids)
		if err != nil {
			return err
		}
		prices := make([]int64, 0, len(ids))
		var total int64
		i := 0
		for rows.Next() {
			var id, price int64
			var stock int32
			if err := rows.Scan(&id, &price, &stock); err != nil {
				return err
			}
			if stock < q[i] {
				return fmt.Errorf("product %d: insufficient stock", id)
			}
			prices = append(prices, price)
			total += price * int64(q[i])
			i++
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE products AS p SET stock = p.stock - t.quantity
			FROM (SELECT unnest($1::bigint[]) AS product_id, unnest($2::integer[]) AS quantity) AS t
			WHERE p.product_id = t.product_id`, ids, q); err != nil {
			return err
		}
		var orderID int64
		if err := tx.QueryRow(ctx, `INSERT INTO orders (user_id, status, total_cents) VALUES ($1, 'pending', $2) RETURNING order_id`,
			userID, total).Scan(&orderID); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for i, id := range ids {
			b.Queue(`INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)`, orderID, id, q[i], prices[i])
		}
		return tx.SendBatch(ctx, b).Close()
	})
}
