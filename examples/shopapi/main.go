// Command shopapi is the product-page service of the articles, in Go: the
// product, its reviews and a customer's order history fetched together in
// one round trip, orders placed with row locks, typed errors mapped to HTTP
// statuses, Prometheus metrics, one structured log line per request with
// its queries, and a graceful shutdown.
//
//	GET  /products/{id}?customer={id}     the page as JSON (also ?reviews=N&orders=N, ?reviews_before=, ?orders_before=, ?fetch=pipelined|concurrent|sequential)
//	GET  /product/{product_id}/{customer_id}
//	POST /orders                          {"customer_id": 1, "items": [{"product_id": 2, "quantity": 1}]}
//	GET  /orders/{id}
//	GET  /healthz, /metrics, /            (/ is the page as HTML)
//
// It uses the server DATABASE_URL names, or starts a throwaway PostgreSQL
// when it is unset: go run ./examples/shopapi -seed 10000.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/internal/devdb"
	"github.com/shopdb/shopdb/pgkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv("DATABASE_URL"), os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "shopapi:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	addr      string
	seed      int
	pool      int
	timeout   time.Duration
	shutdown  time.Duration
	multiplex bool
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("shopapi", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.IntVar(&c.seed, "seed", 0, "load N demo customers (with N/10 products, 10 reviews each, 5 orders per customer) through COPY at start")
	fs.IntVar(&c.pool, "pool", 10, "database connections")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "per-request time limit, database included")
	fs.BoolVar(&c.multiplex, "multiplex", false, "share connections between requests, their statements pipelined (pgkit.Config.Multiplex)")
	fs.DurationVar(&c.shutdown, "shutdown", 10*time.Second, "how long in-flight requests may finish on SIGINT/SIGTERM")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.seed < 0 || c.pool < 1 || c.timeout <= 0 {
		return c, errors.New("-seed must be ≥ 0, -pool ≥ 1, -timeout > 0")
	}
	return c, nil
}

// run serves until ctx ends. ready, when not nil, receives the listening
// address once the service accepts requests (for tests).
func run(ctx context.Context, args []string, dsn string, out io.Writer, ready chan<- string) error {
	cfg, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(out, nil))
	m := newMetrics()
	pool, closeDB, err := devdb.OpenPool(ctx, dsn, out, pgkit.Config{MaxConns: int32(cfg.pool), AcquireTimeout: time.Second, Tracer: m.tracer(), Multiplex: cfg.multiplex})
	if err != nil {
		return err
	}
	defer closeDB()
	if cfg.seed > 0 {
		start := time.Now()
		c, err := seed(ctx, pool, cfg.seed)
		if err != nil {
			return err
		}
		logger.Info("seeded", "users", c.Users, "products", c.Products, "reviews", c.Reviews, "orders", c.Orders, "duration", time.Since(start))
	}
	srv, err := newServer(pool, m, options{RequestTimeout: cfg.timeout, Logger: logger})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "shopapi listening on %s (try %s/ and %s/products/1?customer=1)\n", url, url, url)
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	// In-flight requests finish; new connections are refused.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
	defer cancel()
	err = hs.Shutdown(sctx)
	logger.Info("shut down", "error", err, "pool", pool.Stats().String())
	return err
}
