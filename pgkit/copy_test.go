package pgkit_test

import (
	"fmt"
	"iter"
	"reflect"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
)

func TestAccountCreateManySeqMatchesSlice(t *testing.T) {
	ctx, _, q := setup(t)
	gen := func(n int) iter.Seq[kitdb.AccountCreateManyParams] {
		return func(yield func(kitdb.AccountCreateManyParams) bool) {
			for i := range n {
				p := kitdb.AccountCreateManyParams{Name: fmt.Sprint("N", i), Team: fmt.Sprint("T", i)}
				if i%2 == 0 {
					p.Email = kittest.Ptr(fmt.Sprintf("a%d@example.com", i))
				}
				if !yield(p) {
					return
				}
			}
		}
	}
	var slice []kitdb.AccountCreateManyParams
	for p := range gen(500) {
		slice = append(slice, p)
	}
	if n := kittest.Must(q.AccountCreateMany(ctx, slice[:250]))(t); n != 250 {
		t.Fatalf("AccountCreateMany copied %d", n)
	}
	rest := func(yield func(kitdb.AccountCreateManyParams) bool) {
		for _, p := range slice[250:] {
			if !yield(p) {
				return
			}
		}
	}
	if n := kittest.Must(q.AccountCreateManySeq(ctx, rest))(t); n != 250 {
		t.Fatalf("AccountCreateManySeq copied %d", n)
	}
	accounts := kittest.Must(q.AccountExport(ctx, 0))(t)
	if len(accounts) != 500 {
		t.Fatalf("%d accounts, want 500", len(accounts))
	}
	for i, a := range accounts {
		got := kitdb.AccountCreateManyParams{Name: a.Name, Team: a.Team, Email: a.Email}
		if !reflect.DeepEqual(got, slice[i]) {
			t.Fatalf("row %d = %+v, want %+v", i, got, slice[i])
		}
	}
	// A failing COPY stores nothing of its batch.
	bad := func(yield func(kitdb.AccountCreateManyParams) bool) {
		yield(kitdb.AccountCreateManyParams{Name: "ok", Team: "ok", Email: kittest.Ptr("dup@example.com")})
		yield(kitdb.AccountCreateManyParams{Name: "ok", Team: "ok", Email: kittest.Ptr("DUP@example.com")})
	}
	if _, err := q.AccountCreateManySeq(ctx, bad); err == nil {
		t.Fatal("duplicate emails copied without error")
	}
	if n := len(kittest.Must(q.AccountExport(ctx, 0))(t)); n != 500 {
		t.Fatalf("%d accounts after a failed COPY, want 500", n)
	}
}
