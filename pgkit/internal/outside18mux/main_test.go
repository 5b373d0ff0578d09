package outside18mux_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nullptr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

const schema = `CREATE TABLE profiles (
    id       bigserial PRIMARY KEY,
    handle   text NOT NULL,
    nickname text,
    age      integer,
    visits   bigint,
    active   boolean,
    rating   double precision,
    balance  numeric,
    seen_at  timestamptz,
    born     date,
    token    uuid,
    avatar   bytea,
    prefs    jsonb
)`

// dbs is a multiplexing DB on one lane (so every result shares its slabs)
// and a plain pool, over a fresh database holding nullptr's schema. With
// decoders, the mux DB has nullptr.Decoders().
func dbs(t *testing.T, decoders bool) (mux, plain *pgkit.DB) {
	t.Helper()
	url := pgkittest.EmptyURL(t)
	open := func(cfg pgkit.Config) *pgkit.DB {
		d, err := pgkit.Open(context.Background(), url, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		return d
	}
	cfg := pgkit.Config{MaxConns: 2, MultiplexConns: 1, Multiplex: true, ApplicationName: "out18mux", AcquireTimeout: time.Minute}
	if decoders {
		cfg.Decoders = nullptr.Decoders()
	}
	plain = open(pgkit.Config{MaxConns: 4, ApplicationName: "out18plain"})
	if _, err := plain.Exec(context.Background(), schema); err != nil {
		t.Fatal(err)
	}
	mux = open(cfg)
	if !mux.Multiplexing() {
		t.Fatal("not multiplexing")
	}
	return mux, plain
}

// withDecoders runs f with and without Config.Decoders.
func withDecoders(t *testing.T, f func(t *testing.T, mux, plain *pgkit.DB)) {
	for _, dec := range []bool{false, true} {
		name := "NoDecoders"
		if dec {
			name = "Decoders"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mux, plain := dbs(t, dec)
			f(t, mux, plain)
		})
	}
}
