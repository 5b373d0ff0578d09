# The two commands of README.md: `make demo` and `make test`. Both need only
# Go and git: without DATABASE_URL they start a throwaway PostgreSQL from the
# local server binaries, installing Debian's postgresql package first when
# they are missing and we are root.

GO ?= go
SQLC := $(GO) tool -modfile=tools/go.mod sqlc

.PHONY: demo serve test generate check bench chaos failover postgres-binaries browser pgbouncer pg-auto-failover sqlc-tool

## demo: run the quickstart (tutorial flow) against DATABASE_URL or a throwaway server.
demo: postgres-binaries
	$(GO) run ./examples/quickstart

## serve: the product-page service (examples/shopapi) with 10,000 demo customers on a throwaway server.
serve: postgres-binaries
	$(GO) run ./examples/shopapi -seed 10000

## test: every check CI runs: formatting, vet, generated code in sync, all tests with -race,
## then the query and shop tests again on a multiplexing pool (pgkit.Config.Multiplex).
test: postgres-binaries browser pgbouncer pg-auto-failover check
	@echo "Running every test with -race: about 4 minutes on 2 cores once built (the first build takes a few minutes more)."
	$(GO) test -race -count=1 ./...
	SHOPDB_TEST_MULTIPLEX=1 $(GO) test -race -count=1 ./queries ./shop

## check: gofmt, go vet (also of the bench module), `pgkitgen expand -check`, `sqlc diff` and `pgkitgen -check` (db/ matches schema/ and queries/,
## pgkit/internal/kitdb/ its own migrations/ and queries/, bench/benchdb/ its schema/ and queries/).
check: sqlc-tool
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	cd bench && $(GO) vet ./...
	$(GO) run ./pgkit/cmd/pgkitgen expand -from queries -to db/sql -check
	$(SQLC) diff
	$(GO) run ./pgkit/cmd/pgkitgen -dir db -check
	$(SQLC) diff -f pgkit/internal/kitdb/sqlc.yaml
	$(GO) run ./pgkit/cmd/pgkitgen -dir pgkit/internal/kitdb -check
	$(SQLC) diff -f bench/benchdb/sqlc.yaml
	$(GO) run ./pgkit/cmd/pgkitgen -dir bench/benchdb -check

## bench: shopdb vs raw pgx vs asyncpg vs pgbench on a throwaway server, the shop's workloads and asyncpg's suite,
## throughput and client and server CPU per operation; writes bench/results/. Pick with
## `make bench BENCH_FLAGS='-only suite -clients shopdb,pgx'` (cd bench && go run . -h lists the flags).
bench: postgres-binaries
	cd bench && $(GO) run . -out results $(BENCH_FLAGS)

## chaos: pgkit's chaos test, long: every fault scenario in every mode (pooled, multiplexed, replicated, both)
## for PGKIT_CHAOS_DURATION each (default 20s; minutes in all), printing per scenario and mode the calls,
## wrong answers, hangs, lost and duplicated writes and untyped errors. `make test` runs its short version.
chaos: postgres-binaries
	PGKIT_CHAOS=long $(GO) test -count=1 -v -timeout 60m -run '^TestChaos$$' ./pgkit/internal/chaos

## failover: shopdb across failovers of a real pg_auto_failover formation (monitor, primary, synchronous
## standby on loopback): 32 writers placing orders (shop.PlaceOrder, pooled and multiplexed) and autocommit
## ledger inserts through 5 planned failovers, 3 postmaster kills and 2 node losses; prints per trigger the
## write gap, lost, doubled and misreported writes, unknown outcomes, 25006 errors, standby reads. Minutes.
failover: postgres-binaries pg-auto-failover
	cd bench && $(GO) run ./failover

## generate: regenerate db/ after editing schema/ or queries/ (and pgkit/internal/kitdb/, bench/benchdb/ after editing their SQL).
generate:
	$(GO) generate ./...
	cd bench && $(GO) generate ./benchdb

# sqlc is built from source on first use (tools/go.mod pins it), which takes
# several minutes on a cold machine: say so instead of staying silent. The
# stamp in Go's build cache remembers that this sqlc was built.
sqlc-tool:
	@stamp="$$($(GO) env GOCACHE)/shopdb-sqlc-$$(cksum < tools/go.sum | cut -d' ' -f1)"; \
	if [ ! -f "$$stamp" ]; then echo "Building sqlc from tools/go.mod for the first time: several minutes on a cold machine, cached afterwards."; fi; \
	$(SQLC) version >/dev/null && touch "$$stamp"

# PostgreSQL server binaries, needed only when DATABASE_URL is unset.
postgres-binaries:
	@if [ -n "$$DATABASE_URL" ] || command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "PostgreSQL server binaries not found: installing Debian's postgresql package (a minute or two)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
		echo "PostgreSQL server binaries not found. Install them (sudo apt-get install -y postgresql) or set DATABASE_URL to a server." >&2; \
		exit 1; \
	fi

# A headless browser for the HTML page's test (examples/shopapi); without
# one, that test is skipped with a message saying what to install.
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "No headless browser found: installing Debian's chromium package (a few minutes: about 100 MB)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "No headless browser found (sudo apt-get install -y chromium): the browser test will be skipped." >&2; \
	fi

# PgBouncer for the transaction-pooling tests (pgkit); without it, they are
# skipped with a message saying what to install.
pgbouncer:
	@if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "PgBouncer not found: installing Debian's pgbouncer package (under a minute)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null; \
	else \
		echo "PgBouncer not found (sudo apt-get install -y pgbouncer): the pooler tests will be skipped." >&2; \
	fi

# pg_auto_failover (pg_autoctl and the extension of the newest installed
# server) for the failover tests (pgkit/pgtemp's Formation); without it,
# they are skipped with a message saying what to install.
pg-auto-failover:
	@v=$$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1); v=$${v:-15}; \
	if command -v pg_autoctl >/dev/null 2>&1 && [ -f /usr/lib/postgresql/$$v/lib/pgautofailover.so ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "pg_auto_failover not found: installing Debian's pg-auto-failover-cli and postgresql-$$v-auto-failover packages (under a minute)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pg-auto-failover-cli postgresql-$$v-auto-failover >/dev/null; \
	else \
		echo "pg_auto_failover not found (sudo apt-get install -y pg-auto-failover-cli postgresql-$$v-auto-failover): the failover tests will be skipped." >&2; \
	fi
