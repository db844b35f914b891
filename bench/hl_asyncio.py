"""High-level benchmark for Python's asyncio and uvloop, the reference figures
of bench/hl.ts (same scenarios, same sizes, same code shape). Prints ONE JSON
line on stdout (progress on stderr).

    python3 bench/hl_asyncio.py asyncio|uvloop [--part=main|ctx] [--quick] [--reps=N]
"""

import asyncio
import json
import sys
import time

impl = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
args = sys.argv[2:]


def opt(name, default):
    return next((a.split("=", 1)[1] for a in args if a.startswith(f"--{name}=")), default)


QUICK = "--quick" in args
REPS = int(opt("reps", 3))
PART = opt("part", "main")
N_TASKS = int(opt("tasks", 10_000 if QUICK else 100_000))
N_ITEMS = int(opt("items", 100_000 if QUICK else 1_000_000))
N_LOCKERS = int(opt("lockers", 100 if QUICK else 1000))
N_ROUNDS = int(opt("rounds", 100))
N_SOON = int(opt("soon", 100_000 if QUICK else 1_000_000))
N_AWAIT = int(opt("awaits", 100_000 if QUICK else 1_000_000))
N_CTX_TASKS = int(opt("ctx-tasks", 10_000 if QUICK else 100_000))

if impl == "uvloop":
    import uvloop

    new_loop = uvloop.new_event_loop
    version = f"{uvloop.__version__} (python {sys.version.split()[0]})"
elif impl == "asyncio":
    new_loop = asyncio.new_event_loop
    version = sys.version.split()[0]
else:
    sys.exit(f"unknown implementation {impl!r}")

now = time.perf_counter


def log(s):
    print(f"[{impl}] {s}", file=sys.stderr, flush=True)


def rnd(x):
    return round(x) if abs(x) >= 100 else round(x, 2)


def best(name, fn, key, lower_is_better):
    b = None
    runs = []
    for _ in range(REPS):
        r = fn()
        runs.append(rnd(key(r)))
        if b is None or (key(r) < key(b) if lower_is_better else key(r) > key(b)):
            b = r
        time.sleep(0.02)
    log(f"{name}: {', '.join(map(str, runs))}")
    return dict(b, runs=runs)


def run(main):
    """asyncio.run on the implementation's loop (asyncio.Runner, 3.11+)."""
    with asyncio.Runner(loop_factory=new_loop) as runner:
        return runner.run(main)


# ---- (1)-(3) ----


async def tasks_main(n):
    loop = asyncio.get_running_loop()
    done = 0

    async def work():
        nonlocal done
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        done += 1

    t0 = now()
    ts = [loop.create_task(work()) for _ in range(n)]
    await asyncio.gather(*ts)
    ms = (now() - t0) * 1000
    assert done == n
    return {"ms": ms}


async def queue_main(n, maxsize):
    loop = asyncio.get_running_loop()
    q = asyncio.Queue(maxsize)

    async def producer():
        for i in range(n):
            await q.put(i)

    async def consumer():
        s = 0
        for _ in range(n):
            s += await q.get()
        return s

    t0 = now()
    p = loop.create_task(producer())
    c = loop.create_task(consumer())
    _, s = await asyncio.gather(p, c)
    ms = (now() - t0) * 1000
    assert s == n * (n - 1) // 2
    return {"ms": ms, "perSec": n / (ms / 1000)}


async def lock_main(tasks, rounds, hold):
    loop = asyncio.get_running_loop()
    lk = asyncio.Lock()
    total = 0

    async def worker_hold():
        nonlocal total
        for _ in range(rounds):
            await lk.acquire()
            await asyncio.sleep(0)
            lk.release()
            total += 1

    async def worker_free():
        nonlocal total
        for _ in range(rounds):
            await lk.acquire()
            lk.release()
            total += 1

    worker = worker_hold if hold else worker_free
    t0 = now()
    ts = [loop.create_task(worker()) for _ in range(tasks)]
    await asyncio.gather(*ts)
    ms = (now() - t0) * 1000
    assert total == tasks * rounds
    return {"ms": ms, "perSec": total / (ms / 1000)}


# ---- (4): reference figures for the context microbenchmarks (Python's context is always on) ----


def chained(n):
    loop = new_loop()
    i = 0
    t1 = 0.0

    def cb():
        nonlocal i, t1
        i += 1
        if i == n:
            t1 = now()
            loop.stop()
        else:
            loop.call_soon(cb)

    t0 = now()
    loop.call_soon(cb)
    loop.run_forever()
    loop.close()
    assert i == n
    return {"ms": (t1 - t0) * 1000}


async def await_resolved(n):
    loop = asyncio.get_running_loop()
    s = 0
    t0 = now()
    for _ in range(n):
        f = loop.create_future()
        f.set_result(1)
        s += await f
    ms = (now() - t0) * 1000
    assert s == n
    return {"ms": ms}


def settle(f):
    f.set_result(1)


async def await_soon(n):
    loop = asyncio.get_running_loop()
    s = 0
    t0 = now()
    for _ in range(n):
        f = loop.create_future()
        loop.call_soon(settle, f)
        s += await f
    ms = (now() - t0) * 1000
    assert s == n
    return {"ms": ms}


async def tasks_await(n):
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    fut.set_result(1)
    s = 0

    async def work():
        nonlocal s
        s += await fut

    t0 = now()
    ts = [loop.create_task(work()) for _ in range(n)]
    await asyncio.gather(*ts)
    ms = (now() - t0) * 1000
    assert s == n
    return {"ms": ms}


def main():
    res = {"runtime": impl, "version": version, "part": PART}
    try:
        if PART == "main":
            log(f"reps={REPS} tasks={N_TASKS} items={N_ITEMS} lock={N_LOCKERS}x{N_ROUNDS}")
            run(tasks_main(5_000))
            run(queue_main(50_000, 0))
            res["tasks"] = best("tasks ms", lambda: run(tasks_main(N_TASKS)), lambda r: r["ms"], True)
            res["queue0"] = best("queue maxsize=0 items/s", lambda: run(queue_main(N_ITEMS, 0)), lambda r: r["perSec"], False)
            res["queue100"] = best("queue maxsize=100 items/s", lambda: run(queue_main(N_ITEMS, 100)), lambda r: r["perSec"], False)
            res["lockHold"] = best("lock contended rounds/s", lambda: run(lock_main(N_LOCKERS, N_ROUNDS, True)), lambda r: r["perSec"], False)
            res["lockFree"] = best("lock uncontended rounds/s", lambda: run(lock_main(N_LOCKERS, N_ROUNDS, False)), lambda r: r["perSec"], False)
        elif PART == "ctx":
            log(f"reps={REPS} soon={N_SOON} awaits={N_AWAIT} tasks={N_CTX_TASKS}")
            res["chained"] = best("chained call_soon ms", lambda: chained(N_SOON), lambda r: r["ms"], True)
            res["awaitResolved"] = best("await resolved ms", lambda: run(await_resolved(N_AWAIT)), lambda r: r["ms"], True)
            res["awaitSoon"] = best("await call_soon-resolved ms", lambda: run(await_soon(N_AWAIT)), lambda r: r["ms"], True)
            res["tasksAwait"] = best("tasks awaiting a resolved future ms", lambda: run(tasks_await(N_CTX_TASKS)), lambda r: r["ms"], True)
        else:
            raise ValueError(f"unknown --part={PART}")
    except Exception as e:  # report, do not hide, a failure
        import traceback

        res["error"] = traceback.format_exc()
        log(f"ERROR {e!r}")
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
