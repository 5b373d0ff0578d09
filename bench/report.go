package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// summary is the median of one series over the repetitions.
type summary struct {
	Result
	Reps int
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// summarise takes per-series medians of every figure.
func summarise(results []Result) map[string]summary {
	groups := map[string][]Result{}
	for _, r := range results {
		groups[r.key()] = append(groups[r.key()], r)
	}
	out := map[string]summary{}
	for k, rs := range groups {
		pick := func(f func(Result) float64) float64 {
			var xs []float64
			for _, r := range rs {
				xs = append(xs, f(r))
			}
			return median(xs)
		}
		s := summary{Result: rs[0], Reps: len(rs)}
		s.Rate = pick(func(r Result) float64 { return r.Rate })
		s.P50Ms = pick(func(r Result) float64 { return r.P50Ms })
		s.P99Ms = pick(func(r Result) float64 { return r.P99Ms })
		s.PeakRSSMB = pick(func(r Result) float64 { return r.PeakRSSMB })
		s.ClientCPUUs = pick(func(r Result) float64 { return r.ClientCPUUs })
		s.ServerCPUUs = pick(func(r Result) float64 { return r.ServerCPUUs })
		s.Retries = int64(pick(func(r Result) float64 { return float64(r.Retries) }))
		s.Errors = int64(pick(func(r Result) float64 { return float64(r.Errors) }))
		out[k] = s
	}
	return out
}

// workloadTitles names each workload with the sizes cfg gave it.
func workloadTitles(cfg config) map[string]string {
	return map[string]string{
		"point":   "point: user by random id, 16 workers, pool of 16 (queries/s)",
		"page":    "page: product + 10 reviews + customer's 10 orders, 64 in flight, pool of 10 (pgbench: 10 connections) (pages/s)",
		"order":   "order: place an order locking 2 of 100 products, 32 concurrent (orders/s)",
		"copy":    fmt.Sprintf("copy: bulk insert %s narrow users (rows/s)", thousands(cfg.rows)),
		"stream":  fmt.Sprintf("stream: read %s orders, repeated for the measured time (rows/s)", thousands(cfg.seed.users*10)),
		"oversub": "oversub: user by random id, 1,000 concurrent callers, pool of 10, default 5s acquire timeout (queries/s)",
		// asyncpg's suite (suite.go): 10 callers on 10 connections but select1-64.
		"catalog":    "catalog: wide rows of pg_type (20 columns, every defined type), 10 callers, pool of 10 (queries/s)",
		"series":     fmt.Sprintf("series: generate_series(1, %s) as integers, 10 callers, pool of 10 (queries/s)", thousands(seriesLen)),
		"large":      fmt.Sprintf("large: %d rows of a %d B text and a %d B bytea, 10 callers, pool of 10 (queries/s)", blobRows, blobNoteLen, blobPayLen),
		"arrays":     fmt.Sprintf("arrays: %d rows of integer[%d], 10 callers, pool of 10 (queries/s)", arrayRows, arrayLen),
		"copy10k":    fmt.Sprintf("copy10k: COPY of %s rows of 10 columns (5 nullable, every %dth row NULL there), 10 callers, pool of 10 (COPYs/s)", thousands(copyBatchRows), nullEvery),
		"batch1k":    fmt.Sprintf("batch1k: %s INSERTs of those rows in one batch (one round trip, one Sync), 10 callers, pool of 10 (batches/s)", thousands(insertBatchRows)),
		"select1":    "select1: SELECT 1+1, 10 callers, pool of 10 (queries/s)",
		"select1-64": "select1-64: SELECT 1+1, 64 callers, pool of 10 (queries/s; pgbench has a connection per client)",
	}
}

// thousands writes n with a comma every three digits (1,000,000).
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// target is one of the goals, checked on the medians.
type target struct {
	what     string
	got      float64
	want     float64
	lessIsOK bool // the figure must be at most want
}

func (t target) met() bool {
	if t.lessIsOK {
		return t.got <= t.want
	}
	return t.got >= t.want
}

// targets are the goals on s, but those whose figures s lacks (runs left
// out by -only or -clients).
func targets(s map[string]summary) []target {
	get := func(k string, f func(summary) float64) float64 {
		if x, ok := s[k]; ok {
			return f(x)
		}
		return math.NaN()
	}
	rate := func(k string) float64 { return get(k, func(x summary) float64 { return x.Rate }) }
	p99 := func(k string) float64 { return get(k, func(x summary) float64 { return x.P99Ms }) }
	rss := func(k string) float64 { return get(k, func(x summary) float64 { return x.PeakRSSMB }) }
	exhausted := func(k string) float64 { return get(k, func(x summary) float64 { return float64(x.Errors) }) }
	cpu := func(k string) float64 { return get(k, func(x summary) float64 { return x.ClientCPUUs }) }
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return a / b
	}
	all := []target{
		{"point: shopdb / raw pgx", ratio(rate("shopdb/point"), rate("pgx/point")), 0.97, false},
		{"page sequential: shopdb / raw pgx", ratio(rate("shopdb/page/sequential"), rate("pgx/page/sequential")), 0.97, false},
		{"page pipelined: shopdb / raw pgx", ratio(rate("shopdb/page/pipelined"), rate("pgx/page/pipelined")), 0.97, false},
		{"page batch: shopdb (generated Batch) / raw pgx pipelined", ratio(rate("shopdb/page/batch"), rate("pgx/page/pipelined")), 0.97, false},
		{"order: shopdb / raw pgx", ratio(rate("shopdb/order"), rate("pgx/order")), 0.97, false},
		{"copy: shopdb / raw pgx", ratio(rate("shopdb/copy"), rate("pgx/copy")), 0.97, false},
		{"stream: shopdb / raw pgx", ratio(rate("shopdb/stream"), rate("pgx/stream")), 0.97, false},
		{"point: shopdb / pgbench", ratio(rate("shopdb/point"), rate("pgbench/point")), 0.9, false},
		{"page: shopdb batch (the default) / asyncpg gather (pages/s)", ratio(rate("shopdb/page/batch"), rate("asyncpg/page/gather")), 5, false},
		{"page: shopdb batch p99 / asyncpg gather p99", ratio(p99("shopdb/page/batch"), p99("asyncpg/page/gather")), 1.0 / 8, true},
		{"page: shopdb batch / pgbench pipelined", ratio(rate("shopdb/page/batch"), rate("pgbench/page/pipelined")), 0.7, false},
		{"copy: shopdb / asyncpg copy_records_to_table (rows/s)", ratio(rate("shopdb/copy"), rate("asyncpg/copy")), 1.0, false},
		{"copy: shopdb peak RSS / asyncpg's", ratio(rss("shopdb/copy"), rss("asyncpg/copy")), 0.25, true},
		{"stream: shopdb / asyncpg cursor (rows/s)", ratio(rate("shopdb/stream"), rate("asyncpg/stream")), 2.5, false},
		{"stream: shopdb peak RSS (MB)", rss("shopdb/stream"), 64, true},
		{"page: shopdb-mux fan-out / pgbench pipelined", ratio(rate("shopdb-mux/page/fan-out"), rate("pgbench/page/pipelined")), 0.8, false},
		{"page: shopdb-mux fan-out / raw pgx batch", ratio(rate("shopdb-mux/page/fan-out"), rate("pgx/page/pipelined")), 1.3, false},
		{"page: shopdb-mux fan-out p99 / shopdb batch p99", ratio(p99("shopdb-mux/page/fan-out"), p99("shopdb/page/batch")), 0.5, true},
		{"point: shopdb-mux / pgbench", ratio(rate("shopdb-mux/point"), rate("pgbench/point")), 1.0, false},
		{"oversub: shopdb-mux ErrPoolExhausted (count)", exhausted("shopdb-mux/oversub"), 0, true},
	}
	// Issue 18: with generated decoders, shopdb's client CPU per query at
	// most asyncpg's on the row workloads, through sqlc's :many and through
	// pgkitgen's …Append into a reused slice.
	for _, w := range []string{"catalog", "series", "large", "arrays"} {
		all = append(all,
			target{w + ": shopdb client CPU / asyncpg's", ratio(cpu("shopdb/"+w), cpu("asyncpg/"+w)), 1.0, true},
			target{w + ": shopdb …Append client CPU / asyncpg's", ratio(cpu("shopdb/"+w+"/append"), cpu("asyncpg/"+w)), 1.0, true})
	}
	// Issue 18's multiplexer: at 64 callers on 10 connections 1.5 × raw
	// pgx's throughput for 1+1, and on the page no more client CPU than a
	// hand-written pgx.Batch.
	all = append(all,
		target{"select1-64: shopdb-mux / raw pgx (queries/s)", ratio(rate("shopdb-mux/select1-64"), rate("pgx/select1-64")), 1.5, false},
		target{"page: shopdb-mux fan-out client CPU / raw pgx batch's", ratio(cpu("shopdb-mux/page/fan-out"), cpu("pgx/page/pipelined")), 1.0, true},
		target{"page: shopdb-mux sequential client CPU / raw pgx batch's", ratio(cpu("shopdb-mux/page/sequential"), cpu("pgx/page/pipelined")), 1.0, true})
	var ts []target
	for _, t := range all {
		if !math.IsNaN(t.got) {
			ts = append(ts, t)
		}
	}
	return ts
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				model = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%d cores (%s), %s", runtime.NumCPU(), model, runtime.Version())
}

func writeReport(cfg config, results []Result, took time.Duration) error {
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	s := summarise(results)
	var b strings.Builder
	fmt.Fprintf(&b, "# shopdb benchmarks\n\n%s, %s; PostgreSQL %s from `pgkit/pgtemp` (fsync off, data in RAM when /dev/shm has room).\n",
		time.Now().UTC().Format("2006-01-02"), machine(), cfg.server)
	fmt.Fprintf(&b, "Medians of %d repetitions, every client in turn within each repetition; timed runs: %s warm-up + %s measured. "+
		"Whole run: %s. Command: `make bench`.\n\n", cfg.reps, cfg.warmup, cfg.duration, took.Round(time.Second))
	fmt.Fprintf(&b, "CPU per operation (the unit of the rate: query, page, order, COPY, batch; a row for copy and stream): "+
		"*client* is the client process's user + system time (getrusage) over the measured operations; "+
		"*server* is the server's (utime + stime of the postmaster and its children, /proc), over the same time. "+
		"pgbench's include writing its log of every transaction (its latencies). "+
		"*server limit* = %d cores / server CPU per operation: the rate the server could reach with every core of this machine and no client on it.\n\n", runtime.NumCPU())
	titles := workloadTitles(cfg)
	cores := runtime.NumCPU()
	for _, w := range slices.Concat(shopWorkloads, suiteWorkloads) {
		if !hasWorkload(s, w) {
			continue
		}
		fmt.Fprintf(&b, "## %s\n\n| client | mode | rate | p50 | p99 | client CPU/op | server CPU/op | server limit | retries | exhausted | peak RSS | × raw pgx rate | × raw pgx client CPU |\n"+
			"|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", titles[w])
		for _, r := range runs {
			if r.workload != w {
				continue
			}
			x, ok := s[r.key()]
			if !ok {
				continue
			}
			rel, relCPU := "-", "-"
			if ref, ok := pgxRef(s, r); ok {
				rel = ratioText(x.Rate, ref.Rate)
				relCPU = ratioText(x.ClientCPUUs, ref.ClientCPUUs)
			}
			lat := func(v float64) string {
				if v == 0 {
					return "-"
				}
				return fmt.Sprintf("%.2f ms", v)
			}
			rss := "-"
			if x.PeakRSSMB > 0 {
				rss = fmt.Sprintf("%.0f MB", x.PeakRSSMB)
			}
			limit := "-"
			if x.ServerCPUUs > 0 {
				limit = fmt.Sprintf("%.0f/s", float64(cores)*1e6/x.ServerCPUUs)
			}
			fmt.Fprintf(&b, "| %s | %s | %.0f/s | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s |\n", r.client, r.mode, x.Rate, lat(x.P50Ms), lat(x.P99Ms),
				cpuText(x.ClientCPUUs), cpuText(x.ServerCPUUs), limit, x.Retries, x.Errors, rss, rel, relCPU)
		}
		b.WriteString("\n")
	}
	writeRatios(&b, s)
	if ts := targets(s); len(ts) > 0 {
		b.WriteString("## Targets\n\n| target | measured | wanted | met |\n|---|---:|---:|:---:|\n")
		for _, t := range ts {
			op := "≥"
			if t.lessIsOK {
				op = "≤"
			}
			mark := "yes"
			if !t.met() {
				mark = "**no**"
			}
			fmt.Fprintf(&b, "| %s | %.3f | %s %.3f | %s |\n", t.what, t.got, op, t.want, mark)
		}
		b.WriteString("\n")
	}
	b.WriteString("![throughput relative to raw pgx](chart.png)\n\n![client CPU per operation relative to raw pgx](cpu.png)\n")
	if err := os.WriteFile(filepath.Join(cfg.out, "results.md"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(filepath.Join(cfg.out, "results.json"), raw, 0o644); err != nil {
		return err
	}
	if err := chart(s, filepath.Join(cfg.out, "chart.png")); err != nil {
		return err
	}
	if err := cpuChart(s, filepath.Join(cfg.out, "cpu.png")); err != nil {
		return err
	}
	fmt.Println()
	fmt.Print(b.String())
	return nil
}

// hasWorkload reports whether s has a result of workload w.
func hasWorkload(s map[string]summary, w string) bool {
	for _, x := range s {
		if x.Workload == w {
			return true
		}
	}
	return false
}

// pgxRef is the raw pgx result r compares with: the same mode, or pgx's
// only mode when pgx has one (copy10k). shopdb's page "batch" (the
// generated Batch) is compared with raw pgx's "pipelined" page, which is a
// hand-written pgx.Batch.
func pgxRef(s map[string]summary, r run) (summary, bool) {
	mode := r.mode
	if r.workload == "page" && mode == "batch" {
		mode = "pipelined"
	}
	if x, ok := s[run{"pgx", r.workload, mode}.key()]; ok {
		return x, true
	}
	x, ok := s[run{"pgx", r.workload, ""}.key()]
	return x, ok
}

// ratioText is a / b with two decimals, or "-" when either is unknown.
func ratioText(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// cpuText is a CPU time per operation in µs, or "-" when unknown.
func cpuText(us float64) string {
	switch {
	case us <= 0:
		return "-"
	case us < 10:
		return fmt.Sprintf("%.2f µs", us)
	case us < 1000:
		return fmt.Sprintf("%.1f µs", us)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// maxClientCPURatio is the goal: shopdb's client CPU per
// operation at most this many times hand-written raw pgx's.
const maxClientCPURatio = 1.05

// writeRatios writes the table of ratios per workload: shopdb over raw
// pgx, and shopdb-mux over shopdb's pool.
func writeRatios(b *strings.Builder, s map[string]summary) {
	b.WriteString("## Ratios: shopdb / raw pgx and shopdb-mux / shopdb (pooled)\n\n" +
		"Medians' ratios; the goal (issue 18) is shopdb's client CPU per operation ≤ 1.05 × raw pgx's on every workload.\n\n" +
		"| workload | mode | client CPU shopdb / pgx | ≤ 1.05 | rate shopdb / pgx | server CPU shopdb / pgx | client CPU mux / pool | rate mux / pool |\n" +
		"|---|---|---:|:---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		if r.client != "shopdb" {
			continue
		}
		x, ok := s[r.key()]
		if !ok {
			continue
		}
		cpu, met, rate, server := "-", "", "-", "-"
		if ref, ok := pgxRef(s, r); ok {
			cpu, rate, server = ratioText(x.ClientCPUUs, ref.ClientCPUUs), ratioText(x.Rate, ref.Rate), ratioText(x.ServerCPUUs, ref.ServerCPUUs)
			if x.ClientCPUUs > 0 && ref.ClientCPUUs > 0 {
				met = "yes"
				if x.ClientCPUUs > maxClientCPURatio*ref.ClientCPUUs {
					met = "**no**"
				}
			}
		}
		muxCPU, muxRate := "-", "-"
		if m, ok := s[run{"shopdb-mux", r.workload, r.mode}.key()]; ok {
			muxCPU, muxRate = ratioText(m.ClientCPUUs, x.ClientCPUUs), ratioText(m.Rate, x.Rate)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", r.workload, r.mode, cpu, met, rate, server, muxCPU, muxRate)
	}
	b.WriteString("\n")
}
