"""Runs checks of the Django reference app's own smoke test (../shared/anchors/django/smoke.py)
against a Canal server that is already listening: the same endpoints must give the same JSON.

usage: anchor_smoke.py ANCHOR_DIR PORT CHECK [CHECK ...]   (hello, echo, group, chat, notifications)
"""
import asyncio
import sys

anchor_dir, port, *checks = sys.argv[1:]
sys.path.insert(0, anchor_dir)
import smoke  # noqa: E402

run = smoke.Run(int(port))
for name in checks:
    try:
        result = getattr(run, name)()
        if asyncio.iscoroutine(result):
            asyncio.run(result)
    except smoke.CheckFailed as error:
        print(f"FAIL {name}: {error}", flush=True)
        sys.exit(1)
print(f"passed {run.passed}", flush=True)
