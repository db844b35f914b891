"""Subprocess benchmark for bench/run_proc.mjs: asyncio.create_subprocess_exec
on asyncio's default loop or uvloop; the same scenarios as bench/proc/proc.ts.

    python3 bench/proc/proc_asyncio.py asyncio|uvloop [--n=1000] [--conc=8] [--mib=256] [--chunk=65536] [--reps=2]

Prints one JSON line on stdout; progress on stderr.
"""
import asyncio
import json
import sys
import time

kind = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
opts = dict(a[2:].split("=", 1) for a in sys.argv[2:] if a.startswith("--") and "=" in a)
N = int(opts.get("n", 1000))
CONC = int(opts.get("conc", 8))
TOTAL = int(float(opts.get("mib", 256)) * 1024 * 1024)
CHUNK = int(opts.get("chunk", 65536))
REPS = int(opts.get("reps", 2))
TRUE, CAT = "/bin/true", "/bin/cat"
DEVNULL, PIPE = asyncio.subprocess.DEVNULL, asyncio.subprocess.PIPE
chunk = b"a" * CHUNK


def log(s):
    print(f"[{kind}] {s}", file=sys.stderr, flush=True)


async def spawn_run(n):
    todo = iter(range(n))
    bad = 0

    async def worker():
        nonlocal bad
        for _ in todo:
            p = await asyncio.create_subprocess_exec(TRUE, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
            if await p.wait() != 0:
                bad += 1

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(CONC, n))))
    secs = time.perf_counter() - t0
    if bad:
        raise RuntimeError(f"{bad} of {n} children did not exit 0")
    return n / secs


async def cat_run(total):
    t0 = time.perf_counter()
    p = await asyncio.create_subprocess_exec(CAT, stdin=PIPE, stdout=PIPE, stderr=DEVNULL)

    async def writer():
        sent = 0
        while sent < total:
            n = min(CHUNK, total - sent)
            p.stdin.write(chunk if n == CHUNK else chunk[:n])
            sent += n
            await p.stdin.drain()
        p.stdin.close()
        await p.stdin.wait_closed()

    async def reader():
        got = 0
        while True:
            d = await p.stdout.read(1 << 18)
            if not d:
                return got
            got += len(d)

    _, got = await asyncio.gather(writer(), reader())
    rc = await p.wait()
    secs = time.perf_counter() - t0
    if rc != 0:
        raise RuntimeError(f"cat exited {rc}")
    if got != total:
        raise RuntimeError(f"cat returned {got} bytes of {total}")
    return total / 1e6 / secs


async def main():
    res = {}
    try:
        await spawn_run(50)
        await cat_run(16 * 1024 * 1024)
    except Exception as e:  # noqa: BLE001
        log(f"warm-up: {type(e).__name__}: {e}")
    for _ in range(REPS):
        if "spawnErr" not in res:
            try:
                v = await spawn_run(N)
                res["spawnPerSec"] = max(res.get("spawnPerSec", 0), v)
                log(f"spawn: {v:.0f} children/s")
            except Exception as e:  # noqa: BLE001
                res["spawnErr"] = f"{type(e).__name__}: {e}"
                log(f"spawn: {res['spawnErr']}")
        if "catErr" not in res:
            try:
                v = await cat_run(TOTAL)
                res["catMBps"] = max(res.get("catMBps", 0), v)
                log(f"cat: {v:.0f} MB/s")
            except Exception as e:  # noqa: BLE001
                res["catErr"] = f"{type(e).__name__}: {e}"
                log(f"cat: {res['catErr']}")
    print(json.dumps({"runtime": kind, "n": N, "conc": CONC, "total": TOTAL, "chunk": CHUNK, "reps": REPS, "results": {kind: res}}))


if kind == "uvloop":
    import uvloop

    if hasattr(uvloop, "run"):
        uvloop.run(main())
    else:
        uvloop.install()
        asyncio.run(main())
else:
    asyncio.run(main())
