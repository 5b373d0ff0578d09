package main

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/shop"
)

// httpError is a refusal with its status, for what has no typed error.
type httpError struct {
	status int
	msg    string
}

// Error is the message the client gets.
func (e *httpError) Error() string { return e.msg }

// errorJSON is every error response's body.
type errorJSON struct {
	Error     string `json:"error"`
	Field     string `json:"field,omitempty"`
	ProductID int64  `json:"product_id,omitempty"`
	Requested int32  `json:"requested,omitempty"`
	Available *int32 `json:"available,omitempty"`
	// Outcome is "unknown" for a write that may or may not have been
	// stored (pgerr.ErrCommitUnknown), and absent otherwise: every other
	// error, 503 included, means nothing was stored.
	Outcome string `json:"outcome,omitempty"`
	// Status and Primary are /healthz's, when the node writes go to is
	// unreachable or cannot take writes (healthError).
	Status  string    `json:"status,omitempty"`
	Primary *nodeJSON `json:"primary,omitempty"`
	Pool    string    `json:"pool,omitempty"`
}

// Messages of the 503s: the client may retry, after Retry-After.
const (
	msgUnavailable = "service busy or database unreachable, retry shortly"
	msgReadOnly    = "the database refuses writes for now (read-only or a standby, as during a failover), retry shortly"
	// msgCommitUnknown is the answer to an order whose commit was sent
	// and whose answer was lost: it may exist. The service has no
	// idempotency key, so a blind retry could place it twice.
	msgCommitUnknown = "the database connection was lost as the order was committed: it may or may not have been placed; " +
		"check the customer's orders (GET /products/{id}?customer={customer_id} lists them, newest first) before placing it again"
)

// status maps an error to its HTTP status and body: the one place that
// decides. Bad input is never a 500: every refusal of the shop is typed.
// Every transient database error (see transient) is 503, which the
// middleware sends with Retry-After; a write whose commit outcome is
// unknown is 503 too, with "outcome":"unknown".
func status(err error) (int, errorJSON) {
	var (
		bad    *badRequest
		he     *httpError
		health *healthError
		stock  *shop.InsufficientStockError
		qty    *shop.InvalidQuantityError
	)
	switch {
	case errors.As(err, &health): // /healthz: wrote nothing, says why
		return http.StatusServiceUnavailable, health.body()
	// Then, whatever else the error says: the write may have happened.
	case errors.Is(err, pgerr.ErrCommitUnknown):
		return http.StatusServiceUnavailable, errorJSON{Error: msgCommitUnknown, Outcome: "unknown"}
	case errors.As(err, &bad):
		code := http.StatusBadRequest
		if bad.status != 0 {
			code = bad.status
		}
		return code, errorJSON{Error: bad.Reason, Field: bad.Field}
	case errors.As(err, &he):
		return he.status, errorJSON{Error: he.msg}
	case errors.As(err, &stock):
		return http.StatusConflict, errorJSON{Error: "insufficient stock", ProductID: stock.ProductID, Requested: stock.Requested, Available: &stock.Available}
	case errors.As(err, &qty):
		return http.StatusBadRequest, errorJSON{Error: qty.Reason, Field: "items", ProductID: qty.ProductID}
	case errors.Is(err, shop.ErrEmptyOrder):
		return http.StatusBadRequest, errorJSON{Error: "want at least one item", Field: "items"}
	case errors.Is(err, shop.ErrUnknownCustomer):
		return http.StatusNotFound, errorJSON{Error: "unknown customer", Field: "customer_id"}
	case errors.Is(err, shop.ErrUnknownProduct):
		body := errorJSON{Error: "unknown product"}
		var up *shop.UnknownProductError
		if errors.As(err, &up) {
			body.ProductID = up.ProductID
		}
		return http.StatusNotFound, body
	case errors.Is(err, shop.ErrInvalidCursor), errors.Is(err, shop.ErrPageTooLarge):
		return http.StatusBadRequest, errorJSON{Error: err.Error()}
	case errors.Is(err, pgerr.ErrNotFound):
		return http.StatusNotFound, errorJSON{Error: "not found"}
	case readOnly(err):
		return http.StatusServiceUnavailable, errorJSON{Error: msgReadOnly}
	case transient(err):
		return http.StatusServiceUnavailable, errorJSON{Error: msgUnavailable}
	}
	return http.StatusInternalServerError, errorJSON{Error: "internal error"}
}

// readOnly reports a write the server refused for being read-only: a
// standby (the pool reached the old primary after a failover, or a
// standby before promotion), a server with default_transaction_read_only,
// or a connection refused for target_session_attrs=read-write or primary.
// SQLSTATE 25006 counts although pgerr.IsWrongServerRole matches it only
// from pgkit.Replicated: the service opens no read-only transaction of
// its own, so a 25006 here always means the server's role, not a bug.
func readOnly(err error) bool {
	return pgerr.SQLState(err) == "25006" ||
		errors.Is(err, pgconn.ErrReadOnlyConnection) || errors.Is(err, pgconn.ErrStandbyConnection)
}

// transient reports errors a retry a moment later can cure: the pool
// stayed full, the database did not answer or refused the connection, the
// request ran out of time or was cancelled, the connection was lost (a
// restart or failover ends every session, SQLSTATE 57P01–57P03, class 08),
// the server refused new connections for now (53300; pgerr.IsTransient)
// or was not of the role target_session_attrs asked for
// (pgerr.IsWrongServerRole), a conflict that WithTx retries escaped its
// retries (serialization failure, deadlock, stale plan:
// pgerr.IsRetryable), or a lock timeout.
func transient(err error) bool {
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.Is(err, pgkit.ErrPoolExhausted) || errors.As(err, &connErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) || pgerr.IsQueryCanceled(err) || pgerr.IsTransient(err) ||
		pgerr.IsWrongServerRole(err) || pgerr.IsRetryable(err) || pgerr.IsLockTimeout(err)
}
