/**
 * BaseEventLoop: everything that does not depend on the I/O mechanism:
 * the ready queue, the timer heap, one iteration (asyncio's `_run_once`),
 * running and stopping, the exception handler, tasks and the executor.
 *
 * How the loop shares the JavaScript thread (DESIGN.md "The loop"): a run is
 * a chain of slices. A slice runs iterations back to back while callbacks are
 * ready, for at most about a millisecond, then gives the thread back with a
 * macrotask hop so promise continuations, host timers and host I/O run. When
 * nothing is ready the loop goes idle: it arms a host timer for the next
 * deadline and parks the selector, and returns. Anything that schedules work
 * meanwhile (`callSoon` from a host callback, a settled promise) wakes it
 * with a microtask, so waking costs no system call.
 */

import { native } from "./native.ts";
import { RuntimeError, ValueError } from "./errors.ts";
import { Handle, TimerHandle, type Callback } from "./handles.ts";
import { Future, taskContext } from "./futures.ts";
import { type CoroutineFunction, ensureFutureOn, Task, type TaskOptions } from "./tasks.ts";

export { ensureFutureOn };
import { type Coroutine, isCoroutine, isCoroutineFunction, isGeneratorCoroutine } from "./coroutines.ts";
import { _getRunningLoop, _setRunningLoop } from "./running.ts";
import { logger } from "./log.ts";
import { formatValue } from "./format.ts";
import { type Executor, ThreadPoolExecutor, wrapExecutorResult } from "./executor.ts";
import { C, libc } from "./native.ts";
import { heapPop, heapPush, heapify } from "./heap.ts";

/** asyncio's MAXIMUM_SELECT_TIMEOUT: never wait longer than a day at once. */
const MAXIMUM_SELECT_TIMEOUT = 24 * 3600;
/** Rebuild the timer heap when more than this many handles and half are cancelled. */
const MIN_SCHEDULED_TIMER_HANDLES = 100;
const MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5;
/** How long a slice may hold the thread before promise continuations get a turn. */
const SLICE_MS = 1;
/** How long (ms) to keep polling before parking while traffic flows. */
const SPIN_MS = 0.05;
/** A wait shorter than this (ms) means traffic is flowing. */
const IO_BUSY_MS = 0.5;
/** Microtask hops with no new continuation before a spin (see _probeHop). */
const PROBE_HOPS = 3;

/**
 * A loop's exception handler (asyncio's `loop.set_exception_handler`
 * handler): called with the loop and a context whose `message` says what
 * went wrong, plus keys such as `exception`, `future`, `task`, `handle`.
 */
export type ExceptionHandler = (loop: BaseEventLoop, context: Record<string, unknown>) => void;
/**
 * Makes the tasks of `loop.createTask` (asyncio's task factory): called as
 * `factory(loop, coro, options)`; `eagerTaskFactory` is one.
 */
export type TaskFactory = (loop: BaseEventLoop, coro: Coroutine | CoroutineFunction, options: TaskOptions) => Task<unknown>;

/** Seconds between CLOCK_MONOTONIC and the host's cheap monotonic clock. */
function clockOffset(): number {
  const ts = new BigInt64Array(2);
  const bytes = new Uint8Array(ts.buffer);
  const before = native.now();
  libc.clock_gettime(C.CLOCK_MONOTONIC, bytes);
  const after = native.now();
  const mono = Number(ts[0]) + Number(ts[1]) / 1e9;
  return mono - (before + after) / 2000;
}

/**
 * The part of the event loop that does not depend on the I/O mechanism
 * (asyncio's `BaseEventLoop`): callbacks, timers, running and stopping,
 * futures and tasks, the executor, the exception handler. Get a concrete
 * loop from `newEventLoop()`; this class is abstract.
 */
export abstract class BaseEventLoop {
  /** Callbacks taking longer than this (seconds) are logged in debug mode. */
  slowCallbackDuration = 0.1;

  /** @internal */ _ready: Handle[] = [];
  /** @internal */ _spare: Handle[] = [];
  /** @internal */ _scheduled: TimerHandle[] = [];
  /** @internal */ _timerCancelledCount = 0;
  /** @internal */ _stopping = false;
  /** @internal */ _closed = false;
  /** @internal */ _running = false;
  /** @internal */ _debug = false;
  /** @internal */ _exceptionHandler: ExceptionHandler | null = null;
  /** @internal */ _taskFactory: TaskFactory | null = null;
  /** @internal */ _tasks: Set<WeakRef<Task<unknown>>> = new Set();
  /** @internal */ _currentTask: Task<unknown> | null = null;
  /** @internal */ _defaultExecutor: Executor | null = null;
  /** @internal */ _executorShutdownCalled = false;
  /** @internal */ _clockOffset: number = clockOffset();
  /** @internal */ _clockResolution = 1e-9;

  // State of a run (see the module comment).
  /** @internal */ _waiting = false;
  /** @internal */ _wakeQueued = false;
  /** @internal */ _hostTimer: unknown = null;
  /** @internal when (host ms) the armed host timer fires */ _hostTimerAt = 0;
  /** @internal when (host ms) the loop last went idle */ _idleSince = 0;
  /** @internal the last wait was short: traffic is flowing */ _ioBusy = false;
  /** @internal ready descriptors were already queued for the next iteration */ _ioHarvested = false;
  /** @internal */ _sliceStart = 0;
  /** @internal */ _microtasks = false;
  /** @internal microtask hops still to make before the next spin (see _probeHop) */
  _spinProbe = 0;
  /** @internal the microtask queue was quiet since the last callbacks ran: the spin may start */
  _probed = false;
  /** @internal */ _runSettle: ((err?: unknown) => void) | null = null;
  /** @internal */ _releaseKeepAlive: (() => void) | null = null;

  // ---- I/O hooks, implemented by the selector loop ----
  /** @internal Queue the handles of ready descriptors without blocking. */
  protected abstract _processIo(): void;
  /** @internal Whether any descriptor is watched. */
  protected abstract _hasIo(): boolean;
  /** @internal Call `cb` once a descriptor may be ready. */
  protected abstract _parkIo(cb: () => void): void;
  /** @internal Stop waiting for descriptors (release: let the process exit). */
  protected abstract _unparkIo(release: boolean): void;
  /** @internal Free the I/O resources. */
  protected abstract _closeIo(): void;

  // ---- Time ----

  /** The loop's monotonic clock (CLOCK_MONOTONIC), in seconds. */
  time(): number {
    return native.now() / 1000 + this._clockOffset;
  }

  // ---- Scheduling callbacks ----

  /**
   * Schedule `callback(...args)` for the next iteration, in FIFO order
   * (asyncio's `loop.call_soon`).
   *
   * @returns a Handle whose `cancel()` drops the call
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   * const loop = newEventLoop();
   * loop.callSoon((name: string) => { console.log(`hello ${name}`); loop.stop(); }, "world");
   * await loop.runForever();
   * loop.close();
   * ```
   */
  callSoon(callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    this._checkCallback(callback, "callSoon");
    return this._callSoon(callback, args);
  }

  /**
   * Like `callSoon`, and safe from host callbacks and from code that runs
   * while the loop waits (it wakes the loop). JavaScript has no shared-memory
   * threads, so this is `callSoon` with the wake-up guaranteed.
   */
  callSoonThreadsafe(callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    this._checkCallback(callback, "callSoonThreadsafe");
    return this._callSoon(callback, args);
  }

  /**
   * Schedule `callback(...args)` after `delay` seconds on the loop's clock
   * (asyncio's `loop.call_later`).
   *
   * @returns a TimerHandle whose `cancel()` drops the call
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   * const loop = newEventLoop();
   * const start = loop.time();
   * loop.callLater(0.05, () => { console.log(loop.time() - start >= 0.05); loop.stop(); });
   * await loop.runForever();
   * loop.close();
   * ```
   */
  callLater(delay: number, callback: Callback, ...args: unknown[]): TimerHandle {
    checkTime(delay, "delay");
    this._checkClosed();
    this._checkCallback(callback, "callLater");
    return this._callAt(this.time() + delay, callback, args);
  }

  /**
   * Schedule `callback(...args)` at `when`, an absolute time on `loop.time()`'s
   * clock (asyncio's `loop.call_at`): deadlines computed once do not drift.
   *
   * @returns a TimerHandle whose `cancel()` drops the call
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   * const loop = newEventLoop();
   * const t0 = loop.time();
   * for (let i = 1; i <= 3; i++) loop.callAt(t0 + i * 0.01, () => console.log(`tick ${i}`));
   * loop.callAt(t0 + 0.04, () => loop.stop());
   * await loop.runForever();
   * loop.close();
   * ```
   */
  callAt(when: number, callback: Callback, ...args: unknown[]): TimerHandle {
    checkTime(when, "when");
    this._checkClosed();
    this._checkCallback(callback, "callAt");
    return this._callAt(when, callback, args);
  }

  /** @internal */
  _callSoon(callback: Callback, args: unknown[], context?: unknown): Handle {
    if (this._closed) throw new RuntimeError("Event loop is closed");
    const h = new Handle(callback, args, this, context);
    this._ready.push(h);
    if (this._waiting) this._wake();
    return h;
  }

  /** @internal queue an existing handle (a signal's, delivered again and again) and wake the loop */
  _addCallbackSignalsafe(handle: Handle): void {
    if (this._closed) return;
    this._ready.push(handle);
    if (this._waiting) this._wake();
  }

  /** @internal */
  _callAt(when: number, callback: Callback, args: unknown[], context?: unknown): TimerHandle {
    const h = new TimerHandle(when, callback, args, this, context);
    heapPush(this._scheduled, h);
    h._scheduled = true;
    // A new earliest deadline while idle: wake so the host timer is re-armed.
    if (this._waiting && this._scheduled[0] === h) this._wake();
    return h;
  }

  /** @internal */
  _timerHandleCancelled(h: TimerHandle): void {
    if (h._scheduled) this._timerCancelledCount++;
  }

  /** @internal a promise continuation became ready: let microtasks run soon */
  _microtaskReady(): void {
    this._microtasks = true;
    if (this._waiting) this._wake();
  }

  // ---- Lifecycle ----

  /**
   * Run until `stop()` is called (asyncio's `loop.run_forever`). Returns a
   * promise, as the thread cannot block; throws RuntimeError at once if the
   * loop is closed or a loop is running.
   *
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   * const loop = newEventLoop();
   * loop.callLater(0.01, () => loop.stop());
   * await loop.runForever(); // resolves after the iteration that called stop()
   * loop.close();
   * ```
   */
  runForever(): Promise<void> {
    this._checkClosed();
    this._checkRunning();
    this._running = true;
    _setRunningLoop(this);
    this._releaseKeepAlive = native.keepAlive();
    return new Promise<void>((resolve, reject) => {
      this._runSettle = (err?: unknown) => (err === undefined ? resolve() : reject(err));
      this._sliceStart = native.now();
      queueMicrotask(this._slice);
    });
  }

  /**
   * Run until `future` (a Future, a promise or a generator coroutine) is
   * done (asyncio's `loop.run_until_complete`); resolves with its result or
   * rejects with its exception. A function (`async () => ...` or
   * `function*`) is called once the loop is running.
   *
   * @example
   * ```ts
   * import { newEventLoop, sleep } from "tsyncio";
   * const loop = newEventLoop();
   * const n = await loop.runUntilComplete(async () => {
   *   await sleep(0.01);
   *   return 42;
   * });
   * console.log(n); // 42
   * loop.close();
   * ```
   */
  runUntilComplete<T>(future: Future<T> | Coroutine<T> | CoroutineFunction<T>): Promise<T> {
    this._checkClosed();
    this._checkRunning();
    const fut = ensureFutureOn(future, this);
    const done = () => this.stop();
    fut.addDoneCallback(done);
    return this.runForever().then(() => {
      fut.removeDoneCallback(done);
      if (!fut.done()) throw new RuntimeError("Event loop stopped before Future completed.");
      return fut.result();
    });
  }

  /** Stop after the current iteration. Before `runForever`, it runs one iteration. */
  stop(): void {
    this._stopping = true;
    if (this._waiting) this._wake();
  }

  /** Whether the loop is running now (asyncio's `loop.is_running`). */
  isRunning(): boolean {
    return this._running;
  }

  /** Whether `close()` was called (asyncio's `loop.is_closed`). */
  isClosed(): boolean {
    return this._closed;
  }

  /**
   * Close the loop: drop pending callbacks, shut the default executor down
   * without waiting, free the selector. Idempotent; RuntimeError while running.
   */
  close(): void {
    if (this._running) throw new RuntimeError("Cannot close a running event loop");
    if (this._closed) return;
    if (this._debug) logger.debug(`Close ${this}`);
    this._closed = true;
    this._ready.length = 0;
    this._scheduled.length = 0;
    this._timerCancelledCount = 0;
    this._executorShutdownCalled = true;
    const executor = this._defaultExecutor;
    this._defaultExecutor = null;
    if (executor) executor.shutdown(false);
    this._closeIo();
  }

  /**
   * JavaScript offers no hook to finalize async generators, so there is
   * nothing to close here; kept for asyncio compatibility.
   */
  shutdownAsyncgens(): Future<void> {
    const f = this.createFuture<void>();
    f.setResult(undefined);
    return f;
  }

  /**
   * Shut the default executor down and wait for its workers; after `timeout`
   * seconds, warn and stop waiting. Later `runInExecutor(null, ...)` calls
   * throw RuntimeError.
   */
  shutdownDefaultExecutor(timeout: number | null = null): Future<void> {
    if (timeout !== null) checkTime(timeout, "timeout");
    this._executorShutdownCalled = true;
    const fut = this.createFuture<void>();
    const executor = this._defaultExecutor;
    if (!executor) {
      fut.setResult(undefined);
      return fut;
    }
    let timer: TimerHandle | null = null;
    Promise.resolve(executor.shutdown(true)).then(() => {
      timer?.cancel();
      if (!fut.done()) fut.setResult(undefined);
    }, (e) => {
      timer?.cancel();
      if (!fut.done()) fut.setException(e);
    });
    if (timeout !== null) {
      timer = this.callLater(timeout, () => {
        if (fut.done()) return;
        logger.warning(`The executor did not finish joining its threads within ${timeout} seconds.`);
        executor.shutdown(false);
        fut.setResult(undefined);
      });
    }
    return fut;
  }

  // ---- Debugging ----

  /** Whether debug mode is on (asyncio's `loop.get_debug`). */
  getDebug(): boolean {
    return this._debug;
  }

  /**
   * Turn debug mode on or off (asyncio's `loop.set_debug`): it logs
   * callbacks slower than `slowCallbackDuration`, reports coroutines a
   * callback returned unawaited and tasks collected while still pending.
   */
  setDebug(enabled: boolean): void {
    this._debug = Boolean(enabled);
  }

  // ---- Futures and tasks ----

  /**
   * A new pending Future bound to this loop (asyncio's `loop.create_future`).
   *
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   * const loop = newEventLoop();
   * const fut = loop.createFuture<string>();
   * loop.callLater(0.01, () => fut.setResult("done"));
   * console.log(await loop.runUntilComplete(fut)); // "done"
   * loop.close();
   * ```
   */
  createFuture<T = unknown>(): Future<T> {
    return new Future<T>({ loop: this });
  }

  /**
   * Wrap a coroutine (or a coroutine function) in a Task scheduled on this
   * loop, or made by the task factory if one is set (asyncio's
   * `loop.create_task`).
   *
   * @example
   * ```ts
   * import { getRunningLoop, run, sleep } from "tsyncio";
   * await run(async () => {
   *   const loop = getRunningLoop();
   *   const task = loop.createTask(async () => { await sleep(0.01); return "ok"; }, { name: "worker" });
   *   console.log(task.getName(), await task); // worker ok
   * });
   * ```
   */
  createTask<T>(coro: Coroutine<T> | CoroutineFunction<T>, options: TaskOptions = {}): Task<T> {
    this._checkClosed();
    if (this._taskFactory === null) return new Task<T>(coro, { ...options, loop: this });
    return this._taskFactory(this, coro as Coroutine, options) as Task<T>;
  }

  /**
   * Set the factory `createTask` uses (null: plain `new Task`), asyncio's
   * `loop.set_task_factory`.
   */
  setTaskFactory(factory: TaskFactory | null): void {
    if (factory !== null && typeof factory !== "function") {
      throw new TypeError(`A callable object or null is expected, got ${formatValue(factory)}`);
    }
    this._taskFactory = factory;
  }

  /** The task factory, or null (asyncio's `loop.get_task_factory`). */
  getTaskFactory(): TaskFactory | null {
    return this._taskFactory;
  }

  // ---- Executor ----

  /**
   * Run `fn(...args)` in `executor` (null: the default pool of worker
   * threads), asyncio's `loop.run_in_executor`. `fn` must be self-contained,
   * as it is sent to the worker as source, or be `{ module, name }` naming an
   * exported function.
   *
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   * const loop = newEventLoop();
   * // Sent to a worker thread as source: it may not use this module's variables.
   * const sumTo = (n: number) => {
   *   let s = 0;
   *   for (let i = 1; i <= n; i++) s += i;
   *   return s;
   * };
   * console.log(await loop.runUntilComplete(loop.runInExecutor<number>(null, sumTo, 1e6)));
   * loop.close();
   * ```
   */
  runInExecutor<T>(executor: Executor | null, fn: unknown, ...args: unknown[]): Future<T> {
    this._checkClosed();
    if (executor === null || executor === undefined) {
      if (this._executorShutdownCalled) throw new RuntimeError("Executor shutdown has been called");
      executor = this._defaultExecutor ??= new ThreadPoolExecutor();
    }
    checkExecutor(executor);
    if (typeof fn !== "function" && !(typeof fn === "object" && fn !== null && "module" in fn && "name" in fn)) {
      throw new TypeError(`runInExecutor(): fn must be a function or { module, name }, got ${formatValue(fn)}`);
    }
    return wrapExecutorResult<T>(executor.submit(fn, ...args), this.createFuture<T>());
  }

  /** The executor `runInExecutor(null, ...)` uses (asyncio's `loop.set_default_executor`). */
  setDefaultExecutor(executor: Executor): void {
    checkExecutor(executor);
    this._defaultExecutor = executor;
  }

  // ---- Error handling ----

  /**
   * Set the handler of errors nobody else can catch: a callback that threw,
   * a future whose exception was never retrieved (asyncio's
   * `loop.set_exception_handler`). Null restores `defaultExceptionHandler`.
   *
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   * const loop = newEventLoop();
   * loop.setExceptionHandler((_loop, context) => {
   *   console.log("caught:", context.message, context.exception);
   * });
   * loop.callSoon(() => { throw new Error("boom"); });
   * loop.callSoon(() => loop.stop());
   * await loop.runForever();
   * loop.close();
   * ```
   */
  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== "function") {
      throw new TypeError(`A callable object or null is expected, got ${formatValue(handler)}`);
    }
    this._exceptionHandler = handler;
  }

  /** The handler set by `setExceptionHandler`, or null (asyncio's `loop.get_exception_handler`). */
  getExceptionHandler(): ExceptionHandler | null {
    return this._exceptionHandler;
  }

  /**
   * The default handler: logs the message, the other context keys sorted,
   * and the exception with its stack.
   */
  defaultExceptionHandler(context: Record<string, unknown>): void {
    const message = (context.message as string) || "Unhandled exception in event loop";
    const lines = [message];
    for (const key of Object.keys(context).sort()) {
      if (key === "message" || key === "exception") continue;
      const v = context[key];
      lines.push(`${key}: ${typeof v === "object" && v !== null && !(v instanceof Error) ? describe(v) : String(v)}`);
    }
    logger.error(lines.join("\n"), context.exception);
  }

  /** Pass `context` to the exception handler (or the default one). */
  callExceptionHandler(context: Record<string, unknown>): void {
    if (this._exceptionHandler === null) {
      try {
        this.defaultExceptionHandler(context);
      } catch (e) {
        logger.error("Exception in default exception handler", e);
      }
      return;
    }
    try {
      this._exceptionHandler(this, context);
    } catch (exc) {
      try {
        this.defaultExceptionHandler({ message: "Unhandled error in exception handler", exception: exc, context });
      } catch (e) {
        logger.error("Exception in default exception handler while handling an unexpected error in custom exception handler", e);
      }
    }
  }

  /** A debugging description: class, running, closed, debug. */
  toString(): string {
    return `<${this.constructor.name} running=${this._running} closed=${this._closed} debug=${this._debug}>`;
  }

  // ---- Guards ----

  /** @internal */
  _checkClosed(): void {
    if (this._closed) throw new RuntimeError("Event loop is closed");
  }

  /** @internal */
  _checkRunning(): void {
    if (this._running) throw new RuntimeError("This event loop is already running");
    if (_getRunningLoop() !== null) {
      throw new RuntimeError("Cannot run the event loop while another loop is running");
    }
  }

  /** @internal */
  _checkCallback(callback: unknown, method: string): void {
    if (typeof callback !== "function") {
      throw new TypeError(`a callable object was expected by ${method}(), got ${formatValue(callback)}`);
    }
    if (isCoroutineFunction(callback)) {
      throw new TypeError(`coroutines cannot be used with ${method}(): wrap it, e.g. () => loop.createTask(fn())`);
    }
  }

  // ---- The run machinery (see the module comment) ----

  /** @internal one slice of a run; an internal failure ends the run with it */
  _slice = (): void => {
    // Callbacks run outside every task's context: a slice may have been
    // started from a task's continuation (a wake-up), whose context the host
    // carried into it.
    const ctx = taskContext.current;
    if (ctx !== null && ctx.getStore() !== undefined) {
      ctx.run(undefined, this._slice);
      return;
    }
    try {
      this._sliceBody();
    } catch (e) {
      this._finishRun(e);
    }
  };

  /** @internal */
  _sliceBody(): void {
    let n = 0;
    for (;;) {
      this._runOnce();
      if (this._stopping) {
        this._finishRun();
        return;
      }
      if (this._microtasks) {
        // A promise continuation is ready: let it run, then carry on.
        this._microtasks = false;
        if (native.now() - this._sliceStart > SLICE_MS) native.macrotask(this._newSlice);
        else queueMicrotask(this._slice);
        return;
      }
      if (this._ready.length === 0) {
        const timeout = this._idleTimeout();
        if (timeout !== 0) {
          if (!this._probed && this._spinWanted()) {
            // The hops return here through _slice: the budget is checked here.
            if (native.now() - this._sliceStart > SLICE_MS) {
              native.macrotask(this._newSlice);
              return;
            }
            this._spinProbe = PROBE_HOPS;
            queueMicrotask(this._probeHop);
            return;
          }
          this._probed = false;
          // Spinning found I/O ready: carry on, but within the slice budget
          // below (a descriptor ready on every poll must not hold the thread).
          if (!this._spinForIo(timeout)) {
            this._goIdle(timeout);
            return;
          }
        }
      }
      if ((++n & 31) === 0 && native.now() - this._sliceStart > SLICE_MS) {
        native.macrotask(this._newSlice);
        return;
      }
    }
  }

  /** @internal */
  _newSlice = (): void => {
    this._sliceStart = native.now();
    this._slice();
  };

  /** @internal seconds until the next timer; -1 when there is none */
  _idleTimeout(): number {
    const heap = this._scheduled;
    while (heap.length > 0 && heap[0]._cancelled) {
      this._timerCancelledCount--;
      heapPop(heap)._scheduled = false;
    }
    if (heap.length === 0) return -1;
    const t = heap[0]._when - this.time();
    return t <= 0 ? 0 : Math.min(t, MAXIMUM_SELECT_TIMEOUT);
  }

  /**
   * @internal While I/O is busy (the last wait ended quickly), poll a little
   * longer before parking: parking and waking cost a thread hop on some hosts,
   * more than a few zero-timeout polls. Between polls the thread yields its
   * core (sched_yield): a peer waiting for that core (a client on a 1-CPU
   * machine) runs at once, and a core nobody else wants is not put to sleep,
   * which would make the next wake-up slow. Returns true when something
   * became ready.
   */
  _spinForIo(timeout: number): boolean {
    if (!this._spinWanted()) return false;
    let now = native.now();
    const end = now + Math.min(SPIN_MS, timeout < 0 ? SPIN_MS : timeout * 1000);
    // No poll starts that would end after the deadline, judged by the last one's length
    // (a yield to a peer may take its whole time slice).
    let step = 0;
    while (now + step < end) {
      this._processIo();
      if (this._ready.length > 0) {
        this._ioHarvested = true; // the next iteration must not queue them twice
        return true;
      }
      libc.sched_yield();
      const t = native.now();
      step = t - now;
      now = t;
    }
    return false;
  }

  /**
   * @internal Before a spin. Code that ran since the last one (callbacks,
   * continuations, a host's wake-up) may have left awaits a few microtasks
   * from resuming (an await of a done future takes three), and a spin would
   * hold them back for its whole length. So the loop first hops through the
   * microtask queue, without polling, until PROBE_HOPS hops in a row saw no
   * new continuation.
   */
  _probeHop = (): void => {
    if (!this._running) return;
    if (this._microtasks) {
      this._microtasks = false;
      this._spinProbe = PROBE_HOPS;
    } else this._spinProbe--;
    if (this._spinProbe > 0 && this._ready.length === 0 && !this._stopping) {
      queueMicrotask(this._probeHop);
      return;
    }
    this._probed = this._spinProbe === 0;
    this._slice();
  };

  /** @internal traffic flows and nothing else waits: spinning may pay off */
  _spinWanted(): boolean {
    return SPIN_MS > 0 && this._ioBusy && !this._microtasks && this._hasIo();
  }

  /** @internal */
  _goIdle(timeout: number): void {
    this._waiting = true;
    if (this._wakeResolve === null && taskContext.current !== null) this._armWake();
    this._idleSince = native.now();
    if (timeout > 0) {
      // Round up: a 0.3 ms wait must not become a busy loop.
      const ms = Math.ceil(timeout * 1000);
      const at = native.now() + ms;
      // A host timer already armed to fire no later than needed stays armed:
      // re-arming at every idle would cost two host calls per message.
      if (this._hostTimer === null || this._hostTimerAt > at) {
        if (this._hostTimer !== null) native.clearTimer(this._hostTimer);
        this._hostTimer = native.setTimer(this._onHostTimer, ms);
        this._hostTimerAt = at;
      }
    }
    if (this._hasIo()) this._parkIo(this._wakeFromHost);
  }

  /** @internal */
  _onHostTimer = (): void => {
    this._hostTimer = null;
    this._wakeFromHost();
  };

  /** @internal */
  _wake(): void {
    if (this._wakeQueued) return;
    this._wakeQueued = true;
    const resolve = this._wakeResolve;
    if (resolve !== null) {
      this._wakeResolve = null;
      resolve();
    } else queueMicrotask(this._wakeFromMicrotask);
  }

  /** @internal settles the armed wake-up (see _armWake) */
  _wakeResolve: (() => void) | null = null;

  /**
   * @internal A wake-up usually comes from a task's continuation, and a
   * microtask queued there runs in that task's context, which the slice
   * must then leave again (an AsyncLocalStorage run per wake-up: the
   * costliest step of an await on Deno). A promise reaction runs in the
   * context it was registered in, so one registered here, outside every
   * task, wakes the loop outside them too.
   */
  _armWake(): void {
    new Promise<void>((resolve) => {
      this._wakeResolve = resolve;
    }).then(this._wakeFromMicrotask);
  }

  /**
   * @internal a promise continuation gave an idle loop work. It runs in the
   * host's current turn, so the slice budget goes on from where it was:
   * loop work and continuations calling each other (a task awaiting a
   * foreign promise that our callbacks resolve) must still hand the host a
   * turn every SLICE_MS. After a longer idle the host has had its turns,
   * and the budget starts afresh.
   */
  _wakeFromMicrotask = (): void => {
    this._wakeQueued = false;
    if (!this._waiting) return;
    this._leaveIdle(false);
    const now = native.now();
    this._ioBusy = now - this._idleSince < IO_BUSY_MS;
    if (now - this._idleSince >= SLICE_MS) this._sliceStart = now;
    else if (now - this._sliceStart > SLICE_MS) {
      native.macrotask(this._newSlice);
      return;
    }
    this._slice();
  };

  /** @internal a host timer or the parked selector woke us: a new turn of the host */
  _wakeFromHost = (): void => {
    this._wakeQueued = false;
    if (!this._waiting) return;
    this._leaveIdle(false);
    this._sliceStart = native.now();
    this._ioBusy = this._sliceStart - this._idleSince < IO_BUSY_MS;
    this._slice();
  };

  /** @internal */
  _leaveIdle(release: boolean): void {
    this._waiting = false;
    if (release && this._hostTimer !== null) {
      native.clearTimer(this._hostTimer);
      this._hostTimer = null;
    }
    this._unparkIo(release);
  }

  /** @internal end the run; `err` (an internal failure) rejects its promise */
  _finishRun(err?: unknown): void {
    this._stopping = false;
    this._running = false;
    this._leaveIdle(true);
    _setRunningLoop(null);
    this._releaseKeepAlive?.();
    this._releaseKeepAlive = null;
    const settle = this._runSettle;
    this._runSettle = null;
    settle?.(err);
  }

  /** @internal one iteration: asyncio's `_run_once` without the blocking wait */
  _runOnce(): void {
    if (this._ioHarvested) this._ioHarvested = false;
    else this._processIo();
    const heap = this._scheduled;
    if (heap.length > 0) {
      if (heap.length > MIN_SCHEDULED_TIMER_HANDLES &&
        this._timerCancelledCount / heap.length > MIN_CANCELLED_TIMER_HANDLES_FRACTION) {
        const live: TimerHandle[] = [];
        for (const h of heap) {
          if (h._cancelled) h._scheduled = false;
          else live.push(h);
        }
        heapify(live);
        this._scheduled = live;
        this._timerCancelledCount = 0;
      } else {
        while (heap.length > 0 && heap[0]._cancelled) {
          this._timerCancelledCount--;
          heapPop(heap)._scheduled = false;
        }
      }
      const h2 = this._scheduled;
      if (h2.length > 0) {
        const end = this.time() + this._clockResolution;
        while (h2.length > 0 && h2[0]._when < end) {
          const h = heapPop(h2);
          h._scheduled = false;
          this._ready.push(h);
        }
      }
    }
    // Run exactly the callbacks that are ready now; new ones wait for the next iteration.
    const todo = this._ready;
    if (todo.length === 0) return;
    this._probed = false;
    this._ready = this._spare;
    if (this._debug) this._runDebug(todo);
    else {
      for (let i = 0; i < todo.length; i++) {
        const h = todo[i];
        if (!h._cancelled) h._run();
      }
    }
    // V8 truncates `length = 0` in a runtime call (~50 ns); popping a short array is ~1 ns a slot.
    if (todo.length <= 16) while (todo.length > 0) todo.pop();
    else todo.length = 0;
    this._spare = todo;
  }

  /** @internal debug mode: time each callback and catch unawaited coroutines */
  _runDebug(todo: Handle[]): void {
    for (let i = 0; i < todo.length; i++) {
      const h = todo[i];
      if (h._cancelled) continue;
      const t0 = native.now();
      const r = h._run();
      const dt = (native.now() - t0) / 1000;
      if (dt >= this.slowCallbackDuration) {
        logger.warning(`Executing ${h} took ${dt.toFixed(3)} seconds`);
      }
      if (isGeneratorCoroutine(r) || (r instanceof Promise)) {
        this.callExceptionHandler({
          message: `coroutine returned by callback ${h} was never awaited`,
          handle: h,
        });
      }
    }
  }
}

function checkTime(v: unknown, what: string): void {
  if (typeof v !== "number") throw new TypeError(`${what} must be a number of seconds, got ${formatValue(v)}`);
  if (Number.isNaN(v)) throw new ValueError(`${what} must be a number of seconds, got NaN`);
}

function checkExecutor(executor: unknown): asserts executor is Executor {
  const e = executor as Executor;
  if (typeof e !== "object" || e === null || typeof e.submit !== "function" || typeof e.shutdown !== "function") {
    throw new TypeError(`an executor needs submit() and shutdown() methods, got ${formatValue(executor)}`);
  }
}

function describe(v: object): string {
  const s = String(v);
  return s === "[object Object]" ? formatValue(v) : s;
}
