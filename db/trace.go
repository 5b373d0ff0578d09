package db

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// TraceConfig tunes NewSlogTracer. The zero value logs every query at Debug,
// queries slower than 500ms at Warn, failures at Error, and no arguments.
type TraceConfig struct {
	// Level of a query that is neither slow nor failed, e.g. slog.LevelInfo.
	// Default (nil): Debug.
	Level slog.Leveler
	// SlowThreshold raises a query to Warn when it takes at least this long.
	// Default: 500ms; negative: never.
	SlowThreshold time.Duration
	// LogArgs adds the query arguments. They can hold personal data and
	// secrets: leave it off in production. Default: off.
	LogArgs bool
}

// DefaultSlowThreshold is TraceConfig.SlowThreshold's default.
const DefaultSlowThreshold = 500 * time.Millisecond

// SlogTracer logs every query, batch query and COPY of a pool to a
// log/slog logger, with the sqlc query name (from the "-- name:" line),
// duration, rows affected and, on failure, SQLSTATE and an error text free
// of argument values. Set it as PoolConfig.Tracer; to add more tracers, such
// as OpenTelemetry's, combine them with pgx's multitracer:
//
//	cfg.Tracer = multitracer.New(db.NewSlogTracer(logger, db.TraceConfig{}), otelpgx.NewTracer())
type SlogTracer struct {
	log *slog.Logger
	cfg TraceConfig
}

var (
	_ pgx.QueryTracer    = (*SlogTracer)(nil)
	_ pgx.BatchTracer    = (*SlogTracer)(nil)
	_ pgx.CopyFromTracer = (*SlogTracer)(nil)
)

// NewSlogTracer returns a tracer writing to logger (slog.Default() when nil).
func NewSlogTracer(logger *slog.Logger, cfg TraceConfig) *SlogTracer {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.Level == nil {
		cfg.Level = slog.LevelDebug
	}
	if cfg.SlowThreshold == 0 {
		cfg.SlowThreshold = DefaultSlowThreshold
	}
	return &SlogTracer{log: logger, cfg: cfg}
}

// traceKey is the context key of the span a Trace…Start opened.
type traceKey struct{}

type traceSpan struct {
	start time.Time
	sql   string
	args  []any
}

func (t *SlogTracer) begin(ctx context.Context, sql string, args []any) context.Context {
	return context.WithValue(ctx, traceKey{}, &traceSpan{start: time.Now(), sql: sql, args: args})
}

func spanOf(ctx context.Context) *traceSpan {
	if s, ok := ctx.Value(traceKey{}).(*traceSpan); ok {
		return s
	}
	return &traceSpan{start: time.Now()}
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *SlogTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.begin(ctx, data.SQL, data.Args)
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *SlogTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	s := spanOf(ctx)
	t.emit(ctx, "query", s.sql, s.args, time.Since(s.start), data.CommandTag.RowsAffected(), data.Err)
}

// TraceBatchStart implements pgx.BatchTracer.
func (t *SlogTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	s := &traceSpan{start: time.Now()}
	if data.Batch != nil {
		s.args = []any{data.Batch.Len()}
	}
	return context.WithValue(ctx, traceKey{}, s)
}

// TraceBatchQuery implements pgx.BatchTracer: one record per query of a
// batch or Pipeline round. Its duration runs from the start of the batch.
func (t *SlogTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	s := spanOf(ctx)
	t.emit(ctx, "batch query", data.SQL, data.Args, time.Since(s.start), data.CommandTag.RowsAffected(), data.Err)
}

// TraceBatchEnd implements pgx.BatchTracer.
func (t *SlogTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
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
	t.log.LogAttrs(ctx, level, "batch", append(attrs, errAttrs("", data.Err)...)...)
}

// TraceCopyFromStart implements pgx.CopyFromTracer.
func (t *SlogTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	return t.begin(ctx, data.TableName.Sanitize(), nil)
}

// TraceCopyFromEnd implements pgx.CopyFromTracer.
func (t *SlogTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromEndData) {
	s := spanOf(ctx)
	d := time.Since(s.start)
	level := t.level(d, data.Err)
	if !t.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{slog.String("table", s.sql), slog.Duration("duration", d), slog.Int64("rows", data.CommandTag.RowsAffected())}
	t.log.LogAttrs(ctx, level, "copy", append(attrs, errAttrs("", data.Err)...)...)
}

func (t *SlogTracer) level(d time.Duration, err error) slog.Level {
	switch {
	case err != nil:
		return slog.LevelError
	case t.cfg.SlowThreshold > 0 && d >= t.cfg.SlowThreshold:
		return slog.LevelWarn
	}
	return t.cfg.Level.Level()
}

func (t *SlogTracer) emit(ctx context.Context, msg, sql string, args []any, d time.Duration, rows int64, err error) {
	level := t.level(d, err)
	if !t.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	if name := QueryName(sql); name != "" {
		attrs = append(attrs, slog.String("query", name))
	} else {
		attrs = append(attrs, slog.String("sql", shortSQL(sql)))
	}
	attrs = append(attrs, slog.Duration("duration", d), slog.Int64("rows", rows))
	if d >= t.cfg.SlowThreshold && t.cfg.SlowThreshold > 0 {
		attrs = append(attrs, slog.Bool("slow", true))
	}
	attrs = append(attrs, errAttrs(sql, err)...)
	if t.cfg.LogArgs {
		attrs = append(attrs, slog.Any("args", args))
	}
	t.log.LogAttrs(ctx, level, msg, attrs...)
}

// errAttrs describes err by SQLSTATE and the same value-free text the typed
// errors use.
func errAttrs(sql string, err error) []slog.Attr {
	if err == nil {
		return nil
	}
	attrs := []slog.Attr{slog.String("error", mapError(sql, err).Error())}
	if code := sqlState(err); code != "" {
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
