// Package pgdecode decodes PostgreSQL's binary format straight into the
// Go types sqlc generates, without pgx's scan plans. pgkit makes a
// Decoder per query with New from the destinations of the query's own
// Scan list (the Decoders function pgkitgen generates returns them, and
// pgkit.Config.Decoders takes them), so the compiler, not pgkitgen,
// resolves every destination's type.
//
// A Decoder only ever decodes what pgx would decode to the same value:
// each column is checked once per result (Result.Start: the OID, the
// format and the codec pgx's type map holds for it; a column that does
// not fit is decoded by pgx's scan plan for its actual type), and any
// value that does not decode (NULL into a non-pointer, a bad length, an
// out-of-range time, a destination of another type) makes Result.Scan
// decline, so that the caller scans the row with pgx, whose error it
// returns. Columns of a type the package does not know (numeric, enums,
// composites, anything sql.Scanner) are decoded by pgx's scan plan for
// that column alone.
package pgdecode

import (
	"reflect"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// kind is how a column is decoded: by its destination's type.
type kind uint8

const (
	kPlan        kind = iota // pgx's scan plan for the column
	kInt2                    // *int16
	kInt4                    // *int32
	kInt8                    // *int64
	kFloat4                  // *float32
	kFloat8                  // *float64
	kBool                    // *bool
	kText                    // *string
	kBytea                   // *[]byte
	kTime                    // *time.Time (timestamptz)
	kPInt2                   // **int16
	kPInt4                   // **int32
	kPInt8                   // **int64
	kPFloat4                 // **float32
	kPFloat8                 // **float64
	kPBool                   // **bool
	kPText                   // **string
	kPTime                   // **time.Time (timestamptz)
	kNInt2                   // *pgtype.Int2
	kNInt4                   // *pgtype.Int4
	kNInt8                   // *pgtype.Int8
	kNFloat4                 // *pgtype.Float4
	kNFloat8                 // *pgtype.Float8
	kNBool                   // *pgtype.Bool
	kNText                   // *pgtype.Text
	kUint32                  // *pgtype.Uint32 (oid)
	kUUID                    // *pgtype.UUID
	kTimestamptz             // *pgtype.Timestamptz
	kDate                    // *pgtype.Date
	kInt4Array               // *[]int32
	kInt8Array               // *[]int64
	kTextArray               // *[]string
	kBoolArray               // *[]bool
	kFloat8Array             // *[]float64
)

// Decoder decodes the rows of one query into the destinations of its
// Scan list. It is immutable once made: every result a query returns
// shares it (each with a Result of its own), from any goroutine.
type Decoder struct {
	kinds []kind
	types []reflect.Type // per column: the destination's type
	texts []int          // the columns of kText, kPText or kNText, whose strings share a row's arena
	plans bool           // a column of kPlan
}

// New returns the decoder of the rows that dest, the pointers of a
// generated Scan list, are scanned into (of a zero row: only their types
// count). A destination of a type the package does not decode natively
// is decoded through pgx's scan plan.
func New(dest ...any) *Decoder {
	d := &Decoder{kinds: make([]kind, len(dest)), types: make([]reflect.Type, len(dest))}
	for i, x := range dest {
		k := kindOf(x)
		d.kinds[i], d.types[i] = k, reflect.TypeOf(x)
		switch k {
		case kText, kPText, kNText:
			d.texts = append(d.texts, i)
		case kPlan:
			d.plans = true
		}
	}
	return d
}

// Columns is the number of destinations the decoder takes.
func (d *Decoder) Columns() int { return len(d.kinds) }

// Native reports whether column i is decoded by the package itself
// (false: through pgx's scan plan).
func (d *Decoder) Native(i int) bool { return d.kinds[i] != kPlan }

// kindOf is how a destination of x's exact type is decoded.
func kindOf(x any) kind {
	switch x.(type) {
	case *int16:
		return kInt2
	case *int32:
		return kInt4
	case *int64:
		return kInt8
	case *float32:
		return kFloat4
	case *float64:
		return kFloat8
	case *bool:
		return kBool
	case *string:
		return kText
	case *[]byte:
		return kBytea
	case *time.Time:
		return kTime
	case **int16:
		return kPInt2
	case **int32:
		return kPInt4
	case **int64:
		return kPInt8
	case **float32:
		return kPFloat4
	case **float64:
		return kPFloat8
	case **bool:
		return kPBool
	case **string:
		return kPText
	case **time.Time:
		return kPTime
	case *pgtype.Int2:
		return kNInt2
	case *pgtype.Int4:
		return kNInt4
	case *pgtype.Int8:
		return kNInt8
	case *pgtype.Float4:
		return kNFloat4
	case *pgtype.Float8:
		return kNFloat8
	case *pgtype.Bool:
		return kNBool
	case *pgtype.Text:
		return kNText
	case *pgtype.Uint32:
		return kUint32
	case *pgtype.UUID:
		return kUUID
	case *pgtype.Timestamptz:
		return kTimestamptz
	case *pgtype.Date:
		return kDate
	case *[]int32:
		return kInt4Array
	case *[]int64:
		return kInt8Array
	case *[]string:
		return kTextArray
	case *[]bool:
		return kBoolArray
	case *[]float64:
		return kFloat8Array
	}
	return kPlan
}
