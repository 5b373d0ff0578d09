package outside18mux_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit"
)

// churn runs n multiplexed queries from 16 goroutines, each filling slabs
// with its own byte pattern (rows small, several per slab, bigger than a
// slab), some read fully and closed, some dropped half read and never
// closed, some Exec'd, some QueryRow'd; every query checks its own values.
func churn(t *testing.T, mux *pgkit.DB, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // hang guard only
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				if err := oneChurn(ctx, mux, i); err != nil {
					errs <- fmt.Errorf("churn %d: %w", i, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func oneChurn(ctx context.Context, mux *pgkit.DB, i int) error {
	ch := byte('a' + i%26)
	size := []int{1, 100, 3000, 40000, 70000}[i%5]
	rowsN := 1 + i%7
	sql := "SELECT g, repeat(chr($1::int), $2::int)::bytea, repeat(chr($1::int), $2::int) FROM generate_series(1, $3::int) g"
	switch i % 6 {
	case 4: // dropped half read, never closed: only garbage
		rows, err := mux.Query(ctx, sql, int(ch), size, rowsN+1)
		if err != nil {
			return err
		}
		rows.Next()
		return nil
	case 5:
		_, err := mux.Exec(ctx, sql, int(ch), size, rowsN)
		return err
	case 3:
		var g int
		var b []byte
		var s string
		if err := mux.QueryRow(ctx, sql, int(ch), size, 1).Scan(&g, &b, &s); err != nil {
			return err
		}
		return check(b, s, ch, size)
	}
	rows, err := mux.Query(ctx, sql, int(ch), size, rowsN)
	if err != nil {
		return err
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		var g int
		var b []byte
		var s string
		if err := rows.Scan(&g, &b, &s); err != nil {
			return err
		}
		if err := check(b, s, ch, size); err != nil {
			return err
		}
		got++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if got != rowsN {
		return fmt.Errorf("%d rows, want %d", got, rowsN)
	}
	return nil
}

func check(b []byte, s string, ch byte, size int) error {
	want := bytes.Repeat([]byte{ch}, size)
	if !bytes.Equal(b, want) {
		return fmt.Errorf("bytea of %d bytes (%q…), want %d × %q", len(b), head(b), size, ch)
	}
	if s != string(want) {
		return fmt.Errorf("text of %d bytes (%q…), want %d × %q", len(s), head([]byte(s)), size, ch)
	}
	return nil
}

func head(b []byte) []byte {
	if len(b) > 16 {
		return b[:16]
	}
	return b
}
