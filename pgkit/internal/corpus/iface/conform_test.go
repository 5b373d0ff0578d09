package iface_test

import (
	"embed"
	"os"
	"reflect"
	"testing"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/iface"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// Store embeds sqlc's Querier (emit_interface) and adds the streams.
var (
	_ iface.Querier  = iface.Store(nil)
	_ iface.Streamer = iface.Store(nil)
)

// TestJSONTags: emit_json_tags with json_tags_case_style camel.
func TestJSONTags(t *testing.T) {
	typ := reflect.TypeFor[iface.WidgetParts]()
	want := map[string]string{"ID": "id", "PartCode": "partCode", "Spec": "spec", "ExtraMeta": "extraMeta"}
	if typ.NumField() != len(want) {
		t.Fatalf("WidgetParts has %d fields, want %d", typ.NumField(), len(want))
	}
	for field, tag := range want {
		f, ok := typ.FieldByName(field)
		if !ok {
			t.Errorf("WidgetParts has no field %s", field)
			continue
		}
		if got := f.Tag.Get("json"); got != tag {
			t.Errorf("WidgetParts.%s: json tag %q, want %q", field, got, tag)
		}
	}
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*iface.Queries)(nil), Batch: (*iface.Batch)(nil), Decoders: iface.Decoders()}
	conform.Run(t, p, iface.New, func() []conform.Step[*iface.Queries] {
		var bolt, nut, gear iface.WidgetParts
		return []conform.Step[*iface.Queries]{
			{Name: "create", Run: func(c *conform.C, q *iface.Queries) error {
				var s iface.Store = q // the calls go through the interfaces
				var err error
				bolt, err = s.CreatePart(c.Ctx, iface.CreatePartParams{PartCode: "bolt", Spec: []byte(`{"size":  8, "thread": "M8"}`), ExtraMeta: []byte(`{"color":"red","tags":["a"]}`)})
				conform.NoErr(c, "CreatePart", err)
				// json keeps the text as written, jsonb normalizes it.
				conform.Equal(c, "bolt's json", string(bolt.Spec), `{"size":  8, "thread": "M8"}`)
				conform.Equal(c, "bolt's jsonb", string(bolt.ExtraMeta), `{"tags": ["a"], "color": "red"}`)
				nut, err = s.CreatePart(c.Ctx, iface.CreatePartParams{PartCode: "nut", Spec: []byte(`[]`)})
				conform.NoErr(c, "CreatePart", err)
				conform.Equal(c, "nut's NULL jsonb", nut.ExtraMeta, []byte(nil))
				gear, err = s.CreatePart(c.Ctx, iface.CreatePartParams{PartCode: "gear", Spec: []byte(`null`), ExtraMeta: []byte(`{"color": "red", "teeth": 12}`)})
				conform.NoErr(c, "CreatePart", err)
				conform.Equal(c, "gear's json null", string(gear.Spec), `null`)
				return nil
			}},
			{Name: "unique", Run: func(c *conform.C, q *iface.Queries) error {
				_, err := q.CreatePart(c.Ctx, iface.CreatePartParams{PartCode: "bolt", Spec: []byte(`{}`)})
				conform.WantConstraint(c, err, "CreatePart", pgerr.ConstraintUnique, "widget_parts_part_code_key")
				return err
			}},
			{Name: "not found", Read: true, Run: func(c *conform.C, q *iface.Queries) error {
				_, err := q.GetPart(c.Ctx, -1)
				conform.WantNotFound(c, err, "GetPart")
				return nil
			}},
			{Name: "get", Read: true, Run: func(c *conform.C, q *iface.Queries) error {
				var qr iface.Querier = q
				got, err := qr.GetPart(c.Ctx, nut.ID)
				conform.NoErr(c, "GetPart", err)
				conform.Equal(c, "GetPart", got, nut)
				return nil
			}},
			{Name: "array parameter", Read: true, Run: func(c *conform.C, q *iface.Queries) error {
				got := conform.Many[iface.WidgetParts](c, q, "ListPartsByIDs", c.Ctx, []int64{gear.ID, bolt.ID, -1})
				conform.Equal(c, "ListPartsByIDs", got, []iface.WidgetParts{bolt, gear})
				all := conform.Many[iface.WidgetParts](c, q, "ListPartsByIDs", c.Ctx, []int64{bolt.ID, nut.ID, gear.ID})
				conform.Equal(c, "ListPartsByIDs of all", all, []iface.WidgetParts{bolt, nut, gear})
				// emit_empty_slices: no rows is an empty slice, not nil.
				none := conform.Many[iface.WidgetParts](c, q, "ListPartsByIDs", c.Ctx, []int64{})
				conform.Equal(c, "ListPartsByIDs of no ids", none, []iface.WidgetParts{})
				null := conform.Many[iface.WidgetParts](c, q, "ListPartsByIDs", c.Ctx, []int64(nil))
				conform.Equal(c, "ListPartsByIDs of NULL", null, []iface.WidgetParts{})
				return nil
			}},
			{Name: "jsonb parameter", Read: true, Run: func(c *conform.C, q *iface.Queries) error {
				got := conform.Many[string](c, q, "ListPartCodesWithMeta", c.Ctx, []byte(`{"color":"red"}`))
				conform.Equal(c, "ListPartCodesWithMeta red", got, []string{"bolt", "gear"})
				got = conform.Many[string](c, q, "ListPartCodesWithMeta", c.Ctx, []byte(`{"teeth":12}`))
				conform.Equal(c, "ListPartCodesWithMeta teeth", got, []string{"gear"})
				none := conform.Many[string](c, q, "ListPartCodesWithMeta", c.Ctx, []byte(`{"color":"blue"}`))
				conform.Equal(c, "ListPartCodesWithMeta blue", none, []string{})
				return nil
			}},
			{Name: "exec", Run: func(c *conform.C, q *iface.Queries) error {
				err := q.SetPartMeta(c.Ctx, iface.SetPartMetaParams{ID: nut.ID, ExtraMeta: []byte(`{"color":"blue"}`)})
				conform.NoErr(c, "SetPartMeta", err)
				err = q.SetPartMeta(c.Ctx, iface.SetPartMetaParams{ID: bolt.ID})
				conform.NoErr(c, "SetPartMeta to NULL", err)
				got := conform.Many[iface.WidgetParts](c, q, "ListPartsByIDs", c.Ctx, []int64{bolt.ID, nut.ID})
				conform.Equal(c, "metas after SetPartMeta", [][]byte{got[0].ExtraMeta, got[1].ExtraMeta}, [][]byte{nil, []byte(`{"color": "blue"}`)})
				codes := conform.Many[string](c, q, "ListPartCodesWithMeta", c.Ctx, []byte(`{"color":"blue"}`))
				conform.Equal(c, "ListPartCodesWithMeta blue after SetPartMeta", codes, []string{"nut"})
				return nil
			}},
			{Name: "execrows", Run: func(c *conform.C, q *iface.Queries) error {
				n, err := q.DeleteParts(c.Ctx, []int64{bolt.ID, nut.ID, -1})
				conform.NoErr(c, "DeleteParts", err)
				conform.Equal(c, "rows deleted", n, int64(2))
				n, err = q.DeleteParts(c.Ctx, []int64{bolt.ID})
				conform.NoErr(c, "DeleteParts again", err)
				conform.Equal(c, "rows deleted again", n, int64(0))
				left := conform.Many[iface.WidgetParts](c, q, "ListPartsByIDs", c.Ctx, []int64{bolt.ID, nut.ID, gear.ID})
				conform.Equal(c, "parts left", left, []iface.WidgetParts{gear})
				return nil
			}},
		}
	})
}
