package pgkit_test

// The stress of pipeline_outside_stress_test.go on every source Pipeline
// takes: pgkit's pool (plain, multiplexed, with a QueryTimeout), a
// *pgxpool.Pool, a *pgx.Conn, a pgx.Tx and WithTx's transaction. After
// every call each connection must be idle, outside a transaction, and
// answer a fresh query with that query's answer (not a result left over).
//
// OUTSIDE_ITERS sets the number of calls per source (default 40).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

var osMarker int64

// checkConn runs a fresh query on c and checks its answer and state.
func checkConn(ctx context.Context, t *testing.T, where string, c *pgx.Conn) {
	t.Helper()
	if c.PgConn().IsBusy() {
		t.Errorf("%s: a connection is still busy", where)
		return
	}
	if st := c.PgConn().TxStatus(); st != 'I' {
		t.Errorf("%s: a connection is in transaction state %q, want idle", where, st)
	}
	osMarker++
	var got int64
	var s string
	if err := c.QueryRow(ctx, "SELECT $1::bigint, current_setting('transaction_isolation')", osMarker).Scan(&got, &s); err != nil {
		t.Errorf("%s: a connection fails a fresh query: %v", where, err)
		return
	}
	if got != osMarker {
		t.Errorf("%s: a connection answered a fresh query with %d, want %d (a result left over?)", where, got, osMarker)
	}
}

// checkPool waits until no connection of p is acquired, then checks every
// idle one.
func checkPool(t *testing.T, where string, p *pgxpool.Pool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for p.Stat().AcquiredConns() > 0 {
		if ctx.Err() != nil {
			t.Errorf("%s: %d connection(s) still acquired 10s after Pipeline returned", where, p.Stat().AcquiredConns())
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, c := range p.AcquireAllIdle(ctx) {
		checkConn(ctx, t, where, c.Conn())
		c.Release()
	}
}

func osDB(t *testing.T, cfg pgkit.Config) *pgkit.DB {
	if cfg.MaxConns == 0 {
		cfg.MaxConns = 4
	}
	return pgkittest.NewWithConfig(t, kitdb.Migrations(), cfg)
}

func dbSource(name string, d *pgkit.DB, timeout bool) osSource {
	return osSource{
		name: name, timeout: timeout,
		run: func(ctx context.Context, fns []func(context.Context, pgkit.DBTX) error) error {
			return pgkit.Pipeline(ctx, d, osID, fns...)
		},
		check: func(t *testing.T, where string) { checkPool(t, where, d.Pool()) },
	}
}

func osIters() int { return osEnvInt("OUTSIDE_ITERS", 40) }

func TestPipelineOutsideStressDB(t *testing.T) {
	osStress(t, dbSource("DB", osDB(t, pgkit.Config{}), false), osIters())
}

func TestPipelineOutsideStressMultiplex(t *testing.T) {
	d := osDB(t, pgkit.Config{Multiplex: true})
	src := dbSource("Multiplex", d, false)
	run := src.run
	// Multiplexed statements run on the pool meanwhile (not during the
	// check: a lane holds its connection until it has been idle a moment).
	src.run = func(ctx context.Context, fns []func(context.Context, pgkit.DBTX) error) error {
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var got int
				if err := d.QueryRow(context.Background(), "SELECT $1::int", i).Scan(&got); err != nil || got != i {
					t.Errorf("multiplexed statement beside Pipeline: %d, %v, want %d", got, err, i)
					return
				}
			}
		}()
		defer func() { close(stop); <-done }()
		return run(ctx, fns)
	}
	osStress(t, src, osIters())
}

func TestPipelineOutsideStressQueryTimeout(t *testing.T) {
	d := osDB(t, pgkit.Config{QueryTimeout: 250 * time.Millisecond})
	osStress(t, dbSource("QueryTimeout", d, true), osIters())
}

func TestPipelineOutsideStressPgxPool(t *testing.T) {
	p, err := pgxpool.New(context.Background(), pgkittest.URL(t, kitdb.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	osStress(t, osSource{
		name: "pgxpool",
		run: func(ctx context.Context, fns []func(context.Context, pgkit.DBTX) error) error {
			return pgkit.Pipeline(ctx, p, osID, fns...)
		},
		check: func(t *testing.T, where string) { checkPool(t, where, p) },
	}, osIters())
}

func TestPipelineOutsideStressPgxConn(t *testing.T) {
	url := pgkittest.URL(t, kitdb.Migrations())
	var c *pgx.Conn
	connect := func() {
		var err error
		if c, err = pgx.Connect(context.Background(), url); err != nil {
			t.Fatal(err)
		}
	}
	connect()
	t.Cleanup(func() { c.Close(context.Background()) })
	osStress(t, osSource{
		name: "pgx.Conn",
		run: func(ctx context.Context, fns []func(context.Context, pgkit.DBTX) error) error {
			return pgkit.Pipeline(ctx, c, osID, fns...)
		},
		check: func(t *testing.T, where string) {
			// pgx closes a connection whose statement's context ended.
			if c.IsClosed() {
				connect()
				return
			}
			checkConn(context.Background(), t, where, c)
		},
	}, osIters())
}

// txSource runs each Pipeline in a transaction begun on d (pgx.Tx), and
// then, when it succeeded, a statement of the transaction's own and a
// commit.
func txSource(name string, d *pgkit.DB) osSource {
	return osSource{
		name: name,
		run: func(ctx context.Context, fns []func(context.Context, pgkit.DBTX) error) error {
			tx, err := d.Begin(context.Background())
			if err != nil {
				return err
			}
			defer tx.Rollback(context.Background())
			if err := pgkit.Pipeline(ctx, tx, osID, fns...); err != nil {
				return err
			}
			var got int
			if err := tx.QueryRow(context.Background(), "SELECT 4242").Scan(&got); err != nil || got != 4242 {
				return fmt.Errorf("the transaction after Pipeline: %d, %w", got, err)
			}
			return tx.Commit(context.Background())
		},
		check: func(t *testing.T, where string) { checkPool(t, where, d.Pool()) },
	}
}

func TestPipelineOutsideStressPgxTx(t *testing.T) {
	osStress(t, txSource("pgx.Tx", osDB(t, pgkit.Config{})), osIters())
}

func TestPipelineOutsideStressWithTx(t *testing.T) {
	d := osDB(t, pgkit.Config{})
	osStress(t, osSource{
		name: "WithTx", noGoexit0: true,
		run: func(ctx context.Context, fns []func(context.Context, pgkit.DBTX) error) error {
			return pgkit.WithTx(ctx, d, osID, func(q pgkit.DBTX) error { return pgkit.Pipeline(ctx, q, osID, fns...) })
		},
		check: func(t *testing.T, where string) { checkPool(t, where, d.Pool()) },
	}, osIters())
}
