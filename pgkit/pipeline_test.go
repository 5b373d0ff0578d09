package pgkit_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// page is a project's page: three queries, for the project, its notes
// and an account's jobs.
type page struct {
	Project kitdb.Project
	Notes   []kitdb.Note
	Jobs    []kitdb.Job
}

func pageFns(pg *page, projectID, accountID int64) []func(context.Context, *kitdb.Queries) error {
	return []func(context.Context, *kitdb.Queries) error{
		func(ctx context.Context, q *kitdb.Queries) (err error) {
			pg.Project, err = q.ProjectGetByID(ctx, projectID)
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) (err error) {
			pg.Notes, err = q.NoteListByProject(ctx, kitdb.NoteListByProjectParams{ProjectID: projectID, Max: 10})
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) (err error) {
			pg.Jobs, err = q.JobListByAccount(ctx, kitdb.JobListByAccountParams{AccountID: accountID, Max: 10})
			return err
		},
	}
}

func TestPipelineMatchesSequentialInOneRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	trips := &kittest.RoundTrips{}
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{Tracer: trips})
	q := kitdb.New(d)
	p, owner := fixture(t, ctx, q)

	var want page
	for _, fn := range pageFns(&want, p.ProjectID, owner.AccountID) {
		if err := fn(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	trips.Reset()
	acquiresBefore := d.Stats().Acquires

	var got page
	if err := pgkit.Pipeline(ctx, d, kitdb.New, pageFns(&got, p.ProjectID, owner.AccountID)...); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pipelined page differs from sequential:\ngot  %+v\nwant %+v", got, want)
	}
	if len(got.Notes) != 3 || len(got.Jobs) != 3 {
		t.Fatalf("page has %d notes and %d jobs, want 3 and 3", len(got.Notes), len(got.Jobs))
	}
	queries, batches, batched := trips.Reset()
	if queries != 0 || batches != 1 || batched != 3 {
		t.Fatalf("Pipeline sent %d single queries and %d batches (%d queries); want one batch of 3", queries, batches, batched)
	}
	if n := d.Stats().Acquires - acquiresBefore; n != 1 {
		t.Fatalf("Pipeline took %d connections, want 1", n)
	}

	// Gather, for comparison, takes a connection per query.
	acquiresBefore = d.Stats().Acquires
	var gathered page
	if err := pgkit.Gather(ctx, d, kitdb.New, pageFns(&gathered, p.ProjectID, owner.AccountID)...); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gathered, want) {
		t.Fatalf("gathered page differs from sequential")
	}
	if n := d.Stats().Acquires - acquiresBefore; n != 3 {
		t.Fatalf("Gather took %d connections, want 3", n)
	}
}

func TestPipelineRounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	trips := &kittest.RoundTrips{}
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{Tracer: trips})
	q := kitdb.New(d)
	p, owner := fixture(t, ctx, q)
	trips.Reset()

	var stats kitdb.NoteStatsByProjectRow
	var updated int64
	var missingErr error
	var notes []kitdb.Note
	err := pgkit.Pipeline(ctx, d, kitdb.New,
		func(ctx context.Context, q *kitdb.Queries) error {
			// Two queries in a row: the second goes in round two.
			first, err := q.NoteListByProject(ctx, kitdb.NoteListByProjectParams{ProjectID: p.ProjectID, Max: 1})
			if err != nil {
				return err
			}
			notes, err = q.NoteListByProject(ctx, kitdb.NoteListByProjectParams{
				ProjectID: p.ProjectID, BeforeNoteID: first[0].NoteID, BeforeCreatedAt: first[0].CreatedAt, Max: 10,
			})
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) (err error) {
			stats, err = q.NoteStatsByProject(ctx, p.ProjectID)
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) (err error) {
			updated, err = q.AccountUpdateEmail(ctx, kitdb.AccountUpdateEmailParams{AccountID: owner.AccountID, Email: kittest.Ptr("p@example.com")})
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) error {
			_, missingErr = q.AccountGetByID(ctx, -7)
			return nil
		},
	)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 2 || stats.NoteCount != 3 || updated != 1 || !errors.Is(missingErr, pgerr.ErrNotFound) {
		t.Fatalf("notes %d, stats %+v, updated %d, missing %v", len(notes), stats, updated, missingErr)
	}
	if _, batches, batched := trips.Reset(); batches != 2 || batched != 5 {
		t.Fatalf("%d batches with %d queries, want 2 rounds with 4 + 1", batches, batched)
	}
	if a := kittest.Must(q.AccountGetByID(ctx, owner.AccountID))(t); a.Email == nil || *a.Email != "p@example.com" {
		t.Fatalf("the pipelined update was not kept: %+v", a)
	}
}

func TestPipelineErrorAnywhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := pgkittest.New(t, kitdb.Migrations())
	q := kitdb.New(d)
	p, owner := fixture(t, ctx, q)

	for failing := range 3 {
		var pg page
		fns := pageFns(&pg, p.ProjectID, owner.AccountID)
		// Replace one of the three with a write that breaks a constraint.
		fns[failing] = func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: p.ProjectID, AccountID: owner.AccountID, Priority: 9})
			return err
		}
		err := pgkit.Pipeline(ctx, d, kitdb.New, fns...)
		var ce *pgerr.ConstraintError
		if !errors.As(err, &ce) || ce.Constraint != "notes_priority_check" || ce.Query != "NoteCreate" {
			t.Fatalf("failing query %d: Pipeline error = %v, want the check violation of NoteCreate", failing, err)
		}
	}
	// A write in the same round as a failing query does not stay, whichever
	// of the two the batch holds first: the round is one implicit transaction.
	err := pgkit.Pipeline(ctx, d, kitdb.New,
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountUpdateEmail(ctx, kitdb.AccountUpdateEmailParams{AccountID: owner.AccountID, Email: kittest.Ptr("lost@example.com")})
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: p.ProjectID, AccountID: owner.AccountID, Priority: 9})
			return err
		},
	)
	if !errors.Is(err, pgerr.ErrCheckViolation) {
		t.Fatalf("error = %v, want the check violation", err)
	}
	if a := kittest.Must(q.AccountGetByID(ctx, owner.AccountID))(t); a.Email != nil {
		t.Fatalf("the write of a failed round stayed: email %q", *a.Email)
	}

	// The connection went back healthy: the next pipeline works.
	var pg page
	if err := pgkit.Pipeline(ctx, d, kitdb.New, pageFns(&pg, p.ProjectID, owner.AccountID)...); err != nil {
		t.Fatalf("pipeline after failures: %v", err)
	}
	if stats := kittest.Must(q.NoteStatsByProject(ctx, p.ProjectID))(t); stats.NoteCount != 3 {
		t.Fatalf("%d notes after failed pipelines, want 3", stats.NoteCount)
	}
}

func TestPipelineFnErrorsAndPanics(t *testing.T) {
	ctx, d, _ := setup(t)
	sentinel := errors.New("not allowed")
	err := pgkit.Pipeline(ctx, d, kitdb.New,
		func(ctx context.Context, q *kitdb.Queries) error { return sentinel },
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountList(ctx, kitdb.AccountListParams{Max: 1})
			return err
		},
	)
	if !errors.Is(err, sentinel) {
		t.Fatalf("error = %v, want the fn's error", err)
	}
	err = pgkit.Pipeline(ctx, d, kitdb.New, func(ctx context.Context, q *kitdb.Queries) error { panic("oops") })
	if err == nil || !strings.Contains(err.Error(), "panicked: oops") {
		t.Fatalf("error = %v, want the panic as an error", err)
	}
	err = pgkit.Pipeline(ctx, d, kitdb.New, func(ctx context.Context, q *kitdb.Queries) error {
		_, err := q.AccountCreateMany(ctx, []kitdb.AccountCreateManyParams{{Name: "a", Team: "b"}})
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "cannot run inside Pipeline") {
		t.Fatalf("COPY inside Pipeline: %v, want a clear refusal", err)
	}
}

func TestPipelineStreamAndMisuse(t *testing.T) {
	ctx, d, q := setup(t)
	kittest.Must(q.AccountCreateMany(ctx, []kitdb.AccountCreateManyParams{{Name: "a", Team: "1"}, {Name: "b", Team: "2"}}))(t)

	// A stream read inside a pipeline works; a query inside its loop is refused.
	var streamed int
	var nestedErr error
	err := pgkit.Pipeline(ctx, d, kitdb.New,
		func(ctx context.Context, q *kitdb.Queries) error {
			for a, err := range q.AccountExportStream(ctx, 0) {
				if err != nil {
					return err
				}
				streamed++
				if nestedErr == nil {
					_, nestedErr = q.AccountGetByID(ctx, a.AccountID)
				}
			}
			return nil
		},
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountList(ctx, kitdb.AccountListParams{Max: 5})
			return err
		},
	)
	if err != nil || streamed != 2 || nestedErr == nil || !strings.Contains(nestedErr.Error(), "still open") {
		t.Fatalf("err %v, streamed %d, nested %v", err, streamed, nestedErr)
	}

	// A fn that panics while holding a result, and one that never scans its
	// row, leave the connection usable.
	err = pgkit.Pipeline(ctx, d, kitdb.New,
		func(ctx context.Context, q *kitdb.Queries) error {
			for range q.AccountExportStream(ctx, 0) {
				panic("mid-stream")
			}
			return nil
		},
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountList(ctx, kitdb.AccountListParams{Max: 5})
			return err
		},
	)
	if err == nil || !strings.Contains(err.Error(), "mid-stream") {
		t.Fatalf("err %v, want the panic", err)
	}
	var accounts []kitdb.Account
	if err := pgkit.Pipeline(ctx, d, kitdb.New, func(ctx context.Context, q *kitdb.Queries) (err error) {
		accounts, err = q.AccountList(ctx, kitdb.AccountListParams{Max: 5})
		return err
	}); err != nil || len(accounts) != 2 {
		t.Fatalf("after misuse: %v, %d accounts", err, len(accounts))
	}
}
