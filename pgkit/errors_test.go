package pgkit_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

func TestNotFound(t *testing.T) {
	ctx, _, q := setup(t)
	_, err := q.AccountGetByID(ctx, 424242)
	if !errors.Is(err, pgerr.ErrNotFound) || !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("error = %v, want ErrNotFound (and pgx.ErrNoRows)", err)
	}
	if err.Error() != "AccountGetByID: not found" {
		t.Fatalf("error text %q, want the query name and no argument", err)
	}
}

func TestConstraintErrors(t *testing.T) {
	ctx, d, q := setup(t)
	const email = "secret.person@example.com"
	a := kittest.Must(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "C", Team: "E", Email: kittest.Ptr(email)}))(t)
	p := kittest.Must(q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "c", Name: "C", RateCents: 1}))(t)
	if _, err := d.Exec(ctx, `CREATE TABLE bookings (during box, EXCLUDE USING gist (during WITH &&))`); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO bookings VALUES ('((0,0),(2,2))')`); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		run      func() error
		kind     pgerr.ConstraintKind
		sentinel error
		want     string // the whole Error text
	}{
		{"unique", func() error {
			_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "C", Team: "E", Email: kittest.Ptr(strings.ToUpper(email))})
			return err
		}, pgerr.ConstraintUnique, pgerr.ErrUniqueViolation, `AccountCreate: unique violation on constraint "accounts_email_lower_key" of table "accounts"`},
		{"foreign key", func() error {
			_, err := q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: 999999, AccountID: a.AccountID, Priority: 3})
			return err
		}, pgerr.ConstraintForeignKey, pgerr.ErrForeignKeyViolation, `NoteCreate: foreign key violation on constraint "notes_project_id_fkey" of table "notes"`},
		{"check", func() error {
			_, err := q.NoteCreate(ctx, kitdb.NoteCreateParams{ProjectID: p.ProjectID, AccountID: a.AccountID, Priority: 9})
			return err
		}, pgerr.ConstraintCheck, pgerr.ErrCheckViolation, `NoteCreate: check violation on constraint "notes_priority_check" of table "notes"`},
		{"not null", func() error {
			_, err := d.Exec(ctx, "INSERT INTO accounts (name, team) VALUES ($1, NULL)", "Nobody")
			return err
		}, pgerr.ConstraintNotNull, pgerr.ErrNotNullViolation, `not-null violation on column "team" of table "accounts"`},
		{"exclusion", func() error {
			_, err := d.Exec(ctx, `INSERT INTO bookings VALUES ('((1,1),(3,3))')`)
			return err
		}, pgerr.ConstraintExclusion, pgerr.ErrExclusionViolation, `exclusion violation on constraint "bookings_during_excl" of table "bookings"`},
	} {
		err := tc.run()
		var ce *pgerr.ConstraintError
		if !errors.As(err, &ce) {
			t.Errorf("%s: error %v (%T) is not a *ConstraintError", tc.name, err, err)
			continue
		}
		if ce.Kind != tc.kind || !errors.Is(err, tc.sentinel) || err.Error() != tc.want {
			t.Errorf("%s: got kind %v, text %q; want %v, %q", tc.name, ce.Kind, err.Error(), tc.kind, tc.want)
		}
		for _, other := range []error{pgerr.ErrUniqueViolation, pgerr.ErrForeignKeyViolation, pgerr.ErrCheckViolation, pgerr.ErrNotNullViolation, pgerr.ErrExclusionViolation} {
			if other != tc.sentinel && errors.Is(err, other) {
				t.Errorf("%s: error also matches %v", tc.name, other)
			}
		}
		if ce.Detail == "" {
			t.Errorf("%s: no detail from PostgreSQL", tc.name)
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			t.Errorf("%s: the *pgconn.PgError is not reachable", tc.name)
		}
		if again, ok := pgerr.AsConstraint(pgErr); !ok || again.Constraint != ce.Constraint {
			t.Errorf("%s: AsConstraint on the bare PgError = %+v, %v", tc.name, again, ok)
		}
	}
	// The unique violation's detail has the value; its error text must not.
	_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "C", Team: "E", Email: kittest.Ptr(email)})
	ce, _ := pgerr.AsConstraint(err)
	if strings.Contains(err.Error(), email) || ce == nil || !strings.Contains(ce.Detail, email) {
		t.Errorf("error %q / detail %v: the value belongs in Detail only", err, ce)
	}
}

func TestDataErrorsHideInput(t *testing.T) {
	ctx, _, q := setup(t)
	_, err := q.JobListByState(ctx, kitdb.JobListByStateParams{State: "s3cret-state", Max: 1})
	var pgErr *pgconn.PgError
	if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "22P02" {
		t.Fatalf("error = %v, want invalid_text_representation", err)
	}
	if strings.Contains(err.Error(), "s3cret") || !strings.HasPrefix(err.Error(), "JobListByState: ") {
		t.Fatalf("error text %q: want the query name and no input value", err)
	}
}

func TestErrorClassifiers(t *testing.T) {
	ctx, d, q := setup(t)
	p1 := kittest.Must(q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "1", Name: "1", RateCents: 1, Credits: 1}))(t)
	p2 := kittest.Must(q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "2", Name: "2", RateCents: 1, Credits: 1}))(t)

	// Deadlock: two transactions lock the same two rows in opposite orders.
	locked := make(chan struct{}, 2)
	proceed := make(chan struct{})
	errs := make(chan error, 2)
	for _, order := range [][2]int64{{p1.ProjectID, p2.ProjectID}, {p2.ProjectID, p1.ProjectID}} {
		go func() {
			errs <- pgkit.WithTxOptions(ctx, d, kitdb.New, pgkit.TxOptions{MaxAttempts: 1}, func(q *kitdb.Queries) error {
				if _, err := q.ProjectAdjustCredits(ctx, kitdb.ProjectAdjustCreditsParams{ProjectID: order[0], Delta: 1}); err != nil {
					return err
				}
				locked <- struct{}{}
				<-proceed
				_, err := q.ProjectAdjustCredits(ctx, kitdb.ProjectAdjustCreditsParams{ProjectID: order[1], Delta: 1})
				return err
			})
		}()
	}
	<-locked
	<-locked
	close(proceed)
	e1, e2 := <-errs, <-errs
	if (e1 == nil) == (e2 == nil) || !(pgerr.IsDeadlock(e1) || pgerr.IsDeadlock(e2)) || !pgerr.IsRetryable(errors.Join(e1, e2)) {
		t.Fatalf("errors %v and %v: want exactly one deadlock", e1, e2)
	}

	// Lock timeout: a row held by another transaction.
	var lockErr error
	err := pgkit.WithTx(ctx, d, kitdb.New, func(q *kitdb.Queries) error {
		if _, err := q.ProjectAdjustCredits(ctx, kitdb.ProjectAdjustCreditsParams{ProjectID: p1.ProjectID, Delta: 1}); err != nil {
			return err
		}
		c, err := d.Pool().Acquire(ctx)
		if err != nil {
			return err
		}
		defer c.Release()
		if _, err := c.Exec(ctx, "SET lock_timeout = '50ms'"); err != nil {
			return err
		}
		_, lockErr = c.Exec(ctx, "UPDATE projects SET credits = credits + 1 WHERE project_id = $1", p1.ProjectID)
		return nil
	})
	if err != nil || !pgerr.IsLockTimeout(lockErr) || pgerr.IsDeadlock(lockErr) {
		t.Fatalf("lock timeout: %v / %v, want a lock timeout", err, lockErr)
	}

	// Statement timeout and context cancellation.
	c, err := d.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if _, err := c.Exec(ctx, "SET statement_timeout = '50ms'"); err != nil {
		t.Fatal(err)
	}
	_, err = c.Exec(ctx, "SELECT pg_sleep(5)")
	if !pgerr.IsStatementTimeout(err) || !pgerr.IsQueryCanceled(err) {
		t.Fatalf("statement timeout: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err = d.Exec(short, "SELECT pg_sleep(5)")
	if !pgerr.IsQueryCanceled(err) || pgerr.IsStatementTimeout(err) {
		t.Fatalf("context deadline: %v, want IsQueryCanceled only", err)
	}
}

func TestRawSQLErrorsHaveNoEmptyName(t *testing.T) {
	ctx, d, _ := setup(t)
	_, err := d.Exec(ctx, "SELECT * FROM no_such_table")
	if err == nil || strings.HasPrefix(err.Error(), ":") || !strings.Contains(err.Error(), "no_such_table") {
		t.Fatalf("error text %q", err)
	}
}
