package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Bouncer is a running PgBouncer in front of a PostgreSQL server, for
// tests of transaction pooling. Stop it when done.
type Bouncer struct {
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	port int
}

// BouncerBin is where Debian's pgbouncer package puts the binary.
const BouncerBin = "/usr/sbin/pgbouncer"

// bouncerStartTimeout bounds StartBouncer when ctx has no deadline.
const bouncerStartTimeout = 30 * time.Second

// StartBouncer starts PgBouncer on a free port of 127.0.0.1 in pool mode
// (transaction, session or statement) in front of the server that target
// (a postgres:// URL) names, for the users given. Clients connect with
// trust authentication; PgBouncer logs in to the server as each user, with
// the password of target when it names that user (a server that asks for
// passwords, scram or md5, as DATABASE_URL's may). It runs as the postgres
// OS user when we are root (PgBouncer refuses to run as root). It returns
// once PgBouncer serves a connection to the first user, or fails with the
// reason: a login the server refused fails at once, anything else within
// ctx's deadline (30s when ctx has none).
func StartBouncer(ctx context.Context, target, mode string, users ...string) (*Bouncer, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bouncerStartTimeout)
		defer cancel()
	}
	bin := BouncerBin
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, errors.New("pgtemp: pgbouncer not found: apt-get install -y pgbouncer")
	}
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("pgtemp: bouncer target: %w", err)
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtemp-pgbouncer-")
	if err != nil {
		return nil, fmt.Errorf("pgtemp: %w", err)
	}
	b := &Bouncer{dir: dir, done: make(chan struct{})}
	if err := b.start(ctx, bin, cred, u, mode, users); err != nil {
		_ = b.Stop()
		return nil, err
	}
	return b, nil
}

func (b *Bouncer) start(ctx context.Context, bin string, cred *syscall.Credential, target *url.URL, mode string, users []string) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	b.port = port
	var userlist strings.Builder
	password, _ := target.User.Password()
	for _, u := range users {
		pw := ""
		if u == target.User.Username() {
			pw = password
		}
		// The auth_file format: both fields double-quoted, a quote doubled.
		fmt.Fprintf(&userlist, "\"%s\" \"%s\"\n", strings.ReplaceAll(u, `"`, `""`), strings.ReplaceAll(pw, `"`, `""`))
	}
	ini := fmt.Sprintf(`[databases]
* = host=%s port=%s

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s
pool_mode = %s
max_client_conn = 1000
default_pool_size = 20
logfile = %s
pidfile = %s
`, target.Hostname(), target.Port(), port, filepath.Join(b.dir, "userlist.txt"), mode,
		filepath.Join(b.dir, "pgbouncer.log"), filepath.Join(b.dir, "pgbouncer.pid"))
	files := map[string]string{"userlist.txt": userlist.String(), "pgbouncer.ini": ini}
	for name, content := range files {
		// 0600: the user list may hold a password.
		if err := os.WriteFile(filepath.Join(b.dir, name), []byte(content), 0o600); err != nil {
			return fmt.Errorf("pgtemp: %w", err)
		}
	}
	if cred != nil {
		for _, p := range []string{b.dir, filepath.Join(b.dir, "userlist.txt"), filepath.Join(b.dir, "pgbouncer.ini")} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return fmt.Errorf("pgtemp: %w", err)
			}
		}
	}
	b.cmd = exec.Command(bin, filepath.Join(b.dir, "pgbouncer.ini"))
	b.cmd.Dir = b.dir
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := b.cmd.Start(); err != nil {
		return fmt.Errorf("pgtemp: start pgbouncer: %w", err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	// Ready when it answers a connection.
	user := "postgres"
	if len(users) > 0 {
		user = users[0]
	}
	probe := fmt.Sprintf("postgres://%s@127.0.0.1:%d%s?sslmode=disable", url.PathEscape(user), port, target.Path)
	for {
		attempt, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(attempt, probe)
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			// PgBouncer is up and answered: it could not log in to the
			// server (a wrong or missing password, an unknown role).
			return fmt.Errorf("pgtemp: pgbouncer is up but cannot serve %s: %s (SQLSTATE %s)", user, pgErr.Message, pgErr.Code)
		}
		select {
		case <-b.done:
			log, _ := os.ReadFile(filepath.Join(b.dir, "pgbouncer.log"))
			return fmt.Errorf("pgtemp: pgbouncer exited during start-up: %s", lastLines(string(log), 5))
		case <-ctx.Done():
			return fmt.Errorf("pgtemp: pgbouncer not ready: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// Port is the port PgBouncer listens on, on 127.0.0.1.
func (b *Bouncer) Port() int { return b.port }

// URL is target with its host and port replaced by the bouncer's.
func (b *Bouncer) URL(target string) string {
	u, err := url.Parse(target)
	if err != nil {
		return ""
	}
	u.Host = "127.0.0.1:" + strconv.Itoa(b.port)
	return u.String()
}

// Stop ends PgBouncer (SIGINT, then a kill after 5s) and removes its files.
func (b *Bouncer) Stop() error {
	var errs []error
	if b.cmd != nil && b.cmd.Process != nil {
		select {
		case <-b.done:
		default:
			_ = b.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-b.done:
			case <-time.After(5 * time.Second):
				_ = b.cmd.Process.Kill()
				<-b.done
				errs = append(errs, errors.New("pgtemp: pgbouncer did not stop in 5s and was killed"))
			}
		}
	}
	if err := os.RemoveAll(b.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
