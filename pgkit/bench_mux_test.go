package pgkit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// The multiplexer's cost per statement beside raw pgxpool and pgkit's
// pool, on ten connections, from a fixed number of callers (goroutines):
// ns/op, allocs/op, and cpu-us/op, the client process's CPU time (user +
// system, getrusage) per statement: the server runs in other processes,
// so it is not counted. Compare the variants as ratios within one run:
//
//	go test -run '^$' -bench BenchmarkMuxCost -benchmem -count 3 -benchtime 20000x ./pgkit

// muxBenchConns is the connections every variant gets.
const muxBenchConns = 10

// muxWideSQL is 100 rows of 10 columns, five int4 and five text.
const muxWideSQL = `SELECT i, i+1, i+2, i+3, i+4,
	'a' || i, 'bb' || i, 'ccc' || i, 'dddd' || i, 'eeeee' || i
	FROM generate_series(1, 100) AS i`

// muxLargeSQL is 100 rows of a 1,024-byte text and a 4,096-byte bytea,
// from a table the benchmark fills (mux_bench_blobs).
const muxLargeSQL = `SELECT blob_id, note, payload FROM mux_bench_blobs ORDER BY blob_id`

// muxBenchSetup fills mux_bench_blobs: md5 text, which does not compress,
// so the rows stay large.
const muxBenchSetup = `CREATE TABLE IF NOT EXISTS mux_bench_blobs (blob_id int PRIMARY KEY, note text NOT NULL, payload bytea NOT NULL);
TRUNCATE mux_bench_blobs;
INSERT INTO mux_bench_blobs
	SELECT g, (SELECT string_agg(md5(g || ':' || s), '') FROM generate_series(1, 32) s),
		decode((SELECT string_agg(md5(s || ':' || g), '') FROM generate_series(1, 256) s), 'hex')
	FROM generate_series(1, 100) g`

// muxBenchQuerier is what the variants have in common.
type muxBenchQuerier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func BenchmarkMuxCost(b *testing.B) {
	ctx := context.Background()
	dsn := pgkittest.URL(b, kitdb.Migrations())
	rcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		b.Fatal(err)
	}
	rcfg.MaxConns = muxBenchConns
	raw, err := pgxpool.NewWithConfig(ctx, rcfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(raw.Close)
	if _, err := raw.Exec(ctx, muxBenchSetup); err != nil {
		b.Fatal(err)
	}
	pool, err := pgkit.Open(ctx, dsn, pgkit.Config{MaxConns: muxBenchConns})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	// One connection more than the lanes: the multiplexer leaves one for
	// transactions.
	mx, err := pgkit.Open(ctx, dsn, pgkit.Config{MaxConns: muxBenchConns + 1, MultiplexConns: muxBenchConns, Multiplex: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mx.Close)
	// The default lanes (DefaultMultiplexConns) on the same ten
	// connections, as the bench program's shopdb-mux runs.
	mxDefault, err := pgkit.Open(ctx, dsn, pgkit.Config{MaxConns: muxBenchConns, Multiplex: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mxDefault.Close)
	variants := []struct {
		name string
		q    muxBenchQuerier
	}{{"pgxpool", raw}, {"pool", pool}, {"mux", mx}, {"muxdefault", mxDefault}}
	for _, wl := range []struct {
		name string
		run  func(context.Context, muxBenchQuerier) error
	}{{"select1", muxSelect1}, {"wide", muxWide}, {"large", muxLarge}} {
		for _, callers := range []int{10, 64} {
			for _, v := range variants {
				b.Run(fmt.Sprintf("%s/callers=%d/%s", wl.name, callers, v.name), func(b *testing.B) {
					for range 20 { // warm: statements prepared, connections open
						if err := wl.run(ctx, v.q); err != nil {
							b.Fatal(err)
						}
					}
					muxRunCallers(b, callers, func() error { return wl.run(ctx, v.q) })
				})
			}
		}
	}
}

// muxRunCallers runs b.N calls of fn spread over callers goroutines and
// reports the client CPU per call.
func muxRunCallers(b *testing.B, callers int, fn func() error) {
	b.ReportAllocs()
	var left atomic.Int64
	left.Store(int64(b.N))
	before := muxCPU(b)
	b.ResetTimer()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := fn(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(muxCPU(b)-before)/1e3/float64(b.N), "cpu-us/op")
}

// muxCPU is the process's CPU time so far, user and system, in
// nanoseconds.
func muxCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func muxSelect1(ctx context.Context, q muxBenchQuerier) error {
	rows, err := q.Query(ctx, "SELECT 1+1")
	if err != nil {
		return err
	}
	var n int32
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != 2 {
		return fmt.Errorf("SELECT 1+1 gave %d", n)
	}
	return nil
}

func muxWide(ctx context.Context, q muxBenchQuerier) error {
	rows, err := q.Query(ctx, muxWideSQL)
	if err != nil {
		return err
	}
	var (
		ints [5]int32
		strs [5]string
		n    int
	)
	for rows.Next() {
		if err := rows.Scan(&ints[0], &ints[1], &ints[2], &ints[3], &ints[4],
			&strs[0], &strs[1], &strs[2], &strs[3], &strs[4]); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != 100 || strs[4] != "eeeee100" {
		return fmt.Errorf("wide: %d rows, last %q", n, strs[4])
	}
	return nil
}

// BenchmarkMuxThousandCallers is SELECT 1+1 from 1,000 callers on the
// multiplexer's ten connections: where they contend shows in a mutex
// profile (-mutexprofile; go tool pprof -top).
func BenchmarkMuxThousandCallers(b *testing.B) {
	ctx := context.Background()
	mx, err := pgkit.Open(ctx, pgkittest.URL(b, kitdb.Migrations()),
		pgkit.Config{MaxConns: muxBenchConns + 1, MultiplexConns: muxBenchConns, Multiplex: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mx.Close)
	if err := muxSelect1(ctx, mx); err != nil {
		b.Fatal(err)
	}
	muxRunCallers(b, 1000, func() error { return muxSelect1(ctx, mx) })
}

func muxLarge(ctx context.Context, q muxBenchQuerier) error {
	rows, err := q.Query(ctx, muxLargeSQL)
	if err != nil {
		return err
	}
	var (
		id      int32
		note    string
		payload []byte
		n       int
	)
	for rows.Next() {
		if err := rows.Scan(&id, &note, &payload); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != 100 || len(note) != 1024 || len(payload) != 4096 {
		return fmt.Errorf("large: %d rows, last %d and %d bytes", n, len(note), len(payload))
	}
	return nil
}
