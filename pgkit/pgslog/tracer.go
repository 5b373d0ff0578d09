// Package pgslog logs pgx queries to log/slog: a pgx tracer, shaped like
// OpenTelemetry's otelpgx, that writes one record per query, batch query and
// COPY with the sqlc query name, duration, rows, SQLSTATE and an error text
// free of values. It never logs literals or arguments unless asked.
package pgslog

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// Config tunes NewTracer. The zero value logs every query at Debug,
// queries slower than 500ms at Warn, failures at Error, and no arguments.
type Config struct {
	// Level of a query that is neither slow nor failed, e.g. slog.LevelInfo.
	// Default (nil): Debug.
	Level slog.Leveler
	// SlowThreshold raises a query to Warn when it takes at least this long.
	// Default: 500ms; negative: never.
	SlowThreshold time.Duration
	// LogArgs adds the query arguments, and for SQL without a sqlc name the
	// statement as written, literals included. They can hold personal data
	// and secrets: leave it off in production. Default: off, and unnamed SQL
	// is logged normalized (every literal replaced by "?", see Normalize).
	LogArgs bool
}

// DefaultSlowThreshold is Config.SlowThreshold's default.
const DefaultSlowThreshold = 500 * time.Millisecond

// Tracer logs every query, batch query and COPY of a pool to a log/slog
// logger, with the sqlc query name (from the "-- name:" line), duration,
// rows affected and, on failure, SQLSTATE and an error text free of
// argument values. SQL without a name is logged normalized, never with its
// literals. Set it as pgkit.Config.Tracer (or pgx.ConnConfig.Tracer); to add
// more tracers, such as OpenTelemetry's, combine them with pgx's
// multitracer:
//
//	cfg.Tracer = multitracer.New(pgslog.NewTracer(logger, pgslog.Config{}), otelpgx.NewTracer())
type Tracer struct {
	log *slog.Logger
	cfg Config
}

var (
	_ pgx.QueryTracer    = (*Tracer)(nil)
	_ pgx.BatchTracer    = (*Tracer)(nil)
	_ pgx.CopyFromTracer = (*Tracer)(nil)
)

// NewTracer returns a tracer writing to logger (slog.Default() when nil).
func NewTracer(logger *slog.Logger, cfg Config) *Tracer {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Level == nil {
		cfg.Level = slog.LevelDebug
	}
	if cfg.SlowThreshold == 0 {
		cfg.SlowThreshold = DefaultSlowThreshold
	}
	return &Tracer{log: logger, cfg: cfg}
}

// traceKey is the context key of the span a Trace…Start opened.
type traceKey struct{}

type traceSpan struct {
	start time.Time
	sql   string
	args  []any
}

func (t *Tracer) begin(ctx context.Context, sql string, args []any) context.Context {
	return context.WithValue(ctx, traceKey{}, &traceSpan{start: time.Now(), sql: sql, args: args})
}

func spanOf(ctx context.Context) *traceSpan {
	if s, ok := ctx.Value(traceKey{}).(*traceSpan); ok {
		return s
	}
	return &traceSpan{start: time.Now()}
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *Tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.begin(ctx, data.SQL, data.Args)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *Tracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	s := spanOf(ctx)
	t.emit(ctx, "query", s.sql, s.args, time.Since(s.start), data.CommandTag.RowsAffected(), data.Err)
}

// TraceBatchStart implements pgx.BatchTracer.
func (t *Tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	s := &traceSpan{start: time.Now()}
	if data.Batch != nil {
		s.args = []any{data.Batch.Len()}
	}
	return context.WithValue(ctx, traceKey{}, s)
}

// TraceBatchQuery implements pgx.BatchTracer: one record per query of a
// batch or Pipeline round. Its duration runs from the start of the batch.
func (t *Tracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	s := spanOf(ctx)
	t.emit(ctx, "batch query", data.SQL, data.Args, time.Since(s.start), data.CommandTag.RowsAffected(), data.Err)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (t *Tracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	s := spanOf(ctx)
	size := 0
	if len(s.args) == 1 {
		size, _ = s.args[0].(int)
	}
	d := time.Since(s.start)
	level := t.level(d, data.Err)
	if !t.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.Int("queries", size), slog.Duration("duration", d)}
	t.log.LogAttrs(ctx, level, "batch", append(attrs, errAttrs(ctx, "", data.Err)...)...)
}

// TraceCopyFromStart implements pgx.CopyFromTracer.
func (t *Tracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return t.begin(ctx, data.TableName.Sanitize(), nil)
}

// TraceCopyFromEnd implements pgx.CopyFromTracer.
func (t *Tracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	s := spanOf(ctx)
	d := time.Since(s.start)
	level := t.level(d, data.Err)
	if !t.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("table", s.sql), slog.Duration("duration", d), slog.Int64("rows", data.CommandTag.RowsAffected())}
	t.log.LogAttrs(ctx, level, "copy", append(attrs, errAttrs(ctx, "", data.Err)...)...)
}

func (t *Tracer) level(d time.Duration, err error) slog.Level {
	switch {
	case err != nil:
		return slog.LevelError
	case t.cfg.SlowThreshold > 0 && d >= t.cfg.SlowThreshold:
		return slog.LevelWarn
	}
	return t.cfg.Level.Level()
}

func (t *Tracer) emit(ctx context.Context, msg, sql string, args []any, d time.Duration, rows int64, err error) {
	level := t.level(d, err)
	if !t.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	switch name := pgerr.QueryName(sql); {
	case name != "":
		attrs = append(attrs, slog.String("query", name))
	case t.cfg.LogArgs:
		attrs = append(attrs, slog.String("sql", shortSQL(sql)))
	default:
		attrs = append(attrs, slog.String("sql", shortSQL(Normalize(sql))))
	}
	attrs = append(attrs, slog.Duration("duration", d), slog.Int64("rows", rows))
	if d >= t.cfg.SlowThreshold && t.cfg.SlowThreshold > 0 {
		attrs = append(attrs, slog.Bool("slow", true))
	}
	attrs = append(attrs, errAttrs(ctx, sql, err)...)
	if t.cfg.LogArgs {
		attrs = append(attrs, slog.Any("args", args))
	}
	t.log.LogAttrs(ctx, level, msg, attrs...)
}

// errAttrs describes err by SQLSTATE and the same value-free text the typed
// errors use.
func errAttrs(ctx context.Context, sql string, err error) []slog.Attr {
	if err == nil {
		return nil
	}
	attrs := []slog.Attr{slog.String("error", pgerr.Map(ctx, sql, err).Error())}
	if code := pgerr.SQLState(err); code != "" {
		attrs = append(attrs, slog.String("sqlstate", code))
	}
	return attrs
}

// shortSQL is unnamed SQL on one line, cut to 120 characters.
func shortSQL(sql string) string {
	sql = strings.Join(strings.Fields(sql), " ")
	if len(sql) > 120 {
		return sql[:117] + "..."
	}
	return sql
}
