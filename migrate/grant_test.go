package migrate_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/migrate"
	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
	"github.com/shopdb/shopdb/shop"
)

// asRole is dsn with the user replaced (trust authentication on the test
// server, so no password).
func asRole(t *testing.T, dsn, role string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// createRoles makes two login roles on the server (as DATABASE_URL's role,
// which may create roles) and drops them at the end.
func createRoles(t *testing.T, ctx context.Context, names ...string) {
	t.Helper()
	admin, err := pgx.Connect(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := admin.Exec(ctx, "CREATE ROLE "+pgx.Identifier{n}.Sanitize()+" LOGIN"); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, n := range names {
			// The test database is gone or going; what the role owns or was
			// granted there goes with it.
			_, _ = admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{n}.Sanitize())
		}
		admin.Close(context.Background())
	})
}

func denied(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42501"
}

// TestLeastPrivilegeRoles: after Grant, the application role runs the
// shop's queries (reads, writes, COPY, locks, identity columns) but cannot
// change the schema, truncate, or touch goose's version table; the
// read-only role only reads; tables of later migrations are covered.
func TestLeastPrivilegeRoles(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	owner := pgkittest.URL(t, schema.FS())
	suffix := strconv.Itoa(rand.IntN(1_000_000))
	app, ro := "shop_app_"+suffix, "shop_ro_"+suffix
	createRoles(t, ctx, app, ro)

	// Before: the application role can do nothing.
	appDB, err := pgkit.Open(ctx, asRole(t, owner, app), pgkit.Config{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer appDB.Close()
	q := db.New(appDB)
	if _, err := q.UserList(ctx, db.UserListParams{Max: 1}); !denied(err) {
		t.Fatalf("before Grant: %v, want permission denied", err)
	}

	if err := migrate.Grant(ctx, owner, migrate.Roles{App: app, ReadOnly: ro}); err != nil {
		t.Fatal(err)
	}
	if err := migrate.Grant(ctx, owner, migrate.Roles{App: app, ReadOnly: ro}); err != nil {
		t.Fatalf("second Grant: %v", err)
	}

	// The shop's work as the application role.
	u, err := q.UserCreate(ctx, db.UserCreateParams{FirstName: "App", LastName: "Role"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := q.ProductCreate(ctx, db.ProductCreateParams{Sku: "LP-1", Name: "Least", PriceCents: 10, Stock: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.UserCreateMany(ctx, []db.UserCreateManyParams{{FirstName: "Copied", LastName: "Role"}}); err != nil {
		t.Fatalf("COPY: %v", err)
	}
	if _, err := q.ReviewCreate(ctx, db.ReviewCreateParams{ProductID: p.ProductID, UserID: u.UserID, Rating: 5}); err != nil {
		t.Fatal(err)
	}
	order, err := shop.PlaceOrder(ctx, appDB, u.UserID, []shop.OrderLine{{ProductID: p.ProductID, Quantity: 2}}, pgkit.TxOptions{})
	if err != nil {
		t.Fatalf("PlaceOrder (FOR UPDATE, batch insert): %v", err)
	}
	if _, err := q.OrderUpdateStatus(ctx, db.OrderUpdateStatusParams{OrderID: order.OrderID, FromStatus: db.OrderStatusPending, ToStatus: db.OrderStatusPaid}); err != nil {
		t.Fatal(err)
	}
	if _, err := shop.ClaimOrders(ctx, appDB, db.OrderStatusPaid, db.OrderStatusShipped, 5,
		func(context.Context, *db.Queries, []db.Order) error { return nil }); err != nil {
		t.Fatalf("ClaimOrders (SKIP LOCKED): %v", err)
	}
	if _, err := shop.LoadProductPage(ctx, appDB, shop.ProductPageRequest{ProductID: p.ProductID, CustomerID: u.UserID}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.UserDelete(ctx, u.UserID+1); err != nil {
		t.Fatal(err)
	}

	// What it must not do.
	for _, sql := range []string{
		"CREATE TABLE intruder (id int)",
		"ALTER TABLE users ADD COLUMN intruder int",
		"DROP TABLE reviews",
		"TRUNCATE users",
		"SELECT * FROM goose_db_version",
		"UPDATE goose_db_version SET is_applied = false",
		"DELETE FROM goose_db_version",
		"INSERT INTO goose_db_version (version_id, is_applied) VALUES (99, true)",
	} {
		if _, err := appDB.Exec(ctx, sql); !denied(err) {
			t.Errorf("as the application role, %q: %v, want permission denied", sql, err)
		}
	}

	// The read-only role.
	roConn, err := pgx.Connect(ctx, asRole(t, owner, ro))
	if err != nil {
		t.Fatal(err)
	}
	defer roConn.Close(ctx)
	var n int
	if err := roConn.QueryRow(ctx, "SELECT count(*) FROM orders").Scan(&n); err != nil || n != 1 {
		t.Fatalf("read-only role reads orders: %d, %v", n, err)
	}
	for _, sql := range []string{"INSERT INTO users (first_name, last_name) VALUES ('r', 'o')", "UPDATE products SET stock = 0", "SELECT * FROM goose_db_version"} {
		if _, err := roConn.Exec(ctx, sql); !denied(err) {
			t.Errorf("as the read-only role, %q: %v, want permission denied", sql, err)
		}
	}

	// A table a later migration adds is covered by the default privileges.
	ownerConn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer ownerConn.Close(ctx)
	if _, err := ownerConn.Exec(ctx, "CREATE TABLE coupons (coupon_id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, code text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := appDB.Exec(ctx, "INSERT INTO coupons (code) VALUES ('NEW')"); err != nil {
		t.Fatalf("the application role on a later table: %v", err)
	}
	if err := roConn.QueryRow(ctx, "SELECT count(*) FROM coupons").Scan(&n); err != nil || n != 1 {
		t.Fatalf("the read-only role on a later table: %d, %v", n, err)
	}
	if err := migrate.Grant(ctx, owner, migrate.Roles{}); err == nil {
		t.Fatal("Grant with no role succeeded")
	}
}
