package pgkit_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
	"github.com/shopdb/shopdb/schema"
	"github.com/shopdb/shopdb/shop"
)

// poolerWorkload runs 8 goroutines × 20 rounds of the shop's kinds of work
// (single queries, a transaction with locks and a batch, a pipelined page,
// a stream, COPY, a nested transaction) and counts the operations that
// failed.
func poolerWorkload(t *testing.T, ctx context.Context, run, dsn string, cfg pgkit.Config) (ops, failed int, first error) {
	t.Helper()
	d, err := pgkit.Open(ctx, dsn, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	q := db.New(d)
	var mu sync.Mutex
	note := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		ops++
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				tag := fmt.Sprintf("%s-%d-%d", run, g, i)
				u, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "B", LastName: tag})
				note(err)
				p, err := q.ProductCreate(ctx, db.ProductCreateParams{Sku: "B-" + tag, Name: "B", PriceCents: 1, Stock: 10})
				note(err)
				_, err = q.UserGetByID(ctx, u.UserID)
				note(err)
				_, err = shop.PlaceOrder(ctx, d, u.UserID, []shop.OrderLine{{ProductID: p.ProductID, Quantity: 1}}, pgkit.TxOptions{})
				note(err)
				_, err = shop.LoadProductPage(ctx, d, shop.ProductPageRequest{ProductID: p.ProductID, CustomerID: u.UserID})
				note(err)
				n := 0
				for _, err := range q.UserListStream(ctx, db.UserListParams{Max: 5}) {
					if err != nil {
						note(err)
						break
					}
					n++
				}
				_, err = q.UserCreateMany(ctx, []db.UserCreateManyParams{{FirstName: "C", LastName: tag}})
				note(err)
				note(pgkit.WithTx(ctx, d, db.New, func(q *db.Queries) error {
					return q.RunInTx(ctx, func(s db.Store) error {
						_, err := s.UserUpdateEmail(ctx, db.UserUpdateEmailParams{UserID: u.UserID, Email: nil})
						return err
					})
				}))
			}
		}()
	}
	wg.Wait()
	return ops, failed, first
}

// TestThroughPgBouncer: through a real PgBouncer in transaction mode,
// pgkit's default statement caching breaks (prepared statements do not
// follow a client from one server connection to the next), and with
// Config.Pooler = PoolerTransaction the same work has no failure at all.
func TestThroughPgBouncer(t *testing.T) {
	if _, err := os.Stat(pgtemp.BouncerBin); err != nil {
		t.Skip("pgbouncer is not installed: apt-get install -y pgbouncer (make test does it when run as root)")
	}
	t.Parallel()
	ctx := context.Background()
	dsn := pgkittest.URL(t, schema.FS())
	b, err := pgtemp.StartBouncer(ctx, dsn, "transaction", "pgtdbuser")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Stop()
	through := b.URL(dsn)

	ops, failed, first := poolerWorkload(t, ctx, "default", through, pgkit.Config{MaxConns: 8})
	t.Logf("default statement cache through PgBouncer: %d of %d operations failed (first: %v)", failed, ops, first)
	ops, failed, first = poolerWorkload(t, ctx, "pooler", through, pgkit.Config{MaxConns: 8, Pooler: pgkit.PoolerTransaction})
	t.Logf("PoolerTransaction through PgBouncer: %d of %d operations failed", failed, ops)
	if failed != 0 {
		t.Fatalf("%d of %d operations failed behind PgBouncer with PoolerTransaction; first: %v", failed, ops, first)
	}
	// The connection string can say it (Prisma's convention).
	ops, failed, first = poolerWorkload(t, ctx, "dsn", through+"&pgbouncer=true", pgkit.Config{MaxConns: 8})
	if failed != 0 {
		t.Fatalf("pgbouncer=true: %d of %d operations failed; first: %v", failed, ops, first)
	}

	// A server setting as a startup parameter is refused with advice, not
	// sent to a pooler that would refuse the connection.
	_, err = pgkit.Open(ctx, through+"&statement_timeout=5000", pgkit.Config{Pooler: pgkit.PoolerTransaction})
	if err == nil || !strings.Contains(err.Error(), "statement_timeout") || !strings.Contains(err.Error(), "ALTER ROLE") {
		t.Fatalf("statement_timeout behind a transaction pooler: %v", err)
	}
}
