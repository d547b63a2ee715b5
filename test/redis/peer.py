"""A Django Channels peer for the interoperability tests: drives the real channels_redis
layers (Debian's python3-channels-redis) on the same Redis as Canal.

    python3 peer.py send <channel> <json>
    python3 peer.py group-send <group> <json>
    python3 peer.py receive <channel> <timeout-seconds>
    python3 peer.py join-and-receive <group> <timeout-seconds>   # prints the channel, then the message
    python3 peer.py new-channel

Environment: REDIS_URL, PREFIX (default asgi), KEYS (comma-separated encryption keys),
LAYER (core | pubsub). JSON values of the form {"$bytes": "<base64>"} stand for bytes, and
{"$tuple": [...]} for tuples, both ways.
"""
import asyncio
import base64
import json
import os
import sys


def make_layer():
    hosts = [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")]
    prefix = os.environ.get("PREFIX", "asgi")
    if os.environ.get("LAYER", "core") == "pubsub":
        from channels_redis.pubsub import RedisPubSubChannelLayer

        return RedisPubSubChannelLayer(hosts=hosts, prefix=prefix)
    from channels_redis.core import RedisChannelLayer

    keys = [k for k in os.environ.get("KEYS", "").split(",") if k]
    kwargs = {"symmetric_encryption_keys": keys} if keys else {}
    return RedisChannelLayer(hosts=hosts, prefix=prefix, **kwargs)


def decode(value):
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        if set(value) == {"$tuple"}:
            return tuple(decode(v) for v in value["$tuple"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def encode(value):
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, float):
        return {"$float": value}
    if isinstance(value, int) and abs(value) > 2**53:
        return {"$int": str(value)}
    return value


def out(obj):
    print(json.dumps(obj), flush=True)


async def main(argv):
    layer = make_layer()
    cmd = argv[0]
    if cmd == "send":
        await layer.send(argv[1], decode(json.loads(argv[2])))
    elif cmd == "group-send":
        await layer.group_send(argv[1], decode(json.loads(argv[2])))
    elif cmd == "receive":
        message = await asyncio.wait_for(layer.receive(argv[1]), float(argv[2]))
        out(encode(message))
    elif cmd == "new-channel":
        out(await layer.new_channel())
    elif cmd == "join-and-receive":
        channel = await layer.new_channel()
        await layer.group_add(argv[1], channel)
        out(channel)
        message = await asyncio.wait_for(layer.receive(channel), float(argv[2]))
        out(encode(message))
    else:
        raise SystemExit(f"unknown command {cmd}")
    if os.environ.get("LAYER", "core") == "pubsub":
        await layer.flush()  # the pub/sub layer keeps no keys: flush only closes its connections
    else:
        await layer.close_pools()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
