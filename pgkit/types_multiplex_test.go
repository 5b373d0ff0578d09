package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// TestMultiplexRegisteredTypesConcurrently decodes enum labels from many
// goroutines at once on a multiplexing DB, each label for the first time
// (pgx's enum codec remembers the labels it has seen: it is not safe for
// concurrent use), in arrays (in binary format: their elements are
// decoded by the enum codec) and through Values, while transactions decode
// them on pooled connections, which the lanes use too. Run with -race, it
// shows a codec shared between goroutines.
func TestMultiplexRegisteredTypesConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := tyOpen(t, true)
	const goroutines = 16
	start := make(chan struct{})
	errs := make(chan error, goroutines)
	for g := range goroutines {
		go func() {
			<-start
			for i := g; i < tyLabelCount; i += goroutines {
				const sql = `SELECT ARRAY[$1::ty_label], ARRAY['paid'::ty_status]`
				label := fmt.Sprintf("l%d", i)
				var got, status []string
				var vals []any
				var err error
				if i%7 == 0 {
					err = pgkit.WithTx(ctx, d, newTyQueries, func(q *tyQueries) error {
						return q.db.QueryRow(ctx, sql, label).Scan(&got, &status)
					})
				} else {
					err = d.QueryRow(ctx, sql, label).Scan(&got, &status)
				}
				if err == nil && i%3 == 0 {
					vals, err = tyValues(ctx, d, sql, label)
				}
				if err == nil && (!slices.Equal(got, []string{label}) || !slices.Equal(status, []string{"paid"})) {
					err = fmt.Errorf("got %q, %q; want [%s], [paid]", got, status, label)
				}
				if want := []any{[]any{label}, []any{"paid"}}; err == nil && vals != nil && !reflect.DeepEqual(vals, want) {
					err = fmt.Errorf("Values: %#v, want %#v", vals, want)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	close(start)
	for range goroutines {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// tyValues is the Values of sql's first row.
func tyValues(ctx context.Context, d *pgkit.DB, sql string, args ...any) ([]any, error) {
	rows, err := d.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, errors.New("no row")
	}
	return rows.Values()
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
