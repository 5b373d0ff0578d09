package outside18_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/outside18/ptr"
	"github.com/shopdb/shopdb/pgkit/internal/outside18/val"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// pair opens the DB without and with Decoders on url.
func pair(t *testing.T, url string, cfg pgkit.Config) (plain, dec *pgkit.DB) {
	plain = open(t, url, cfg)
	cfg.Decoders = ptr.Decoders()
	return plain, open(t, url, cfg)
}

func same(t *testing.T, what string, plain, dec *pgkit.DB, cs []call, txs ...bool) {
	t.Helper()
	if len(txs) == 0 {
		txs = []bool{false, true}
	}
	for _, tx := range txs {
		want := runAll(t, plain, tx, cs)
		got := runAll(t, dec, tx, cs)
		for i := range cs {
			if got[i].String() != want[i].String() {
				t.Errorf("%s: %s (tx %v): with Decoders\n\t%v\nwithout\n\t%v", what, cs[i].name, tx, got[i], want[i])
			}
		}
	}
}

// Columns whose type changed after generation (the plans cached before),
// and a NULL where sqlc generated a non-pointer; 0 rows.
func TestOutside18DecodersSchemaChanged(t *testing.T) {
	for _, mux := range []bool{false, true} {
		t.Run(fmt.Sprint("multiplex ", mux), func(t *testing.T) {
			url := pgkittest.URL(t, migrations())
			plain, dec := pair(t, url, pgkit.Config{MaxConns: 4, Multiplex: mux})
			cs := calls([]int64{1, 2, 3})
			same(t, "no rows", plain, dec, cs)
			seed(t, plain)
			cs = calls(ids(t, plain))
			same(t, "before", plain, dec, cs)
			for _, s := range []string{
				`ALTER TABLE strict ALTER i4 TYPE bigint, ALTER t DROP NOT NULL, ALTER ts TYPE timestamp, ALTER a4 TYPE bigint[], ALTER u TYPE text, ALTER by TYPE text, ALTER b TYPE int USING b::int, ALTER f8 TYPE numeric`,
				`INSERT INTO strict (i4, i8, t, by, ts, u, b, f8, d, a4, at, jb) VALUES (5000000000, 1, NULL, 'x', '2020-01-01', 'not a uuid', 2, 1.25, '2020-01-01', '{5000000000}', '{a}', '{}')`,
				`ALTER TABLE things ALTER i2 TYPE int, ALTER t TYPE citext, ALTER ts TYPE date, ALTER at TYPE varchar[], ALTER vc TYPE text, ALTER nm TYPE text`,
			} {
				if _, err := plain.Exec(context.Background(), s); err != nil {
					t.Fatal(err)
				}
			}
			cs = calls(ids(t, plain))
			same(t, "after, autocommit", plain, dec, cs, false)
			// A transaction on a connection whose copy of a statement is
			// stale fails with 0A000, decoders or not (see
			// TestOutside18StalePlanInTxAfterRerun): fresh connections.
			plain.Pool().Reset()
			dec.Pool().Reset()
			same(t, "after, in transactions", plain, dec, cs, true)
		})
	}
}

// A caller that runs a generated query's SQL itself and scans its rows
// into destinations of other types.
func TestOutside18DecodersOtherDestinations(t *testing.T) {
	url := pgkittest.URL(t, migrations())
	for _, mux := range []bool{false, true} {
		plain, dec := pair(t, url, pgkit.Config{MaxConns: 4, Multiplex: mux})
		if !mux {
			seed(t, plain)
		}
		scanWith := func(db *pgkit.DB, mk func(n int) []any) string {
			rows, err := db.Query(context.Background(), val.ThingList)
			if err != nil {
				return "query: " + err.Error()
			}
			defer rows.Close()
			var b strings.Builder
			for rows.Next() {
				dest := mk(len(rows.FieldDescriptions()))
				if err := rows.Scan(dest...); err != nil {
					fmt.Fprintf(&b, "scan: %v;", err)
					continue
				}
				b.WriteString(canon(dest))
			}
			fmt.Fprintf(&b, "err: %v", rows.Err())
			return b.String()
		}
		for name, mk := range map[string]func(n int) []any{
			"any": func(n int) []any {
				d := make([]any, n)
				for i := range d {
					d[i] = new(any)
				}
				return d
			},
			"strings": func(n int) []any {
				d := make([]any, n)
				for i := range d {
					d[i] = new(*string)
				}
				return d
			},
			"wider": func(n int) []any {
				var i Wide
				return []any{&i.ID, &i.I2, &i.I4, &i.I8, &i.F4, &i.F8, &i.B, &i.T, &i.Vc, &i.Bp, &i.Nm, &i.Qc, &i.Ci, &i.By, &i.Ts, &i.Tsn, &i.D, &i.U, &i.J, &i.Jb, &i.N, &i.M, &i.Ip, &i.Iv, &i.R, &i.A4, &i.A8, &i.At, &i.Ab, &i.Af, &i.Md, &i.Dm, &i.De, &i.O}
			},
			"skip some": func(n int) []any {
				var i ptr.Thing
				return []any{&i.ID, nil, &i.I4, nil, &i.F4, &i.F8, &i.B, &i.T, &i.Vc, &i.Bp, &i.Nm, &i.Qc, &i.Ci, &i.By, &i.Ts, &i.Tsn, &i.D, &i.U, &i.J, &i.Jb, &i.N, &i.M, &i.Ip, &i.Iv, &i.R, &i.A4, &i.A8, &i.At, &i.Ab, &i.Af, &i.Md, &i.Dm, &i.De, &i.O}
			},
		} {
			if got, want := scanWith(dec, mk), scanWith(plain, mk); got != want {
				t.Errorf("multiplex %v, %s: with Decoders\n\t%s\nwithout\n\t%s", mux, name, got, want)
			}
		}
	}
}

// Wide is ptr.Thing with wider or looser Go types.
type Wide struct {
	ID            float64
	I2, I4        int64
	I8            *float64
	F4            *float64
	F8            any
	B             *string
	T, Vc, Bp, Nm *[]byte
	Qc            any
	Ci            *string
	By            *string
	Ts, Tsn, D    any
	U             *string
	J, Jb         *string
	N, M          *string
	Ip            *string
	Iv, R         *string
	A4            []int64
	A8            []*int64
	At            []*string
	Ab            [][]bool
	Af            []float32
	Md, Dm, De    *string
	O             *int64
}

// Strings of earlier rows never change, whatever is read afterwards.
func TestOutside18DecodersKeptStrings(t *testing.T) {
	url := pgkittest.URL(t, migrations())
	for _, mux := range []bool{false, true} {
		_, dec := pair(t, url, pgkit.Config{MaxConns: 4, Multiplex: mux})
		ctx := context.Background()
		if !mux {
			for k := range 300 {
				if _, err := dec.Exec(ctx, `INSERT INTO things (t, vc, at) VALUES ($1, $2, $3)`, strings.Repeat(string(rune('a'+k%26)), k%40+1), fmt.Sprint("v", k), []string{fmt.Sprint(k), "z"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		type kept struct{ s, copy string }
		var all []kept
		for round := range 5 {
			list, err := ptr.New(dec).ThingList(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range list {
				for _, p := range []*string{r.T, r.Vc} {
					if p != nil {
						all = append(all, kept{*p, strings.Clone(*p)})
					}
				}
				for _, s := range r.At {
					all = append(all, kept{s, strings.Clone(s)})
				}
			}
			texts, err := val.New(dec).ThingTexts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range texts {
				all = append(all, kept{x.String, strings.Clone(x.String)})
			}
			if _, err := dec.Exec(ctx, `UPDATE things SET t = upper(t), vc = vc || $1::text`, fmt.Sprint(round)); err != nil {
				t.Fatal(err)
			}
			runtime.GC()
		}
		for i, k := range all {
			if k.s != k.copy {
				t.Fatalf("multiplex %v: string %d changed from %q to %q", mux, i, k.copy, k.s)
			}
		}
	}
}

// 64 MB values (text and bytea) through Decoders, as pgx gives them.
func TestOutside18Decoders64MB(t *testing.T) {
	url := pgkittest.URL(t, migrations())
	plain, dec := pair(t, url, pgkit.Config{MaxConns: 4})
	ctx := context.Background()
	if _, err := plain.Exec(ctx, `INSERT INTO things (t, by) VALUES (repeat('x', 64<<20), convert_to(repeat('y', 64<<20), 'UTF8'))`); err != nil {
		t.Fatal(err)
	}
	id := ids(t, plain)[0]
	a, errA := ptr.New(plain).ThingGet(ctx, id)
	b, errB := ptr.New(dec).ThingGet(ctx, id)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if *a.T != *b.T || string(a.By) != string(b.By) || len(*b.T) != 64<<20 {
		t.Fatalf("64 MB values differ: %d/%d bytes of text, %d/%d of bytea", len(*b.T), len(*a.T), len(b.By), len(a.By))
	}
}
