package benchdb

import _ "embed"

// Schema is the SQL that creates the benchmark's tables (schema/schema.sql,
// the file sqlc compiles the queries against), to run as one simple-protocol
// statement list.
//
//go:embed schema/schema.sql
var Schema string
