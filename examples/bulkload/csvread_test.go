package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
)

// item is what one Read gave.
type item struct {
	fields []string
	line   int
	err    *csvError
}

// readAll reads in to the end with a csvReader.
func readAll(t *testing.T, in string, max int, reread bool) []item {
	t.Helper()
	r := newCSVReader(strings.NewReader(in), max, reread)
	var items []item
	for {
		rec, line, err := r.Read()
		if errors.Is(err, io.EOF) {
			return items
		}
		var ce *csvError
		if err != nil && !errors.As(err, &ce) {
			t.Fatalf("input error %v", err)
		}
		items = append(items, item{rec, line, ce})
		if len(items) > len(in)+1 {
			t.Fatalf("more records than bytes: looping")
		}
	}
}

func TestCSVReaderRecords(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []item
	}{
		{"LF", "a,b\nc,d\n", []item{{[]string{"a", "b"}, 1, nil}, {[]string{"c", "d"}, 2, nil}}},
		{"CRLF ends records", "a,b\r\nc,d\r\n", []item{{[]string{"a", "b"}, 1, nil}, {[]string{"c", "d"}, 2, nil}}},
		{"CRLF in a quoted field is kept", "\"a\r\nb\",c\r\nd,e\r\n", []item{{[]string{"a\r\nb", "c"}, 1, nil}, {[]string{"d", "e"}, 3, nil}}},
		{"lone CR is data", "a\rb,c\n", []item{{[]string{"a\rb", "c"}, 1, nil}}},
		{"no LF at the end", "a,b\nc,", []item{{[]string{"a", "b"}, 1, nil}, {[]string{"c", ""}, 2, nil}}},
		{"CR before the end is dropped", "a,b\r", []item{{[]string{"a", "b"}, 1, nil}}},
		{"blank lines skipped, counted", "\n\r\na\n\n\"b\nc\"\n", []item{{[]string{"a"}, 3, nil}, {[]string{"b\nc"}, 5, nil}}},
		{"doubled quotes", "\"say \"\"hi\"\"\",\"\"\n", []item{{[]string{`say "hi"`, ""}, 1, nil}}},
		{"UTF-8 BOM skipped", "\xEF\xBB\xBFa,b\n", []item{{[]string{"a", "b"}, 1, nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readAll(t, tc.in, 1<<20, true)
			if len(got) != len(tc.want) {
				t.Fatalf("%d records %v, want %v", len(got), got, tc.want)
			}
			for i := range got {
				if !slices.Equal(got[i].fields, tc.want[i].fields) || got[i].line != tc.want[i].line || got[i].err != nil {
					t.Errorf("record %d: %q at line %d (%v), want %q at line %d", i, got[i].fields, got[i].line, got[i].err, tc.want[i].fields, tc.want[i].line)
				}
			}
		})
	}
}

// A quote error in a record's first field, or in a later one, is a
// malformed record at its line; the next record is read as usual.
func TestCSVReaderQuoteErrors(t *testing.T) {
	got := readAll(t, "h\nCar\"l,x\n\"Al\"an,y\nok,z\n", 1<<20, true)
	if len(got) != 4 || got[1].err == nil || got[2].err == nil || got[3].err != nil {
		t.Fatalf("%+v", got)
	}
	if e := got[1].err; e.StartLine != 2 || !errors.Is(e.Err, csv.ErrBareQuote) || e.Column != 4 {
		t.Errorf("bare quote: %+v", e)
	}
	if e := got[2].err; e.StartLine != 3 || !errors.Is(e.Err, csv.ErrQuote) {
		t.Errorf("quote: %+v", e)
	}
	if !slices.Equal(got[3].fields, []string{"ok", "z"}) || got[3].line != 4 {
		t.Errorf("after the errors: %+v", got[3])
	}
}

// An unterminated quote is reported at the line it opens on, and the lines
// it swallowed are read again as records; without reread they are named.
func TestCSVReaderUnterminatedQuote(t *testing.T) {
	in := "h\nok,1\n\"bad,2\nok,3\nok,4\n"
	got := readAll(t, in, 1<<20, true)
	if len(got) != 5 {
		t.Fatalf("%+v", got)
	}
	e := got[2].err
	if e == nil || e.StartLine != 3 || e.EndLine != 5 || !e.Reread || !errors.Is(e.Err, errUnterminated) {
		t.Fatalf("%+v", e)
	}
	if msg := e.Error(); !strings.Contains(msg, "lines 4–5, read as part of it, read again as records") {
		t.Errorf("message %q", msg)
	}
	if got[3].line != 4 || !slices.Equal(got[3].fields, []string{"ok", "3"}) || got[4].line != 5 {
		t.Errorf("read again: %+v %+v", got[3], got[4])
	}
	got = readAll(t, in, 1<<20, false)
	if len(got) != 3 || got[2].err == nil || got[2].err.Reread || !strings.Contains(got[2].err.Error(), "lines 4–5, read as part of it, not loaded") {
		t.Fatalf("without reread: %+v", got)
	}
	// A stray quote that a later one closes: the record is malformed
	// there, and what it swallowed is read again, itself malformed.
	got = readAll(t, "h\n\"a,1\nok,2\nb,\"c\"d\nok,3\n", 1<<20, true)
	var lines []int
	for _, it := range got {
		lines = append(lines, it.line)
	}
	if !slices.Equal(lines, []int{1, 2, 3, 4, 5}) || got[1].err == nil || got[2].err != nil || got[3].err == nil || got[4].err != nil {
		t.Fatalf("%+v", got)
	}
}

// A record longer than the bound is reported, read to its end (quotes and
// all) without being kept, and the next record is read as usual.
func TestCSVReaderBound(t *testing.T) {
	long := strings.Repeat("x", 5000)
	in := "h\n" + long + ",1\n\"" + long + "\n" + long + "\",2\nok,3\n"
	got := readAll(t, in, 1000, true)
	if len(got) != 4 {
		t.Fatalf("%d records", len(got))
	}
	for i, want := range []int{2, 3} {
		if e := got[i+1].err; e == nil || !errors.Is(e.Err, errTooLong) || e.StartLine != want || e.Reread {
			t.Errorf("record at %d: %+v", want, e)
		}
	}
	if got[3].err != nil || got[3].line != 5 || !slices.Equal(got[3].fields, []string{"ok", "3"}) {
		t.Errorf("after: %+v", got[3])
	}
	if !strings.Contains(got[1].err.Error(), "record longer than 1000 bytes") {
		t.Errorf("message %q", got[1].err.Error())
	}
	// A record of exactly the bound, line end included, is fine.
	if got := readAll(t, "h\n"+strings.Repeat("y", 998)+"\n", 1000, true); got[1].err != nil {
		t.Errorf("at the bound: %v", got[1].err)
	}
}

func TestCSVReaderUTF16Refused(t *testing.T) {
	_, _, err := newCSVReader(strings.NewReader("\xFF\xFEa\x00"), 1<<20, true).Read()
	if err == nil || !strings.Contains(err.Error(), "UTF-16") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzCSVReader checks the reader against encoding/csv: the same records
// from the same lines and the same errors, but for the documented
// differences (a CRLF inside quotes kept, a BOM skipped, UTF-16 refused;
// reading swallowed lines again is off here). With reread on, it must
// still end, with start lines that only go up.
func FuzzCSVReader(f *testing.F) {
	for _, s := range []string{
		"a,b\nc,d\n", "\"a\r\nb\",c\r\n", "Car\"l,x,\n", "\"Al\"an,x\n", "\"open,\nrest\n",
		"\xEF\xBB\xBFa\n", "\n\r\n\r\r\n", "a\r", "\"a\"\r", "\"a\"\rb\n", ",\n\"\"\n", "a,\"b\nc\"d,e\nf\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if bytes.HasPrefix(in, []byte("\xFF\xFE")) || bytes.HasPrefix(in, []byte("\xFE\xFF")) {
			return
		}
		mine := newCSVReader(bytes.NewReader(in), 1<<20, false)
		theirs := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(in, []byte("\xEF\xBB\xBF"))))
		theirs.FieldsPerRecord = -1
		for n := 0; ; n++ {
			rec, line, err := mine.Read()
			want, wantErr := theirs.Read()
			if errors.Is(wantErr, io.EOF) || errors.Is(err, io.EOF) {
				if !errors.Is(wantErr, io.EOF) || !errors.Is(err, io.EOF) {
					t.Fatalf("record %d: %q, %v; encoding/csv: %q, %v", n, rec, err, want, wantErr)
				}
				break
			}
			var pe *csv.ParseError
			if errors.As(wantErr, &pe) {
				var ce *csvError
				if !errors.As(err, &ce) || ce.StartLine != pe.StartLine || !sameKind(ce.Err, pe.Err) {
					t.Fatalf("record %d: %q, %v; encoding/csv: %v", n, rec, err, pe)
				}
				continue
			}
			if err != nil || wantErr != nil {
				t.Fatalf("record %d: %v; encoding/csv: %v", n, err, wantErr)
			}
			wantLine, _ := theirs.FieldPos(0)
			normal := make([]string, len(rec))
			for i, s := range rec {
				normal[i] = strings.ReplaceAll(s, "\r\n", "\n")
			}
			if !slices.Equal(normal, want) || line != wantLine {
				t.Fatalf("record %d: %q at line %d; encoding/csv: %q at line %d", n, rec, line, want, wantLine)
			}
		}
		r := newCSVReader(bytes.NewReader(in), 64, true)
		last := 0
		for n := 0; ; n++ {
			_, line, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			var ce *csvError
			if err != nil && !errors.As(err, &ce) {
				t.Fatal(err)
			}
			if line <= last || n > len(in) {
				t.Fatalf("record %d starts at line %d after %d", n, line, last)
			}
			last = line
		}
	})
}

// sameKind says whether a csvReader error is the one encoding/csv gives.
func sameKind(mine, theirs error) bool {
	if errors.Is(mine, errUnterminated) {
		return errors.Is(theirs, csv.ErrQuote)
	}
	return errors.Is(mine, theirs)
}

// BenchmarkCSVReader reads narrow rows and one wide column with the reader
// and, for comparison, encoding/csv (-bench . -benchmem prints MB/s).
func BenchmarkCSVReader(b *testing.B) {
	narrow := strings.Repeat("Ada,Lovelace,ada@example.com\n\"Alan, M.\",\"Turing\",\n", 20000)
	wide := "a,\"" + strings.Repeat("0123456789abcdef", 1<<16) + "\",c\n" + strings.Repeat("x", 1<<20) + ",y\n"
	for _, in := range []struct{ name, text string }{{"narrow", narrow}, {"wide", wide}} {
		b.Run(in.name+"/csvReader", func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			for b.Loop() {
				r := newCSVReader(strings.NewReader(in.text), 64<<20, true)
				for {
					if _, _, err := r.Read(); err == io.EOF {
						break
					}
				}
			}
		})
		b.Run(in.name+"/encoding-csv", func(b *testing.B) {
			b.SetBytes(int64(len(in.text)))
			for b.Loop() {
				r := csv.NewReader(strings.NewReader(in.text))
				r.FieldsPerRecord = -1
				for {
					if _, err := r.Read(); err == io.EOF {
						break
					}
				}
			}
		})
	}
}
