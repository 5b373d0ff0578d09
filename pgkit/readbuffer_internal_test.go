package pgkit

import (
	"errors"
	"io"
	"os"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
)

// TestReadBufferDropsAnErrorThatCameWithData: a read that returns bytes
// and an error together (a tls.Conn's timeout can) gives the frontend its
// message, and the next message is read from the connection, not answered
// with the old error: bufio alone kept the error and returned it to the
// next read, where pgx's own reads drop it.
func TestReadBufferDropsAnErrorThatCameWithData(t *testing.T) {
	ready := []byte{'Z', 0, 0, 0, 5, 'I'} // ReadyForQuery, idle
	r := &scriptedReader{reads: []scriptedRead{
		{ready, os.ErrDeadlineExceeded},
		{ready, nil},
	}}
	fe := readBuffered(DefaultReadBufferSize)(r, io.Discard)
	for i := range 2 {
		msg, err := fe.Receive()
		if _, ok := msg.(*pgproto3.ReadyForQuery); err != nil || !ok {
			t.Fatalf("message %d: %T, %v", i+1, msg, err)
		}
	}
}

// scriptedReader returns its reads in order, then io.EOF.
type scriptedReader struct{ reads []scriptedRead }

// scriptedRead is one Read's bytes and error.
type scriptedRead struct {
	data []byte
	err  error
}

// Read returns the next scripted read.
func (s *scriptedReader) Read(p []byte) (int, error) {
	if len(s.reads) == 0 {
		return 0, io.EOF
	}
	r := s.reads[0]
	s.reads = s.reads[1:]
	if len(p) < len(r.data) {
		return 0, errors.New("scriptedReader: read too small")
	}
	return copy(p, r.data), r.err
}
