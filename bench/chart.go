package main

import (
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// The charts' colours, one per client.
func clientColor(client string) color.Color {
	switch client {
	case "shopdb":
		return color.RGBA{31, 119, 180, 255}
	case "shopdb-mux":
		return color.RGBA{148, 103, 189, 255}
	case "asyncpg":
		return color.RGBA{255, 127, 14, 255}
	case "pgbench", "server":
		return color.RGBA{44, 160, 44, 255}
	}
	return color.RGBA{127, 127, 127, 255} // raw pgx
}

// barGroup is one workload on a chart: the series key of each bar, "" for
// none, and of the raw pgx reference.
type barGroup struct {
	label string
	pgx   string
	bars  []string
}

// chart draws throughput relative to raw pgx, per workload and client.
func chart(s map[string]summary, file string) error {
	groups := []barGroup{
		{"point", "pgx/point", []string{"shopdb/point", "pgx/point", "asyncpg/point", "pgbench/point"}},
		{"page (one round trip:\nshopdb Batch, pgx batch;\nasyncpg gather)", "pgx/page/pipelined", []string{"shopdb/page/batch", "pgx/page/pipelined", "asyncpg/page/gather", "pgbench/page/pipelined"}},
		{"order", "pgx/order", []string{"shopdb/order", "pgx/order", "asyncpg/order", "pgbench/order"}},
		{"copy (pgbench:\nserver COPY)", "pgx/copy", []string{"shopdb/copy", "pgx/copy", "asyncpg/copy", "server/copy/COPY FROM file"}},
		{"stream", "pgx/stream", []string{"shopdb/stream", "pgx/stream", "asyncpg/stream", ""}},
	}
	return bars(s, file, "Throughput relative to raw pgx (higher is better)", []string{"shopdb", "raw pgx", "asyncpg", "pgbench / server"},
		[]color.Color{clientColor("shopdb"), clientColor("pgx"), clientColor("asyncpg"), clientColor("pgbench")}, groups, func(x summary) float64 { return x.Rate }, 9*vg.Inch)
}

// cpuChart draws the client's CPU per operation relative to raw pgx's,
// for every workload raw pgx runs.
func cpuChart(s map[string]summary, file string) error {
	var groups []barGroup
	for _, r := range runs {
		if r.client != "pgx" {
			continue
		}
		if _, ok := s[r.key()]; !ok {
			continue
		}
		label, mode := r.workload, r.mode
		if r.workload == "copy10k" {
			mode = "slice" // shopdb's sqlc method; pgx has one mode
		}
		if r.workload == "page" && r.mode == "pipelined" {
			mode = "batch" // shopdb's default page, beside raw pgx's pgx.Batch
		}
		if r.mode != "" {
			label += "\n" + r.mode
		}
		groups = append(groups, barGroup{label, r.key(), []string{
			run{"shopdb", r.workload, mode}.key(), run{"shopdb-mux", r.workload, mode}.key(),
			run{"asyncpg", r.workload, r.mode}.key(), run{"pgbench", r.workload, r.mode}.key()}})
	}
	if len(groups) == 0 {
		return nil
	}
	return bars(s, file, "Client CPU per operation relative to raw pgx (lower is better; raw pgx = 1)",
		[]string{"shopdb", "shopdb-mux", "asyncpg", "pgbench"}, []color.Color{clientColor("shopdb"), clientColor("shopdb-mux"), clientColor("asyncpg"), clientColor("pgbench")},
		groups, func(x summary) float64 { return x.ClientCPUUs }, 12*vg.Inch)
}

// bars draws, per group, each series' figure over the group's raw pgx figure.
func bars(s map[string]summary, file, title string, names []string, colors []color.Color, groups []barGroup, figure func(summary) float64, width vg.Length) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = "× raw pgx"
	w := vg.Points(12)
	for i := range names {
		vals := make(plotter.Values, len(groups))
		for g, grp := range groups {
			x, ok := s[grp.bars[i]]
			if ref := figure(s[grp.pgx]); ok && ref > 0 {
				vals[g] = figure(x) / ref
			}
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		b.Color = colors[i]
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(float64(i)-float64(len(names)-1)/2)
		p.Add(b)
		p.Legend.Add(names[i], b)
	}
	labels := make([]string, len(groups))
	for i, g := range groups {
		labels[i] = g.label
	}
	p.NominalX(labels...)
	p.Legend.Top = true
	return p.Save(width, 4.5*vg.Inch, file)
}
