package main

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// observer is the middleware every request goes through: its request id,
// time limit, body limit, error to status mapping, metrics and one log
// line.
type observer struct {
	logger  *slog.Logger
	timeout time.Duration // per request, database included
	maxBody int64         // largest request body
	metrics *metrics
}

// handlerFunc is an endpoint: an error it returns is mapped to a status
// and a JSON body by status.
type handlerFunc func(http.ResponseWriter, *http.Request) error

// unmatched is the route of requests no pattern took: 404, 405, and the
// ServeMux's redirects to a clean path.
const unmatched = "unmatched"

// requestInfo is what the layers of one request tell its log line: the
// route that took it, its error, the queries it ran.
type requestInfo struct {
	route string // the pattern; "" until a route takes the request
	err   error
	log   *requestLog
}

type requestInfoKey struct{}

// maxRequestIDLen bounds an X-Request-Id taken from a client.
const maxRequestIDLen = 64

// requestID is the client's X-Request-Id when it is a token of at most 64
// letters, digits and "-_.:", else a new random UUID. Anything else a
// client sends is not repeated into logs or headers.
func requestID(sent string) string {
	if len(sent) == 0 || len(sent) > maxRequestIDLen {
		return uuid.NewString()
	}
	for _, c := range []byte(sent) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == ':':
		default:
			return uuid.NewString()
		}
	}
	return sent
}

// wrap is next behind the observer: next is the ServeMux whose routes
// were made by route.
func (o *observer) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r.Header.Get("X-Request-Id"))
		w.Header().Set("X-Request-Id", id)
		ctx, cancel := context.WithTimeout(r.Context(), o.timeout)
		defer cancel()
		info := &requestInfo{log: &requestLog{}}
		ctx = context.WithValue(ctx, requestInfoKey{}, info)
		ctx = context.WithValue(ctx, requestLogKey{}, info.log)
		inner := r.WithContext(ctx)
		// On the server's own writer, so that a body past the limit also
		// closes the connection after the answer.
		inner.Body = http.MaxBytesReader(w, r.Body, o.maxBody)
		sw := &statusWriter{ResponseWriter: w, info: info}
		next.ServeHTTP(sw, inner)
		if sw.status == 0 {
			sw.WriteHeader(http.StatusOK)
		}
		d := time.Since(start)
		route := info.route
		if route == "" {
			route = unmatched
		}
		code := strconv.Itoa(sw.status)
		o.metrics.requests.WithLabelValues(route, code).Inc()
		o.metrics.latency.WithLabelValues(route, code).Observe(d.Seconds())
		level := slog.LevelInfo
		switch {
		case sw.status == http.StatusServiceUnavailable:
			level = slog.LevelWarn // busy, starting or database away: retried by clients
		case sw.status >= 500:
			level = slog.LevelError
		}
		queries := info.log.snapshot()
		attrs := []slog.Attr{
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", route),
			slog.Int("status", sw.status), slog.Float64("duration_ms", millis(d)),
			slog.Int("queries", len(queries)), slog.String("query_times", strings.Join(queries, " ")),
		}
		if info.err != nil {
			attrs = append(attrs, slog.String("error", info.err.Error()))
		}
		o.logger.LogAttrs(r.Context(), level, "request", attrs...)
	})
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// route makes h the handler of pattern: it names the route for the log
// line and metrics, and answers h's error as status maps it.
func (o *observer) route(pattern string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, _ := r.Context().Value(requestInfoKey{}).(*requestInfo)
		if info != nil {
			info.route = pattern
		}
		err := h(w, r)
		if err == nil {
			return
		}
		if info != nil {
			info.err = err
		}
		code, body := status(err)
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
		if sw, ok := w.(*statusWriter); !ok || sw.status == 0 {
			_ = writeJSON(w, code, body)
		}
	})
}

// statusWriter remembers the status written. For a request no route took
// it answers the ServeMux's own 404 and 405 (Allow kept) with a JSON error
// like every other, instead of its plain text.
type statusWriter struct {
	http.ResponseWriter
	info    *requestInfo
	status  int
	swallow bool // the ServeMux's text body is replaced
}

// WriteHeader writes the status once, or the JSON error in place of the
// ServeMux's own 404 and 405.
func (w *statusWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if w.info.route == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		msg := "no such endpoint"
		if code == http.StatusMethodNotAllowed {
			msg = "method not allowed; see the Allow header"
		}
		w.Header().Del("X-Content-Type-Options")
		w.swallow = true
		_ = writeJSON(w.ResponseWriter, code, errorJSON{Error: msg})
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes b after a 200 when no status was written, and drops the
// ServeMux's text once its error was answered in JSON.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController the server's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
