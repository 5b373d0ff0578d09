package pgkit_test

import (
	"runtime"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestWithTxFnGoexit: a fn that ends its goroutine (runtime.Goexit, as
// t.FailNow does) inside WithTx has its transaction rolled back and its
// connection given back, as a panic has: on a pool of one, the next
// transaction gets the connection, and the fn's write is gone.
func TestWithTxFnGoexit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 1})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = pgkit.WithTx(ctx, db, kitdb.New, func(q *kitdb.Queries) error {
			if _, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Goexit", Team: "gone"}); err != nil {
				t.Error(err)
			}
			runtime.Goexit()
			return nil
		})
	}()
	<-done
	var n int
	err := pgkit.WithTx(ctx, db, kitdb.New, func(q *kitdb.Queries) error {
		return q.DB().QueryRow(ctx, "SELECT count(*) FROM accounts WHERE team = 'gone'").Scan(&n)
	})
	if err != nil || n != 0 {
		t.Fatalf("after a fn's Goexit: %v, %d rows of its write (want the transaction rolled back, its connection free)", err, n)
	}
}
