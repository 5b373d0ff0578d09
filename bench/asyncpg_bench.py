"""The shopdb workloads with asyncpg and uvloop, as the Python tutorials write them.

Run by `go run ./bench` (make bench) with Debian's python3-asyncpg and python3-uvloop;
prints one JSON result line, like the Go workers, with the client's and the server's
CPU per operation (bench/cpu.go's rules: getrusage of this process; utime + stime of
the postmaster, its reaped children and its live children in /proc).
"""
import argparse
import asyncio
import datetime
import json
import os
import random
import resource
import time

import asyncpg
import uvloop

POINT_WORKERS, POINT_CONNS = 16, 16
PAGE_INFLIGHT, PAGE_CONNS = 64, 10
ORDER_WORKERS, ORDER_CONNS = 32, 32
ORDER_PRODUCTS = 100

SQL_USER = "SELECT user_id, first_name, last_name, email, created_at FROM users WHERE user_id = $1"
SQL_PRODUCT = "SELECT product_id, sku, name, description, price_cents, stock, created_at FROM products WHERE product_id = $1"
# The page's lists are the shop's: a keyset cursor ($2, $3: NULL on the
# first page) and one row more than shown (PAGE_ROWS).
SQL_REVIEWS = ("SELECT review_id, product_id, user_id, rating, body, created_at FROM reviews "
               "WHERE product_id = $1::bigint "
               "AND ($2::timestamptz IS NULL OR $3::bigint IS NULL OR (created_at, review_id) < ($2::timestamptz, $3::bigint)) "
               "ORDER BY created_at DESC, review_id DESC LIMIT $4::integer")
SQL_ORDERS = ("SELECT order_id, user_id, status, total_cents, created_at FROM orders "
              "WHERE user_id = $1::bigint "
              "AND ($2::timestamptz IS NULL OR $3::bigint IS NULL OR (created_at, order_id) < ($2::timestamptz, $3::bigint)) "
              "ORDER BY created_at DESC, order_id DESC LIMIT $4::integer")
PAGE_ROWS = 11
SQL_EXPORT = ("SELECT order_id, user_id, status, total_cents, created_at FROM orders "
              "WHERE created_at >= $1 AND created_at < $2 ORDER BY order_id")


SUITE_CALLERS, SUITE_CONNS, SELECT64_CALLERS = 10, 10, 64
SERIES_LEN, BLOB_ROWS, ARRAY_ROWS = 1000, 100, 100
COPY_ROWS, INSERT_ROWS, NULL_EVERY = 10_000, 1_000, 10

# The suite's SQL (bench/suite.go, bench/benchdb/queries/bench.sql).
SQL_TYPES = """SELECT oid, typname, typnamespace, typowner, typlen, typbyval, typtype::text,
    typcategory::text, typispreferred, typisdefined, typdelim::text, typrelid, typelem,
    typarray, typalign::text, typstorage::text, typnotnull, typbasetype, typtypmod, typndims
FROM pg_catalog.pg_type
WHERE typtypmod = $1::integer AND typisdefined = $2::boolean"""
SQL_SERIES = "SELECT i::integer AS i FROM generate_series(1, $1::integer) AS i"
SQL_BLOBS = "SELECT blob_id, note, payload FROM bench_blobs ORDER BY blob_id"
SQL_ARRAYS = "SELECT array_id, vals FROM bench_arrays ORDER BY array_id"
SQL_ROW_INSERT = """INSERT INTO bench_rows (n, big, label, score, at, opt_n, opt_big, opt_label, opt_flag, opt_at)
VALUES ($1::integer, $2::bigint, $3::text, $4::double precision, $5::timestamptz,
    $6::integer, $7::bigint, $8::text,
    $9::boolean, $10::timestamptz)"""
ROW_COLUMNS = ["n", "big", "label", "score", "at", "opt_n", "opt_big", "opt_label", "opt_flag", "opt_at"]

CLK_TCK = os.sysconf("SC_CLK_TCK")


def client_cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def proc_stat(pid):
    """(ppid, utime, stime, cutime, cstime) of /proc/<pid>/stat, times in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    f = s[s.rindex(")") + 2:].split()
    return int(f[1]), int(f[11]) / CLK_TCK, int(f[12]) / CLK_TCK, int(f[13]) / CLK_TCK, int(f[14]) / CLK_TCK


def server_cpu(pid):
    _, u, s, cu, cs = proc_stat(pid)
    total = u + s + cu + cs
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == pid:
            continue
        try:
            ppid, u, s, _, _ = proc_stat(int(name))
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            total += u + s
    return total


class Meter:
    """The client's and the server's CPU over an interval, as bench/cpu.go's cpuMeter."""

    def __init__(self, server_pid):
        self.server_pid, self.server0, self.client0 = server_pid, None, 0.0

    def start(self):
        if self.server_pid > 0:
            try:
                self.server0 = server_cpu(self.server_pid)
            except OSError:
                self.server0 = None
        self.client0 = client_cpu()

    def stop(self, res, ops):
        client = client_cpu() - self.client0
        if ops <= 0:
            return res
        res["client_cpu_us"] = client * 1e6 / ops
        if self.server0 is not None:
            try:
                res["server_cpu_us"] = (server_cpu(self.server_pid) - self.server0) * 1e6 / ops
            except OSError:
                pass
        return res


def latency_result(lat, duration):
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, len(lat) * p // 100)] * 1000 if lat else 0

    return {"rate": len(lat) / duration, "p50_ms": pct(50), "p99_ms": pct(99), "count": len(lat)}


async def closed_loop(meter, workers, warmup, duration, op):
    warm_end = time.perf_counter() + warmup
    end = warm_end + duration
    lat = []

    async def start_meter():
        await asyncio.sleep(max(0.0, warm_end - time.perf_counter()))
        meter.start()

    async def worker():
        while True:
            start = time.perf_counter()
            if start > end:
                return
            await op()
            if start > warm_end:
                lat.append(time.perf_counter() - start)

    await asyncio.gather(start_meter(), *(worker() for _ in range(workers)))
    res = latency_result(lat, duration)
    return meter.stop(res, res["count"])


async def point(a):
    pool = await asyncpg.create_pool(a.dsn, min_size=POINT_CONNS, max_size=POINT_CONNS)
    async with pool:
        async def op():
            await pool.fetchrow(SQL_USER, random.randint(1, a.users))
        return await closed_loop(Meter(a.server_pid), POINT_WORKERS, a.warmup, a.duration, op)


async def page(a):
    pool = await asyncpg.create_pool(a.dsn, min_size=PAGE_CONNS, max_size=PAGE_CONNS)
    async with pool:
        async def sequential():
            p, u = random.randint(1, a.products), random.randint(1, a.users)
            async with pool.acquire() as conn:
                await conn.fetchrow(SQL_PRODUCT, p)
                await conn.fetch(SQL_REVIEWS, p, None, None, PAGE_ROWS)
                await conn.fetch(SQL_ORDERS, u, None, None, PAGE_ROWS)

        async def gather():
            p, u = random.randint(1, a.products), random.randint(1, a.users)
            await asyncio.gather(pool.fetchrow(SQL_PRODUCT, p), pool.fetch(SQL_REVIEWS, p, None, None, PAGE_ROWS), pool.fetch(SQL_ORDERS, u, None, None, PAGE_ROWS))

        op = {"sequential": sequential, "gather": gather}[a.mode]
        return await closed_loop(Meter(a.server_pid), PAGE_INFLIGHT, a.warmup, a.duration, op)


async def order(a):
    pool = await asyncpg.create_pool(a.dsn, min_size=ORDER_CONNS, max_size=ORDER_CONNS)
    retries = 0
    async with pool:
        async def op():
            nonlocal retries
            qty = {}
            for _ in range(2):
                pid = random.randint(1, ORDER_PRODUCTS)
                qty[pid] = qty.get(pid, 0) + 1
            ids = sorted(qty)
            user = random.randint(1, a.users)
            while True:
                try:
                    async with pool.acquire() as conn:
                        async with conn.transaction():
                            rows = await conn.fetch(
                                "SELECT product_id, price_cents, stock FROM products WHERE product_id = ANY($1::bigint[]) "
                                "ORDER BY product_id FOR UPDATE", ids)
                            total = 0
                            for r in rows:
                                if r["stock"] < qty[r["product_id"]]:
                                    raise RuntimeError("insufficient stock")
                                total += r["price_cents"] * qty[r["product_id"]]
                            await conn.execute(
                                "UPDATE products AS p SET stock = p.stock - t.quantity FROM "
                                "(SELECT unnest($1::bigint[]) AS product_id, unnest($2::integer[]) AS quantity) AS t "
                                "WHERE p.product_id = t.product_id", ids, [qty[i] for i in ids])
                            oid = await conn.fetchval(
                                "INSERT INTO orders (user_id, status, total_cents) VALUES ($1, 'pending', $2) RETURNING order_id",
                                user, total)
                            await conn.executemany(
                                "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)",
                                [(oid, r["product_id"], qty[r["product_id"]], r["price_cents"]) for r in rows])
                    return
                except (asyncpg.exceptions.DeadlockDetectedError, asyncpg.exceptions.SerializationError):
                    retries += 1

        res = await closed_loop(Meter(a.server_pid), ORDER_WORKERS, a.warmup, a.duration, op)
        res["retries"] = retries
        return res


async def copy(a):
    conn = await asyncpg.connect(a.dsn)
    try:
        meter = Meter(a.server_pid)
        meter.start()
        start = time.perf_counter()
        records = [("First%d" % i, "Last%d" % i, "user%d@copy.example.com" % i) for i in range(a.rows)]
        await conn.copy_records_to_table("users", records=records, columns=["first_name", "last_name", "email"])
        took = time.perf_counter() - start
        return meter.stop({"rate": a.rows / took, "count": a.rows}, a.rows)
    finally:
        await conn.close()


async def stream(a):
    conn = await asyncpg.connect(a.dsn)
    try:
        since = datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
        until = datetime.datetime.fromtimestamp(a.cutoff / 1e9, datetime.timezone.utc)
        meter = Meter(a.server_pid)
        meter.start()
        start = time.perf_counter()
        n = 0
        while n == 0 or time.perf_counter() - start < a.duration:  # as the Go workers: repeat for the duration
            async with conn.transaction():
                async for _ in conn.cursor(SQL_EXPORT, since, until, prefetch=a.prefetch):
                    n += 1
        return meter.stop({"rate": n / (time.perf_counter() - start), "count": n}, n)
    finally:
        await conn.close()


def row_values(n):
    """The rows copy10k and batch1k write, as bench/suite.go's rowValues."""
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    out = []
    for i in range(n):
        at = base + datetime.timedelta(seconds=i)
        label = "row %d of the batch" % i
        row = (i, i * 1_000_003, label, i / 7, at)
        if i % NULL_EVERY != 0:
            row += (i, i * 1_000_003, label, i % 2 == 0, at)
        else:
            row += (None, None, None, None, None)
        out.append(row)
    return out


async def suite(a):
    """The workloads of asyncpg's own benchmark suite (bench/suite.go)."""
    pool = await asyncpg.create_pool(a.dsn, min_size=SUITE_CONNS, max_size=SUITE_CONNS)
    async with pool:
        if a.workload == "catalog":
            async def op():
                await pool.fetch(SQL_TYPES, -1, True)
        elif a.workload == "series":
            async def op():
                await pool.fetch(SQL_SERIES, SERIES_LEN)
        elif a.workload == "large":
            async def op():
                await pool.fetch(SQL_BLOBS)
        elif a.workload == "arrays":
            async def op():
                await pool.fetch(SQL_ARRAYS)
        elif a.workload == "copy10k":
            rows = row_values(COPY_ROWS)

            async def op():
                await pool.copy_records_to_table("bench_rows", records=rows, columns=ROW_COLUMNS)
        elif a.workload == "batch1k":
            rows = row_values(INSERT_ROWS)

            async def op():
                await pool.executemany(SQL_ROW_INSERT, rows)
        elif a.workload in ("select1", "select1-64"):
            async def op():
                await pool.fetchval("SELECT 1+1 AS two")
        else:
            raise ValueError("unknown workload %r" % a.workload)
        callers = SELECT64_CALLERS if a.workload == "select1-64" else SUITE_CALLERS
        return await closed_loop(Meter(a.server_pid), callers, a.warmup, a.duration, op)


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workload", required=True)
    ap.add_argument("--mode", default="")
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--duration", type=float, default=3)
    ap.add_argument("--users", type=int, default=0)
    ap.add_argument("--products", type=int, default=0)
    ap.add_argument("--cutoff", type=int, default=0, help="unix nanoseconds")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--prefetch", type=int, default=50, help="asyncpg's own default")
    ap.add_argument("--server-pid", type=int, default=0, help="the server's postmaster (0: no server CPU)")
    a = ap.parse_args()
    fn = {"point": point, "page": page, "order": order, "copy": copy, "stream": stream}.get(a.workload, suite)
    uvloop.install()
    res = asyncio.run(fn(a))
    res.update({"client": "asyncpg", "workload": a.workload, "peak_rss_mb": peak_rss_mb()})
    if a.mode:
        res["mode"] = a.mode
    print(json.dumps(res))


if __name__ == "__main__":
    main()
