/**
 * ThreadPoolExecutor: runs functions on a pool of worker threads
 * (the counterpart of `concurrent.futures.ThreadPoolExecutor`).
 *
 * JavaScript threads share no memory with the caller, so a function is sent
 * as source and must be self-contained (it may `await import(...)`), or be
 * named as `{ module, name }`: an exported function of a module the worker
 * imports. Arguments and results travel by structured clone.
 */

import { native } from "./native.ts";
import { CancelledError, RuntimeError, ValueError } from "./errors.ts";
import type { Future } from "./futures.ts";
import type { HostWorker } from "../ffi/types.ts";
import { formatValue } from "./format.ts";

/**
 * Anything with `submit` and `shutdown` can serve as an executor for
 * `runInExecutor` (asyncio takes any `concurrent.futures.Executor`).
 */
export interface Executor {
  /**
   * Start `fn(...args)` somewhere off the loop; the result settles with its
   * outcome. When it also has `cancel()` (as {@linkcode WorkPromise}),
   * cancelling the loop's Future calls it.
   */
  submit(fn: unknown, ...args: unknown[]): PromiseLike<unknown> | Future<unknown>;
  /**
   * Accept no more work. With `wait`, the result (awaited if it is a
   * promise) settles once the submitted work has finished.
   */
  shutdown(wait?: boolean): unknown;
}

/** A submitted call: a promise of its result that can be cancelled before it starts. */
export interface WorkPromise<T> extends Promise<T> {
  /** Cancel the call if no worker has started it; returns whether it was cancelled. */
  cancel(): boolean;
}

/** A function reference the worker imports: `{ module: "file:///.../mod.js", name: "work" }`. */
export interface ModuleFunction {
  /** The module the worker imports: an absolute URL (`new URL("./work.ts", import.meta.url)`), not a relative path. */
  module: URL | string;
  /** The name of the module's exported function. */
  name: string;
}

// The worker's side. `hostPost`/`hostOnMessage` come from the runtime adapter.
const workerSource = `
const cache = new Map();
async function resolve(m) {
  if (m.src === undefined) {
    const mod = await import(m.module);
    const f = mod[m.name];
    if (typeof f !== "function") throw new TypeError(m.module + " has no exported function " + JSON.stringify(m.name));
    return f;
  }
  let f = cache.get(m.src);
  if (f === undefined) {
    try { f = (0, eval)("(" + m.src + ")"); }
    catch (e) {
      // A method written as "name(...) { ... }" is valid inside an object literal.
      if (!(e instanceof SyntaxError)) throw e;
      f = Object.values((0, eval)("({" + m.src + "})"))[0];
    }
    if (typeof f !== "function") throw new TypeError("the submitted source is not a function");
    cache.set(m.src, f);
  }
  return f;
}
function errorOf(e) {
  if (e instanceof Error) return { name: e.name, message: e.message, stack: e.stack, errno: e.errno, code: e.code };
  return { name: "Error", message: "a non-Error value was thrown: " + String(e) };
}
hostOnMessage(async (m) => {
  let reply;
  try {
    const f = await resolve(m);
    reply = { id: m.id, ok: true, value: await f(...m.args) };
  } catch (e) {
    reply = { id: m.id, ok: false, error: errorOf(e) };
  }
  try { hostPost(reply); }
  catch (e) { hostPost({ id: m.id, ok: false, error: errorOf(new TypeError("the result cannot be sent back from the worker: " + e.message)) }); }
});
`;

const builtinErrors: Record<string, ErrorConstructor> = {
  TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError,
};

function rebuildError(e: { name: string; message: string; stack?: string; errno?: number; code?: string }): Error {
  const Ctor = builtinErrors[e.name] ?? Error;
  const err = new Ctor(e.message);
  if (!(e.name in builtinErrors)) err.name = e.name;
  if (e.stack) err.stack = e.stack;
  if (e.errno !== undefined) Object.assign(err, { errno: e.errno, code: e.code });
  return err;
}

interface Job {
  id: number;
  msg: Record<string, unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  started: boolean;
  cancelled: boolean;
}

interface PoolWorker {
  host: HostWorker;
  job: Job | null;
}

let nextId = 1;

/**
 * A pool of worker threads (`concurrent.futures.ThreadPoolExecutor`), the
 * default executor of `runInExecutor(null, ...)`. Workers start on demand,
 * up to `maxWorkers`, and do not keep the process alive while idle.
 *
 * @example
 * ```ts
 * import { newEventLoop, ThreadPoolExecutor } from "tsyncio";
 *
 * const loop = newEventLoop();
 * const pool = new ThreadPoolExecutor({ maxWorkers: 2 });
 * // The function travels as source: it may not use this module's variables.
 * const sum = await loop.runUntilComplete(loop.runInExecutor<number>(pool, (n: number) => {
 *   let s = 0;
 *   for (let i = 0; i < n; i++) s += Math.sqrt(i);
 *   return s;
 * }, 1e8)); // the loop keeps running callbacks meanwhile
 * console.log(sum);
 * await pool.shutdown();
 * loop.close();
 * ```
 */
export class ThreadPoolExecutor implements Executor {
  /** The most worker threads the pool runs at once. */
  readonly maxWorkers: number;
  #workers: PoolWorker[] = [];
  #queue: Job[] = [];
  #shutdown = false;
  #drained: (() => void)[] = [];

  /** A pool of up to `options.maxWorkers` threads (default: CPU count + 4, at most 32, as Python). */
  constructor(options: { maxWorkers?: number } = {}) {
    const max = options.maxWorkers ?? Math.min(32, native.cpuCount() + 4);
    if (!Number.isInteger(max) || max <= 0) throw new ValueError("maxWorkers must be a positive integer");
    this.maxWorkers = max;
  }

  /** Run `fn(...args)` on a worker; the promise settles with its result. */
  submit<T = unknown>(fn: unknown, ...args: unknown[]): WorkPromise<T> {
    if (this.#shutdown) throw new RuntimeError("cannot schedule new futures after shutdown");
    const msg = describeFunction(fn);
    msg.args = args;
    let job!: Job;
    const p = new Promise<T>((resolve, reject) => {
      job = { id: nextId++, msg, resolve: resolve as (v: unknown) => void, reject, started: false, cancelled: false };
    }) as WorkPromise<T>;
    p.cancel = () => {
      if (job.started || job.cancelled) return false;
      job.cancelled = true;
      const i = this.#queue.indexOf(job);
      if (i >= 0) this.#queue.splice(i, 1);
      job.reject(new CancelledError());
      this.#checkDrained();
      return true;
    };
    this.#queue.push(job);
    this.#dispatch();
    return p;
  }

  /**
   * No new work is accepted. `wait` (default true): the returned promise
   * settles when every submitted call has finished and the workers are gone;
   * otherwise idle workers stop now and busy ones after their current call.
   */
  shutdown(wait = true): Promise<void> {
    this.#shutdown = true;
    for (const w of this.#workers) if (w.job === null) w.host.terminate();
    this.#workers = this.#workers.filter((w) => w.job !== null);
    const done = new Promise<void>((resolve) => this.#drained.push(resolve));
    this.#checkDrained();
    return wait ? done : Promise.resolve();
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let w = this.#workers.find((x) => x.job === null);
      if (!w) {
        if (this.#workers.length >= this.maxWorkers) return;
        w = this.#spawn();
      }
      const job = this.#queue.shift()!;
      job.started = true;
      w.job = job;
      w.host.ref(true);
      job.msg.id = job.id;
      try {
        w.host.postMessage(job.msg);
      } catch (e) {
        w.job = null;
        w.host.ref(false);
        job.reject(new TypeError(`the arguments cannot be sent to a worker: ${(e as Error).message}`));
      }
    }
  }

  #spawn(): PoolWorker {
    const w: PoolWorker = { host: null as unknown as HostWorker, job: null };
    w.host = native.startWorker(workerSource, (m) => this.#onMessage(w, m as Reply), (e) => this.#onError(w, e));
    this.#workers.push(w);
    return w;
  }

  #onMessage(w: PoolWorker, m: Reply): void {
    const job = w.job;
    if (!job || job.id !== m.id) return;
    w.job = null;
    if (m.ok) job.resolve(m.value);
    else job.reject(rebuildError(m.error!));
    this.#idle(w);
  }

  #onError(w: PoolWorker, e: unknown): void {
    // The worker died: fail its call and replace it on demand.
    const job = w.job;
    w.job = null;
    w.host.terminate();
    this.#workers = this.#workers.filter((x) => x !== w);
    job?.reject(new RuntimeError(`a worker thread died: ${e instanceof Error ? e.message : String(e)}`));
    this.#dispatch();
    this.#checkDrained();
  }

  #idle(w: PoolWorker): void {
    w.host.ref(false);
    if (this.#shutdown && this.#queue.length === 0) {
      w.host.terminate();
      this.#workers = this.#workers.filter((x) => x !== w);
    } else {
      this.#dispatch();
    }
    this.#checkDrained();
  }

  #checkDrained(): void {
    if (!this.#shutdown || this.#queue.length > 0 || this.#workers.some((w) => w.job !== null)) return;
    for (const w of this.#workers) w.host.terminate();
    this.#workers = [];
    const waiters = this.#drained;
    this.#drained = [];
    for (const f of waiters) f();
  }
}

interface Reply {
  id: number;
  ok: boolean;
  value?: unknown;
  error?: { name: string; message: string; stack?: string };
}

function describeFunction(fn: unknown): Record<string, unknown> {
  if (typeof fn === "function") {
    const src = Function.prototype.toString.call(fn);
    if (src.includes("[native code]")) {
      throw new TypeError(
        `${fn.name || "this function"} cannot run in a worker: it is native or bound. ` +
          "Pass a self-contained function, or { module, name } naming an exported one",
      );
    }
    return { src };
  }
  if (typeof fn === "object" && fn !== null && "module" in fn && "name" in fn) {
    const m = fn as ModuleFunction;
    if (typeof m.name !== "string") throw new TypeError("{ module, name }: name must be a string");
    return { module: String(m.module), name: m.name };
  }
  throw new TypeError(`a function or { module, name } was expected, got ${formatValue(fn)}`);
}

/** A loop Future mirroring an executor's result; cancelling it cancels the call if it has not started. */
export function wrapExecutorResult<T>(result: PromiseLike<unknown> | Future<unknown>, fut: Future<T>): Future<T> {
  // A call may finish after its loop was closed: then nobody can be told (as asyncio).
  (result as PromiseLike<unknown>).then((v) => {
    if (!fut.done() && !fut.getLoop().isClosed()) fut.setResult(v as T);
  }, (e) => {
    if (fut.done() || fut.getLoop().isClosed()) return;
    if (e instanceof CancelledError) fut.cancel();
    else fut.setException(e ?? new RuntimeError("executor call failed"));
  });
  const cancel = (result as { cancel?: () => unknown }).cancel;
  if (typeof cancel === "function") {
    fut.addDoneCallback((f) => {
      if (f.cancelled()) cancel.call(result);
    });
  }
  return fut;
}
