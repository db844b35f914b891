/**
 * asyncio's `queues`: Queue (FIFO), PriorityQueue and LifoQueue, with
 * asyncio 3.13's `shutdown()`.
 *
 * `get()` and `put()` return futures (see locks.ts for the Waiter they
 * return when they must wait). Blocked getters are served in FIFO order:
 * a `put` hands the item to the first waiting getter at once. A woken
 * putter has a free slot reserved for it, and its item goes in when its
 * awaiting code resumes. A task cancelled between the wake-up and its
 * resumption gives the item back to the front of the queue (or the slot to
 * the next putter), so a `get()` that ends in CancelledError never loses an
 * item and such a `put()` never adds one, as in asyncio.
 */

import { ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import type { Future } from "./futures.ts";
import { getRunningLoop } from "./running.ts";
import {
  checkInteger, type LockLoop, LoopBound, rejected, removeFrom, Waiter, type WaiterOutcome, type WaiterOwner,
} from "./locks.ts";

/** `getNowait()` on an empty queue. */
export class QueueEmpty extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "QueueEmpty";
}

/** `putNowait()` on a full queue. */
export class QueueFull extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "QueueFull";
}

/** `put()` after `shutdown()`, or `get()` on a shut-down queue that is empty (or was shut down immediately). */
export class QueueShutDown extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "QueueShutDown";
}

/** The options of `new Queue()` and `new LifoQueue()`. */
export interface QueueOptions {
  /** The most items the queue holds; 0 or less (the default) means no limit. */
  maxsize?: number;
}

/** The options of `new PriorityQueue()`. */
export interface PriorityQueueOptions<T> extends QueueOptions {
  /**
   * The order, as `Array.prototype.sort` takes it: negative means `a` comes
   * out first. Default: Python's `<` on numbers, strings and arrays
   * (compared element by element, so `[priority, item]` tuples work).
   */
  compare?: (a: T, b: T) => number;
}

/** Where a queue keeps its items. */
interface Store<T> {
  readonly size: number;
  push(item: T): void;
  /** The next item out. */
  take(): T;
  /** Give back an item just taken, so that it is the next one out again. */
  putBack(item: T): void;
  toArray(): T[];
}

/** FIFO: a growable array with a moving head. */
class Fifo<T> implements Store<T> {
  #a: (T | undefined)[] = [];
  #head = 0;
  get size(): number {
    return this.#a.length - this.#head;
  }
  push(item: T): void {
    this.#a.push(item);
  }
  take(): T {
    const item = this.#a[this.#head] as T;
    this.#a[this.#head++] = undefined;
    if (this.#head === this.#a.length) {
      this.#a.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#a.length) {
      this.#a = this.#a.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
  putBack(item: T): void {
    if (this.#head > 0) this.#a[--this.#head] = item;
    else this.#a.unshift(item);
  }
  toArray(): T[] {
    return this.#a.slice(this.#head) as T[];
  }
}

/** LIFO: a stack. */
class Lifo<T> implements Store<T> {
  #a: T[] = [];
  get size(): number {
    return this.#a.length;
  }
  push(item: T): void {
    this.#a.push(item);
  }
  take(): T {
    return this.#a.pop() as T;
  }
  putBack(item: T): void {
    this.#a.push(item);
  }
  toArray(): T[] {
    return this.#a.slice();
  }
}

interface Entry<T> {
  item: T;
  seq: number;
}

/** A binary min-heap; equal items come out in insertion order. */
class Heap<T> implements Store<T> {
  #h: Entry<T>[] = [];
  #seq = 0;
  #compare: (a: T, b: T) => number;
  constructor(compare: (a: T, b: T) => number) {
    this.#compare = compare;
  }
  get size(): number {
    return this.#h.length;
  }
  #less(a: Entry<T>, b: Entry<T>): boolean {
    const c = this.#compare(a.item, b.item);
    return c < 0 || (c === 0 && a.seq < b.seq);
  }
  push(item: T): void {
    const e = { item, seq: this.#seq++ };
    const h = this.#h;
    // Find the place first: a compare that throws (incomparable items) leaves the heap as it was.
    let to = h.length;
    while (to > 0) {
      const p = (to - 1) >> 1;
      if (!this.#less(e, h[p])) break;
      to = p;
    }
    let i = h.length;
    h.push(e);
    while (i > to) {
      const p = (i - 1) >> 1;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }
  take(): T {
    const h = this.#h;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      const n = h.length;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && this.#less(h[c + 1], h[c])) c++;
        if (!this.#less(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top.item;
  }
  putBack(item: T): void {
    this.push(item);
  }
  toArray(): T[] {
    return this.#h.map((e) => e.item);
  }
}

function isNumberLike(v: unknown): v is number | bigint | boolean {
  return typeof v === "number" || typeof v === "bigint" || typeof v === "boolean";
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/** Python's `==` on the values pyCompare orders. */
function pyEquals(a: unknown, b: unknown): boolean {
  if (isNumberLike(a) && isNumberLike(b)) return a == b;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a === b) return true;
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!pyEquals(a[i], b[i])) return false;
    return true;
  }
  return a === b;
}

/** Strings by code point, as Python compares them (JavaScript's `<` compares UTF-16 units). */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a.charCodeAt(i) !== b.charCodeAt(i)) return a.codePointAt(i)! < b.codePointAt(i)! ? -1 : 1;
  }
  return a.length < b.length ? -1 : 1;
}

/**
 * The default PriorityQueue order, Python's: numbers (booleans and bigints
 * too) by value, strings by code point, arrays element by element (the
 * first unequal pair decides, then the shorter array comes first). Any other
 * pair is a TypeError, as `<` between them is in Python.
 */
function pyCompare(a: unknown, b: unknown): number {
  if (isNumberLike(a) && isNumberLike(b)) return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "string" && typeof b === "string") return compareStrings(a, b);
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i]);
    return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
  }
  throw new TypeError(`'<' not supported between instances of '${typeName(a)}' and '${typeName(b)}'`);
}

const NO_ITEM = Symbol("no item");

/**
 * A FIFO queue for tasks (asyncio's `Queue`): `put()` waits while it is
 * full, `get()` waits while it is empty; `taskDone()` and `join()` track
 * the items being processed; `shutdown()` ends it. Also an async iterable of
 * its items, which ends at shutdown (`for await (const item of queue)`).
 *
 * @example
 * ```ts
 * import { Queue, run } from "tsyncio";
 * await run(async () => {
 *   const q = new Queue<number>({ maxsize: 2 });
 *   const consumer = (async () => { for await (const n of q) { console.log(n); q.taskDone(); } })();
 *   for (const n of [1, 2, 3]) await q.put(n);
 *   await q.join();
 *   q.shutdown();
 *   await consumer;
 * });
 * ```
 */
export class Queue<T = unknown> extends LoopBound implements WaiterOwner, AsyncIterable<T> {
  /** @internal */ _maxsize: number;
  /** @internal */ _store: Store<T>;
  /** @internal blocked get() calls (tag "get") and iterator steps (tag "next") */
  _getters: Waiter<unknown>[] = [];
  /** @internal blocked put() calls, each carrying its item */
  _putters: Waiter<void>[] = [];
  /** @internal slots promised to woken putters that have not put yet */
  _reserved = 0;
  /** @internal */ _unfinished = 0;
  /** @internal */ _joiners: Future<void>[] = [];
  /** @internal */ _isShutdown = false;
  /** @internal */ _immediate = false;

  /**
   * A FIFO queue (asyncio's `Queue(maxsize=0)`).
   * @param options `maxsize`: the most items held (0, the default: no limit)
   */
  constructor(options: QueueOptions = {}) {
    super();
    if (options === null || typeof options !== "object") throw new TypeError(`Queue options must be an object, got ${formatValue(options)}`);
    const maxsize = options.maxsize ?? 0;
    if (typeof maxsize !== "number" || Number.isNaN(maxsize)) {
      throw new TypeError(`maxsize must be a number, got ${formatValue(maxsize)}`);
    }
    this._maxsize = maxsize;
    this._store = this._makeStore(options);
  }

  /** The most items the queue holds (0 or less: no limit). */
  get maxsize(): number {
    return this._maxsize;
  }

  /** How many items are in the queue. */
  qsize(): number {
    return this._store.size;
  }

  /** Whether the queue holds no item. */
  empty(): boolean {
    return this._store.size === 0;
  }

  /** Whether `putNowait()` would throw QueueFull (slots promised to woken putters count as taken). */
  full(): boolean {
    return this._maxsize > 0 && this._store.size + this._reserved >= this._maxsize;
  }

  /**
   * Put an item, waiting for a free slot while the queue is full.
   * @returns a Future done once the item is in; QueueShutDown after `shutdown()`
   */
  put(item: T): Future<void> {
    const loop = getRunningLoop() as LockLoop;
    if (this._isShutdown) return rejected(new QueueShutDown(), loop);
    if (!this.full()) {
      try {
        this._putItem(item);
      } catch (e) {
        return rejected(e, loop);
      }
      const f = loop.createFuture<void>();
      f.setResult(undefined);
      return f;
    }
    const w = new Waiter<void>(this._getLoop(), this, "put", item);
    this._putters.push(w);
    return w;
  }

  /** Put an item now: QueueFull if the queue is full, QueueShutDown after `shutdown()`. */
  putNowait(item: T): void {
    if (this._isShutdown) throw new QueueShutDown();
    if (this.full()) throw new QueueFull();
    this._putItem(item);
  }

  /**
   * Remove and return an item, waiting while the queue is empty.
   * @returns a Future of the item; QueueShutDown once a shut-down queue is empty
   */
  get(): Future<T> {
    return this._getFuture("get") as Future<T>;
  }

  /** Remove and return an item now: QueueEmpty if there is none, QueueShutDown if shut down and empty. */
  getNowait(): T {
    if (this._store.size === 0) throw this._isShutdown ? new QueueShutDown() : new QueueEmpty();
    return this._take();
  }

  /**
   * Tell the queue that an item got earlier is processed; `join()` returns
   * when every item put has been. ValueError if called more times than
   * items were put.
   */
  taskDone(): void {
    if (this._unfinished <= 0) throw new ValueError("taskDone() called too many times");
    if (--this._unfinished === 0) this._finishJoiners();
  }

  /**
   * Wait until every item put has been processed (asyncio's `Queue.join`).
   * @returns a Future done once every item put has been marked done with `taskDone()`
   */
  join(): Future<void> {
    if (this._unfinished === 0) {
      const f = (getRunningLoop() as LockLoop).createFuture<void>();
      f.setResult(undefined);
      return f;
    }
    const f = this._getLoop().createFuture<void>();
    this._joiners.push(f);
    f.addDoneCallback(() => removeFrom(this._joiners, f));
    return f;
  }

  /**
   * Shut the queue down (asyncio 3.13): `put()` throws QueueShutDown from now
   * on, and `get()` once the queue is empty; with `immediate`, the items
   * left are dropped (each counted as done for `join()`) so `get()` throws
   * at once. Blocked putters and getters get QueueShutDown; async iteration
   * ends.
   */
  shutdown(immediate = false): void {
    this._isShutdown = true;
    if (immediate) {
      this._immediate = true;
      while (this._store.size > 0) {
        this._store.take();
        if (this._unfinished > 0) this._unfinished--;
      }
      if (this._unfinished === 0) this._finishJoiners();
    }
    const getters = this._getters;
    this._getters = [];
    for (const w of getters) {
      if (w.done()) continue;
      if (w._tag === "next") w._wake({ value: undefined, done: true });
      else w._fail(new QueueShutDown());
    }
    const putters = this._putters;
    this._putters = [];
    for (const w of putters) if (!w.done()) w._fail(new QueueShutDown());
  }

  /** The items, one `get()` at a time, until the queue is shut down and empty. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    // Each step is one of our futures (a thenable), so `for await` in a task
    // waits on it as on any await: cancelling the task cancels the step.
    return { next: () => this._getFuture("next") as unknown as Promise<IteratorResult<T>> };
  }

  /** asyncio's repr: `<Queue maxsize=0 _queue=[1, 2] tasks=2>`. */
  override toString(): string {
    let s = `<${this.constructor.name} maxsize=${this._maxsize}`;
    if (this._store.size > 0) s += ` _queue=${formatValue(this._store.toArray())}`;
    if (this._getters.length) s += ` _getters[${this._getters.length}]`;
    if (this._putters.length) s += ` _putters[${this._putters.length}]`;
    if (this._unfinished) s += ` tasks=${this._unfinished}`;
    if (this._isShutdown) s += " shutdown";
    return s + ">";
  }

  /** @internal where the items live: FIFO here, overridden by the subclasses */
  _makeStore(_options: QueueOptions): Store<T> {
    return new Fifo<T>();
  }

  /** @internal */
  _getFuture(tag: "get" | "next"): Future<unknown> {
    const loop = getRunningLoop() as LockLoop;
    if (this._store.size > 0) {
      const item = this._take();
      const f = loop.createFuture<unknown>();
      f.setResult(tag === "next" ? { value: item, done: false } : item);
      return f;
    }
    if (this._isShutdown) {
      if (tag === "get") return rejected(new QueueShutDown(), loop);
      const f = loop.createFuture<unknown>();
      f.setResult({ value: undefined, done: true });
      return f;
    }
    const w = new Waiter<unknown>(this._getLoop(), this, tag, NO_ITEM);
    this._getters.push(w);
    return w;
  }

  /** @internal add an item (room checked by the caller) and hand items to waiting getters */
  _putItem(item: T): void {
    this._store.push(item);
    this._unfinished++;
    this._serveGetters();
  }

  /** @internal take the next item out; the slot it frees goes to the first putter */
  _take(): T {
    const item = this._store.take();
    this._servePutters();
    return item;
  }

  /** @internal */
  _serveGetters(): void {
    while (this._store.size > 0 && this._getters.length > 0) {
      const w = this._getters.shift()!;
      if (w.done()) continue;
      const item = this._take();
      w._item = item;
      w._wake(w._tag === "next" ? { value: item, done: false } : item);
    }
  }

  /** @internal */
  _servePutters(): void {
    while (this._putters.length > 0 && !this.full()) {
      const w = this._putters.shift()!;
      if (w.done()) continue;
      this._reserved++;
      w._wake(undefined);
    }
  }

  /** @internal */
  _finishJoiners(): void {
    const joiners = this._joiners;
    this._joiners = [];
    for (const f of joiners) if (!f.done()) f.setResult(undefined);
  }

  /** @internal */
  _waiterDone(w: Waiter<unknown>, outcome: WaiterOutcome): void {
    if (w._tag === "put") {
      if (outcome === "cancelled") {
        removeFrom(this._putters as Waiter<unknown>[], w);
        return;
      }
      this._reserved--;
      try {
        // After shutdown(immediate) the queue was drained: the item goes the same way.
        if (outcome === "claimed" && !this._immediate) this._putItem(w._item as T);
      } finally {
        this._servePutters();
      }
      return;
    }
    if (outcome === "cancelled") {
      removeFrom(this._getters, w);
      return;
    }
    if (outcome === "abandoned" && w._item !== NO_ITEM) {
      // The item never reached the cancelled task: it is the next one out again.
      if (this._immediate) {
        if (this._unfinished > 0 && --this._unfinished === 0) this._finishJoiners();
        return;
      }
      this._store.putBack(w._item as T);
      this._serveGetters();
    }
  }
}

/**
 * A queue that gives the smallest item first (asyncio's `PriorityQueue`),
 * by default in Python's order, so `[priority, data]` arrays work as tuples
 * do; or by `compare`.
 *
 * @example
 * ```ts
 * import { PriorityQueue } from "tsyncio";
 * const q = new PriorityQueue<[number, string]>();
 * q.putNowait([2, "b"]);
 * q.putNowait([1, "a"]);
 * console.log(q.getNowait()); // [1, "a"]
 * ```
 */
export class PriorityQueue<T = unknown> extends Queue<T> {
  /**
   * A queue that hands out the smallest item first (asyncio's `PriorityQueue`).
   * @param options `maxsize`, and `compare(a, b)` (negative: `a` first)
   */
  constructor(options: PriorityQueueOptions<T> = {}) {
    super(options);
  }

  /** @internal */
  override _makeStore(options: PriorityQueueOptions<T>): Store<T> {
    const compare = options.compare;
    if (compare !== undefined && typeof compare !== "function") {
      throw new TypeError(`compare must be a function, got ${formatValue(compare)}`);
    }
    return new Heap<T>(compare ?? (pyCompare as (a: T, b: T) => number));
  }
}

/**
 * A queue that gives the last item put first (asyncio's `LifoQueue`).
 *
 * @example
 * ```ts
 * import { LifoQueue } from "tsyncio";
 * const q = new LifoQueue<number>();
 * q.putNowait(1);
 * q.putNowait(2);
 * console.log(q.getNowait()); // 2
 * ```
 */
export class LifoQueue<T = unknown> extends Queue<T> {
  /** @internal */
  override _makeStore(_options: QueueOptions): Store<T> {
    return new Lifo<T>();
  }
}
