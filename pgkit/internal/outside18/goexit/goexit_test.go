// Package goexit holds the outside reviewer's test of an iterator that
// exits its goroutine during a pushed COPY; it is a package of its own
// because the defect it shows can crash the test binary.
package goexit_test

import (
	"context"
	"io/fs"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/outside18"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

func migrations() fs.FS { return outside18.Migrations() }

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// Claim (copy_push.go, README): an iterator's rows reach pgx a chunk at a
// time and a panic in the iterator aborts the COPY; nothing says an
// iterator must not stop its goroutine, as t.FailNow (require.NoError…)
// inside an iterator does (runtime.Goexit); with iter.Pull, Goexit
// propagated to the caller and the COPY ended with it.
// Observed: pushCopy's deferred recover sees no panic, so it neither closes
// the chunk channel nor waits for pgx's goroutine; DB.CopyFrom's deferred
// Release then gives the pooled connection back while pgx's CopyFrom is
// still running on it in the other goroutine: a data race on the
// connection (-race reports it), the pool destroys the connection under
// the running COPY and the process dies with "panic: close of closed
// channel" in pgconn.(*PgConn).Close (or, when it does not crash, the
// COPY's goroutine waits for rows forever).
func TestOutside18CopyGoexitLeaksConnection(t *testing.T) {
	url := pgkittest.URL(t, migrations())
	db, err := pgkit.Open(context.Background(), url, pgkit.Config{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = pgkit.CopyFromSeq(context.Background(), db, pgx.Identifier{"things"}, []string{"i4"},
			func(yield func(int32) bool) {
				yield(1)
				runtime.Goexit() // as t.FailNow does in an iterator
			}, func(v int32) []any { return []any{v} })
	}()
	<-done
	deadline := time.Now().Add(30 * time.Second) // generous: not a latency assertion
	for db.Pool().Stat().AcquiredConns() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := db.Pool().Stat().AcquiredConns(); n != 0 {
		// db is not closed: Close would wait for the lost connection forever.
		t.Fatalf("after the iterator's goroutine exited, %d connection(s) stay acquired (the COPY's goroutine waits for rows forever)", n)
	}
	db.Close()
}
