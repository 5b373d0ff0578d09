package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shopdb/shopdb/pgkit/internal/faultproxy"
	"github.com/shopdb/shopdb/pgkit/pgtemp"
)

// schema is the chaos test's one table. It has no key and no unique
// constraint, so that a write stored twice shows as two rows.
const schema = `CREATE TABLE chaos_writes (
	run   text   NOT NULL,
	op    bigint NOT NULL,
	part  int    NOT NULL,
	token text   NOT NULL
)`

// node is one server of the test, the proxy in front of it, and how to
// reach each.
type node struct {
	name  string
	srv   *pgtemp.Server
	proxy *faultproxy.Proxy
}

// cluster is the primary and its streaming standby.
type cluster struct {
	primary, standby *node
}

// startCluster starts the primary (with the schema), its standby, and a
// proxy in front of each; the test's end stops them all and removes their
// directories.
func startCluster(t *testing.T) *cluster {
	t.Helper()
	ctx := context.Background()
	primary := startNode(t, "primary", pgtemp.Config{})
	if err := primary.admin(ctx, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, schema)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	standby := startNode(t, "standby", pgtemp.Config{ReplicaOf: primary.srv.URL()})
	return &cluster{primary: primary, standby: standby}
}

// startNode starts a server and a proxy in front of it.
func startNode(t *testing.T, name string, cfg pgtemp.Config) *node {
	t.Helper()
	srv, err := pgtemp.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	})
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	p, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("%s proxy: %v", name, err)
		}
	})
	return &node{name: name, srv: srv, proxy: p}
}

// url is the node's connection string through its proxy, for the pools
// under test, with app as application_name.
func (n *node) url(app string) string {
	u, _ := url.Parse(n.srv.URL()) // parsed in startNode
	u.Host = n.proxy.Addr()
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	return u.String()
}

// admin runs fn on a connection of its own straight to the server (not
// through the proxy), bounded by 5 s: the test's own look at the server.
func (n *node) admin(ctx context.Context, fn func(*pgx.Conn) error) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, n.srv.URL()+"&application_name=chaos-admin")
	if err != nil {
		return fmt.Errorf("%s: admin connect: %w", n.name, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = c.Close(cctx)
	}()
	if err := fn(c); err != nil {
		return fmt.Errorf("%s: %w", n.name, err)
	}
	return nil
}

// backends lists the server processes of the connections named app.
func (n *node) backends(ctx context.Context, app string, activeOnly bool) ([]int, error) {
	var pids []int
	err := n.admin(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, `SELECT pid FROM pg_stat_activity
			WHERE application_name = $1 AND (NOT $2 OR state = 'active')`, app, activeOnly)
		if err != nil {
			return err
		}
		pids, err = pgx.CollectRows(rows, pgx.RowTo[int])
		return err
	})
	return pids, err
}

// signalBackends terminates (pg_terminate_backend) or cancels
// (pg_cancel_backend) up to max random backends of app, and returns how
// many it reached.
func (n *node) signalBackends(ctx context.Context, app string, terminate bool, max int, rng *rand.Rand) (int, error) {
	pids, err := n.backends(ctx, app, !terminate)
	if err != nil || len(pids) == 0 {
		return 0, err
	}
	rng.Shuffle(len(pids), func(i, j int) { pids[i], pids[j] = pids[j], pids[i] })
	pids = pids[:min(len(pids), 1+rng.IntN(max))]
	fn := "pg_cancel_backend"
	if terminate {
		fn = "pg_terminate_backend"
	}
	var hit int
	err = n.admin(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, "SELECT count(*) FILTER (WHERE "+fn+"(pid)) FROM unnest($1::int[]) AS pid", pids).Scan(&hit)
	})
	return hit, err
}

// freeze stops the whole server, the postmaster and every process it
// started, with SIGSTOP, as a hung host would be; thaw lets them go on.
// (PostgreSQL's processes each lead a process group of their own, so the
// group cannot be signalled at once.)
func (n *node) freeze() (thaw func(), err error) {
	pm, err := postmasterPID(n.srv.Dir())
	if err != nil {
		return nil, err
	}
	stopped := []int{pm}
	thaw = func() {
		for _, pid := range stopped {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	// The postmaster first, so that it starts no process meanwhile.
	if err := syscall.Kill(pm, syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("%s: SIGSTOP the postmaster %d: %w", n.name, pm, err)
	}
	children, err := childrenOf(pm)
	if err != nil {
		thaw()
		return nil, err
	}
	for _, pid := range children {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err == nil {
			stopped = append(stopped, pid)
		}
	}
	return thaw, nil
}

// postmasterPID reads the postmaster's process id from its pid file.
func postmasterPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("postmaster.pid: no process id in %q", first)
	}
	return pid, nil
}

// childrenOf lists the processes whose parent is pid (from /proc).
func childrenOf(pid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid …; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) >= 2 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out, nil
}

// restart stops the server (fast shutdown) and starts it again on the
// same port after pause.
func (n *node) restart(ctx context.Context, pause time.Duration) error {
	if err := n.srv.Restart(ctx, pause); err != nil {
		return fmt.Errorf("%s: restart: %w", n.name, err)
	}
	return nil
}

// waitNoBackends waits up to bound until the server has no connection
// named app, and returns how many are left.
func (n *node) waitNoBackends(ctx context.Context, app string, bound time.Duration) (int, error) {
	deadline := time.Now().Add(bound)
	for {
		pids, err := n.backends(ctx, app, false)
		if err == nil && len(pids) == 0 {
			return 0, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return -1, err
			}
			return len(pids), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
