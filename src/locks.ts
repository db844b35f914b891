/**
 * asyncio's `locks`: Lock, Event, Condition, Semaphore, BoundedSemaphore
 * and Barrier, with asyncio 3.13's semantics (FIFO fairness; a cancelled
 * waiter never takes the lock; a primitive is bound to the loop it first
 * waits on).
 *
 * Every method asyncio defines as a coroutine returns a {@link Future}. A
 * Python coroutine runs its code in the awaiting task, so the code after
 * its wait only runs if the task is still there to run it; ours hand the
 * caller a future instead. A blocked `acquire()` therefore returns a
 * {@link Waiter}: the lock is passed to it when released, but the waiter
 * only *claims* it when its awaiting code resumes (`yield*` goes on, an
 * `await` continues, `result()` is read), or at the end of that loop
 * iteration when nobody awaits it. A task cancelled between the wake-up and
 * its resumption (a generator task's step, an `async` task's continuation)
 * gets CancelledError at that `yield*`/`await` instead, and the lock goes on
 * to the next waiter, as in asyncio.
 *
 * `use(body)` is Python's `async with`: the body runs in the calling task
 * (see `runInTask` in tasks.ts), so cancelling the task interrupts it, and
 * the primitive is released whatever the body does.
 */

import { CancelledError, RuntimeError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import { Future } from "./futures.ts";
import { getRunningLoop } from "./running.ts";
import { callBody, checkBody, runInTask, type TaskLoop } from "./tasks.ts";

/** What the primitives need of a loop. */
export interface LockLoop extends TaskLoop {
  createFuture<T = unknown>(): Future<T>;
}

/**
 * A body for `use()`: `async (arg) => ...`, or `function* (arg) {...}`
 * (a generator body runs as a task of its own), or a function returning a
 * value or a Future.
 */
export type Body<A, R> = (arg: A) => R | PromiseLike<R> | Generator<unknown, R, unknown>;

/**
 * Run `body(arg)` as part of the calling task (Python's `async with`
 * block): an `async` body is called at once, inside the caller's task
 * context, so cancelling that task cancels the await the body is blocked
 * in; a generator body runs as a task of its own, which a cancel of the
 * caller reaches through the await of it. With no current task the body
 * simply runs.
 *
 * @param loop the running loop
 * @param body a function of one argument returning a promise, a generator, a Future or a value; anything else is a TypeError at the call
 * @param arg what the body is given
 * @returns a Future of the body's result (cancelled if the body ends with CancelledError)
 * @example
 * ```ts
 * import { getRunningLoop, run, runBody, sleep } from "tsyncio";
 * await run(async () => {
 *   const r = await runBody(getRunningLoop(), async (x: number) => { await sleep(0.01); return x * 2; }, 21);
 *   console.log(r); // 42
 * });
 * ```
 */
export function runBody<A, R>(loop: TaskLoop, body: Body<A, R>, arg: A): Future<R> {
  checkBody(body, "runBody()");
  return runInTask(loop, async () => await callBody<A, R>(loop, body as (arg: A) => unknown, arg));
}

/** acquire, run the body, release in a finally: `async with prim:`. */
function useAcquired<P extends { acquire(): Future<true>; release(): void }, R>(
  prim: P,
  body: Body<P, R>,
  what: string,
): Future<R> {
  checkBody(body, what);
  const loop = getRunningLoop() as LockLoop;
  return runInTask(loop, async () => {
    await prim.acquire();
    try {
      return await callBody<P, R>(loop, body as (arg: P) => unknown, prim);
    } finally {
      prim.release();
    }
  });
}

/** A future already resolved with `value`, on the running loop. */
function resolved<T>(value: T, loop: LockLoop = getRunningLoop() as LockLoop): Future<T> {
  const f = loop.createFuture<T>();
  f.setResult(value);
  return f;
}

/** @internal a future already failed with `exc`, on the running loop */
export function rejected<T>(exc: unknown, loop: LockLoop = getRunningLoop() as LockLoop): Future<T> {
  const f = loop.createFuture<T>();
  f.setException(exc);
  return f;
}

/** @internal remove the first occurrence of `x` */
export function removeFrom<T>(arr: T[], x: T): void {
  // Usually the head (waiters leave in FIFO order): shift() is O(1) there
  // (V8 trims the array's start), splice() moves every other element.
  if (arr[0] === x) {
    arr.shift();
    return;
  }
  const i = arr.indexOf(x);
  if (i >= 0) arr.splice(i, 1);
}

/** @internal a count that must be a whole number (TypeError otherwise) */
export function checkInteger(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(`${what} must be an integer, got ${formatValue(value)}`);
  }
  return value;
}

/**
 * asyncio's `_LoopBoundMixin`: a primitive belongs to the loop it first
 * has to wait on; using it from another loop is a RuntimeError.
 * @internal
 */
export class LoopBound {
  /** @internal */ _loop: LockLoop | null = null;

  /** @internal the running loop, binding this primitive to it on first use */
  _getLoop(): LockLoop {
    const loop = getRunningLoop() as LockLoop;
    if (this._loop === null) this._loop = loop;
    else if (loop !== this._loop) throw new RuntimeError(`${this} is bound to a different event loop`);
    return loop;
  }
}

/** How a woken waiter ended: its code took what it was given, or never ran, or it was cancelled first. */
export type WaiterOutcome = "claimed" | "abandoned" | "cancelled";

/** @internal what owns waiters (a lock, a semaphore, a queue) */
export interface WaiterOwner {
  _waiterDone(w: Waiter<unknown>, outcome: WaiterOutcome): void;
}

/**
 * The future a blocked `acquire()`, `get()` or `put()` returns: asyncio's
 * waiter future together with the rest of the coroutine, which runs when
 * the awaiting code resumes. The owner wakes it with `_wake`; the owner's
 * `_waiterDone` then learns, exactly once, whether the awaiting code took
 * what it was woken for ("claimed": its `yield*` resumed, its `await`
 * continued, `result()` was read, or nobody awaited it by the end of the
 * iteration), never ran ("abandoned": a generator task cancelled between the
 * wake-up and its step), or was cancelled while waiting ("cancelled").
 * @internal
 */
export class Waiter<T> extends Future<T> {
  /** @internal */ _owner: WaiterOwner;
  /** @internal what a queue waiter carries (the item to put, the item got) */
  _item: unknown;
  /** @internal which queue operation this waiter is */
  _tag: string;
  /** @internal */ _settled = false;
  /** @internal a generator is inside `yield*` of this waiter: its resumption decides */
  _iterating = false;

  constructor(loop: LockLoop, owner: WaiterOwner, tag = "", item?: unknown) {
    super({ loop });
    this._owner = owner;
    this._tag = tag;
    this._item = item;
  }

  override setResult(_result: T): never {
    throw new RuntimeError("the result of a lock or queue waiter is set by its owner");
  }

  override setException(_exception: unknown): never {
    throw new RuntimeError("the result of a lock or queue waiter is set by its owner");
  }

  override cancel(msg?: string): boolean {
    if (!super.cancel(msg)) return false;
    // After the callbacks of the awaiting code, as asyncio cleans up in the waiting task's next step.
    this.addDoneCallback(this._onCancelled);
    return true;
  }

  override result(): T {
    const r = super.result();
    if (!this._iterating) this._claim();
    return r;
  }

  override exception(): unknown {
    const e = super.exception();
    if (e === null && !this._iterating) this._claim();
    return e;
  }

  override *[Symbol.iterator](): Generator<Future<T>, T, unknown> {
    let r: T;
    this._iterating = true;
    try {
      r = yield* super[Symbol.iterator]();
    } catch (e) {
      this._iterating = false;
      if (!this.done()) this.cancel();
      // Woken, but the task was cancelled before it stepped: it never got what it was woken for.
      else if (!this.cancelled()) this._settle("abandoned");
      throw e;
    }
    this._iterating = false;
    this._claim();
    return r;
  }

  override then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return super.then<R1 | R2, R2>((v: T) => {
      try {
        this._claim();
      } catch (e) {
        if (onRejected) return onRejected(e);
        throw e;
      }
      return onFulfilled ? onFulfilled(v) : (v as unknown as R1);
    }, (e: unknown) => {
      // Woken, but the awaiting task's cancel request was delivered at this
      // await instead (as asyncio throws it in at the waiter's await): the
      // code never got what the waiter was woken for, so it goes on.
      if (e instanceof CancelledError && !this.cancelled()) this._settle("abandoned");
      if (onRejected) return onRejected(e);
      throw e;
    });
  }

  /** @internal the owner wakes the waiter with `value` */
  _wake(value: T): void {
    Future.prototype.setResult.call(this, value);
    // Registered after the awaiting code's callbacks, so that code resumes (or is cancelled) first.
    this.addDoneCallback(this._fallback);
  }

  /** @internal the owner fails the waiter (queue shutdown): nothing to claim */
  _fail(exc: unknown): void {
    this._settled = true;
    Future.prototype.setException.call(this, exc);
  }

  /** @internal */
  _claim(): void {
    if (!this._settled && this.done() && !this.cancelled()) this._settle("claimed");
  }

  /** @internal */
  _settle(outcome: WaiterOutcome): void {
    if (this._settled) return;
    this._settled = true;
    this._owner._waiterDone(this as Waiter<unknown>, outcome);
  }

  /** @internal */
  _onCancelled = (): void => this._settle("cancelled");

  /**
   * @internal nobody resumed on the waiter in the iteration it was woken
   * for: claim it after the promise continuations queued by then (an
   * `await` of it continues first and sees errors of the claim)
   */
  _fallback = (): void => {
    if (this._settled) return;
    queueMicrotask(this._claimLater);
    this._loop._microtaskReady();
  };

  /** @internal */
  _claimLater = (): void => {
    try {
      this._claim();
    } catch (e) {
      this._loop.callExceptionHandler({ message: `${this._tag || "acquire"}() failed after its waiter was woken`, exception: e, future: this });
    }
  };
}

/**
 * A coroutine of this module run without a Task of its own (Condition.wait,
 * Barrier.wait, ...): stepped at once up to its first suspension, inside the
 * call (as asyncio runs an awaited coroutine in the awaiting task), then
 * from the loop as the futures it waits on finish. `cancel()` is a request,
 * as on a Task: CancelledError is thrown in at the current `yield*`, and the
 * future is cancelled only if the coroutine lets it out (Condition.wait
 * re-acquires its lock first).
 * @internal
 */
export class Coro<T> extends Future<T> {
  /** @internal */ _gen: Generator<unknown, T, unknown>;
  /** @internal */ _waitingOn: Future<unknown> | null = null;
  /** @internal */ _mustCancel = false;
  /** @internal */ _msg: string | undefined = undefined;

  constructor(loop: LockLoop, gen: Generator<unknown, T, unknown>) {
    super({ loop });
    this._gen = gen;
    this._step(undefined);
  }

  override setResult(_result: T): never {
    throw new RuntimeError("the result of a coroutine future is set by its coroutine");
  }

  override setException(_exception: unknown): never {
    throw new RuntimeError("the result of a coroutine future is set by its coroutine");
  }

  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    if (this._waitingOn !== null && this._waitingOn.cancel(msg)) return true;
    this._mustCancel = true;
    this._msg = msg;
    return true;
  }

  /** @internal */
  _step(exc: unknown): void {
    if (this._mustCancel) {
      this._mustCancel = false;
      if (!(exc instanceof CancelledError)) exc = new CancelledError(this._msg ?? "");
    }
    this._waitingOn = null;
    let r: IteratorResult<unknown, T>;
    try {
      r = exc === undefined ? this._gen.next() : this._gen.throw(exc);
    } catch (e) {
      if (e instanceof CancelledError) Future.prototype.cancel.call(this, e.message);
      else Future.prototype.setException.call(this, e);
      return;
    }
    if (r.done) {
      Future.prototype.setResult.call(this, r.value);
      return;
    }
    const fut = r.value as Future<unknown>;
    fut._asyncioFutureBlocking = false;
    this._waitingOn = fut;
    fut.addDoneCallback(this._wakeup);
  }

  /** @internal */
  _wakeup = (fut: Future<unknown>): void => {
    let exc: unknown = undefined;
    try {
      fut.result();
    } catch (e) {
      exc = e ?? new RuntimeError(`a future failed with ${String(e)}`);
    }
    this._step(exc);
  };
}

/**
 * A mutual-exclusion lock for tasks (asyncio's `Lock`): `acquire()` waits
 * until it is free and takes it, `release()` gives it to the longest
 * waiter. Not reentrant, and not owned: any code may release it.
 *
 * @example
 * ```ts
 * import { Lock, run, sleep } from "tsyncio";
 * await run(async () => {
 *   const lock = new Lock();
 *   await lock.use(async () => {
 *     await sleep(0.01); // only one task at a time gets here
 *   });
 * });
 * ```
 */
export class Lock extends LoopBound implements WaiterOwner {
  /** @internal */ _waiters: Waiter<true>[] = [];
  /** @internal */ _locked = false;

  /**
   * Take the lock, waiting until it is free (FIFO). The lock is taken at
   * once when free and nobody waits.
   * @returns a Future resolved with `true` once the lock is held; cancelling it gives up the wait
   */
  acquire(): Future<true> {
    if (!this._locked && this._waiters.every((w) => w.cancelled())) {
      const loop = getRunningLoop() as LockLoop;
      this._locked = true;
      return resolved<true>(true, loop);
    }
    const w = new Waiter<true>(this._getLoop(), this);
    this._waiters.push(w);
    return w;
  }

  /** Release the lock and wake the first waiter. RuntimeError if it is not locked. */
  release(): void {
    if (!this._locked) throw new RuntimeError("Lock is not acquired.");
    this._locked = false;
    this._wakeUpFirst();
  }

  /** Whether the lock is held. */
  locked(): boolean {
    return this._locked;
  }

  /**
   * Python's `async with lock:`: acquire, run `body(lock)` in the calling
   * task, release in a finally.
   * @returns a Future of the body's result
   */
  use<R>(body: Body<Lock, R>): Future<R> {
    return useAcquired(this, body, "Lock.use()");
  }

  /** asyncio's repr: `<Lock [locked, waiters:1]>`. */
  override toString(): string {
    const waiters = this._waiters.length ? `, waiters:${this._waiters.length}` : "";
    return `<Lock [${this._locked ? "locked" : "unlocked"}${waiters}]>`;
  }

  /** @internal */
  _wakeUpFirst(): void {
    const w = this._waiters[0];
    // A done head is already woken, or cancelled and about to wake the next one itself.
    if (w !== undefined && !w.done()) w._wake(true);
  }

  /** @internal */
  _waiterDone(w: Waiter<unknown>, outcome: WaiterOutcome): void {
    removeFrom(this._waiters as Waiter<unknown>[], w);
    if (outcome === "claimed") this._locked = true;
    else if (!this._locked) this._wakeUpFirst();
  }
}

/**
 * An event flag (asyncio's `Event`): `wait()` blocks until `set()` is
 * called; `clear()` resets it.
 *
 * @example
 * ```ts
 * import { Event, getRunningLoop, run } from "tsyncio";
 * await run(async () => {
 *   const ev = new Event();
 *   getRunningLoop().callLater(0.01, () => ev.set());
 *   await ev.wait();
 *   console.log(ev.isSet()); // true
 * });
 * ```
 */
export class Event extends LoopBound {
  /** @internal */ _waiters: Future<true>[] = [];
  /** @internal */ _value = false;

  /** Whether the flag is set. */
  isSet(): boolean {
    return this._value;
  }

  /** Set the flag and wake every waiter (they return true even if the flag is cleared again before they run). */
  set(): void {
    if (this._value) return;
    this._value = true;
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) if (!w.done()) w.setResult(true);
  }

  /** Clear the flag: later `wait()` calls block until `set()`. */
  clear(): void {
    this._value = false;
  }

  /**
   * Wait until the flag is set (asyncio's `Event.wait`).
   * @returns a Future resolved with `true` once the flag is set (at once if it is)
   */
  wait(): Future<true> {
    if (this._value) return resolved<true>(true);
    const f = this._getLoop().createFuture<true>();
    this._waiters.push(f);
    f.addDoneCallback(() => removeFrom(this._waiters, f));
    return f;
  }

  /** asyncio's repr: `<Event [unset, waiters:1]>`. */
  override toString(): string {
    const waiters = this._waiters.length ? `, waiters:${this._waiters.length}` : "";
    return `<Event [${this._value ? "set" : "unset"}${waiters}]>`;
  }
}

/**
 * A condition variable (asyncio's `Condition`): tasks holding its lock
 * `wait()` until another task holding it calls `notify()`.
 *
 * @example
 * ```ts
 * import { Condition, getRunningLoop, run } from "tsyncio";
 * await run(async () => {
 *   const cond = new Condition();
 *   const items: number[] = [];
 *   const consumer = getRunningLoop().createTask(() => cond.use(() => cond.waitFor(() => items.length > 0)));
 *   await cond.use(async () => { items.push(1); cond.notify(); });
 *   await consumer;
 * });
 * ```
 */
export class Condition extends LoopBound {
  /** @internal */ _lock: Lock;
  /** @internal */ _waiters: Future<boolean>[] = [];

  /**
   * A condition variable over `lock` (asyncio's `Condition(lock=None)`).
   * @param lock the underlying lock (a new Lock by default)
   */
  constructor(lock?: Lock | null) {
    super();
    if (lock === undefined || lock === null) lock = new Lock();
    else if (!(lock instanceof Lock)) throw new TypeError(`Condition() needs a Lock, got ${formatValue(lock)}`);
    this._lock = lock;
  }

  /** Acquire the underlying lock (see {@link Lock.acquire}). */
  acquire(): Future<true> {
    return this._lock.acquire();
  }

  /** Release the underlying lock (see {@link Lock.release}). */
  release(): void {
    this._lock.release();
  }

  /** Whether the underlying lock is held. */
  locked(): boolean {
    return this._lock.locked();
  }

  /**
   * Release the lock, wait to be notified, then re-acquire the lock — even
   * when cancelled, in which case the CancelledError comes after the lock is
   * held again. RuntimeError at the call if the lock is not held.
   * @returns a Future resolved with `true`
   */
  wait(): Future<true> {
    if (!this.locked()) throw new RuntimeError("cannot wait on un-acquired lock");
    const loop = this._getLoop();
    return new Coro<true>(loop, this._wait(loop));
  }

  /**
   * Wait until `predicate()` is truthy: it is called first, then after each
   * notification, with the lock held.
   * @returns a Future of the predicate's last (truthy) result
   */
  waitFor<R>(predicate: () => R): Future<R> {
    if (typeof predicate !== "function") throw new TypeError(`waitFor() needs a predicate function, got ${formatValue(predicate)}`);
    return new Coro<R>(getRunningLoop() as LockLoop, this._waitFor(predicate));
  }

  /** Wake up to `n` waiters. RuntimeError if the lock is not held. */
  notify(n = 1): void {
    if (!this.locked()) throw new RuntimeError("cannot notify on un-acquired lock");
    this._notify(n);
  }

  /** Wake every waiter. RuntimeError if the lock is not held. */
  notifyAll(): void {
    this.notify(this._waiters.length);
  }

  /**
   * Python's `async with cond:`: acquire the lock, run `body(cond)` in the
   * calling task, release in a finally.
   * @returns a Future of the body's result
   */
  use<R>(body: Body<Condition, R>): Future<R> {
    return useAcquired(this, body, "Condition.use()");
  }

  /** asyncio's repr: `<Condition [locked, waiters:1]>`. */
  override toString(): string {
    const waiters = this._waiters.length ? `, waiters:${this._waiters.length}` : "";
    return `<Condition [${this.locked() ? "locked" : "unlocked"}${waiters}]>`;
  }

  /** @internal */
  *_wait(loop: LockLoop): Generator<unknown, true, unknown> {
    try {
      this.release();
      try {
        const fut = loop.createFuture<boolean>();
        this._waiters.push(fut);
        try {
          yield* fut;
          return true;
        } finally {
          removeFrom(this._waiters, fut);
        }
      } finally {
        // The code after wait() runs with the lock held, cancelled or not.
        let err: CancelledError | null = null;
        for (;;) {
          try {
            yield* this._lock.acquire();
            break;
          } catch (e) {
            if (!(e instanceof CancelledError)) throw e;
            err = e;
          }
        }
        if (err !== null) throw err;
      }
    } catch (e) {
      // It may have come after this waiter was notified: pass the
      // notification on (a spurious wakeup is allowed, a lost one is not).
      this._notify(1);
      throw e;
    }
  }

  /** @internal */
  *_waitFor<R>(predicate: () => R): Generator<unknown, R, unknown> {
    let result = predicate();
    while (!result) {
      if (!this.locked()) throw new RuntimeError("cannot wait on un-acquired lock");
      yield* this._wait(this._getLoop());
      result = predicate();
    }
    return result;
  }

  /** @internal */
  _notify(n: number): void {
    let woken = 0;
    for (const fut of this._waiters) {
      if (woken >= n) break;
      if (!fut.done()) {
        woken++;
        fut.setResult(false);
      }
    }
  }
}

/**
 * A semaphore (asyncio's `Semaphore`): a counter that `acquire()`
 * decrements, waiting while it is 0, and `release()` increments. Waiters
 * are served in FIFO order: while anyone waits, a new `acquire()` waits too.
 *
 * @example
 * ```ts
 * import { run, Semaphore, sleep } from "tsyncio";
 * await run(async () => {
 *   const sem = new Semaphore(2); // at most two at a time
 *   await Promise.all([1, 2, 3].map((i) => sem.use(async () => { await sleep(0.01); return i; })));
 * });
 * ```
 */
export class Semaphore extends LoopBound implements WaiterOwner {
  /** @internal */ _value: number;
  /** @internal */ _waiters: Waiter<true>[] = [];

  /**
   * A semaphore holding `value` units (asyncio's `Semaphore(value=1)`).
   * @param value the initial count (an integer ≥ 0; ValueError when negative)
   */
  constructor(value = 1) {
    super();
    checkInteger(value, "Semaphore initial value");
    if (value < 0) throw new ValueError("Semaphore initial value must be >= 0");
    this._value = value;
  }

  /** True when `acquire()` would wait: the count is 0, or others wait first (asyncio 3.13). */
  locked(): boolean {
    return this._value === 0 || this._waiters.some((w) => !w.cancelled());
  }

  /**
   * Take a unit, waiting in FIFO order while none is free (asyncio's `Semaphore.acquire`).
   * @returns a Future resolved with `true` once a unit is taken; cancelling it gives up the wait
   */
  acquire(): Future<true> {
    if (!this.locked()) {
      const loop = getRunningLoop() as LockLoop;
      this._value--;
      return resolved<true>(true, loop);
    }
    const w = new Waiter<true>(this._getLoop(), this);
    this._waiters.push(w);
    return w;
  }

  /** Give a unit back, waking the first waiter. */
  release(): void {
    this._value++;
    this._wakeUpNext();
  }

  /**
   * Python's `async with sem:`: acquire, run `body(sem)` in the calling
   * task, release in a finally.
   * @returns a Future of the body's result
   */
  use<R>(body: Body<this, R>): Future<R> {
    return useAcquired(this, body, `${this.constructor.name}.use()`);
  }

  /** asyncio's repr: `<Semaphore [unlocked, value:2]>`. */
  override toString(): string {
    const state = this.locked() ? "locked" : `unlocked, value:${this._value}`;
    const waiters = this._waiters.length ? `, waiters:${this._waiters.length}` : "";
    return `<${this.constructor.name} [${state}${waiters}]>`;
  }

  /** @internal wake the first waiter not yet woken, reserving a unit for it */
  _wakeUpNext(): boolean {
    for (const w of this._waiters) {
      if (!w.done()) {
        this._value--;
        w._wake(true);
        return true;
      }
    }
    return false;
  }

  /** @internal */
  _waiterDone(w: Waiter<unknown>, outcome: WaiterOutcome): void {
    removeFrom(this._waiters as Waiter<unknown>[], w);
    // Woken but never ran: the unit reserved for it goes back.
    if (outcome === "abandoned") this._value++;
    // Waiters that queued behind this one (FIFO) may go now.
    while (this._value > 0 && this._wakeUpNext());
  }
}

/**
 * A semaphore that may not be released above its initial value
 * (asyncio's `BoundedSemaphore`): such a `release()` is a ValueError.
 *
 * @example
 * ```ts
 * import { BoundedSemaphore, ValueError } from "tsyncio";
 * const sem = new BoundedSemaphore(1);
 * try { sem.release(); } catch (e) { console.log(e instanceof ValueError); } // true
 * ```
 */
export class BoundedSemaphore extends Semaphore {
  /** @internal */ _boundValue: number;

  /**
   * A semaphore that refuses to be released above its initial count (asyncio's `BoundedSemaphore`).
   * @param value the initial and highest count
   */
  constructor(value = 1) {
    super(value);
    this._boundValue = value;
  }

  /** Give a unit back; ValueError if that would go above the initial value. */
  override release(): void {
    if (this._value >= this._boundValue) throw new ValueError("BoundedSemaphore released too many times");
    super.release();
  }
}

/** Raised by `Barrier.wait()` when the barrier is broken (aborted) or reset while waiting. */
export class BrokenBarrierError extends RuntimeError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "BrokenBarrierError";
}

type BarrierState = "filling" | "draining" | "resetting" | "broken";

/**
 * A barrier (asyncio's `Barrier`): `wait()` blocks until `parties` tasks
 * wait, then releases them all together, each with its own index
 * 0..parties-1; the barrier is then reusable.
 *
 * @example
 * ```ts
 * import { Barrier, gather, run } from "tsyncio";
 * await run(async () => {
 *   const b = new Barrier(3);
 *   console.log(await gather(b.wait(), b.wait(), b.wait())); // [0, 1, 2]
 * });
 * ```
 */
export class Barrier {
  /** @internal */ _cond: Condition = new Condition();
  /** @internal */ _parties: number;
  /** @internal */ _state: BarrierState = "filling";
  /** @internal */ _count = 0;

  /**
   * A barrier for `parties` tasks (asyncio's `Barrier(parties)`).
   * @param parties how many tasks must wait to trip the barrier (≥ 1; ValueError otherwise)
   */
  constructor(parties: number) {
    checkInteger(parties, "parties");
    if (parties < 1) throw new ValueError("parties must be > 0");
    this._parties = parties;
  }

  /**
   * Wait until `parties` tasks wait (the last one does not block). While the
   * barrier drains or resets, new waiters wait for that to end first.
   * @returns a Future of this waiter's index, 0 to parties-1; BrokenBarrierError if the barrier is or gets broken or reset
   */
  wait(): Future<number> {
    return new Coro<number>(getRunningLoop() as LockLoop, this._wait());
  }

  /**
   * Put the barrier back to its empty state; tasks waiting on it get
   * BrokenBarrierError.
   * @returns a Future done once the state changed
   */
  reset(): Future<void> {
    return new Coro<void>(getRunningLoop() as LockLoop, this._locked(() => {
      if (this._count > 0) {
        if (this._state !== "resetting") this._state = "resetting";
      } else {
        this._state = "filling";
      }
    }));
  }

  /**
   * Break the barrier: current and future `wait()` calls get
   * BrokenBarrierError (until `reset()`).
   * @returns a Future done once the state changed
   */
  abort(): Future<void> {
    return new Coro<void>(getRunningLoop() as LockLoop, this._locked(() => {
      this._state = "broken";
    }));
  }

  /**
   * Python's `async with barrier as index:` — wait, then run `body(index)`
   * in the calling task (a barrier has nothing to release afterwards).
   * @returns a Future of the body's result
   */
  use<R>(body: Body<number, R>): Future<R> {
    checkBody(body, "Barrier.use()");
    const loop = getRunningLoop() as LockLoop;
    return runInTask(loop, async () => {
      const index = await this.wait();
      return await callBody<number, R>(loop, body as (arg: number) => unknown, index);
    });
  }

  /** How many tasks must wait to trip the barrier. */
  get parties(): number {
    return this._parties;
  }

  /** How many tasks wait now (0 while the barrier drains, resets or is broken). */
  get nWaiting(): number {
    return this._state === "filling" ? this._count : 0;
  }

  /** Whether the barrier is broken (see {@link Barrier.abort}). */
  get broken(): boolean {
    return this._state === "broken";
  }

  /** asyncio's repr: `<Barrier [filling, waiters:1/3]>`. */
  toString(): string {
    const waiters = this.broken ? "" : `, waiters:${this.nWaiting}/${this._parties}`;
    return `<Barrier [${this._state}${waiters}]>`;
  }

  /** @internal */
  *_wait(): Generator<unknown, number, unknown> {
    yield* this._cond.acquire();
    try {
      // Wait while the barrier drains or resets.
      yield* this._cond._waitFor(() => this._state !== "draining" && this._state !== "resetting");
      if (this._state === "broken") throw new BrokenBarrierError("Barrier aborted");
      try {
        const index = this._count++;
        if (index + 1 === this._parties) {
          // The last one releases the others; newcomers wait until they left.
          this._state = "draining";
          this._cond.notifyAll();
        } else {
          yield* this._cond._waitFor(() => this._state !== "filling");
          const state = this._state as BarrierState; // changed by others while we waited
          if (state === "broken" || state === "resetting") {
            throw new BrokenBarrierError("Abort or reset of barrier");
          }
        }
        return index;
      } finally {
        this._count--;
        this._exit();
      }
    } finally {
      this._cond.release();
    }
  }

  /** @internal the last task out ends draining or resetting */
  _exit(): void {
    if (this._count === 0) {
      if (this._state === "resetting" || this._state === "draining") this._state = "filling";
      this._cond.notifyAll();
    }
  }

  /** @internal change the state with the condition's lock held, and tell every waiter */
  *_locked(change: () => void): Generator<unknown, void, unknown> {
    yield* this._cond.acquire();
    try {
      change();
      this._cond.notifyAll();
    } finally {
      this._cond.release();
    }
  }
}
