package pgslog_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5/multitracer"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgslog"
)

// Log queries with slog, next to any other tracer. For OpenTelemetry, add
// github.com/exaring/otelpgx's tracer the same way:
//
//	multitracer.New(pgslog.NewTracer(logger, cfg), otelpgx.NewTracer())
func ExampleNewTracer() {
	var level slog.LevelVar
	level.Set(slog.LevelInfo) // quiet while the example database is filled
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: &level,
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { // keep the output stable
			if a.Key == slog.TimeKey || a.Key == "duration" {
				return slog.Attr{}
			}
			return a
		},
	}))
	tracer := pgslog.NewTracer(logger, pgslog.Config{})
	d, projectID, _, done := kittest.ExampleDB(pgkit.Config{Tracer: multitracer.New(tracer)})
	defer done()
	level.Set(slog.LevelDebug)

	_, _ = kitdb.New(d).ProjectGetByID(context.Background(), projectID)
	// Output: level=DEBUG msg=query query=ProjectGetByID rows=1
}
