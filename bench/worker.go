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
	serverPID              int       // the server's postmaster, for its CPU; 0: not measured
}

// meter is a CPU meter for a run of p.
func (p params) meter() *cpuMeter { return &cpuMeter{serverPID: p.serverPID} }

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
	fs.StringVar(&p.client, "client", "shopdb", "shopdb, shopdb-mux or pgx")
	fs.StringVar(&p.workload, "workload", "point", "a workload of shopWorkloads or suiteWorkloads")
	fs.StringVar(&p.mode, "mode", "", "page: sequential, fan-out or pipelined; catalog, series, large, arrays: append (…Append into a reused slice) or none")
	fs.StringVar(&p.dsn, "dsn", "", "database")
	fs.DurationVar(&p.warmup, "warmup", time.Second, "")
	fs.DurationVar(&p.duration, "duration", 3*time.Second, "")
	fs.IntVar(&p.users, "users", 0, "")
	fs.IntVar(&p.products, "products", 0, "")
	fs.Int64Var(&cutoff, "cutoff", 0, "unix nanoseconds")
	fs.IntVar(&p.rows, "rows", 1_000_000, "")
	fs.IntVar(&p.serverPID, "server-pid", 0, "the server's postmaster (0: no server CPU)")
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
	switch {
	case isSuite(p.workload) && (p.client == "shopdb" || p.client == "shopdb-mux"):
		r, err = runSuiteShopdb(ctx, p)
	case isSuite(p.workload) && p.client == "pgx":
		r, err = runSuitePgx(ctx, p)
	case p.client == "shopdb", p.client == "shopdb-mux":
		r, err = runShopdb(ctx, p)
	case p.client == "pgx":
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
	cfg := pgkit.Config{MaxConns: conns, MinConns: conns, AcquireTimeout: -1, Decoders: db.Decoders()}
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
		r, err := timedLoop(ctx, p, oversubCallers, func(ctx context.Context, _, _ int) error {
			_, err := q.UserGetByID(ctx, 1+rand.Int64N(int64(p.users)))
			if errors.Is(err, pgkit.ErrPoolExhausted) {
				exhausted.Add(1)
				return nil
			}
			return err
		})
		r.Errors = exhausted.Load()
		return r, err
	case "point":
		return timedLoop(ctx, p, pointWorkers, func(ctx context.Context, _, _ int) error {
			_, err := q.UserGetByID(ctx, 1+rand.Int64N(int64(p.users)))
			return err
		})
	case "page":
		if p.mode == "one-statement" {
			// The same page as one statement (db.ProductPageLoad): the
			// lists as json_agg columns, decoded into the same types.
			return timedLoop(ctx, p, pageInflight, func(ctx context.Context, _, _ int) error {
				productID, userID := 1+rand.Int64N(int64(p.products)), 1+rand.Int64N(int64(p.users))
				_, err := q.ProductPageLoad(ctx, db.ProductPageLoadParams{ProductID: productID, MaxReviews: pageRows, CustomerID: userID, MaxOrders: pageRows})
				return err
			})
		}
		if p.mode == "batch" {
			return timedLoop(ctx, p, pageInflight, func(ctx context.Context, _, _ int) error {
				productID, userID := 1+rand.Int64N(int64(p.products)), 1+rand.Int64N(int64(p.users))
				var pg struct {
					product db.Product
					reviews []db.Review
					orders  []db.Order
				}
				var b db.Batch
				b.ProductGetByID(&pg.product, productID)
				b.ReviewListByProduct(&pg.reviews, db.ReviewListByProductParams{ProductID: productID, Max: pageRows})
				b.OrderListByUser(&pg.orders, db.OrderListByUserParams{UserID: userID, Max: pageRows})
				return b.Send(ctx, d)
			})
		}
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
		return timedLoop(ctx, p, pageInflight, func(ctx context.Context, _, _ int) error {
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
					pg.reviews, err = q.ReviewListByProduct(ctx, db.ReviewListByProductParams{ProductID: productID, Max: pageRows})
					return err
				},
				func(ctx context.Context, q *db.Queries) (err error) {
					pg.orders, err = q.OrderListByUser(ctx, db.OrderListByUserParams{UserID: userID, Max: pageRows})
					return err
				},
			)
		})
	case "order":
		var retries atomic.Int64
		opts := pgkit.TxOptions{OnRetry: func(int, error) { retries.Add(1) }}
		r, err := timedLoop(ctx, p, orderWorkers, func(ctx context.Context, _, _ int) error {
			_, err := shop.PlaceOrder(ctx, d, 1+rand.Int64N(int64(p.users)), orderLines(), opts)
			return err
		})
		r.Retries = retries.Load()
		return r, err
	case "copy":
		m := p.meter()
		m.start()
		start := time.Now()
		n, err := q.UserCreateManySeq(ctx, copyRows(p.rows))
		r := Result{Rate: float64(n) / time.Since(start).Seconds(), Count: n}
		m.stop(&r, n)
		return r, err
	case "stream":
		return repeatStream(p, func() (int64, error) {
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
func repeatStream(p params, pass func() (int64, error)) (Result, error) {
	m := p.meter()
	m.start()
	start := time.Now()
	var total int64
	for total == 0 || time.Since(start) < p.duration {
		n, err := pass()
		if err != nil {
			return Result{}, err
		}
		if n == 0 {
			return Result{}, fmt.Errorf("stream: no rows")
		}
		total += n
	}
	r := Result{Rate: float64(total) / time.Since(start).Seconds(), Count: total}
	m.stop(&r, total)
	return r, nil
}
