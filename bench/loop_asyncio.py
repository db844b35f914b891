"""Loop benchmark for Python's asyncio and uvloop, the reference figures of
bench/loop.ts. Prints ONE JSON line on stdout (progress on stderr).

    python3 bench/loop_asyncio.py asyncio|uvloop [--quick] [--reps=N]
"""

import asyncio
import json
import random
import sys
import threading
import time

impl = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
args = sys.argv[2:]
QUICK = "--quick" in args
REPS = next((int(a.split("=", 1)[1]) for a in args if a.startswith("--reps=")), 3)
N_SOON = 100_000 if QUICK else 1_000_000
N_TIMERS = 10_000 if QUICK else 100_000
N_WAKE = 200 if QUICK else 2000
MAX_DELAY_S = 0.01

if impl == "uvloop":
    import uvloop

    new_loop = uvloop.new_event_loop
    version = uvloop.__version__
elif impl == "asyncio":
    new_loop = asyncio.new_event_loop
    version = sys.version.split()[0]
else:
    sys.exit(f"unknown implementation {impl!r}")

now = time.perf_counter


def log(s):
    print(f"[{impl}] {s}", file=sys.stderr, flush=True)


def pct(sorted_, p):
    i = min(len(sorted_) - 1, max(0, -(-p * len(sorted_) // 100) - 1))
    return sorted_[int(i)]


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
    return {"perSec": n / (t1 - t0), "ms": (t1 - t0) * 1000}


def upfront(n):
    loop = new_loop()
    i = 0
    t1 = 0.0

    def cb():
        nonlocal i, t1
        i += 1
        if i == n:
            t1 = now()
            loop.stop()

    t0 = now()
    for _ in range(n):
        loop.call_soon(cb)
    t_run = now()
    loop.run_forever()
    loop.close()
    assert i == n
    return {"perSec": n / (t1 - t0), "ms": (t1 - t0) * 1000, "scheduleMs": (t_run - t0) * 1000, "runMs": (t1 - t_run) * 1000}


def timers(n):
    loop = new_loop()
    i = 0
    t1 = 0.0

    def cb():
        nonlocal i, t1
        i += 1
        if i == n:
            t1 = now()
            loop.stop()

    rand = random.random
    t0 = now()
    for _ in range(n):
        loop.call_later(rand() * MAX_DELAY_S, cb)
    t_run = now()
    loop.run_forever()
    loop.close()
    assert i == n
    return {"ms": (t1 - t0) * 1000, "scheduleMs": (t_run - t0) * 1000}


def wake(n):
    """The loop sleeps with nothing scheduled; another thread calls
    call_soon_threadsafe every ~1 ms; latency from just before that call to
    the callback running."""
    loop = new_loop()
    lat = []
    done = threading.Event()

    def cb(t):
        lat.append((now() - t) * 1e6)
        done.set()

    def feeder():
        time.sleep(0.005)
        for _ in range(n):
            time.sleep(0.001)
            done.clear()
            loop.call_soon_threadsafe(cb, now())
            done.wait()
        loop.call_soon_threadsafe(loop.stop)

    th = threading.Thread(target=feeder)
    th.start()
    loop.run_forever()
    th.join()
    loop.close()
    s = sorted(lat[min(10, len(lat) >> 4):])
    return {"medianUs": pct(s, 50), "p99Us": pct(s, 99), "maxUs": s[-1], "n": len(s)}


def main():
    res = {"runtime": impl, "version": version}
    log(f"reps={REPS} soon={N_SOON} timers={N_TIMERS} wake={N_WAKE}")
    try:
        chained(50_000)
        timers(5_000)
        res["chained"] = best("chained call_soon /s", lambda: chained(N_SOON), lambda r: r["perSec"], False)
        res["upfront"] = best("up-front call_soon /s", lambda: upfront(N_SOON), lambda r: r["perSec"], False)
        res["timers"] = best("call_later timers ms", lambda: timers(N_TIMERS), lambda r: r["ms"], True)
        res["wake"] = best("idle wake median us", lambda: wake(N_WAKE), lambda r: r["medianUs"], True)
    except Exception as e:  # report, do not hide, a failure
        import traceback

        res["error"] = traceback.format_exc()
        log(f"ERROR {e!r}")
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
