// Command bench measures shopdb against a real PostgreSQL: by default the
// product page (a product, its reviews and the customer's order history)
// fetched sequentially, fanned out over the pool (Gather) and pipelined on
// one connection (Pipeline), with many requests in flight.
//
//	go run ./bench                      # throwaway server, seed, run, print a table
//	go run ./bench -duration 10s -inflight 64 -conns 10
//
// It uses DATABASE_URL when set (and seeds it: use an empty database).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/pgtemp"
	"github.com/shopdb/shopdb/migrate"
)

// config is the command line.
type config struct {
	duration time.Duration
	warmup   time.Duration
	inflight int
	conns    int
	seed     seedSize
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 5*time.Second, "measured time per mode")
	flag.DurationVar(&cfg.warmup, "warmup", time.Second, "unmeasured time before each mode")
	flag.IntVar(&cfg.inflight, "inflight", 64, "requests in flight")
	flag.IntVar(&cfg.conns, "conns", 10, "pool size")
	flag.IntVar(&cfg.seed.users, "users", 100_000, "users to seed (each with 10 orders)")
	flag.IntVar(&cfg.seed.products, "products", 10_000, "products to seed (each with 10 reviews)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg config) error {
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		srv, err := pgtemp.Start(ctx, pgtemp.Config{})
		if err != nil {
			return err
		}
		defer srv.Stop()
		dsn = srv.URL()
	}
	if err := migrate.Up(ctx, dsn); err != nil {
		return err
	}
	d, err := db.Open(ctx, dsn, db.PoolConfig{MaxConns: int32(cfg.conns), MinConns: int32(cfg.conns), AcquireTimeout: -1})
	if err != nil {
		return err
	}
	defer d.Close()

	t0 := time.Now()
	if err := seed(ctx, d, cfg.seed); err != nil {
		return err
	}
	fmt.Printf("seeded %d users, %d orders, %d products, %d reviews in %s\n",
		cfg.seed.users, cfg.seed.users*10, cfg.seed.products, cfg.seed.products*10, time.Since(t0).Round(time.Millisecond))
	fmt.Printf("page: %d requests in flight, pool of %d, %s per mode, GOMAXPROCS %d\n\n",
		cfg.inflight, cfg.conns, cfg.duration, runtime.GOMAXPROCS(0))

	fmt.Println("| mode | pages/s | p50 | p99 | connections per page |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, m := range pageModes {
		r, err := runLoad(ctx, cfg, d, m.fetch)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		fmt.Printf("| %s | %.0f | %s | %s | %s |\n", m.name, r.perSecond(), r.percentile(50), r.percentile(99), m.conns)
	}
	return nil
}
