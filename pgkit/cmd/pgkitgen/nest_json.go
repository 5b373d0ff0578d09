package main

import (
	"fmt"
	"go/ast"
	"sort"
)

// jsonDecoders are the decoders of the types pgkit:json lines name, and
// the helpers they call.
type jsonDecoders struct {
	p       *pkg
	types   map[string][]jsonField // by type
	helpers map[string]bool
}

// jsonField is one field of a decoded type: its Go name, type, json key
// and the helper that decodes it.
type jsonField struct {
	name, typ, key, helper string
}

func newJSONDecoders(p *pkg) *jsonDecoders {
	return &jsonDecoders{p: p, types: map[string][]jsonField{}, helpers: map[string]bool{}}
}

// jsonDecoderName is the name of typ's decoder.
func jsonDecoderName(p *pkg, typ string) string { return free(p.taken, "pgkitJSON"+typ) }

// jsonHelper returns the helper decoding a JSON value of PostgreSQL's
// to_json into a field of Go type typ: times and bytea need their own
// (PostgreSQL writes offsets of seconds, and bytea as "\x…" hex), the rest
// is encoding/json's (with pgtype's UnmarshalJSON for pgtype types).
func jsonHelper(typ string) string {
	switch typ {
	case "time.Time":
		return "pgkitJSONTime"
	case "*time.Time":
		return "pgkitJSONTimePtr"
	case "pgtype.Timestamptz":
		return "pgkitJSONTimestamptz"
	case "[]byte":
		return "pgkitJSONBytea"
	}
	return "pgkitJSONValue"
}

// need plans the decoder of typ: a struct of the package whose every field
// has a json tag (emit_json_tags), the tags being the keys of the objects
// the column holds (json_agg(t) of a row of the table: its column names).
func (d *jsonDecoders) need(typ string) error {
	if _, ok := d.types[typ]; ok {
		return nil
	}
	lt, ok := d.p.local[typ]
	st, isStruct := lt.typ.(*ast.StructType)
	if !ok || !isStruct {
		return fmt.Errorf("%s is not a struct type of the package (name a model or a Row type)", typ)
	}
	var fs []jsonField
	for _, f := range st.Fields.List {
		for _, n := range f.Names {
			tag := ""
			if f.Tag != nil {
				tag = tagName(f.Tag.Value)
			}
			if tag == "" || tag == "-" {
				return fmt.Errorf("%s.%s has no json tag: the JSON objects' keys are the json tags of %s (turn on emit_json_tags with the case style the keys have; json_agg(t) gives the column names, snake_case)", typ, n.Name, typ)
			}
			ft := text(d.p.fset, f.Type)
			fs = append(fs, jsonField{n.Name, ft, tag, jsonHelper(ft)})
			d.helpers[jsonHelper(ft)] = true
		}
	}
	d.types[typ] = fs
	return nil
}

// render writes the decoders and their helpers.
func (d *jsonDecoders) render(im *imports, n names, w func(string, ...any)) error {
	if len(d.types) == 0 {
		return nil
	}
	im.add("bytes", "bytes")
	im.add("json", "encoding/json")
	im.add(n.fmt, "fmt")
	var typs []string
	for t := range d.types {
		typs = append(typs, t)
	}
	sort.Strings(typs)
	for _, typ := range typs {
		lt := d.p.local[typ]
		if err := im.uses(lt.file, lt.typ); err != nil {
			return fmt.Errorf("pgkit:json %s: %w", typ, err)
		}
		name := jsonDecoderName(d.p, typ)
		w("// %[1]s decodes a JSON array of %[2]s objects, as json_agg(t) of a row\n// writes it, each key one of %[2]s's json tags: every field's key must be\n// there and no other. SQL NULL, JSON null and [] are an empty slice.\nfunc %[1]s(b []byte) ([]%[2]s, error) {\n", name, typ)
		w("\tif len(b) == 0 || string(b) == \"null\" {\n\t\treturn []%s{}, nil\n\t}\n\tvar raw []struct {\n", typ)
		for k, f := range d.types[typ] {
			w("\t\tF%d json.RawMessage `json:%q`\n", k, f.key)
		}
		w("\t}\n\tdec := json.NewDecoder(bytes.NewReader(b))\n\tdec.DisallowUnknownFields()\n\tif err := dec.Decode(&raw); err != nil {\n\t\treturn nil, fmt.Errorf(\"decode []%s: %%w\", err)\n\t}\n", typ)
		w("\tout := make([]%s, len(raw))\n\tfor k := range raw {\n\t\tr, v := &raw[k], &out[k]\n\t\tif err := errors.Join(\n", typ)
		im.add("errors", "errors")
		for k, f := range d.types[typ] {
			w("\t\t\t%s(r.F%d, &v.%s, %q),\n", f.helper, k, f.name, f.key)
		}
		w("\t\t); err != nil {\n\t\t\treturn nil, fmt.Errorf(\"decode []%s: element %%d: %%w\", k, err)\n\t\t}\n\t}\n\treturn out, nil\n}\n\n", typ)
	}
	return d.renderHelpers(im, w)
}

// renderHelpers writes the helpers the decoders call.
func (d *jsonDecoders) renderHelpers(im *imports, w func(string, ...any)) error {
	if d.helpers["pgkitJSONValue"] {
		w(`// pgkitJSONValue decodes the value of key into dst with encoding/json.
func pgkitJSONValue(raw json.RawMessage, dst interface{}, key string) error {
	if raw == nil {
		return fmt.Errorf("key %%q missing", key)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("key %%q: %%w", key, err)
	}
	return nil
}

`)
	}
	times := d.helpers["pgkitJSONTime"] || d.helpers["pgkitJSONTimePtr"] || d.helpers["pgkitJSONTimestamptz"]
	if times {
		im.add("time", "time")
		im.add("strconv", "strconv")
		w(`// pgkitParseTime parses a timestamptz or timestamp as PostgreSQL's
// to_json writes it (ISO 8601, microseconds, an offset of hours, minutes
// and maybe seconds, none for timestamp), in time.Local as pgx scans
// timestamptz, or UTC as it scans timestamp.
func pgkitParseTime(raw json.RawMessage, key string) (time.Time, bool, error) {
	if raw == nil {
		return time.Time{}, false, fmt.Errorf("key %%q missing", key)
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, false, fmt.Errorf("key %%q: %%w", key, err)
	}
	if s == nil {
		return time.Time{}, false, nil
	}
	v := *s
	const layout = "2006-01-02T15:04:05.999999999"
	if len(v) > 19 { // an offset after the seconds and fraction
		if at := strings.LastIndexAny(v[19:], "+-Z"); at >= 0 {
			at += 19
			t, err := time.ParseInLocation(layout, v[:at], time.UTC)
			if err != nil {
				return time.Time{}, false, fmt.Errorf("key %%q: %%w", key, err)
			}
			off := 0
			if v[at] != 'Z' {
				for k, part := range strings.Split(v[at+1:], ":") {
					n, err := strconv.Atoi(part)
					if err != nil || k > 2 {
						return time.Time{}, false, fmt.Errorf("key %%q: bad offset in %%q", key, v)
					}
					off += n * []int{3600, 60, 1}[k]
				}
				if v[at] == '-' {
					off = -off
				}
			}
			return t.Add(-time.Duration(off) * time.Second).Local(), true, nil
		}
	}
	t, err := time.ParseInLocation(layout, v, time.UTC)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("key %%q: %%w", key, err)
	}
	return t, true, nil
}

`)
		im.add("strings", "strings")
	}
	if d.helpers["pgkitJSONTime"] {
		w(`// pgkitJSONTime decodes a time that may not be null.
func pgkitJSONTime(raw json.RawMessage, dst *time.Time, key string) error {
	t, ok, err := pgkitParseTime(raw, key)
	if err == nil && !ok {
		err = fmt.Errorf("key %%q: null for a time.Time", key)
	}
	*dst = t
	return err
}

`)
	}
	if d.helpers["pgkitJSONTimePtr"] {
		w(`// pgkitJSONTimePtr decodes a time, nil for null.
func pgkitJSONTimePtr(raw json.RawMessage, dst **time.Time, key string) error {
	t, ok, err := pgkitParseTime(raw, key)
	if ok {
		*dst = &t
	}
	return err
}

`)
	}
	if d.helpers["pgkitJSONTimestamptz"] {
		im.add("pgtype", "github.com/jackc/pgx/v5/pgtype")
		w(`// pgkitJSONTimestamptz decodes a pgtype.Timestamptz: null is not Valid,
// "infinity" and "-infinity" its infinities.
func pgkitJSONTimestamptz(raw json.RawMessage, dst *pgtype.Timestamptz, key string) error {
	switch string(raw) {
	case ` + "`\"infinity\"`" + `:
		*dst = pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.Infinity}
		return nil
	case ` + "`\"-infinity\"`" + `:
		*dst = pgtype.Timestamptz{Valid: true, InfinityModifier: pgtype.NegativeInfinity}
		return nil
	}
	t, ok, err := pgkitParseTime(raw, key)
	*dst = pgtype.Timestamptz{Time: t, Valid: ok}
	return err
}

`)
	}
	if d.helpers["pgkitJSONBytea"] {
		im.add("hex", "encoding/hex")
		w(`// pgkitJSONBytea decodes bytea as to_json writes it: \x and hex; nil
// for null.
func pgkitJSONBytea(raw json.RawMessage, dst *[]byte, key string) error {
	if raw == nil {
		return fmt.Errorf("key %%q missing", key)
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("key %%q: %%w", key, err)
	}
	if s == nil {
		*dst = nil
		return nil
	}
	h, ok := strings.CutPrefix(*s, ` + "`\\x`" + `)
	if !ok {
		return fmt.Errorf("key %%q: bytea not in hex form (bytea_output = hex)", key)
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		return fmt.Errorf("key %%q: %%w", key, err)
	}
	*dst = b
	return nil
}

`)
		im.add("strings", "strings")
	}
	return nil
}
