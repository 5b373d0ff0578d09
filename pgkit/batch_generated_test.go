package pgkit_test

import (
	"errors"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestGeneratedBatch runs pgkitgen's Batch (of kitdb, a package that is
// not the shop's) on a DB, a multiplexed DB, in WithTx, and on a raw pgx
// connection: every kind it queues (:one, :many, :exec, :execrows)
// answers into its own destination; a failing statement is the error of
// Send, typed and named, later destinations untouched, and (outside a
// transaction) the batch's earlier writes rolled back with it.
func TestGeneratedBatch(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pooled := pgkittest.New(t, kitdb.Migrations())
	mux := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{Multiplex: true, MaxConns: 2})
	raw := pgkittest.New(t, kitdb.Migrations())
	conn, err := raw.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	type source struct {
		db   kitdb.DBTX
		tx   bool
		seen func() *kitdb.Queries // reads outside the batch
	}
	sources := map[string]func(fn func(s source)){
		"DB":        func(fn func(source)) { fn(source{pooled, false, func() *kitdb.Queries { return kitdb.New(pooled) }}) },
		"Multiplex": func(fn func(source)) { fn(source{mux, false, func() *kitdb.Queries { return kitdb.New(mux) }}) },
		"pgx conn":  func(fn func(source)) { fn(source{conn.Conn(), false, func() *kitdb.Queries { return kitdb.New(raw) }}) },
		"WithTx": func(fn func(source)) {
			err := pgkit.WithTx(ctx, pooled, kitdb.New, func(q *kitdb.Queries) error {
				fn(source{q.DB(), true, func() *kitdb.Queries { return q }})
				return errors.New("roll back") // keep the next run's database as it was
			})
			if err == nil || err.Error() != "roll back" {
				t.Errorf("WithTx: %v", err)
			}
		},
	}
	for name, run := range sources {
		t.Run(name, func(t *testing.T) {
			run(func(s source) {
				var b kitdb.Batch
				var acct kitdb.Account
				var proj kitdb.Project
				b.AccountCreate(&acct, kitdb.AccountCreateParams{Name: "B " + name, Team: "batch"})
				b.ProjectCreate(&proj, kitdb.ProjectCreateParams{Slug: "batch-" + name, Name: "B", RateCents: 1, Credits: 3})
				if err := b.Send(ctx, s.db); err != nil {
					t.Fatalf("Send: %v", err)
				}
				if acct.AccountID == 0 || acct.Name != "B "+name || proj.ProjectID == 0 || proj.Credits != 3 {
					t.Fatalf("created %+v, %+v", acct, proj)
				}

				b = kitdb.Batch{}
				var got kitdb.Project
				var accounts []kitdb.Account
				var spent, moved int64
				email := "b-" + name + "@example.com"
				b.ProjectGetByID(&got, proj.ProjectID)
				b.ProjectSpendCredits(&spent, kitdb.ProjectSpendCreditsParams{ProjectIds: []int64{proj.ProjectID}, Amounts: []int32{2}})
				b.AccountUpdateEmail(&moved, kitdb.AccountUpdateEmailParams{Email: &email, AccountID: acct.AccountID})
				b.AccountList(&accounts, kitdb.AccountListParams{Max: 1000})
				b.NoteDelete(-1)
				if err := b.Send(ctx, s.db); err != nil {
					t.Fatalf("Send: %v", err)
				}
				if got != proj || spent != 1 || moved != 1 || len(accounts) == 0 || accounts[len(accounts)-1].AccountID != acct.AccountID {
					t.Fatalf("answers: %+v (want %+v), spent %d, moved %d, %d accounts", got, proj, spent, moved, len(accounts))
				}
				if accounts[len(accounts)-1].Email == nil || *accounts[len(accounts)-1].Email != email {
					t.Fatalf("the list after the update in the same batch: %+v", accounts[len(accounts)-1])
				}

				// A :one without a row: ErrNotFound; the destinations after
				// it untouched.
				b = kitdb.Batch{}
				var none kitdb.Project
				var after kitdb.Project
				b.ProjectGetByID(&none, -1)
				b.ProjectGetByID(&after, proj.ProjectID)
				if err := b.Send(ctx, s.db); !errors.Is(err, pgerr.ErrNotFound) || after.ProjectID != 0 {
					t.Fatalf("no row: %v, the next destination %+v", err, after)
				}

				if s.tx {
					return // a failure aborts the transaction: done with it
				}
				// A constraint failure after a write: Send's error typed and
				// named; the write rolled back with the batch.
				b = kitdb.Batch{}
				var dup kitdb.Account
				b.ProjectSpendCredits(&spent, kitdb.ProjectSpendCreditsParams{ProjectIds: []int64{proj.ProjectID}, Amounts: []int32{1}})
				b.ProjectCreate(&got, kitdb.ProjectCreateParams{Slug: "batch-" + name, Name: "again", RateCents: 1})
				b.AccountCreate(&dup, kitdb.AccountCreateParams{Name: "never", Team: "batch"})
				err := b.Send(ctx, s.db)
				if ce, ok := pgerr.AsConstraint(err); !ok || ce.Kind != pgerr.ConstraintUnique {
					t.Fatalf("duplicate slug: %v, want a unique violation", err)
				}
				if dup.AccountID != 0 {
					t.Fatalf("the destination after the failure was written: %+v", dup)
				}
				left, err := s.seen().ProjectGetByID(ctx, proj.ProjectID)
				if err != nil || left.Credits != 1 {
					t.Fatalf("after the failed batch: %v, %d credits left, want 1 (the batch's spend rolled back)", err, left.Credits)
				}

				// An empty batch sends nothing and succeeds.
				if err := (&kitdb.Batch{}).Send(ctx, s.db); err != nil {
					t.Fatalf("empty batch: %v", err)
				}
			})
		})
	}
}
