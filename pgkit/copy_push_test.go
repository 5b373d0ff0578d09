package pgkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
)

// The COPY of an iterator hands pgx its rows a chunk at a time
// (copy_push.go). These tests check what Pull gave for free: an iterator
// that reuses what it yields still copies every row as it was yielded;
// one that panics or fails stops the COPY and keeps the connection; a
// COPY that fails before its first row reads none.

// TestCopySeqIteratorReusesWhatItYields: a generated …Seq fed by an
// iterator that yields a pointer to one variable, changed after every
// yield, over several chunks, copies each row as it was yielded; so do
// CopyFromSeq's []byte and []int32 values of a buffer reused from row to
// row, small and large, on a pool and in a transaction.
func TestCopySeqIteratorReusesWhatItYields(t *testing.T) {
	ctx, d, q := setup(t)
	const n = 5000 // several chunks of three values a row
	var email string
	accounts := func(yield func(kitdb.AccountCreateManyParams) bool) {
		for i := range n {
			email = fmt.Sprintf("r%d@example.com", i)
			p := kitdb.AccountCreateManyParams{Name: fmt.Sprint("R", i), Team: "Reuse"}
			if i%3 != 0 {
				p.Email = &email
			}
			if !yield(p) {
				return
			}
			email = "changed@example.com"
		}
	}
	if got := kittest.Must(q.AccountCreateManySeq(ctx, accounts))(t); got != n {
		t.Fatalf("AccountCreateManySeq copied %d, want %d", got, n)
	}
	rows := kittest.Must(q.AccountExport(ctx, 0))(t)
	if len(rows) != n {
		t.Fatalf("%d accounts, want %d", len(rows), n)
	}
	for i, a := range rows {
		want := fmt.Sprintf("r%d@example.com", i)
		if a.Name != fmt.Sprint("R", i) || (i%3 == 0) != (a.Email == nil) || a.Email != nil && *a.Email != want {
			t.Fatalf("row %d = %+v, want name R%d, email %q (nil when i%%3 == 0)", i, a, i, want)
		}
	}

	if _, err := d.Exec(ctx, `CREATE TABLE copy_reuse (id int NOT NULL, small bytea, large bytea, vals int[])`); err != nil {
		t.Fatal(err)
	}
	const m = 3000
	small, large, vals := make([]byte, 16), make([]byte, 10_000), make([]int32, 3)
	fill := func(i int) {
		for j := range small {
			small[j] = byte(i + j)
		}
		for j := range large {
			large[j] = byte(i * j)
		}
		for j := range vals {
			vals[j] = int32(i + j)
		}
	}
	seq := func(yield func(int) bool) {
		for i := range m {
			fill(i)
			if !yield(i) {
				return
			}
			fill(-1) // what a reused buffer holds once the iterator goes on
		}
	}
	row := make([]any, 4)
	values := func(i int) []any {
		row[0], row[1], row[2], row[3] = int32(i), small, large, vals
		if i%10 == 0 {
			row[2] = nil
		}
		return row
	}
	copied := kittest.Must(pgkit.CopyFromSeq(ctx, d, pgx.Identifier{"copy_reuse"}, []string{"id", "small", "large", "vals"}, seq, values))(t)
	err := pgkit.WithTx(ctx, d, kitdb.New, func(q *kitdb.Queries) error {
		n, err := pgkit.CopyFromSeq(ctx, q.DB(), pgx.Identifier{"copy_reuse"}, []string{"id", "small", "large", "vals"}, seq, values)
		copied += n
		return err
	})
	if err != nil || copied != 2*m {
		t.Fatalf("copied %d rows (%v), want %d", copied, err, 2*m)
	}
	got, err := d.Query(ctx, `SELECT id, small, large, vals FROM copy_reuse ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	k := 0
	for got.Next() {
		var id int32
		var s, l []byte
		var v []int32
		if err := got.Scan(&id, &s, &l, &v); err != nil {
			t.Fatal(err)
		}
		i := k / 2
		k++
		fill(i)
		wantLarge := large
		if i%10 == 0 {
			wantLarge = nil
		}
		if int(id) != i || !bytes.Equal(s, small) || !bytes.Equal(l, wantLarge) || !slices.Equal(v, vals) {
			t.Fatalf("row %d: id %d, small %v, large %d bytes, vals %v: not what was yielded", k, id, s, len(l), v)
		}
	}
	if err := got.Err(); err != nil || k != 2*m {
		t.Fatalf("%d rows read back (%v), want %d", k, err, 2*m)
	}
}

// TestCopySeqStops: an iterator that panics has its panic go on in the
// caller once the COPY is aborted; one whose row fails to encode is
// stopped within a few chunks; a COPY into a table that does not exist
// never starts its iterator. Nothing is copied, and the pool's connection
// comes back (pgkittest fails a test that leaks one).
func TestCopySeqStops(t *testing.T) {
	ctx, d, q := setup(t)
	if _, err := d.Exec(ctx, `CREATE TABLE copy_stop (n int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const total = 1_000_000
	yielded := 0
	ints := func(panicAt int) func(yield func(any) bool) {
		return func(yield func(any) bool) {
			for i := range total {
				if i == panicAt {
					panic("iterator broke")
				}
				yielded++
				var v any = int32(i)
				if i == 5000 {
					v = "not a number" // fails to encode as an integer
				}
				if !yield(v) {
					return
				}
			}
		}
	}
	values := func(v any) []any { return []any{v} }

	func() {
		defer func() {
			if p := recover(); p != "iterator broke" {
				t.Fatalf("recovered %v, want the iterator's panic", p)
			}
		}()
		_, _ = pgkit.CopyFromSeq(ctx, d, pgx.Identifier{"copy_stop"}, []string{"n"}, ints(3000), values)
		t.Fatal("CopyFromSeq returned after its iterator panicked")
	}()

	yielded = 0
	if _, err := pgkit.CopyFromSeq(ctx, d, pgx.Identifier{"copy_stop"}, []string{"n"}, ints(-1), values); err == nil {
		t.Fatal("a value that cannot be an integer copied without error")
	}
	if yielded >= total/10 {
		t.Fatalf("the iterator yielded %d rows after row 5000 failed, want it stopped", yielded)
	}

	yielded = 0
	_, err := pgkit.CopyFromSeq(ctx, d, pgx.Identifier{"copy_no_such_table"}, []string{"n"}, ints(-1), values)
	if err == nil || yielded != 0 {
		t.Fatalf("COPY into a missing table: %v after %d rows yielded, want an error and none", err, yielded)
	}

	var n int
	if err := d.QueryRow(ctx, `SELECT count(*) FROM copy_stop`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("copy_stop holds %d rows (%v), want none", n, err)
	}
	// The generated …Seq stops the same way on a row it cannot copy.
	bad := func(yield func(kitdb.AccountCreateManyParams) bool) {
		for i := range total {
			// The second row's email collides with the first's (citext):
			// the server refuses the COPY at its end; the iterator runs out.
			if !yield(kitdb.AccountCreateManyParams{Name: "S", Team: "Stop", Email: kittest.Ptr(fmt.Sprintf("s%d@example.com", i%2))}) {
				return
			}
			if i == 20_000 {
				return
			}
		}
	}
	_, err = q.AccountCreateManySeq(ctx, bad)
	if err == nil || errors.Is(err, context.Canceled) {
		t.Fatalf("AccountCreateManySeq of duplicates: %v, want the server's error", err)
	}
}
