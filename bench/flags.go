package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// shopWorkloads are the shop's own workloads, in report order.
var shopWorkloads = []string{"point", "page", "order", "copy", "stream", "oversub"}

// workloadGroups are names -only takes for several workloads at once.
var workloadGroups = map[string][]string{"shop": shopWorkloads, "suite": suiteWorkloads}

// clientNames are the clients -clients takes ("server" is the server's
// own COPY FROM file).
var clientNames = []string{"shopdb", "shopdb-mux", "pgx", "asyncpg", "pgbench", "server"}

// parseFlags reads the command line into a config. code is -1 to go on,
// else the exit code: 0 after -h (usage on stdout), 2 after a usage error
// (one line on stderr naming the flag).
func parseFlags(args []string, stdout, stderr io.Writer) (cfg config, code int) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed below, one line each
	fs.IntVar(&cfg.reps, "reps", 3, "repetitions of every run, interleaved (the tables show medians)")
	fs.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "unmeasured time before each timed run")
	fs.DurationVar(&cfg.duration, "duration", 2*time.Second, "measured time of each timed run")
	fs.IntVar(&cfg.rows, "rows", 1_000_000, "rows for copy")
	fs.IntVar(&cfg.seed.users, "users", 100_000, "users to seed, at least 10 (each with 10 orders: the stream reads them)")
	fs.IntVar(&cfg.seed.products, "products", 10_000, "products to seed, at least 1 (each with 10 reviews)")
	fs.StringVar(&cfg.out, "out", "results", "folder for results.md, results.json and chart.png")
	only := fs.String("only", "", "comma-separated workloads to run (default: all): "+
		strings.Join(shopWorkloads, ", ")+" (group: shop); "+strings.Join(suiteWorkloads, ", ")+" (group: suite)")
	clients := fs.String("clients", "", "comma-separated clients to run (default: all): "+strings.Join(clientNames, ", "))
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: bench [flags]\n\n"+
			"Measures shopdb (pooled and multiplexed) beside raw pgx, asyncpg and pgbench on a throwaway\n"+
			"PostgreSQL (or DATABASE_URL's): throughput, latency, client and server CPU per operation.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return cfg, 0
		}
		fmt.Fprintf(stderr, "bench: %v (-h for help)\n", err)
		return cfg, 2
	}
	fail := func(format string, a ...any) (config, int) {
		fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
		return cfg, 2
	}
	var err error
	if cfg.workloads, err = pick(*only, slices.Concat(shopWorkloads, suiteWorkloads), workloadGroups); err != nil {
		return fail("-only: %v", err)
	}
	if cfg.clients, err = pick(*clients, clientNames, nil); err != nil {
		return fail("-clients: %v", err)
	}
	switch {
	case fs.NArg() > 0:
		return fail("unexpected argument %q (flags only; -h for help)", fs.Arg(0))
	case cfg.reps < 1:
		return fail("-reps must be 1 or more, got %d", cfg.reps)
	case cfg.warmup < 0:
		return fail("-warmup must not be negative, got %s", cfg.warmup)
	case cfg.duration <= 0:
		return fail("-duration must be positive, got %s", cfg.duration)
	case cfg.rows < 1:
		return fail("-rows must be 1 or more, got %d", cfg.rows)
	case cfg.seed.users < 10:
		return fail("-users must be 10 or more (10 distinct reviewers per product), got %d", cfg.seed.users)
	case cfg.seed.products < 1:
		return fail("-products must be 1 or more, got %d", cfg.seed.products)
	case cfg.out == "":
		return fail("-out must name a folder")
	}
	return cfg, -1
}

// pick parses a comma-separated list of names (or of groups' names) into
// a set; an empty list is nil, which selects everything.
func pick(list string, names []string, groups map[string][]string) (map[string]bool, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	set := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		switch {
		case slices.Contains(names, n):
			set[n] = true
		case groups[n] != nil:
			for _, m := range groups[n] {
				set[m] = true
			}
		default:
			return nil, fmt.Errorf("unknown name %q (one of %s)", n, strings.Join(names, ", "))
		}
	}
	return set, nil
}

// selected reports whether cfg runs r.
func (cfg config) selected(r run) bool {
	return (cfg.workloads == nil || cfg.workloads[r.workload]) && (cfg.clients == nil || cfg.clients[r.client])
}

// runsShop reports whether cfg runs one of the shop's workloads, which
// need the seeded shop.
func (cfg config) runsShop() bool {
	for _, r := range runs {
		if cfg.selected(r) && slices.Contains(shopWorkloads, r.workload) {
			return true
		}
	}
	return false
}
