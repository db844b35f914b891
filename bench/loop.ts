/**
 * Loop benchmark: tsyncio's event loop, and the host's own scheduling, on
 * whichever runtime runs this file. Prints ONE JSON line of results on
 * stdout (progress goes to stderr). Driven by bench/run_loop.mjs.
 *
 *   npx bun bench/loop.ts
 *   npx deno run --allow-ffi bench/loop.ts
 *   node scripts/build-node.mjs .build/bench bench/loop.ts && node .build/bench/loop.mjs
 *
 * Options (environment-free, as argv): --reps=N (default 3), --quick (smaller sizes).
 */

import { newEventLoop, socketpair } from "../mod.ts";
import { setImmediate as nodeSetImmediate } from "node:timers";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const runtime: string = typeof g.Deno?.dlopen === "function" ? "deno" : typeof g.Bun?.version === "string" ? "bun" : "node";
const argv: string[] = runtime === "deno" ? g.Deno.args : g.process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const a = argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : dflt;
};
const QUICK = argv.includes("--quick");
const REPS = opt("reps", 3);
const N_SOON = opt("soon", QUICK ? 100_000 : 1_000_000);
const N_TIMERS = opt("timers", QUICK ? 10_000 : 100_000);
const N_WAKE = opt("wake", QUICK ? 200 : 2000);
const N_WAKE_IO = opt("wake-io", QUICK ? 100 : 1000);
const MAX_DELAY_S = 0.01;

const now = () => performance.now();
const log = (s: string) => console.error(`[${runtime}] ${s}`);
const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Run `fn` REPS times; keep the best by `better`. */
async function best<T>(name: string, fn: () => Promise<T>, key: (r: T) => number, lowerIsBetter: boolean): Promise<T & { runs: number[] }> {
  let b: T | null = null;
  const runs: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const r = await fn();
    const k = key(r);
    runs.push(round(k));
    if (b === null || (lowerIsBetter ? k < key(b) : k > key(b))) b = r;
    await sleepMs(20); // let the host settle (GC, timers) between runs
  }
  log(`${name}: ${runs.join(", ")}`);
  return { ...(b as T), runs };
}

const round = (x: number) => (Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100);

// ---- tsyncio ----

/** (1a) N chained callbacks: each schedules the next with callSoon. */
async function loopChained(n: number) {
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
  const s = (t1 - t0) / 1000;
  return { perSec: n / s, ms: t1 - t0 };
}

/** (1b) N callbacks scheduled up front, then runForever until the last stops the loop. */
async function loopUpfront(n: number) {
  const loop = newEventLoop();
  let i = 0;
  let t1 = 0;
  const cb = () => {
    if (++i === n) {
      t1 = now();
      loop.stop();
    }
  };
  const t0 = now();
  for (let k = 0; k < n; k++) loop.callSoon(cb);
  const tRun = now();
  await loop.runForever();
  loop.close();
  if (i !== n) throw new Error(`upfront: ran ${i} of ${n}`);
  return { perSec: n / ((t1 - t0) / 1000), ms: t1 - t0, scheduleMs: tRun - t0, runMs: t1 - tRun };
}

/** (2) N callLater timers with delays uniform in [0, 10 ms]: first schedule to last callback. */
async function loopTimers(n: number) {
  const loop = newEventLoop();
  let i = 0;
  let t1 = 0;
  let late = 0; // how late the last-firing timer was, relative to its deadline
  let maxWhen = 0;
  const cb = () => {
    if (++i === n) {
      t1 = now();
      late = (loop.time() - maxWhen) * 1000;
      loop.stop();
    }
  };
  const t0 = now();
  for (let k = 0; k < n; k++) {
    const h = loop.callLater(Math.random() * MAX_DELAY_S, cb);
    if (h.when() > maxWhen) maxWhen = h.when();
  }
  const tRun = now();
  await loop.runForever();
  loop.close();
  if (i !== n) throw new Error(`timers: ran ${i} of ${n}`);
  return { ms: t1 - t0, scheduleMs: tRun - t0, lateMs: late };
}

/**
 * (3) Idle wake-up: the loop runs with nothing scheduled; a host setTimeout
 * calls callSoonThreadsafe; measure from just before that call to the
 * callback. With `withIo`, a reader on a silent socketpair is registered so
 * the loop parks its selector while idle (the realistic case of a server).
 */
async function loopWake(n: number, withIo: boolean) {
  const loop = newEventLoop();
  const lat: number[] = [];
  let pair: ReturnType<typeof socketpair> | null = null;
  if (withIo) {
    pair = socketpair();
    pair[0].setblocking(false);
    loop.addReader(pair[0], () => {
      throw new Error("the silent socket became readable");
    });
  }
  let t = 0;
  let k = 0;
  const cb = () => {
    lat.push((now() - t) * 1000);
    if (++k === n) loop.stop();
    else setTimeout(fire, 1);
  };
  const fire = () => {
    t = now();
    loop.callSoonThreadsafe(cb);
  };
  setTimeout(fire, 5);
  await loop.runForever();
  if (pair) {
    loop.removeReader(pair[0]);
    pair[0].close();
    pair[1].close();
  }
  loop.close();
  // Drop the first few (warm-up).
  const s = lat.slice(Math.min(10, lat.length >> 4)).sort((a, b) => a - b);
  return { medianUs: pct(s, 50), p99Us: pct(s, 99), maxUs: s[s.length - 1], n: s.length };
}

// ---- the host's own scheduling ----

/**
 * The floor under (3): the same host timer, measuring from a queueMicrotask
 * call to its callback. Whatever tsyncio's wake-up costs above this is the
 * loop's own.
 */
function hostWakeFloor(n: number) {
  return new Promise<{ medianUs: number; p99Us: number; maxUs: number; n: number }>((resolve) => {
    const lat: number[] = [];
    let t = 0;
    const cb = () => {
      lat.push((now() - t) * 1000);
      if (lat.length === n) {
        const s = lat.slice(Math.min(10, n >> 4)).sort((a, b) => a - b);
        resolve({ medianUs: pct(s, 50), p99Us: pct(s, 99), maxUs: s[s.length - 1], n: s.length });
      } else setTimeout(fire, 1);
    };
    const fire = () => {
      t = now();
      queueMicrotask(cb);
    };
    setTimeout(fire, 5);
  });
}

const setImm: ((cb: () => void) => unknown) | undefined = typeof g.setImmediate === "function" ? g.setImmediate : nodeSetImmediate;

/** Chained setImmediate, N hops. */
function hostChainedImmediate(n: number) {
  return new Promise<{ perSec: number; ms: number }>((resolve) => {
    let i = 0;
    const t0 = now();
    const cb = () => {
      if (++i === n) {
        const ms = now() - t0;
        resolve({ perSec: n / (ms / 1000), ms });
      } else setImm!(cb);
    };
    setImm!(cb);
  });
}

/** N setTimeout with delays uniform in [0, 10] ms: first schedule to last callback. */
function hostTimers(n: number) {
  return new Promise<{ ms: number; scheduleMs: number }>((resolve) => {
    let i = 0;
    const t0 = now();
    const cb = () => {
      if (++i === n) resolve({ ms: now() - t0, scheduleMs: tRun - t0 });
    };
    for (let k = 0; k < n; k++) setTimeout(cb, Math.random() * 10);
    const tRun = now();
  });
}

// ---- main ----

const results: Record<string, unknown> = { runtime, version: runtime === "deno" ? g.Deno.version.deno : runtime === "bun" ? g.Bun.version : g.process.version };
log(`reps=${REPS} soon=${N_SOON} timers=${N_TIMERS} wake=${N_WAKE}`);
try {
  // Warm up the JIT on small sizes first.
  await loopChained(50_000);
  await loopUpfront(50_000);
  await loopTimers(5_000);
  await hostChainedImmediate(50_000);

  results.chained = await best("chained callSoon /s", () => loopChained(N_SOON), (r) => r.perSec, false);
  results.upfront = await best("up-front callSoon /s", () => loopUpfront(N_SOON), (r) => r.perSec, false);
  results.timers = await best("callLater timers ms", () => loopTimers(N_TIMERS), (r) => r.ms, true);
  results.wake = await best("idle wake median us", () => loopWake(N_WAKE, false), (r) => r.medianUs, true);
  results.wakeIo = await best("idle wake (reader parked) median us", () => loopWake(N_WAKE_IO, true), (r) => r.medianUs, true);
  results.hostImmediate = await best("host chained setImmediate /s", () => hostChainedImmediate(N_SOON), (r) => r.perSec, false);
  results.hostTimers = await best("host setTimeout timers ms", () => hostTimers(N_TIMERS), (r) => r.ms, true);
  results.hostWake = await best("host timer->microtask median us", () => hostWakeFloor(N_WAKE_IO), (r) => r.medianUs, true);
} catch (e) {
  results.error = String((e as Error)?.stack ?? e);
  log(`ERROR ${results.error}`);
}
console.log(JSON.stringify(results));
if (runtime === "deno") g.Deno.exit(0);
else g.process.exit(0);
