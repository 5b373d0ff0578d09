// Package conform runs the queries of a corpus package (a sqlc package
// written for pgkit's conformance corpus, not the shop's) in every way
// pgkit offers to run them, against a real PostgreSQL:
//
//   - "pool": on a *pgkit.DB;
//   - "multiplex": on a *pgkit.DB with Config.Multiplex;
//   - "tx": inside pgkit.WithTx, each step in a savepoint of its own
//     (WithTx nested), so that a step that makes a statement fail on
//     purpose rolls back only itself;
//   - "pipeline": each step alone through pgkit.Pipeline, then every Read
//     step at once through one Pipeline, one Gather, and one Pipeline on
//     the DB() of a transaction's Queries.
//
// Each mode gets a database of its own, migrated with the package's
// migrations. In every mode every :many method of the package must have
// been compared with its …Stream (Many) at least once.
package conform

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// Package describes a corpus package to the harness.
type Package struct {
	// Migrations are the package's goose migrations.
	Migrations fs.FS
	// Queries is a *Queries of the package (a nil pointer will do): its
	// :many methods are the ones each mode must compare with their streams.
	Queries any
	// Config is the base pgkit.Config of every mode's DB (e.g. with
	// AfterConnect registering the package's types). Multiplex is set for
	// the "multiplex" mode.
	Config pgkit.Config
	// Batch is a *Batch of the package (a nil pointer will do), the type
	// pgkitgen generates to queue queries: every :many query Many runs is
	// also run twice through one Batch and compared (not in "pipeline").
	// Nil: not checked.
	Batch any
	// Decoders are the package's generated Decoders(), or nil when it has
	// none: every mode then also runs with them in Config.Decoders (as
	// "pool+decoders", …, "pipeline+decoders", their Mode the
	// same, C.Decoded set), so that every value the scenario checks is
	// decoded by them as well as by pgx.
	Decoders pgkit.Decoders
}

// Step is one step of a package's scenario. Steps run in order; later
// steps may rely on what earlier ones wrote.
type Step[Q any] struct {
	// Name names the step in failures.
	Name string
	// Read says the step only reads: it also runs concurrently with the
	// other Read steps (through Pipeline and Gather), so it must not
	// depend on their order.
	Read bool
	// Direct says the step uses COPY or a :batch method, which Pipeline
	// refuses: in the "pipeline" mode it runs on the DB, not through it.
	Direct bool
	// Run runs the step on q, asserting with c. It returns the error of a
	// statement it made fail on purpose (the "tx" mode then rolls back the
	// step's savepoint, as a failed statement aborts the transaction), or
	// nil.
	Run func(c *C, q Q) error
}

// C is what a step asserts with: the test, the step's context and mode.
type C struct {
	testing.TB
	// Ctx is the context the step's queries run with.
	Ctx context.Context
	// Mode is "pool", "multiplex", "tx" or "pipeline".
	Mode string
	// DB is the mode's pool, for steps that must look at the database
	// outside the mode (e.g. count rows).
	DB *pgkit.DB
	// Decoded says the mode's DB has the package's Config.Decoders.
	Decoded bool

	batch    reflect.Type // Package.Batch's element type, or nil
	mu       *sync.Mutex
	compared map[string]bool
}

func (c *C) compare(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.compared[name] = true
}

// Run runs the steps made by steps in every mode (each mode makes its own,
// so that modes running in parallel share no variables). newQ is the
// package's New, or for a package generated with
// emit_methods_with_db_argument a function returning the DB it is given
// (steps then call the package's Queries with it).
func Run[D pgkit.DBTX, Q any](t *testing.T, p Package, newQ func(D) Q, steps func() []Step[Q]) {
	t.Helper()
	modes := []string{"pool", "multiplex", "tx", "pipeline"}
	if p.Decoders != nil {
		modes = append(modes, "pool+decoders", "multiplex+decoders", "tx+decoders", "pipeline+decoders")
	}
	for _, name := range modes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mode, decoded := strings.CutSuffix(name, "+decoders")
			cfg := p.Config
			cfg.Multiplex = mode == "multiplex"
			if decoded {
				cfg.Decoders = p.Decoders
			}
			db := pgkittest.NewWithConfig(t, p.Migrations, cfg)
			c := &C{TB: t, Ctx: t.Context(), Mode: mode, DB: db, Decoded: decoded, mu: new(sync.Mutex), compared: map[string]bool{}}
			if p.Batch != nil {
				c.batch = reflect.TypeOf(p.Batch).Elem()
			}
			steps := steps()
			switch mode {
			case "pool", "multiplex":
				runSteps(t, c, steps, func(s Step[Q]) {
					q, err := bind(newQ, db)
					if err != nil {
						t.Fatal(err)
					}
					_ = s.Run(c, q)
				})
			case "tx":
				runTx(t, c, db, newQ, steps)
			case "pipeline":
				runPipeline(t, c, db, newQ, steps)
			}
			checkCompared(t, c, p.Queries)
		})
	}
}

// bind applies newQ to a pgkit DBTX, as pgkit's helpers do.
func bind[D pgkit.DBTX, Q any](newQ func(D) Q, x pgkit.DBTX) (Q, error) {
	d, ok := x.(D)
	if !ok {
		var zero Q
		return zero, fmt.Errorf("%T does not implement %v", x, reflect.TypeFor[D]())
	}
	return newQ(d), nil
}

func runSteps[Q any](t *testing.T, c *C, steps []Step[Q], run func(Step[Q])) {
	for _, s := range steps {
		run(s)
		if t.Failed() {
			t.Fatalf("%s: step %q failed", c.Mode, s.Name)
		}
	}
}

// errRollback rolls a step's savepoint back.
var errRollback = errors.New("conform: roll back the step")

func runTx[D pgkit.DBTX, Q any](t *testing.T, c *C, db *pgkit.DB, newQ func(D) Q, steps []Step[Q]) {
	err := pgkit.WithTx(c.Ctx, db, newQ, func(outer Q) error {
		tx := dbOf(t, outer)
		runSteps(t, c, steps, func(s Step[Q]) {
			err := pgkit.WithTx(c.Ctx, tx, newQ, func(q Q) error {
				if err := s.Run(c, q); err != nil {
					return errors.Join(errRollback, err)
				}
				return nil
			})
			if err != nil && !errors.Is(err, errRollback) {
				t.Errorf("step %q in a savepoint: %v", s.Name, err)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatalf("WithTx: %v", err)
	}
}

func runPipeline[D pgkit.DBTX, Q any](t *testing.T, c *C, db *pgkit.DB, newQ func(D) Q, steps []Step[Q]) {
	var reads []func(context.Context, Q) error // consecutive Read steps, run together before the next other step
	runSteps(t, c, steps, func(s Step[Q]) {
		if !s.Read {
			concurrentReads(t, c, db, newQ, reads)
			reads = nil
		}
		if s.Direct {
			q, err := bind(newQ, db)
			if err != nil {
				t.Fatal(err)
			}
			_ = s.Run(c, q)
			return
		}
		var stepErr error // the error the step made on purpose
		fn := func(ctx context.Context, q Q) error {
			defer func() {
				if r := recover(); r != nil && r != errAbort {
					panic(r)
				}
			}()
			stepErr = s.Run(c.with(ctx), q)
			return stepErr
		}
		err := pgkit.Pipeline(c.Ctx, db, newQ, fn)
		switch {
		case t.Failed():
		case stepErr == nil && err != nil:
			t.Errorf("Pipeline of step %q: %v", s.Name, err)
		case stepErr != nil && !errors.Is(err, stepErr):
			t.Errorf("Pipeline of step %q: %v, want the step's own error %v", s.Name, err, stepErr)
		}
		if s.Read {
			reads = append(reads, fn)
		}
	})
	concurrentReads(t, c, db, newQ, reads)
}

// concurrentReads runs read steps at once through one Pipeline, one
// Gather, and one Pipeline on a transaction's DB().
func concurrentReads[D pgkit.DBTX, Q any](t *testing.T, c *C, db *pgkit.DB, newQ func(D) Q, reads []func(context.Context, Q) error) {
	if len(reads) < 2 {
		return
	}
	if err := pgkit.Pipeline(c.Ctx, db, newQ, reads...); err != nil {
		t.Errorf("Pipeline of %d read steps at once: %v", len(reads), err)
	}
	if err := pgkit.Gather(c.Ctx, db, newQ, reads...); err != nil {
		t.Errorf("Gather of %d read steps at once: %v", len(reads), err)
	}
	err := pgkit.WithTx(c.Ctx, db, newQ, func(q Q) error {
		return pgkit.Pipeline(c.Ctx, dbOf(t, q), newQ, reads...)
	})
	if err != nil {
		t.Errorf("Pipeline of %d read steps on a transaction's DB(): %v", len(reads), err)
	}
}

// with is c for a step running with ctx in a goroutine of Pipeline's or
// Gather's, where FailNow must not be called: a fatal failure there marks
// the test failed and ends the step with a panic the step's fn recovers.
func (c *C) with(ctx context.Context) *C {
	return &C{TB: goTB{c.TB}, Ctx: ctx, Mode: c.Mode, DB: c.DB, Decoded: c.Decoded, batch: c.batch, mu: c.mu, compared: c.compared}
}

// errAbort ends a step that failed fatally outside the test's goroutine.
var errAbort = errors.New("conform: step aborted")

// goTB is a testing.TB for another goroutine than the test's.
type goTB struct{ testing.TB }

func (g goTB) FailNow()                  { g.TB.Fail(); panic(errAbort) }
func (g goTB) Fatal(args ...any)         { g.TB.Error(args...); panic(errAbort) }
func (g goTB) Fatalf(f string, a ...any) { g.TB.Errorf(f, a...); panic(errAbort) }

// dbOf returns what q runs on: its DB() (pgkitgen's), or q itself for a
// package whose methods take the DB (q is then that DB).
func dbOf(t testing.TB, q any) pgkit.DBTX {
	// DB() returns the package's own DBTX type: found by reflection.
	v := reflect.ValueOf(q)
	if m := v.MethodByName("DB"); m.IsValid() && m.Type().NumIn() == 0 && m.Type().NumOut() == 1 {
		if d, ok := m.Call(nil)[0].Interface().(pgkit.DBTX); ok {
			return d
		}
	}
	if d, ok := q.(pgkit.DBTX); ok {
		return d
	}
	t.Fatalf("%T has no DB() and is no DBTX", q)
	return nil
}

// Many calls q's :many method name with args (the context first, as the
// method takes them), then its …Stream with the same args, and fails
// unless both succeed with the same rows in the same order, the stream
// stops and closes at a break, and on a cancelled context it yields one
// error; and the same of its …Append when it has one (checkAppend). It
// returns the rows.
func Many[R any](c *C, q any, name string, args ...any) []R {
	c.Helper()
	many, stream, in := methods(c, q, name, args)
	out := many.Call(in)
	if err, _ := out[1].Interface().(error); err != nil {
		c.Fatalf("%s (%s): %v", name, c.Mode, err)
	}
	got, ok := out[0].Interface().([]R)
	if !ok {
		c.Fatalf("%s returns %s, not []%v", name, out[0].Type(), reflect.TypeFor[R]())
	}
	seq, ok := stream.Call(in)[0].Interface().(iter.Seq2[R, error])
	if !ok {
		c.Fatalf("%sStream does not return iter.Seq2[%v, error]", name, reflect.TypeFor[R]())
	}
	var muxed int64
	if c.Mode == "multiplex" { // steps run one at a time: the count is the stream's own
		muxed = c.DB.MultiplexStats().Statements
	}
	var streamed []R
	for r, err := range seq {
		if err != nil {
			c.Fatalf("%sStream (%s): %v", name, c.Mode, err)
		}
		streamed = append(streamed, r)
	}
	if c.Mode == "multiplex" && c.DB.MultiplexStats().Statements != muxed {
		// A stream read in full into memory would defeat it: it must take
		// a connection of its own (DB.QueryStream).
		c.Fatalf("%sStream (multiplex) went through the multiplexer, not a connection of its own", name)
	}
	if len(got) != len(streamed) {
		c.Fatalf("%s (%s): %d rows, its stream %d", name, c.Mode, len(got), len(streamed))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], streamed[i]) {
			c.Fatalf("%s (%s): row %d is %+v, its stream's %+v", name, c.Mode, i, got[i], streamed[i])
		}
	}
	if len(got) > 1 {
		// Breaking out after the first row stops the stream (a stream that
		// went on yielding would panic here) and gives its rows back (one
		// that did not close them leaks a connection, which pgkittest
		// fails the test for).
		n := 0
		for range seq {
			n++
			break
		}
		if n != 1 {
			c.Fatalf("%sStream (%s): %d rows before the break, want 1", name, c.Mode, n)
		}
	}
	checkAppend(c, q, name, in, got)
	checkBatch(c, q, name, in, got)
	// A query that fails is one error, not an empty stream.
	dead, cancel := context.WithCancel(c.Ctx)
	cancel()
	in[0] = reflect.ValueOf(dead)
	var errs, rows int
	for _, err := range stream.Call(in)[0].Interface().(iter.Seq2[R, error]) {
		if err != nil {
			errs++
		} else {
			rows++
		}
	}
	if errs != 1 || rows != 0 {
		c.Fatalf("%sStream (%s) on a cancelled context: %d rows and %d errors, want one error", name, c.Mode, rows, errs)
	}
	return got
}

// methods returns q's :many method name and its …Stream, and args as
// their arguments (a nil arg as the parameter's zero value), and records
// the method as compared.
func methods(c *C, q any, name string, args []any) (many, stream reflect.Value, in []reflect.Value) {
	c.Helper()
	c.compare(name)
	v := reflect.ValueOf(q)
	many, stream = v.MethodByName(name), v.MethodByName(name+"Stream")
	if !many.IsValid() || !stream.IsValid() {
		c.Fatalf("%T has no %s or no %sStream", q, name, name)
	}
	in = make([]reflect.Value, len(args))
	for i, a := range args {
		in[i] = reflect.ValueOf(a)
		if a == nil {
			in[i] = reflect.Zero(many.Type().In(i))
		}
	}
	return many, stream, in
}

// ManyFails calls q's :many method name with args, expecting it to fail
// part-way through its rows (the server's error, or a value the client
// cannot scan), then its …Stream: the :many must return an error naming
// the query, and the stream must end with one error (after any rows it
// had), not stop or go on as if the rows were all there; its …Append, when
// it has one, must fail too, keeping dst's length.
// It returns the :many's error, for the step to return.
func ManyFails[R any](c *C, q any, name string, args ...any) error {
	c.Helper()
	many, stream, in := methods(c, q, name, args)
	out := many.Call(in)
	err, _ := out[1].Interface().(error)
	if err == nil || !strings.Contains(err.Error(), name) {
		c.Fatalf("%s (%s): %v, want the server's error naming the query", name, c.Mode, err)
	}
	checkAppendFails[R](c, q, name, in)
	var last error
	items := 0
	for _, e := range stream.Call(in)[0].Interface().(iter.Seq2[R, error]) {
		items++
		if last != nil {
			c.Fatalf("%sStream (%s): an item after the error %v", name, c.Mode, last)
		}
		last = e
	}
	if last == nil {
		c.Fatalf("%sStream (%s): %d rows and no error, want the rows then the server's error", name, c.Mode, items)
	}
	return err
}

// checkCompared fails unless every :many method of queries (a method
// returning a slice and an error whose …Stream exists) was compared, and
// every method returning ([]T, error) that is not a :one of an array has
// a …Stream: pgkitgen missed none.
func checkCompared(t *testing.T, c *C, queries any) {
	if queries == nil {
		return
	}
	typ := reflect.TypeOf(queries)
	var missing []string
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		if strings.HasSuffix(m.Name, "Stream") {
			continue
		}
		if _, ok := typ.MethodByName(m.Name + "Stream"); ok && !c.compared[m.Name] {
			missing = append(missing, m.Name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s: :many methods never compared with their stream: %s", c.Mode, strings.Join(missing, ", "))
	}
}

// WantNotFound fails unless err is pgerr.ErrNotFound (a :one that found no
// row) naming the query: query as a word of its own, so that the hidden
// pgkit+query of pgkitgen's public methods does not count.
func WantNotFound(c *C, err error, query string) {
	c.Helper()
	if !errors.Is(err, pgerr.ErrNotFound) {
		c.Errorf("%s (%s): %v, want pgerr.ErrNotFound", query, c.Mode, err)
		return
	}
	if !NamesQuery(err.Error(), query) {
		c.Errorf("%s (%s): the not-found error %q does not name the query", query, c.Mode, err)
	}
}

// NamesQuery reports whether text names query as a word of its own (not
// inside pgkitQuery, the hidden name of a public method).
func NamesQuery(text, query string) bool {
	return regexp.MustCompile(`(^|[^\w])` + regexp.QuoteMeta(query) + `([^\w]|$)`).MatchString(text)
}

// WantConstraint fails unless err is a *pgerr.ConstraintError of kind on
// constraint (or, for not-null violations, on column constraint) whose
// Query names query.
func WantConstraint(c *C, err error, query string, kind pgerr.ConstraintKind, constraint string) {
	c.Helper()
	var ce *pgerr.ConstraintError
	if !errors.As(err, &ce) {
		c.Errorf("%s (%s): %v, want a *pgerr.ConstraintError (%v on %s)", query, c.Mode, err, kind, constraint)
		return
	}
	name := ce.Constraint
	if kind == pgerr.ConstraintNotNull {
		name = ce.Column
	}
	if ce.Kind != kind || name != constraint || ce.Query != query {
		c.Errorf("%s (%s): %v (kind %v, constraint %q, query %q), want %v on %s", query, c.Mode, err, ce.Kind, name, ce.Query, kind, constraint)
	}
}

// Equal fails unless got and want are deeply equal.
func Equal[T any](c *C, what string, got, want T) {
	c.Helper()
	if !reflect.DeepEqual(got, want) {
		c.Errorf("%s (%s): got %+v, want %+v", what, c.Mode, got, want)
	}
}

// NoErr fails the step at once on err.
func NoErr(c *C, what string, err error) {
	c.Helper()
	if err != nil {
		c.Fatalf("%s (%s): %v", what, c.Mode, err)
	}
}

// Migrations returns the migrations directory of a package's embedded
// files (//go:embed migrations/*.sql).
func Migrations(files fs.FS) fs.FS {
	sub, err := fs.Sub(files, "migrations")
	if err != nil {
		return files // fs.Sub fails only on an invalid name
	}
	return sub
}
