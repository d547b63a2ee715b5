"""Channel-layer throughput of Python's channels_redis, the same workloads as canal.ts."""
import asyncio
import json
import os
import time

from channels_redis.core import RedisChannelLayer

URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SECONDS = float(os.environ.get("SECONDS", "3"))
PREFIX = f"benchpy{os.getpid()}"
WAIT = 10  # seconds a receive may take before the run is called failed (a lost message, a hang)


def layer():
    return RedisChannelLayer(hosts=[URL], prefix=PREFIX, capacity=10_000)


async def pairs(concurrency):
    l = layer()
    channels = [await l.new_channel() for _ in range(concurrency)]
    done = 0
    end = time.time() + SECONDS
    started = time.time()

    async def loop(c):
        nonlocal done
        while time.time() < end:
            await l.send(c, {"type": "bench.pair", "n": done})
            await asyncio.wait_for(l.receive(c), WAIT)
            done += 1

    await asyncio.gather(*(loop(c) for c in channels))
    rate = done / (time.time() - started)
    await l.flush()
    await l.close_pools()  # a layer left open can stall the next workload's receives
    return rate


async def group(members):
    a, b = layer(), layer()
    name = f"g{members}"
    all_ = []
    for i in range(members):
        l = b if i % 2 else a
        c = await l.new_channel()
        await l.group_add(name, c)
        all_.append((l, c))
    delivered = 0

    async def reader(l, c):
        nonlocal delivered
        while True:
            await l.receive(c)
            delivered += 1

    tasks = [asyncio.ensure_future(reader(l, c)) for l, c in all_]
    started = time.time()
    end = started + SECONDS
    sent = 0
    while time.time() < end:
        await a.group_send(name, {"type": "bench.group", "n": sent})
        sent += 1
        while delivered < (sent - 2) * members and time.time() < end + 2:
            await asyncio.sleep(0)
    rate = delivered / (time.time() - started)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await a.flush()
    await b.flush()
    await a.close_pools()
    await b.close_pools()
    return rate


async def heartbeat():
    # On a loaded machine the run stalled for minutes after the first workload, with the loop
    # idle; with any timer pending (this one) it never did. Cause not found; the tick costs
    # nothing measurable (one wake-up per 50 ms).
    while True:
        await asyncio.sleep(0.05)


async def main():
    beat = asyncio.ensure_future(heartbeat())
    for workload, unit, fn in (
        ("pairs-c50", "send+receive/s", lambda: pairs(50)),
        ("group-100", "deliveries/s", lambda: group(100)),
        ("group-1000", "deliveries/s", lambda: group(1000)),
    ):
        value = await fn()
        print(json.dumps({"impl": "channels_redis", "workload": workload, "unit": unit, "value": round(value)}), flush=True)
    beat.cancel()


asyncio.run(main())
