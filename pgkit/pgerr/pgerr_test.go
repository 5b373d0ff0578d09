package pgerr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit/pgerr"
)

const accountGet = "-- name: AccountGetByID :one\nSELECT * FROM accounts WHERE account_id = $1"

func TestMapNotFound(t *testing.T) {
	err := pgerr.Map(context.Background(), accountGet, pgx.ErrNoRows)
	if err.Error() != "AccountGetByID: not found" || !errors.Is(err, pgerr.ErrNotFound) || !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("Map(ErrNoRows) = %v", err)
	}
	if again := pgerr.Map(context.Background(), accountGet, err); again != err {
		t.Fatalf("mapping twice changed the error: %v", again)
	}
}

// TestClassifiersBySQLStateOnly: the classifiers read the SQLSTATE, never
// the message, which the server translates (lc_messages).
func TestClassifiersBySQLStateOnly(t *testing.T) {
	german := &pgconn.PgError{Code: "57014", Message: "storniere Anfrage wegen Zeitüberschreitung der Anfrage"}
	wrapped := fmt.Errorf("load page: %w", pgerr.Map(context.Background(), accountGet, german))
	if !pgerr.IsStatementTimeout(wrapped) || !pgerr.IsQueryCanceled(wrapped) {
		t.Fatalf("translated statement timeout: IsStatementTimeout %v, IsQueryCanceled %v", pgerr.IsStatementTimeout(wrapped), pgerr.IsQueryCanceled(wrapped))
	}
	// The same SQLSTATE caused by the query's own context is a cancellation,
	// not a statement timeout: Map records the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	byCtx := pgerr.Map(ctx, accountGet, german)
	if pgerr.IsStatementTimeout(byCtx) || !pgerr.IsQueryCanceled(byCtx) || !errors.Is(byCtx, context.Canceled) {
		t.Fatalf("cancelled by context: %v: IsStatementTimeout %v, errors.Is(Canceled) %v", byCtx, pgerr.IsStatementTimeout(byCtx), errors.Is(byCtx, context.Canceled))
	}
	for code, is := range map[string]func(error) bool{
		"40001": pgerr.IsSerializationFailure, "40P01": pgerr.IsDeadlock, "55P03": pgerr.IsLockTimeout,
	} {
		err := fmt.Errorf("outer: %w", &pgconn.PgError{Code: code, Message: "whatever the language"})
		if !is(err) {
			t.Errorf("SQLSTATE %s not classified", code)
		}
	}
	if pgerr.IsRetryable(&pgconn.PgError{Code: "23505"}) || !pgerr.IsRetryable(&pgconn.PgError{Code: "40P01"}) {
		t.Error("IsRetryable")
	}
}

func TestMapDataExceptionHidesInput(t *testing.T) {
	err := pgerr.Map(context.Background(), accountGet, &pgconn.PgError{Code: "22P02", Message: `invalid input syntax for type integer: "s3cret"`})
	if err.Error() != "AccountGetByID: invalid data: invalid_text_representation (SQLSTATE 22P02)" {
		t.Fatalf("data exception text %q", err)
	}
	// Each condition by its name (division by zero was "invalid input
	// data"); an unknown one by its class.
	if err := pgerr.Map(context.Background(), "", &pgconn.PgError{Code: "22012", Message: "division by zero"}); err.Error() != "invalid data: division_by_zero (SQLSTATE 22012)" {
		t.Errorf("division by zero: %q", err)
	}
	if err := pgerr.Map(context.Background(), "", &pgconn.PgError{Code: "22ZZZ", Message: "value s3cret"}); err.Error() != "invalid data (SQLSTATE 22ZZZ)" {
		t.Errorf("an unknown data exception: %q", err)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		t.Fatal("PgError not reachable")
	}
}
