// Command shopapi is the product-page service of the articles, in Go: the
// product, its reviews and a customer's order history fetched together in
// one round trip, orders placed with row locks, typed errors mapped to HTTP
// statuses, Prometheus metrics, one structured log line per request with
// its queries, and a graceful shutdown.
//
//	GET  /products/{id}?customer={id}     the page as JSON (also ?reviews=N&orders=N, ?reviews_before=, ?orders_before=, ?fetch=batch|pipelined|concurrent|sequential|one-statement)
//	GET  /product/{product_id}/{customer_id}
//	POST /orders                          {"customer_id": 1, "items": [{"product_id": 2, "quantity": 1}]}
//	GET  /orders/{id}
//	GET  /healthz, /metrics, /            (/ is the page as HTML)
//
// Every transient database error (connection lost, failover, a write
// refused by a standby, pool full) answers 503 with Retry-After; an order
// whose commit's answer was lost says "outcome":"unknown". /healthz names
// the server the writes go to and is 503 when it is unreachable, in
// recovery or read-only.
//
// It uses the server DATABASE_URL names, or starts a throwaway PostgreSQL
// when it is unset: go run ./examples/shopapi -seed 10000. It listens
// before it opens the database; until the database is ready and seeded,
// every endpoint but /metrics answers 503 with Retry-After.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/devdb"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := exitCode(run(ctx, os.Args[1:], os.Getenv("DATABASE_URL"), os.Stdout, nil), os.Stderr)
	stop()
	os.Exit(code)
}

// exitCode reports err of run on stderr and returns the exit status: 0 for
// none and for -h (whose usage went to stdout), 2 for a bad command line,
// 1 for anything else.
func exitCode(err error, stderr io.Writer) int {
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "shopapi: %v (shopapi -h lists the flags)\n", err)
		return 2
	}
	fmt.Fprintln(stderr, "shopapi:", err)
	return 1
}

// run serves until ctx ends. ready, when not nil, receives the listening
// address as soon as the port is bound, before the database is opened (for
// tests); requests then answer 503 until the service is ready.
func run(ctx context.Context, args []string, dsn string, out io.Writer, ready chan<- string) (err error) {
	cfg, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(out, nil))
	// Bound first: a port in use fails at once, and clients and health
	// checks get an answer while the database is prepared and seeded.
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	m := newMetrics()
	opts := options{RequestTimeout: cfg.timeout, Logger: logger, MaxBody: cfg.http.maxBody}
	gate := newGate(opts.observer(m), m)
	hs := newHTTPServer(cfg.http, gate, logger)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "shopapi listening on %s (try %s/ and %s/products/1?customer=1)\n", url, url, url)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	var pool *pgkit.DB
	closeDB := func() {}
	defer func() {
		// In-flight requests finish, then the pool closes.
		sctx, cancel := context.WithTimeout(context.Background(), cfg.shutdown)
		defer cancel()
		serr := hs.Shutdown(sctx)
		stats := "not opened"
		if pool != nil {
			stats = pool.Stats().String()
		}
		if err == nil {
			err = serr
		}
		// The last line says why the service stopped: the start's error
		// as well as the shutdown's.
		logger.Info("shut down", "error", err, "pool", stats)
		closeDB()
	}()
	pool, closeDB, err = devdb.OpenPool(ctx, dsn, out, pgkit.Config{MaxConns: int32(cfg.pool), AcquireTimeout: time.Second, Tracer: m.tracer(), Multiplex: cfg.multiplex, Decoders: db.Decoders()})
	if err != nil {
		pool, closeDB = nil, func() {}
		return stopped(ctx, logger, err)
	}
	if cfg.seed > 0 {
		start := time.Now()
		c, err := seed(ctx, pool, cfg.seed)
		if err != nil {
			return stopped(ctx, logger, seedError(err))
		}
		logger.Info("seeded", "users", c.Users, "products", c.Products, "reviews", c.Reviews, "orders", c.Orders, "duration_ms", millis(time.Since(start)))
	}
	srv, err := newServer(pool, m, opts)
	if err != nil {
		return err
	}
	gate.open(srv.handler())
	logger.Info("ready")
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		return nil
	}
}

// seedError is err of seed, saying that seeding failed and, when the role
// may not write what seeding writes (it moves the identity sequences, which
// the least-privilege app role may only read), what to do instead.
func seedError(err error) error {
	if pgerr.SQLState(err) == "42501" { // insufficient_privilege
		return fmt.Errorf("seeding failed: %w; seeding writes as the schema's owner: run with the owner's role, or without -seed", err)
	}
	return fmt.Errorf("seeding failed: %w", err)
}

// stopped is err of a start that failed, or nil when it failed because ctx
// ended (SIGINT or SIGTERM while starting is a clean stop).
func stopped(ctx context.Context, logger *slog.Logger, err error) error {
	if ctx.Err() != nil {
		logger.Info("stopped while starting", "error", err)
		return nil
	}
	return err
}
