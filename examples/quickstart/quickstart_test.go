package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
		return
	}
	os.Exit(pgkittest.Run(m))
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := pgkittest.New(t, schema.FS())
	var out bytes.Buffer
	s, err := Run(ctx, pool, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(s.ServerVersion, "1") {
		t.Errorf("server version %q", s.ServerVersion)
	}
	if len(s.Listed) != 4 || s.Listed[0].UserID != s.Ada.UserID {
		t.Errorf("listed %+v, want Ada and the 3 copied users", s.Listed)
	}
	if s.BusyErr == nil || !strings.Contains(s.BusyErr.Error(), "conn busy") {
		t.Errorf("second query on one connection: %v, want conn busy", s.BusyErr)
	}
	if s.PoolPIDs[0] == 0 || s.PoolPIDs[0] == s.PoolPIDs[1] {
		t.Errorf("pool queries ran on server processes %v, want two different ones", s.PoolPIDs)
	}
	if s.Violation == nil || s.Violation.Code != "23505" || s.Violation.ConstraintName != "users_pkey" ||
		!strings.Contains(s.Violation.Detail, "already exists") {
		t.Errorf("duplicate user_id error = %+v, want a unique violation on users_pkey with detail", s.Violation)
	}

	// What the summary claims is what the database holds.
	q := db.New(pool)
	items, err := q.OrderItemListByOrder(ctx, s.Order.OrderID)
	if err != nil || len(items) != 1 || items[0].Quantity != 2 {
		t.Fatalf("committed order lines = %+v, %v; want one line of 2", items, err)
	}
	p, err := q.ProductGetByID(ctx, items[0].ProductID)
	if err != nil || p.Stock != 1 {
		t.Fatalf("product after the order = %+v, %v; want stock 3-2 = 1", p, err)
	}
	users, err := q.UserList(ctx, db.UserListParams{Max: 100})
	if err != nil || len(users) != 4 {
		t.Fatalf("users = %d, %v; want 4 (the rolled-back one is gone)", len(users), err)
	}
	for _, want := range []string{"1. connected", "conn busy", "constraint: users_pkey", "detail: Key (user_id)="} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	// Running it again on the same database works too.
	if _, err := Run(ctx, pool, &bytes.Buffer{}); err != nil {
		t.Fatalf("second Run: %v", err)
	}
}

// TestDemoWithoutDatabaseURL is `make demo` on a machine with no server: it
// starts its own, migrates, runs, and removes the server afterwards.
func TestDemoWithoutDatabaseURL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	if code := run(ctx, nil, "", &out, &errs); code != exitOK {
		t.Fatalf("run: exit %d: %s\n%s", code, errs.String(), out.String())
	}
	m := regexp.MustCompile(`started a throwaway PostgreSQL in (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("output does not say where the server ran:\n%s", out.String())
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Fatalf("server directory %s still exists after the demo (%v)", m[1], err)
	}
	for _, want := range []string{"migrations: 5 applied now, schema at version 5", "7. transaction rolled back", "stopped the throwaway server"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
