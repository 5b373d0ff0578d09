package pgkit_test

// An outside look at issue 15: WithTx on a single connection of the
// caller's own (*pgx.Conn) whose connection broke under the transaction.

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// TestOutsideDeadConnNotRetried: a *pgx.Conn that broke cannot come back,
// so running fn again on it within FailoverWait can only fail. On main
// WithTx retries BEGIN on the closed connection until FailoverWait is
// spent (about 5 s: 16 OnRetry calls here), and then returns "begin
// transaction: … conn closed" instead of the failure that lost the
// transaction.
func TestOutsideDeadConnNotRetried(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, dsn, p := retrySetup(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var runs, retries atomic.Int32
	err = pgkit.WithTxOptions(ctx, conn, func(x pgkit.DBTX) pgkit.DBTX { return x },
		pgkit.TxOptions{OnRetry: func(int, error) { retries.Add(1) }}, func(tx pgkit.DBTX) error {
			if runs.Add(1) == 1 {
				if pc := proxyConnOf(p, conn); pc != nil {
					pc.Reset()
				}
			}
			_, err := tx.Exec(ctx, `SELECT 1`)
			return err
		})
	t.Logf("WithTx = %v after %d runs and %d retries", err, runs.Load(), retries.Load())
	if !errors.Is(err, pgerr.ErrConnectionLost) {
		t.Errorf("WithTx = %v, want ErrConnectionLost", err)
	}
	if retries.Load() > 0 {
		t.Errorf("%d retries on a connection that is closed for good, want 0", retries.Load())
	}
}
