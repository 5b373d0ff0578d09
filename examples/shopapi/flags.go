package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// config is the command line.
type config struct {
	addr      string
	seed      int
	pool      int
	timeout   time.Duration
	shutdown  time.Duration
	multiplex bool
	http      httpLimits
}

// httpLimits bound what one client connection may hold: how long reading
// a request's header and the whole request may take, how long a response
// may take from the end of its request's header, how long a kept-alive
// connection may wait for its next request, and how large a body may be.
type httpLimits struct {
	readHeaderTimeout time.Duration
	readTimeout       time.Duration
	writeTimeout      time.Duration
	idleTimeout       time.Duration
	maxBody           int64
}

// defaultLimits are the documented defaults of httpLimits (see -h): a
// stalled or dribbled request is cut after 10s, an idle connection after
// 10s, and a body is at most what the largest order needs.
func defaultLimits() httpLimits {
	return httpLimits{
		readHeaderTimeout: 5 * time.Second,
		readTimeout:       10 * time.Second,
		writeTimeout:      15 * time.Second,
		idleTimeout:       10 * time.Second,
		maxBody:           maxOrderBody,
	}
}

// usageError is a bad command line: exit status 2, one line naming the
// flag.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

const usageHead = `Usage: shopapi [flags]

The product-page service over PostgreSQL: DATABASE_URL's server, or a
throwaway one when it is unset. It listens at once; until the database is
migrated and seeded every endpoint but /metrics answers 503 with
Retry-After.

Flags:
`

// parseFlags reads the command line. -h and --help print the usage on
// stdout and return flag.ErrHelp; anything wrong is a *usageError.
func parseFlags(args []string, stdout io.Writer) (config, error) {
	d := defaultLimits()
	c := config{http: d}
	fs := flag.NewFlagSet("shopapi", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned as one line, the usage printed only for -h
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "address to listen on")
	fs.IntVar(&c.seed, "seed", 0, "load N demo customers (with N/10 products, 10 reviews each, 5 orders per customer) through COPY at start")
	fs.IntVar(&c.pool, "pool", 10, "database connections")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "per-request time limit, database included")
	fs.BoolVar(&c.multiplex, "multiplex", false, "share connections between requests, their statements pipelined (pgkit.Config.Multiplex)")
	fs.DurationVar(&c.shutdown, "shutdown", 10*time.Second, "how long in-flight requests may finish on SIGINT/SIGTERM")
	fs.DurationVar(&c.http.readHeaderTimeout, "read-header-timeout", d.readHeaderTimeout, "time limit for reading a request's header")
	fs.DurationVar(&c.http.readTimeout, "read-timeout", d.readTimeout, "time limit for reading a whole request, body included")
	fs.DurationVar(&c.http.writeTimeout, "write-timeout", d.writeTimeout, "time limit from the end of a request's header to the end of its response; longer than -timeout")
	fs.DurationVar(&c.http.idleTimeout, "idle-timeout", d.idleTimeout, "how long a kept-alive connection may wait for its next request")
	fs.Int64Var(&c.http.maxBody, "max-body", d.maxBody, "largest request body in bytes, 413 beyond (an order is at most 64 KiB whatever this says)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, usageHead)
			fs.PrintDefaults()
			return c, err
		}
		return c, &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return c, &usageError{fmt.Sprintf("unexpected argument %q: shopapi takes flags only", fs.Arg(0))}
	}
	return c, c.check()
}

// check refuses values out of range, naming the flag.
func (c config) check() error {
	positive := []struct {
		flag string
		d    time.Duration
	}{
		{"-timeout", c.timeout}, {"-shutdown", c.shutdown},
		{"-read-header-timeout", c.http.readHeaderTimeout}, {"-read-timeout", c.http.readTimeout},
		{"-write-timeout", c.http.writeTimeout}, {"-idle-timeout", c.http.idleTimeout},
	}
	for _, p := range positive {
		if p.d <= 0 {
			return &usageError{fmt.Sprintf("%s must be > 0, got %s", p.flag, p.d)}
		}
	}
	switch {
	case c.seed < 0:
		return &usageError{fmt.Sprintf("-seed must be ≥ 0, got %d", c.seed)}
	case c.pool < 1:
		return &usageError{fmt.Sprintf("-pool must be ≥ 1, got %d", c.pool)}
	case c.http.maxBody < 1:
		return &usageError{fmt.Sprintf("-max-body must be ≥ 1, got %d", c.http.maxBody)}
	case c.http.writeTimeout <= c.timeout:
		return &usageError{fmt.Sprintf("-write-timeout (%s) must be longer than -timeout (%s): the response is written after the request's work", c.http.writeTimeout, c.timeout)}
	}
	return nil
}
