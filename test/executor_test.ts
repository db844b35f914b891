/** runInExecutor, ThreadPoolExecutor, setDefaultExecutor, shutdownDefaultExecutor. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, rmdirSync, unlinkSync, writeFileSync } from "node:fs";
import process from "node:process";
import {
  type EventLoop, type Executor, Future, newEventLoop, RuntimeError, setLogger, sleep, ThreadPoolExecutor, ValueError,
} from "../mod.ts";
import { isA } from "./_helpers.ts";

function withLoop(name: string, fn: (loop: EventLoop) => Promise<void> | void) {
  test(name, async () => {
    const loop = newEventLoop();
    try {
      await fn(loop);
    } finally {
      loop.close();
    }
  });
}

/** The rejection of `p`, or a failure if it fulfils. */
async function rejection(p: PromiseLike<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new assert.Assertion({ message: "expected a rejection", generated: false, operator: "rejects", expects: undefined, actual: undefined });
}

// The functions below run in worker threads: they are sent as source and
// must not use anything from this module.

/** Block the worker for `ms` milliseconds; counts concurrency in `sab` ([active, maxActive, done, spare]). */
function sleeper(sab: SharedArrayBuffer, ms: number): [number, number] {
  const a = new Int32Array(sab);
  const now = Atomics.add(a, 0, 1) + 1;
  for (let m = Atomics.load(a, 1); m < now; m = Atomics.load(a, 1)) {
    if (Atomics.compareExchange(a, 1, m, now) === m) break;
  }
  const t0 = Date.now();
  Atomics.wait(a, 3, 0, ms);
  const t1 = Date.now();
  Atomics.sub(a, 0, 1);
  Atomics.add(a, 2, 1);
  return [t0, t1];
}

/** Record that it ran: sets a[index] = 1. */
function marker(sab: SharedArrayBuffer, index: number): number {
  Atomics.store(new Int32Array(sab), index, 1);
  return index;
}

/** Busy-wait `ms` milliseconds (no shared memory needed). */
function busy(ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* spin */ }
  return ms;
}

withLoop("runInExecutor(null, fn, ...args) returns the result of a plain function", async (loop) => {
  const fut = loop.runInExecutor<number>(null, (a: number, b: number) => a * 10 + b, 4, 2);
  assert.instance(fut, Future);
  assert.is(fut.getLoop(), loop);
  assert.is(await loop.runUntilComplete(fut), 42);
  const g = loop.runInExecutor<string>(null, function join(...parts: string[]) {
    return parts.join("-");
  }, "a", "b", "c");
  assert.is(await loop.runUntilComplete(g), "a-b-c");
  assert.is(await loop.runUntilComplete(loop.runInExecutor(null, () => undefined)), undefined);
});

withLoop("an async function's result is awaited in the worker", async (loop) => {
  const fut = loop.runInExecutor<number>(null, async (x: number) => {
    await new Promise((r) => setTimeout(r, 5));
    return x * 2;
  }, 21);
  assert.is(await loop.runUntilComplete(fut), 42);
});

withLoop("arguments and results travel by structured clone", async (loop) => {
  const arg = {
    list: [1, "two", null, { deep: true }],
    map: new Map<string, number>([["k", 1]]),
    set: new Set([3, 4]),
    date: new Date(86_400_000),
    bytes: new Uint8Array([1, 2, 3]),
    big: 12345678901234567890n,
  };
  const res = await loop.runUntilComplete(loop.runInExecutor<Record<string, unknown>>(null, (o: typeof arg) => ({
    types: [Array.isArray(o.list), o.map instanceof Map, o.set instanceof Set, o.date instanceof Date, o.bytes instanceof Uint8Array],
    list: o.list,
    map: new Map([...o.map].map(([k, v]) => [k + k, v + 1])),
    set: new Set([...o.set].map((x) => x * 2)),
    date: new Date(o.date.getTime() + 1),
    bytes: o.bytes.map((b) => b * 2),
    big: o.big + 1n,
  }), arg));
  assert.equal(res.types, [true, true, true, true, true], "arguments arrive as their own types");
  assert.equal(res.list, arg.list);
  assert.instance(res.map, Map);
  assert.equal([...(res.map as Map<string, number>)], [["kk", 2]]);
  assert.instance(res.set, Set);
  assert.equal([...(res.set as Set<number>)], [6, 8]);
  assert.instance(res.date, Date);
  assert.is((res.date as Date).getTime(), 86_400_001);
  assert.instance(res.bytes, Uint8Array);
  assert.equal([...(res.bytes as Uint8Array)], [2, 4, 6]);
  assert.is(res.big, 12345678901234567891n);
  assert.equal([...arg.bytes], [1, 2, 3], "the caller's argument is untouched");
});

withLoop("an argument that cannot be cloned rejects with TypeError", async (loop) => {
  let err: Error | null = null;
  try {
    await loop.runUntilComplete(loop.runInExecutor(null, (f: unknown) => typeof f, () => 1));
  } catch (e) {
    err = e as Error;
  }
  assert.instance(err, TypeError);
  // The pool is still usable afterwards.
  assert.is(await loop.runUntilComplete(loop.runInExecutor(null, () => 7)), 7);
});

withLoop("exceptions thrown in the worker arrive as rejections with the same name and message", async (loop) => {
  const te = await rejection(loop.runUntilComplete(loop.runInExecutor(null, () => {
    throw new TypeError("bad type here");
  })));
  assert.instance(te, TypeError);
  assert.is(te.name, "TypeError");
  assert.is(te.message, "bad type here");

  const re = await rejection(loop.runUntilComplete(loop.runInExecutor(null, async () => {
    await null;
    throw new RangeError("out of range");
  })));
  assert.instance(re, RangeError);
  assert.is(re.message, "out of range");

  const ce = await rejection(loop.runUntilComplete(loop.runInExecutor(null, () => {
    class QuotaExceeded extends Error {
      override name = "QuotaExceeded";
    }
    throw Object.assign(new QuotaExceeded("too much"), { errno: 122, code: "EDQUOT" });
  })));
  assert.instance(ce, Error);
  assert.is(ce.name, "QuotaExceeded");
  assert.is(ce.message, "too much");
  assert.is((ce as Error & { errno: number }).errno, 122);
  assert.is((ce as Error & { code: string }).code, "EDQUOT");

  const nv = await rejection(loop.runUntilComplete(loop.runInExecutor(null, () => {
    throw "just a string";
  })));
  assert.instance(nv, Error);
  assert.match(nv.message, "just a string");
});

withLoop("{ module, name } runs an exported function of a module (file:// URL string or URL)", async (loop) => {
  // A fresh directory: Bun caches the listings of the directories above the
  // project (the module would be invisible in /tmp itself when the project
  // lives under /tmp, as in CI's clone).
  const dir = mkdtempSync("/tmp/tsyncio-executor-");
  const path = `${dir}/module.mjs`;
  writeFileSync(path, [
    "export function triple(x) { return x * 3; }",
    "export async function greet(name) { await null; return `hello ${name}`; }",
    "export const notAFunction = 5;",
    "export function fail() { throw new RangeError('from a module'); }",
  ].join("\n"));
  try {
    const url = new URL(`file://${path}`);
    assert.is(await loop.runUntilComplete(loop.runInExecutor(null, { module: url.href, name: "triple" }, 14)), 42);
    assert.is(await loop.runUntilComplete(loop.runInExecutor(null, { module: url, name: "greet" }, "you")), "hello you");
    const missing = await rejection(loop.runUntilComplete(loop.runInExecutor(null, { module: url.href, name: "nope" })));
    assert.instance(missing, TypeError);
    assert.match(missing.message, "nope");
    const notFn = await rejection(loop.runUntilComplete(loop.runInExecutor(null, { module: url.href, name: "notAFunction" })));
    assert.instance(notFn, TypeError);
    const thrown = await rejection(loop.runUntilComplete(loop.runInExecutor(null, { module: url.href, name: "fail" })));
    assert.instance(thrown, RangeError);
    assert.is(thrown.message, "from a module");
    const noModule = await rejection(loop.runUntilComplete(
      loop.runInExecutor(null, { module: url.href.replace(".mjs", "_missing.mjs"), name: "triple" }),
    ));
    assert.instance(noModule, Error, "a module that does not exist rejects");
    assert.throws(() => loop.runInExecutor(null, { module: url.href, name: 3 as unknown as string }), isA(TypeError));
  } finally {
    unlinkSync(path);
    rmdirSync(dir);
  }
});

withLoop("a method-shorthand function runs; native, bound and non-functions throw TypeError synchronously", async (loop) => {
  const obj = {
    double(x: number) {
      return x * 2;
    },
    async later(x: number) {
      await null;
      return x + 1;
    },
  };
  assert.is(await loop.runUntilComplete(loop.runInExecutor(null, obj.double, 21)), 42);
  assert.is(await loop.runUntilComplete(loop.runInExecutor(null, obj.later, 41)), 42);
  assert.throws(() => loop.runInExecutor(null, Math.max, 1, 2), isA(TypeError, "max"));
  assert.throws(() => loop.runInExecutor(null, function f(x: number) {
    return x;
  }.bind(null), 1), isA(TypeError));
  assert.throws(() => loop.runInExecutor(null, 42), isA(TypeError));
  assert.throws(() => loop.runInExecutor(null, "() => 1"), isA(TypeError));
});

withLoop("ThreadPoolExecutor({ maxWorkers: 2 }) runs 6 jobs at most 2 at a time", async (loop) => {
  const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
  assert.is(pool.maxWorkers, 2);
  try {
    const sab = new SharedArrayBuffer(16);
    const a = new Int32Array(sab);
    const ms = 100;
    const futs = Array.from({ length: 6 }, () => loop.runInExecutor<[number, number]>(pool, sleeper, sab, ms));
    const t0 = Date.now();
    const spans: [number, number][] = [];
    for (const f of futs) spans.push(await loop.runUntilComplete(f));
    const elapsed = Date.now() - t0;
    assert.is(Atomics.load(a, 2), 6, "all six jobs ran (and saw the shared memory)");
    assert.is(Atomics.load(a, 0), 0, "none is still active");
    assert.is(Atomics.load(a, 1), 2, "two workers ran at once, never more");
    // Independently of the counter: at no job start were more than 2 jobs in progress.
    for (const [s] of spans) {
      const overlapping = spans.filter(([s2, e2]) => s2 <= s && s < e2).length;
      assert.ok(overlapping <= 2, `${overlapping} jobs overlapped at ${s}`);
    }
    assert.ok(elapsed >= 3 * ms - 15, `6 jobs of ${ms} ms on 2 workers took ${elapsed} ms`);
  } finally {
    await pool.shutdown(true);
  }
});

test("ThreadPoolExecutor rejects a maxWorkers that is not a positive integer", () => {
  assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 0 }), isA(ValueError));
  assert.throws(() => new ThreadPoolExecutor({ maxWorkers: -1 }), isA(ValueError));
  assert.throws(() => new ThreadPoolExecutor({ maxWorkers: 1.5 }), isA(ValueError));
  const p = new ThreadPoolExecutor();
  assert.ok(Number.isInteger(p.maxWorkers) && p.maxWorkers >= 1, "the default is a positive integer");
  p.shutdown(false);
});

test("a shut down ThreadPoolExecutor refuses new work with RuntimeError", async () => {
  const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
  assert.is(await pool.submit((x: number) => x + 1, 1), 2);
  await pool.shutdown();
  assert.throws(() => pool.submit(() => 1), isA(RuntimeError));
});

withLoop("setDefaultExecutor with a non-executor throws TypeError", (loop) => {
  for (const bad of [null, undefined, 42, "pool", {}, { submit() {} }, { shutdown() {} }, () => {}]) {
    assert.throws(() => loop.setDefaultExecutor(bad as unknown as Executor), isA(TypeError), String(bad));
  }
  assert.throws(() => loop.runInExecutor({} as unknown as Executor, () => 1), isA(TypeError));
});

withLoop("a custom executor object serves as the default executor", async (loop) => {
  const submitted: unknown[][] = [];
  const shutdowns: unknown[] = [];
  let outer = 0;
  const custom: Executor = {
    submit(fn: unknown, ...args: unknown[]) {
      submitted.push([fn, ...args]);
      // Runs in this thread: closures work here.
      return Promise.resolve().then(() => (fn as (...a: unknown[]) => unknown)(...args));
    },
    shutdown(wait?: boolean) {
      shutdowns.push(wait);
    },
  };
  loop.setDefaultExecutor(custom);
  const fn = (x: number) => x + ++outer;
  assert.is(await loop.runUntilComplete(loop.runInExecutor(null, fn, 10)), 11);
  assert.is(outer, 1, "ran in this thread, with its closure");
  assert.equal(submitted, [[fn, 10]]);
  const err = await rejection(loop.runUntilComplete(loop.runInExecutor(null, () => {
    throw new ValueError("custom failure");
  })));
  assert.instance(err, ValueError);
  assert.is(err.message, "custom failure");

  // An executor may also return a loop Future.
  const viaFuture: Executor = {
    submit(f: unknown, ...args: unknown[]) {
      const fut = loop.createFuture();
      loop.callSoon(() => fut.setResult((f as (...a: unknown[]) => unknown)(...args)));
      return fut;
    },
    shutdown() {},
  };
  assert.is(await loop.runUntilComplete(loop.runInExecutor(viaFuture, (s: string) => s.toUpperCase(), "ok")), "OK");

  await loop.runUntilComplete(loop.shutdownDefaultExecutor());
  assert.ok(shutdowns.length >= 1, "shutdown was called");
  assert.is(shutdowns[0], true, "shutdownDefaultExecutor waits for the executor");
});

withLoop("cancelling the Future of a queued job: the job never runs", async (loop) => {
  const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    const sab = new SharedArrayBuffer(32);
    const a = new Int32Array(sab);
    const first = loop.runInExecutor<[number, number]>(pool, sleeper, sab, 200);
    const queued = loop.runInExecutor<number>(pool, marker, sab, 4);
    const after = loop.runInExecutor<number>(pool, marker, sab, 5);
    assert.ok(queued.cancel(), "a pending future can be cancelled");
    assert.ok(queued.cancelled());
    await loop.runUntilComplete(first);
    assert.is(await loop.runUntilComplete(after), 5, "the next queued job still runs");
    // Give a wrongly dispatched job time to run.
    await new Promise((r) => setTimeout(r, 50));
    assert.is(Atomics.load(a, 5), 1);
    assert.is(Atomics.load(a, 4), 0, "the cancelled job never ran");
    assert.is(Atomics.load(a, 2), 1, "the first job ran once");
  } finally {
    await pool.shutdown(true);
  }
});

withLoop("cancelling the Future of a running job cancels the Future; the job finishes", async (loop) => {
  const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    const sab = new SharedArrayBuffer(16);
    const a = new Int32Array(sab);
    const running = loop.runInExecutor(pool, sleeper, sab, 100);
    // Wait until the worker has started it.
    const deadline = Date.now() + 10_000;
    while (Atomics.load(a, 0) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    assert.is(Atomics.load(a, 0), 1, "the job started");
    assert.ok(running.cancel());
    assert.ok(running.cancelled());
    await pool.shutdown(true);
    assert.is(Atomics.load(a, 2), 1, "the job still ran to its end");
  } finally {
    await pool.shutdown(true);
  }
});

withLoop("after shutdownDefaultExecutor(), runInExecutor(null, ...) throws RuntimeError", async (loop) => {
  assert.is(await loop.runUntilComplete(loop.runInExecutor(null, () => 1)), 1);
  await loop.runUntilComplete(loop.shutdownDefaultExecutor());
  assert.throws(() => loop.runInExecutor(null, () => 2), isA(RuntimeError));
  // An explicit executor is still accepted.
  const pool = new ThreadPoolExecutor({ maxWorkers: 1 });
  try {
    assert.is(await loop.runUntilComplete(loop.runInExecutor(pool, () => 3)), 3);
  } finally {
    await pool.shutdown();
  }
});

withLoop("shutdownDefaultExecutor() with no default executor yet resolves, and later calls throw", async (loop) => {
  await loop.runUntilComplete(loop.shutdownDefaultExecutor());
  assert.throws(() => loop.runInExecutor(null, () => 2), isA(RuntimeError));
});

withLoop("shutdownDefaultExecutor() waits for running jobs", async (loop) => {
  const job = loop.runInExecutor<number>(null, busy, 150);
  const t0 = loop.time();
  await loop.runUntilComplete(loop.shutdownDefaultExecutor());
  const elapsed = loop.time() - t0;
  assert.ok(elapsed >= 0.1, `waited ${elapsed} s`);
  assert.ok(job.done(), "the job finished before the shutdown resolved");
  assert.is(job.result(), 150);
});

withLoop("shutdownDefaultExecutor(timeout) with a long job warns and resolves after the timeout", async (loop) => {
  const warnings: string[] = [];
  setLogger({ debug() {}, info() {}, warning: (m) => void warnings.push(m), error() {} });
  try {
    const job = loop.runInExecutor<number>(null, busy, 600);
    // Let the worker start the job.
    await loop.runUntilComplete(sleep(0.02, undefined, { loop }));
    const t0 = loop.time();
    await loop.runUntilComplete(loop.shutdownDefaultExecutor(0.1));
    const elapsed = loop.time() - t0;
    assert.ok(elapsed >= 0.09, `resolved after ${elapsed} s`);
    assert.ok(elapsed < 1.2, `did not wait for the job: ${elapsed} s`);
    assert.is(warnings.length, 1, `warnings: ${JSON.stringify(warnings)}`);
    assert.match(warnings[0], /0\.1 seconds/);
    assert.not.ok(job.done(), "the long job is still running");
    assert.throws(() => loop.runInExecutor(null, () => 1), isA(RuntimeError));
    // The job's future still gets its result.
    assert.is(await loop.runUntilComplete(job), 600);
  } finally {
    setLogger(null);
  }
});

test("a job that finishes after loop.close() is dropped quietly (no unhandled error)", async () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => void unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  process.on("uncaughtException", onUnhandled);
  try {
    const loop = newEventLoop();
    const job = loop.runInExecutor<number>(null, busy, 100);
    await new Promise((r) => setTimeout(r, 20));
    loop.close();
    await new Promise((r) => setTimeout(r, 300));
    void job;
    assert.equal(unhandled.map(String), [], "nothing escaped to the host");
  } finally {
    process.off("unhandledRejection", onUnhandled);
    process.off("uncaughtException", onUnhandled);
  }
});

withLoop("shutdownDefaultExecutor rejects a timeout that is not a number", (loop) => {
  assert.throws(() => loop.shutdownDefaultExecutor("1" as unknown as number), isA(TypeError));
  assert.throws(() => loop.shutdownDefaultExecutor(NaN), isA(ValueError));
});

test("loop.close() releases the default executor's workers (this file ends)", async () => {
  const loop = newEventLoop();
  const results = await loop.runUntilComplete(async () => {
    const l = loop;
    return await Promise.all([1, 2, 3].map((x) => l.runInExecutor<number>(null, (y: number) => y * y, x)));
  });
  assert.equal(results, [1, 4, 9]);
  loop.close();
  assert.ok(loop.isClosed());
  assert.throws(() => loop.runInExecutor(null, () => 1), isA(RuntimeError));
});

test.run();
