package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// errStopped is the error of a Formation's methods after Stop.
var errStopped = errors.New("pgtemp: the formation is stopped")

// formationPrefix names the temporary directories of formations;
// StartFormation removes the ones whose owning process has died.
const formationPrefix = "pgtemp-formation-"

// FormationConfig tunes StartFormation. The zero value is ready to use.
type FormationConfig struct {
	// BinDir is the folder holding pg_ctl, initdb, postgres, pg_basebackup
	// and pg_rewind. Default: as Config.BinDir.
	BinDir string
	// Database is the database the caller uses, created on the first
	// primary (so on both nodes) and named in URL and NodeURL. Default:
	// "postgres".
	Database string
	// StartTimeout bounds StartFormation. Default: 3 minutes (a start
	// takes about 4 s on an idle 2-core machine).
	StartTimeout time.Duration
	// ParentDir holds the formation's temporary directory. Default: as
	// Config.ParentDir.
	ParentDir string
	// MaxConnections is each node's max_connections. Default: 200.
	MaxConnections int
}

// Formation is a running pg_auto_failover formation on 127.0.0.1: a
// monitor and two PostgreSQL nodes, node 0 and node 1, the primary and a
// synchronous standby. Each runs under a pg_autoctl service (the monitor,
// a keeper per node) that StartFormation started as a child process and
// keeps by its PID, as the postgres OS user when the caller is root.
// Nodes are numbered 0 and 1 everywhere (node i is pg_autoctl's node
// "node<i>"). Its methods are safe for concurrent use. Stop it when done.
type Formation struct {
	dir      string // temporary directory: monitor/, node0/, node1/, the Unix sockets
	database string
	binDir   string

	monitor     *autoctl
	monitorPort int
	ports       [2]int

	mu      sync.Mutex // guards nodes (their processes)
	nodes   [2]*autoctl
	stopped atomic.Bool // Stop was called: the waits give up, the faults refuse
}

// StartFormation starts a monitor (`pg_autoctl create monitor`), then
// node 0, which becomes the primary, then node 1, which becomes its
// standby, each on a free port of 127.0.0.1. It returns once node 0 is
// primary and node 1 secondary in sync: the monitor reports both in those
// states and node 1 streams as a synchronous standby of node 0
// (synchronous_standby_names set, pg_stat_replication's sync_state sync or
// quorum). The settings it chooses for speed and for failing over within
// seconds are in formationsettings.go. FormationAvailable says whether
// pg_auto_failover is installed; when it is not, StartFormation returns
// its error.
func StartFormation(ctx context.Context, cfg FormationConfig) (*Formation, error) {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 3 * time.Minute
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 200
	}
	if cfg.Database == "" {
		cfg.Database = "postgres"
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()

	binDir, err := FindBinDir(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	bin, err := autoctlAvailable(binDir)
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	if cfg.ParentDir == "" {
		cfg.ParentDir = parentDir()
	}
	removeStaleFormations(cfg.ParentDir)
	// A second try from scratch when the first fails with time left: on
	// a heavily loaded machine a keeper's node-active service sometimes
	// exits during the first start (pg_autoctl's exit status 12, its
	// supervisor giving up at once), which a new formation does not meet.
	var errs []error
	for try := 1; ; try++ {
		dir, err := os.MkdirTemp(cfg.ParentDir, formationPrefix+"*")
		if err != nil {
			return nil, fmt.Errorf("pgtemp: create temp dir: %w", err)
		}
		f := &Formation{dir: dir, database: cfg.Database, binDir: binDir}
		err = f.start(ctx, bin, cred, cfg)
		if err == nil {
			return f, nil
		}
		errs = append(errs, fmt.Errorf("pgtemp: start formation (try %d): %w%s", try, err, f.logTails()), f.Stop())
		if try == 2 || ctx.Err() != nil {
			return nil, errors.Join(errs...)
		}
	}
}

func (f *Formation) start(ctx context.Context, bin string, cred *syscall.Credential, cfg FormationConfig) error {
	if err := os.WriteFile(filepath.Join(f.dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return err
	}
	if cred != nil {
		// The folder of the servers' sockets, too.
		if err := os.Chown(f.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("chown temp dir to postgres: %w", err)
		}
	}
	ports := map[int]bool{}
	for len(ports) < 3 {
		p, err := freePort()
		if err != nil {
			return err
		}
		ports[p] = true
	}
	var all []int
	for p := range ports {
		all = append(all, p)
	}
	f.monitorPort, f.ports = all[0], [2]int{all[1], all[2]}

	var err error
	if f.monitor, err = newAutoctl("monitor", filepath.Join(f.dir, "monitor"), bin, f.binDir, f.dir, cred); err != nil {
		return err
	}
	for i := range f.nodes {
		if f.nodes[i], err = newAutoctl(nodeName(i), filepath.Join(f.dir, nodeName(i)), bin, f.binDir, f.dir, cred); err != nil {
			return err
		}
	}

	// The monitor, on a cluster of pgtemp's (the initdb cache: superuser
	// postgres, UTF8) with the monitor's settings written in.
	if err := initCluster(ctx, f.binDir, f.monitor.data(), cred); err != nil {
		return err
	}
	if err := writeAutoConf(f.monitor.data(), monitorSettings(f.dir), cred); err != nil {
		return err
	}
	if err := f.monitor.start("create", "monitor",
		"--pgctl", filepath.Join(f.binDir, "pg_ctl"), "--pgdata", f.monitor.data(),
		"--pgport", strconv.Itoa(f.monitorPort), "--hostname", "127.0.0.1", "--listen", "127.0.0.1",
		"--auth", "trust", "--no-ssl", "--run"); err != nil {
		return err
	}
	if err := f.waitFor(ctx, "the monitor to accept nodes", func(ctx context.Context) (bool, error) {
		_, err := f.States(ctx)
		return err == nil, nil
	}); err != nil {
		return err
	}

	// Node 0 on a cluster of pgtemp's too, so it becomes the first
	// primary; then the caller's database, and a checkpoint: node 1's base
	// backup starts with a spread checkpoint (pg_autoctl's pg_basebackup
	// asks for no fast one), which takes 100 ms per dirty buffer left.
	if err := initCluster(ctx, f.binDir, f.nodes[0].data(), cred); err != nil {
		return err
	}
	if err := writeAutoConf(f.nodes[0].data(), nodeSettings(f.dir, cfg.MaxConnections), cred); err != nil {
		return err
	}
	if err := f.nodes[0].start(f.createNodeArgs(0)...); err != nil {
		return err
	}
	if err := f.waitFor(ctx, "node 0 to be registered as single", func(ctx context.Context) (bool, error) {
		st, err := f.States(ctx)
		return err == nil && len(st) == 1 && st[0].Reported == "single" && st[0].Goal == "single", nil
	}); err != nil {
		return err
	}
	if err := f.prepareDatabase(ctx); err != nil {
		return err
	}
	if err := f.setKeeperSettings(ctx, 0); err != nil {
		return err
	}

	if err := f.nodes[1].start(f.createNodeArgs(1)...); err != nil {
		return err
	}
	if err := f.WaitSecondary(ctx); err != nil {
		return err
	}
	if err := f.setKeeperSettings(ctx, 1); err != nil {
		return err
	}
	if p, err := f.Primary(ctx); err != nil || p != 0 {
		return fmt.Errorf("node 0 is not the primary after start (%d, %v)", p, err)
	}
	return nil
}

// nodeName is pg_autoctl's name of node i.
func nodeName(i int) string { return "node" + strconv.Itoa(i) }

// createNodeArgs are the arguments of `pg_autoctl create postgres` for node
// i: on its port of 127.0.0.1, registered with the monitor under its name,
// trust authentication on loopback (pg_autoctl adds its pg_hba.conf
// rules), no TLS, and the service run at once (--run). Its --dbname is
// postgres whatever the caller's database: pg_autoctl 2.0 puts it in
// connection strings unquoted, and fails on a name with a space.
func (f *Formation) createNodeArgs(i int) []string {
	return []string{"create", "postgres",
		"--pgctl", filepath.Join(f.binDir, "pg_ctl"), "--pgdata", f.nodes[i].data(),
		"--pgport", strconv.Itoa(f.ports[i]), "--pghost", "127.0.0.1", "--listen", "127.0.0.1",
		"--hostname", "127.0.0.1", "--name", nodeName(i), "--monitor", f.MonitorURL(),
		"--auth", "trust", "--no-ssl", "--username", "postgres", "--dbname", "postgres",
		"--run"}
}

// prepareDatabase creates the caller's database on node 0 (unless it is
// postgres), then checkpoints.
func (f *Formation) prepareDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, f.nodeURL(0, "postgres"))
	if err != nil {
		return fmt.Errorf("connect to node 0: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", f.database).Scan(&exists); err != nil {
		return fmt.Errorf("node 0: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{f.database}.Sanitize()); err != nil {
			return fmt.Errorf("node 0: create database %s: %w", f.database, err)
		}
	}
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("node 0: checkpoint: %w", err)
	}
	return nil
}

// setKeeperSettings applies keeperSettings to node i's pg_autoctl
// configuration (`pg_autoctl config set`, which makes the keeper reload
// it).
func (f *Formation) setKeeperSettings(ctx context.Context, i int) error {
	for _, s := range keeperSettings {
		if _, err := f.nodes[i].run(ctx, "config", "set", "--pgdata", f.nodes[i].data(), s.name, s.value); err != nil {
			return err
		}
	}
	return nil
}

// waitFor polls done every 50 ms until it reports true, returns an error,
// a pg_autoctl service exits, or ctx ends; what names the wait in errors.
func (f *Formation) waitFor(ctx context.Context, what string, done func(context.Context) (bool, error)) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok, err := done(attempt)
		cancel()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if err := f.exitedService(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (monitor: %s)", what, ctx.Err(), f.describe())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// exitedService returns an error naming a pg_autoctl service that was
// started and has exited without being killed or stopped by us, or saying
// that the formation is stopped.
func (f *Formation) exitedService() error {
	if f.stopped.Load() {
		return errStopped
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range append([]*autoctl{f.monitor}, f.nodes[:]...) {
		if a != nil && a.cmd != nil && !a.running() && !a.killed {
			return fmt.Errorf("pg_autoctl of %s exited: %s", a.name, a.logTail())
		}
	}
	return nil
}

// describe is the monitor's view of the nodes, for errors.
func (f *Formation) describe() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := f.States(ctx)
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, s := range st {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, ", ")
}

// logTails is the end of every service's log, for errors.
func (f *Formation) logTails() string {
	var b strings.Builder
	for _, a := range append([]*autoctl{f.monitor}, f.nodes[:]...) {
		if a != nil {
			b.WriteString("\n  " + a.logTail())
		}
	}
	return b.String()
}

// URL is the connection string of the caller's database that follows the
// primary: both nodes, the first one that accepts writes
// (target_session_attrs=read-write, as `pg_autoctl show uri` gives: a
// standby being promoted is out of recovery but read-only until the
// monitor lets it take writes, and read-write tells it apart where
// "primary" does not). Superuser postgres, trust authentication, no TLS.
func (f *Formation) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d,127.0.0.1:%d/%s?sslmode=disable&target_session_attrs=read-write",
		f.ports[0], f.ports[1], pathEscape(f.database))
}

// NodeURL is the connection string of the caller's database on node i
// alone, whatever its role.
func (f *Formation) NodeURL(i int) string { return f.nodeURL(i, f.database) }

func (f *Formation) nodeURL(i int, database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", f.ports[i], pathEscape(database))
}

// NodePort is the port of 127.0.0.1 node i listens on.
func (f *Formation) NodePort(i int) int { return f.ports[i] }

// MonitorURL is the connection string of the monitor's database
// (pg_auto_failover, as the role autoctl_node, which the keepers use).
func (f *Formation) MonitorURL() string {
	return fmt.Sprintf("postgres://autoctl_node@127.0.0.1:%d/pg_auto_failover?sslmode=disable", f.monitorPort)
}

// Dir is the formation's temporary directory; Stop removes it. Node i's
// data directory is Dir()/node<i>/data, its keeper's log
// Dir()/node<i>/pg_autoctl.log and its server's logs in data/log.
func (f *Formation) Dir() string { return f.dir }

// Stop stops both keepers and then the monitor, each by its PID as
// `pg_autoctl stop` does (SIGTERM: the service stops its postgres with a
// fast shutdown), kills whatever is left after 20 s (and any postgres
// process still running in a data directory, found by its working
// directory), and removes the formation's directory. It works after any
// fault, and is safe to call more than once.
func (f *Formation) Stop() error {
	f.stopped.Store(true)
	f.mu.Lock()
	defer f.mu.Unlock()
	errs := make([]error, len(f.nodes)+2)
	var wg sync.WaitGroup
	for i, n := range f.nodes {
		if n == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = n.stop()
		}()
	}
	wg.Wait()
	if f.monitor != nil {
		errs[len(f.nodes)] = f.monitor.stop()
	}
	if err := os.RemoveAll(f.dir); err != nil {
		errs[len(f.nodes)+1] = fmt.Errorf("pgtemp: remove %s: %w", f.dir, err)
	}
	return errors.Join(errs...)
}

// removeStaleFormations deletes the formation directories in parent whose
// owning process died without Stop, after killing what still runs in
// them (the keepers normally stopped their servers on the parent-death
// signal) and removing the semaphores of killed pg_autoctl processes.
func removeStaleFormations(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, formationPrefix+"*"))
	for _, d := range dirs {
		pid, _, err := readPIDFile(filepath.Join(d, "owner.pid"))
		if err != nil || processAlive(pid) {
			continue // being created right now, not ours, or in use
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = killIn(ctx, d)
		cancel()
		pidFiles, _ := filepath.Glob(filepath.Join(d, "*", "run", "pg_autoctl", d, "*", "data", "pg_autoctl.pid"))
		for _, p := range pidFiles {
			removeStaleSemaphore(p)
		}
		_ = os.RemoveAll(d)
	}
}
