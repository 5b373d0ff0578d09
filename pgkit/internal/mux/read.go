package mux

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// readOne reads the results of the oldest item on the wire, up to and
// including its ReadyForQuery. An error returned means the connection is
// broken.
func (l *lane) readOne() error {
	it := l.wire[0]
	copy(l.wire, l.wire[1:])
	l.wire = l.wire[:len(l.wire)-1]
	l.flushed--
	switch it.kind {
	case itemDeallocate:
		_, _, err := l.readItem(false)
		return err
	case itemPrepare:
		// The Prepare answers for its first waiting statement: if that
		// caller leaves, the cancel and the give-up apply as to a query.
		if waiting := l.preparing[it.sql]; len(waiting) > 0 {
			l.head.Store(waiting[0])
			if waiting[0].abandoned.Load() {
				l.planCancel(waiting[0])
			}
			defer l.head.Store(nil)
		}
		return l.readPrepare(it.sql)
	}
	req := it.req
	l.head.Store(req)
	if req.abandoned.Load() {
		l.planCancel(req)
	}
	res, _, err := l.readItem(true)
	l.head.Store(nil)
	now := time.Now()
	if it.slow {
		l.slowInFlight--
	}
	// Its time on the server, roughly: since the result before it ended
	// (or since it was sent, if the server was idle). A moving average, so
	// that one slow run does not mark a statement for good.
	took, avg := int64(now.Sub(l.lastRead)), it.st.info.took.Load()
	it.st.info.took.Store(avg + (took-avg)/4) // lanes racing here lose an update: it is a hint
	l.lastRead = now
	if err == nil && res.err == nil && !req.abandoned.Load() {
		res.st = it.st
	} else {
		res.release()
	}
	if err != nil {
		l.deliver(req, result{err: &inFlightError{err: err}})
		return err
	}
	if l.resend(req, it.st, res.err) {
		return nil
	}
	l.deliver(req, res)
	return nil
}

// errResultTooBig is a multiplexed row of 2 GB or more: the multiplexer
// holds results in memory, with 32-bit offsets in a row's slab.
var errResultTooBig = errors.New("pgkit: a multiplexed row of 2 GB or more; read it with QueryStream")

// description is what a Prepare's answer says of its statement.
type description struct {
	params []uint32                  // ParameterDescription
	fields []pgconn.FieldDescription // RowDescription
}

// readItem reads one item's messages up to its ReadyForQuery: the
// statement's error, if any, in res.err; with rows, the row values in
// res's segments (see slab.go); a Prepare's description in desc. The
// error returned means the connection broke, or the session is unusable
// for others (a transaction left open).
func (l *lane) readItem(rows bool) (res result, desc description, err error) {
	// Each value is copied once, out of the connection's read buffer into
	// the lane's slabs, where the caller's rows reference it: the slabs
	// are never written again below what was handed out, so the rows stay
	// valid however long the caller keeps them, and the lane never waits
	// for a caller to read them.
	var seg segmentRows
	if rows && l.slab != nil {
		seg.dstart, seg.estart = len(l.slab.data), len(l.slab.ends)
	}
	for {
		msg, err := l.pg.ReceiveMessage(context.Background())
		if err != nil {
			return res, desc, err
		}
		l.progress.Add(1)
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			if !rows || res.err != nil {
				continue
			}
			need := 0
			for _, v := range m.Values {
				need += len(v)
			}
			if need > math.MaxInt32 { // offsets are int32
				res.err = errResultTooBig
				continue
			}
			l.appendRow(&res, &seg, m.Values, need)
		case *pgproto3.CommandComplete:
			res.tag = pgconn.NewCommandTag(string(m.CommandTag))
		case *pgproto3.ErrorResponse:
			pgErr := pgconn.ErrorResponseToPgError(m)
			if pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC" {
				return res, desc, pgErr
			}
			res.err = pgErr
		case *pgproto3.ParameterDescription:
			desc.params = slices.Clone(m.ParameterOIDs)
		case *pgproto3.RowDescription:
			desc.fields = make([]pgconn.FieldDescription, len(m.Fields))
			for i, f := range m.Fields {
				desc.fields[i] = pgconn.FieldDescription{Name: string(f.Name), TableOID: f.TableOID,
					TableAttributeNumber: f.TableAttributeNumber, DataTypeOID: f.DataTypeOID,
					DataTypeSize: f.DataTypeSize, TypeModifier: f.TypeModifier, Format: f.Format}
			}
		case *pgproto3.ReadyForQuery:
			if m.TxStatus != 'I' {
				return res, desc, fmt.Errorf("pgkit: a multiplexed statement left a transaction open: %w", ErrSessionState)
			}
			if rows {
				l.cut(&res, &seg)
				l.dropBigSlab()
			}
			return res, desc, nil
		case *pgproto3.ParseComplete, *pgproto3.BindComplete, *pgproto3.CloseComplete, *pgproto3.NoData,
			*pgproto3.EmptyQueryResponse, *pgproto3.NoticeResponse, *pgproto3.ParameterStatus, *pgproto3.NotificationResponse:
		default:
			return res, desc, fmt.Errorf("%w: unexpected %T", errOutOfStep, msg)
		}
	}
}

// readPrepare reads a Prepare's description, then encodes the statements
// that waited for it.
func (l *lane) readPrepare(sql string) error {
	res, desc, err := l.readItem(false)
	waiting := l.preparing[sql]
	delete(l.preparing, sql)
	if err != nil {
		// The connection broke with only the Parse sent: the statements
		// did not run, and go back to the queue (die).
		l.orphans = append(l.orphans, waiting...)
		return err
	}
	if res.err != nil {
		for _, req := range waiting {
			l.deliver(req, result{err: cmp.Or(err, res.err)})
		}
		return err
	}
	l.prepared(sql, desc)
	l.sendBatch(waiting)
	return nil
}

// deliver hands req its result.
func (l *lane) deliver(req *request, res result) {
	if t := l.m.cfg.Tracer; t != nil && req.tctx != nil {
		err := res.err
		if err == nil && req.abandoned.Load() {
			err = req.ctx.Err()
		}
		t.TraceQueryEnd(req.tctx, l.conn, pgx.TraceQueryEndData{CommandTag: res.tag, Err: err})
	}
	l.inflight--
	l.m.answerDirect(req, res)
}
