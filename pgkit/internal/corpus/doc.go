// Package corpus is pgkit's conformance corpus: small sqlc packages that
// are not the shop's, each with its own migrations, queries and sqlc.yaml,
// generated with the pinned sqlc and pgkitgen and never edited by hand.
// A package whose generate.go runs `pgkitgen expand` (leftjoin,
// leftjoinptr, opt, sorts, nest) keeps its query.sql in source form, as a
// user writes it, and its expanded sql/ beside it, which sqlc reads.
// TestGenerate regenerates every one (expanding first where generate.go
// does) and compares it, the expanded SQL too, with what is committed;
// each package's TestConformance runs its queries pooled,
// multiplexed, inside WithTx (each step in a savepoint) and through
// Pipeline and Gather (package conform), comparing every :many with its
// …Stream row for row and checking pgerr's typed errors.
//
// What each package covers (sqlc options, then constructs):
//
//	authors      sqlc's defaults: emit_interface off, query_parameter_limit 1, pgtype for NULLs;
//	             :one :many :exec :execrows, a single-column :many, sqlc.narg; unique, check, not-null, FK;
//	             a :many the server fails part-way and one whose scan fails part-way (its stream must end with the error); the generated
//	             RunInTx on raw pgx (pool, connection) and on pgkit (retry)
//	iface        emit_interface, emit_json_tags (camel), emit_empty_slices, emit_exact_table_names;
//	             a bigint[] parameter (= ANY), json and jsonb, a unique violation
//	dbarg        emit_methods_with_db_argument with emit_interface; :copyfrom and its Seq, :batchexec, FK violations
//	ptrs         emit_result_struct_pointers, emit_params_struct_pointers; streams of pointers, :copyfrom of
//	             pointers and its Seq (a nil row an error, not a panic), :batchone, check violations
//	nullptr      emit_pointers_for_null_types; nullable text, int4, int8, bool, float8, numeric, timestamptz,
//	             date, uuid, bytea, jsonb, all NULL and none; a single-column nullable :many; not-null;
//	             :copyfrom and :batchexec of pointers: pgx handed no pointer (a spy in the type map), the
//	             typed COPY source storing what pgx's reflection stores for extremes; the benchmarks of
//	             COPY and batch against hand-written pgx
//	paramlimit0  query_parameter_limit 0; a range column, an exclusion violation
//	paramlimit4  query_parameter_limit 4: queries of 1, 3, 4 and 5 parameters; a parameter and a column named yield
//	exported     emit_exported_queries, used directly with pgkit.Stream and Query; a query named Store (PgkitStore)
//	overrides    overrides: uuid (google/uuid), time.Time and *time.Time, pgtype, a type of the package (Cents),
//	             a type of another package under an alias (corpustypes as ct); those types as :many parameters;
//	             :copyfrom of them stored as pgx's reflection stores them
//	renames      rename (columns and a table), column overrides with a struct tag, emit_json_tags (snake)
//	filenames    output_db/models/querier/copyfrom/batch_file_name, output_files_suffix; two query files
//	onlybatch    only :batchexec, :batchone and :batchmany
//	onlycopy     only :copyfrom (multi- and single-column) and their Seqs
//	nomany       only :one, :exec and :execrows: no streams, no iter import
//	embeds       sqlc.embed over inner joins (two in a row), sqlc.narg optional filters, sqlc.arg, @named
//	leftjoin     pgkitgen's public methods of hidden queries (issue 17), from source form: sqlc.embed of the nullable side of
//	             LEFT, RIGHT and FULL joins as *Embed, nil for a missing row (sqlc #2348, #2997, #3240), a self-join
//	             (two embeds of one table), a joined row whose columns are all NULL (not nil), pgkit:nullable
//	             on max()::timestamptz and bool_or(), pgkit:notnull on LEFT JOIN columns and on a model row (a row
//	             type of its own); the same in :batchmany and :batchone (nil embeds, a notnull column, a
//	             nullable single column, a closed batch); sqlc's own methods failing on those NULLs
//	             (sqlcbug_test.go); pgtype, emit_interface
//	leftjoinptr  the same under emit_pointers_for_null_types, emit_result_struct_pointers and emit_empty_slices,
//	             emit_interface off; an :opt of a result pointer (nil when no row); pgkit:nest (:many, :one,
//	             :opt) and pgkit:json returning *Row and []*Row as sqlc's methods do under the option;
//	             batches of result pointers
//	opt          :opt (Row, bool, error) of a model row, a custom row, single columns, INSERT … ON CONFLICT DO
//	             NOTHING RETURNING (false when skipped; a unique violation and a cancelled context stay errors
//	             naming the public query), a nullable embed; a typed sort; emit_methods_with_db_argument
//	             with emit_interface
//	sorts        typed sorts (pgkit:sort): XSort, its constants, Valid, String, ParseXSort; one static statement
//	             per order (static_test.go), the source's ORDER BY replaced or one added (before LIMIT, at
//	             the end); :many with Params and LIMIT, :many with one parameter, :one, :opt;
//	             emit_params_struct_pointers
//	stores       tables stores and streamers (models Store, Streamer), queries StreamQuery and PgkitStreamQuery:
//	             pgkitgen picks PgkitStore, PgkitStreamer, pgkitStreamQuery2 by itself; queries Iter and Fmt
//	             (constants iter and fmt): pgkitgen imports those packages under other names
//	storesflags  the same collision, named by pgkitgen's -store and -streamer
//	singlecol    single-column :many of int4, int8, text, bool, numeric, date, text[], int4[], nullable
//	             text, an expression, columns named yield and zero; a :one of an array (no stream); the
//	             expression of unknown type draws pgkitgen's warning (pgkitgen-warnings.txt: the
//	             warnings a package must draw; none without the file)
//	arrays       arrays as parameters and results (ANY, unnest), empty and NULL arrays, json/jsonb,
//	             1 MB text and bytea values
//	plain        emit_interface and emit_prepared_queries off; a non-public schema (schema-qualified
//	             models), a foreign key across schemas, a zero-column :many (SELECT FROM t)
//	buildtags    build_tags (pgkitgen's file carries the same //go:build line), emit_sql_as_comment,
//	             omit_sqlc_version, initialisms, emit_db_tags, json_tags_id_uppercase, omit_unused_structs,
//	             inflection_exclude_table_names
//	types        registered types through Config.AfterConnect: an enum, an enum array, a nullable enum,
//	             a composite (overridden to a struct of the package) and an array of it, a domain with
//	             a CHECK; emit_enum_valid_method, emit_all_enum_values; :copyfrom of them (the enum handed
//	             to pgx as its string) stored as pgx's reflection stores them
//	nest         emit_interface, emit_json_tags (snake); pgkit:nest over a LEFT JOIN (parents of 0, 1, 2
//	             children, a child whose nullable columns are all NULL, one parent of a :one and of an
//	             :opt, several where one was wanted, rows not ordered by the key; not-found errors naming
//	             the public query), pgkit:json lists from json_agg (timestamptz with microseconds in a zone
//	             whose offset has seconds, big and zero-scale numeric, bytea, NULLs, unicode), two of them
//	             in one :one; streams stopped early; Store lists sqlc's exported methods (no Querier with
//	             hidden ones)
//	outside18append2  query_parameter_limit 4, overrides to google/uuid and json.RawMessage; single-column
//	             :many whose column is named after its type's package (uuid uuid.UUID, json json.RawMessage),
//	             :many with parameters named len and any (sqlc escapes neither), bytea, int4[] and jsonb rows
//	             each unlike the others, a division by zero on row 3 of a struct :many (…Append keeps dst);
//	             queries named Dst, Zero, Yield and Any (sqlc's constants dst, zero, yield, any), a :copyfrom
package corpus
