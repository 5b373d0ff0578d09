// Command bench measures shopdb side by side with raw pgx, asyncpg (with
// uvloop) and pgbench on one throwaway PostgreSQL, for the shop's six
// workloads: point lookups, the product page, order placement, COPY,
// streaming, and oversubscription (1,000 callers on a pool of 10); and for
// those of asyncpg's own benchmark suite (suite.go): a catalog scan,
// generate_series, large rows, arrays, COPY of 10,000 rows, a 1,000-row
// batch insert and SELECT 1+1. shopdb-mux is shopdb with
// pgkit.Config.Multiplex. Besides throughput and latency, every run
// reports the client's and the server's CPU per operation (cpu.go).
// Every client runs every workload in turn, repeated, and the medians go to
// markdown tables and PNG charts in bench/results/.
//
//	make bench                          # = cd bench && go run .
//	go run . -only suite -clients shopdb,pgx -reps 5   # from bench/
//
// Each client runs in a process of its own, so that its peak RSS and its
// CPU time are its own.
// asyncpg comes from Debian (python3-asyncpg, python3-uvloop), installed
// when missing and running as root. With DATABASE_URL set, that server is
// used (and seeded: give it an empty database).
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

//go:embed asyncpg_bench.py
var asyncpgScript []byte

// config is the command line.
type config struct {
	reps     int
	warmup   time.Duration
	duration time.Duration
	rows     int
	out      string
	seed     seedSize
	server   string // the server's version, for the report
	// workloads and clients to run: nil runs all.
	workloads, clients map[string]bool
	serverPID          int // the server's postmaster on this machine, for its CPU; 0: unknown
}

// run is one client on one workload.
type run struct{ client, workload, mode string }

var runs = []run{
	{"shopdb", "point", ""}, {"shopdb-mux", "point", ""}, {"pgx", "point", ""}, {"asyncpg", "point", ""}, {"pgbench", "point", ""},
	{"shopdb", "page", "sequential"}, {"shopdb", "page", "fan-out"}, {"shopdb", "page", "pipelined"}, {"shopdb", "page", "batch"},
	{"shopdb", "page", "one-statement"},
	{"shopdb-mux", "page", "sequential"}, {"shopdb-mux", "page", "fan-out"}, {"shopdb-mux", "page", "one-statement"},
	{"pgx", "page", "sequential"}, {"pgx", "page", "pipelined"},
	{"asyncpg", "page", "sequential"}, {"asyncpg", "page", "gather"},
	{"pgbench", "page", "sequential"}, {"pgbench", "page", "pipelined"},
	{"shopdb", "order", ""}, {"pgx", "order", ""}, {"asyncpg", "order", ""}, {"pgbench", "order", ""},
	{"shopdb", "copy", ""}, {"pgx", "copy", ""}, {"asyncpg", "copy", ""}, {"server", "copy", "COPY FROM file"},
	{"shopdb", "stream", ""}, {"pgx", "stream", ""}, {"asyncpg", "stream", ""},
	{"shopdb", "oversub", ""}, {"shopdb-mux", "oversub", ""}, {"pgx", "oversub", ""},
	// asyncpg's suite (suite.go). COPY and batches never go through the
	// multiplexer: shopdb-mux would measure shopdb's pool again.
	{"shopdb", "catalog", ""}, {"shopdb", "catalog", "append"}, {"shopdb-mux", "catalog", ""}, {"pgx", "catalog", ""}, {"pgx", "catalog", "append"}, {"asyncpg", "catalog", ""}, {"pgbench", "catalog", ""},
	{"shopdb", "series", ""}, {"shopdb", "series", "append"}, {"shopdb-mux", "series", ""}, {"pgx", "series", ""}, {"pgx", "series", "append"}, {"asyncpg", "series", ""}, {"pgbench", "series", ""},
	{"shopdb", "large", ""}, {"shopdb", "large", "append"}, {"shopdb-mux", "large", ""}, {"pgx", "large", ""}, {"pgx", "large", "append"}, {"asyncpg", "large", ""}, {"pgbench", "large", ""},
	{"shopdb", "arrays", ""}, {"shopdb", "arrays", "append"}, {"shopdb-mux", "arrays", ""}, {"pgx", "arrays", ""}, {"pgx", "arrays", "append"}, {"asyncpg", "arrays", ""}, {"pgbench", "arrays", ""},
	{"shopdb", "copy10k", "slice"}, {"shopdb", "copy10k", "seq"}, {"pgx", "copy10k", ""}, {"asyncpg", "copy10k", ""},
	{"shopdb", "batch1k", ""}, {"pgx", "batch1k", ""}, {"asyncpg", "batch1k", ""}, {"pgbench", "batch1k", ""},
	{"shopdb", "select1", ""}, {"shopdb-mux", "select1", ""}, {"pgx", "select1", ""}, {"asyncpg", "select1", ""}, {"pgbench", "select1", ""},
	{"shopdb", "select1-64", ""}, {"shopdb-mux", "select1-64", ""}, {"pgx", "select1-64", ""}, {"asyncpg", "select1-64", ""},
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-worker" {
		if err := workerMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench worker:", err)
			os.Exit(1)
		}
		return
	}
	cfg, code := parseFlags(os.Args[1:], os.Stdout, os.Stderr)
	if code >= 0 {
		os.Exit(code)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := orchestrate(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func orchestrate(ctx context.Context, cfg config) error {
	began := time.Now()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if err := ensureAsyncpg(ctx); err != nil {
		return err
	}
	binDir, err := pgtemp.FindBinDir("")
	if err != nil {
		return err
	}
	dsn, serverDir := os.Getenv("DATABASE_URL"), ""
	if dsn == "" {
		srv, err := pgtemp.Start(ctx, pgtemp.Config{})
		if err != nil {
			return err
		}
		defer srv.Stop()
		dsn, serverDir = srv.URL(), srv.Dir()
		// Background vacuums landing in one client's run and not another's
		// showed as ±30% swings; the seed is vacuumed by hand instead.
		if err := execSQL(ctx, dsn, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()"); err != nil {
			return err
		}
	}
	copyDSN, err := copyDatabase(ctx, dsn)
	if err != nil {
		return err
	}
	if err := migrate.Up(ctx, dsn); err != nil {
		return err
	}
	d, err := pgkit.Open(ctx, dsn, pgkit.Config{MaxConns: 2})
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.QueryRow(ctx, "SHOW server_version").Scan(&cfg.server); err != nil {
		return err
	}
	t0 := time.Now()
	if cfg.runsShop() {
		if err := seed(ctx, d, cfg.seed); err != nil {
			return err
		}
		fmt.Printf("seeded %d users, %d orders, %d products, %d reviews in %s\n",
			cfg.seed.users, cfg.seed.users*10, cfg.seed.products, cfg.seed.products*10, time.Since(t0).Round(time.Millisecond))
	}
	cutoff := time.Now() // the seeded orders are all older; orders placed later are not streamed
	if err := suiteSetup(ctx, dsn); err != nil {
		return err
	}
	if cfg.serverPID, err = findPostmaster(ctx, dsn); err != nil {
		fmt.Println("bench:", err)
	}

	script := filepath.Join(os.TempDir(), fmt.Sprintf("shopdb-asyncpg-%d.py", os.Getpid()))
	if err := os.WriteFile(script, asyncpgScript, 0o644); err != nil {
		return err
	}
	defer os.Remove(script)
	copyFile := ""
	if serverDir != "" && cfg.selected(run{"server", "copy", "COPY FROM file"}) {
		copyFile = filepath.Join(serverDir, "copy.csv")
		if _, err := d.Exec(ctx, fmt.Sprintf(`COPY (SELECT 'First' || g, 'Last' || g, 'user' || g || '@copy.example.com'
			FROM generate_series(0, %d) g) TO '%s' (FORMAT csv)`, cfg.rows-1, copyFile)); err != nil {
			return fmt.Errorf("write the server-side copy file: %w", err)
		}
	}

	var results []Result
	for rep := 1; rep <= cfg.reps; rep++ {
		for _, r := range repOrder(rep) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !cfg.selected(r) {
				continue
			}
			target := dsn
			switch r.workload {
			case "copy":
				target = copyDSN
				if err := truncateCopyTarget(ctx, copyDSN); err != nil {
					return err
				}
			case "copy10k", "batch1k":
				if err := truncateRows(ctx, dsn); err != nil {
					return err
				}
			}
			var res Result
			var err error
			switch r.client {
			case "shopdb", "shopdb-mux", "pgx":
				res, err = runWorker(ctx, self, workerArgs(r, target, cfg, cutoff))
			case "asyncpg":
				res, err = runWorker(ctx, "/usr/bin/python3", append([]string{script}, pythonArgs(r, target, cfg, cutoff)...))
			case "pgbench":
				if !hasPgbenchScript(r) {
					continue
				}
				res, err = runPgbench(ctx, binDir, target, r.workload, r.mode, cfg)
			case "server":
				if copyFile == "" {
					continue // only with the throwaway server, whose files we can place
				}
				res, err = serverCopy(ctx, copyDSN, copyFile, cfg.serverPID)
			}
			if err != nil {
				return fmt.Errorf("rep %d: %w", rep, err)
			}
			if res.Count == 0 {
				return fmt.Errorf("rep %d: %s/%s/%s measured nothing", rep, r.client, r.workload, r.mode)
			}
			res.Client, res.Workload, res.Mode = r.client, r.workload, r.mode
			results = append(results, res)
			fmt.Printf("rep %d  %s\n", rep, res)
		}
	}
	return writeReport(cfg, results, time.Since(began))
}

// repOrder is runs with each workload's clients in reverse order on even
// repetitions, so that no client always runs first (on a cooler machine) or
// right after the same neighbour.
func repOrder(rep int) []run {
	if rep%2 == 1 {
		return runs
	}
	out := make([]run, 0, len(runs))
	for i := 0; i < len(runs); {
		j := i
		for j < len(runs) && runs[j].workload == runs[i].workload {
			j++
		}
		group := slices.Clone(runs[i:j])
		slices.Reverse(group)
		out = append(out, group...)
		i = j
	}
	return out
}

// runWorker runs a client process and reads its JSON result, in which the
// process reports its own peak RSS (VmHWM). The kernel's rusage would not
// do: a child's ru_maxrss starts at its parent's size when forked.
func runWorker(ctx context.Context, name string, args []string) (Result, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return Result{}, fmt.Errorf("%s %v: %w", filepath.Base(name), args, err)
	}
	var r Result
	if err := json.Unmarshal(out, &r); err != nil {
		return Result{}, fmt.Errorf("%s: bad result %q: %w", filepath.Base(name), out, err)
	}
	return r, nil
}

func workerArgs(r run, dsn string, cfg config, cutoff time.Time) []string {
	return []string{"-worker", "-client", r.client, "-workload", r.workload, "-mode", r.mode, "-dsn", dsn,
		"-warmup", cfg.warmup.String(), "-duration", cfg.duration.String(),
		"-users", strconv.Itoa(cfg.seed.users), "-products", strconv.Itoa(cfg.seed.products),
		"-cutoff", strconv.FormatInt(cutoff.UnixNano(), 10), "-rows", strconv.Itoa(cfg.rows),
		"-server-pid", strconv.Itoa(cfg.serverPID)}
}

func pythonArgs(r run, dsn string, cfg config, cutoff time.Time) []string {
	return []string{"--workload", r.workload, "--mode", r.mode, "--dsn", dsn,
		"--warmup", fmt.Sprint(cfg.warmup.Seconds()), "--duration", fmt.Sprint(cfg.duration.Seconds()),
		"--users", strconv.Itoa(cfg.seed.users), "--products", strconv.Itoa(cfg.seed.products),
		"--cutoff", strconv.FormatInt(cutoff.UnixNano(), 10), "--rows", strconv.Itoa(cfg.rows),
		"--server-pid", strconv.Itoa(cfg.serverPID)}
}

// copyDatabase creates (or recreates) shopdb_bench_copy, migrated and empty:
// the copy workload's target, so that the loaded rows do not disturb the others.
func copyDatabase(ctx context.Context, dsn string) (string, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return "", err
	}
	if cfg.Password != "" {
		return "", errors.New("bench: DATABASE_URL with a password is not supported for the copy database; use trust or .pgpass")
	}
	if err := execSQL(ctx, dsn, "DROP DATABASE IF EXISTS shopdb_bench_copy", "CREATE DATABASE shopdb_bench_copy"); err != nil {
		return "", err
	}
	copyDSN := fmt.Sprintf("postgres://%s@%s:%d/shopdb_bench_copy?sslmode=disable", cfg.User, cfg.Host, cfg.Port)
	return copyDSN, migrate.Up(ctx, copyDSN)
}

func truncateCopyTarget(ctx context.Context, copyDSN string) error {
	return execSQL(ctx, copyDSN, "TRUNCATE users CASCADE", "CHECKPOINT")
}

// execSQL runs statements one by one on a connection of its own.
func execSQL(ctx context.Context, dsn string, statements ...string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, st := range statements {
		if _, err := conn.Exec(ctx, st); err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
	}
	return nil
}

// serverCopy is the reference: the server reads the file itself, no client.
func serverCopy(ctx context.Context, copyDSN, file string, serverPID int) (Result, error) {
	conn, err := pgx.Connect(ctx, copyDSN)
	if err != nil {
		return Result{}, err
	}
	defer conn.Close(ctx)
	m := &cpuMeter{serverPID: serverPID}
	m.start()
	start := time.Now()
	tag, err := conn.Exec(ctx, fmt.Sprintf("COPY users (first_name, last_name, email) FROM '%s' (FORMAT csv)", file))
	if err != nil {
		return Result{}, err
	}
	n := tag.RowsAffected()
	r := Result{Rate: float64(n) / time.Since(start).Seconds(), Count: n}
	if server, ok := m.server(); ok && n > 0 {
		r.ServerCPUUs = perOpUs(server, n) // no client: the server reads the file
	}
	return r, nil
}

// ensureAsyncpg installs Debian's asyncpg and uvloop when they are missing.
func ensureAsyncpg(ctx context.Context) error {
	check := exec.CommandContext(ctx, "/usr/bin/python3", "-c", "import asyncpg, uvloop")
	if check.Run() == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return errors.New("asyncpg and uvloop for /usr/bin/python3 are missing: sudo apt-get install -y python3-asyncpg python3-uvloop")
	}
	fmt.Println("installing python3-asyncpg and python3-uvloop (Debian packages)")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "python3-asyncpg", "python3-uvloop"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %v: %w: %s", args, err, lastLine(string(out)))
		}
	}
	return nil
}
