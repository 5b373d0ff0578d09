// Command bulkload loads CSV into the shop's tables through COPY (the
// generated …Seq methods), streaming: memory stays bounded by one batch
// whatever the size of the input.
//
//	go run ./examples/bulkload -table users -file users.csv
//	go run ./examples/bulkload -table users < users.csv
//	go run ./examples/bulkload -table users -generate 1000000
//
// The first line is the header and must name the table's columns in order
// (users: first_name,last_name,email; products: sku,name,description,
// price_cents,stock; reviews: product_id,user_id,rating,body; orders:
// user_id,status,total_cents,created_at). An empty field is NULL for
// nullable columns.
//
// A bad row (wrong field count, a value that does not parse, a constraint
// the server refuses) is reported as file:line: reason. By default it is
// skipped and the rest is loaded; with -all-or-nothing the whole load is one
// transaction and the first bad row rolls everything back. On a terminal a
// progress bar shows rows, rows/s and the ETA; otherwise a log line every
// few seconds. At the end it prints rows/s.
//
// It uses the server DATABASE_URL names, or starts a throwaway PostgreSQL
// when it is unset (then loads into it and throws it away: a dry run).
package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/internal/devdb"
	"github.com/shopdb/shopdb/internal/rss"
	"github.com/shopdb/shopdb/pgkit"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, os.Args[1:], os.Getenv("DATABASE_URL"), os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// options is the command line.
type options struct {
	table        string
	file         string
	generate     int
	allOrNothing bool
	batch        int
	progress     string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("bulkload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.table, "table", "", "table to load: "+tableNames())
	fs.StringVar(&o.file, "file", "", "CSV file to load (default: standard input)")
	fs.IntVar(&o.generate, "generate", 0, "load N generated rows instead of a file")
	fs.BoolVar(&o.allOrNothing, "all-or-nothing", false, "one transaction: any bad row stores nothing")
	fs.IntVar(&o.batch, "batch", 50_000, "rows per COPY (and per transaction without -all-or-nothing)")
	fs.StringVar(&o.progress, "progress", "auto", "progress display: bar, log, none, or auto (bar on a terminal, else log)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.table == "":
		return o, fmt.Errorf("-table is required: one of %s", tableNames())
	case !strings.Contains(", "+tableNames()+",", ", "+o.table+","):
		return o, fmt.Errorf("unknown table %q: want one of %s", o.table, tableNames())
	case o.generate < 0 || o.batch < 1:
		return o, errors.New("-generate must be ≥ 0 and -batch ≥ 1")
	case o.generate > 0 && o.file != "":
		return o, errors.New("-generate and -file exclude each other")
	case o.progress != "auto" && o.progress != "bar" && o.progress != "log" && o.progress != "none":
		return o, errors.New("-progress: want auto, bar, log or none")
	}
	return o, nil
}

func run(ctx context.Context, args []string, dsn string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "bulkload:", err)
		}
		return exitUsage
	}
	in, name, size, closeIn, err := openInput(o, stdin)
	if err != nil {
		fmt.Fprintln(stderr, "bulkload:", err)
		return exitUsage
	}
	defer closeIn()
	pool, closeDB, err := devdb.OpenPool(ctx, dsn, stderr, pgkit.Config{MaxConns: 2})
	if err != nil {
		fmt.Fprintln(stderr, "bulkload:", err)
		return exitError
	}
	defer closeDB()

	total, unit := size, "bytes"
	if o.generate > 0 {
		total, unit = int64(o.generate), "rows"
	}
	prog := startProgress(o.progress, stderr, total, unit)
	res, err := loadTable(ctx, o.table, job{pool: pool, in: in, name: name, allOrNothing: o.allOrNothing, batch: o.batch, progress: prog})
	prog.stop()
	slices.SortFunc(res.bad, func(a, b badRow) int { return a.line - b.line })
	for _, b := range res.bad {
		fmt.Fprintf(stderr, "%s:%d: %s\n", name, b.line, b.reason)
	}
	if res.badCount > len(res.bad) {
		fmt.Fprintf(stderr, "… and %d more bad rows\n", res.badCount-len(res.bad))
	}
	if err != nil {
		fmt.Fprintln(stderr, "bulkload:", err)
		if o.allOrNothing {
			fmt.Fprintln(stderr, "bulkload: nothing was stored (-all-or-nothing)")
		}
		return exitError
	}
	rate := float64(res.rows) / res.duration.Seconds()
	fmt.Fprintf(stdout, "loaded %d rows into %s from %s in %s: %s rows/s; %d bad rows skipped; %s\n",
		res.rows, o.table, name, res.duration.Round(time.Millisecond), strconv.FormatFloat(rate, 'f', 0, 64), res.badCount, rss.PeakMB())
	return exitOK
}

// openInput returns the CSV to read, its name for messages, its size in
// bytes when known (else -1) and what closes it.
func openInput(o options, stdin io.Reader) (io.Reader, string, int64, func(), error) {
	switch {
	case o.generate > 0:
		t, err := generator(o.table)
		if err != nil {
			return nil, "", 0, nil, err
		}
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(t(pw, o.generate)) }()
		return pr, "generated", -1, func() { pr.Close() }, nil
	case o.file != "":
		f, err := os.Open(o.file)
		if err != nil {
			return nil, "", 0, nil, err
		}
		size := int64(-1)
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		return f, o.file, size, func() { f.Close() }, nil
	}
	return stdin, "stdin", -1, func() {}, nil
}

// generator writes the header and n demo records of the table.
func generator(name string) (func(w io.Writer, n int) error, error) {
	gen := func(columns []string, record func(i int, rec []string)) func(io.Writer, int) error {
		return func(w io.Writer, n int) error {
			cw := csv.NewWriter(w)
			if err := cw.Write(columns); err != nil {
				return err
			}
			rec := make([]string, len(columns))
			for i := range n {
				record(i, rec)
				if err := cw.Write(rec); err != nil {
					return err
				}
			}
			cw.Flush()
			return cw.Error()
		}
	}
	switch name {
	case "users":
		t := usersTable()
		return gen(t.columns, t.generate), nil
	case "products":
		t := productsTable()
		return gen(t.columns, t.generate), nil
	case "reviews":
		t := reviewsTable()
		return gen(t.columns, t.generate), nil
	case "orders":
		t := ordersTable()
		return gen(t.columns, t.generate), nil
	}
	return nil, fmt.Errorf("unknown table %q: want one of %s", name, tableNames())
}

// headerError names what is wrong with the header line.
func headerError(got, want []string) error {
	return fmt.Errorf("line 1: header %q, want %q", strings.Join(got, ","), strings.Join(want, ","))
}
