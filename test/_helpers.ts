/** Shared test helpers: descriptor counting, GC, the selectors to cover. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { allTasks, EventLoop, type EventLoopOptions, newEventLoop, sleep } from "../mod.ts";
import { C, libc, native } from "../src/native.ts";

/** Every selector this OS has. */
export const SELECTORS: ("epoll" | "poll")[] = libc.epoll_create1 ? ["epoll", "poll"] : ["poll"];

const F_GETFD = 1;

/**
 * The open descriptors of this process that are not regular files, found
 * with fcntl/fstat (the set /proc/self/fd lists, without needing read access
 * to /proc on Deno). Regular files are left out: hosts open and close their
 * own caches at any time (Deno's code cache), and the library opens none.
 */
export function openFds(limit = 4096): number[] {
  const out: number[] = [];
  const st = new Uint8Array(new ArrayBuffer(C.STAT_SIZE));
  const view = new DataView(st.buffer);
  for (let fd = 0; fd < limit; fd++) {
    if (libc.fcntl(fd, F_GETFD, 0) < 0) continue;
    if (libc.fstat(fd, st) === 0) {
      const type = view.getUint32(C.STAT_MODE_OFFSET, true) & C.S_IFMT;
      if (type === C.S_IFREG) continue;
      // Deno sometimes opens a socket pair of its own in the middle of a run
      // (not through tsyncio's FFI calls); socket leaks are still caught on
      // Node and Bun.
      if (type === C.S_IFSOCK && native.runtime === "deno") continue;
    }
    out.push(fd);
  }
  return out;
}

/** Force a garbage collection (all three runtimes are started with GC exposed). */
export function gc(): void {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (typeof g.Bun?.gc === "function") g.Bun.gc(true);
  else if (typeof g.gc === "function") g.gc();
  else throw new Error("run with --expose-gc");
}

/** A macrotask hop (lets host timers, I/O and finalizers run). */
export function tick(ms = 0): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Run `fn` with a fresh loop, closing it afterwards. */
export async function withLoop<T>(fn: (loop: EventLoop) => T | Promise<T>, options?: EventLoopOptions): Promise<T> {
  const loop = newEventLoop(options);
  try {
    return await fn(loop);
  } finally {
    if (loop.isRunning()) loop.stop();
    else loop.close();
  }
}

/** Capture what the loop's exception handler receives. */
export function captureExceptions(loop: EventLoop): Record<string, unknown>[] {
  const seen: Record<string, unknown>[] = [];
  loop.setExceptionHandler((_l, ctx) => void seen.push(ctx));
  return seen;
}

/** A uvu `throws` predicate: the error is an instance of `cls` (and matches `re`). */
// deno-lint-ignore no-explicit-any
export function isA(cls: new (...a: any[]) => Error, re?: RegExp | string): (e: Error) => boolean {
  return (e: Error) => e instanceof cls && (re === undefined || new RegExp(re).test(e.message));
}

/**
 * The open descriptors once the host's own lazily opened ones exist: parks
 * an idle loop once (Bun starts its poll worker then) and waits a moment;
 * with `expected`, waits for the descriptors to settle back to that set.
 */
export async function settledFds(expected?: number[]): Promise<number[]> {
  if (!warmedUp) {
    warmedUp = true;
    const loop = newEventLoop();
    const fds = new Int32Array(new ArrayBuffer(8));
    libc.pipe(new Uint8Array(fds.buffer));
    loop.addReader(fds[0], () => {});
    loop.callLater(0.005, () => loop.stop());
    await loop.runForever();
    loop.removeReader(fds[0]);
    // A name lookup starts the host's blocking-call machinery (Bun's worker opens descriptors).
    await loop.runUntilComplete(loop.getaddrinfo("localhost", 80));
    loop.close();
    libc.close(fds[0]);
    libc.close(fds[1]);
  }
  // A parked poll thread closes its wake-up descriptor when it returns, and a
  // host worker releases its own descriptors when it has stopped: under load
  // that takes a while. Given the set to expect, wait (up to 5 s) for it.
  await tick(20);
  let fds = openFds();
  for (let i = 0; expected !== undefined && i < 250 && JSON.stringify(fds) !== JSON.stringify(expected); i++) {
    await tick(20);
    fds = openFds();
  }
  return fds;
}
let warmedUp = false;

/**
 * A test body run once per selector with a fresh loop, which is closed
 * afterwards, and a check that no descriptor leaked.
 */
export function loopTestsEachSelector(
  register: (name: string, fn: () => Promise<void>) => void,
): (name: string, fn: (loop: EventLoop) => Promise<void>) => void {
  return (name, fn) => {
    for (const selector of SELECTORS) {
      register(`[${selector}] ${name}`, async () => {
        const before = await settledFds();
        const loop = newEventLoop({ selector });
        try {
          await fn(loop);
        } finally {
          loop.close();
        }
        const after = await settledFds(before);
        if (JSON.stringify(after) !== JSON.stringify(before)) {
          throw new Error(`descriptors leaked: before ${before}, after ${after}`);
        }
      });
    }
  };
}

// ---- Tests of tasks and the high-level API ----

/** No task of `loop` left pending and no timer left armed (call while the loop is open). */
export function assertClean(loop: EventLoop): void {
  assert.equal([...allTasks(loop)].map(String), [], "a task was left pending");
  assert.equal(loop._scheduled.filter((h) => !h.cancelled()).map(String), [], "a timer was left armed");
}

/** What {@link loopTest} checks around a test. */
export interface LoopTestOptions {
  /** Check with {@link assertClean} that the test left nothing pending. */
  clean?: boolean;
  /** Run the test's body as the loop's main task (so it may use timeout(), taskGroup(), ...). */
  inTask?: boolean;
}

/**
 * A test with a fresh loop, closed afterwards. A lost wake-up would hang the
 * whole file: after 10 s the loop is stopped, which fails the test instead.
 */
export function loopTest(name: string, fn: (loop: EventLoop) => Promise<void> | void, options: LoopTestOptions = {}): void {
  test(name, async () => {
    const loop = newEventLoop();
    const guard = setTimeout(() => loop.stop(), 10_000);
    try {
      if (options.inTask) await loop.runUntilComplete(async () => await fn(loop));
      else await fn(loop);
      if (options.clean) assertClean(loop);
    } finally {
      clearTimeout(guard);
      if (!loop.isRunning()) loop.close();
    }
  });
}

/** A foreign promise: resolved by a host timer after `ms` milliseconds. */
export function later(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Let the loop run `n` iterations' worth of callbacks (and the promise continuations between them). */
export async function spin(loop: EventLoop, n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0, undefined, { loop });
}

/** The error `p` rejects with, or a failure if it fulfils. */
export async function rejection(p: PromiseLike<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new assert.Assertion({ message: "expected a rejection", generated: false, operator: "rejects", expects: undefined, actual: undefined });
}

/**
 * Await `p`, which must reject with an instance of `cls`; a string `message`
 * must equal the error's message, a RegExp match it. Returns the error.
 */
// deno-lint-ignore no-explicit-any
export async function rejects<E extends Error>(p: PromiseLike<unknown>, cls: new (...a: any[]) => E, message?: string | RegExp): Promise<E> {
  const e = await rejection(p);
  assert.instance(e, cls);
  if (typeof message === "string") assert.is((e as Error).message, message);
  else if (message !== undefined) assert.match((e as Error).message, message);
  return e as E;
}
