package nullptr_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nullptr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// The client's cost of sqlc's generated COPY and batch over pgkit against
// hand-written raw pgx, for rows whose nullable columns are pointers
// (emit_pointers_for_null_types): half of them NULL, half set. Besides
// ns/op and allocs/op, cpu-µs/op is the client process's user and system
// CPU per operation (getrusage), the server's excluded. -count repeats
// each variant in a row; to interleave them (and another build of the
// same benchmarks), run the test binary several times with -count 1:
//
//	go test -c -o /tmp/nullptr.test ./pgkit/internal/corpus/nullptr
//	for i in 1 2 3; do /tmp/nullptr.test -test.run '^$' -test.bench . -test.benchtime 30x; done

const (
	copyRows  = 10000
	batchRows = 1000
)

// benchRow is row i in the form hand-written code keeps it: plain values
// and a flag for each NULL.
type benchRow struct {
	handle, nickname      string
	age                   int32
	visits                int64
	active                bool
	rating                float64
	seenAt                time.Time
	token                 [16]byte
	avatar                []byte
	null                  bool // nickname, age, visits, active, rating are NULL
	seenAtNull, tokenNull bool
}

func benchRows(n int) ([]benchRow, []nullptr.CopyProfilesParams) {
	plain := make([]benchRow, n)
	params := make([]nullptr.CopyProfilesParams, n)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		r := benchRow{handle: fmt.Sprintf("user%06d", i), nickname: fmt.Sprintf("nick %d", i), age: int32(i % 100), visits: int64(i) << 20,
			active: i%3 == 0, rating: float64(i) / 7, seenAt: t0.Add(time.Duration(i) * time.Second), token: [16]byte{0: byte(i), 15: byte(i >> 8)},
			avatar: []byte{byte(i), 1, 2, 3}, null: i%2 == 1, seenAtNull: i%4 == 1, tokenNull: i%4 == 3}
		plain[i] = r
		p := nullptr.CopyProfilesParams{Handle: r.handle, Avatar: r.avatar,
			SeenAt: pgtype.Timestamptz{Time: r.seenAt, Valid: !r.seenAtNull}, Token: pgtype.UUID{Bytes: r.token, Valid: !r.tokenNull}}
		if !r.null {
			p.Nickname, p.Age, p.Visits, p.Active, p.Rating = &plain[i].nickname, &plain[i].age, &plain[i].visits, &plain[i].active, &plain[i].rating
		}
		params[i] = p
	}
	return plain, params
}

// values sets row to r's values as hand-written code hands them to pgx.
func (r *benchRow) values(row []any) {
	row[0] = r.handle
	if r.null {
		row[1], row[2], row[3], row[4], row[5] = nil, nil, nil, nil, nil
	} else {
		row[1], row[2], row[3], row[4], row[5] = r.nickname, r.age, r.visits, r.active, r.rating
	}
	row[6] = nil // balance
	if r.seenAtNull {
		row[7] = nil
	} else {
		row[7] = r.seenAt
	}
	row[8] = nil // born
	if r.tokenNull {
		row[9] = nil
	} else {
		row[9] = r.token
	}
	row[10], row[11] = r.avatar, nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDBs are a pgkit DB and a plain pgx pool on one fresh database.
func benchDBs(b *testing.B) (*pgkit.DB, *pgxpool.Pool) {
	url := pgkittest.URL(b, conform.Migrations(migrations))
	db, err := pgkit.Open(context.Background(), url, pgkit.Config{MaxConns: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(db.Close)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return db, pool
}

// measure runs op b.N times on an emptied table and reports its client CPU.
func measure(b *testing.B, db *pgkit.DB, op func(ctx context.Context) error) {
	ctx := context.Background()
	if _, err := db.Exec(ctx, `TRUNCATE profiles`); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime(b)
	for range b.N {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cpu := cpuTime(b) - start
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkCopy10k: COPY of 10,000 rows, sqlc's CopyProfiles over pgkit
// against hand-written raw pgx, and against sqlc's method on the raw pool
// (its iterator's pointers dereferenced by pgx through reflect).
func BenchmarkCopy10k(b *testing.B) {
	db, pool := benchDBs(b)
	plain, params := benchRows(copyRows)
	cols := []string{"handle", "nickname", "age", "visits", "active", "rating", "balance", "seen_at", "born", "token", "avatar", "prefs"}
	b.Run("generated-pgkit", func(b *testing.B) {
		q := nullptr.New(db)
		measure(b, db, func(ctx context.Context) error { _, err := q.CopyProfiles(ctx, params); return err })
	})
	b.Run("raw-pgx", func(b *testing.B) {
		measure(b, db, func(ctx context.Context) error {
			row, i := make([]any, len(cols)), 0
			_, err := pool.CopyFrom(ctx, pgx.Identifier{"profiles"}, cols, pgx.CopyFromFunc(func() ([]any, error) {
				if i == len(plain) {
					return nil, nil
				}
				plain[i].values(row)
				i++
				return row, nil
			}))
			return err
		})
	})
	b.Run("generated-rawpool", func(b *testing.B) {
		q := nullptr.New(pool)
		measure(b, db, func(ctx context.Context) error { _, err := q.CopyProfiles(ctx, params); return err })
	})
}

// BenchmarkBatch1k: 1,000 inserts in one batch, sqlc's :batchexec over
// pgkit against hand-written raw pgx (closing the batch, or reading each
// result) and sqlc's method on the raw pool.
func BenchmarkBatch1k(b *testing.B) {
	db, pool := benchDBs(b)
	plain, copyParams := benchRows(batchRows)
	params := make([]nullptr.CreateProfilesParams, len(copyParams))
	for i, p := range copyParams {
		params[i] = nullptr.CreateProfilesParams(p)
	}
	const insert = `INSERT INTO profiles (handle, nickname, age, visits, active, rating, balance, seen_at, born, token, avatar, prefs)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`
	generated := func(q *nullptr.Queries) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			var first error
			q.CreateProfiles(ctx, params).Exec(func(_ int, err error) {
				if err != nil && first == nil {
					first = err
				}
			})
			return first
		}
	}
	b.Run("generated-pgkit", func(b *testing.B) { measure(b, db, generated(nullptr.New(db))) })
	b.Run("raw-pgx", func(b *testing.B) {
		measure(b, db, func(ctx context.Context) error {
			batch := &pgx.Batch{}
			for i := range plain {
				row := make([]any, 12)
				plain[i].values(row)
				batch.Queue(insert, row...)
			}
			return pool.SendBatch(ctx, batch).Close()
		})
	})
	// raw-pgx-each reads each insert's result, as the generated Exec does
	// to report each row's error.
	b.Run("raw-pgx-each", func(b *testing.B) {
		measure(b, db, func(ctx context.Context) error {
			batch := &pgx.Batch{}
			for i := range plain {
				row := make([]any, 12)
				plain[i].values(row)
				batch.Queue(insert, row...)
			}
			br := pool.SendBatch(ctx, batch)
			for range plain {
				if _, err := br.Exec(); err != nil {
					_ = br.Close()
					return err
				}
			}
			return br.Close()
		})
	})
	b.Run("generated-rawpool", func(b *testing.B) { measure(b, db, generated(nullptr.New(pool))) })
}
