/**
 * What counts as a coroutine: a generator object from a `function*` that
 * yields futures, or a native promise (any thenable that is not a Future).
 */

import { Future } from "./futures.ts";

/** What a `function*` coroutine returns: a generator that yields futures and returns a `T`. */
export type GeneratorCoroutine<T = unknown> = Generator<unknown, T, unknown>;
// Spelled out rather than via GeneratorCoroutine, so the public type names only public types.
/**
 * A coroutine, as asyncio's APIs take it: a generator object from a
 * `function*` that waits with `yield* future`, or a native promise (an
 * `async` function's result, any `PromiseLike`). A promise is already
 * running when it is handed over, so a Task cannot interrupt it: pass the
 * coroutine function instead where cancellation matters.
 */
export type Coroutine<T = unknown> = Generator<unknown, T, unknown> | PromiseLike<T>;

/** True for a generator object (a `function*` coroutine). */
export function isGeneratorCoroutine(obj: unknown): obj is GeneratorCoroutine {
  return typeof obj === "object" && obj !== null &&
    typeof (obj as Generator).next === "function" && typeof (obj as Generator).throw === "function" &&
    typeof (obj as Generator)[Symbol.iterator] === "function";
}

/** True for a thenable that is not one of our futures. */
export function isPromiseLike(obj: unknown): obj is PromiseLike<unknown> {
  return (typeof obj === "object" || typeof obj === "function") && obj !== null &&
    typeof (obj as PromiseLike<unknown>).then === "function" && !(obj instanceof Future);
}

/** asyncio's `iscoroutine`: a generator coroutine or a native promise. */
export function isCoroutine(obj: unknown): obj is Coroutine {
  return isGeneratorCoroutine(obj) || isPromiseLike(obj);
}

const AsyncFunction = (async () => {}).constructor;
const GeneratorFunction = function* () {}.constructor;
const AsyncGeneratorFunction = async function* () {}.constructor;

/** True for a function that makes coroutines (`async function` or `function*`). */
export function isCoroutineFunction(fn: unknown): boolean {
  if (typeof fn !== "function") return false;
  // Comparing constructors costs a fraction of reading `constructor.name` (callSoon is hot).
  const c = fn.constructor;
  return c === AsyncFunction || c === GeneratorFunction || c === AsyncGeneratorFunction;
}

/**
 * A function of no arguments that returns a coroutine (or a future, or a
 * plain value): `async () => ...`, `function* () {...}`. Every API that takes
 * a coroutine also takes one of these and calls it itself.
 */
export type CoroutineFunction<T = unknown> = () => Coroutine<T> | Future<T> | T;

/** What the high-level API waits for: a Future or Task, a coroutine, or a coroutine function. */
export type Awaitable<T = unknown> = Future<T> | Coroutine<T> | CoroutineFunction<T>;

/** Throw a TypeError at the call unless `aw` is an {@link Awaitable}. */
export function checkAwaitable(aw: unknown, what: string): void {
  if (aw instanceof Future || typeof aw === "function" || isCoroutine(aw)) return;
  const shown = typeof aw === "number" || typeof aw === "string" ? JSON.stringify(aw) : Object.prototype.toString.call(aw);
  throw new TypeError(`${what} needs a Future, a coroutine or a coroutine function, got ${shown}`);
}
