package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// tyMigrations is a schema of the types sqlc projects use and pgx decodes
// only once they are registered on the connection: an enum and its array,
// a domain over text with a CHECK, a composite of them and its array; and
// ty_label, an enum of many labels, for
// TestMultiplexRegisteredTypesConcurrently.
var tyMigrations = fstest.MapFS{
	"00001_types.sql": {Data: []byte(`-- +goose Up
CREATE TYPE ty_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled');
CREATE TYPE ty_label AS ENUM (` + tyLabels() + `);
CREATE DOMAIN ty_sku AS text CONSTRAINT ty_sku_check CHECK (VALUE ~ '^[A-Z]{3}-[0-9]{4}$');
CREATE TYPE ty_line AS (code ty_sku, qty int4, state ty_status);
CREATE TABLE ty_orders (
    id         int8 PRIMARY KEY,
    state      ty_status NOT NULL,
    history    ty_status[] NOT NULL,
    code       ty_sku NOT NULL,
    first_line ty_line,
    lines      ty_line[] NOT NULL,
    meta       jsonb NOT NULL,
    cents      int8 NOT NULL
);

-- +goose Down
DROP TABLE ty_orders;
DROP TYPE ty_line;
DROP DOMAIN ty_sku;
DROP TYPE ty_status;
DROP TYPE ty_label;
`)},
}

// tyLabelCount is how many labels ty_label has: 'l0', 'l1', ….
const tyLabelCount = 2000

func tyLabels() string {
	labels := make([]string, tyLabelCount)
	for i := range labels {
		labels[i] = fmt.Sprintf("'l%d'", i)
	}
	return strings.Join(labels, ", ")
}

// TestAfterConnectErrorFailsConnecting checks that an AfterConnect error
// fails Open (plain and multiplexing) with that error wrapped, naming
// AfterConnect, and without the password even when the error quotes it;
// that AfterConnect runs on every new connection; and that its error on a
// connection opened later fails the query that wanted it, the same way.
func TestAfterConnectErrorFailsConnecting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgkittest.URL(t, tyMigrations)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	// The password is the server's when DATABASE_URL has one; the
	// throwaway server trusts local connections and ignores one made up.
	secret, ok := u.User.Password()
	if !ok || secret == "" {
		secret = "s3cr3t-Pa55word"
		u.User = url.UserPassword(u.User.Username(), secret)
	}
	withSecret := u.String()

	errRefused := errors.New("cannot register the project's types")
	for _, mux := range []bool{false, true} {
		_, err := pgkit.Open(ctx, withSecret, pgkit.Config{Multiplex: mux, AfterConnect: func(ctx context.Context, conn *pgx.Conn) error {
			// A careless error message quoting the connection's settings.
			return errors.Join(errRefused, errors.New("password "+conn.Config().Password))
		}})
		if !errors.Is(err, errRefused) {
			t.Fatalf("multiplex=%v: Open: %v, want the AfterConnect error wrapped", mux, err)
		}
		if msg := err.Error(); !strings.Contains(msg, "AfterConnect") || strings.Contains(msg, secret) {
			t.Errorf("multiplex=%v: Open's error %q: want it to name AfterConnect and not to contain the password", mux, msg)
		}
	}

	// AfterConnect runs on every new connection, after pgkit's own set-up
	// of it (application_name is already the session's).
	var (
		mu        sync.Mutex
		set       = map[uint32]string{} // backend PID → application_name AfterConnect saw
		failAfter = false
	)
	d, err := pgkit.Open(ctx, withSecret, pgkit.Config{MaxConns: 3, ApplicationName: "ty-after", AfterConnect: func(ctx context.Context, conn *pgx.Conn) error {
		var name string
		if err := conn.QueryRow(ctx, "SHOW application_name").Scan(&name); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if failAfter {
			return errors.Join(errRefused, errors.New("password "+conn.Config().Password))
		}
		set[conn.PgConn().PID()] = name
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var held []*pgxpool.Conn
	for range 3 {
		c, err := d.Pool().Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	mu.Lock()
	for _, c := range held {
		if name, ok := set[c.Conn().PgConn().PID()]; !ok || name != "ty-after" {
			t.Errorf("connection %d: AfterConnect ran %v, with application_name %q; want it run after pgkit set ty-after", c.Conn().PgConn().PID(), ok, name)
		}
	}
	// A connection opened after Open fails the query that wanted it, with
	// the password removed there too.
	failAfter = true
	mu.Unlock()
	for _, c := range held {
		c.Hijack().Close(ctx) // gone for good: the pool must open new ones
	}
	_, err = d.Exec(ctx, "SELECT 1")
	if !errors.Is(err, errRefused) || strings.Contains(err.Error(), secret) {
		t.Errorf("a query needing a new connection whose AfterConnect fails: %v, want the AfterConnect error, without the password", err)
	}
}
