package main

import (
	"log/slog"
	"net/http"
	"sync/atomic"
)

// newHTTPServer is the http.Server of h with the limits of l, so that a
// client that dribbles or stalls a request, or leaves a connection idle,
// holds a goroutine and a descriptor only that long: the server closes
// the connection. The server's own errors go to logger at Warn.
func newHTTPServer(l httpLimits, h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeaderTimeout,
		ReadTimeout:       l.readTimeout,
		WriteTimeout:      l.writeTimeout,
		IdleTimeout:       l.idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// gate is the server's handler from the moment the port is bound: until
// open is called, /metrics is served and everything else answers 503 with
// Retry-After (the database is being opened, migrated and seeded); then
// every request goes to the service's handler.
type gate struct {
	starting http.Handler
	ready    atomic.Pointer[http.Handler]
}

// newGate is the gate of a service starting with obs and m.
func newGate(obs *observer, m *metrics) *gate {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", obs.route("GET /metrics", m.serve))
	mux.Handle("/", obs.route("starting", func(http.ResponseWriter, *http.Request) error {
		return &httpError{status: http.StatusServiceUnavailable, msg: "starting: the database is being prepared and seeded; retry shortly"}
	}))
	return &gate{starting: obs.wrap(mux)}
}

// open sends every later request to h.
func (g *gate) open(h http.Handler) { g.ready.Store(&h) }

// ServeHTTP serves r as the service is now.
func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h := g.ready.Load(); h != nil {
		(*h).ServeHTTP(w, r)
		return
	}
	g.starting.ServeHTTP(w, r)
}
