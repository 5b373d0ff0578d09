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
// function the statement calls (SELECT f($1), the usual way to call a
// stored procedure-like function, also through a generated :one or
// :exec) was sent, ran and committed, and its answer was lost. On main
// its error is only ErrConnectionLost, which the README says means "never
// left, safe to retry": autocommitOutcome trusts sqllex.ReadOnly, which
// takes every unknown function for a read. (sqllex's own doc says to run
// such a call with Exec; Exec gets the same answer.)
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
		if n == 1 && !pgerr.IsCommitUnknown(err) {
			t.Errorf("%s: the write committed and its answer was lost, yet the error %v does not match ErrCommitUnknown", name, err)
		}
	}
}
