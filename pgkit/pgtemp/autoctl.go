package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// AutoctlBin is where Debian's pg-auto-failover-cli package puts
// pg_autoctl; one on $PATH is preferred.
const AutoctlBin = "/usr/bin/pg_autoctl"

// autoctl is one pg_autoctl service of a Formation, the monitor or a
// node's keeper, run as a child process kept by its PID. Everything it
// writes is inside dir: the data directory, pg_autoctl's configuration
// and state files (XDG_CONFIG_HOME, XDG_DATA_HOME), its PID file
// (XDG_RUNTIME_DIR) and its log.
type autoctl struct {
	name string // "monitor", "node0", "node1"
	dir  string
	bin  string // pg_autoctl
	env  []string
	cred *syscall.Credential

	cmd    *exec.Cmd     // the running service, nil before the first start
	done   chan struct{} // closed when cmd has exited
	killed bool          // cmd was killed or stopped by us, not exited by itself
}

// newAutoctl prepares the folders of a service called name in dir.
// sockets is the folder of the formation's Unix sockets, binDir that of
// pg_ctl and the other server binaries.
func newAutoctl(name, dir, bin, binDir, sockets string, cred *syscall.Credential) (*autoctl, error) {
	a := &autoctl{name: name, dir: dir, bin: bin, cred: cred}
	for _, d := range []string{dir, filepath.Join(dir, "config"), filepath.Join(dir, "share"), filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("pgtemp: %s: %w", name, err)
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, fmt.Errorf("pgtemp: %s: chown to postgres: %w", name, err)
			}
		}
	}
	// A clean environment: none of the caller's PG* variables (PGPORT,
	// PGDATABASE, PGPASSWORD...) reach pg_autoctl, which reads them.
	a.env = []string{
		"PATH=" + binDir + ":/usr/bin:/bin",
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_DATA_HOME=" + filepath.Join(dir, "share"),
		"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"TMPDIR=" + dir,
		"PGHOST=" + sockets,
		"LC_ALL=C",
	}
	return a, nil
}

// data is the service's PostgreSQL data directory.
func (a *autoctl) data() string { return filepath.Join(a.dir, "data") }

// logPath is the file the service's output goes to.
func (a *autoctl) logPath() string { return filepath.Join(a.dir, "pg_autoctl.log") }

// pidFile is where pg_autoctl keeps the PID of the service running on
// the data directory: XDG_RUNTIME_DIR/pg_autoctl/<pgdata>/pg_autoctl.pid.
func (a *autoctl) pidFile() string {
	return filepath.Join(a.dir, "run", "pg_autoctl", a.data(), "pg_autoctl.pid")
}

// start runs pg_autoctl with args (create ... --run, or run) as the
// service, in a process group of its own that holds its sub-processes and
// the postmaster they start. If this process dies without stopping it,
// it gets SIGTERM (parent-death signal) and stops its postgres.
func (a *autoctl) start(args ...string) error {
	if a.running() {
		return fmt.Errorf("pgtemp: %s is already running", a.name)
	}
	// pg_autoctl removes its semaphore at exit; one killed leaves it, and
	// it is removed here as pg_autoctl would.
	removeStaleSemaphore(a.pidFile())
	logFile, err := os.OpenFile(a.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtemp: %s: %w", a.name, err)
	}
	defer logFile.Close()
	if a.cred != nil {
		_ = logFile.Chown(int(a.cred.Uid), int(a.cred.Gid))
	}
	cmd := exec.Command(a.bin, args...)
	cmd.Dir = a.dir
	cmd.Env = a.env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: a.cred, Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtemp: %s: start pg_autoctl: %w", a.name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	a.cmd, a.done, a.killed = cmd, done, false
	return nil
}

// running reports whether the service started last is still running.
func (a *autoctl) running() bool {
	if a.cmd == nil {
		return false
	}
	select {
	case <-a.done:
		return false
	default:
		return true
	}
}

// run runs a one-shot pg_autoctl command (show, set, perform) with the
// service's environment, and returns its output.
func (a *autoctl) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, a.bin, args...)
	cmd.Dir = a.dir
	cmd.Env = a.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: a.cred, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("pgtemp: %s: pg_autoctl %s: %w: %s", a.name, strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return string(out), nil
}

// postmasterPID is the PID in the data directory's postmaster.pid, or an
// error when there is none or that process has exited.
func (a *autoctl) postmasterPID() (int, error) {
	pid, _, err := readPIDFile(filepath.Join(a.data(), "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("pgtemp: %s: no running postmaster: %w", a.name, err)
	}
	if exited(pid) {
		return 0, fmt.Errorf("pgtemp: %s: the postmaster of postmaster.pid (%d) has exited", a.name, pid)
	}
	return pid, nil
}

// kill ends the service and every process of its data directory with
// SIGKILL, as a machine that is lost would: pg_autoctl and its
// sub-processes (its process group), the postmaster, the backends. It
// returns once all of them have exited.
func (a *autoctl) kill(ctx context.Context) error {
	a.killed = true
	if a.running() {
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-a.done:
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: %s: pg_autoctl (pid %d) still runs after SIGKILL: %w", a.name, a.cmd.Process.Pid, ctx.Err())
		}
	}
	if pid, err := a.postmasterPID(); err == nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// The backends, in sessions of their own, exit when they see the
	// postmaster gone; not waiting for that would leave a node "lost"
	// that still answers on open connections.
	return killIn(ctx, a.dir)
}

// stopTimeout bounds the orderly stop of a service before it is killed.
const stopTimeout = 20 * time.Second

// stop ends the service in order, as `pg_autoctl stop` does (SIGTERM:
// pg_autoctl stops its postgres with a fast shutdown, then exits), and
// kills it and every process of its data directory after stopTimeout. It
// then removes the semaphore of a pg_autoctl that was killed. It is safe
// to call on a service that is not running.
func (a *autoctl) stop() error {
	var errs []error
	a.killed = true
	if a.running() {
		_ = syscall.Kill(a.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(stopTimeout):
			errs = append(errs, fmt.Errorf("pgtemp: %s: pg_autoctl did not stop in %s and was killed: %s", a.name, stopTimeout, a.logTail()))
		}
		// Its sub-processes, should one outlive it (the group's ID cannot
		// be reused while one of them lives).
		_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Whatever is left: a postmaster or backend that outlived its keeper,
	// the processes of a node that was killed before.
	if err := killIn(ctx, a.dir); err != nil {
		errs = append(errs, fmt.Errorf("pgtemp: %s: %w", a.name, err))
	}
	removeStaleSemaphore(a.pidFile())
	return errors.Join(errs...)
}

// logTail is the end of the service's log, for errors.
func (a *autoctl) logTail() string {
	b, _ := os.ReadFile(a.logPath())
	return a.name + ": " + lastLines(string(b), 8)
}
