package outside18_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/outside18/ptr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// Claim (README, multiplexing, "Prepared once per connection"): a
// statement whose prepared form went stale (a column type change) is
// prepared again and sent again, "and every other connection's copy is
// prepared again before its next use, so no caller sees the server's
// 0A000, multiplexed or on the pool"; Config.Decoders' claims cover "a Tx
// begun on the DB" after schema changes too.
// Observed: once an autocommit statement has met the stale plan and been
// rerun, the copy on the pool's other connection (prepared there by an
// earlier transaction) is not prepared again: the next transaction that
// runs the query on that connection gets "cached plan must not change
// result type (SQLSTATE 0A000)", and its transaction is aborted; on a
// plain pool and multiplexed alike (with or without Decoders: this DB has
// none).
func TestOutside18StalePlanInTxAfterRerun(t *testing.T) {
	for _, mux := range []bool{false, true} {
		t.Run(fmt.Sprint("multiplex ", mux), func(t *testing.T) {
			url := pgkittest.URL(t, migrations())
			ctx := context.Background()
			db := open(t, url, pgkit.Config{MaxConns: 2, Multiplex: mux})
			other := open(t, url, pgkit.Config{MaxConns: 1})
			seed(t, other)
			q := ptr.New(db)
			// Both connections of the pool prepare ThingTexts: one in a
			// transaction held open, the other autocommit beside it.
			tx1, err := db.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := q.WithTx(tx1).ThingTexts(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := q.ThingTexts(ctx); err != nil {
				t.Fatal(err)
			}
			if err := tx1.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := other.Exec(ctx, `ALTER TABLE things ALTER t TYPE varchar(100)`); err != nil {
				t.Fatal(err)
			}
			if _, err := q.ThingTexts(ctx); err != nil { // met the stale plan, rerun
				t.Fatalf("autocommit after the change: %v", err)
			}
			// Now both connections, each in a transaction.
			var txs []pgx.Tx
			for range 2 {
				tx, err := db.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback(ctx) }()
				txs = append(txs, tx)
			}
			for i, tx := range txs {
				if _, err := q.WithTx(tx).ThingTexts(ctx); err != nil {
					var pgErr interface{ SQLState() string }
					t.Errorf("transaction %d on the pool's connections after the change: %v (SQLSTATE 0A000: %v)", i, err, errors.As(err, &pgErr) && pgErr.SQLState() == "0A000")
				}
			}
		})
	}
}
