/**
 * Task: a Future that drives a coroutine (asyncio's `Task`).
 *
 * Three kinds of coroutine, one cancellation model:
 * - A generator coroutine is stepped with `next`/`throw` like asyncio's
 *   `__step`: each `yield* future` suspends the task until the future is
 *   done, and `cancel()` throws CancelledError into the generator there.
 * - A coroutine function (`async () => ...`) is called by the task inside the
 *   task's own context (the host's AsyncLocalStorage). Every `await` of one
 *   of our futures in that function's continuations calls `Future.then` in
 *   that context, which tells the task what it waits on; `cancel()` cancels
 *   that future, so CancelledError is thrown at the `await`. A request made
 *   while the function awaits something else (a foreign promise) is kept
 *   and delivered at its next await of one of our futures.
 * - A promise that is already running cannot be interrupted: `cancel()`
 *   cancels the task's own result and aborts `task.signal`.
 */

import { CancelledError, InvalidStateError, RuntimeError } from "./errors.ts";
import { formatValue } from "./format.ts";
import { Future, type FutureLoop } from "./futures.ts";
import {
  type Coroutine, type CoroutineFunction, type GeneratorCoroutine, isGeneratorCoroutine, isPromiseLike,
} from "./coroutines.ts";

export type { CoroutineFunction };
import { taskContext } from "./futures.ts";
import { native } from "./native.ts";
import { getRunningLoop, hooks } from "./running.ts";
import type { Callback } from "./handles.ts";

/**
 * What a Task needs of its loop, beyond a Future's: every event loop of this
 * library is one. A structural type because the loop module imports this one.
 */
export interface TaskLoop extends FutureLoop {
  /** @internal */
  _tasks: Set<WeakRef<Task<unknown>>>;
  /** @internal */
  _currentTask: Task<unknown> | null;
  /** Wrap a coroutine in a Task on this loop (asyncio's `loop.create_task`). */
  createTask<T>(coro: Coroutine<T> | CoroutineFunction<T>, options?: TaskOptions): Task<T>;
  /** Whether the loop is running (asyncio's `loop.is_running`). */
  isRunning(): boolean;
}

/** The options of `createTask` and `new Task`. */
export interface TaskOptions {
  /** The task's name (default `Task-N`). */
  name?: string;
  /** An opaque value kept with the task (`getContext()`); Python's `contextvars.Context` has no counterpart here. */
  context?: unknown;
  /**
   * Start the coroutine inside the constructor, when the loop is running
   * (asyncio 3.12's `eager_start`): it runs up to its first suspension
   * before `createTask` returns, with `currentTask()` the new task.
   */
  eagerStart?: boolean;
}

let taskCounter = 0;

// Debug mode: a task collected while still pending never finished its work.
const pendingTasks = new FinalizationRegistry<{ loop: TaskLoop; repr: string }>((held) => {
  held.loop.callExceptionHandler({ message: "Task was destroyed but it is pending!", task: held.repr });
});

/**
 * A Future that drives a coroutine (asyncio's `Task`): an `async` function,
 * a generator coroutine or a promise. `cancel()` throws CancelledError into
 * the coroutine at the await of one of our futures it is blocked in; a task
 * over an already-started promise can only abort `signal`.
 *
 * @example
 * ```ts
 * import { CancelledError, getRunningLoop, run, sleep } from "tsyncio";
 * await run(async () => {
 *   const task = getRunningLoop().createTask(async () => {
 *     try {
 *       await sleep(10);
 *     } catch (e) {
 *       if (e instanceof CancelledError) console.log("cleaning up");
 *       throw e;
 *     }
 *   });
 *   await sleep(0.01);
 *   task.cancel();
 *   try {
 *     await task;
 *   } catch (e) {
 *     console.log(task.cancelled(), e instanceof CancelledError); // true true
 *   }
 * });
 * ```
 */
export class Task<T = unknown> extends Future<T> {
  /** @internal */ _coro: Coroutine<T> | CoroutineFunction<T>;
  /** @internal */ _gen: GeneratorCoroutine<T> | null;
  /** @internal the coroutine function, until the task calls it */ _fn: CoroutineFunction<T> | null = null;
  /** @internal a promise the task did not start: cancel() cannot reach into it */ _opaque = false;
  /** @internal */ _name: string;
  /** @internal */ _context: unknown;
  /** @internal */ _mustCancel = false;
  /** @internal */ _futWaiter: Future<unknown> | null = null;
  /** @internal */ _numCancelsRequested = 0;
  /** @internal */ _sendValue: unknown = undefined;
  /** @internal */ _abort: AbortController | null = null;
  /** @internal see _wakeupCallback */ _wakeupFn: ((fut: Future<unknown>) => void) | null = null;
  /** @internal the loop's weak reference to this task (tasks nobody holds may be collected, as in asyncio) */
  _weak: WeakRef<Task<unknown>>;
  /** @internal */
  declare _loop: TaskLoop;

  /**
   * Schedule `coro` on `options.loop` (default: `getEventLoop()`). As in
   * asyncio, `loop.createTask()` is the preferred spelling: it applies the
   * loop's task factory.
   *
   * @param coro a coroutine function (called by the task, inside its context), a generator coroutine or a promise
   */
  constructor(coro: Coroutine<T> | CoroutineFunction<T>, options: TaskOptions & { loop?: TaskLoop } = {}) {
    super({ loop: options.loop ?? hooks.getEventLoop() });
    this._gen = null;
    if (isGeneratorCoroutine(coro)) {
      this._gen = coro as GeneratorCoroutine<T>;
    } else if (typeof coro === "function") {
      this._fn = coro as CoroutineFunction<T>;
      taskContext.current ??= native.asyncContext();
    } else if (isPromiseLike(coro)) {
      this._opaque = true;
    } else {
      throw new TypeError(`a coroutine or a coroutine function was expected, got ${formatValue(coro)}`);
    }
    this._coro = coro;
    this._name = options.name !== undefined ? String(options.name) : `Task-${++taskCounter}`;
    this._context = options.context;
    this._weak = new WeakRef(this as Task<unknown>);
    this._loop._tasks.add(this._weak);
    if (this._loop.getDebug()) pendingTasks.register(this, { loop: this._loop, repr: this.toString() }, this);
    if (this._opaque) this._follow(coro as PromiseLike<T>);
    else if (options.eagerStart && this._loop.isRunning()) {
      if (this._gen) this._step();
      else this._start();
    } else this._loop._callSoon(this._gen ? stepTask : startTask, [this], this._context);
  }

  /** The coroutine this task runs (its coroutine function until the task has called it). */
  getCoro(): Coroutine<T> | CoroutineFunction<T> {
    return this._coro;
  }

  /** The task's name, `Task-N` unless given (asyncio's `Task.get_name`). */
  getName(): string {
    return this._name;
  }

  /** Rename the task; any value is converted to a string (asyncio's `Task.set_name`). */
  setName(value: unknown): void {
    this._name = String(value);
  }

  /** The `context` option the task was made with (asyncio's `Task.get_context`). */
  getContext(): unknown {
    return this._context;
  }

  /**
   * Aborted when cancellation is requested: the way for a promise coroutine
   * (which the task cannot interrupt) to learn that it should stop.
   */
  get signal(): AbortSignal {
    if (this._abort === null) {
      this._abort = new AbortController();
      if (this._numCancelsRequested > 0 || this.cancelled()) this._abort.abort(this._makeCancelledError());
    }
    return this._abort.signal;
  }

  /** Always throws RuntimeError: a task's result is its coroutine's. */
  override setResult(_result: T): never {
    throw new RuntimeError("Task does not support setResult()");
  }

  /** Always throws RuntimeError: a task's exception is its coroutine's. */
  override setException(_exception: unknown): never {
    throw new RuntimeError("Task does not support setException()");
  }

  /**
   * Request cancellation. A generator task gets CancelledError thrown in at
   * its current `yield*` on the next step; a promise task is cancelled at
   * once and its `signal` aborted. Returns false if the task is done.
   */
  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    this._numCancelsRequested++;
    this._abort?.abort(new CancelledError(msg ?? ""));
    if (this._opaque) {
      this._logTraceback = false;
      return super.cancel(msg);
    }
    if (this._futWaiter !== null && this._futWaiter.cancel(msg)) {
      // The waiter's callback (_wakeup) throws CancelledError into the coroutine.
      return true;
    }
    this._mustCancel = true;
    this._cancelMessage = msg;
    return true;
  }

  /** How many cancellation requests are pending (`cancel()` minus `uncancel()`). */
  cancelling(): number {
    return this._numCancelsRequested;
  }

  /** Decrement the pending cancellation count; returns the new count. */
  uncancel(): number {
    if (this._numCancelsRequested > 0) {
      this._numCancelsRequested--;
      if (this._numCancelsRequested === 0) {
        this._mustCancel = false;
        // No request left: code that watches `signal` gets a fresh one.
        if (this._abort?.signal.aborted) this._abort = null;
      }
    }
    return this._numCancelsRequested;
  }

  /** A debugging description: state, name, and the future it waits on. */
  override toString(): string {
    const waiter = this._futWaiter ? ` wait_for=${this._futWaiter}` : "";
    return `<Task ${this._stateInfo()} name=${JSON.stringify(this._name)}${waiter}>`;
  }

  /** @internal */
  _finish(): void {
    this._loop._tasks.delete(this._weak);
    pendingTasks.unregister(this);
  }

  /** @internal */
  _resolve(value: T): void {
    Future.prototype.setResult.call(this, value);
    this._finish();
  }

  /** @internal */
  _reject(exc: unknown): void {
    if (exc === undefined || exc === null) exc = new RuntimeError(`coroutine threw ${String(exc)}`);
    Future.prototype.setException.call(this, exc);
    this._finish();
  }

  /** @internal */
  _cancelSelf(msg?: string): void {
    Future.prototype.cancel.call(this, msg);
    this._finish();
  }

  /**
   * @internal the first step of a coroutine function: call it inside the
   * task's context; a generator it returns is stepped from here on, a
   * promise is followed.
   */
  _start(): void {
    const fn = this._fn!;
    this._fn = null;
    if (this.done()) return;
    if (this._mustCancel) {
      // Cancelled before it ever ran: the function is never called.
      this._mustCancel = false;
      this._cancelSelf(this._cancelMessage);
      return;
    }
    const loop = this._loop;
    const prev = loop._currentTask;
    loop._currentTask = this as Task<unknown>;
    let r: unknown;
    try {
      r = taskContext.current!.run(this, fn);
    } catch (e) {
      loop._currentTask = prev;
      this._promiseRejected(e);
      return;
    }
    loop._currentTask = prev;
    if (isGeneratorCoroutine(r)) {
      this._gen = this._coro = r as GeneratorCoroutine<T>;
      this._step();
    } else if (r instanceof Future) {
      // A function returning a future (`() => sleep(1)`): the task waits on
      // it, unless it is a body running in this task (`() => timeout(...)`),
      // which reports its own awaits.
      if (!r._transparent) this._awaiting(r);
      r.addDoneCallback((f: Future<unknown>) => {
        if (this._awaited(f)) this._cancelSelf(this._cancelMessage);
        else if (f.cancelled()) this._promiseRejected(f._makeCancelledError());
        else if (f.exception() !== null) this._promiseRejected(f.exception());
        else this._promiseResolved(f.result());
      });
    } else if (isPromiseLike(r)) {
      this._coro = r as PromiseLike<T>;
      this._follow(r);
    } else {
      this._promiseResolved(r);
    }
  }

  /** @internal settle this task as the promise `p` settles */
  _follow(p: PromiseLike<unknown>): void {
    p.then((v) => this._promiseResolved(v), (e) => this._promiseRejected(e));
  }

  /** @internal the task's code awaits `fut` (called by `Future.then` in the task's context) */
  _awaiting(fut: Future<unknown>): void {
    if (this.done()) return;
    this._futWaiter = fut;
    // A request kept while the code awaited something we could not cancel.
    if (this._mustCancel && fut.cancel(this._cancelMessage)) this._mustCancel = false;
  }

  /** @internal `fut` settled */
  _awaited(fut: Future<unknown>): boolean {
    if (this._futWaiter !== fut) return false;
    this._futWaiter = null;
    // The future was cancelled: its own CancelledError is the delivery.
    if (fut.cancelled()) {
      this._mustCancel = false;
      return false;
    }
    return this._takeCancelRequest();
  }

  /** @internal take a kept cancel request: the await in progress throws CancelledError instead */
  _takeCancelRequest(): boolean {
    if (!this._mustCancel || this.done()) return false;
    this._mustCancel = false;
    return true;
  }

  /** @internal one step of the generator: asyncio's `Task.__step` */
  _step(exc?: unknown): void {
    if (this.done()) {
      throw new InvalidStateError(`_step(): already done: ${this}`);
    }
    if (this._mustCancel) {
      if (!(exc instanceof CancelledError)) exc = this._makeCancelledError();
      this._mustCancel = false;
    }
    this._futWaiter = null;
    const loop = this._loop;
    const prev = loop._currentTask;
    loop._currentTask = this as Task<unknown>;
    const gen = this._gen!;
    let r: IteratorResult<unknown, T>;
    try {
      if (exc === undefined) {
        const v = this._sendValue;
        this._sendValue = undefined;
        r = gen.next(v);
      } else {
        r = gen.throw(exc);
      }
    } catch (e) {
      loop._currentTask = prev;
      if (e instanceof CancelledError) this._cancelSelf(e.message || this._cancelMessage);
      else this._reject(e);
      return;
    }
    loop._currentTask = prev;
    if (r.done) {
      if (this._mustCancel) {
        // Cancellation was requested while the coroutine finished its last step.
        this._mustCancel = false;
        this._cancelSelf(this._cancelMessage);
      } else {
        this._resolve(r.value);
      }
      return;
    }
    this._await(r.value);
  }

  /** @internal what the generator yielded decides when the next step runs */
  _await(v: unknown): void {
    const loop = this._loop;
    if (v instanceof Future) {
      if (v._asyncioFutureBlocking) {
        if (v._loop !== loop) {
          loop._callSoon(stepTask, [this, new RuntimeError(`Task ${this} got Future ${v} attached to a different loop`)]);
          return;
        }
        if (v === (this as unknown)) {
          loop._callSoon(stepTask, [this, new RuntimeError(`Task cannot await on itself: ${this}`)]);
          return;
        }
        v._asyncioFutureBlocking = false;
        v.addDoneCallback(this._wakeupCallback(), { context: this._context });
        // A body running in this task (see runInTask) tells the task itself what it awaits.
        if (v._transparent) return;
        this._futWaiter = v;
        if (this._mustCancel && v.cancel(this._cancelMessage)) this._mustCancel = false;
        return;
      }
      loop._callSoon(stepTask, [
        this,
        new RuntimeError(`yield was used instead of yield* in task ${this} with ${v}`),
      ]);
      return;
    }
    if (v === undefined) {
      // A bare `yield`: let other callbacks run, as `await sleep(0)` does.
      loop._callSoon(stepTask, [this], this._context);
      return;
    }
    if (isPromiseLike(v)) {
      // Convenience beyond asyncio: `const x = yield promise` waits for a
      // native promise and sends its value back (rejections are thrown in).
      const waiter = new Future<unknown>({ loop });
      v.then((x) => {
        if (!waiter.done()) waiter.setResult(x);
      }, (e) => {
        if (!waiter.done()) waiter.setException(e ?? new RuntimeError("promise rejected"));
      });
      waiter.addDoneCallback((f: Future<unknown>) => {
        if (!f.cancelled() && f.exception() === null) this._sendValue = f.result();
        this._wakeup(f);
      });
      this._futWaiter = waiter;
      if (this._mustCancel && waiter.cancel(this._cancelMessage)) this._mustCancel = false;
      return;
    }
    loop._callSoon(stepTask, [this, new RuntimeError(`Task got bad yield: ${formatValue(v)}`)]);
  }

  /** @internal the awaited future is done: step with its outcome */
  _wakeup(fut: Future<unknown>): void {
    let exc: unknown;
    try {
      fut.result();
    } catch (e) {
      exc = e;
    }
    if (exc === undefined) this._step();
    else this._step(exc);
  }

  /**
   * @internal `_wakeup` as a done callback, made once per task and only for
   * tasks that await futures through `yield*` (a closure per task costs
   * memory, and so collection time, for every task)
   */
  _wakeupCallback(): (fut: Future<unknown>) => void {
    return (this._wakeupFn ??= (fut: Future<unknown>) => this._wakeup(fut));
  }

  /** @internal the coroutine function's promise fulfilled */
  _promiseResolved(value: unknown): void {
    if (this.done()) return;
    if (this._mustCancel) {
      // Cancellation was requested after the code's last await of a future.
      this._mustCancel = false;
      this._cancelSelf(this._cancelMessage);
    } else {
      this._resolve(value as T);
    }
  }

  /** @internal the coroutine function's promise rejected */
  _promiseRejected(exc: unknown): void {
    if (this.done()) return;
    if (exc instanceof CancelledError) this._cancelSelf(exc.message);
    else this._reject(exc);
  }

}

/** A scheduled first step of a generator task (module-level: no closure per task). */
function stepTask(task: Task<unknown>, exc?: unknown): void {
  if (exc === undefined) task._step();
  else task._step(exc);
}

/** A scheduled start of a coroutine-function task. */
function startTask(task: Task<unknown>): void {
  task._start();
}

/**
 * A task factory that starts every task eagerly (asyncio 3.12's
 * `eager_task_factory`): `loop.setTaskFactory(eagerTaskFactory)`. A body
 * that finishes without suspending leaves its task done when `createTask`
 * returns (a generator body; an `async` body can only hand its result over
 * through a promise, so its task finishes a moment later).
 *
 * @example
 * ```ts
 * import { eagerTaskFactory, getRunningLoop, run } from "tsyncio";
 * await run(async () => {
 *   const loop = getRunningLoop();
 *   loop.setTaskFactory(eagerTaskFactory);
 *   let ran = false;
 *   const t = loop.createTask(async () => { ran = true; });
 *   console.log(ran); // true: the body ran inside createTask
 *   await t;
 * });
 * ```
 */
export function eagerTaskFactory(loop: TaskLoop, coro: Coroutine | CoroutineFunction, options: TaskOptions = {}): Task<unknown> {
  return new Task(coro, { ...options, loop, eagerStart: true });
}

/**
 * A task factory that starts tasks eagerly with a Task class of your own
 * (asyncio's `create_eager_task_factory`).
 *
 * @param customTaskConstructor a subclass of {@link Task} (its constructor takes `(coro, options)`)
 */
export function createEagerTaskFactory(
  customTaskConstructor: new (coro: Coroutine | CoroutineFunction, options: TaskOptions & { loop?: TaskLoop }) => Task<unknown>,
): (loop: TaskLoop, coro: Coroutine | CoroutineFunction, options?: TaskOptions) => Task<unknown> {
  if (typeof customTaskConstructor !== "function") {
    throw new TypeError(`createEagerTaskFactory() needs a Task class, got ${formatValue(customTaskConstructor)}`);
  }
  return (loop, coro, options = {}) => new customTaskConstructor(coro, { ...options, loop, eagerStart: true });
}

/**
 * Run `fn` as part of the current task, the way an `async with` block runs
 * in the task that enters it: its awaits of our futures are the task's
 * awaits, so cancelling the task interrupts them. The result is a Future
 * that the task sees through (awaiting it does not hide the inner await
 * from `cancel()`). With no current task, `fn` simply runs.
 * @internal
 */
export function runInTask<T>(loop: TaskLoop, fn: () => PromiseLike<T>): Future<T> {
  const task = currentTask(loop);
  const ctx = (taskContext.current ??= native.asyncContext());
  const fut = new Future<T>({ loop });
  fut._transparent = true;
  let p: PromiseLike<T>;
  try {
    p = task !== null && ctx.getStore() !== task ? ctx.run(task, fn) : fn();
  } catch (e) {
    p = Promise.reject(e);
  }
  p.then((v) => {
    if (!fut.done()) fut.setResult(v);
  }, (e) => {
    if (fut.done()) return;
    if (e instanceof CancelledError) fut.cancel(e.message);
    else fut.setException(e ?? new RuntimeError(`body threw ${String(e)}`));
  });
  return fut;
}

/**
 * Call a body (`async (arg) => ...`, or `function* (arg) {...}`) and give
 * what to await for its result: a generator body runs as a task of its own
 * (a generator needs a task to drive it), anything else is returned as is.
 * @internal
 */
export function callBody<A, T>(loop: TaskLoop, body: (arg: A) => unknown, arg: A): T | PromiseLike<T> {
  const r = body(arg);
  return (isGeneratorCoroutine(r) ? loop.createTask(r as GeneratorCoroutine<T>) : r) as T | PromiseLike<T>;
}

/**
 * Python's `async with cm:` around a body: run `body(arg)` in the current
 * task (see {@link runInTask}), then `exit(threw, exc)` (asyncio's
 * `__aexit__`), which may throw to replace the body's outcome. When it
 * returns, the body's result or error stands.
 * @internal
 */
export function runBodyWith<A, T>(
  loop: TaskLoop,
  body: (arg: A) => unknown,
  arg: A,
  exit: (threw: boolean, exc: unknown) => void | PromiseLike<void>,
): Future<T> {
  return runInTask(loop, async () => {
    let result: T;
    try {
      result = await callBody<A, T>(loop, body, arg);
    } catch (e) {
      await exit(true, e);
      throw e;
    }
    await exit(false, undefined);
    return result;
  });
}

/** Throw a TypeError unless `body` is a function (checked at the call, never later in the loop). */
export function checkBody(body: unknown, what: string): void {
  if (typeof body !== "function") throw new TypeError(`${what} needs a function as its body, got ${formatValue(body)}`);
}

/**
 * The task running now on `loop` (default: the running loop), or null
 * (asyncio's `current_task`): the generator task being stepped, else the
 * task whose coroutine function this code is a continuation of.
 *
 * @example
 * ```ts
 * import { currentTask, run, sleep } from "tsyncio";
 * await run(async () => {
 *   await sleep(0.01);
 *   // Still this task after the await: tasks follow their continuations.
 *   console.log(currentTask()?.getName());
 *   // Hand host APIs the task's cancellation.
 *   const signal = currentTask()!.signal;
 *   console.log(signal.aborted); // false
 * });
 * ```
 */
export function currentTask(loop?: TaskLoop): Task<unknown> | null {
  const l = loop ?? (getRunningLoop() as TaskLoop);
  if (l._currentTask !== null) return l._currentTask;
  const ctx = taskContext.current;
  if (ctx === null) return null;
  const t = ctx.getStore();
  return t instanceof Task && t._loop === l && !t.done() ? t : null;
}

/** The tasks of `loop` (default: the running loop) that are not done yet. */
export function allTasks(loop?: TaskLoop): Set<Task<unknown>> {
  const l = loop ?? (getRunningLoop() as TaskLoop);
  const out = new Set<Task<unknown>>();
  for (const ref of l._tasks) {
    const t = ref.deref();
    if (t && !t.done()) out.add(t);
  }
  return out;
}

// ---- asyncio's tasks module, continued: waiting for awaitables ----
//
// gather, wait, asCompleted, shield and toThread. Each returns a Future (or,
// for asCompleted, an iterator of them) and checks its arguments at the
// call: a bad awaitable is a TypeError there, never later inside the loop.

import { TimeoutError, ValueError } from "./errors.ts";
import type { BaseEventLoop } from "./base_events.ts";
import { type Awaitable, checkAwaitable, isCoroutine } from "./coroutines.ts";

// base_events.ts and events.ts import this module: reaching them at run time
// from here would be an import cycle, which a bundle with top-level await
// (runtimes/detect.ts) cannot start. hooks.getEventLoop is events.ts's
// getEventLoop.
const getEventLoop = (): BaseEventLoop => hooks.getEventLoop() as BaseEventLoop;

/**
 * ensureFuture bound to a loop: `aw` itself when it is a Future of `loop`
 * (ValueError for another loop's), else a Task running it.
 * @internal
 */
export function ensureFutureOn<T>(aw: Awaitable<T>, loop: TaskLoop): Future<T> {
  if (aw instanceof Future) {
    if (aw._loop !== (loop as unknown)) {
      throw new ValueError("The future belongs to a different loop than the one specified as the loop argument");
    }
    return aw;
  }
  if (isCoroutine(aw) || typeof aw === "function") return loop.createTask(aw as CoroutineFunction<T>);
  throw new TypeError(`A Future, a coroutine or an awaitable is required, got ${formatValue(aw)}`);
}
import type { ModuleFunction } from "./executor.ts";
import type { TimerHandle } from "./handles.ts";

/** `wait()` returns when any future finishes or is cancelled. */
export const FIRST_COMPLETED = "FIRST_COMPLETED";
/** `wait()` returns when any future finishes with an exception (or all are done). */
export const FIRST_EXCEPTION = "FIRST_EXCEPTION";
/** `wait()` returns when all futures are done (the default). */
export const ALL_COMPLETED = "ALL_COMPLETED";
/** What `wait()` may be told to wait for. */
export type ReturnWhen = typeof FIRST_COMPLETED | typeof FIRST_EXCEPTION | typeof ALL_COMPLETED;

/** What awaiting `A` gives: the result type of a Future, a coroutine or a coroutine function. */
export type AwaitableResult<A> = A extends Future<infer T> ? T
  : A extends Generator<unknown, infer T, unknown> ? T
  : A extends PromiseLike<infer T> ? Awaited<T>
  : A extends () => infer R ? (
      R extends Future<infer T> ? T
        : R extends Generator<unknown, infer T, unknown> ? T
        : R extends PromiseLike<infer T> ? Awaited<T>
        : R
    )
  : never;

/** The options of `gather()`: its trailing argument, when it is a plain object. */
export interface GatherOptions {
  /** Put exceptions (and CancelledErrors of cancelled children) in the results instead of failing. */
  returnExceptions?: boolean;
}

/** The results of `gather(...aws)`, position by position. */
export type GatherResults<A extends readonly unknown[]> = { -readonly [K in keyof A]: AwaitableResult<A[K]> };
/** The results of `gather(...aws, { returnExceptions: true })`: each is a result or the error it failed with. */
export type GatherResultsOrErrors<A extends readonly unknown[]> = {
  -readonly [K in keyof A]: AwaitableResult<A[K]> | Error;
};

/** A plain object (`{ ... }`): how `gather` tells its options from an awaitable. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== "object" || v === null || v instanceof Future || isCoroutine(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * The loop for a set of awaitables, as asyncio finds it: the loop of the
 * first Future among them, else the running (or current) loop. Every other
 * Future must belong to it (ValueError), which is checked before any task is
 * made.
 */
function loopFor(aws: readonly unknown[], what: string): BaseEventLoop {
  let loop: BaseEventLoop | null = null;
  for (const aw of aws) {
    checkAwaitable(aw, what);
    if (aw instanceof Future) {
      if (loop === null) loop = aw._loop as unknown as BaseEventLoop;
      else if (aw._loop !== (loop as unknown)) throw new ValueError(`${what}: the futures belong to different loops`);
    }
  }
  return loop ?? (getEventLoop() as unknown as BaseEventLoop);
}

/** Check a timeout: null/undefined (none), else a number of seconds; negative means 0. */
function checkTimeout(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "number") throw new TypeError(`timeout must be a number of seconds or null, got ${formatValue(value)}`);
  if (Number.isNaN(value)) throw new ValueError("timeout must not be NaN");
  if (value === Infinity) return null;
  return Math.max(0, value);
}

/** TypeError unless the trailing options argument is an object. */
export function checkOptionsObject(options: unknown, what: string): void {
  if (options === null || typeof options !== "object") throw new TypeError(`${what} options must be an object, got ${formatValue(options)}`);
}

/** Check that `aws` is an iterable of awaitables (not a single one) and return its items. */
function listOf(aws: unknown, what: string): unknown[] {
  if (aws instanceof Future || isCoroutine(aws)) {
    throw new TypeError(`${what} expects an iterable of futures, not a single ${aws instanceof Future ? "future" : "coroutine"}`);
  }
  if (typeof aws === "string" || aws === null || typeof (aws as Iterable<unknown>)?.[Symbol.iterator] !== "function") {
    throw new TypeError(`${what} expects an iterable of futures, got ${formatValue(aws)}`);
  }
  if (ArrayBuffer.isView(aws)) throw new TypeError(`${what} expects an iterable of futures, got ${formatValue(aws)}`);
  return [...(aws as Iterable<unknown>)];
}

/**
 * The Future `gather()` returns (asyncio's `_GatheringFuture`): cancelling
 * it cancels the children that are not done yet.
 * @internal
 */
class GatheringFuture<T> extends Future<T> {
  /** @internal */ _children: Future<unknown>[];
  /** @internal a cancel() reached at least one child: the result will be CancelledError whatever they do */
  _cancelRequested = false;
  /** @internal */ _cancelRequestMsg: string | undefined = undefined;

  constructor(children: Future<unknown>[], loop: BaseEventLoop) {
    super({ loop });
    this._children = children;
  }

  /**
   * Cancel every child that is not done. Returns true if one was; the future
   * itself is cancelled once all children are done, even if a child
   * swallowed the cancellation.
   */
  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    let ret = false;
    for (const child of this._children) {
      if (child.cancel(msg)) ret = true;
    }
    if (ret) {
      // Children done in the meantime (or stubborn ones) cannot undo it.
      this._cancelRequested = true;
      this._cancelRequestMsg = msg;
    }
    return ret;
  }
}

/**
 * Run awaitables concurrently and collect their results in argument order
 * (asyncio's `gather`). Coroutines and coroutine functions run as tasks; an
 * awaitable passed twice runs once. The first exception rejects the result
 * (the others keep running) unless `returnExceptions` is set, in which case
 * exceptions take their place among the results. Cancelling the returned
 * future cancels every child still running, and the result is then
 * CancelledError; a child cancelled from outside counts as one raising
 * CancelledError. Unlike asyncio, where such a gather future ends with a
 * CancelledError as its exception, it ends cancelled here (`cancelled()` is
 * true): a Future never holds a CancelledError as an exception.
 *
 * @param aws Futures, Tasks, coroutines or coroutine functions, optionally
 *   followed by `{ returnExceptions }` (a plain object)
 * @returns a Future of the results, typed position by position
 * @example
 * ```ts
 * import { gather, run, sleep } from "tsyncio";
 * await run(async () => {
 *   const [a, b] = await gather(sleep(0.02, "a"), async () => 42);
 *   console.log(a, b); // "a" 42
 * });
 * ```
 */
export function gather<A extends readonly Awaitable[]>(
  ...args: [...A, GatherOptions & { returnExceptions: true }]
): Future<GatherResultsOrErrors<A>>;
/** `gather(...aws, { returnExceptions: false })`: the results, position by position. */
export function gather<A extends readonly Awaitable[]>(...args: [...A, GatherOptions]): Future<GatherResults<A>>;
/** `gather(...aws)`: the results, position by position; the first failure rejects. */
export function gather<A extends readonly Awaitable[]>(...aws: A): Future<GatherResults<A>>;
export function gather(...args: unknown[]): Future<unknown[]> {
  let returnExceptions = false;
  if (args.length > 0 && isPlainObject(args[args.length - 1])) {
    returnExceptions = Boolean((args.pop() as GatherOptions).returnExceptions);
  }
  const loop = loopFor(args, "gather()");
  if (args.length === 0) {
    const outer = loop.createFuture<unknown[]>();
    outer.setResult([]);
    return outer;
  }

  const argToFut = new Map<unknown, Future<unknown>>();
  const children: Future<unknown>[] = [];
  const alreadyDone: Future<unknown>[] = [];
  for (const arg of args) {
    let fut = argToFut.get(arg);
    if (fut === undefined) {
      fut = ensureFutureOn(arg as Awaitable, loop);
      argToFut.set(arg, fut);
      if (fut.done()) alreadyDone.push(fut);
      else fut.addDoneCallback(childDone);
    }
    children.push(fut);
  }
  const nfuts = argToFut.size;
  let nfinished = 0;
  const outer = new GatheringFuture<unknown[]>(children, loop);
  const cancelOuter = (msg: string | undefined) => Future.prototype.cancel.call(outer, msg);

  function childDone(fut: Future<unknown>): void {
    nfinished++;
    if (outer.done()) {
      // Too late to matter; mark the exception as seen so it is not reported.
      if (!fut.cancelled()) fut.exception();
      return;
    }
    if (!returnExceptions) {
      if (fut.cancelled()) {
        cancelOuter(fut._cancelMessage);
        return;
      }
      const exc = fut.exception();
      if (exc !== null) {
        outer.setException(exc);
        return;
      }
    }
    if (nfinished === nfuts) {
      const results = children.map((f) => {
        if (f.cancelled()) return new CancelledError(f._cancelMessage ?? "");
        const exc = f.exception();
        return exc !== null ? exc : f.result();
      });
      if (outer._cancelRequested) cancelOuter(outer._cancelRequestMsg);
      else outer.setResult(results);
    }
  }

  for (const fut of alreadyDone) childDone(fut);
  return outer;
}

/**
 * Wait for futures and tasks (asyncio's `wait`) until `returnWhen` says so:
 * `ALL_COMPLETED` (the default), `FIRST_COMPLETED` or `FIRST_EXCEPTION` (which
 * waits for all if none fails), or until `timeout` seconds have passed.
 * Nothing is cancelled and a timeout is no error: the futures not done are
 * in the second set. Only Futures and Tasks are accepted (make tasks of
 * coroutines first), and there must be at least one.
 *
 * @param aws a non-empty iterable of Futures and Tasks
 * @param options `timeout` in seconds (null: none; negative means 0), `returnWhen`
 * @returns a Future of `[done, pending]`, two Sets
 * @example
 * ```ts
 * import { FIRST_COMPLETED, run, sleep, wait } from "tsyncio";
 * await run(async () => {
 *   const fast = sleep(0.01, "fast"), slow = sleep(10, "slow");
 *   const [done, pending] = await wait([fast, slow], { returnWhen: FIRST_COMPLETED });
 *   console.log(done.has(fast), pending.has(slow)); // true true
 *   slow.cancel();
 * });
 * ```
 */
export function wait<F extends Future<unknown>>(
  aws: Iterable<F>,
  options: { timeout?: number | null; returnWhen?: ReturnWhen } = {},
): Future<[done: Set<F>, pending: Set<F>]> {
  const list = listOf(aws, "wait()");
  checkOptionsObject(options, "wait()");
  if (list.length === 0) throw new ValueError("Set of Tasks/Futures is empty.");
  const returnWhen = options.returnWhen ?? ALL_COMPLETED;
  if (returnWhen !== FIRST_COMPLETED && returnWhen !== FIRST_EXCEPTION && returnWhen !== ALL_COMPLETED) {
    throw new ValueError(`Invalid returnWhen value: ${formatValue(returnWhen)}`);
  }
  const timeout = checkTimeout(options.timeout);
  for (const f of list) {
    if (isCoroutine(f) || typeof f === "function") {
      throw new TypeError("Passing coroutines is forbidden, use tasks explicitly.");
    }
    if (!(f instanceof Future)) throw new TypeError(`wait() expects Futures or Tasks, got ${formatValue(f)}`);
  }
  const fs = new Set(list as F[]);
  const loop = loopFor([...fs], "wait()");
  const outer = loop.createFuture<[Set<F>, Set<F>]>();
  let counter = fs.size;

  const finish = () => {
    if (outer.done()) return;
    const done = new Set<F>(), pending = new Set<F>();
    for (const f of fs) (f.done() ? done : pending).add(f);
    outer.setResult([done, pending]);
  };
  const onCompletion = (f: F) => {
    counter--;
    if (
      counter <= 0 || returnWhen === FIRST_COMPLETED ||
      (returnWhen === FIRST_EXCEPTION && !f.cancelled() && f.exception() !== null)
    ) finish();
  };
  for (const f of fs) f.addDoneCallback(onCompletion);
  const timer: TimerHandle | null = timeout === null ? null : loop.callLater(timeout, finish);
  // Done, by a result or by being cancelled: stop watching.
  outer.addDoneCallback(() => {
    timer?.cancel();
    for (const f of fs) f.removeDoneCallback(onCompletion);
  });
  return outer;
}

/** Who waits for the next completion in `asCompleted`: its future, and how to settle it. */
interface CompletionGetter<T> {
  out: Future<unknown>;
  deliver(f: Future<T> | null): void;
}

/**
 * What `asCompleted()` returns (asyncio 3.13's `_AsCompletedIterator`): an
 * iterable of futures, each resolving to the next result in completion
 * order, and an async iterable of the original futures and tasks in
 * completion order. Both share one count: together they give one item per
 * awaitable. After the timeout each remaining item is a TimeoutError.
 */
export class AsCompleted<T> implements Iterable<Future<T>>, AsyncIterable<Future<T>> {
  #loop: BaseEventLoop;
  #todo: Set<Future<T>>;
  #left: number;
  /** Completed futures nobody asked for yet; null marks a timeout. */
  #done: (Future<T> | null)[] = [];
  #getters: CompletionGetter<T>[] = [];
  #timer: TimerHandle | null = null;

  /** @internal use `asCompleted()` */
  constructor(aws: Iterable<Awaitable<T>>, timeout: number | null) {
    const list = [...new Set(aws as Iterable<unknown>)];
    this.#loop = loopFor(list, "asCompleted()");
    this.#todo = new Set(list.map((aw) => ensureFutureOn(aw as Awaitable<T>, this.#loop)));
    for (const f of this.#todo) f.addDoneCallback(this.#onCompletion);
    if (this.#todo.size > 0 && timeout !== null) this.#timer = this.#loop.callLater(timeout, this.#onTimeout);
    this.#left = this.#todo.size;
  }

  /** Iterate futures that resolve to the results in completion order: `for (const f of it) await f`. */
  [Symbol.iterator](): Iterator<Future<T>> {
    return {
      next: (): IteratorResult<Future<T>> => {
        if (this.#left === 0) return { done: true, value: undefined };
        this.#left--;
        const out = this.#loop.createFuture<T>();
        this.#get(out, (f) => {
          if (f === null) out.setException(new TimeoutError());
          else if (f.cancelled()) out.cancel(f._cancelMessage);
          else if (f.exception() !== null) out.setException(f.exception());
          else out.setResult(f.result());
        });
        return { done: false, value: out };
      },
      [Symbol.iterator]() {
        return this;
      },
    } as Iterator<Future<T>>;
  }

  /**
   * Iterate the original futures and tasks as they complete: `for await
   * (const t of it)`. TypeScript types a `for await` element as awaited (the
   * result type); at run time it is the Future or Task itself.
   */
  [Symbol.asyncIterator](): AsyncIterator<Future<T>> {
    return {
      next: (): Future<IteratorResult<Future<T>>> => {
        const out = this.#loop.createFuture<IteratorResult<Future<T>>>();
        if (this.#left === 0) {
          out.setResult({ done: true, value: undefined });
          return out;
        }
        this.#left--;
        this.#get(out, (f) => {
          if (f === null) out.setException(new TimeoutError());
          else out.setResult({ done: false, value: f });
        });
        return out;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
      // next() gives a Future, which `for await` awaits like a promise (and a
      // task awaiting it can be cancelled there).
    } as unknown as AsyncIterator<Future<T>>;
  }

  /** Hand the next completion to `deliver` now, or when it comes (in the order of the requests). */
  #get(out: Future<unknown>, deliver: (f: Future<T> | null) => void): void {
    if (this.#done.length > 0) deliver(this.#done.shift()!);
    else this.#getters.push({ out, deliver });
  }

  #put(f: Future<T> | null): void {
    while (this.#getters.length > 0) {
      const g = this.#getters.shift()!;
      // A request whose future was cancelled leaves the item to the next one.
      if (!g.out.done()) {
        g.deliver(f);
        return;
      }
    }
    this.#done.push(f);
  }

  #onCompletion = (f: Future<T>): void => {
    if (!this.#todo.delete(f)) return; // the timeout was first
    this.#put(f);
    if (this.#todo.size === 0) this.#timer?.cancel();
  };

  #onTimeout = (): void => {
    for (const f of this.#todo) {
      f.removeDoneCallback(this.#onCompletion);
      this.#put(null);
    }
    this.#todo.clear();
  };
}

/**
 * Run awaitables concurrently and take them in completion order (asyncio
 * 3.13's `as_completed`). Coroutines and coroutine functions become tasks.
 * Iterate it plainly for futures of the results (`for (const f of
 * asCompleted(aws)) console.log(await f)`), or with `for await` for the
 * original futures and tasks. With `timeout`, what is not done by then gives
 * TimeoutError (nothing is cancelled).
 *
 * @param aws an iterable of Futures, Tasks, coroutines or coroutine functions
 * @param options `timeout` in seconds (null: none; negative means 0)
 * @returns an {@link AsCompleted}: iterable and async iterable
 * @example
 * ```ts
 * import { asCompleted, run, sleep } from "tsyncio";
 * await run(async () => {
 *   for (const f of asCompleted([sleep(0.02, "slow"), sleep(0.01, "fast")])) console.log(await f);
 *   // fast, then slow
 * });
 * ```
 */
export function asCompleted<T>(aws: Iterable<Awaitable<T>>, options: { timeout?: number | null } = {}): AsCompleted<T> {
  const list = listOf(aws, "asCompleted()");
  checkOptionsObject(options, "asCompleted()");
  return new AsCompleted<T>(list as Awaitable<T>[], checkTimeout(options.timeout));
}

/** Shielded futures still running: a strong reference, so nobody has to keep one. */
const shielded = new Set<Future<unknown>>();

/**
 * Protect an awaitable from cancellation (asyncio's `shield`): the result is
 * a new future that follows `aw`; cancelling it does not cancel `aw`, which
 * runs on (kept alive until done). If `aw` itself is cancelled, so is the
 * result. A coroutine or coroutine function becomes a task; an `aw` that is
 * already done is returned as is.
 *
 * @param aw a Future, a Task, a coroutine or a coroutine function
 * @returns a Future that follows `aw` (or `aw` itself, when done)
 * @example
 * ```ts
 * import { run, shield, sleep } from "tsyncio";
 * await run(async () => {
 *   const inner = sleep(0.02, "saved");
 *   const outer = shield(inner);
 *   outer.cancel();
 *   console.log(await inner); // "saved"
 * });
 * ```
 */
export function shield<T>(aw: Awaitable<T>): Future<T> {
  checkAwaitable(aw, "shield()");
  const inner = aw instanceof Future ? aw : ensureFutureOn(aw, getEventLoop() as unknown as BaseEventLoop);
  if (inner.done()) return inner;
  const outer = new Future<T>({ loop: inner._loop });
  shielded.add(inner);
  inner.addDoneCallback(() => shielded.delete(inner));

  const innerDone = (f: Future<T>) => {
    if (outer.done()) {
      if (!f.cancelled()) f.exception(); // seen: not reported as never retrieved
      return;
    }
    if (f.cancelled()) outer.cancel();
    else if (f.exception() !== null) outer.setException(f.exception());
    else outer.setResult(f.result());
  };
  inner.addDoneCallback(innerDone);
  outer.addDoneCallback(() => {
    if (!inner.done()) inner.removeDoneCallback(innerDone);
  });
  return outer;
}

/**
 * Run `fn(...args)` in the running loop's default executor, a pool of
 * worker threads (asyncio's `to_thread`): `fn` must be self-contained, as it
 * is sent to the worker as source, or be `{ module, name }` naming an
 * exported function. Throws RuntimeError when no loop is running.
 *
 * @param fn a self-contained function, or `{ module, name }`
 * @param args its arguments (sent to the worker)
 * @returns a Future of what `fn` returns
 * @example
 * ```ts
 * import { run, toThread } from "tsyncio";
 * await run(async () => {
 *   console.log(await toThread((n: number) => n * 2, 21)); // 42
 * });
 * ```
 */
export function toThread<A extends unknown[], R>(
  fn: ((...args: A) => R) | ModuleFunction,
  ...args: A
): Future<Awaited<R>> {
  return getRunningLoop().runInExecutor<Awaited<R>>(null, fn, ...args);
}
