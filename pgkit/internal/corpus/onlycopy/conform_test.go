package onlycopy_test

import (
	"embed"
	"iter"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/shopdb/shopdb/pgkit/internal/corpus/conform"
	"github.com/shopdb/shopdb/pgkit/internal/corpus/onlycopy"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

//go:embed migrations/*.sql
var migrations embed.FS

func TestMain(m *testing.M) { os.Exit(pgkittest.Run(m)) }

// readings yields n readings of sensor, an hour apart from t0, the one at
// index bad (if any) below absolute zero; *done is set once the sequence
// has returned, whether it ran to the end or was stopped.
func readings(sensor string, n, bad int, done *bool) iter.Seq[onlycopy.CopyReadingsParams] {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return func(yield func(onlycopy.CopyReadingsParams) bool) {
		defer func() { *done = true }()
		for i := range n {
			r := onlycopy.CopyReadingsParams{Sensor: sensor, At: pgtype.Timestamptz{Time: t0.Add(time.Duration(i) * time.Hour), Valid: true}, Kelvin: 273.15 + float64(i%10)}
			if i%3 == 0 {
				r.Note = pgtype.Text{String: "third", Valid: true}
			}
			if i == bad {
				r.Kelvin = -1
			}
			if !yield(r) {
				return
			}
		}
	}
}

// count returns a count(*)-like integer the query selects, on what q runs
// on (in the "tx" mode, the transaction the copies ran in).
func count(c *conform.C, q *onlycopy.Queries, sql string) int64 {
	c.Helper()
	var n int64
	conform.NoErr(c, sql, q.DB().QueryRow(c.Ctx, sql).Scan(&n))
	return n
}

func words(c *conform.C, q *onlycopy.Queries) []string {
	c.Helper()
	var w []string
	conform.NoErr(c, "words", q.DB().QueryRow(c.Ctx, "SELECT coalesce(array_agg(word ORDER BY word), '{}') FROM words").Scan(&w))
	return w
}

func TestConformance(t *testing.T) {
	p := conform.Package{Migrations: conform.Migrations(migrations), Queries: (*onlycopy.Queries)(nil)}
	conform.Run(t, p, onlycopy.New, func() []conform.Step[*onlycopy.Queries] {
		const total = "SELECT count(*) FROM readings"
		return []conform.Step[*onlycopy.Queries]{
			{Name: "slice of structs", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				var done bool
				rows := slices.Collect(readings("a", 5, -1, &done))
				n, err := q.CopyReadings(c.Ctx, rows)
				conform.NoErr(c, "CopyReadings", err)
				conform.Equal(c, "rows copied", n, int64(5))
				conform.Equal(c, "readings", count(c, q, total), int64(5))
				conform.Equal(c, "readings with a note (others NULL)", count(c, q, "SELECT count(note) FROM readings"), int64(2))
				var at pgtype.Timestamptz
				var note pgtype.Text
				conform.NoErr(c, "last reading", q.DB().QueryRow(c.Ctx, "SELECT at, note FROM readings WHERE sensor = 'a' ORDER BY at DESC LIMIT 1").Scan(&at, &note))
				conform.Equal(c, "last reading's time", at.Time.Equal(rows[4].At.Time), true)
				conform.Equal(c, "last reading's note", note, pgtype.Text{})
				return nil
			}},
			{Name: "sequence of structs", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				var done bool
				n, err := q.CopyReadingsSeq(c.Ctx, readings("b", 2500, -1, &done))
				conform.NoErr(c, "CopyReadingsSeq", err)
				conform.Equal(c, "rows copied", n, int64(2500))
				conform.Equal(c, "sequence finished", done, true)
				conform.Equal(c, "readings of b", count(c, q, "SELECT count(*) FROM readings WHERE sensor = 'b'"), int64(2500))
				conform.Equal(c, "sum of b's kelvins, whole", count(c, q, "SELECT round(sum(kelvin))::bigint FROM readings WHERE sensor = 'b'"), int64(2500*273.15+250*45))
				return nil
			}},
			{Name: "empty sequence of structs", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				var done bool
				n, err := q.CopyReadingsSeq(c.Ctx, readings("c", 0, -1, &done))
				conform.NoErr(c, "CopyReadingsSeq of nothing", err)
				conform.Equal(c, "rows copied", n, int64(0))
				conform.Equal(c, "sequence finished", done, true)
				n, err = q.CopyReadings(c.Ctx, nil)
				conform.NoErr(c, "CopyReadings of nothing", err)
				conform.Equal(c, "rows copied", n, int64(0))
				conform.Equal(c, "readings", count(c, q, total), int64(2505))
				return nil
			}},
			{Name: "sequence with a row violating a check", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				var done bool
				_, err := q.CopyReadingsSeq(c.Ctx, readings("d", 1000, 500, &done))
				conform.WantConstraint(c, err, "", pgerr.ConstraintCheck, "readings_kelvin_check") // COPY carries no query name
				conform.Equal(c, "sequence stopped", done, true)
				return err
			}},
			{Name: "slice with a row violating the primary key", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				var done bool
				rows := slices.Collect(readings("a", 1, -1, &done))
				_, err := q.CopyReadings(c.Ctx, rows)
				conform.WantConstraint(c, err, "", pgerr.ConstraintUnique, "readings_pkey")
				return err
			}},
			{Name: "nothing of the failed copies", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				conform.Equal(c, "readings", count(c, q, total), int64(2505))
				return nil
			}},
			{Name: "single column slice", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				n, err := q.CopyWords(c.Ctx, []string{"pear", "apple"})
				conform.NoErr(c, "CopyWords", err)
				conform.Equal(c, "rows copied", n, int64(2))
				conform.Equal(c, "words", words(c, q), []string{"apple", "pear"})
				return nil
			}},
			{Name: "single column sequence", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				n, err := q.CopyWordsSeq(c.Ctx, slices.Values([]string{"fig", "kiwi", "plum"}))
				conform.NoErr(c, "CopyWordsSeq", err)
				conform.Equal(c, "rows copied", n, int64(3))
				n, err = q.CopyWordsSeq(c.Ctx, slices.Values([]string(nil)))
				conform.NoErr(c, "CopyWordsSeq of nothing", err)
				conform.Equal(c, "rows copied", n, int64(0))
				conform.Equal(c, "words", words(c, q), []string{"apple", "fig", "kiwi", "pear", "plum"})
				return nil
			}},
			{Name: "single column sequence with a duplicate", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				_, err := q.CopyWordsSeq(c.Ctx, slices.Values([]string{"lime", "fig"}))
				conform.WantConstraint(c, err, "", pgerr.ConstraintUnique, "words_word_key")
				return err
			}},
			{Name: "single column slice with a duplicate", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				_, err := q.CopyWords(c.Ctx, []string{"date", "date"})
				conform.WantConstraint(c, err, "", pgerr.ConstraintUnique, "words_word_key")
				return err
			}},
			{Name: "nothing of the failed word copies", Direct: true, Run: func(c *conform.C, q *onlycopy.Queries) error {
				conform.Equal(c, "words", words(c, q), []string{"apple", "fig", "kiwi", "pear", "plum"})
				return nil
			}},
		}
	})
}
