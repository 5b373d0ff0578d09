package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Which refusals are the row's (bisected, reported, skipped) and which end
// the load, and what the report says of each: never the server's message
// or detail, which may hold the row's values.
func TestRowErrorClassesAndReasons(t *testing.T) {
	secret := "s3cret-value"
	for _, tc := range []struct {
		err  *pgconn.PgError
		row  bool
		want string
	}{
		{&pgconn.PgError{Code: "22001", Message: "value too long: " + secret, Where: "COPY users, line 3, column first_name"}, true,
			"value too long for its column (column first_name, SQLSTATE 22001)"},
		{&pgconn.PgError{Code: "22P02", Message: `invalid input syntax for type integer: "` + secret + `"`, Where: "COPY products, line 2, column stock: \"" + secret + "\""}, true,
			"invalid input syntax for its column's type (column stock, SQLSTATE 22P02)"},
		{&pgconn.PgError{Code: "22023", Message: secret}, true, "invalid value (SQLSTATE 22023)"},
		{&pgconn.PgError{Code: "23505", ConstraintName: "users_email_lower_key", Detail: "Key (lower(email))=(" + secret + ") already exists."}, true,
			"unique violation on constraint users_email_lower_key"},
		{&pgconn.PgError{Code: "23502", ColumnName: "name", Detail: "Failing row contains (" + secret + ")."}, true, "not-null violation on column name"},
		{&pgconn.PgError{Code: "23514", ConstraintName: "products_stock_check"}, true, "check violation on constraint products_stock_check"},
		{&pgconn.PgError{Code: "54000", Message: `index row size 3016 exceeds btree version 4 maximum 2704 for index "users_email_lower_key"`, ConstraintName: "users_email_lower_key"}, true,
			"value too big for its index: an indexed value must stay under about 2,700 bytes once compressed (index users_email_lower_key, SQLSTATE 54000)"},
		{&pgconn.PgError{Code: "54000", Message: "row is too big"}, true, "row or value too big (a program limit of the server) (SQLSTATE 54000)"},
		{&pgconn.PgError{Code: "54001", Message: "stack depth limit exceeded"}, false, ""},
		{&pgconn.PgError{Code: "42501", Message: "permission denied for table users"}, false, ""},
		{&pgconn.PgError{Code: "57014", Message: "canceling statement due to user request"}, false, ""},
		{&pgconn.PgError{Code: "40001"}, false, ""},
		{&pgconn.PgError{Code: "08006"}, false, ""},
	} {
		err := fmt.Errorf("copy: %w", tc.err)
		if got := rowError(err); got != tc.row {
			t.Errorf("%s: rowError = %v, want %v", tc.err.Code, got, tc.row)
		}
		if !tc.row {
			continue
		}
		got := reason(err)
		if got != tc.want {
			t.Errorf("%s: reason %q, want %q", tc.err.Code, got, tc.want)
		}
		if strings.Contains(got, secret) {
			t.Errorf("%s: reason %q echoes a value", tc.err.Code, got)
		}
	}
	if rowError(context.Canceled) || rowError(fmt.Errorf("x: %w", context.DeadlineExceeded)) {
		t.Error("a cancellation is a row error")
	}
}
