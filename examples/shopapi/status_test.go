package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/shop"
)

// answerTo is the response of the service's middleware to a handler that
// returns err: its status, Retry-After and JSON body.
func answerTo(t *testing.T, err error) (int, string, map[string]any) {
	t.Helper()
	o := options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.observer(newMetrics())
	h := o.wrap(o.route("POST /orders", func(_ http.ResponseWriter, _ *http.Request) error { return err }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/orders", nil))
	var body map[string]any
	if jerr := json.Unmarshal(rec.Body.Bytes(), &body); jerr != nil {
		t.Fatalf("%v: body %q is not JSON: %v", err, rec.Body.Bytes(), jerr)
	}
	return rec.Code, rec.Header().Get("Retry-After"), body
}

// classes gives err in every shape the service meets it: raw as pgx
// returns it, mapped by pgerr.Map as the generated queries return it,
// wrapped as shop and pgkit.WithTx return it, and joined with a second
// error as a failed rollback or an ended context add.
func classes(name string, err error) map[string]error {
	mapped := pgerr.Map(context.Background(), "-- name: OrderCreate :one\nINSERT INTO orders ...", err)
	return map[string]error{
		name + " raw":     err,
		name + " mapped":  mapped,
		name + " wrapped": fmt.Errorf("place order: commit: %w", mapped),
		name + " joined":  errors.Join(fmt.Errorf("place order: %w", mapped), fmt.Errorf("roll back: %w", errors.New("conn closed"))),
	}
}

// TestStatusOfEveryErrorClass: the one function that maps errors to
// answers gives every transient database error 503 with Retry-After and a
// JSON error, in every shape the error arrives in; a write whose commit
// outcome is unknown says so; what no retry cures stays 500, and nothing
// but an unknown commit claims an unknown outcome.
func TestStatusOfEveryErrorClass(t *testing.T) {
	transient := map[string]error{}
	for _, code := range []string{
		"57P01", "57P02", "57P03", // admin shutdown / crash shutdown / cannot connect now
		"08000", "08001", "08003", "08006", "08004", // connection exceptions
		"53300",          // too many connections
		"25006",          // read-only transaction: a write reached a standby or a read-only server
		"40001", "40P01", // serialization failure, deadlock, if they escape WithTx's retries
		"55P03", // lock timeout
		"57014", // statement timeout or cancel
	} {
		for k, v := range classes(code, &pgconn.PgError{Code: code, Severity: "ERROR", Message: "server says " + code}) {
			transient[k] = v
		}
	}
	for k, v := range classes("ErrConnectionLost", fmt.Errorf("ping: %w", pgerr.ErrConnectionLost)) {
		transient[k] = v
	}
	for k, v := range classes("unexpected EOF", io.ErrUnexpectedEOF) {
		transient[k] = v
	}
	for k, v := range classes("connection reset", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}) {
		transient[k] = v
	}
	for _, e := range []error{pgconn.ErrReadOnlyConnection, pgconn.ErrStandbyConnection, pgconn.ErrPrimaryConnection, pgconn.ErrReadWriteConnection} {
		for k, v := range classes("target_session_attrs "+e.Error(), fmt.Errorf("failed to connect to `user=app database=shop`: %w", e)) {
			transient[k] = v
		}
	}
	// A write refused by a standby as pgkit.Replicated reports it: the
	// server's 25006 and pgconn.ErrReadOnlyConnection.
	transient["Replicated wrong role"] = errors.Join(&pgconn.PgError{Code: "25006"}, pgconn.ErrReadOnlyConnection)
	transient["pool exhausted"] = fmt.Errorf("place order: begin transaction: %w", &pgkit.PoolExhaustedError{Waited: time.Second, InUse: 10, MaxConns: 10})
	transient["request deadline"] = fmt.Errorf("place order: %w", context.DeadlineExceeded)

	for name, err := range transient {
		code, retry, body := answerTo(t, err)
		if code != 503 || retry != "1" || body["error"] == "" || body["error"] == nil {
			t.Errorf("%s (%v): %d Retry-After %q %v; want 503, Retry-After 1 and an error", name, err, code, retry, body)
		}
		if _, ok := body["outcome"]; ok {
			t.Errorf("%s (%v): body %v claims an outcome; only an unknown commit does", name, err, body)
		}
	}

	unknown := map[string]error{
		"CommitUnknownError":                          &pgerr.CommitUnknownError{Xid: 734, Reason: "the primary did not answer pg_xact_status", Err: io.ErrUnexpectedEOF},
		"CommitUnknownError wrapped":                  fmt.Errorf("place order: %w", &pgerr.CommitUnknownError{Err: &pgconn.PgError{Code: "57P01"}}),
		"CommitUnknownError joined with the deadline": errors.Join(fmt.Errorf("place order: %w", &pgerr.CommitUnknownError{Xid: 9}), context.DeadlineExceeded),
		"ErrCommitUnknown wrapped":                    fmt.Errorf("place order: %w", pgerr.ErrCommitUnknown),
	}
	for name, err := range unknown {
		code, retry, body := answerTo(t, err)
		msg, _ := body["error"].(string)
		if code != 503 || retry != "1" || body["outcome"] != "unknown" || !strings.Contains(msg, "check") {
			t.Errorf("%s (%v): %d Retry-After %q %v; want 503, Retry-After 1, outcome unknown, and to check the orders before retrying", name, err, code, retry, body)
		}
		if strings.Contains(msg, "734") || strings.Contains(msg, "pg_xact_status") {
			t.Errorf("%s: the client's body carries the internals %q", name, msg)
		}
	}

	permanent := map[string]error{
		"a bug":                 errors.New("boom"),
		"encode":                fmt.Errorf("encode response: %w", errors.New("json: unsupported value")),
		"unexpected constraint": pgerr.Map(context.Background(), "-- name: OrderCreate :one", &pgconn.PgError{Code: "23505", ConstraintName: "orders_pkey"}),
	}
	for k, v := range classes("undefined table", &pgconn.PgError{Code: "42P01", Message: "relation does not exist"}) {
		permanent[k] = v
	}
	for k, v := range classes("insufficient privilege", &pgconn.PgError{Code: "42501"}) {
		permanent[k] = v
	}
	for name, err := range permanent {
		code, retry, body := answerTo(t, err)
		if _, ok := body["outcome"]; code != 500 || retry != "" || ok || body["error"] != "internal error" {
			t.Errorf("%s (%v): %d Retry-After %q %v; want a plain 500", name, err, code, retry, body)
		}
	}

	// The shop's refusals keep their statuses, also wrapped.
	for err, want := range map[error]int{
		fmt.Errorf("place order: %w", &shop.InsufficientStockError{ProductID: 1, Requested: 5, Available: 1}): 409,
		fmt.Errorf("place order: %w", shop.ErrEmptyOrder):                                                     400,
		fmt.Errorf("get: %w", pgerr.ErrNotFound):                                                              404,
	} {
		if code, retry, body := answerTo(t, err); code != want || retry != "" {
			t.Errorf("%v: %d Retry-After %q %v; want %d", err, code, retry, body, want)
		}
	}
}
