package pgtemp

// The settings a Formation runs with, chosen so that a formation starts
// in seconds and fails over within seconds on a busy 2-core machine,
// without failing over when nothing failed. pg_auto_failover's defaults
// are for machines on a network: a lost primary is promoted away after
// about a minute (20 s without a report, then 30 s for it to demote
// itself).

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// setting is one name = value line of a configuration.
type setting struct{ name, value string }

// monitorSettings are the monitor's, written to its postgresql.auto.conf
// before it first starts. sockets is the folder of the Unix sockets.
//
// A primary is failed over when its keeper has not reported for
// node_considered_unhealthy_timeout and the monitor's health checks (a
// connection every health_check_period, health_check_max_retries times
// health_check_retry_delay apart, each within health_check_timeout) fail
// too; or at once when its keeper reports postgres down. Keepers report
// every second, so 5 s is five missed reports, and a node whose keeper is
// slow to report but whose postgres answers health checks is not failed
// over. Then the standby waits
// primary_demote_timeout for the old primary to report it has stopped:
// 5 s, above the keepers' network_partition_timeout (3 s, keeperSettings)
// after which a primary that can reach neither the monitor nor its
// standby stops taking writes by itself, so that there are never two
// primaries taking writes. startup_grace_period (no failover within it of
// the monitor's start) is 3 s instead of 10 s.
func monitorSettings(sockets string) []setting {
	return append(serverSettings(sockets),
		setting{"pgautofailover.health_check_period", "1000"},               // ms; default 5000
		setting{"pgautofailover.health_check_timeout", "2000"},              // ms; default 5000
		setting{"pgautofailover.health_check_max_retries", "2"},             // default 2
		setting{"pgautofailover.health_check_retry_delay", "500"},           // ms; default 2000
		setting{"pgautofailover.node_considered_unhealthy_timeout", "5000"}, // ms; default 20000
		setting{"pgautofailover.primary_demote_timeout", "5000"},            // ms; default 30000
		setting{"pgautofailover.startup_grace_period", "3000"},              // ms; default 10000
	)
}

// nodeSettings are node 0's, written to its postgresql.auto.conf before
// it first starts; node 1 gets them with its base backup. On top of
// serverSettings: max_connections (the same on both, as a standby
// requires), jit off, as pgtemp's servers, and wal_retrieve_retry_interval
// 1 s instead of 5 s: a standby whose primary restarted (a postmaster
// killed and restarted by its keeper) reconnects within a second, and
// until it does the primary's commits wait for it. Replication settings are
// pg_autoctl's own (synchronous_commit on, wal_log_hints and
// full_page_writes on for pg_rewind); number_sync_standbys stays 0 and
// the standby's replication quorum true, which makes node 1 the
// synchronous standby: synchronous_standby_names = 'ANY 1
// (pgautofailover_standby_N)'.
func nodeSettings(sockets string, maxConnections int) []setting {
	return append(serverSettings(sockets),
		setting{"max_connections", strconv.Itoa(maxConnections)},
		setting{"jit", "off"},
		setting{"wal_retrieve_retry_interval", "'1s'"},
	)
}

// serverSettings are those of every server of a formation. fsync off: the
// faults a formation plays are processes killed, and the kernel keeps
// what a killed process wrote, so fsync buys nothing here and costs a
// busy disk seconds. The Unix sockets go to the formation's folder
// instead of /var/run/postgresql.
func serverSettings(sockets string) []setting {
	return []setting{
		{"fsync", "off"},
		{"unix_socket_directories", quoteConf(sockets)},
	}
}

// keeperSettings are set in each keeper's configuration once its node
// has joined (`pg_autoctl config set`, reloaded at once).
// network_partition_timeout: a primary that has reached neither the
// monitor nor its standby for this many seconds stops taking writes by
// itself; it must stay below the monitor's primary_demote_timeout.
var keeperSettings = []setting{
	{"timeout.network_partition_timeout", "3"}, // s; default 20
}

// writeAutoConf writes settings to data's postgresql.auto.conf (read
// last, so they win over pg_autoctl's postgresql-auto-failover.conf;
// pg_autoctl's own ALTER SYSTEM keeps them), owned by cred.
func writeAutoConf(data string, settings []setting, cred *syscall.Credential) error {
	path := filepath.Join(data, "postgresql.auto.conf")
	var b strings.Builder
	b.WriteString("# Settings of pgtemp's Formation (pgkit/pgtemp/formationsettings.go).\n")
	for _, s := range settings {
		fmt.Fprintf(&b, "%s = %s\n", s.name, s.value)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("pgtemp: %w", err)
	}
	if cred != nil {
		if err := os.Chown(path, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtemp: %w", err)
		}
	}
	return nil
}

// quoteConf quotes s as a postgresql.conf string.
func quoteConf(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// pathEscape escapes a database name for the path of a URL.
func pathEscape(s string) string { return url.PathEscape(s) }
