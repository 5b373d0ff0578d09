package pgkit_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
)

func TestStreamMatchesSlice(t *testing.T) {
	ctx, d, q := setup(t)
	a := kittest.Must(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "S", Team: "S", Email: kittest.Ptr("s@example.com")}))(t)
	kittest.Must(q.AccountCreateMany(ctx, []kitdb.AccountCreateManyParams{{Name: "a", Team: "b"}, {Name: "c", Team: "d"}}))(t)
	for i := range 3 {
		kittest.Must(q.JobCreate(ctx, kitdb.JobCreateParams{AccountID: a.AccountID, State: kitdb.AllJobStateValues()[i], CostCents: int64(i)}))(t)
	}

	all := kittest.Must(q.AccountExport(ctx, 0))(t)
	var streamed []kitdb.Account
	for a, err := range q.AccountExportStream(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		streamed = append(streamed, a)
	}
	if len(all) != 3 || !reflect.DeepEqual(all, streamed) {
		t.Fatalf("stream %+v != slice %+v", streamed, all)
	}

	window := kitdb.JobExportParams{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)}
	jobs := kittest.Must(q.JobExport(ctx, window))(t)
	var streamedJobs []kitdb.Job
	for j, err := range q.JobExportStream(ctx, window) {
		if err != nil {
			t.Fatal(err)
		}
		streamedJobs = append(streamedJobs, j)
	}
	if len(jobs) != 3 || !reflect.DeepEqual(jobs, streamedJobs) {
		t.Fatalf("job stream %+v != slice %+v", streamedJobs, jobs)
	}

	// A bad query yields its error once.
	n := 0
	for _, err := range pgkit.Stream[kitdb.Account](ctx, d, "SELECT * FROM no_such_table") {
		n++
		if err == nil {
			t.Fatal("want an error")
		}
	}
	if n != 1 {
		t.Fatalf("%d items from a failing query, want 1 error", n)
	}
	// A row type that does not fit the columns is an error, not a panic.
	for _, err := range pgkit.Stream[struct{ A int64 }](ctx, d, "SELECT 1::bigint, 2::bigint") {
		if err == nil {
			t.Fatal("want a scan error")
		}
	}
}

func TestStreamBreakReleasesConnection(t *testing.T) {
	ctx, d, q := setup(t)
	if _, err := d.Exec(ctx, "INSERT INTO accounts (name, team) SELECT 'N', 'T' FROM generate_series(1, 1000)"); err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, err := range q.AccountExportStream(ctx, 0) {
		if err != nil {
			t.Fatal(err)
		}
		seen++
		if d.Stats().InUse != 1 {
			t.Fatalf("%d connections in use while streaming, want 1", d.Stats().InUse)
		}
		if seen == 10 {
			break
		}
	}
	if n := d.Stats().InUse; n != 0 {
		t.Fatalf("%d connections still in use after break", n)
	}
	if _, err := q.AccountGetByID(ctx, 1); err != nil && !errors.Is(err, pgerr.ErrNotFound) {
		t.Fatal(err)
	}
}

// TestStreamOfNonStructIsAnError: pgx's positional struct scan panics on a
// T that is not a struct; Stream yields an error naming T instead.
func TestStreamOfNonStructIsAnError(t *testing.T) {
	ctx, d, _ := setup(t)
	n := 0
	for v, err := range pgkit.Stream[int32](ctx, d, "SELECT 1") {
		n++
		if err == nil || !strings.Contains(err.Error(), "int32 is not a struct") {
			t.Fatalf("Stream[int32]: %v, %v; want an error naming int32", v, err)
		}
	}
	if n != 1 {
		t.Fatalf("Stream[int32] yielded %d times, want one error", n)
	}
}
