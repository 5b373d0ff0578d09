package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit"
)

// export writes the result of o's SELECT to w in o's format and returns
// the number of rows.
func export(ctx context.Context, pool *pgkit.DB, o options, w *countingWriter) (int64, error) {
	sel := selectOf(o)
	switch {
	case o.format == "csv" && o.via == "copy":
		lines := &lineCounter{w: w}
		return pgkit.CopyTo(ctx, pool, lines, "COPY ("+sel+") TO STDOUT WITH (FORMAT csv, HEADER)")
	case o.format == "csv":
		return csvRows(ctx, pool, sel, w)
	}
	return jsonLines(ctx, pool, sel, w)
}

// csvRows writes the result as CSV row by row, reading the values in the
// server's text format so that every type prints as PostgreSQL prints it,
// as COPY does. NULL and the empty string both come out empty (COPY writes
// "" for the empty string).
func csvRows(ctx context.Context, pool *pgkit.DB, sel string, w *countingWriter) (int64, error) {
	rows, err := pool.Query(ctx, sel, pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	fields := rows.FieldDescriptions()
	rec := make([]string, len(fields))
	for i, f := range fields {
		rec[i] = f.Name
	}
	if err := cw.Write(rec); err != nil {
		return 0, err
	}
	var n int64
	for rows.Next() {
		for i, raw := range rows.RawValues() {
			rec[i] = string(raw)
		}
		if err := cw.Write(rec); err != nil {
			return n, err
		}
		n++
		if n%4096 == 0 {
			w.rows.Add(4096)
		}
	}
	cw.Flush()
	w.rows.Add(n % 4096)
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, cw.Error()
}

// jsonLines writes one JSON object per row, made by the server
// (row_to_json), so that every type encodes as PostgreSQL's JSON does.
func jsonLines(ctx context.Context, pool *pgkit.DB, sel string, w *countingWriter) (int64, error) {
	rows, err := pool.Query(ctx, "SELECT row_to_json(q)::text FROM ("+sel+") AS q", pgx.QueryResultFormats{pgx.TextFormatCode})
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	var line []byte
	for rows.Next() {
		line = append(append(line[:0], rows.RawValues()[0]...), '\n')
		if _, err := w.Write(line); err != nil {
			return n, err
		}
		n++
		if n%4096 == 0 {
			w.rows.Add(4096)
		}
	}
	w.rows.Add(n % 4096)
	return n, rows.Err()
}

// lineCounter counts the lines COPY writes (rows, unless a value holds a
// newline) for the progress display.
type lineCounter struct{ w *countingWriter }

func (l *lineCounter) Write(b []byte) (int, error) {
	l.w.rows.Add(int64(bytes.Count(b, []byte{'\n'})))
	return l.w.Write(b)
}

// loadDemo fills a throwaway server: n orders of n/10 customers, made on
// the server.
func loadDemo(ctx context.Context, pool *pgkit.DB, n int) error {
	users := max(1, n/10)
	if _, err := pool.Exec(ctx, `INSERT INTO users (first_name, last_name, email)
		SELECT 'First' || g, 'Last' || g, 'user' || g || '@example.com' FROM generate_series(1, $1::int) g`, users); err != nil {
		return fmt.Errorf("users: %w", err)
	}
	_, err := pool.Exec(ctx, `INSERT INTO orders (user_id, status, total_cents, created_at)
		SELECT u.first + g % $2::int, (enum_range(NULL::order_status))[1 + g % 4], 100 + g % 100000, now() - g * interval '1 second'
		FROM generate_series(1, $1::int) g, (SELECT min(user_id) AS first FROM users) u`, n, users)
	if err != nil {
		return fmt.Errorf("orders: %w", err)
	}
	return nil
}
