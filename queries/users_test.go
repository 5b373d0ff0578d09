package queries_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
)

func TestUsers(t *testing.T) {
	ctx, _, q := testshop.Setup(t)

	ada := testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "Ada", LastName: "Lovelace", Email: testshop.Ptr("Ada@Example.com")}))(t)
	if ada.UserID == 0 || ada.FirstName != "Ada" || ada.Email == nil || *ada.Email != "Ada@Example.com" || ada.CreatedAt.IsZero() {
		t.Fatalf("UserCreate returned %+v", ada)
	}
	n := testshop.Must(q.UserCreateMany(ctx, []db.UserCreateManyParams{
		{FirstName: "Alan", LastName: "Turing"},
		{FirstName: "Grace", LastName: "Hopper", Email: testshop.Ptr("grace@example.com")},
		{FirstName: "Gordon", LastName: "Moore"},
	}))(t)
	if n != 3 {
		t.Fatalf("UserCreateMany copied %d rows, want 3", n)
	}

	got := testshop.Must(q.UserGetByID(ctx, ada.UserID))(t)
	if got.UserID != ada.UserID || got.LastName != "Lovelace" || !got.CreatedAt.Equal(ada.CreatedAt) {
		t.Fatalf("UserGetByID = %+v, want %+v", got, ada)
	}
	if _, err := q.UserGetByID(ctx, -1); !errors.Is(err, pgx.ErrNoRows) {
		t.Fatalf("UserGetByID(-1) error = %v, want pgx.ErrNoRows", err)
	}

	// Email lookups and uniqueness ignore case.
	byEmail, ok, err := q.UserFindByEmail(ctx, "ADA@example.COM")
	if err != nil || !ok || byEmail.UserID != ada.UserID {
		t.Fatalf("UserFindByEmail = user %d, %v, %v; want %d, true, nil", byEmail.UserID, ok, err, ada.UserID)
	}
	// No such address: not an error, ok false and a zero user.
	if nobody, ok, err := q.UserFindByEmail(ctx, "nobody@example.com"); err != nil || ok || nobody.UserID != 0 {
		t.Fatalf("UserFindByEmail(nobody) = user %d, %v, %v; want 0, false, nil", nobody.UserID, ok, err)
	}
	// Any other failure stays an error.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, ok, err := q.UserFindByEmail(cancelled, "ADA@example.COM"); err == nil || ok {
		t.Fatalf("UserFindByEmail on a cancelled context = %v, %v; want an error", ok, err)
	}
	_, err = q.UserCreate(ctx, db.UserCreateParams{FirstName: "A", LastName: "L", Email: testshop.Ptr("ada@EXAMPLE.com")})
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.ConstraintName != "users_email_lower_key" {
		t.Fatalf("duplicate email in another case: error = %v, want a users_email_lower_key violation", err)
	}

	// Keyset pagination: pages of 2 cover everyone once, in id order.
	var seen []int64
	after := int64(0)
	for {
		page := testshop.Must(q.UserList(ctx, db.UserListParams{AfterUserID: after, Max: 2}))(t)
		if len(page) == 0 {
			break
		}
		for _, u := range page {
			seen = append(seen, u.UserID)
		}
		after = page[len(page)-1].UserID
	}
	if len(seen) != 4 {
		t.Fatalf("paged through %d users, want 4: %v", len(seen), seen)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] <= seen[i-1] {
			t.Fatalf("pages not in id order: %v", seen)
		}
	}
	// The optional filter narrows; nil (no filter) and an empty prefix
	// do not.
	filtered := testshop.Must(q.UserList(ctx, db.UserListParams{NamePrefix: testshop.Ptr("Ho"), Max: 10}))(t)
	if len(filtered) != 1 || filtered[0].FirstName != "Grace" {
		t.Fatalf("UserList(NamePrefix: Ho) = %+v, want only Grace Hopper", filtered)
	}
	for _, prefix := range []*string{nil, testshop.Ptr("")} {
		if all := testshop.Must(q.UserList(ctx, db.UserListParams{NamePrefix: prefix, Max: 10}))(t); len(all) != 4 {
			t.Errorf("UserList(NamePrefix: %v) = %d users, want all 4", prefix, len(all))
		}
	}

	// The prefix is taken literally: LIKE's % and _ are plain characters.
	// Before, "%" and "_" matched every user.
	testshop.Must(q.UserCreate(ctx, db.UserCreateParams{FirstName: "Per", LastName: "%cent"}))(t)
	for prefix, want := range map[string]int{"%": 1, "%c": 1, "_": 0, "%x": 0, "H_": 0} {
		got := testshop.Must(q.UserList(ctx, db.UserListParams{NamePrefix: &prefix, Max: 10}))(t)
		if len(got) != want {
			t.Errorf("UserList(NamePrefix: %q) = %d users, want %d", prefix, len(got), want)
		}
	}

	byIDs := testshop.Must(q.UserListByIDs(ctx, []int64{seen[2], seen[0], -5}))(t)
	if len(byIDs) != 2 || byIDs[0].UserID != seen[0] || byIDs[1].UserID != seen[2] {
		t.Fatalf("UserListByIDs = %+v, want users %d and %d in order", byIDs, seen[0], seen[2])
	}

	if rows := testshop.Must(q.UserUpdateEmail(ctx, db.UserUpdateEmailParams{UserID: ada.UserID, Email: nil}))(t); rows != 1 {
		t.Fatalf("UserUpdateEmail affected %d rows, want 1", rows)
	}
	if u := testshop.Must(q.UserGetByID(ctx, ada.UserID))(t); u.Email != nil {
		t.Fatalf("email after clearing = %q, want NULL", *u.Email)
	}
	if rows := testshop.Must(q.UserUpdateEmail(ctx, db.UserUpdateEmailParams{UserID: -1, Email: testshop.Ptr("x@y")}))(t); rows != 0 {
		t.Fatalf("UserUpdateEmail on a missing user affected %d rows, want 0", rows)
	}

	withID := testshop.Must(q.UserCreateWithID(ctx, db.UserCreateWithIDParams{UserID: 1000, FirstName: "Imported", LastName: "User"}))(t)
	if withID.UserID != 1000 {
		t.Fatalf("UserCreateWithID gave id %d, want 1000", withID.UserID)
	}
	_, err = q.UserCreateWithID(ctx, db.UserCreateWithIDParams{UserID: 1000, FirstName: "Again", LastName: "User"})
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != "users_pkey" {
		t.Fatalf("UserCreateWithID with an id in use: error = %v, want unique violation on users_pkey", err)
	}

	if rows := testshop.Must(q.UserDelete(ctx, withID.UserID))(t); rows != 1 {
		t.Fatalf("UserDelete affected %d rows, want 1", rows)
	}
	if rows := testshop.Must(q.UserDelete(ctx, withID.UserID))(t); rows != 0 {
		t.Fatalf("second UserDelete affected %d rows, want 0", rows)
	}
}

// TestUsersPlainSQLContract checks the table still serves tools that write
// plain SQL against its first three columns.
func TestUsersPlainSQLContract(t *testing.T) {
	ctx, pool, _ := testshop.Setup(t)

	if _, err := pool.Exec(ctx, "INSERT INTO users VALUES (DEFAULT, 'Ada', 'Lovelace')"); err != nil {
		t.Fatalf("positional insert: %v", err)
	}
	var id int64
	var first, last string
	err := pool.QueryRow(ctx, "SELECT user_id, first_name, last_name FROM users WHERE user_id = $1", 1).Scan(&id, &first, &last)
	if err != nil || id != 1 || first != "Ada" || last != "Lovelace" {
		t.Fatalf("select by id = (%d, %q, %q, %v), want (1, Ada, Lovelace)", id, first, last, err)
	}
	_, err = pool.Exec(ctx, "INSERT INTO users (user_id, first_name, last_name) VALUES (1, 'Ada', 'Byron')")
	if pgErr := (*pgconn.PgError)(nil); !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != "users_pkey" {
		t.Fatalf("existing user_id: error = %v, want unique violation on users_pkey", err)
	}

	// The first three columns, by position and type.
	rows := testshop.Must(pool.Query(ctx, `SELECT column_name, data_type, is_nullable, is_identity, identity_generation
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'users'
		ORDER BY ordinal_position LIMIT 3`))(t)
	type col struct {
		Name, Type, Nullable, Identity string
		Generation                     *string
	}
	cols := testshop.Must(pgx.CollectRows(rows, pgx.RowToStructByPos[col]))(t)
	want := []col{{"user_id", "bigint", "NO", "YES", testshop.Ptr("BY DEFAULT")}, {"first_name", "text", "NO", "NO", nil}, {"last_name", "text", "NO", "NO", nil}}
	for i := range want {
		g, w := cols[i], want[i]
		if g.Name != w.Name || g.Type != w.Type || g.Nullable != w.Nullable || g.Identity != w.Identity ||
			(w.Generation == nil) != (g.Generation == nil) || (w.Generation != nil && *g.Generation != *w.Generation) {
			t.Errorf("column %d = %+v, want %+v", i+1, g, w)
		}
	}
}
