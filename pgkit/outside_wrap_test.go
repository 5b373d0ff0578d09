package pgkit_test

// An outside look at issue 15 (failover without ambiguity): transactions
// run on what pgkit.Wrap made of a pool, connection or transaction of
// the caller's own. Each test here failed on main when it was written;
// see the report of branch h15-outside.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// rawPoolT is a plain pgxpool on dsn with application_name app, closed at
// the test's end.
func rawPoolT(t *testing.T, dsn, app string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 3
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestOutsideWrapPoolLostCommitNotRunAgain: WithTx on pgkit.Wrap(pool), a
// pgxpool of the caller's own, whose COMMIT reached the server (it
// commits there) and whose answer was lost. pgkit cannot look the outcome
// up on such a pool, so the promise is ErrCommitUnknown and fn not run
// again (Tx.Commit's doc: "one matching pgerr.ErrCommitUnknown when that
// cannot be told"). On main the transaction Wrap's Begin returns is not
// marked as the outermost one, its lost COMMIT is a plain
// ErrConnectionLost, and WithTx runs fn again: the row is stored twice.
func TestOutsideWrapPoolLostCommitNotRunAgain(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := commitSetup(t)
	const app = "outside-wrap-pool"
	src := pgkit.Wrap(rawPoolT(t, dsn, app))
	token := "slow-outside-wrap"
	waitQuiet(t, ctx, clean, app)
	done := make(chan error, 1)
	go func() { _, err := resetWhenCommitting(ctx, clean, p, app); done <- err }()
	var runs atomic.Int32
	err := pgkit.WithTx(ctx, src, func(x pgkit.DBTX) pgkit.DBTX { return x }, func(tx pgkit.DBTX) error {
		runs.Add(1)
		_, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token)
		return err
	})
	if rerr := <-done; rerr != nil {
		t.Fatalf("reset: %v", rerr)
	}
	waitQuiet(t, ctx, clean, app)
	n := countToken(t, clean, token)
	t.Logf("WithTx = %v; fn ran %d times; %d rows", err, runs.Load(), n)
	if n > 1 || runs.Load() > 1 {
		t.Errorf("fn ran %d times and stored %d rows after its COMMIT's answer was lost: a committed transaction was run again", runs.Load(), n)
	}
	if n == 1 && err != nil && !pgerr.IsCommitUnknown(err) {
		t.Errorf("WithTx = %v, which does not match ErrCommitUnknown, yet the transaction committed", err)
	}
}

// TestOutsideWrapTxLostCommitIsUnknown: Commit of a *pgkit.Tx that Wrap
// made of a pgx.Tx the caller began on a connection of its own; the
// COMMIT committed on the server and its answer was lost. Tx.Commit's doc
// says such a transaction always gets an error matching
// ErrCommitUnknown then; on main it gets a plain ErrConnectionLost, which
// the README's table reads as "never left, safe to retry".
func TestOutsideWrapTxLostCommitIsUnknown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := commitSetup(t)
	const app = "outside-wrap-tx"
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cc.RuntimeParams["application_name"] = app
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	raw, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx := pgkit.Wrap(raw).(pgx.Tx)
	token := "slow-outside-wrap-tx"
	if _, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, token); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := resetWhenCommitting(ctx, clean, p, app); done <- err }()
	err = tx.Commit(ctx)
	if rerr := <-done; rerr != nil {
		t.Fatalf("reset: %v", rerr)
	}
	waitQuiet(t, ctx, clean, app)
	n := countToken(t, clean, token)
	t.Logf("Commit = %v; %d rows", err, n)
	if n == 1 && (err != nil && !pgerr.IsCommitUnknown(err)) {
		t.Errorf("Commit = %v: matches ErrConnectionLost %v, ErrCommitUnknown %v; the transaction committed, so the error must match ErrCommitUnknown",
			err, errors.Is(err, pgerr.ErrConnectionLost), pgerr.IsCommitUnknown(err))
	}
}

// TestOutsideWrapPoolKeepsTxOptions: WithTxOptions on pgkit.Wrap(pool)
// runs fn with the options asked for. On main Wrap's Source has Begin but
// no BeginTx, and begin() then calls Begin: ReadOnly and IsoLevel are
// dropped without a word (a ReadOnly transaction writes, a Serializable
// one runs at read committed).
func TestOutsideWrapPoolKeepsTxOptions(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, _ := retrySetup(t)
	_ = clean
	for name, src := range map[string]pgkit.Source{
		"Wrap(pgxpool)": pgkit.Wrap(rawPoolT(t, dsn, "outside-wrap-opts")),
		"pgxpool":       rawPoolT(t, dsn, "outside-raw-opts"),
	} {
		t.Run(name, func(t *testing.T) {
			var iso, ro string
			err := pgkit.WithTxOptions(ctx, src, func(x pgkit.DBTX) pgkit.DBTX { return x },
				pgkit.TxOptions{IsoLevel: pgx.Serializable, ReadOnly: true}, func(tx pgkit.DBTX) error {
					return tx.QueryRow(ctx, `SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')`).Scan(&iso, &ro)
				})
			if err != nil {
				t.Fatal(err)
			}
			if iso != "serializable" || ro != "on" {
				t.Errorf("the transaction ran at %s, read-only %s: want serializable, read-only on", iso, ro)
			}
			err = pgkit.WithTxOptions(ctx, src, func(x pgkit.DBTX) pgkit.DBTX { return x },
				pgkit.TxOptions{ReadOnly: true}, func(tx pgkit.DBTX) error {
					_, err := tx.Exec(ctx, `INSERT INTO retry_writes (token) VALUES ($1)`, fmt.Sprint("ro-", name))
					return err
				})
			if pgerr.SQLState(err) != "25006" {
				t.Errorf("a ReadOnly transaction's write: %v, want SQLSTATE 25006", err)
			}
		})
	}
}
