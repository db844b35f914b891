/**
 * What counts as a coroutine: a generator object from a `function*` that
 * yields futures, or a native promise (any thenable that is not a Future).
 */

import { Future } from "./futures.ts";

export type GeneratorCoroutine<T = unknown> = Generator<unknown, T, unknown>;
export type Coroutine<T = unknown> = GeneratorCoroutine<T> | PromiseLike<T>;

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
