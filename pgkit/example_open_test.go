package pgkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/internal/kittest"
	"github.com/shopdb/shopdb/pgkit/pgkittest"
)

// Open a bounded pool: when every connection stays busy for
// AcquireTimeout, a caller gets ErrPoolExhausted (a 503 for a service)
// instead of queueing until its own deadline.
func ExampleOpen() {
	tb := &pgkittest.ExampleTB{}
	defer tb.Done()
	ctx := context.Background()
	d, err := pgkit.Open(ctx, pgkittest.URL(tb, kitdb.Migrations()), pgkit.Config{MaxConns: 1, AcquireTimeout: 50 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer d.Close()

	tx, err := d.Begin(ctx) // holds the only connection
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = kitdb.New(d).AccountList(ctx, kitdb.AccountListParams{Max: 1})
	fmt.Println(errors.Is(err, pgkit.ErrPoolExhausted), d.Stats().Exhausted)
	_ = tx.Rollback(ctx)
	// Output: true 1
}

// Export a query as CSV, formatted by the server, in constant memory.
func ExampleCopyTo() {
	d, _, _, done := kittest.ExampleDB(pgkit.Config{})
	defer done()
	var csv bytes.Buffer
	n, err := pgkit.CopyTo(context.Background(), d, &csv,
		"COPY (SELECT name, team FROM accounts ORDER BY account_id) TO STDOUT WITH (FORMAT csv, HEADER)")
	fmt.Print(n, err, "\n", csv.String())
	// Output:
	// 2 <nil>
	// name,team
	// Ada Lovelace,Engines
	// Alan Turing,Machines
}

// Reads to standbys, writes to the primary. List every node, the
// primary's too: roles are measured, not assumed, so after a failover the
// set follows. Here the one node is the primary, so it is only measured
// and reads go to the primary.
func ExampleOpenReplicated() {
	tb := &pgkittest.ExampleTB{}
	defer tb.Done()
	ctx := context.Background()
	url := pgkittest.URL(tb, kitdb.Migrations())
	r, err := pgkit.OpenReplicated(ctx, url, []string{url}, pgkit.Config{MaxConns: 4}, pgkit.ReplicaConfig{MaxLag: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	q := kitdb.New(r)
	a, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Grace Hopper", Team: "Compilers"}) // the primary
	if err != nil {
		fmt.Println(err)
		return
	}
	got, err := q.AccountGetByID(ctx, a.AccountID) // a read: a healthy standby, else the primary
	st := r.ReplicaStats()[0]
	fmt.Println(got.Name, err, st.Standby, st.Healthy)
	var inRecovery bool
	err = r.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery)
	fmt.Println(inRecovery, err)
	// Output:
	// Grace Hopper <nil> false false
	// false <nil>
}
