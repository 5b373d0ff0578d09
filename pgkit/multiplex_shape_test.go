package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// zcMigrations has a table of no columns.
var zcMigrations = fstest.MapFS{
	"00001_zero_columns.sql": {Data: []byte(`-- +goose Up
CREATE TABLE zc_empty ();

-- +goose Down
DROP TABLE zc_empty;
`)},
}

// zcShape is what a caller can see of a result of no columns.
type zcShape struct {
	Rows, Fields, Values int
	Tag                  string
	ScanErr, Err         string
}

// zcQuery reads sql's rows as a caller would: Next, Scan of no
// destinations, Values.
func zcQuery(ctx context.Context, d *pgkit.DB, sql string, args ...any) (zcShape, error) {
	rows, err := d.Query(ctx, sql, args...)
	if err != nil {
		return zcShape{}, err
	}
	defer rows.Close()
	var s zcShape
	s.Fields = len(rows.FieldDescriptions())
	for rows.Next() {
		s.Rows++
		if err := rows.Scan(); err != nil {
			s.ScanErr = err.Error()
			break
		}
		vals, err := rows.Values()
		if err != nil {
			return s, err
		}
		s.Values += len(vals)
	}
	if err := rows.Err(); err != nil {
		s.Err = err.Error()
	}
	s.Tag = rows.CommandTag().String()
	return s, nil
}

// TestMultiplexZeroColumnRows checks that rows of no columns (SELECT FROM
// …) count on a multiplexing DB as on the pool: Query yields every row,
// QueryRow's Scan of no destinations succeeds on one and reports
// pgerr.ErrNotFound, the same error, when there is none.
func TestMultiplexZeroColumnRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	plain := pgkittest.NewWithConfig(t, zcMigrations, pgkit.Config{MaxConns: 2})
	mx := pgkittest.NewWithConfig(t, zcMigrations, pgkit.Config{MaxConns: 3, Multiplex: true})
	for _, d := range []*pgkit.DB{plain, mx} {
		if _, err := d.Exec(ctx, `INSERT INTO zc_empty SELECT FROM generate_series(1, 3)`); err != nil {
			t.Fatal(err)
		}
	}
	before := mx.MultiplexStats().Statements

	for _, n := range []int{0, 1, 3, 1000} {
		const series = `SELECT FROM generate_series(1, $1::int)`
		want := zcShape{Rows: n, Tag: fmt.Sprintf("SELECT %d", n)}
		for _, d := range []*pgkit.DB{plain, mx} {
			name := fmt.Sprintf("n=%d multiplexed=%v", n, d.Multiplexing())
			got, err := zcQuery(ctx, d, series, n)
			if err != nil || got != want {
				t.Errorf("%s: Query: %+v, %v; want %+v", name, got, err, want)
			}
			tag, err := d.Exec(ctx, series, n)
			if err != nil || tag.String() != want.Tag {
				t.Errorf("%s: Exec: %q, %v; want %q", name, tag, err, want.Tag)
			}
		}

		// QueryRow: the same outcome, the same error text.
		errPlain := plain.QueryRow(ctx, series, n).Scan()
		errMux := mx.QueryRow(ctx, series, n).Scan()
		switch {
		case n == 0 && (!errors.Is(errMux, pgerr.ErrNotFound) || !errors.Is(errPlain, pgerr.ErrNotFound)):
			t.Errorf("n=0: QueryRow().Scan(): multiplexed %v, pool %v; want pgerr.ErrNotFound", errMux, errPlain)
		case n == 0 && errMux.Error() != errPlain.Error():
			t.Errorf("n=0: QueryRow().Scan(): multiplexed %q, pool %q: want the same error", errMux, errPlain)
		case n > 0 && (errMux != nil || errPlain != nil):
			t.Errorf("n=%d: QueryRow().Scan(): multiplexed %v, pool %v; want nil", n, errMux, errPlain)
		}
	}

	// A table of no columns.
	want := zcShape{Rows: 3, Tag: "SELECT 3"}
	for _, d := range []*pgkit.DB{plain, mx} {
		got, err := zcQuery(ctx, d, `SELECT * FROM zc_empty`)
		if err != nil || got != want {
			t.Errorf("multiplexed=%v: SELECT * FROM zc_empty: %+v, %v; want %+v", d.Multiplexing(), got, err, want)
		}
	}
	// Scanning a destination a zero-column row does not have fails alike.
	var x int
	errPlain := plain.QueryRow(ctx, `SELECT FROM zc_empty LIMIT 1`).Scan(&x)
	errMux := mx.QueryRow(ctx, `SELECT FROM zc_empty LIMIT 1`).Scan(&x)
	if errPlain == nil || errMux == nil {
		t.Errorf("QueryRow().Scan(&x) of a zero-column row: multiplexed %v, pool %v; want an error", errMux, errPlain)
	}

	if got := mx.MultiplexStats().Statements - before; got < 14 { // 3 per n, and 2
		t.Errorf("%d statements multiplexed, want every one of the test's", got)
	}
}

// TestMultiplexFromConnectionString: pgkit_multiplex=true in the DSN turns
// it on (and is not sent to the server); beside a transaction pooler it is
// refused with a reason, before any connection is made.
func TestMultiplexFromConnectionString(t *testing.T) {
	t.Parallel()
	url := pgkittest.URL(t, kitdb.Migrations())
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	d, err := pgkit.Open(context.Background(), url+sep+"pgkit_multiplex=true", pgkit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var n int
	if err := d.QueryRow(context.Background(), "SELECT 7").Scan(&n); err != nil || n != 7 || !d.Multiplexing() || d.MultiplexStats().Statements != 1 {
		t.Errorf("pgkit_multiplex=true: %d, %v, multiplexing %v, %+v", n, err, d.Multiplexing(), d.MultiplexStats())
	}
	_, err = pgkit.Open(context.Background(), url+sep+"pgkit_multiplex=true&pgbouncer=true", pgkit.Config{})
	if err == nil || !strings.Contains(err.Error(), "transaction pooler") {
		t.Errorf("multiplexing behind a transaction pooler: %v, want a refusal naming the pooler", err)
	}
	_, err = pgkit.Open(context.Background(), url, pgkit.Config{Multiplex: true, Pooler: pgkit.PoolerTransaction})
	if err == nil || !strings.Contains(err.Error(), "Config.Multiplex") {
		t.Errorf("Config.Multiplex with PoolerTransaction: %v", err)
	}
}
