package main

import (
	"strings"
	"testing"
)

// TestExpandBatch: a :batchmany or :batchone gets the join inference and
// the nullable/notnull annotations of :many and :one, its command kept.
func TestExpandBatch(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"LEFT JOIN embed of a batchmany is inferred nullable",
			"-- name: A :batchmany\n-- A lists.\nSELECT sqlc.embed(a), sqlc.embed(b) FROM a LEFT JOIN b ON b.x = a.x WHERE a.id = @id;\n",
			"-- name: pgkitA :batchmany\n-- pgkit:public A\n-- pgkit:embed a notnull\n-- pgkit:embed b nullable\n-- A lists.\nSELECT sqlc.embed(a), sqlc.embed(b) FROM a LEFT JOIN b ON b.x = a.x WHERE a.id = @id;\n"},
		{"column override of a batchone, with an optional filter",
			"-- name: B :batchone\n-- pgkit:optional n\n-- pgkit:notnull c\nSELECT c FROM a WHERE id = $1 AND n = @n::text;\n",
			"-- name: pgkitB :batchone\n-- pgkit:public B\n-- pgkit:column c notnull\nSELECT c FROM a WHERE id = $1 AND (sqlc.narg('n')::text IS NULL OR n = sqlc.narg('n')::text);\n"},
		{"notnull overrides the inference",
			"-- name: C :batchone\n-- pgkit:notnull b\nSELECT sqlc.embed(a), sqlc.embed(b) FROM a LEFT JOIN b ON b.x = a.x WHERE a.id = $1;\n",
			"-- name: pgkitC :batchone\n-- pgkit:public C\n-- pgkit:embed a notnull\n-- pgkit:embed b notnull\nSELECT sqlc.embed(a), sqlc.embed(b) FROM a LEFT JOIN b ON b.x = a.x WHERE a.id = $1;\n"},
		{"a plain batch keeps its name",
			"-- name: D :batchmany\nSELECT sqlc.embed(a) FROM a JOIN b ON b.x = a.x WHERE a.id = $1;\n",
			"-- name: D :batchmany\nSELECT sqlc.embed(a) FROM a JOIN b ON b.x = a.x WHERE a.id = $1;\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := expandOne(t, c.src)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("expand\n%s\n= %s\nwant %s", c.src, got, c.want)
			}
		})
	}
}

// TestExpandBatchErrors: the annotations a batch cannot take are refused,
// naming the file, line and query.
func TestExpandBatchErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"sort on a batchone", "-- name: A :batchone\n-- pgkit:sort a x\nSELECT * FROM t WHERE id = $1;\n", "q.sql:2: query A: pgkit:sort is not supported on :batchone yet (only pgkit:optional, pgkit:nullable and pgkit:notnull are): write the query as :one"},
		{"nest on a batchmany", "-- name: A :batchmany\n-- pgkit:nest b\nSELECT sqlc.embed(a), sqlc.embed(b) FROM a JOIN b ON b.x = a.x;\n", "q.sql:2: query A: pgkit:nest is not supported on :batchmany yet"},
		{"json on a batchmany", "-- name: A :batchmany\n-- pgkit:json j T\nSELECT j FROM t WHERE id = $1;\n", "q.sql:2: query A: pgkit:json is not supported on :batchmany yet"},
		{"nullable on batchexec", "-- name: A :batchexec\n-- pgkit:nullable x\nDELETE FROM t WHERE id = $1;\n", "q.sql:2: query A: pgkit:nullable is not supported on :batchexec yet (only pgkit:optional is)"},
		{"unknown column on a batch", "-- name: A :batchone\n-- pgkit:nullable nope\nSELECT a FROM t WHERE id = $1;\n", "q.sql:2: query A: pgkit:nullable nope: no sqlc.embed(nope) and no result column nope"},
		{"embed of an unknown table on a batch", "-- name: A :batchmany\nSELECT sqlc.embed(x) FROM t WHERE id = $1;\n", "q.sql:2: query A: sqlc.embed(x): the FROM clause has no table or alias x"},
		{"annotated twice on a batch", "-- name: A :batchone\n-- pgkit:nullable a\n-- pgkit:notnull a\nSELECT a FROM t WHERE id = $1;\n", "q.sql:3: query A: a is annotated twice (first on line 2)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := expandOne(t, c.src)
			if err == nil {
				t.Fatalf("expand\n%s\n= %s, want an error %q", c.src, got, c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("expand: %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}
