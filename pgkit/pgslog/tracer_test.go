package pgslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/multitracer"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/pgkit/pgslog"
)

// logCapture collects JSON log records.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) records(t *testing.T) []map[string]any {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(c.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	c.buf.Reset()
	return out
}

// find returns the records with msg and, when query is set, that query name.
func find(recs []map[string]any, msg, query string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["msg"] == msg && (query == "" || r["query"] == query) {
			out = append(out, r)
		}
	}
	return out
}

func TestSlogTracer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	capture := &logCapture{}
	logger := slog.New(slog.NewJSONHandler(capture, &slog.HandlerOptions{Level: slog.LevelDebug}))
	counter := &kittest.RoundTrips{}
	tracer := multitracer.New(pgslog.NewTracer(logger, pgslog.Config{SlowThreshold: 100 * time.Millisecond}), counter)
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{Tracer: tracer})
	q := kitdb.New(d)
	capture.records(t) // drop set-up noise

	const secretName = "Zebedee-Private"
	a := kittest.Must(q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: secretName, Team: "T"}))(t)
	kittest.Must(q.AccountUpdateEmail(ctx, kitdb.AccountUpdateEmailParams{AccountID: a.AccountID, Email: kittest.Ptr("z@example.com")}))(t)
	_, _ = q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: secretName, Team: "T", Email: kittest.Ptr("Z@example.com")})
	if _, err := d.Exec(ctx, "SELECT pg_sleep(0.15)"); err != nil {
		t.Fatal(err)
	}
	recs := capture.records(t)

	created := find(recs, "query", "AccountCreate")
	if len(created) != 2 || created[0]["level"] != "DEBUG" || created[0]["rows"] != 1.0 || created[0]["duration"] == nil {
		t.Fatalf("AccountCreate records %v", created)
	}
	failed := created[1]
	if failed["level"] != "ERROR" || failed["sqlstate"] != "23505" ||
		failed["error"] != `AccountCreate: unique violation on constraint "accounts_email_lower_key" of table "accounts"` {
		t.Fatalf("failed query record %v", failed)
	}
	if upd := find(recs, "query", "AccountUpdateEmail"); len(upd) != 1 || upd[0]["rows"] != 1.0 {
		t.Fatalf("AccountUpdateEmail records %v", upd)
	}
	slow := find(recs, "query", "")
	var sawSlow bool
	for _, r := range slow {
		if r["sql"] == "SELECT pg_sleep(?)" && r["level"] == "WARN" && r["slow"] == true {
			sawSlow = true
		}
	}
	if !sawSlow {
		t.Fatalf("no WARN record for the slow query in %v", slow)
	}
	for _, r := range recs {
		if _, ok := r["args"]; ok {
			t.Fatalf("arguments logged without LogArgs: %v", r)
		}
	}
	raw, _ := json.Marshal(recs)
	if strings.Contains(string(raw), secretName) || strings.Contains(string(raw), "z@example.com") {
		t.Fatalf("an argument value reached the log: %s", raw)
	}

	// Batches and pipelines: one record per query plus one for the batch.
	q.NoteListByProjects(ctx, []kitdb.NoteListByProjectsParams{{ProjectID: 1, Max: 1}, {ProjectID: 2, Max: 1}}).Query(func(int, []kitdb.Note, error) {})
	if err := pgkit.Pipeline(ctx, d, kitdb.New,
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountGetByID(ctx, a.AccountID)
			return err
		},
		func(ctx context.Context, q *kitdb.Queries) error {
			_, err := q.AccountList(ctx, kitdb.AccountListParams{Max: 1})
			return err
		},
	); err != nil {
		t.Fatal(err)
	}
	recs = capture.records(t)
	if n := len(find(recs, "batch query", "NoteListByProjects")); n != 2 {
		t.Fatalf("%d batch query records for NoteListByProjects, want 2: %v", n, recs)
	}
	if len(find(recs, "batch query", "AccountGetByID")) != 1 || len(find(recs, "batch query", "AccountList")) != 1 || len(find(recs, "batch", "")) != 2 {
		t.Fatalf("pipeline records: %v", recs)
	}

	// COPY.
	kittest.Must(q.AccountCreateMany(ctx, []kitdb.AccountCreateManyParams{{Name: "a", Team: "b"}, {Name: "c", Team: "d"}}))(t)
	recs = capture.records(t)
	cp := find(recs, "copy", "")
	if len(cp) != 1 || cp[0]["table"] != `"accounts"` || cp[0]["rows"] != 2.0 {
		t.Fatalf("copy records %v", recs)
	}
	// The other tracer of the multitracer saw the same traffic.
	if queries, batches, _ := counter.Reset(); queries < 4 || batches != 2 {
		t.Fatalf("second tracer saw %d queries and %d batches", queries, batches)
	}
}

func TestSlogTracerLogArgsAndLevel(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	capture := &logCapture{}
	logger := slog.New(slog.NewJSONHandler(capture, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d := pgkittest.NewWithConfig(t, kitdb.Migrations(), pgkit.Config{Tracer: pgslog.NewTracer(logger, pgslog.Config{LogArgs: true, Level: slog.LevelInfo})})
	capture.records(t)
	if _, err := kitdb.New(d).AccountGetByEmail(ctx, "who@example.com"); err == nil {
		t.Fatal("want not found")
	}
	recs := find(capture.records(t), "query", "AccountGetByEmail")
	if len(recs) != 1 || recs[0]["level"] != "INFO" || !strings.Contains(recs[0]["args"].(any).([]any)[0].(string), "who@example.com") {
		t.Fatalf("records %v, want one INFO record with the argument", recs)
	}
}
