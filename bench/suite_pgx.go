package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// runSuitePgx runs a suite workload as a careful pgx user writes it by
// hand: pgxpool, the same SQL, typed scans into plain values (no pointer
// types, no reflection: no RowToStructByName, no CopyFromRows of [][]any).
func runSuitePgx(ctx context.Context, p params) (Result, error) {
	cfg, err := pgxpool.ParseConfig(p.dsn)
	if err != nil {
		return Result{}, err
	}
	cfg.MaxConns, cfg.MinConns = suiteConns, suiteConns
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return Result{}, err
	}
	defer pool.Close()
	var op func(ctx context.Context) error
	if p.mode == "append" {
		wop, err := pgxAppend(pool, p.workload, suiteWorkers(p.workload))
		if err != nil {
			return Result{}, err
		}
		return timedLoop(ctx, p, suiteWorkers(p.workload), wop)
	}
	switch p.workload {
	case "catalog":
		op = func(ctx context.Context) error {
			rows, err := pgxTypes(ctx, pool)
			return atLeast(len(rows), 100, err)
		}
	case "series":
		op = func(ctx context.Context) error {
			rows, err := pgxSeries(ctx, pool)
			return atLeast(len(rows), seriesLen, err)
		}
	case "large":
		op = func(ctx context.Context) error {
			rows, err := pgxBlobs(ctx, pool)
			return atLeast(len(rows), blobRows, err)
		}
	case "arrays":
		op = func(ctx context.Context) error {
			rows, err := pgxArrays(ctx, pool)
			return atLeast(len(rows), arrayRows, err)
		}
	case "copy10k":
		rows := rowValues(copyBatchRows)
		op = func(ctx context.Context) error {
			n, err := pool.CopyFrom(ctx, pgx.Identifier{"bench_rows"}, rowColumns, &rowSource{rows: rows, i: -1})
			return atLeast(int(n), len(rows), err)
		}
	case "batch1k":
		rows := rowValues(insertBatchRows)
		op = func(ctx context.Context) error {
			b := &pgx.Batch{}
			for _, v := range rows {
				if v.hasOpts {
					b.Queue(sqlRowInsert, v.n, v.big, v.label, v.score, v.at, v.n, v.big, v.label, v.flag, v.at)
				} else {
					b.Queue(sqlRowInsert, v.n, v.big, v.label, v.score, v.at, nil, nil, nil, nil, nil)
				}
			}
			return pool.SendBatch(ctx, b).Close()
		}
	case "select1", "select1-64":
		op = func(ctx context.Context) error {
			var two int32
			err := pool.QueryRow(ctx, sqlOnePlusOne).Scan(&two)
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

// rawType is a row of the catalog scan, oids as uint32.
type rawType struct {
	OID, Namespace, Owner                 uint32
	Name                                  string
	Len                                   int16
	ByVal, Preferred, Defined, NotNull    bool
	Type, Category, Delim, Align, Storage string
	RelID, Elem, Array, BaseType          uint32
	TypMod, NDims                         int32
}

func pgxTypes(ctx context.Context, pool *pgxpool.Pool) ([]rawType, error) {
	rows, err := pool.Query(ctx, sqlTypes, int32(-1), true)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rawType
	for rows.Next() {
		var t rawType
		if err := rows.Scan(&t.OID, &t.Name, &t.Namespace, &t.Owner, &t.Len, &t.ByVal, &t.Type,
			&t.Category, &t.Preferred, &t.Defined, &t.Delim, &t.RelID, &t.Elem,
			&t.Array, &t.Align, &t.Storage, &t.NotNull, &t.BaseType, &t.TypMod, &t.NDims); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func pgxSeries(ctx context.Context, pool *pgxpool.Pool) ([]int32, error) {
	rows, err := pool.Query(ctx, sqlSeries, int32(seriesLen))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int32
	for rows.Next() {
		var i int32
		if err := rows.Scan(&i); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// rawBlob is a row of bench_blobs.
type rawBlob struct {
	ID      int32
	Note    string
	Payload []byte
}

func pgxBlobs(ctx context.Context, pool *pgxpool.Pool) ([]rawBlob, error) {
	rows, err := pool.Query(ctx, sqlBlobs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rawBlob
	for rows.Next() {
		var b rawBlob
		if err := rows.Scan(&b.ID, &b.Note, &b.Payload); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// rawArray is a row of bench_arrays.
type rawArray struct {
	ID   int32
	Vals []int32
}

func pgxArrays(ctx context.Context, pool *pgxpool.Pool) ([]rawArray, error) {
	rows, err := pool.Query(ctx, sqlArrays)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rawArray
	for rows.Next() {
		var a rawArray
		if err := rows.Scan(&a.ID, &a.Vals); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// rowSource is a typed pgx.CopyFromSource over rows: concrete values (nil
// for NULL), one []any reused for every row, as pgx encodes a row before
// asking for the next.
type rowSource struct {
	rows []rowValue
	i    int
	vals [10]any
}

func (s *rowSource) Next() bool { s.i++; return s.i < len(s.rows) }

func (s *rowSource) Values() ([]any, error) {
	v := &s.rows[s.i]
	s.vals = [10]any{v.n, v.big, v.label, v.score, v.at, nil, nil, nil, nil, nil}
	if v.hasOpts {
		s.vals[5], s.vals[6], s.vals[7], s.vals[8], s.vals[9] = v.n, v.big, v.label, v.flag, v.at
	}
	return s.vals[:], nil
}

func (s *rowSource) Err() error { return nil }
