package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// muxDB opens a multiplexing DB on its own fresh database, with conns
// lanes (and one connection more, for transactions and streams), and a
// plain one on the same database.
func muxDB(t *testing.T, conns int32, depth int) (mux, plain *pgkit.DB, url string) {
	t.Helper()
	url = pgkittest.URL(t, kitdb.Migrations())
	open := func(cfg pgkit.Config) *pgkit.DB {
		d, err := pgkit.Open(context.Background(), url, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		return d
	}
	mux = open(pgkit.Config{MaxConns: conns + 1, MultiplexConns: conns, Multiplex: true, MultiplexDepth: depth, ApplicationName: "mux", AcquireTimeout: time.Minute}) // a hang guard: 16 MB statements queue behind each other on a loaded machine
	plain = open(pgkit.Config{MaxConns: 4, ApplicationName: "plain"})
	if !mux.Multiplexing() || plain.Multiplexing() {
		t.Fatal("Config.Multiplex not honoured")
	}
	return mux, plain, url
}

// TestMultiplexSameResultsAsPool runs the generated methods of each kind
// (:one, :many, :exec, :execrows, :copyfrom's neighbours) and their errors on a
// multiplexing DB and on a plain pool over the same data: same values, same
// typed errors.
func TestMultiplexSameResultsAsPool(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mx, plain, _ := muxDB(t, 2, 0)
	qm, qp := kitdb.New(mx), kitdb.New(plain)
	project, owner := fixture(t, ctx, qp)

	same := func(name string, a, b any, errA, errB error) {
		t.Helper()
		if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
			t.Errorf("%s: errors differ: multiplexed %v, pool %v", name, errA, errB)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: results differ:\nmultiplexed %+v\npool        %+v", name, a, b)
		}
	}
	a1, e1 := qm.AccountGetByID(ctx, owner.AccountID)
	a2, e2 := qp.AccountGetByID(ctx, owner.AccountID)
	same("AccountGetByID", a1, a2, e1, e2)
	if a1.AccountID != owner.AccountID {
		t.Fatalf("AccountGetByID returned %+v", a1)
	}
	n1, e1 := qm.NoteListByProject(ctx, kitdb.NoteListByProjectParams{ProjectID: project.ProjectID, Max: 10})
	n2, e2 := qp.NoteListByProject(ctx, kitdb.NoteListByProjectParams{ProjectID: project.ProjectID, Max: 10})
	same("NoteListByProject", n1, n2, e1, e2)
	if len(n1) != 3 {
		t.Fatalf("NoteListByProject: %d notes, want 3", len(n1))
	}
	j1, e1 := qm.JobListByAccount(ctx, kitdb.JobListByAccountParams{AccountID: owner.AccountID, Max: 10})
	j2, e2 := qp.JobListByAccount(ctx, kitdb.JobListByAccountParams{AccountID: owner.AccountID, Max: 10})
	same("JobListByAccount", j1, j2, e1, e2)
	l1, e1 := qm.AccountList(ctx, kitdb.AccountListParams{Max: 100})
	l2, e2 := qp.AccountList(ctx, kitdb.AccountListParams{Max: 100})
	same("AccountList", l1, l2, e1, e2)
	empty, e1 := qm.JobListByAccount(ctx, kitdb.JobListByAccountParams{AccountID: -1, Max: 10})
	if e1 != nil || empty == nil || len(empty) != 0 {
		t.Errorf("empty list: %#v, %v; want an empty, non-nil slice", empty, e1)
	}

	// Typed errors: not found, and a constraint violation naming its constraint.
	_, e1 = qm.AccountGetByID(ctx, -1)
	_, e2 = qp.AccountGetByID(ctx, -1)
	same("AccountGetByID(-1)", nil, nil, e1, e2)
	if !errors.Is(e1, pgerr.ErrNotFound) {
		t.Errorf("not found: %v, want pgerr.ErrNotFound", e1)
	}
	email := "dup@example.com"
	if _, err := qm.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "A", Team: "B", Email: &email}); err != nil {
		t.Fatal(err)
	}
	_, e1 = qm.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "A", Team: "B", Email: &email})
	_, e2 = qp.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "A", Team: "B", Email: &email})
	same("AccountCreate duplicate", nil, nil, e1, e2)
	if ce, ok := pgerr.AsConstraint(e1); !ok || ce.Kind != pgerr.ConstraintUnique {
		t.Errorf("duplicate e-mail: %v, want a unique *ConstraintError", e1)
	}

	// :exec and :execrows report what they changed.
	n, err := qm.ProjectAdjustCredits(ctx, kitdb.ProjectAdjustCreditsParams{ProjectID: project.ProjectID, Delta: -2})
	if err != nil || n != project.Credits-2 {
		t.Fatalf("ProjectAdjustCredits: %d, %v", n, err)
	}
	p, _ := qp.ProjectGetByID(ctx, project.ProjectID)
	if p.Credits != project.Credits-2 {
		t.Errorf("credits %d after -2 from %d", p.Credits, project.Credits)
	}
	if err := qm.NoteDelete(ctx, n1[0].NoteID); err != nil {
		t.Errorf("NoteDelete: %v", err)
	}
	if left, err := qp.NoteListByProject(ctx, kitdb.NoteListByProjectParams{ProjectID: project.ProjectID, Max: 10}); err != nil || len(left) != 2 {
		t.Errorf("after NoteDelete: %d notes, %v; want 2", len(left), err)
	}
	tag, err := mx.Exec(ctx, "UPDATE projects SET credits = credits + 1 WHERE project_id = $1", project.ProjectID)
	if err != nil || tag.RowsAffected() != 1 || !tag.Update() {
		t.Errorf("Exec: %v, %v", tag, err)
	}

	// Rows' other methods: Values decodes as pgx does.
	rows, err := mx.Query(ctx, "SELECT $1::int8 AS n, 'x'::text AS s, NULL::int4 AS z, now() AS t", int64(7))
	if err != nil {
		t.Fatal(err)
	}
	if !rows.Next() {
		t.Fatal("no row")
	}
	vals, err := rows.Values()
	if err != nil || vals[0] != int64(7) || vals[1] != "x" || vals[2] != nil {
		t.Errorf("Values: %#v, %v", vals, err)
	}
	if _, ok := vals[3].(time.Time); !ok {
		t.Errorf("timestamptz decoded as %T", vals[3])
	}
	if names := fieldNames(rows.FieldDescriptions()); names != "n,s,z,t" {
		t.Errorf("fields %s", names)
	}
	if rows.Next() {
		t.Error("a second row")
	}
	if rows.Err() != nil || rows.CommandTag().String() != "SELECT 1" {
		t.Errorf("end: %v, tag %q", rows.Err(), rows.CommandTag())
	}
	if st := mx.MultiplexStats(); st.Statements == 0 || st.Prepares == 0 {
		t.Errorf("nothing went through the multiplexer: %+v", st)
	}
}

func fieldNames(fds []pgconn.FieldDescription) string {
	var s []string
	for _, f := range fds {
		s = append(s, f.Name)
	}
	return strings.Join(s, ",")
}

// TestMultiplexThousandCallers: 1,000 goroutines on 4 connections, each
// with its own mix of statements, a third of them failing (unique
// violation, not found, division by zero): every caller gets exactly its
// own result or its own error.
func TestMultiplexThousandCallers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mx, _, _ := muxDB(t, 4, 50) // 200 slots for 1,000 callers: some wait for room
	q := kitdb.New(mx)
	taken := "taken@example.com"
	if _, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "T", Team: "T", Email: &taken}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var wrong atomic.Int64
	var kinds [5]atomic.Int64
	fail := func(format string, args ...any) {
		if wrong.Add(1) <= 10 {
			t.Errorf(format, args...)
		}
	}
	for g := range 1000 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(g), 7))
			for i := range 8 {
				token := fmt.Sprintf("g%d-i%d", g, i)
				switch k := r.IntN(5); k {
				case 0: // own value back, several rows
					kinds[k].Add(1)
					rows, err := mx.Query(ctx, "SELECT $1::text || '-' || g FROM generate_series(1, $2::int) g", token, 1+i)
					if err != nil {
						fail("%s: %v", token, err)
						continue
					}
					got, err := pgx.CollectRows(rows, pgx.RowTo[string])
					if err != nil || len(got) != 1+i || got[i] != fmt.Sprintf("%s-%d", token, 1+i) {
						fail("%s: got %v, %v", token, got, err)
					}
				case 1: // unique violation
					kinds[k].Add(1)
					_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: token, Team: "x", Email: &taken})
					if ce, ok := pgerr.AsConstraint(err); !ok || ce.Kind != pgerr.ConstraintUnique {
						fail("%s: duplicate: %v", token, err)
					}
				case 2: // not found
					kinds[k].Add(1)
					_, err := q.AccountGetByID(ctx, -int64(g*10+i))
					if !errors.Is(err, pgerr.ErrNotFound) || !strings.Contains(err.Error(), "AccountGetByID") {
						fail("%s: not found: %v", token, err)
					}
				case 3: // division by zero after some rows: the caller's error, nobody else's
					kinds[k].Add(1)
					rows, err := mx.Query(ctx, "SELECT 10 / (3 - g) FROM generate_series(1, 5) g WHERE $1::text <> ''", token)
					if err == nil {
						_, err = pgx.CollectRows(rows, pgx.RowTo[int32])
					}
					if pgerr.SQLState(err) != "22012" {
						fail("%s: division by zero: %v", token, err)
					}
				case 4: // a write that counts
					kinds[k].Add(1)
					var echoed string
					err := mx.QueryRow(ctx, "INSERT INTO accounts (name, team) VALUES ($1, 'mux') RETURNING name", token).Scan(&echoed)
					if err != nil || echoed != token {
						fail("%s: insert returned %q, %v", token, echoed, err)
					}
				}
			}
		})
	}
	wg.Wait()
	var inserted int64
	if err := mx.QueryRow(ctx, "SELECT count(*) FROM accounts WHERE team = 'mux'").Scan(&inserted); err != nil {
		t.Fatal(err)
	}
	if inserted != kinds[4].Load() {
		t.Errorf("%d inserts committed, %d callers inserted: a failure beside them cost a write", inserted, kinds[4].Load())
	}
	st := mx.MultiplexStats()
	t.Logf("kinds %v; stats %+v", []int64{kinds[0].Load(), kinds[1].Load(), kinds[2].Load(), kinds[3].Load(), kinds[4].Load()}, st)
	if st.Waited == 0 {
		t.Error("no caller waited for room: the depth bound was not exercised")
	}
	if st.LanesLost != 0 {
		t.Errorf("%d lanes lost", st.LanesLost)
	}
}

// TestMultiplexRefusesSessionState: statements that would change the
// shared session fail with ErrSessionState without reaching the server,
// and work inside a transaction.
func TestMultiplexRefusesSessionState(t *testing.T) {
	t.Parallel()
	mx, _, _ := muxDB(t, 1, 0)
	ctx := context.Background()
	for _, sql := range []string{
		"SET statement_timeout = 1",
		"-- name: X :exec\nset  search_path = nowhere",
		"/* c */ RESET ALL",
		"BEGIN",
		"LISTEN chan",
		"CREATE TEMP TABLE t (x int)",
		"create temporary table t (x int)",
		"SELECT pg_advisory_lock(1)",
		"SELECT pg_try_advisory_lock_shared(1)",
		"SELECT set_config('statement_timeout', '1', false)",
		"DECLARE c CURSOR FOR SELECT 1",
		"DISCARD ALL",
	} {
		_, err := mx.Exec(ctx, sql)
		if !errors.Is(err, pgkit.ErrSessionState) {
			t.Errorf("%q: %v, want ErrSessionState", sql, err)
		}
	}
	// Not refused: transaction-scoped forms.
	for _, sql := range []string{
		"SELECT pg_advisory_xact_lock(1)",
		"SELECT set_config('statement_timeout', '1', true)",
		"SET LOCAL statement_timeout = 1",
		"SELECT 'SET x = 1'",
	} {
		if _, err := mx.Exec(ctx, sql); err != nil {
			t.Errorf("%q: %v", sql, err)
		}
	}
	var timeout string
	if err := mx.QueryRow(ctx, "SHOW statement_timeout").Scan(&timeout); err != nil || timeout != "0" {
		t.Errorf("statement_timeout = %q, %v: a session setting leaked", timeout, err)
	}
	// In a transaction the connection is the caller's own.
	err := pgkit.WithTx(ctx, mx, kitdb.New, func(q *kitdb.Queries) error {
		if _, err := q.DB().Exec(ctx, "SET LOCAL statement_timeout = 1234"); err != nil {
			return err
		}
		if _, err := q.DB().Exec(ctx, "CREATE TEMP TABLE t (x int) ON COMMIT DROP"); err != nil {
			return err
		}
		return q.DB().QueryRow(ctx, "SHOW statement_timeout").Scan(&timeout)
	})
	if err != nil || timeout != "1234ms" {
		t.Errorf("in a transaction: %q, %v", timeout, err)
	}
}

// TestMultiplexGatherIsPipelined: the page of pageFns written with plain
// concurrent calls (Gather), 30 pages at once on one multiplexed
// connection: every page complete and right, and their statements share
// the connection's round trips instead of queueing for connections.
func TestMultiplexGatherIsPipelined(t *testing.T) {
	t.Parallel()
	mx := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2, MultiplexConns: 1, Multiplex: true, ApplicationName: "mux"})
	ctx := context.Background()
	q := kitdb.New(mx)
	project, owner := fixture(t, ctx, q)
	before := mx.MultiplexStats()
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			var p kitdb.Project
			var notes []kitdb.Note
			var jobs []kitdb.Job
			err := pgkit.Gather(ctx, mx, kitdb.New,
				func(ctx context.Context, q *kitdb.Queries) (err error) {
					p, err = q.ProjectGetByID(ctx, project.ProjectID)
					return err
				},
				func(ctx context.Context, q *kitdb.Queries) (err error) {
					notes, err = q.NoteListByProject(ctx, kitdb.NoteListByProjectParams{ProjectID: project.ProjectID, Max: 10})
					return err
				},
				func(ctx context.Context, q *kitdb.Queries) (err error) {
					jobs, err = q.JobListByAccount(ctx, kitdb.JobListByAccountParams{AccountID: owner.AccountID, Max: 10})
					return err
				},
			)
			if err != nil || p.ProjectID != project.ProjectID || len(notes) != 3 || len(jobs) != 3 {
				t.Errorf("page: %v; project %d, %d notes, %d jobs", err, p.ProjectID, len(notes), len(jobs))
			}
		})
	}
	wg.Wait()
	st := mx.MultiplexStats()
	if n := st.Statements - before.Statements; n != 90 {
		t.Errorf("%d statements multiplexed, want 90", n)
	}
	if st.Pipelined-before.Pipelined == 0 {
		t.Error("no statement was pipelined behind another: 30 pages on one connection should overlap")
	}
	if st.Lanes > 1 {
		t.Errorf("%d lanes, MultiplexConns is 1", st.Lanes)
	}
	t.Logf("stats %+v", st)
}

// TestMultiplexMixedWithTxAndStreams: transactions, streams and
// multiplexed statements at once on one pool, the way an application mixes
// them: each transaction sees its own writes and commits them whole, each
// stream yields every row in order, each statement its own value.
func TestMultiplexMixedWithTxAndStreams(t *testing.T) {
	t.Parallel()
	mx, _, _ := muxDB(t, 6, 0)
	ctx := context.Background()
	q := kitdb.New(mx)
	if _, err := mx.Exec(ctx, "INSERT INTO accounts (name, team) SELECT 'N' || g, 'T' FROM generate_series(1, 2000) g"); err != nil {
		t.Fatal(err)
	}
	p, err := q.ProjectCreate(ctx, kitdb.ProjectCreateParams{Slug: "MIX", Name: "Mix", RateCents: 1, Credits: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var committed atomic.Int64
	for g := range 40 { // multiplexed point reads
		wg.Go(func() {
			for i := range 30 {
				id := int64(1 + (g*30+i)%2000)
				a, err := q.AccountGetByID(ctx, id)
				if err != nil || a.AccountID != id {
					t.Errorf("AccountGetByID(%d) = %d, %v", id, a.AccountID, err)
					return
				}
			}
		})
	}
	for range 4 { // transactions: take one unit, read it back inside, session-local setting
		wg.Go(func() {
			for range 10 {
				err := pgkit.WithTx(ctx, mx, kitdb.New, func(q *kitdb.Queries) error {
					if _, err := q.DB().Exec(ctx, "SET LOCAL lock_timeout = '5s'"); err != nil {
						return err
					}
					credits, err := q.ProjectAdjustCredits(ctx, kitdb.ProjectAdjustCreditsParams{ProjectID: p.ProjectID, Delta: -1})
					if err != nil {
						return err
					}
					again, err := q.ProjectGetByID(ctx, p.ProjectID)
					if err != nil {
						return err
					}
					if again.Credits != credits {
						return fmt.Errorf("inside the transaction credits %d, just set to %d", again.Credits, credits)
					}
					return nil
				})
				if err != nil {
					t.Errorf("transaction: %v", err)
					return
				}
				committed.Add(1)
			}
		})
	}
	for s := range 3 { // streams: every row, in order, on their own connections
		wg.Go(func() {
			for range 3 {
				var n int
				var last int64
				for a, err := range q.AccountExportStream(ctx, 0) {
					if err != nil {
						t.Errorf("stream: %v", err)
						return
					}
					if a.AccountID <= last {
						t.Errorf("stream out of order: %d after %d", a.AccountID, last)
						return
					}
					last = a.AccountID
					n++
					if s == 0 && n == 500 {
						break // a stream left early gives its connection back
					}
				}
				if want := map[bool]int{true: 500, false: 2000}[s == 0]; n != want {
					t.Errorf("stream %d yielded %d rows, want %d", s, n, want)
				}
			}
		})
	}
	wg.Wait()
	got, err := q.ProjectGetByID(ctx, p.ProjectID)
	if err != nil || int64(got.Credits) != 1000-committed.Load() {
		t.Errorf("credits %d after %d committed transactions of -1 from 1000 (%v)", got.Credits, committed.Load(), err)
	}
	if st := mx.MultiplexStats(); st.LanesLost != 0 || st.Statements < 1200 {
		t.Errorf("stats %+v", st)
	}
}

// TestMultiplexFullIsPoolExhausted: with every multiplexed connection at
// its depth for longer than AcquireTimeout, the next caller gets
// ErrPoolExhausted, not a hang; once room frees, callers are served again.
func TestMultiplexFullIsPoolExhausted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mx := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{MaxConns: 2, MultiplexConns: 1, MultiplexDepth: 2, Multiplex: true, AcquireTimeout: 100 * time.Millisecond})
	// The lane connected first: on a loaded machine connecting took longer
	// than the 100 ms bound, which failed the statements that fill it.
	waitFor(t, 30*time.Second, func() bool { _, err := mx.Exec(ctx, "SELECT 1"); return err == nil })
	before := mx.MultiplexStats().Statements
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := mx.Exec(ctx, "SELECT pg_sleep(0.5)"); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, 5*time.Second, func() bool { return mx.MultiplexStats().Statements == before+2 })
	_, err := mx.Exec(ctx, "SELECT 1")
	var pe *pgkit.PoolExhaustedError
	if !errors.Is(err, pgkit.ErrPoolExhausted) || !errors.As(err, &pe) {
		t.Errorf("third statement on a full multiplexer: %v, want ErrPoolExhausted", err)
	}
	wg.Wait()
	var n int
	if err := mx.QueryRow(ctx, "SELECT 5").Scan(&n); err != nil || n != 5 {
		t.Errorf("after room freed: %d, %v", n, err)
	}
}
