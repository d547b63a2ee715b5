"""Channel-layer throughput of Python's channels_redis, the same workloads as canal.ts.

Both scripts do the same work and wait the same way; see canal.ts for the workloads and the rules.
"""
import asyncio
import json
import os
import sys
import time

from channels_redis.core import RedisChannelLayer

URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
SECONDS = float(os.environ.get("SECONDS", "3"))
PREFIX = f"bench{os.getpid()}"
WINDOW = 2  # group messages a sender may have ahead of the fully delivered ones
GRACE = 30  # seconds past SECONDS a workload may take (setup, warm-up, drain) before the run fails


def layer():
    return RedisChannelLayer(hosts=[URL], prefix=PREFIX, capacity=10_000)


async def pairs(concurrency):
    l = layer()
    channels = [await l.new_channel() for _ in range(concurrency)]

    async def one(c):
        await l.send(c, {"type": "bench.pair", "n": 0})
        await l.receive(c)

    await asyncio.gather(*(one(c) for c in channels))  # warm-up: connections made, not counted
    done = 0
    started = time.monotonic()
    end = started + SECONDS

    async def loop(c):
        nonlocal done
        while time.monotonic() < end:
            await l.send(c, {"type": "bench.pair", "n": done})
            await l.receive(c)
            done += 1

    await asyncio.gather(*(loop(c) for c in channels))
    rate = done / (time.monotonic() - started)
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
    target = 0
    reached = asyncio.Event()

    async def reader(l, c):
        nonlocal delivered
        while (await l.receive(c))["type"] != "bench.stop":
            delivered += 1
            if delivered >= target:
                reached.set()

    async def until(n):
        # The readers set the event once `delivered` reaches the target.
        nonlocal target
        target = n
        if delivered < n:
            reached.clear()
            await reached.wait()

    tasks = [asyncio.ensure_future(reader(l, c)) for l, c in all_]
    await a.group_send(name, {"type": "bench.group", "n": 0})  # warm-up, not counted
    await until(members)
    delivered = 0
    started = time.monotonic()
    end = started + SECONDS
    sent = 0
    while time.monotonic() < end:
        await a.group_send(name, {"type": "bench.group", "n": sent})
        sent += 1
        await until((sent - WINDOW) * members)
    await until(sent * members)
    rate = delivered / (time.monotonic() - started)
    # Readers end on a message, not by cancellation: a receive cancelled in its Redis read can
    # swallow the cancellation and block for good.
    await a.group_send(name, {"type": "bench.stop"})
    await asyncio.gather(*tasks)
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
        try:
            value = await asyncio.wait_for(fn(), SECONDS + GRACE)
        except asyncio.TimeoutError:
            print(f"{workload}: not done {GRACE} s after its {SECONDS} s (a lost message, a hang)",
                  file=sys.stderr)
            sys.exit(1)
        line = {"impl": "channels_redis", "workload": workload, "unit": unit, "value": round(value)}
        print(json.dumps(line), flush=True)
    beat.cancel()


asyncio.run(main())
