package pgkit

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// planEpochs spreads the news of a stale prepared statement to the pool's
// other connections before a transaction runs on them. An autocommit
// statement that meets a stale plan (a schema change altered its result)
// is run again (executor.go), and pgx forgets that statement on that
// connection; but another connection's copy would fail the first
// statement of a transaction begun by hand (DB.Begin), which cannot be
// run again inside it. So a stale plan met anywhere (pooled, or by the
// multiplexer) moves the epoch on, and BeginTx first has a connection of
// an older epoch forget every statement it prepared (pgx's
// DeallocateAll: the server's, pgx's caches, and the multiplexer's
// record of the connection). Schema changes are rare: the cost is one
// round trip per connection per change met, and an atomic load per
// transaction otherwise.
type planEpochs struct {
	epoch atomic.Int64 // stale plans met; 0: none, nothing to check
	seen  sync.Map     // *pgx.Conn → int64: the epoch its statements are of
}

// stale records that a stale prepared statement was met.
func (p *planEpochs) stale() { p.epoch.Add(1) }

// sync has c forget its prepared statements when a stale plan was met
// since it last did (or since it connected, if before the first),
// reporting whether it did: what else remembers them (the multiplexer)
// must then forget them too.
func (p *planEpochs) sync(ctx context.Context, c *pgx.Conn) (bool, error) {
	e := p.epoch.Load()
	if e == 0 {
		return false, nil
	}
	if v, ok := p.seen.Load(c); ok && v.(int64) >= e {
		return false, nil
	}
	if err := c.DeallocateAll(ctx); err != nil {
		return false, fmt.Errorf("forgetting prepared statements after a schema change: %w", err)
	}
	p.seen.Store(c, e)
	return true, nil
}

// closed forgets c, which the pool closed.
func (p *planEpochs) closed(c *pgx.Conn) { p.seen.Delete(c) }
