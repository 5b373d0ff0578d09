package pgkit

import (
	"context"
	"time"
)

// Config.QueryTimeout: which statements it bounds is documented on it.

// withQueryTimeout bounds ctx by timeout when it has no deadline of its own
// and timeout is positive (Config.QueryTimeout).
func withQueryTimeout(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return ctx, noCancel
	}
	if _, ok := ctx.Deadline(); ok {
		return ctx, noCancel
	}
	return context.WithTimeout(ctx, timeout)
}

// queryTimeoutOf is the Config.QueryTimeout that bounds the statements run
// on src: a DB's, a transaction's begun on one, else none.
func queryTimeoutOf(src DBTX) time.Duration {
	for {
		switch s := src.(type) {
		case *DB:
			return s.queryTimeout
		case *Tx:
			return s.timeout
		case *Replicated:
			return s.primary.queryTimeout
		case *wrapped:
			src = s.src
		default:
			return 0
		}
	}
}
