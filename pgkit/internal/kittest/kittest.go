// Package kittest holds the helpers that the tests of several pgkit
// packages share: generic shorthands, a pgx tracer that counts round trips,
// and a database for runnable examples. It is internal to pgkit: other
// projects use pgkittest.
package kittest

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// Must returns a function that returns v, failing the test when err is not
// nil: Must(q.AccountCreate(ctx, p))(t).
func Must[T any](v T, err error) func(t testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// Ptr returns a pointer to v, for nullable columns.
func Ptr[T any](v T) *T { return &v }

// RoundTrips is a pgx tracer that counts what reaches the server: single
// queries and batches.
type RoundTrips struct {
	mu             sync.Mutex
	queries        int
	batches        int
	batchedQueries int
}

// TraceQueryStart implements pgx's tracer interface.
func (r *RoundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.queries++
	r.mu.Unlock()
	return ctx
}

// TraceQueryEnd implements pgx's tracer interface.
func (r *RoundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart implements pgx's tracer interface.
func (r *RoundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	r.mu.Lock()
	r.batches++
	r.batchedQueries += d.Batch.Len()
	r.mu.Unlock()
	return ctx
}

// TraceBatchQuery implements pgx's tracer interface.
func (r *RoundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd implements pgx's tracer interface.
func (r *RoundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// Reset returns the counts so far and zeroes them.
func (r *RoundTrips) Reset() (queries, batches, batched int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	queries, batches, batched = r.queries, r.batches, r.batchedQueries
	r.queries, r.batches, r.batchedQueries = 0, 0, 0
	return
}

// ExampleDB opens a pool with cfg on a fresh kitdb database holding two
// accounts (1 Ada Lovelace, 2 Alan Turing), a project "Difference Engine"
// (rate 12,000 cents, 3 credits) with a note by each, and one job of Ada's.
// It returns the pool, the project's id, Ada's id and the function that
// closes the pool and drops the database.
func ExampleDB(cfg pgkit.Config) (d *pgkit.DB, projectID, accountID int64, done func()) {
	tb := &pgkittest.ExampleTB{}
	d, err := pgkit.Open(context.Background(), pgkittest.URL(tb, kitdb.Migrations()), cfg)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	q := kitdb.New(d)
	ada := mustExample(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Ada Lovelace", Team: "Engines"}))
	alan := mustExample(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Alan Turing", Team: "Machines"}))
	p := mustExample(q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "engine-1", Name: "Difference Engine", RateCents: 12_000, Credits: 3}))
	mustExample(q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: p.ProjectID, AccountID: ada.AccountID, Priority: 5}))
	mustExample(q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: p.ProjectID, AccountID: alan.AccountID, Priority: 4}))
	mustExample(q.JobCreate(ctx, kitdb.JobCreateParams{AccountID: ada.AccountID, State: kitdb.JobStateDone, CostCents: 12_000}))
	return d, p.ProjectID, ada.AccountID, func() { d.Close(); tb.Done() }
}

// mustExample panics on err: an example has no test to fail.
func mustExample[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
