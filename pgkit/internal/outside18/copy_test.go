package outside18_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/outside18/ptr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// want is one row as yielded, copied.
type want struct {
	i4 int32
	t  string
	by []byte
	a4 []int32
	at []string
	ts time.Time
	u  uuid.UUID
}

// reusingSeq yields n rows of ThingCopyParams whose pointer targets,
// buffers and slices are all reused from row to row; it records a copy of
// every row as yielded.
func reusingSeq(n int, rec *[]want) iter.Seq[ptr.ThingCopyParams] {
	return func(yield func(ptr.ThingCopyParams) bool) {
		var i4 int32
		var s string
		var ts time.Time
		var u uuid.UUID
		small := make([]byte, 0, 8192)
		a4 := make([]int32, 3)
		at := make([]string, 2)
		base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for k := range n {
			i4 = int32(k)
			s = fmt.Sprintf("row-%d", k)
			ts = base.Add(time.Duration(k) * time.Second)
			u = uuid.UUID{byte(k >> 8), byte(k)}
			size := 10 + k%7
			if k%97 == 0 {
				size = 6000 // past copy_push's 4 KiB held bytes
			}
			small = small[:0]
			for j := range size {
				small = append(small, byte(k+j))
			}
			a4[0], a4[1], a4[2] = int32(k), int32(-k), int32(k*2)
			at[0], at[1] = s, strings.Repeat("x", k%5)
			*rec = append(*rec, want{i4, s, bytes.Clone(small), slices.Clone(a4), slices.Clone(at), ts, u})
			if !yield(ptr.ThingCopyParams{I4: &i4, T: &s, By: small, A4: a4, At: at, Ts: &ts, U: &u}) {
				return
			}
		}
	}
}

func checkStored(t *testing.T, db *pgkit.DB, rec []want) {
	t.Helper()
	rows, err := db.Query(context.Background(), "SELECT i4, t, by, a4, at, ts, u FROM things ORDER BY i4")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	k := 0
	for rows.Next() {
		var g want
		if err := rows.Scan(&g.i4, &g.t, &g.by, &g.a4, &g.at, &g.ts, &g.u); err != nil {
			t.Fatal(err)
		}
		w := rec[k]
		if g.i4 != w.i4 || g.t != w.t || !bytes.Equal(g.by, w.by) || !slices.Equal(g.a4, w.a4) || !slices.Equal(g.at, w.at) || !g.ts.Equal(w.ts) || g.u != w.u {
			t.Fatalf("row %d stored %+v, yielded %+v", k, g, w)
		}
		k++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if k != len(rec) {
		t.Fatalf("%d rows stored, %d yielded", k, len(rec))
	}
}

// The generated …Seq with every kind of reuse, on the pool and in a Tx.
func TestOutside18CopySeqReuseHeld(t *testing.T) {
	for _, mode := range []string{"pool", "tx", "multiplexed pool"} {
		t.Run(mode, func(t *testing.T) {
			cfg := pgkit.Config{MaxConns: 4, Multiplex: mode == "multiplexed pool"}
			db := pgkittest.NewWithConfig(t, migrations(), cfg)
			ctx := context.Background()
			var rec []want
			var n int64
			var err error
			if mode == "tx" {
				err = pgkit.WithTx(ctx, db, ptr.New, func(q *ptr.Queries) error {
					n, err = q.ThingCopySeq(ctx, reusingSeq(20000, &rec))
					return err
				})
			} else {
				n, err = ptr.New(db).ThingCopySeq(ctx, reusingSeq(20000, &rec))
			}
			if err != nil || n != 20000 {
				t.Fatalf("ThingCopySeq: %d, %v", n, err)
			}
			checkStored(t, db, rec)
		})
	}
}

// CopyFromSeq with values returning one reused slice of reused pointers
// and buffers.
func TestOutside18CopyFromSeqReuse(t *testing.T) {
	db := pgkittest.New(t, migrations())
	ctx := context.Background()
	var rec []want
	row := make([]any, 7)
	n, err := pgkit.CopyFromSeq(ctx, db, pgx.Identifier{"things"}, []string{"i4", "t", "by", "a4", "at", "ts", "u"},
		reusingSeq(20000, &rec), func(p ptr.ThingCopyParams) []any {
			row[0], row[1], row[2], row[3], row[4], row[5], row[6] = p.I4, p.T, p.By, p.A4, p.At, p.Ts, p.U
			return row
		})
	if err != nil || n != 20000 {
		t.Fatalf("CopyFromSeq: %d, %v", n, err)
	}
	checkStored(t, db, rec)
}

var errBoom = errors.New("boom")

// A panic in the iterator aborts the COPY, re-panics in the caller, and
// gives the connection back.
func TestOutside18CopyPanic(t *testing.T) {
	db := pgkittest.New(t, migrations())
	ctx := context.Background()
	for _, at := range []int{0, 1, 5000} {
		var got any
		func() {
			defer func() { got = recover() }()
			_, _ = pgkit.CopyFromSeq(ctx, db, pgx.Identifier{"things"}, []string{"i4"},
				func(yield func(int32) bool) {
					for k := int32(0); ; k++ {
						if int(k) == at {
							panic(errBoom)
						}
						if !yield(k) {
							return
						}
					}
				}, func(v int32) []any { return []any{v} })
		}()
		if got != errBoom {
			t.Fatalf("panic at %d: recovered %v", at, got)
		}
		var c int64
		if err := db.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&c); err != nil || c != 0 {
			t.Fatalf("after a panic at row %d: %d rows stored, %v", at, c, err)
		}
	}
}

// A COPY the server fails stops the iterator, which would otherwise go on
// for ever.
func TestOutside18CopyErrorStopsIterator(t *testing.T) {
	db := pgkittest.New(t, migrations())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // only against a hang
	defer cancel()
	yielded := 0
	_, err := pgkit.CopyFromSeq(ctx, db, pgx.Identifier{"strict"}, []string{"i4", "i8", "t", "by", "ts", "u", "b", "f8", "d", "a4", "at", "jb"},
		func(yield func(int) bool) {
			for k := 0; ; k++ {
				yielded++
				if !yield(k) {
					return
				}
			}
		}, func(k int) []any {
			var t any = "x"
			if k == 3 {
				t = nil // NOT NULL violation on the server
			}
			return []any{int32(k), int64(k), t, []byte("b"), time.Now(), uuid.New(), true, 1.5, time.Now(), []int32{1}, []string{"a"}, []byte("{}")}
		})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("COPY with a NULL in a NOT NULL column: %v (ctx %v), %d rows yielded", err, ctx.Err(), yielded)
	}
	t.Logf("stopped after %d rows: %v", yielded, err)
	// A client-side encoding error too.
	yielded = 0
	_, err = pgkit.CopyFromSeq(ctx, db, pgx.Identifier{"things"}, []string{"i4"},
		func(yield func(int64) bool) {
			for k := int64(0); ; k++ {
				yielded++
				if !yield(k) {
					return
				}
			}
		}, func(k int64) []any {
			if k == 3 {
				return []any{int64(1) << 40} // out of int4's range
			}
			return []any{k}
		})
	if err == nil || ctx.Err() != nil {
		t.Fatalf("COPY of an int4 out of range: %v (ctx %v), %d rows yielded", err, ctx.Err(), yielded)
	}
	t.Logf("stopped after %d rows: %v", yielded, err)
}

// Nothing is read when the table is missing, on the pool and in a Tx.
func TestOutside18CopyMissingTable(t *testing.T) {
	db := pgkittest.New(t, migrations())
	ctx := context.Background()
	seq := func(read *int) iter.Seq[int32] {
		return func(yield func(int32) bool) {
			for k := int32(0); k < 10; k++ {
				*read++
				if !yield(k) {
					return
				}
			}
		}
	}
	read := 0
	_, err := pgkit.CopyFromSeq(ctx, db, pgx.Identifier{"nope"}, []string{"i4"}, seq(&read), func(v int32) []any { return []any{v} })
	if err == nil || read != 0 {
		t.Fatalf("pool: %v, %d rows read", err, read)
	}
	err = pgkit.WithTx(ctx, db, ptr.New, func(q *ptr.Queries) error {
		_, err := pgkit.CopyFromSeq(ctx, q.DB(), pgx.Identifier{"things"}, []string{"nope"}, seq(&read), func(v int32) []any { return []any{v} })
		return err
	})
	if err == nil || read != 0 {
		t.Fatalf("tx, missing column: %v, %d rows read", err, read)
	}
}
