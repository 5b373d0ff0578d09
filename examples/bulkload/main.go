// Command bulkload loads CSV into the shop's tables through COPY (the
// generated …Seq methods), streaming: memory stays bounded by one batch,
// in rows and in bytes, whatever the size of the input.
//
//	go run ./examples/bulkload -table users -file users.csv
//	go run ./examples/bulkload -table users < users.csv
//	go run ./examples/bulkload -table users -generate 1000000
//
// The first line is the header and must name the table's columns in order
// (users: first_name,last_name,email; products: sku,name,description,
// price_cents,stock; reviews: product_id,user_id,rating,body; orders:
// user_id,status,total_cents,created_at). An empty field is NULL for
// nullable columns. A UTF-8 byte order mark before the header is skipped;
// a CRLF inside a quoted field is kept as it is.
//
// A bad row (malformed CSV, wrong field count, a value that does not
// parse, anything the server refuses for the row's data: a constraint, a
// value out of range, a value too big to index) is reported as
// file:line: reason, without its values. By default it is skipped and the
// rest is loaded; with -all-or-nothing the whole load is one transaction
// and its first bad row rolls everything back. A stray quote costs one
// record: the lines it swallowed are read again. A load that stores none
// of the rows it read fails.
//
// Ctrl-C (or SIGTERM) stops the load: what was committed stays, and it says
// how many rows that is and the -from-line to go on from (exit 130).
//
// On a terminal a progress bar shows rows, rows/s and the ETA; otherwise a
// log line every few seconds. At the end it prints rows/s and the peak
// RSS.
//
// It uses the server DATABASE_URL names, or starts a throwaway PostgreSQL
// when it is unset (then loads into it and throws it away: a dry run).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shopdb/shopdb/internal/devdb"
	"github.com/shopdb/shopdb/internal/rss"
	"github.com/shopdb/shopdb/pgkit"
)

func main() { os.Exit(command(os.Args[1:])) }

// command is bulkload with args on the process's standard streams. The
// first SIGINT or SIGTERM ends the load cleanly; a second one kills it.
func command(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return run(ctx, args, os.Getenv("DATABASE_URL"), os.Stdin, os.Stdout, os.Stderr)
}

// Exit codes.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

// Defaults of the flags bounding memory.
const (
	defaultBatchRows   = 50_000
	defaultBatchBytes  = 16 << 20
	defaultMaxRowBytes = 32 << 20
)

// options is the command line.
type options struct {
	table        string
	file         string
	generate     int
	allOrNothing bool
	batch        int
	batchBytes   byteSize
	maxRowBytes  byteSize
	fromLine     int
	progress     string
}

const usageHead = `Usage: bulkload -table TABLE [-file FILE | -generate N] [flags]

Loads CSV (FILE, standard input, or N generated rows) into TABLE through
COPY, in batches bounded in rows and bytes. Bad rows are reported as
file:line: reason and skipped, or, with -all-or-nothing, roll back the load.
Ctrl-C stops it, saying how many rows were stored and the -from-line to go
on from. DATABASE_URL names the server; unset, a throwaway one is used.

Exit status: 0 loaded, 1 failed or stored none of the rows read, 2 usage,
130 interrupted.

Flags:
`

// parseFlags reads args. Help is flag.ErrHelp, after the usage is written
// to stdout; any other error is a usage error of one line.
func parseFlags(args []string, stdout io.Writer) (options, error) {
	o := options{batchBytes: defaultBatchBytes, maxRowBytes: defaultMaxRowBytes}
	fs := flag.NewFlagSet("bulkload", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line, below
	fs.StringVar(&o.table, "table", "", "table to load: "+tableNames())
	fs.StringVar(&o.file, "file", "", "CSV file to load (default: standard input)")
	fs.IntVar(&o.generate, "generate", 0, "load `N` generated rows instead of a file (orders and reviews pick or create their users and products)")
	fs.BoolVar(&o.allOrNothing, "all-or-nothing", false, "one transaction: any bad row stores nothing")
	fs.IntVar(&o.batch, "batch", defaultBatchRows, "at most `rows` rows per COPY (and per transaction without -all-or-nothing)")
	fs.Var(&o.batchBytes, "batch-bytes", "at most `size` bytes of rows per COPY, such as 16MiB or 500KB (a larger row goes alone)")
	fs.Var(&o.maxRowBytes, "max-row-bytes", "a record longer than `size` is a bad row, read without being kept; a load needs about -batch-bytes + 3 × this of memory")
	fs.IntVar(&o.fromLine, "from-line", 0, "skip the records that start before `line` (the header is still read): to go on after an interruption")
	fs.StringVar(&o.progress, "progress", "auto", "progress display: bar, log, none, or auto (bar on a terminal, else log)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprint(stdout, usageHead)
			fs.PrintDefaults()
		}
		return o, err
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q: the input is -file or standard input", fs.Arg(0))
	case o.table == "":
		return o, fmt.Errorf("-table is required: one of %s", tableNames())
	case !slices.Contains(strings.Split(tableNames(), ", "), o.table):
		return o, fmt.Errorf("-table: unknown table %q: want one of %s", o.table, tableNames())
	case o.generate < 0:
		return o, fmt.Errorf("-generate: want a number of rows ≥ 0, got %d", o.generate)
	case o.batch < 1:
		return o, fmt.Errorf("-batch: want a number of rows ≥ 1, got %d", o.batch)
	case o.batchBytes < 1:
		return o, fmt.Errorf("-batch-bytes: want a size ≥ 1 byte, got %d", o.batchBytes)
	case o.maxRowBytes < 1:
		return o, fmt.Errorf("-max-row-bytes: want a size ≥ 1 byte, got %d", o.maxRowBytes)
	case o.fromLine < 0:
		return o, fmt.Errorf("-from-line: want a line number ≥ 1, got %d", o.fromLine)
	case o.generate > 0 && o.file != "":
		return o, errors.New("-generate and -file exclude each other")
	case o.progress != "auto" && o.progress != "bar" && o.progress != "log" && o.progress != "none":
		return o, fmt.Errorf("-progress: want auto, bar, log or none, got %q", o.progress)
	}
	return o, nil
}

func run(ctx context.Context, args []string, dsn string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "bulkload: %v (see bulkload -h)\n", err)
		return exitUsage
	}
	var in io.Reader = stdin
	name, size := "stdin", int64(-1)
	if o.file != "" {
		f, err := os.Open(o.file)
		if err != nil {
			fmt.Fprintf(stderr, "bulkload: -file: %v\n", err)
			return exitUsage
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		in, name = f, o.file
	}
	// failed reports an error before the load began.
	failed := func(err error) int {
		fmt.Fprintln(stderr, "bulkload:", err)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitError
	}
	pool, closeDB, err := devdb.OpenPool(ctx, dsn, stderr, pgkit.Config{MaxConns: 2})
	if err != nil {
		return failed(err)
	}
	defer closeDB()
	if o.generate > 0 {
		write, err := generator(ctx, pool, o.table, o.generate, o.fromLine, stderr)
		if err != nil {
			return failed(err)
		}
		pr, pw := io.Pipe()
		defer pr.Close()
		go func() { pw.CloseWithError(write(pw)) }()
		in, name = pr, "generated"
	}

	total, unit := size, "bytes"
	if o.generate > 0 {
		total, unit = int64(o.generate), "rows"
	}
	prog := startProgress(o.progress, stderr, total, unit)
	res, err := loadTable(ctx, o.table, job{
		pool: pool, in: in, name: name, allOrNothing: o.allOrNothing,
		batchRows: o.batch, batchBytes: int(o.batchBytes), maxRowBytes: int(o.maxRowBytes),
		fromLine: o.fromLine, progress: prog,
	})
	prog.stop()
	return report(o, name, res, err, ctx.Err() != nil, stdout, stderr)
}

// report writes the bad rows and the outcome of a load, which err ended
// early, interrupted or not, and returns the exit code.
func report(o options, name string, res result, err error, interrupted bool, stdout, stderr io.Writer) int {
	slices.SortFunc(res.bad, func(a, b badRow) int { return a.line - b.line })
	for _, b := range res.bad {
		fmt.Fprintf(stderr, "%s:%d: %s\n", name, b.line, b.reason)
	}
	if res.badCount > len(res.bad) {
		fmt.Fprintf(stderr, "… and %d more bad rows\n", res.badCount-len(res.bad))
	}
	peak := rss.PeakMB()
	if err != nil {
		if interrupted {
			fmt.Fprintf(stderr, "bulkload: interrupted")
		} else {
			fmt.Fprintf(stderr, "bulkload: %v", err)
		}
		switch {
		case o.allOrNothing:
			fmt.Fprintf(stderr, ": nothing was stored (-all-or-nothing); %s\n", peak)
		case res.resume > 0:
			fmt.Fprintf(stderr, ": %d rows stored; every record before line %d is stored or reported above; %s\n", res.rows, res.resume, peak)
			fmt.Fprintf(stderr, "bulkload: to go on, run the same command with -from-line %d\n", res.resume)
		default:
			fmt.Fprintf(stderr, "; %s\n", peak)
		}
		if interrupted {
			return exitInterrupted
		}
		return exitError
	}
	rate := float64(res.rows) / res.duration.Seconds()
	fmt.Fprintf(stdout, "loaded %d rows into %s from %s in %s: %.0f rows/s; %d bad rows skipped", res.rows, o.table, name, res.duration.Round(time.Millisecond), rate, res.badCount)
	if res.skipped > 0 {
		fmt.Fprintf(stdout, "; %d records before line %d skipped (-from-line)", res.skipped, o.fromLine)
	}
	fmt.Fprintf(stdout, "; %s\n", peak)
	if res.rows == 0 && res.read > 0 {
		fmt.Fprintf(stderr, "bulkload: none of the %d rows read was stored\n", res.read)
		return exitError
	}
	return exitOK
}

// headerError names what is wrong with the header line.
func headerError(got, want []string) error {
	return fmt.Errorf("line 1: header %q, want %q", strings.Join(got, ","), strings.Join(want, ","))
}
