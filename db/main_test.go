package db_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/db/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

// must(f()) (t) returns f's value, failing the test when f's error is not nil.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// setup returns a context, a pool on a fresh database and its Queries.
func setup(t *testing.T) (context.Context, *db.DB, *db.Queries) {
	t.Helper()
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	pool := dbtest.New(t)
	return ctx, pool, db.New(pool)
}

func ptr[T any](v T) *T { return &v }
