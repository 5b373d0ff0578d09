package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// csvReader reads CSV records as encoding/csv reads them with
// FieldsPerRecord -1 (RFC 4180: comma-separated, fields quoted with ", a
// quote inside one doubled, CRLF or LF ending a record, blank lines
// skipped, the same errors, a record's start line), with four differences.
// They are why it is written here instead of encoding/csv being used,
// which has no option for any of them:
//
//   - a CRLF inside a quoted field is data and is kept (encoding/csv turns
//     it into LF);
//   - a UTF-8 byte order mark at the start of the input is skipped, and a
//     UTF-16 one is refused with a clear error;
//   - a record is bounded in bytes (max): a longer one is reported and read
//     to its end without being held in memory, so that memory stays bounded
//     whatever the input;
//   - a malformed record that runs over several lines (an unterminated or a
//     stray quote) is reported at the line it starts on, and, when reread is
//     set, the lines after that one are read again as records, so that a
//     stray quote costs one record rather than every line up to the next
//     quote or the end of the input.
//
// FuzzCSVReader checks it against encoding/csv.
type csvReader struct {
	br     *bufio.Reader
	again  []byte // text to read again before br (see reread)
	max    int
	reread bool
	bomOK  bool // the start of the input was checked for a byte order mark
	line   int  // the line being read, from 1

	buf  []byte // the fields of the record being read, unescaped
	ends []int  // where each field ends in buf
	raw  []byte // the record's text after its first line, kept for reading again
}

// maxKeptBuffer is the capacity of buf and raw kept between records: after
// a larger record they are dropped, so that one huge row does not pin its
// size.
const maxKeptBuffer = 4 << 20

// errUnterminated is a quoted field still open at the end of the input.
var errUnterminated = errors.New("unterminated quoted field: no closing quote before the end of the input")

// errTooLong is a record longer than the reader's bound.
var errTooLong = errors.New("record too long")

// csvError is a malformed record. The reader goes on after it.
type csvError struct {
	StartLine int // the record's first line
	EndLine   int // its last line
	Line      int // where the error is
	Column    int // where the error is, in bytes from 1
	Err       error
	Max       int  // for errTooLong: the bound
	Reread    bool // the lines after StartLine are read again as records
}

func (e *csvError) Error() string {
	var msg string
	switch {
	case errors.Is(e.Err, errTooLong):
		msg = fmt.Sprintf("record longer than %d bytes (-max-row-bytes)", e.Max)
	case errors.Is(e.Err, errUnterminated):
		msg = e.Err.Error() + fmt.Sprintf(" (the quote in column %d", e.Column)
		if e.Line != e.StartLine {
			msg += fmt.Sprintf(" of line %d", e.Line)
		}
		msg += ")"
	default:
		msg = e.Err.Error()
		if e.Line != e.StartLine {
			msg += fmt.Sprintf(" (line %d, column %d)", e.Line, e.Column)
		} else {
			msg += fmt.Sprintf(" (column %d)", e.Column)
		}
	}
	if e.EndLine > e.StartLine {
		lines := fmt.Sprintf("lines %d–%d", e.StartLine+1, e.EndLine)
		if e.EndLine == e.StartLine+1 {
			lines = fmt.Sprintf("line %d", e.EndLine)
		}
		if e.Reread {
			msg += "; " + lines + ", read as part of it, read again as records"
		} else {
			msg += "; " + lines + ", read as part of it, not loaded"
		}
	}
	return msg
}

// newCSVReader reads r, with records of at most max bytes.
func newCSVReader(r io.Reader, max int, reread bool) *csvReader {
	return &csvReader{br: bufio.NewReaderSize(r, 64<<10), max: max, reread: reread, line: 1}
}

// nextLine is the line the next record can start on.
func (r *csvReader) nextLine() int { return r.line }

// The parser's states.
const (
	stRecord   = iota // before a record: blank lines are skipped here
	stField           // at the start of a field after a comma
	stUnquoted        // in a field without quotes
	stQuoted          // in a quoted field
	stQuote           // just after a quote in a quoted field
	stSkip            // after an error: the rest of the line is skipped
)

// chunk returns the input up to and including the next LF (or less, when
// a line does not fit the buffer, or at the end). It is valid until the
// next call.
func (r *csvReader) chunk() ([]byte, error) {
	if len(r.again) > 0 {
		i := bytes.IndexByte(r.again, '\n')
		if i < 0 {
			i = len(r.again) - 1
		}
		c := r.again[:i+1]
		r.again = r.again[i+1:]
		return c, nil
	}
	if !r.bomOK {
		r.bomOK = true
		if b, _ := r.br.Peek(3); bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
			_, _ = r.br.Discard(3)
		} else if bytes.HasPrefix(b, []byte("\xFF\xFE")) || bytes.HasPrefix(b, []byte("\xFE\xFF")) {
			return nil, fmt.Errorf("the input is UTF-16 (it starts with the byte order mark % X): save it as UTF-8", b[:2])
		}
	}
	c, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		err = nil
	}
	return c, err
}

// Read returns the next record and the line it starts on. A malformed
// record is a *csvError, after which Read may be called again; io.EOF
// ends the input; any other error is the input's and ends it too.
func (r *csvReader) Read() ([]string, int, error) {
	if cap(r.buf) > maxKeptBuffer {
		r.buf = nil
	}
	if cap(r.raw) > maxKeptBuffer {
		r.raw = nil
	}
	r.buf, r.ends, r.raw = r.buf[:0], r.ends[:0], r.raw[:0]
	p := parse{r: r, state: stRecord}
	for {
		c, err := r.chunk()
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, err
		}
		if p.keep && !p.rawLost {
			r.raw = append(r.raw, c...)
		}
		p.size += len(c)
		if p.feed(c) {
			return r.end(&p)
		}
		p.checkSize()
		if errors.Is(err, io.EOF) {
			break
		}
	}
	// The end of the input. A CR just before it is dropped, as
	// encoding/csv drops it.
	switch p.state {
	case stRecord:
		return nil, 0, io.EOF
	case stQuoted:
		// encoding/csv reports the quote at the end of the input; here it
		// is the record's error, at its start.
		p.fail(errUnterminated, p.quoteLine, p.quoteCol)
	case stField, stUnquoted, stQuote:
		p.endField()
	}
	if p.col > 0 {
		r.line++ // the last line had no LF
	}
	return r.end(&p)
}

// parse is the state of the record Read is reading.
type parse struct {
	r                   *csvReader
	state               int
	start               int       // the record's first line; 0 before its first byte
	col                 int       // bytes of the current line consumed
	size                int       // bytes of the record read so far
	cr                  bool      // a CR was seen, not yet taken as data or as a line end
	keep                bool      // the record runs over lines: its text goes to raw
	rawLost             bool      // raw was dropped (the record is too long)
	quoteLine, quoteCol int       // the quote that opened the last quoted field
	err                 *csvError // the record's first error
}

// fail records the record's first error; its fields are no longer kept.
func (p *parse) fail(err error, line, column int) {
	if p.err == nil {
		p.err = &csvError{StartLine: p.start, Line: line, Column: column, Err: err, Max: p.r.max}
	}
}

// ok says whether the record has no error yet, so that its fields are kept.
func (p *parse) ok() bool { return p.err == nil }

func (p *parse) endField() {
	if p.ok() {
		p.r.ends = append(p.r.ends, len(p.r.buf))
	}
}

func (p *parse) data(b []byte) {
	if p.ok() {
		p.r.buf = append(p.r.buf, b...)
	}
}

// checkSize fails a record that is longer than the bound and drops what was
// kept of it.
func (p *parse) checkSize() {
	if p.size > p.r.max && p.ok() {
		p.fail(errTooLong, p.r.line, p.col)
		p.r.buf, p.r.raw, p.rawLost = p.r.buf[:0], p.r.raw[:0], true
	}
}

// newLine counts the LF just consumed.
func (p *parse) newLine() { p.r.line, p.col = p.r.line+1, 0 }

// feed parses c, which ends with the only LF in it if any, and says whether
// the record ended in it (on that LF, counted).
func (p *parse) feed(c []byte) bool {
	var next nextIndex
	for i := 0; i < len(c); i++ {
		b := c[i]
		p.col++
		if p.start == 0 && (p.state != stRecord || (b != '\n' && b != '\r')) {
			p.start = p.r.line
		}
		if p.cr {
			p.cr = false
			if b != '\n' {
				// The CR was data, or junk after a closing quote.
				switch p.state {
				case stRecord, stField, stUnquoted:
					if p.start == 0 {
						p.start = p.r.line
					}
					p.state = stUnquoted
					p.data([]byte{'\r'})
				case stQuote:
					p.fail(csv.ErrQuote, p.r.line, p.col-2)
					p.state = stSkip
				}
			}
		}
		switch p.state {
		case stRecord, stField:
			switch b {
			case '"':
				p.state, p.quoteLine, p.quoteCol = stQuoted, p.r.line, p.col
				continue
			case ',':
				p.endField()
				p.state = stField
				continue
			case '\r':
				p.cr = true
				continue
			case '\n':
				if p.state == stRecord {
					p.newLine() // a blank line, skipped
					p.size = 0
					continue
				}
				p.endField()
				p.newLine()
				return true
			}
			p.state = stUnquoted
			fallthrough
		case stUnquoted:
			// Up to the next byte that means something: the LF can only be
			// c's last; the quote and CR are found once per chunk.
			j := i + bytes.IndexByte(c[i:], ',')
			if j < i {
				j = len(c)
				if c[j-1] == '\n' {
					j--
				}
			}
			j = min(j, next.at(c, i, '"'), next.at(c, i, '\r'))
			p.data(c[i:j])
			p.col += j - i - 1
			if i = j; i == len(c) {
				continue
			}
			p.col++
			switch c[i] {
			case ',':
				p.endField()
				p.state = stField
			case '"':
				p.fail(csv.ErrBareQuote, p.r.line, p.col)
				p.state = stSkip
			case '\r':
				p.cr = true
			case '\n':
				p.endField()
				p.newLine()
				return true
			}
		case stQuoted:
			j := i + bytes.IndexByte(c[i:], '"')
			if j < i {
				j = len(c)
			}
			p.data(c[i:j])
			p.col += j - i - 1
			if i = j; i == len(c) {
				if c[len(c)-1] == '\n' {
					p.newLine() // the field goes on on the next line
					p.keep = true
				}
				continue
			}
			p.col++
			p.state = stQuote
		case stQuote:
			switch b {
			case '"':
				p.data([]byte{'"'})
				p.state = stQuoted
			case ',':
				p.endField()
				p.state = stField
			case '\r':
				p.cr = true
			case '\n':
				p.endField()
				p.newLine()
				return true
			default:
				p.fail(csv.ErrQuote, p.r.line, p.col-1)
				p.state = stSkip
			}
		case stSkip:
			if b == '\n' {
				p.newLine()
				return true
			}
		}
	}
	return false
}

// nextIndex caches, for one chunk, where the next quote and the next CR
// are, so that each is searched for once per chunk (with the fast
// bytes.IndexByte) rather than once per field.
type nextIndex struct {
	quote, cr     int // their index in the chunk, or len(chunk) for none
	quoted, crred bool
	fromQ, fromCR int // the index the search started at
}

// at returns the index of the first b ('"' or '\r') at or after i in c, or
// len(c).
func (n *nextIndex) at(c []byte, i int, b byte) int {
	pos, ok, from := &n.quote, &n.quoted, &n.fromQ
	if b == '\r' {
		pos, ok, from = &n.cr, &n.crred, &n.fromCR
	}
	if !*ok || i < *from || (*pos < i) {
		*ok, *from = true, i
		if k := bytes.IndexByte(c[i:], b); k >= 0 {
			*pos = i + k
		} else {
			*pos = len(c)
		}
	}
	return *pos
}

// end finishes the record p read, which ended on the line before r.line:
// its fields, or its error, after which, for a malformed record over
// several lines, the lines after its first are read again.
func (r *csvReader) end(p *parse) ([]string, int, error) {
	p.checkSize()
	if p.err != nil {
		e := p.err
		e.EndLine = r.line - 1
		if r.reread && !errors.Is(e.Err, errTooLong) && e.EndLine > e.StartLine && !p.rawLost {
			e.Reread = true
			again := make([]byte, 0, len(r.raw)+len(r.again))
			r.again = append(append(again, r.raw...), r.again...)
			r.line = e.StartLine + 1
		}
		return nil, e.StartLine, e
	}
	s := string(r.buf)
	rec := make([]string, len(r.ends))
	prev := 0
	for i, e := range r.ends {
		rec[i] = s[prev:e]
		prev = e
	}
	return rec, p.start, nil
}
