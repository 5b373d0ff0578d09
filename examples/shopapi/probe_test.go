package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopdb/shopdb/pgkit/pgkittest"
	"github.com/shopdb/shopdb/schema"
)

// slowClient writes to a connection as one kind of slow or idle client
// does, until a write fails or stop is closed.
type slowClient func(conn net.Conn, stop <-chan struct{})

const orderHeader = "POST /orders HTTP/1.1\r\nHost: shopapi\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"

var slowClients = map[string]slowClient{
	// A body of 1,000 bytes sent one byte every 50ms: 50s in all.
	"dribbled body": func(conn net.Conn, stop <-chan struct{}) {
		if _, err := io.WriteString(conn, orderHeader+"{"); err != nil {
			return
		}
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := io.WriteString(conn, " "); err != nil {
					return
				}
			}
		}
	},
	// A body of 1,000 bytes of which 17 are sent, then nothing.
	"stalled body": func(conn net.Conn, _ <-chan struct{}) {
		_, _ = io.WriteString(conn, orderHeader+`{"customer_id": 1`)
	},
	// Half a request header, then nothing.
	"stalled header": func(conn net.Conn, _ <-chan struct{}) {
		_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: shopapi\r\n")
	},
	// One request answered, then a kept-alive connection left idle.
	"idle connection": func(conn net.Conn, _ <-chan struct{}) {
		_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: shopapi\r\n\r\n")
	},
}

// cutAfter runs client on a new connection to addr and returns how long
// the server took to close it (the client reads everything the server
// sends until end of file or reset), or an error when it was still open
// after bound.
func cutAfter(addr string, client slowClient, bound time.Duration) (time.Duration, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	start := time.Now()
	if err := conn.SetReadDeadline(start.Add(bound)); err != nil {
		return 0, err
	}
	stop := make(chan struct{})
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		client(conn, stop)
	}()
	_, err = io.Copy(io.Discard, conn) // nil at end of file; a reset is an error too, and also a cut
	close(stop)
	<-wrote
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return 0, fmt.Errorf("still open after %s", bound)
	}
	return time.Since(start), nil
}

// TestSlowClientsAreCut is the probe: bodies dribbled or stalled,
// headers stalled and kept-alive connections left idle are all closed by
// the server (read, read-header and idle timeouts), each within a
// generous bound, while the service keeps answering.
func TestSlowClientsAreCut(t *testing.T) {
	t.Parallel()
	const each, bound = 20, 15 * time.Second
	c := startCommand(t, pgkittest.URL(t, schema.FS()), "-seed", "10",
		"-read-header-timeout", "300ms", "-read-timeout", "1s", "-timeout", "2s", "-write-timeout", "3s", "-idle-timeout", "1s")
	c.waitHealthy(t)

	var mu sync.Mutex
	slowest := map[string]time.Duration{}
	var wg sync.WaitGroup
	for kind, client := range slowClients {
		for range each {
			wg.Go(func() {
				d, err := cutAfter(c.addr, client, bound)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("%s: %v", kind, err)
					return
				}
				slowest[kind] = max(slowest[kind], d)
			})
		}
	}
	wg.Wait()
	t.Logf("%d connections of each kind, slowest cut: %v", each, slowest)
	if code, _, body := c.get(t, "/products/1?customer=1"); code != 200 {
		t.Fatalf("page after the probe: %d %s", code, body)
	}
	// The bodies not received in time were answered 408 (as far as the
	// client still listened), never 500.
	if out := c.out.String(); !strings.Contains(out, `"route":"POST /orders","status":408`) || strings.Contains(out, `"status":500`) {
		t.Errorf("log of the probe:\n%s", out)
	}
}
