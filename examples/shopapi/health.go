package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// healthTimeout bounds /healthz's look at the database, so that a load
// balancer's check of a frozen or vanished server gets its 503 in time.
const healthTimeout = time.Second

// nodeJSON is the server the pool's writes go to, as it sees itself.
type nodeJSON struct {
	// Addr and Port are inet_server_addr() and inet_server_port(): the
	// address the connection reached, null over a Unix socket.
	Addr *string `json:"addr"`
	Port *int32  `json:"port"`
	// InRecovery is pg_is_in_recovery(): a standby, which refuses writes.
	InRecovery bool `json:"in_recovery"`
	// ReadOnly is transaction_read_only in a transaction begun as the
	// writes begin theirs: true on a standby, and on a primary with
	// default_transaction_read_only.
	ReadOnly bool `json:"read_only"`
}

// nodeSQL asks the server where it is and whether it takes writes.
const nodeSQL = `SELECT host(inet_server_addr()), inet_server_port(), pg_is_in_recovery(),
	current_setting('transaction_read_only')::bool`

// healthError is /healthz's 503: the node writes go to is unreachable
// (node nil, err why) or cannot take writes.
type healthError struct {
	node *nodeJSON
	pool string
	err  error
}

// Error says why /healthz is 503, with the cause when unreachable.
func (e *healthError) Error() string {
	switch {
	case e.err != nil:
		return fmt.Sprintf("database unreachable: %v", e.err)
	case e.node.InRecovery:
		return "the server writes go to is in recovery (a standby)"
	}
	return "the server writes go to is read-only (default_transaction_read_only)"
}

// Unwrap gives why the server was unreachable; nil otherwise.
func (e *healthError) Unwrap() error { return e.err }

// body is the 503's JSON: the 200's fields, "status":"unavailable", and
// why.
func (e *healthError) body() errorJSON {
	b := errorJSON{Status: "unavailable", Primary: e.node, Pool: e.pool}
	switch {
	case e.err != nil:
		b.Error = msgUnavailable
	case e.node.InRecovery:
		b.Error = "the database server writes go to is a standby (in recovery): writes would fail; retry shortly"
	default:
		b.Error = "the database server writes go to is read-only: writes would fail; retry shortly"
	}
	return b
}

// healthz answers 200 {"status":"ok","primary":{…},"pool":"…"} when the
// server the writes go to answers within healthTimeout and takes writes,
// and 503 (Retry-After, "status":"unavailable", "error") when it does not
// answer or is a standby or read-only.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	node, err := s.writeNode(ctx)
	if err != nil {
		return &healthError{pool: s.pool.Stats().String(), err: err}
	}
	if node.InRecovery || node.ReadOnly {
		return &healthError{node: node, pool: s.pool.Stats().String()}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "primary": node, "pool": s.pool.Stats().String()})
}

// writeNode asks the server the writes go to about itself, in a
// transaction begun as shop.PlaceOrder's is (a pooled connection, never a
// multiplexed one, with the pool's bounded wait), rolled back.
func (s *server) writeNode(ctx context.Context) (*nodeJSON, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return nil, err
	}
	var n nodeJSON
	err = tx.QueryRow(ctx, nodeSQL).Scan(&n.Addr, &n.Port, &n.InRecovery, &n.ReadOnly)
	// Nothing was written: the rollback's error adds nothing to the
	// answer (when it fails, on a broken connection or after ctx ended,
	// pgx closes the connection, which ends the transaction as surely).
	_ = tx.Rollback(ctx)
	if err != nil {
		return nil, err
	}
	return &n, nil
}
