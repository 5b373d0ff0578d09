package pgkit_test

import (
	"fmt"
	"iter"
	"reflect"
	"testing"

	"github.com/shopdb/shopdb/db"
	"github.com/shopdb/shopdb/internal/testshop"
)

func TestUserCreateManySeqMatchesSlice(t *testing.T) {
	ctx, _, q := testshop.Setup(t)
	gen := func(n int) iter.Seq[db.UserCreateManyParams] {
		return func(yield func(db.UserCreateManyParams) bool) {
			for i := range n {
				p := db.UserCreateManyParams{FirstName: fmt.Sprint("F", i), LastName: fmt.Sprint("L", i)}
				if i%2 == 0 {
					p.Email = testshop.Ptr(fmt.Sprintf("u%d@example.com", i))
				}
				if !yield(p) {
					return
				}
			}
		}
	}
	var slice []db.UserCreateManyParams
	for p := range gen(500) {
		slice = append(slice, p)
	}
	if n := testshop.Must(q.UserCreateMany(ctx, slice[:250]))(t); n != 250 {
		t.Fatalf("UserCreateMany copied %d", n)
	}
	rest := func(yield func(db.UserCreateManyParams) bool) {
		for _, p := range slice[250:] {
			if !yield(p) {
				return
			}
		}
	}
	if n := testshop.Must(q.UserCreateManySeq(ctx, rest))(t); n != 250 {
		t.Fatalf("UserCreateManySeq copied %d", n)
	}
	users := testshop.Must(q.UserExport(ctx, 0))(t)
	if len(users) != 500 {
		t.Fatalf("%d users, want 500", len(users))
	}
	for i, u := range users {
		got := db.UserCreateManyParams{FirstName: u.FirstName, LastName: u.LastName, Email: u.Email}
		if !reflect.DeepEqual(got, slice[i]) {
			t.Fatalf("row %d = %+v, want %+v", i, got, slice[i])
		}
	}
	// A failing COPY stores nothing of its batch.
	bad := func(yield func(db.UserCreateManyParams) bool) {
		yield(db.UserCreateManyParams{FirstName: "ok", LastName: "ok", Email: testshop.Ptr("dup@example.com")})
		yield(db.UserCreateManyParams{FirstName: "ok", LastName: "ok", Email: testshop.Ptr("DUP@example.com")})
	}
	if _, err := q.UserCreateManySeq(ctx, bad); err == nil {
		t.Fatal("duplicate emails copied without error")
	}
	if n := len(testshop.Must(q.UserExport(ctx, 0))(t)); n != 500 {
		t.Fatalf("%d users after a failed COPY, want 500", n)
	}
}
