package nullptr_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/nullptr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// pointerSpy records the pointer types pgx is asked to plan an encoding
// for on the connections it is installed on: a pointer reaching pgx costs
// a dereference by reflection for every value (derefPointerEncodePlan).
// Plans are memoized per connection and type, so each type is seen once
// per connection, which is enough to know it came.
type pointerSpy struct {
	mu   sync.Mutex
	seen map[string]bool
}

func newPointerSpy() *pointerSpy { return &pointerSpy{seen: map[string]bool{}} }

// afterConnect puts the spy first among the connection's encode wrappers.
func (s *pointerSpy) afterConnect(_ context.Context, conn *pgx.Conn) error {
	m := conn.TypeMap()
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{s.record}, m.TryWrapEncodePlanFuncs...)
	return nil
}

func (s *pointerSpy) record(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if t := reflect.TypeOf(value); t != nil && t.Kind() == reflect.Pointer {
		s.mu.Lock()
		s.seen[t.String()] = true
		s.mu.Unlock()
	}
	return nil, nil, false // pgx goes on planning as without the spy
}

func (s *pointerSpy) types() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for t := range s.seen {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// TestPgxSeesNoPointers: what the generated code runs through pgkit (a
// :one, :exec and :many with pointer parameters, the :copyfrom method, its
// Seq, a :batchexec, a Pipeline), pooled, multiplexed and in a
// transaction, reaches pgx as concrete values: nil for a nil pointer, the
// value otherwise. The rows stored are those of the pointers.
func TestPgxSeesNoPointers(t *testing.T) {
	for _, mode := range []string{"pool", "multiplex", "tx"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			spy := newPointerSpy()
			db := pgkittest.NewWithConfig(t, conform.Migrations(migrations), pgkit.Config{AfterConnect: spy.afterConnect, Multiplex: mode == "multiplex"})
			ctx := t.Context()
			run := func(q *nullptr.Queries) error {
				if _, err := q.CreateProfile(ctx, adaParams); err != nil {
					return err
				}
				if err := q.SetNickname(ctx, nullptr.SetNicknameParams{ID: 1, Nickname: ptr("")}); err != nil {
					return err
				}
				if _, err := q.ListHandlesByNickname(ctx, ptr("")); err != nil {
					return err
				}
				rows := []nullptr.CopyProfilesParams{copyOf(adaParams), {Handle: "ghost"}}
				if _, err := q.CopyProfiles(ctx, rows); err != nil {
					return err
				}
				if _, err := q.CopyProfilesSeq(ctx, slices.Values(rows)); err != nil {
					return err
				}
				var batchErr error
				q.CreateProfiles(ctx, []nullptr.CreateProfilesParams{nullptr.CreateProfilesParams(copyOf(adaParams))}).Exec(func(_ int, err error) {
					if err != nil && batchErr == nil {
						batchErr = err
					}
				})
				if batchErr != nil {
					return batchErr
				}
				return pgkit.Pipeline(ctx, q.DB(), nullptr.New, func(ctx context.Context, q *nullptr.Queries) error {
					_, err := q.ListHandlesByNickname(ctx, ptr("Ada"))
					return err
				})
			}
			var err error
			if mode == "tx" {
				err = pgkit.WithTx(ctx, db, nullptr.New, run)
			} else {
				err = run(nullptr.New(db))
			}
			if err != nil {
				t.Fatal(err)
			}
			var n, nicknames int
			if err := db.QueryRow(ctx, `SELECT count(*), count(nickname) FROM profiles`).Scan(&n, &nicknames); err != nil {
				t.Fatal(err)
			}
			if n != 6 || nicknames != 4 {
				t.Errorf("%d profiles, %d with a nickname; want 6 and 4", n, nicknames)
			}
			if seen := spy.types(); len(seen) > 0 {
				t.Errorf("pgx was handed pointers (encoded by reflection): %v", seen)
			}
		})
	}
}

// copyOf is p as a row of CopyProfiles.
func copyOf(p nullptr.CreateProfileParams) nullptr.CopyProfilesParams {
	return nullptr.CopyProfilesParams(p)
}
