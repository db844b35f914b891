/** asyncio.run and Runner, and the few high-level helpers the core needs (sleep, ensureFuture). */

import { RuntimeError } from "./errors.ts";
import { Future } from "./futures.ts";
import { checkOptionsObject, type CoroutineFunction, Task } from "./tasks.ts";
import { checkAwaitable, type Coroutine } from "./coroutines.ts";
import { ensureFutureOn, type BaseEventLoop } from "./base_events.ts";
import { getEventLoop, newEventLoop, setEventLoop } from "./events.ts";
import { _getRunningLoop } from "./running.ts";
import type { EventLoop } from "./unix_events.ts";

/**
 * Run `main` on a new loop and return its result (asyncio's `run`): `main`
 * is a coroutine function (called once the loop runs), a coroutine or a
 * Future. Afterwards the leftover tasks are cancelled and awaited, the
 * default executor is shut down, and the loop is closed.
 *
 * @example
 * ```ts
 * import { run, sleep } from "tsyncio";
 * const answer = await run(async () => {
 *   await sleep(0.01);
 *   return 42;
 * });
 * ```
 */
export async function run<T>(main: Coroutine<T> | CoroutineFunction<T> | Future<T>, options: { debug?: boolean } = {}): Promise<T> {
  if (_getRunningLoop() !== null) throw new RuntimeError("run() cannot be called from a running event loop");
  const runner = new Runner({ debug: options.debug });
  try {
    return await runner.run(main);
  } finally {
    await runner.close();
  }
}

/** The options of {@link Runner}. */
export interface RunnerOptions {
  /** Turn the loop's debug mode on or off (default: leave it as the loop has it). */
  debug?: boolean;
  /** Make the loop (default `newEventLoop`, which also becomes the current loop). */
  loopFactory?: () => EventLoop;
}

const CREATED = 0;
const INITIALIZED = 1;
const CLOSED = 2;

/**
 * Runs several top-level coroutines on one loop (asyncio's `Runner`): the
 * loop is made on first use, and `close()` cancels what is left, shuts the
 * default executor down and closes the loop. `await using` closes it too.
 *
 * @example
 * ```ts
 * import { Runner, sleep } from "tsyncio";
 * await using runner = new Runner();
 * console.log(await runner.run(async () => { await sleep(0.01); return 1; }));
 * console.log(await runner.run(async () => 2)); // same loop
 * ```
 */
export class Runner {
  #state = CREATED;
  #debug: boolean | undefined;
  #loopFactory: (() => EventLoop) | undefined;
  #loop: EventLoop | null = null;
  #setEventLoop = false;

  /** Makes no loop yet: the first `run()` or `getLoop()` does, with `options.loopFactory`. */
  constructor(options: RunnerOptions = {}) {
    checkOptionsObject(options, "Runner");
    if (options.loopFactory !== undefined && typeof options.loopFactory !== "function") {
      throw new TypeError("Runner: loopFactory must be a function");
    }
    this.#debug = options.debug;
    this.#loopFactory = options.loopFactory;
  }

  /**
   * Run `main` (a coroutine function, a coroutine or a Future) on the
   * runner's loop until it is done; resolves with its result.
   */
  run<T>(main: Coroutine<T> | CoroutineFunction<T> | Future<T>, options: { context?: unknown } = {}): Promise<T> {
    if (_getRunningLoop() !== null) {
      return Promise.reject(new RuntimeError("Runner.run() cannot be called from a running event loop"));
    }
    let loop: EventLoop;
    let task: Future<T>;
    try {
      checkOptionsObject(options, "Runner.run()");
      checkAwaitable(main, "Runner.run()");
      loop = this.getLoop();
      task = main instanceof Future ? ensureFutureOn(main, loop) : loop.createTask(main, { context: options.context });
    } catch (e) {
      return Promise.reject(e);
    }
    return loop.runUntilComplete(task);
  }

  /** The runner's loop, made on first use; RuntimeError once closed. */
  getLoop(): EventLoop {
    if (this.#state === CLOSED) throw new RuntimeError("Runner is closed");
    if (this.#state === CREATED) {
      if (this.#loopFactory === undefined) {
        this.#loop = newEventLoop();
        if (!this.#setEventLoop) {
          setEventLoop(this.#loop);
          this.#setEventLoop = true;
        }
      } else {
        this.#loop = this.#loopFactory();
      }
      if (this.#debug !== undefined) this.#loop.setDebug(this.#debug);
      this.#state = INITIALIZED;
    }
    return this.#loop!;
  }

  /**
   * Cancel the tasks left on the loop and wait for them, shut the default
   * executor down, close the loop. Runs the loop to do so, hence a promise.
   */
  async close(): Promise<void> {
    if (this.#state !== INITIALIZED) return;
    const loop = this.#loop!;
    try {
      await cancelAllTasks(loop);
      await loop.runUntilComplete(loop.shutdownAsyncgens());
      await loop.runUntilComplete(loop.shutdownDefaultExecutor(300));
    } finally {
      if (this.#setEventLoop) setEventLoop(null);
      loop.close();
      this.#loop = null;
      this.#state = CLOSED;
    }
  }

  /** `await using runner = new Runner()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

async function cancelAllTasks(loop: EventLoop): Promise<void> {
  const pending: Task<unknown>[] = [];
  for (const ref of loop._tasks) {
    const t = ref.deref();
    if (t && !t.done()) pending.push(t);
  }
  if (pending.length === 0) return;
  for (const t of pending) t.cancel();
  const all = new Future<void>({ loop });
  let left = pending.length;
  for (const t of pending) {
    t.addDoneCallback(() => {
      if (--left === 0) all.setResult(undefined);
    });
  }
  await loop.runUntilComplete(all);
  for (const t of pending) {
    if (t.cancelled()) continue;
    const exc = t.exception();
    if (exc !== null) {
      loop.callExceptionHandler({ message: "unhandled exception during run() shutdown", exception: exc, task: t });
    }
  }
}

/**
 * A Future resolved with `result` after `delay` seconds (asyncio's `sleep`):
 * `await sleep(1)` or `yield* sleep(1)`. Cancelling it cancels the timer.
 *
 * @param options.loop the loop whose clock counts (default: `getEventLoop()`)
 * @example
 * ```ts
 * import { run, sleep } from "tsyncio";
 * await run(async () => {
 *   console.log(await sleep(0.01, "late")); // "late"
 *   await sleep(0.01); // resolves with undefined
 * });
 * ```
 */
export function sleep<T = undefined>(delay: number, result?: T, options: { loop?: BaseEventLoop } = {}): Future<T> {
  const loop = (options.loop ?? getEventLoop()) as BaseEventLoop;
  const fut = new SleepFuture<T>({ loop });
  // sleep(0) only lets the other ready callbacks run first (asyncio yields
  // once): the ready queue does that without a trip through the timer heap.
  fut._handle = typeof delay === "number" && delay <= 0
    ? loop.callSoon(settleSleep, fut, result)
    : loop.callLater(delay, settleSleep, fut, result);
  return fut;
}

/**
 * The future of a `sleep()`: cancelling it cancels its timer. (A done
 * callback would do the same at the cost of a closure and a scheduled
 * callback for every sleep, needed only for the few that are cancelled.)
 */
class SleepFuture<T> extends Future<T> {
  _handle: { cancel(): void } | null = null;

  override cancel(msg?: string): boolean {
    if (!super.cancel(msg)) return false;
    this._handle?.cancel();
    this._handle = null;
    return true;
  }
}

function settleSleep<T>(fut: SleepFuture<T>, result: T): void {
  fut._handle = null;
  if (!fut.done()) fut.setResult(result);
}

/**
 * A Future for `obj` (asyncio's `ensure_future`): itself if it is one,
 * otherwise a Task running the coroutine or coroutine function, so code
 * that accepts either can cancel and add callbacks uniformly.
 *
 * @param options.loop the loop to run a new task on, which a given Future must belong to (default: `getEventLoop()`)
 * @example
 * ```ts
 * import { ensureFuture, run, sleep } from "tsyncio";
 * await run(async () => {
 *   const task = ensureFuture(async () => { await sleep(0.01); return "done"; });
 *   task.addDoneCallback((f) => console.log("finished:", f.result()));
 *   console.log(await task); // "done"
 *   console.log(ensureFuture(task) === task); // true: a Future is returned as is
 * });
 * ```
 */
export function ensureFuture<T>(obj: Future<T> | Coroutine<T> | CoroutineFunction<T>, options: { loop?: BaseEventLoop } = {}): Future<T> {
  if (obj instanceof Future && options.loop === undefined) return obj;
  return ensureFutureOn(obj, (options.loop ?? getEventLoop()) as BaseEventLoop);
}
