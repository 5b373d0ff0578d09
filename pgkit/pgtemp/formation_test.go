package pgtemp

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startFormation starts a formation for t, skipping t when
// pg_auto_failover is not installed, and stops it at the end of t,
// checking that Stop leaves no process and no directory.
func startFormation(t *testing.T, ctx context.Context, cfg FormationConfig) *Formation {
	t.Helper()
	if err := FormationAvailable(); err != nil {
		t.Skip(err)
	}
	began := time.Now()
	f, err := StartFormation(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("formation started in %s", time.Since(began).Round(time.Millisecond))
	t.Cleanup(func() { stopFormation(t, f) })
	return f
}

// stopFormation stops f and fails t if a process of it or its directory
// is left.
func stopFormation(t *testing.T, f *Formation) {
	t.Helper()
	if t.Failed() {
		// What the services said, before Stop removes it.
		for _, name := range []string{"monitor", "node0", "node1"} {
			b, _ := os.ReadFile(filepath.Join(f.Dir(), name, "pg_autoctl.log"))
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("%s's pg_autoctl.log, last lines:\n%s", name, strings.Join(lines[max(0, len(lines)-60):], "\n"))
		}
	}
	pids := f.pids()
	began := time.Now()
	if err := f.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	t.Logf("formation stopped in %s", time.Since(began).Round(time.Millisecond))
	for _, p := range pids {
		if !exited(p) {
			t.Errorf("process %d of the formation still runs after Stop", p)
		}
	}
	if left := processesIn(f.Dir()); len(left) > 0 {
		t.Errorf("processes %v still run in %s after Stop", left, f.Dir())
	}
	if _, err := os.Stat(f.Dir()); !os.IsNotExist(err) {
		t.Errorf("directory %s still exists after Stop (%v)", f.Dir(), err)
	}
}

// pids lists the processes of the formation now: the pg_autoctl services
// we started and every process running in its directory (postmasters,
// backends, pg_autoctl's sub-processes).
func (f *Formation) pids() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	pids := processesIn(f.dir)
	for _, a := range append([]*autoctl{f.monitor}, f.nodes[:]...) {
		if a.running() {
			pids = append(pids, a.cmd.Process.Pid)
		}
		if pid, err := a.postmasterPID(); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// write inserts v through url (so on whichever node accepts writes) and
// fails t when that does not commit.
func write(t *testing.T, ctx context.Context, url string, v int) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS acked (v int PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO acked VALUES ($1)", v); err != nil {
		t.Fatalf("write %d: %v", v, err)
	}
}

// values reads the rows write made on node i.
func values(t *testing.T, ctx context.Context, f *Formation, i int) []int {
	t.Helper()
	conn, err := pgx.Connect(ctx, f.NodeURL(i))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT v FROM acked ORDER BY v")
	if err != nil {
		t.Fatalf("node %d: %v", i, err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatalf("node %d: %v", i, err)
	}
	return vs
}

// TestFormationPlannedFailover: a formation starts with node 0 primary and
// node 1 its synchronous standby, in the caller's database; a write
// through URL() commits on node 0 and is on node 1 at once (synchronous).
// After a planned failover node 1 is the primary, writes through URL()
// work again, and node 0 comes back as its synchronous secondary with
// every write.
func TestFormationPlannedFailover(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	f := startFormation(t, ctx, FormationConfig{Database: "shop test"})

	if p, err := f.Primary(ctx); err != nil || p != 0 {
		t.Fatalf("Primary after start: %d, %v; want node 0", p, err)
	}
	if !strings.Contains(f.URL(), "/shop%20test?") {
		t.Errorf("URL %s does not name the database", f.URL())
	}
	write(t, ctx, f.URL(), 1)
	// Synchronous: committed on the primary means received by the standby;
	// replayed a moment later.
	waitValues(t, ctx, f, 1, []int{1})

	began := time.Now()
	node, at, err := f.FailoverTimed(ctx)
	if err != nil || node != 1 {
		t.Fatalf("FailoverTimed: node %d, %v; want node 1", node, err)
	}
	t.Logf("planned failover: node 1 accepts writes after %s", at.Sub(began).Round(time.Millisecond))
	t.Logf("planned failover: Failover returned after %s", time.Since(began).Round(time.Millisecond))
	if p, err := f.Primary(ctx); err != nil || p != 1 {
		t.Fatalf("Primary after the failover: %d, %v; want node 1", p, err)
	}
	write(t, ctx, f.URL(), 2)
	if err := f.WaitSecondary(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("planned failover: whole again after %s", time.Since(began).Round(time.Millisecond))
	waitValues(t, ctx, f, 0, []int{1, 2})
	if got := values(t, ctx, f, 1); len(got) != 2 {
		t.Errorf("new primary has %v, want [1 2]", got)
	}
}

// waitValues waits until node i has replayed want (a standby replays a
// moment after the primary's commit returned), failing t after 30 s.
func waitValues(t *testing.T, ctx context.Context, f *Formation, i int, want []int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := values(t, ctx, f, i)
		if equalInts(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %d has %v, want %v", i, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFormationUnavailable: without pg_autoctl, or without the extension
// for the server binaries, the error says what to install.
func TestFormationUnavailable(t *testing.T) {
	t.Parallel()
	// Binaries with no extension next to them (and, on a machine without
	// pg_autoctl, no pg_autoctl either).
	_, err := autoctlAvailable(t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y pg-auto-failover-cli postgresql-15-auto-failover") {
		t.Fatalf("binaries without pg_auto_failover: %v, want an error saying what to install", err)
	}
}

// TestFormationDiesWithItsOwner: a process that started a formation and
// is killed without Stop leaves no server running (the keepers get the
// parent-death signal and stop theirs), and the next StartFormation
// removes its directory.
func TestFormationDiesWithItsOwner(t *testing.T) {
	if os.Getenv("PGTEMP_FORMATION_CHILD") == "1" {
		f, err := StartFormation(context.Background(), FormationConfig{})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
		os.Stdout.WriteString(f.Dir() + "\n")
		time.Sleep(2 * time.Minute)
		os.Exit(0)
	}
	if err := FormationAvailable(); err != nil {
		t.Skip(err)
	}
	t.Parallel()
	child := exec.Command(os.Args[0], "-test.run=^TestFormationDiesWithItsOwner$")
	child.Env = append(os.Environ(), "PGTEMP_FORMATION_CHILD=1")
	var stderr strings.Builder
	child.Stderr = &stderr
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatalf("the child did not report its formation: %v: %s", err, stderr.String())
	}
	dir := strings.TrimSpace(line)
	running := processesIn(dir)
	if len(running) < 6 {
		t.Errorf("only %d processes run in the child's formation: %v", len(running), running)
	}
	// Killed without a chance to run Stop.
	_ = child.Process.Kill()
	_ = child.Wait()

	deadline := time.Now().Add(60 * time.Second)
	for len(processesIn(dir)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("processes %v of the formation still run 60s after its owner was killed", processesIn(dir))
		}
		time.Sleep(50 * time.Millisecond)
	}
	removeStaleFormations(filepath.Dir(dir))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s of the killed owner is still there (%v)", dir, err)
	}
}
