// Package pgtemp is a throwaway PostgreSQL server from the local server
// binaries, for tests, demos and benchmarks: Start initialises a cluster in
// a temporary directory and runs it on a free port of 127.0.0.1, and Stop
// removes it. A Server can also be restarted (Restart), be a streaming
// replica of another (Config.ReplicaOf) and be promoted (Promote), take
// over the port of a stopped one (Config.Port), serve TLS (Config.TLS),
// and have a PgBouncer put in front of it (StartBouncer). pgkittest.Run uses it when
// DATABASE_URL is unset.
//
// StartFormation runs a pg_auto_failover formation the same way: a monitor
// and two nodes, a primary and its synchronous standby, each under its
// pg_autoctl keeper, with planned failovers (Failover) and faults
// (KillPostmaster, KillNode, RestartNode) and waits for their outcome
// (WaitPrimary, WaitSecondary), for the failover tests.
//
// It is hand-written because the libraries that do this do not fit here:
// fergusstrange/embedded-postgres downloads its own binaries and refuses to run
// as root, and rubenv/pgtest shells out to su and uses lib/pq. pgtemp runs
// initdb and postgres directly, as the postgres OS user when the caller is
// root (PostgreSQL refuses to run as root), in a temporary directory that Stop
// removes.
package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// dirPrefix names the temporary directories pgtemp creates; Start removes the
// ones whose owning process has died without calling Stop.
const dirPrefix = "pgtemp-pg-"

// Config tunes Start. The zero value is ready to use.
type Config struct {
	// BinDir is the folder holding initdb and postgres. Default: the folder of
	// initdb on $PATH, else the newest /usr/lib/postgresql/*/bin.
	BinDir string
	// StartTimeout bounds initdb plus server start. Default: 60s.
	StartTimeout time.Duration
	// MaxConnections is the server's max_connections. Default: 200.
	MaxConnections int
	// ParentDir holds the server's temporary directory. Default: /dev/shm
	// when it has at least 1 GiB free (RAM: CREATE DATABASE, and so a test's
	// fresh database, is several times faster there than on disk), else
	// os.TempDir().
	ParentDir string
	// TLS, when set, turns ssl on with this certificate and key (PEM).
	// Default: no TLS.
	TLS *TLS
	// ReplicaOf, when set to the URL of a running server (one of pgtemp's:
	// trust authentication for replication on 127.0.0.1), makes this server
	// a streaming standby of it (pg_basebackup -R) instead of a new
	// cluster. Default: a new cluster.
	ReplicaOf string
	// Port, when set, is the port of 127.0.0.1 the server listens on, for
	// a server that takes over the address of one stopped before (a node
	// rebuilt as a standby after a failover). Default: a free port.
	Port int
}

// TLS is a server certificate and its private key, PEM-encoded.
type TLS struct {
	CertPEM, KeyPEM []byte
}

// shm is the RAM-backed file system preferred for the data directory.
const shm = "/dev/shm"

// parentDir picks where the server's directory goes.
func parentDir() string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(shm, &st); err == nil && st.Bavail*uint64(st.Bsize) >= 1<<30 && syscall.Access(shm, 2) == nil {
		return shm
	}
	return os.TempDir()
}

// Server is a running throwaway PostgreSQL. Stop it when done.
type Server struct {
	dir  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the postgres process has exited
	url  string
	port int
	args []string // of the postgres command, for Restart
	bin  string
	cred *syscall.Credential
}

// URL is the connection string of the server's postgres database, as the
// superuser postgres with trust authentication on 127.0.0.1.
func (s *Server) URL() string { return s.url }

// Port is the port of 127.0.0.1 the server listens on.
func (s *Server) Port() int { return s.port }

// Dir is the temporary directory holding the data directory, the socket and
// postgres.log; Stop removes it.
func (s *Server) Dir() string { return s.dir }

// Start initialises a new cluster in a temporary directory and starts a
// server on a free port of 127.0.0.1 with fsync off. When the calling process
// dies without calling Stop, the server shuts down by itself (parent-death
// signal) and the next Start removes the directory. The first cluster
// initdb makes for a given set of binaries is kept in the user's cache
// folder (os.UserCacheDir()/pgtemp) and later Starts copy it, which is
// several times cheaper than initdb.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 200
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()

	binDir, err := FindBinDir(cfg.BinDir)
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
	removeStale(cfg.ParentDir)

	dir, err := os.MkdirTemp(cfg.ParentDir, dirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("pgtemp: create temp dir: %w", err)
	}
	s := &Server{dir: dir, done: make(chan struct{})}
	if err := s.start(ctx, binDir, cred, cfg); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, binDir string, cred *syscall.Credential, cfg Config) error {
	if err := os.WriteFile(filepath.Join(s.dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("pgtemp: %w", err)
	}
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtemp: chown temp dir to postgres: %w", err)
		}
	}
	data := filepath.Join(s.dir, "data")
	if cfg.ReplicaOf != "" {
		// A streaming standby: a base backup of the primary with the
		// replication settings written in (-R: standby.signal and
		// primary_conninfo).
		create := exec.CommandContext(ctx, filepath.Join(binDir, "pg_basebackup"),
			"-D", data, "-d", cfg.ReplicaOf, "-R", "-X", "stream", "-c", "fast", "--no-sync")
		create.Dir = s.dir
		create.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := create.CombinedOutput(); err != nil {
			return fmt.Errorf("pgtemp: pg_basebackup: %w: %s", err, lastLines(string(out), 5))
		}
	} else if err := initCluster(ctx, binDir, data, cred); err != nil {
		return err
	}

	port := cfg.Port
	if port <= 0 {
		p, err := freePort()
		if err != nil {
			return err
		}
		port = p
	}
	s.port = port
	s.bin, s.cred = filepath.Join(binDir, "postgres"), cred
	s.args = []string{
		"-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + s.dir,
		"-c", "max_connections=" + strconv.Itoa(cfg.MaxConnections),
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		// JIT compiles big queries for ~100ms; asyncpg's type introspection
		// query is one, and OLTP queries never gain from it.
		"-c", "jit=off",
	}
	if cfg.TLS != nil {
		cert, key := filepath.Join(s.dir, "server.crt"), filepath.Join(s.dir, "server.key")
		for _, f := range []struct {
			path string
			data []byte
		}{{cert, cfg.TLS.CertPEM}, {key, cfg.TLS.KeyPEM}} {
			// The server refuses a key readable by others.
			if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
				return fmt.Errorf("pgtemp: %w", err)
			}
			if cred != nil {
				if err := os.Chown(f.path, int(cred.Uid), int(cred.Gid)); err != nil {
					return fmt.Errorf("pgtemp: %w", err)
				}
			}
		}
		s.args = append(s.args, "-c", "ssl=on", "-c", "ssl_cert_file="+cert, "-c", "ssl_key_file="+key)
	}
	s.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return s.launch(ctx)
}

// launch starts the postgres process on the prepared data directory and
// waits until it accepts connections.
func (s *Server) launch(ctx context.Context) error {
	logFile, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtemp: %w", err)
	}
	defer logFile.Close()
	cred := s.cred
	if cred != nil {
		_ = logFile.Chown(int(cred.Uid), int(cred.Gid))
	}
	s.done = make(chan struct{})
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: cred,
		// Own process group: a Ctrl-C in the terminal reaches us, and Stop
		// shuts the server down in order.
		Setpgid: true,
		// If this process dies without Stop, the server exits too.
		Pdeathsig: syscall.SIGQUIT,
	}
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("pgtemp: start postgres: %w", err)
	}
	done := s.done
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(done) }()
	return s.waitReady(ctx)
}

// Restart stops the server (fast shutdown: sessions are terminated,
// committed work is kept), waits pause, and starts it again on the same
// port and data directory: a server restart as clients see it. It returns
// once the server accepts connections again.
func (s *Server) Restart(ctx context.Context, pause time.Duration) error {
	if err := s.shutdown(); err != nil {
		return err
	}
	select {
	case <-time.After(pause):
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.launch(ctx)
}

// waitReady polls until the server accepts connections, it exits, or ctx ends.
func (s *Server) waitReady(ctx context.Context) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(attempt, s.url)
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-s.done:
			return fmt.Errorf("pgtemp: postgres exited during start-up: %s", s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: postgres not ready: %w: %s", ctx.Err(), s.logTail())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Stop shuts the server down (fast shutdown, then a kill after 10s) and
// removes its directory. It is safe to call more than once.
func (s *Server) Stop() error {
	var errs []error
	if err := s.shutdown(); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(s.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgtemp: remove %s: %w", s.dir, err))
	}
	return errors.Join(errs...)
}

// shutdown stops the postgres process: fast shutdown, then a kill after 10s.
func (s *Server) shutdown() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return errors.New("pgtemp: postgres did not stop in 10s and was killed")
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return lastLines(string(b), 5)
}

// FindBinDir returns dir when set, else the folder of initdb on $PATH, else
// the newest Debian-style /usr/lib/postgresql/N/bin.
func FindBinDir(dir string) (string, error) {
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
			return "", fmt.Errorf("pgtemp: no postgres binary in BinDir %s", dir)
		}
		return dir, nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		// Debian links initdb into a bin folder of its own; the folder that
		// holds the real binary also holds postgres and pgbench.
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgtemp: no PostgreSQL server binaries found (initdb on $PATH or in /usr/lib/postgresql/*/bin): " +
		"install them with `apt-get install -y postgresql`, or set DATABASE_URL to an existing server")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// credential returns the postgres OS user's credential when running as root,
// since initdb and postgres refuse to run as root, and nil otherwise.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("pgtemp: running as root, and PostgreSQL refuses to run as root, but there is no `postgres` OS user " +
			"to run it as: install Debian's postgresql package (it creates the user), or run as a regular user")
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtemp: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale deletes directories in parent left by processes that died
// without Stop. Their servers have already exited through the parent-death
// signal.
func removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue // being created right now, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		// Normally gone already; an orphan server must not outlive its files.
		if pm, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid")); err == nil {
			first, _, _ := strings.Cut(string(pm), "\n")
			if pmPid, err := strconv.Atoi(strings.TrimSpace(first)); err == nil && pmPid > 0 && processAlive(pmPid) {
				_ = syscall.Kill(pmPid, syscall.SIGQUIT)
			}
		}
		_ = os.RemoveAll(d)
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
