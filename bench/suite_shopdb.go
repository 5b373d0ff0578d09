package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/shopdb/shopdb/bench/benchdb"
	"github.com/shopdb/shopdb/pgkit"
)

// runSuiteShopdb runs a suite workload as a shopdb application does: the
// sqlc package benchdb over pgkit.Open with pgkit's defaults (but the pool's
// size), multiplexed for shopdb-mux.
func runSuiteShopdb(ctx context.Context, p params) (Result, error) {
	cfg := pgkit.Config{MaxConns: suiteConns, MinConns: suiteConns, Decoders: benchdb.Decoders()}
	if p.client == "shopdb-mux" {
		cfg.Multiplex = true
		cfg.MultiplexConns = muxConns()
	}
	d, err := pgkit.Open(ctx, p.dsn, cfg)
	if err != nil {
		return Result{}, err
	}
	defer d.Close()
	q := benchdb.New(d)
	var op func(ctx context.Context) error
	if p.mode == "append" { // pgkitgen's …Append, each worker reusing its slice
		wop, err := shopdbAppend(q, p.workload, suiteWorkers(p.workload))
		if err != nil {
			return Result{}, err
		}
		return timedLoop(ctx, p, suiteWorkers(p.workload), wop)
	}
	switch p.workload {
	case "catalog":
		op = func(ctx context.Context) error {
			rows, err := q.TypeList(ctx, benchdb.TypeListParams{Typmod: -1, Defined: true})
			return atLeast(len(rows), 100, err)
		}
	case "series":
		op = func(ctx context.Context) error {
			rows, err := q.SeriesList(ctx, seriesLen)
			return atLeast(len(rows), seriesLen, err)
		}
	case "large":
		op = func(ctx context.Context) error {
			rows, err := q.BlobList(ctx)
			return atLeast(len(rows), blobRows, err)
		}
	case "arrays":
		op = func(ctx context.Context) error {
			rows, err := q.ArrayList(ctx)
			return atLeast(len(rows), arrayRows, err)
		}
	case "copy10k":
		rows := copyParams(rowValues(copyBatchRows))
		switch p.mode {
		case "slice": // sqlc's method over a slice
			op = func(ctx context.Context) error {
				n, err := q.RowCopy(ctx, rows)
				return atLeast(int(n), len(rows), err)
			}
		case "seq": // pgkitgen's method over an iterator
			op = func(ctx context.Context) error {
				n, err := q.RowCopySeq(ctx, slices.Values(rows))
				return atLeast(int(n), len(rows), err)
			}
		default:
			return Result{}, fmt.Errorf("unknown copy10k mode %q", p.mode)
		}
	case "batch1k":
		rows := insertParams(rowValues(insertBatchRows))
		op = func(ctx context.Context) error {
			var first error
			q.RowInsert(ctx, rows).Exec(func(_ int, err error) {
				if first == nil {
					first = err
				}
			})
			return first
		}
	case "select1", "select1-64":
		op = func(ctx context.Context) error {
			two, err := q.OnePlusOne(ctx)
			if err == nil && two != 2 {
				err = fmt.Errorf("SELECT 1+1 gave %d", two)
			}
			return err
		}
	default:
		return Result{}, fmt.Errorf("unknown workload %q", p.workload)
	}
	return timedLoop(ctx, p, suiteWorkers(p.workload), func(ctx context.Context, _, _ int) error { return op(ctx) })
}

// atLeast is err, or an error when a query gave fewer than want rows.
func atLeast(got, want int, err error) error {
	if err == nil && got < want {
		return fmt.Errorf("%d rows, want at least %d", got, want)
	}
	return err
}

// copyParams are vs as the generated COPY takes them: the optional columns
// pointers, nil when NULL.
func copyParams(vs []rowValue) []benchdb.RowCopyParams {
	out := make([]benchdb.RowCopyParams, len(vs))
	for i, v := range vs {
		out[i] = benchdb.RowCopyParams{N: v.n, Big: v.big, Label: v.label, Score: v.score, At: v.at}
		if v.hasOpts {
			out[i].OptN, out[i].OptBig, out[i].OptLabel, out[i].OptFlag, out[i].OptAt = &vs[i].n, &vs[i].big, &vs[i].label, &vs[i].flag, &vs[i].at
		}
	}
	return out
}

// insertParams are vs as the generated batch takes them.
func insertParams(vs []rowValue) []benchdb.RowInsertParams {
	out := make([]benchdb.RowInsertParams, len(vs))
	for i, c := range copyParams(vs) {
		out[i] = benchdb.RowInsertParams(c)
	}
	return out
}

// shopdbAppend is workload w through pgkitgen's …Append methods, as a hot
// path written for them runs it: each of the workers appends to the slice
// its previous call returned, from [:0].
func shopdbAppend(q *benchdb.Queries, w string, workers int) (func(ctx context.Context, worker, _ int) error, error) {
	switch w {
	case "catalog":
		bufs := make([][]benchdb.TypeListRow, workers)
		return func(ctx context.Context, k, _ int) (err error) {
			bufs[k], err = q.TypeListAppend(ctx, bufs[k][:0], benchdb.TypeListParams{Typmod: -1, Defined: true})
			return atLeast(len(bufs[k]), 100, err)
		}, nil
	case "series":
		bufs := make([][]int32, workers)
		return func(ctx context.Context, k, _ int) (err error) {
			bufs[k], err = q.SeriesListAppend(ctx, bufs[k][:0], seriesLen)
			return atLeast(len(bufs[k]), seriesLen, err)
		}, nil
	case "large":
		bufs := make([][]benchdb.BenchBlob, workers)
		return func(ctx context.Context, k, _ int) (err error) {
			bufs[k], err = q.BlobListAppend(ctx, bufs[k][:0])
			return atLeast(len(bufs[k]), blobRows, err)
		}, nil
	case "arrays":
		bufs := make([][]benchdb.BenchArray, workers)
		return func(ctx context.Context, k, _ int) (err error) {
			bufs[k], err = q.ArrayListAppend(ctx, bufs[k][:0])
			return atLeast(len(bufs[k]), arrayRows, err)
		}, nil
	}
	return nil, fmt.Errorf("workload %q has no append mode", w)
}
