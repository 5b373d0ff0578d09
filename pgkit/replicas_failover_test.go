package pgkit_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/shopdb/shopdb/pgkit"
	"github.com/shopdb/shopdb/pgkit/internal/kitdb"
	"github.com/shopdb/shopdb/pgkit/pgerr"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// TestSwitchoverFollowsRoles runs a failover under a Replicated whose
// primary DSN is an address that moves (a virtual IP: vip below), with
// fixed DSNs, and checks that the roles it acts on are the measured ones:
//
//   - the old primary stops and the standby is promoted: the promoted node
//     leaves the read set, although the primary DSN answers nothing;
//   - the old primary's address is rebuilt as a standby of the new
//     primary, and a replica DSN that was down at open comes up as
//     another: writes through the primary DSN, which reaches a standby
//     now, fail with an error pgerr.IsWrongServerRole matches, and both
//     standbys receive reads;
//   - the address moves to the new primary: writes work, and no connection
//     of the primary's pool is left on the standby it reached before.
//
// Before, a check gave up when the primary DSN did not answer as a primary,
// so the promoted node kept the reads, the rebuilt standby never got any,
// writes failed with a bare SQLSTATE 25006, and the pool kept its
// connections to the standby after the address moved.
func TestSwitchoverFollowsRoles(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, standby := primaryAndStandby(t)
	ip := startVIP(t, primary.Port())
	// A node that is down at open: a standby comes up there later.
	spare := freePort(t)
	spareURL := strings.Replace(standby.URL(), strconv.Itoa(standby.Port()), strconv.Itoa(spare), 1)
	const maxConns = 4
	r := openWatched(t, pgkit.Config{MaxConns: maxConns}, ip.URL(), standby.URL(), spareURL)
	q := kitdb.New(r)
	readsOn := func(port int) func() bool {
		return func() bool {
			var inRecovery bool
			var at int
			err := r.QueryRow(ctx, "SELECT pg_is_in_recovery(), inet_server_port()").Scan(&inRecovery, &at)
			return err == nil && inRecovery && at == port
		}
	}
	waitFor(t, 15*time.Second, readsOn(standby.Port()))

	// Failover: the primary goes, the standby is promoted.
	oldPort := primary.Port()
	if err := primary.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, func() bool { return !r.ReplicaStats()[0].Healthy })

	// The old primary's address comes back as a standby of the new
	// primary, and so does the node that was down.
	rebuilt, err := pgtemp.Start(ctx, pgtemp.Config{ReplicaOf: standby.URL(), Port: oldPort})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rebuilt.Stop() })
	second, err := pgtemp.Start(ctx, pgtemp.Config{ReplicaOf: standby.URL(), Port: spare})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Stop() })
	waitFor(t, 15*time.Second, func() bool {
		_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Demoted", Team: "Write"})
		switch {
		case err == nil:
			t.Fatal("a write succeeded through a primary DSN that reaches a standby")
		case errors.Is(err, pgerr.ErrConnectionLost):
			return false // the rebuilt standby is not up yet
		case !pgerr.IsWrongServerRole(err):
			t.Fatalf("a write on a standby: %v (SQLSTATE %s), want pgerr.IsWrongServerRole", err, pgerr.SQLState(err))
		}
		return true
	})
	// So do writes in a transaction, and COPY.
	err = pgkit.WithTx(ctx, r, kitdb.New, func(q *kitdb.Queries) error {
		_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Demoted", Team: "Tx"})
		return err
	})
	if !pgerr.IsWrongServerRole(err) {
		t.Fatalf("a write in a transaction on a standby: %v, want pgerr.IsWrongServerRole", err)
	}
	if _, err := q.AccountCreateMany(ctx, []kitdb.AccountCreateManyParams{{Name: "Demoted", Team: "Copy"}}); !pgerr.IsWrongServerRole(err) {
		t.Fatalf("COPY on a standby: %v, want pgerr.IsWrongServerRole", err)
	}
	// Both standbys take reads: the one the primary DSN reaches too, though
	// the other could take them all.
	waitFor(t, 15*time.Second, readsOn(second.Port()))
	waitFor(t, 15*time.Second, readsOn(rebuilt.Port()))

	// The address moves to the new primary.
	ip.point(standby.Port())
	waitFor(t, 15*time.Second, func() bool { return allOnPrimary(t, ctx, r.Primary().Pool(), maxConns) })
	waitFor(t, 15*time.Second, func() bool {
		_, err := q.AccountCreate(ctx, kitdb.AccountCreateParams{Name: "Moved", Team: "Write"})
		return err == nil
	})
	for i := range 20 {
		var inRecovery bool
		if err := r.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
			t.Fatalf("read %d after the switchover: %v", i, err)
		}
	}
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// allOnPrimary takes n connections of pool at once and reports whether
// every one of them is on a server out of recovery.
func allOnPrimary(t *testing.T, ctx context.Context, pool *pgxpool.Pool, n int) bool {
	t.Helper()
	conns := make([]*pgxpool.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Release()
		}
	}()
	for range n {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return false
		}
		conns = append(conns, c)
	}
	for _, c := range conns {
		var inRecovery bool
		if err := c.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil || inRecovery {
			return false
		}
	}
	return true
}

// vip is a TCP forwarder on 127.0.0.1 standing for an address that moves
// to another server in a failover (a virtual IP, a DNS name): a new
// connection goes to the server it points at then, and stays with it.
type vip struct {
	ln     net.Listener
	target atomic.Int64 // the port of 127.0.0.1 new connections go to
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

// startVIP listens on a free port of 127.0.0.1 and forwards to port; the
// test's cleanup closes it and every connection it carries.
func startVIP(t *testing.T, port int) *vip {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	v := &vip{ln: ln, conns: map[net.Conn]struct{}{}}
	v.target.Store(int64(port))
	v.wg.Add(1)
	go v.serve()
	t.Cleanup(v.close)
	return v
}

// URL is a connection string of the postgres database through the vip.
func (v *vip) URL() string {
	return fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", v.ln.Addr())
}

// point sends new connections to port; 0 refuses them, as an address
// whose server is down.
func (v *vip) point(port int) { v.target.Store(int64(port)) }

func (v *vip) serve() {
	defer v.wg.Done()
	for {
		c, err := v.ln.Accept()
		if err != nil {
			return // closed
		}
		v.wg.Add(1)
		go v.forward(c)
	}
}

// track records c, or closes it and returns false once the vip is closed.
func (v *vip) track(c net.Conn) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.conns == nil {
		c.Close()
		return false
	}
	v.conns[c] = struct{}{}
	return true
}

func (v *vip) forward(client net.Conn) {
	defer v.wg.Done()
	if !v.track(client) {
		return
	}
	port := v.target.Load()
	if port == 0 { // down: refused
		client.Close()
		return
	}
	server, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(int(port)), 5*time.Second)
	if err != nil || !v.track(server) {
		client.Close()
		return
	}
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(server, client)
		server.Close()
		close(done)
	}()
	_, _ = io.Copy(client, server)
	client.Close()
	<-done
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.conns != nil {
		delete(v.conns, client)
		delete(v.conns, server)
	}
}

func (v *vip) close() {
	v.ln.Close()
	v.mu.Lock()
	for c := range v.conns {
		c.Close()
	}
	v.conns = nil
	v.mu.Unlock()
	v.wg.Wait()
}
