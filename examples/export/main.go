// Command export streams a table or a query to CSV or JSON Lines in
// constant memory, whatever the size of the result.
//
//	go run ./examples/export -table orders -format csv -o orders.csv
//	go run ./examples/export -query "SELECT user_id, last_name FROM users WHERE user_id < 1000" -format jsonl
//
// CSV goes through the row iterator and encoding/csv (the default) or,
// with -via copy, through COPY … TO STDOUT (the server formats, pgkit.CopyTo
// streams the bytes). Both give the same bytes; on this project's 2-core
// machine the row iterator is the faster for 1M orders (2.7 M against
// 2.3 M rows/s: the server only sends rows while this process formats them
// on the other core), so it is the default; COPY has the smaller footprint
// (12 against 30 MB peak RSS). JSON Lines go through the row iterator. A
// progress line goes to standard error every few seconds.
//
// Ctrl-C (or SIGTERM) cancels the query on the server; the partial output
// file is removed (output goes to a temporary file renamed at the end), and
// on standard output the last line says the export is incomplete.
//
// The export runs in a read-only transaction, so -query cannot write: a
// DELETE … RETURNING fails, saying so, instead of deleting what it
// exports.
//
// It uses the server DATABASE_URL names (the read-only role of
// `migrate grant` is enough: it checks the schema version at start and
// refuses one older or newer than the binary; -migrate migrates it first,
// as the schema's owner), or, when it is unset, starts a throwaway
// PostgreSQL and loads -demo N orders into it first.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/internal/devdb"
	"github.com/shopdb/shopdb/internal/rss"
	"github.com/shopdb/shopdb/pgkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Getenv("DATABASE_URL"), os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK        = 0
	exitError     = 1
	exitUsage     = 2
	exitCancelled = 130
)

type options struct {
	table, query, format, via, out string
	demo                           int
	migrate                        bool
}

// tables that -table accepts, with the order they are exported in.
func tableOrder(name string) (string, bool) {
	switch name {
	case "users":
		return "user_id", true
	case "products":
		return "product_id", true
	case "reviews":
		return "review_id", true
	case "orders":
		return "order_id", true
	}
	return "", false
}

const usageHead = `usage: export (-table NAME | -query SQL) [-format csv|jsonl] [-via rows|copy] [-o FILE] [-demo N] [-migrate]

Streams a table or the result of a query to CSV or JSON Lines in constant
memory. The export runs in a read-only transaction: a -query that writes
fails. DATABASE_URL names the database (a read-only role is enough); unset,
a throwaway PostgreSQL is started, loaded with -demo orders, and removed.

flags:
`

func newFlagSet(o *options) *flag.FlagSet {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the usage goes to stdout on -h; errors are one line
	fs.StringVar(&o.table, "table", "", "table to export: users, products, reviews, orders")
	fs.StringVar(&o.query, "query", "", "a SELECT to export instead of a table (run read-only)")
	fs.StringVar(&o.format, "format", "csv", "csv or jsonl")
	fs.StringVar(&o.via, "via", "rows", "for csv: rows (the row iterator, the faster here) or copy (COPY TO STDOUT, the smaller footprint)")
	fs.StringVar(&o.out, "o", "-", "output file; - is standard output")
	fs.IntVar(&o.demo, "demo", 100_000, "with DATABASE_URL unset: orders to load into the throwaway server first")
	fs.BoolVar(&o.migrate, "migrate", false, "apply pending migrations to DATABASE_URL's database first (as the schema's owner)")
	return fs
}

// printUsage writes the help to w.
func printUsage(w io.Writer) {
	var o options
	fs := newFlagSet(&o)
	fs.SetOutput(w)
	fmt.Fprint(w, usageHead)
	fs.PrintDefaults()
}

// parseFlags reads the command line; flag.ErrHelp for -h and --help, and
// an error naming the flag or argument otherwise.
func parseFlags(args []string) (options, error) {
	var o options
	fs := newFlagSet(&o)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q: flags only (a -query with spaces needs quotes)", fs.Arg(0))
	case (o.table == "") == (o.query == ""):
		return o, errors.New("give one of -table and -query")
	case o.format != "csv" && o.format != "jsonl":
		return o, errors.New("-format: want csv or jsonl")
	case o.via != "copy" && o.via != "rows":
		return o, errors.New("-via: want copy or rows")
	case o.format == "jsonl" && o.via == "copy":
		return o, errors.New("-via copy is for -format csv only (JSON Lines go through the row iterator)")
	case o.demo < 0:
		return o, errors.New("-demo: want 0 or more orders")
	case o.query != "" && strings.TrimSpace(strings.TrimRight(strings.TrimSpace(o.query), ";")) == "":
		return o, errors.New("-query: empty; want a SELECT")
	}
	if o.table != "" {
		if _, ok := tableOrder(o.table); !ok {
			return o, fmt.Errorf("-table %q: want users, products, reviews or orders", o.table)
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, dsn string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "export: %v (see export -h)\n", err)
		return exitUsage
	}
	throwaway := dsn == ""
	pool, closeDB, err := devdb.OpenPoolWith(ctx, dsn, stderr, pgkit.Config{MaxConns: 2}, devdb.Options{Migrate: o.migrate, MigrateFlag: "-migrate"})
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return exitError
	}
	defer closeDB()
	if throwaway && o.demo > 0 {
		if err := loadDemo(ctx, pool, o.demo); err != nil {
			fmt.Fprintln(stderr, "export: demo data:", err)
			return exitError
		}
		fmt.Fprintf(stderr, "export: loaded %d demo orders into the throwaway server\n", o.demo)
	}

	out, finish, err := openOutput(o.out, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "export:", err)
		return exitError
	}
	counter := &countingWriter{w: out}
	stopProgress := progressLines(stderr, counter)
	start := time.Now()
	rows, err := export(ctx, pool, o, counter)
	stopProgress()
	if ferr := finish(err); err == nil {
		err = ferr
	}
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(stderr, "export: interrupted after %d rows: %s\n", rows, partialNote(o.out))
			return exitCancelled
		}
		fmt.Fprintln(stderr, "export:", err)
		return exitError
	}
	d := time.Since(start)
	fmt.Fprintf(stderr, "export: %d rows, %d bytes in %s: %.0f rows/s (%s via %s); %s\n",
		rows, counter.n.Load(), d.Round(time.Millisecond), float64(rows)/d.Seconds(), o.format, via(o), rss.PeakMB())
	return exitOK
}

func via(o options) string {
	if o.format == "jsonl" {
		return "rows"
	}
	return o.via
}

func partialNote(out string) string {
	if out == "-" {
		return "the output on standard output is incomplete"
	}
	return "the partial file was removed"
}

// openOutput returns where to write and the function that completes the
// output: for a file, a temporary file renamed into place on success and
// removed on failure, so that an interrupted export never leaves a file
// that looks whole.
func openOutput(path string, stdout io.Writer) (io.Writer, func(error) error, error) {
	if path == "-" {
		bw := bufio.NewWriterSize(stdout, 256<<10)
		return bw, func(err error) error {
			if ferr := bw.Flush(); err == nil {
				return ferr
			}
			return nil
		}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(tmp, 256<<10)
	return bw, func(err error) error {
		if err == nil {
			err = bw.Flush()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(tmp.Name(), 0o644) // CreateTemp's 0600 is for the partial file only
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			os.Remove(tmp.Name())
		}
		return err
	}, nil
}

// selectOf is the SELECT an export reads.
func selectOf(o options) string {
	if o.query != "" {
		return strings.TrimRight(strings.TrimSpace(o.query), ";")
	}
	order, _ := tableOrder(o.table)
	return fmt.Sprintf("SELECT * FROM %s ORDER BY %s", o.table, order)
}

// countingWriter counts bytes and rows (lines) for the progress display.
type countingWriter struct {
	w    io.Writer
	n    atomic.Int64
	rows atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// progressLines writes a line to w every two seconds until the returned
// function is called.
func progressLines(w io.Writer, c *countingWriter) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				rows := c.rows.Load()
				fmt.Fprintf(w, "export: %d rows, %d MB, %.0f rows/s\n", rows, c.n.Load()>>20, float64(rows)/time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(done); <-finished }
}
