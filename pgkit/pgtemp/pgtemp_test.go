package pgtemp

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestStartStop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Start(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	var fsync string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "off" {
		t.Errorf("fsync = %q (%v), want off", fsync, err)
	}
	conn.Close(ctx)
	pid := s.cmd.Process.Pid

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Dir()); !os.IsNotExist(err) {
		t.Errorf("directory %s still exists after Stop (%v)", s.Dir(), err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postgres (pid %d) still exists after Stop: %v", pid, err)
	}
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if c, err := pgx.Connect(short, s.URL()); err == nil {
		c.Close(ctx)
		t.Error("server still accepts connections after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartRemovesDirectoriesOfDeadOwners(t *testing.T) {
	t.Parallel()
	// A pid that surely belongs to no process any more.
	done := exec.Command("true")
	if err := done.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fakeServerDir(t, done.Process.Pid)
	live := fakeServerDir(t, os.Getpid())

	s, err := Start(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("directory of a dead owner %s was kept (%v)", stale, err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of a live owner %s was removed: %v", live, err)
	}
}

func fakeServerDir(t *testing.T, ownerPID int) string {
	t.Helper()
	dir, err := os.MkdirTemp(parentDir(), dirPrefix+"*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(ownerPID)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestStartWithoutBinaries(t *testing.T) {
	t.Parallel()
	_, err := Start(context.Background(), Config{BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "no postgres binary") {
		t.Fatalf("error = %v, want one saying the binaries are missing", err)
	}
}

func TestServerDiesWithItsOwner(t *testing.T) {
	if os.Getenv("PGTEMP_CHILD") == "1" {
		// The child: start a server, report its pid, and wait to be killed.
		s, err := Start(context.Background(), Config{})
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString(strconv.Itoa(s.cmd.Process.Pid) + " " + s.Dir() + "\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	t.Parallel()
	child := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithItsOwner$")
	child.Env = append(os.Environ(), "PGTEMP_CHILD=1")
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := stdout.Read(buf)
	if err != nil {
		child.Process.Kill()
		t.Fatalf("child did not report its server: %v", err)
	}
	fields := strings.Fields(string(buf[:n]))
	pid, _ := strconv.Atoi(fields[0])
	dir := fields[1]
	// Killed without a chance to run Stop.
	child.Process.Kill()
	child.Wait()

	deadline := time.Now().Add(10 * time.Second)
	for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) && !isZombie(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("postgres (pid %d) still runs 10s after its owner was killed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The next Start clears the directory left behind.
	s, err := Start(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s of the killed owner is still there (%v)", dir, err)
	}
}

// isZombie reports whether pid has exited and waits for a parent to reap it.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && len(b) > i+2 && b[i+2] == 'Z'
}
