package pgdecode

import (
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// wideRow is a row of the bench's catalog query (pg_type's columns, as
// sqlc types them), 20 columns.
type wideRow struct {
	Oid, Namespace, Owner pgtype.Uint32
	Name                  string
	Len                   int16
	ByVal                 bool
	Type, Category        string
	Preferred, Defined    bool
	Delim                 string
	RelID, Elem, Array    pgtype.Uint32
	Align, Storage        string
	NotNull               bool
	BaseType              pgtype.Uint32
	TypMod, NDims         int32
}

func (r *wideRow) dest() []any {
	return []any{&r.Oid, &r.Name, &r.Namespace, &r.Owner, &r.Len, &r.ByVal, &r.Type, &r.Category, &r.Preferred, &r.Defined,
		&r.Delim, &r.RelID, &r.Elem, &r.Array, &r.Align, &r.Storage, &r.NotNull, &r.BaseType, &r.TypMod, &r.NDims}
}

// wideValues encodes one wide row as the server sends it, and its field
// descriptions.
func wideValues(b *testing.B, tm *pgtype.Map) ([]pgconn.FieldDescription, [][]byte) {
	vals := []struct {
		oid uint32
		v   any
	}{
		{pgtype.OIDOID, uint32(16)}, {pgtype.NameOID, "bool"}, {pgtype.OIDOID, uint32(11)}, {pgtype.OIDOID, uint32(10)},
		{pgtype.Int2OID, int16(1)}, {pgtype.BoolOID, true}, {pgtype.TextOID, "b"}, {pgtype.TextOID, "B"},
		{pgtype.BoolOID, true}, {pgtype.BoolOID, true}, {pgtype.TextOID, ","}, {pgtype.OIDOID, uint32(0)},
		{pgtype.OIDOID, uint32(0)}, {pgtype.OIDOID, uint32(1000)}, {pgtype.TextOID, "c"}, {pgtype.TextOID, "p"},
		{pgtype.BoolOID, false}, {pgtype.OIDOID, uint32(0)}, {pgtype.Int4OID, int32(-1)}, {pgtype.Int4OID, int32(0)},
	}
	fields := make([]pgconn.FieldDescription, len(vals))
	values := make([][]byte, len(vals))
	for i, v := range vals {
		buf, err := tm.Encode(v.oid, pgtype.BinaryFormatCode, v.v, nil)
		if err != nil {
			b.Fatal(err)
		}
		fields[i] = pgconn.FieldDescription{Name: "c", DataTypeOID: v.oid, Format: pgtype.BinaryFormatCode}
		values[i] = buf
	}
	return fields, values
}

// pgxScan scans as pgx's Rows.Scan does, its plans kept from row to row.
func pgxScan(tm *pgtype.Map, fields []pgconn.FieldDescription, plans []pgtype.ScanPlan, types []reflect.Type, values [][]byte, dest []any) error {
	for i, d := range dest {
		if plans[i] == nil || types[i] != reflect.TypeOf(d) {
			plans[i] = tm.PlanScan(fields[i].DataTypeOID, fields[i].Format, d)
			types[i] = reflect.TypeOf(d)
		}
		if err := plans[i].Scan(values[i], d); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkDecode compares a Decoder's Scan with pgx's scan plans on the
// wide row of the catalog workload, on an int4[100] (the arrays workload)
// and on a 1 KiB text with a 4 KiB bytea (large): ns/row.
func BenchmarkDecode(b *testing.B) {
	tm := pgtype.NewMap()
	wideFields, wideVals := wideValues(b, tm)
	arr := make([]int32, 100)
	for i := range arr {
		arr[i] = int32(i * 7919)
	}
	arrBuf, err := tm.Encode(pgtype.Int4ArrayOID, pgtype.BinaryFormatCode, arr, nil)
	if err != nil {
		b.Fatal(err)
	}
	var id int32
	var vals []int32
	arrFields := []pgconn.FieldDescription{{DataTypeOID: pgtype.Int4OID, Format: 1}, {DataTypeOID: pgtype.Int4ArrayOID, Format: 1}}
	arrValues := [][]byte{{0, 0, 0, 1}, arrBuf}
	var note string
	var payload []byte
	largeFields := []pgconn.FieldDescription{{DataTypeOID: pgtype.Int4OID, Format: 1}, {DataTypeOID: pgtype.TextOID, Format: 1}, {DataTypeOID: pgtype.ByteaOID, Format: 1}}
	largeValues := [][]byte{{0, 0, 0, 1}, []byte(strings.Repeat("n", 1024)), make([]byte, 4096)}

	var row wideRow
	cases := []struct {
		name   string
		fields []pgconn.FieldDescription
		values [][]byte
		dest   []any
	}{
		{"catalog", wideFields, wideVals, row.dest()},
		{"arrays", arrFields, arrValues, []any{&id, &vals}},
		{"large", largeFields, largeValues, []any{&id, &note, &payload}},
	}
	for _, c := range cases {
		b.Run(c.name+"/pgdecode", func(b *testing.B) {
			var r Result
			if !r.Start(New(c.dest...), tm, c.fields) {
				b.Fatal("decoder does not fit")
			}
			b.ReportAllocs()
			for b.Loop() {
				if !r.Scan(c.values, c.dest) {
					b.Fatal("declined")
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
		})
		b.Run(c.name+"/pgx", func(b *testing.B) {
			plans := make([]pgtype.ScanPlan, len(c.dest))
			types := make([]reflect.Type, len(c.dest))
			b.ReportAllocs()
			for b.Loop() {
				if err := pgxScan(tm, c.fields, plans, types, c.values, c.dest); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/row")
		})
	}
}
