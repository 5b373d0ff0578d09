package pgkit_test

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestGatherFnGoexit: a fn that ends its goroutine (runtime.Goexit, as
// t.FailNow does) is Gather's error, not a success, with and without a
// limit; and when fns[0] does it on the caller's goroutine, the other fns
// are cancelled and have returned before that goroutine ends.
func TestGatherFnGoexit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 4})
	ok := func(ctx context.Context, q *kitdb.Queries) error {
		_, err := q.AccountList(ctx, kitdb.AccountListParams{Max: 1})
		return err
	}
	exit := func(context.Context, *kitdb.Queries) error { runtime.Goexit(); return nil }
	for _, limit := range []int{0, 1} {
		err := pgkit.GatherLimit(ctx, db, kitdb.New, limit, ok, exit, ok)
		if err == nil || !strings.Contains(err.Error(), "fn 1 ended its goroutine") {
			t.Fatalf("limit %d: a fn's Goexit gave %v, want an error naming fn 1", limit, err)
		}
	}
	var otherDone atomic.Bool
	var whenExited bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { whenExited = otherDone.Load() }()
		_ = pgkit.Gather(ctx, db, kitdb.New, exit, func(ctx context.Context, q *kitdb.Queries) error {
			<-ctx.Done() // cancelled by fns[0]'s exit
			otherDone.Store(true)
			return ctx.Err()
		})
		t.Error("Gather returned on a goroutine its fns[0] ended")
	}()
	<-done
	if !whenExited {
		t.Fatal("the caller's goroutine ended before the other fn had returned")
	}
	if err := pgkit.Gather(ctx, db, kitdb.New, ok, ok); err != nil {
		t.Fatalf("after: %v", err)
	}
}
