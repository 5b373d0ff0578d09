package pgkit_test

import (
	"context"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// primaryBenchDSNs are a fresh database's connection string, plain and
// meant for the primary.
func primaryBenchDSNs(b *testing.B) []struct{ name, dsn string } {
	url := pgkittest.EmptyURL(b)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return []struct{ name, dsn string }{{"DB", url}, {"DB-read-write", url + sep + "target_session_attrs=read-write"}}
}

// BenchmarkAcquireRelease is what an acquire costs without the round
// trip: the acquire timeout, the reconnect gate (one atomic load while
// nothing fails), pgxpool, pgkit's liveness peek and, meant for the
// primary, the role check of the server's reports; beside the bare
// pgxpool's Acquire and Release of the same pool, and, as a request's
// is, with a cancellable context.
func BenchmarkAcquireRelease(b *testing.B) {
	ctx := context.Background()
	for _, bc := range primaryBenchDSNs(b) {
		d, err := pgkit.Open(ctx, bc.dsn, pgkit.Config{MaxConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(d.Close)
		if bc.name == "DB" {
			b.Run("pgxpool", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					c, err := d.Pool().Acquire(ctx)
					if err != nil {
						b.Fatal(err)
					}
					c.Release()
				}
			})
			b.Run("DB-cancellable", func(b *testing.B) {
				rctx, cancel := context.WithCancel(ctx)
				defer cancel()
				b.ReportAllocs()
				for b.Loop() {
					if err := d.AcquireReleaseForTest(rctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := d.AcquireReleaseForTest(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"-parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := d.AcquireReleaseForTest(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkAcquireHooks isolates what this package adds to an acquire of
// an idle connection, in nanoseconds: the hooks pgxpool calls (the
// liveness peek, a system call; for a pool meant for the primary also
// the role check of the server's reports), and the reconnect gate's pass
// while nothing fails.
func BenchmarkAcquireHooks(b *testing.B) {
	ctx := context.Background()
	for _, bc := range primaryBenchDSNs(b) {
		d, err := pgkit.Open(ctx, bc.dsn, pgkit.Config{MaxConns: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(d.Close)
		b.Run(bc.name+"-hooks", func(b *testing.B) {
			c, err := d.Pool().Acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Release()
			b.ReportAllocs()
			for b.Loop() {
				if !d.AcquireHooksForTest(ctx, c) {
					b.Fatal("the connection would not be handed out")
				}
			}
		})
		if bc.name == "DB" {
			b.Run("gate", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if err := d.GatePassForTest(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPooledSelect1 is the healthy path of an acquire: a pooled
// SELECT 1 through *pgkit.DB on a plain DSN, on one meant for the primary
// (target_session_attrs=read-write: each acquire checks the server's
// reported role, and waits behind the reconnect gate only once connecting
// failed), and on the bare pgxpool; one goroutine, and in parallel.
func BenchmarkPooledSelect1(b *testing.B) {
	ctx := context.Background()
	for _, bc := range primaryBenchDSNs(b) {
		d, err := pgkit.Open(ctx, bc.dsn, pgkit.Config{MaxConns: 4})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(d.Close)
		for _, q := range []struct {
			name string
			db   pgkit.DBTX
		}{{bc.name, d}, {bc.name + "-pgxpool", d.Pool()}} {
			if bc.name != "DB" && q.db != pgkit.DBTX(d) {
				continue // the bare pool has no role check: once is enough
			}
			b.Run(q.name, func(b *testing.B) {
				b.ReportAllocs()
				var n int
				for b.Loop() {
					if err := q.db.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(q.name+"-parallel", func(b *testing.B) {
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					var n int
					for pb.Next() {
						if err := q.db.QueryRow(ctx, "SELECT 1").Scan(&n); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
		}
	}
}
