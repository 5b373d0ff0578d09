package pgkit_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestAcquirePoolAfterDeadIdleConnections: when more connections than
// pgxpool tries in one Acquire (MaxConns+1) turn out unusable one after
// the other (here PrepareConn refuses the first five, as it destroys the
// dead ones a proxy reset), pgxpool's Acquire fails with its untyped "too
// many failed attempts" error, whose text deadIdleConns matches; pgkit's
// acquire tries again and gets a connection.
func TestAcquirePoolAfterDeadIdleConnections(t *testing.T) {
	t.Parallel()
	url := pgkittest.EmptyURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	open := func(refuse int64) *pgxpool.Pool {
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = 2
		var seen atomic.Int64
		cfg.PrepareConn = func(context.Context, *pgx.Conn) (bool, error) {
			return seen.Add(1) > refuse, nil
		}
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	_, err := open(5).Acquire(ctx)
	if err == nil || !pgkit.DeadIdleConns(err) {
		t.Fatalf("pgxpool's Acquire after 5 refused connections: %v; want its \"too many failed attempts\" error (has pgxpool changed its text?)", err)
	}
	c, err := pgkit.AcquirePool(ctx, open(5))
	if err != nil {
		t.Fatalf("acquirePool after 5 refused connections: %v", err)
	}
	defer c.Release()
	var one int
	if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("the connection acquired: %d, %v", one, err)
	}
	if _, err := pgkit.AcquirePool(ctx, open(1000)); err == nil || !pgkit.DeadIdleConns(err) {
		t.Fatalf("acquirePool when every connection is refused: %v; want it to give up with pgxpool's error", err)
	}
}
