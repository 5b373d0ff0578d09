package pgkit_test

// An outside look at issue 15: autocommit statements whose answer was
// lost. The README's table: "an autocommit write … sent and not answered:
// pgerr.ErrCommitUnknown (also ErrConnectionLost); a write that never
// left is only ErrConnectionLost (safe to retry)".

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// TestOutsideAutocommitFunctionWriteLostIsUnknown: a write done by a
// function the statement calls (SELECT f($1)) was sent, ran and
// committed, and its answer was lost. Through Exec, which is taken to
// write whatever its SQL says, the error matches ErrCommitUnknown (it was
// only ErrConnectionLost: autocommitOutcome trusted sqllex.ReadOnly,
// which takes every unknown function for a read). Through QueryRow such a
// SELECT is taken for a read, as Replicated takes it (README: call a
// function that writes with Exec or in a transaction): logged, not
// asserted.
func TestOutsideAutocommitFunctionWriteLostIsUnknown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clean, dsn, p := commitSetup(t)
	if _, err := clean.Exec(ctx, `CREATE FUNCTION outside_write(tok text) RETURNS text LANGUAGE plpgsql AS $$
		BEGIN
			INSERT INTO retry_writes (token) VALUES (tok);
			PERFORM pg_sleep(1.5);
			RETURN tok;
		END $$`); err != nil {
		t.Fatal(err)
	}
	const app = "outside-autocommit-fn"
	d := openT(t, dsn, pgkit.Config{MaxConns: 3, ApplicationName: app})
	for name, write := range map[string]func(token string) error{
		"Exec": func(token string) error {
			_, err := d.Exec(ctx, `SELECT outside_write($1)`, token)
			return err
		},
		"QueryRow": func(token string) error {
			var got string
			return d.QueryRow(ctx, `SELECT outside_write($1)`, token).Scan(&got)
		},
	} {
		token := "fn-" + name
		waitQuiet(t, ctx, clean, app)
		done := make(chan error, 1)
		go func() { _, err := resetWhenRunning(ctx, clean, p, app, "select outside_write%"); done <- err }()
		err := write(token)
		if rerr := <-done; rerr != nil {
			t.Fatalf("reset: %v", rerr)
		}
		waitQuiet(t, ctx, clean, app)
		n := countToken(t, clean, token)
		t.Logf("%s: %v (ErrConnectionLost %v, ErrCommitUnknown %v); %d rows", name, err, errors.Is(err, pgerr.ErrConnectionLost), pgerr.IsCommitUnknown(err), n)
		if name == "Exec" && n == 1 && !pgerr.IsCommitUnknown(err) {
			t.Errorf("%s: the write committed and its answer was lost, yet the error %v does not match ErrCommitUnknown", name, err)
		}
	}
}
