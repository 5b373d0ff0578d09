package pgkit

// A read buffer under pgx's message reader (Config.ReadBufferSize).
//
// pgproto3's frontend reads the socket into its message buffer, whose
// 8 KiB minimum NewFrontend does not let a caller change: a result of many
// rows, or of rows of a few KiB, costs one read system call per 8 KiB, and
// when the reader is faster than the server, a wait in the netpoller per
// call (the large-rows profile of issue 18: reads and the scheduler
// between them about 29 % of the client's CPU). A bufio.Reader between
// the connection and the frontend asks the socket for up to
// ReadBufferSize bytes at a time; reads the frontend makes of that size
// or more (a message larger than the buffer) go to the socket directly,
// as bufio does, so nothing large is copied twice. What it holds is only
// what the server sent before the frontend asked, as pgx's own buffer
// holds: a connection's state, and what pgconn and the liveness peek see
// of it, are unchanged. One exception: pgconn.Hijack's SyncConn cannot see
// this buffer, so a program that hijacks pooled connections (Pool(), then
// Hijack) sets ReadBufferSize to 8192; pgkit itself never hijacks.
//
// Measured (the bench worker, 3 s runs interleaved, medians of 5, pool of
// 10, 10 callers; client CPU per query against no buffer): 100 rows of
// 5 KiB ("large", …Append) 0.84 with 32 KiB and 0.82 with 64 KiB; 20-column
// catalog rows 0.92 / 0.94; 100 rows of int[100] 1.02 / 1.05 (within that
// workload's run-to-run spread, 320–460 µs); SELECT 1+1 and the shop's
// point read 0.98–0.99 / 0.94.

import (
	"bufio"
	"io"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// pgxReadSize is pgproto3's own read size: a buffer no larger adds a copy
// and saves no system call.
const pgxReadSize = 8192

// readBuffered returns the frontend builder of Config.ReadBufferSize size
// (0: DefaultReadBufferSize), or nil to keep pgx's.
func readBuffered(size int) pgconn.BuildFrontendFunc {
	if size == 0 {
		size = DefaultReadBufferSize
	}
	if size <= pgxReadSize {
		return nil
	}
	return func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(dataFirst{r}, size), w)
	}
}

// dataFirst reads r, dropping an error that comes with data. A tls.Conn
// may return bytes and a timeout together; bufio keeps such an error and
// hands it to the next read once the bytes are taken, perhaps after the
// deadline that caused it was cleared, where pgx's own reads
// (io.ReadAtLeast) drop it. An error that lasts (end of file, a reset, a
// deadline still past) comes again with the next read, as it does for pgx.
type dataFirst struct{ r io.Reader }

// Read reads r; the error only when no byte came.
func (d dataFirst) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if n > 0 {
		return n, nil
	}
	return n, err
}
