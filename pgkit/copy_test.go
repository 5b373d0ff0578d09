package pgkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgslog"
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

// TestCopyToIsTraced: CopyTo, on a pool and in a transaction, reaches the
// pool's tracer: pgslog logs it with its SQL normalized (the literal
// replaced), its rows, and on failure its SQLSTATE, never a literal.
// Before, CopyTo went around the tracer and nothing was logged.
func TestCopyToIsTraced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var log bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&mu, &log}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{Tracer: pgslog.NewTracer(logger, pgslog.Config{})})
	q := kitdb.New(d)
	kittest.Must(q.AccountCreateMany(ctx, []kitdb.AccountCreateManyParams{{Name: "a", Team: "t"}, {Name: "b", Team: "t"}, {Name: "c", Team: "u"}}))(t)
	const secret = "Zebedee-Private"
	copySQL := "COPY (SELECT name FROM accounts WHERE team = 't' AND name <> '" + secret + "') TO STDOUT"
	records := func() []map[string]any {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		var out []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			if sql, _ := m["sql"].(string); strings.HasPrefix(sql, "COPY") {
				out = append(out, m)
			}
		}
		if strings.Contains(log.String(), secret) {
			t.Fatalf("a literal reached the log: %s", log.String())
		}
		log.Reset()
		return out
	}
	records() // drop set-up noise

	var out bytes.Buffer
	if n, err := pgkit.CopyTo(ctx, d, &out, copySQL); err != nil || n != 2 || out.String() != "a\nb\n" {
		t.Fatalf("CopyTo: %d rows %q, %v", n, out.String(), err)
	}
	recs := records()
	if len(recs) != 1 || recs[0]["msg"] != "query" || recs[0]["rows"] != 2.0 || recs[0]["level"] != "DEBUG" ||
		recs[0]["sql"] != "COPY (SELECT name FROM accounts WHERE team = ? AND name <> ?) TO STDOUT" {
		t.Fatalf("CopyTo on the pool logged %v, want one query record of 2 rows with its SQL normalized", recs)
	}

	err := pgkit.WithTx(ctx, d, kitdb.New, func(tq *kitdb.Queries) error {
		_, err := pgkit.CopyTo(ctx, tq.DB(), io.Discard, "COPY (SELECT nope FROM accounts WHERE name = '"+secret+"') TO STDOUT")
		return err
	})
	if pgerr.SQLState(err) != "42703" {
		t.Fatalf("CopyTo of a missing column: %v", err)
	}
	recs = records()
	if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["sqlstate"] != "42703" {
		t.Fatalf("the failing CopyTo in a transaction logged %v, want one ERROR record with its SQLSTATE", recs)
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
