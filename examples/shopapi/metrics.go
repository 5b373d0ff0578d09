package main

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

// metrics is the service's Prometheus registry (its own, not the global
// one) and the pgx tracer that feeds both it and the request logs.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	queries  *prometheus.CounterVec
	queryDur *prometheus.HistogramVec
	scrape   http.Handler // promhttp's, on reg
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopapi_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shopapi_http_request_duration_seconds", Help: "HTTP request latency by route and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route", "status"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shopapi_db_queries_total", Help: "Database queries by sqlc query name (\"sql\" for unnamed SQL) and outcome.",
		}, []string{"query", "outcome"}),
		queryDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "shopapi_db_query_duration_seconds", Help: "Database query latency by sqlc query name (\"sql\" for unnamed SQL), as the client saw it: from sending to the end of its result (in a pipelined batch, from the batch's start).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"query"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.queries, m.queryDur,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.scrape = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return m
}

// statFuncs makes gauges and counters named prefix+name that read one
// field of a stats snapshot, taken by read at every scrape.
func statFuncs[S any](prefix string, read func() S) (gauge, counter func(name, help string, f func(S) float64) prometheus.Collector) {
	gauge = func(name, help string, f func(S) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: prefix + name, Help: help}, func() float64 { return f(read()) })
	}
	counter = func(name, help string, f func(S) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: prefix + name, Help: help}, func() float64 { return f(read()) })
	}
	return gauge, counter
}

// watchPool exports the pool's statistics, and the multiplexer's when it
// multiplexes, read at every scrape.
func (m *metrics) watchPool(pool *pgkit.DB) {
	gauge, counter := statFuncs("shopapi_db_pool_", pool.Stats)
	m.reg.MustRegister(
		gauge("max_conns", "Connections the pool may open.", func(s pgkit.PoolStats) float64 { return float64(s.MaxConns) }),
		gauge("conns", "Open connections.", func(s pgkit.PoolStats) float64 { return float64(s.TotalConns) }),
		gauge("in_use_conns", "Connections acquired right now.", func(s pgkit.PoolStats) float64 { return float64(s.InUse) }),
		gauge("idle_conns", "Idle connections.", func(s pgkit.PoolStats) float64 { return float64(s.Idle) }),
		counter("acquires_total", "Successful acquires.", func(s pgkit.PoolStats) float64 { return float64(s.Acquires) }),
		counter("waited_acquires_total", "Acquires that waited for a connection.", func(s pgkit.PoolStats) float64 { return float64(s.WaitedAcquire) }),
		counter("exhausted_total", "Acquires that failed with ErrPoolExhausted.", func(s pgkit.PoolStats) float64 { return float64(s.Exhausted) }),
	)
	if !pool.Multiplexing() {
		return
	}
	mgauge, mcounter := statFuncs("shopapi_db_multiplex_", pool.MultiplexStats)
	m.reg.MustRegister(
		mgauge("lanes", "Connections multiplexing right now.", func(s pgkit.MultiplexStats) float64 { return float64(s.Lanes) }),
		mcounter("statements_total", "Statements multiplexed.", func(s pgkit.MultiplexStats) float64 { return float64(s.Statements) }),
		mcounter("pipelined_total", "Statements written while others on the connection awaited results.", func(s pgkit.MultiplexStats) float64 { return float64(s.Pipelined) }),
		mcounter("writes_total", "Writes to multiplexed connections (statements_total / writes_total: statements per round trip).", func(s pgkit.MultiplexStats) float64 { return float64(s.Writes) }),
		mcounter("waited_total", "Statements that waited for room.", func(s pgkit.MultiplexStats) float64 { return float64(s.Waited) }),
		mcounter("exhausted_total", "Statements that failed with ErrPoolExhausted.", func(s pgkit.MultiplexStats) float64 { return float64(s.Exhausted) }),
		mcounter("cancels_total", "Cancel requests for statements whose caller left.", func(s pgkit.MultiplexStats) float64 { return float64(s.Cancels) }),
		mcounter("lanes_lost_total", "Multiplexed connections that broke.", func(s pgkit.MultiplexStats) float64 { return float64(s.LanesLost) }),
	)
}

// serve answers a scrape of the registry.
func (m *metrics) serve(w http.ResponseWriter, r *http.Request) error {
	m.scrape.ServeHTTP(w, r)
	return nil
}

// requestLog collects the queries one request ran, for its log line.
type requestLog struct {
	mu      sync.Mutex
	queries []string // "Name=1.2ms"
}

type requestLogKey struct{}

func (l *requestLog) add(name string, d time.Duration) {
	l.mu.Lock()
	l.queries = append(l.queries, name+"="+strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64)+"ms")
	l.mu.Unlock()
}

// snapshot is a copy of the queries so far.
func (l *requestLog) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.queries)
}

// tracer counts every query by sqlc name and adds it to the log of the
// request whose context it ran under.
func (m *metrics) tracer() pgx.QueryTracer { return &queryTracer{m: m} }

type queryTracer struct{ m *metrics }

type traceStart struct{}

type started struct {
	at  time.Time
	sql string
}

func (t *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, traceStart{}, started{time.Now(), data.SQL})
}

func (t *queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	st, _ := ctx.Value(traceStart{}).(started)
	t.record(ctx, st.sql, time.Since(st.at), data.Err)
}

func (t *queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return context.WithValue(ctx, traceStart{}, started{at: time.Now()})
}

func (t *queryTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	st, _ := ctx.Value(traceStart{}).(started)
	t.record(ctx, data.SQL, time.Since(st.at), data.Err)
}

func (t *queryTracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (t *queryTracer) record(ctx context.Context, sql string, d time.Duration, err error) {
	name := pgerr.QueryName(sql)
	if name == "" {
		name = "sql"
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	t.m.queries.WithLabelValues(name, outcome).Inc()
	t.m.queryDur.WithLabelValues(name).Observe(d.Seconds())
	if rl, ok := ctx.Value(requestLogKey{}).(*requestLog); ok {
		rl.add(name, d)
	}
}
