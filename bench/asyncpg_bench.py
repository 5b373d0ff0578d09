"""The shopdb workloads with asyncpg and uvloop, as the Python tutorials write them.

Run by `go run ./bench` (make bench) with Debian's python3-asyncpg and python3-uvloop;
prints one JSON result line, like the Go workers.
"""
import argparse
import asyncio
import json
import random
import time

import asyncpg
import uvloop

POINT_WORKERS, POINT_CONNS = 16, 16
PAGE_INFLIGHT, PAGE_CONNS = 64, 10
ORDER_WORKERS, ORDER_CONNS = 32, 32
ORDER_PRODUCTS = 100

SQL_USER = "SELECT user_id, first_name, last_name, email, created_at FROM users WHERE user_id = $1"
SQL_PRODUCT = "SELECT product_id, sku, name, description, price_cents, stock, created_at FROM products WHERE product_id = $1"
SQL_REVIEWS = ("SELECT review_id, product_id, user_id, rating, body, created_at FROM reviews "
               "WHERE product_id = $1 ORDER BY created_at DESC, review_id DESC LIMIT 10")
SQL_ORDERS = ("SELECT order_id, user_id, status, total_cents, created_at FROM orders "
              "WHERE user_id = $1 ORDER BY created_at DESC, order_id DESC LIMIT 10")
SQL_EXPORT = ("SELECT order_id, user_id, status, total_cents, created_at FROM orders "
              "WHERE created_at >= $1 AND created_at < $2 ORDER BY order_id")


def latency_result(lat, duration):
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, len(lat) * p // 100)] * 1000 if lat else 0

    return {"rate": len(lat) / duration, "p50_ms": pct(50), "p99_ms": pct(99), "count": len(lat)}


async def closed_loop(workers, warmup, duration, op):
    warm_end = time.perf_counter() + warmup
    end = warm_end + duration
    lat = []

    async def worker():
        while True:
            start = time.perf_counter()
            if start > end:
                return
            await op()
            if start > warm_end:
                lat.append(time.perf_counter() - start)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return latency_result(lat, duration)


async def point(a):
    pool = await asyncpg.create_pool(a.dsn, min_size=POINT_CONNS, max_size=POINT_CONNS)
    async with pool:
        async def op():
            await pool.fetchrow(SQL_USER, random.randint(1, a.users))
        return await closed_loop(POINT_WORKERS, a.warmup, a.duration, op)


async def page(a):
    pool = await asyncpg.create_pool(a.dsn, min_size=PAGE_CONNS, max_size=PAGE_CONNS)
    async with pool:
        async def sequential():
            p, u = random.randint(1, a.products), random.randint(1, a.users)
            async with pool.acquire() as conn:
                await conn.fetchrow(SQL_PRODUCT, p)
                await conn.fetch(SQL_REVIEWS, p)
                await conn.fetch(SQL_ORDERS, u)

        async def gather():
            p, u = random.randint(1, a.products), random.randint(1, a.users)
            await asyncio.gather(pool.fetchrow(SQL_PRODUCT, p), pool.fetch(SQL_REVIEWS, p), pool.fetch(SQL_ORDERS, u))

        op = {"sequential": sequential, "gather": gather}[a.mode]
        return await closed_loop(PAGE_INFLIGHT, a.warmup, a.duration, op)


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

        res = await closed_loop(ORDER_WORKERS, a.warmup, a.duration, op)
        res["retries"] = retries
        return res


async def copy(a):
    conn = await asyncpg.connect(a.dsn)
    try:
        start = time.perf_counter()
        records = [("First%d" % i, "Last%d" % i, "user%d@copy.example.com" % i) for i in range(a.rows)]
        await conn.copy_records_to_table("users", records=records, columns=["first_name", "last_name", "email"])
        took = time.perf_counter() - start
        return {"rate": a.rows / took, "count": a.rows}
    finally:
        await conn.close()


async def stream(a):
    import datetime
    conn = await asyncpg.connect(a.dsn)
    try:
        since = datetime.datetime.fromtimestamp(0, datetime.timezone.utc)
        until = datetime.datetime.fromtimestamp(a.cutoff / 1e9, datetime.timezone.utc)
        start = time.perf_counter()
        n = 0
        while n == 0 or time.perf_counter() - start < a.duration:  # as the Go workers: repeat for the duration
            async with conn.transaction():
                async for _ in conn.cursor(SQL_EXPORT, since, until, prefetch=a.prefetch):
                    n += 1
        return {"rate": n / (time.perf_counter() - start), "count": n}
    finally:
        await conn.close()


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
    a = ap.parse_args()
    fn = {"point": point, "page": page, "order": order, "copy": copy, "stream": stream}[a.workload]
    uvloop.install()
    res = asyncio.run(fn(a))
    res.update({"client": "asyncpg", "workload": a.workload, "peak_rss_mb": peak_rss_mb()})
    if a.mode:
        res["mode"] = a.mode
    print(json.dumps(res))


if __name__ == "__main__":
    main()
