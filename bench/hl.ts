/**
 * High-level benchmark (issue 11, "Speed"): tasks, Queue, Lock and the cost
 * of the task context, on whichever runtime runs this file. Prints ONE JSON
 * line of results on stdout (progress goes to stderr). Driven by
 * bench/run_hl.mjs; the Python counterpart is bench/hl_asyncio.py.
 *
 *   npx bun bench/hl.ts [--part=main|ctx] [--mode=on|off] [--quick] [--reps=N]
 *   npx deno run --allow-ffi bench/hl.ts ...
 *   node scripts/build-node.mjs .build/bench bench/hl.ts && node .build/bench/hl.mjs ...
 *
 * --bench=a,b runs only those benchmarks of the part (the orchestrator runs
 * each in its own process, so one does not inherit another's heap).
 * --part=main (default): (1) 100k tasks from async functions, gathered;
 *   (2) 1M items through a Queue, maxsize 0 and 100; (3) 1000 tasks × 100
 *   Lock rounds, holding the lock across `await sleep(0)` (contended) and
 *   not (uncontended). Best of --reps in this process, a fresh `run()` each.
 * --part=ctx --mode=on|off: the task-context microbenchmarks (the
 *   orchestrator runs each once per fresh process, per repetition). "off" drives
 *   the same code from Tasks over already-started promises, which never
 *   enable the AsyncLocalStorage; "on" from coroutine-function Tasks (and
 *   enables it first, so the callSoon chain runs with it on too).
 */

import { Future, gather, getRunningLoop, Lock, newEventLoop, Queue, run, setEventLoop, sleep } from "../mod.ts";
// Only to check that "off" really stayed off (and "on" really went on).
import { taskContext } from "../src/futures.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const runtime: string = typeof g.Deno?.dlopen === "function" ? "deno" : typeof g.Bun?.version === "string" ? "bun" : "node";
const argv: string[] = runtime === "deno" ? g.Deno.args : g.process.argv.slice(2);
const sopt = (name: string, dflt: string) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? a.slice(name.length + 3) : dflt;
};
const opt = (name: string, dflt: number) => Number(sopt(name, String(dflt)));
const QUICK = argv.includes("--quick");
const REPS = opt("reps", 3);
const PART = sopt("part", "main");
const MODE = sopt("mode", "on");
const BENCH = sopt("bench", ""); // a comma-separated subset of the part's benchmarks (default: all)

const N_TASKS = opt("tasks", QUICK ? 10_000 : 100_000);
const N_ITEMS = opt("items", QUICK ? 100_000 : 1_000_000);
const N_LOCKERS = opt("lockers", QUICK ? 100 : 1000);
const N_ROUNDS = opt("rounds", 100);
const N_SOON = opt("soon", QUICK ? 100_000 : 1_000_000);
const N_AWAIT = opt("awaits", QUICK ? 100_000 : 1_000_000);
const N_CTX_TASKS = opt("ctx-tasks", QUICK ? 10_000 : 100_000);

const now = () => performance.now();
const log = (s: string) => console.error(`[${runtime}${PART === "ctx" ? ` ctx ${MODE}` : ""}] ${s}`);
const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);

/** Run `fn` `reps` times; keep the best by `key`. */
async function best<T>(name: string, reps: number, fn: () => Promise<T>, key: (r: T) => number, lowerIsBetter: boolean): Promise<T & { runs: number[] }> {
  let b: T | null = null;
  const runs: number[] = [];
  for (let i = 0; i < reps; i++) {
    const r = await fn();
    const k = key(r);
    runs.push(round(k));
    if (b === null || (lowerIsBetter ? k < key(b) : k > key(b))) b = r;
    await sleepMs(20); // let the host settle (GC, timers) between runs
  }
  log(`${name}: ${runs.join(", ")}`);
  return { ...(b as T), runs };
}

// ---- (1)-(3): the public API as a user writes it ----

/** (1) n tasks from an async function (two sleep(0) each), created then gathered. */
function tasks(n: number) {
  return run(async () => {
    const loop = getRunningLoop();
    let done = 0;
    const work = async () => {
      await sleep(0);
      await sleep(0);
      done++;
    };
    const t0 = now();
    const ts = new Array(n);
    for (let i = 0; i < n; i++) ts[i] = loop.createTask(work);
    await gather(...ts);
    const ms = now() - t0;
    if (done !== n) throw new Error(`tasks: ${done} of ${n} finished`);
    return { ms };
  });
}

/** (2) n items from a producer task to a consumer task through a Queue. */
function queue(n: number, maxsize: number) {
  return run(async () => {
    const loop = getRunningLoop();
    const q = new Queue<number>({ maxsize });
    const t0 = now();
    const producer = loop.createTask(async () => {
      for (let i = 0; i < n; i++) await q.put(i);
    });
    const consumer = loop.createTask(async () => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += await q.get();
      return sum;
    });
    const [, sum] = await gather(producer, consumer);
    const ms = now() - t0;
    if (sum !== (n * (n - 1)) / 2) throw new Error(`queue: bad sum ${sum}`);
    return { ms, perSec: n / (ms / 1000) };
  });
}

/** (3) `tasks` tasks × `rounds` acquire/release of one Lock; `hold`: `await sleep(0)` while holding it. */
function lock(tasks: number, rounds: number, hold: boolean) {
  return run(async () => {
    const loop = getRunningLoop();
    const lk = new Lock();
    let total = 0;
    const worker = hold
      ? async () => {
        for (let r = 0; r < rounds; r++) {
          await lk.acquire();
          await sleep(0);
          lk.release();
          total++;
        }
      }
      : async () => {
        for (let r = 0; r < rounds; r++) {
          await lk.acquire();
          lk.release();
          total++;
        }
      };
    const t0 = now();
    const ts = new Array(tasks);
    for (let i = 0; i < tasks; i++) ts[i] = loop.createTask(worker);
    await gather(...ts);
    const ms = now() - t0;
    if (total !== tasks * rounds) throw new Error(`lock: ${total} of ${tasks * rounds} rounds`);
    return { ms, perSec: total / (ms / 1000) };
  });
}

// ---- (4): the same work with the task context on and off ----

/**
 * Run `body` as the main task of a fresh loop: a coroutine-function Task
 * ("on": the task runs it in its context) or a Task over an already-started
 * promise ("off": the context is never needed).
 */
async function drive<T>(body: () => Promise<T>): Promise<T> {
  const loop = newEventLoop();
  setEventLoop(loop);
  try {
    const task = MODE === "on"
      ? loop.createTask(body)
      : loop.createTask((async () => {
        await null; // runUntilComplete has made the loop the running one by now
        return await body();
      })());
    return await loop.runUntilComplete(task);
  } finally {
    setEventLoop(null);
    loop.close();
  }
}

/** (4a) bench:loop's chained callSoon: each callback schedules the next. */
async function chained(n: number) {
  const loop = newEventLoop();
  let i = 0;
  let t1 = 0;
  const cb = () => {
    if (++i === n) {
      t1 = now();
      loop.stop();
    } else loop.callSoon(cb);
  };
  const t0 = now();
  loop.callSoon(cb);
  await loop.runForever();
  loop.close();
  if (i !== n) throw new Error(`chained: ran ${i} of ${n}`);
  return { ms: t1 - t0 };
}

/** (4b) one task: n `await fut` of futures already resolved. */
function awaitResolved(n: number) {
  return drive(async () => {
    const loop = getRunningLoop();
    let sum = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const f = loop.createFuture<number>();
      f.setResult(1);
      sum += await f;
    }
    const ms = now() - t0;
    if (sum !== n) throw new Error("awaitResolved: bad sum");
    return { ms };
  });
}

const settle = (f: Future<number>) => f.setResult(1);

/** (4c) one task: n `await fut` of futures resolved by the next loop iteration (callSoon). */
function awaitSoon(n: number) {
  return drive(async () => {
    const loop = getRunningLoop();
    let sum = 0;
    const t0 = now();
    for (let i = 0; i < n; i++) {
      const f = loop.createFuture<number>();
      loop.callSoon(settle, f);
      sum += await f;
    }
    const ms = now() - t0;
    if (sum !== n) throw new Error("awaitSoon: bad sum");
    return { ms };
  });
}

/** (4d) n tasks that each await one resolved Future, gathered. */
function tasksAwait(n: number) {
  return drive(async () => {
    const loop = getRunningLoop();
    const fut = loop.createFuture<number>();
    fut.setResult(1);
    let sum = 0;
    const t0 = now();
    const ts = new Array(n);
    if (MODE === "on") {
      const work = async () => {
        const v = await fut;
        sum += v;
      };
      for (let i = 0; i < n; i++) ts[i] = loop.createTask(work);
    } else {
      for (let i = 0; i < n; i++) {
        ts[i] = loop.createTask((async () => {
          const v = await fut;
          sum += v;
        })());
      }
    }
    await gather(...ts);
    const ms = now() - t0;
    if (sum !== n) throw new Error("tasksAwait: bad sum");
    return { ms };
  });
}

// ---- main ----

const results: Record<string, unknown> = {
  runtime,
  version: runtime === "deno" ? g.Deno.version.deno : runtime === "bun" ? g.Bun.version : g.process.version,
  part: PART,
};
try {
  if (PART === "main") {
    const all = ["tasks", "queue0", "queue100", "lockHold", "lockFree"];
    const which = BENCH === "" ? all : BENCH.split(",");
    log(`reps=${REPS} tasks=${N_TASKS} items=${N_ITEMS} lock=${N_LOCKERS}x${N_ROUNDS} (${which.join(", ")})`);
    for (const b of which) if (!all.includes(b)) throw new Error(`unknown --bench=${b}`);
    const has = (b: string) => which.includes(b);
    // Warm up the JIT on small sizes first.
    if (has("tasks")) await tasks(5_000);
    if (has("queue0")) await queue(50_000, 0);
    if (has("queue100")) await queue(50_000, 100);
    if (has("lockHold")) await lock(50, 100, true);
    if (has("lockFree")) await lock(50, 100, false);
    if (has("tasks")) results.tasks = await best("tasks ms", REPS, () => tasks(N_TASKS), (r) => r.ms, true);
    if (has("queue0")) results.queue0 = await best("queue maxsize=0 items/s", REPS, () => queue(N_ITEMS, 0), (r) => r.perSec, false);
    if (has("queue100")) results.queue100 = await best("queue maxsize=100 items/s", REPS, () => queue(N_ITEMS, 100), (r) => r.perSec, false);
    if (has("lockHold")) results.lockHold = await best("lock contended rounds/s", REPS, () => lock(N_LOCKERS, N_ROUNDS, true), (r) => r.perSec, false);
    if (has("lockFree")) results.lockFree = await best("lock uncontended rounds/s", REPS, () => lock(N_LOCKERS, N_ROUNDS, false), (r) => r.perSec, false);
  } else if (PART === "ctx") {
    if (MODE !== "on" && MODE !== "off") throw new Error(`--mode must be on or off, not ${MODE}`);
    const all = ["chained", "awaitResolved", "awaitSoon", "tasksAwait"];
    const which = BENCH === "" ? all : BENCH.split(",");
    for (const b of which) if (!all.includes(b)) throw new Error(`unknown --bench=${b}`);
    const has = (b: string) => which.includes(b);
    results.mode = MODE;
    log(`reps=${REPS} soon=${N_SOON} awaits=${N_AWAIT} tasks=${N_CTX_TASKS} (${which.join(", ")})`);
    // "on": switch the context on before anything is measured (it stays on).
    if (MODE === "on") await drive(async () => await sleep(0));
    if ((taskContext.current !== null) !== (MODE === "on")) throw new Error(`context is ${taskContext.current ? "on" : "off"} in mode ${MODE}`);
    if (has("chained")) await chained(50_000);
    if (has("awaitResolved")) await awaitResolved(50_000);
    if (has("awaitSoon")) await awaitSoon(50_000);
    if (has("tasksAwait")) await tasksAwait(5_000);
    if (has("chained")) results.chained = await best("chained callSoon ms", REPS, () => chained(N_SOON), (r) => r.ms, true);
    if (has("awaitResolved")) results.awaitResolved = await best("await resolved ms", REPS, () => awaitResolved(N_AWAIT), (r) => r.ms, true);
    if (has("awaitSoon")) results.awaitSoon = await best("await callSoon-resolved ms", REPS, () => awaitSoon(N_AWAIT), (r) => r.ms, true);
    if (has("tasksAwait")) results.tasksAwait = await best("tasks awaiting a resolved future ms", REPS, () => tasksAwait(N_CTX_TASKS), (r) => r.ms, true);
    if ((taskContext.current !== null) !== (MODE === "on")) throw new Error(`context ended ${taskContext.current ? "on" : "off"} in mode ${MODE}`);
  } else throw new Error(`unknown --part=${PART}`);
} catch (e) {
  results.error = String((e as Error)?.stack ?? e);
  log(`ERROR ${results.error}`);
}
console.log(JSON.stringify(results));
if (runtime === "deno") g.Deno.exit(0);
else g.process.exit(0);
