package main

import (
	"encoding/json"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
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

func targets(s map[string]summary) []target {
	rate := func(k string) float64 { return s[k].Rate }
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	ts := []target{
		{"point: shopdb / raw pgx", ratio(rate("shopdb/point"), rate("pgx/point")), 0.97, false},
		{"page sequential: shopdb / raw pgx", ratio(rate("shopdb/page/sequential"), rate("pgx/page/sequential")), 0.97, false},
		{"page pipelined: shopdb / raw pgx", ratio(rate("shopdb/page/pipelined"), rate("pgx/page/pipelined")), 0.97, false},
		{"order: shopdb / raw pgx", ratio(rate("shopdb/order"), rate("pgx/order")), 0.97, false},
		{"copy: shopdb / raw pgx", ratio(rate("shopdb/copy"), rate("pgx/copy")), 0.97, false},
		{"stream: shopdb / raw pgx", ratio(rate("shopdb/stream"), rate("pgx/stream")), 0.97, false},
		{"point: shopdb / pgbench", ratio(rate("shopdb/point"), rate("pgbench/point")), 0.9, false},
		{"page: shopdb pipelined / asyncpg gather (pages/s)", ratio(rate("shopdb/page/pipelined"), rate("asyncpg/page/gather")), 5, false},
		{"page: shopdb pipelined p99 / asyncpg gather p99", ratio(s["shopdb/page/pipelined"].P99Ms, s["asyncpg/page/gather"].P99Ms), 1.0 / 8, true},
		{"page: shopdb pipelined / pgbench pipelined", ratio(rate("shopdb/page/pipelined"), rate("pgbench/page/pipelined")), 0.7, false},
		{"copy: shopdb / asyncpg copy_records_to_table (rows/s)", ratio(rate("shopdb/copy"), rate("asyncpg/copy")), 1.0, false},
		{"copy: shopdb peak RSS / asyncpg's", ratio(s["shopdb/copy"].PeakRSSMB, s["asyncpg/copy"].PeakRSSMB), 0.25, true},
		{"stream: shopdb / asyncpg cursor (rows/s)", ratio(rate("shopdb/stream"), rate("asyncpg/stream")), 2.5, false},
		{"stream: shopdb peak RSS (MB)", s["shopdb/stream"].PeakRSSMB, 64, true},
		{"page: shopdb-mux fan-out / pgbench pipelined", ratio(rate("shopdb-mux/page/fan-out"), rate("pgbench/page/pipelined")), 0.8, false},
		{"page: shopdb-mux fan-out / raw pgx batch", ratio(rate("shopdb-mux/page/fan-out"), rate("pgx/page/pipelined")), 1.3, false},
		{"page: shopdb-mux fan-out p99 / shopdb pipelined p99", ratio(s["shopdb-mux/page/fan-out"].P99Ms, s["shopdb/page/pipelined"].P99Ms), 0.5, true},
		{"point: shopdb-mux / pgbench", ratio(rate("shopdb-mux/point"), rate("pgbench/point")), 1.0, false},
		{"oversub: shopdb-mux ErrPoolExhausted (count)", float64(s["shopdb-mux/oversub"].Errors), 0, true},
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
	titles := workloadTitles(cfg)
	for _, w := range []string{"point", "page", "order", "copy", "stream", "oversub"} {
		fmt.Fprintf(&b, "## %s\n\n| client | mode | rate | p50 | p99 | retries | exhausted | peak RSS | × raw pgx (same mode) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n", titles[w])
		for _, r := range runs {
			if r.workload != w {
				continue
			}
			k := Result{Client: r.client, Workload: r.workload, Mode: r.mode}.key()
			x, ok := s[k]
			if !ok {
				continue
			}
			rel := "-"
			if ref, ok := s[Result{Client: "pgx", Workload: r.workload, Mode: r.mode}.key()]; ok && ref.Rate > 0 {
				rel = fmt.Sprintf("%.2f", x.Rate/ref.Rate)
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
			fmt.Fprintf(&b, "| %s | %s | %.0f/s | %s | %s | %d | %d | %s | %s |\n", r.client, r.mode, x.Rate, lat(x.P50Ms), lat(x.P99Ms), x.Retries, x.Errors, rss, rel)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Targets\n\n| target | measured | wanted | met |\n|---|---:|---:|:---:|\n")
	for _, t := range targets(s) {
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
	b.WriteString("\n![throughput relative to raw pgx](chart.png)\n")
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
	fmt.Println()
	fmt.Print(b.String())
	return nil
}

// chart draws throughput relative to raw pgx, per workload and client.
func chart(s map[string]summary, file string) error {
	groups := []struct{ label, shopdb, pgx, asyncpg, pgbench string }{
		{"point", "shopdb/point", "pgx/point", "asyncpg/point", "pgbench/point"},
		{"page (pipelined;\nasyncpg gather)", "shopdb/page/pipelined", "pgx/page/pipelined", "asyncpg/page/gather", "pgbench/page/pipelined"},
		{"order", "shopdb/order", "pgx/order", "asyncpg/order", "pgbench/order"},
		{"copy (pgbench:\nserver COPY)", "shopdb/copy", "pgx/copy", "asyncpg/copy", "server/copy/COPY FROM file"},
		{"stream", "shopdb/stream", "pgx/stream", "asyncpg/stream", ""},
	}
	p := plot.New()
	p.Title.Text = "Throughput relative to raw pgx (higher is better)"
	p.Y.Label.Text = "× raw pgx"
	names := []string{"shopdb", "raw pgx", "asyncpg", "pgbench / server"}
	colors := []color.Color{color.RGBA{31, 119, 180, 255}, color.RGBA{127, 127, 127, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255}}
	w := vg.Points(14)
	for i := range names {
		vals := make(plotter.Values, len(groups))
		for g, grp := range groups {
			key := []string{grp.shopdb, grp.pgx, grp.asyncpg, grp.pgbench}[i]
			if ref := s[grp.pgx].Rate; ref > 0 && key != "" {
				vals[g] = s[key].Rate / ref
			}
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = colors[i]
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-1.5)
		p.Add(bars)
		p.Legend.Add(names[i], bars)
	}
	labels := make([]string, len(groups))
	for i, g := range groups {
		labels[i] = g.label
	}
	p.NominalX(labels...)
	p.Legend.Top = true
	return p.Save(9*vg.Inch, 4.5*vg.Inch, file)
}
