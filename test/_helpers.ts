/** Shared test helpers: descriptor counting, GC, the selectors to cover. */

import { EventLoop, type EventLoopOptions, newEventLoop } from "../mod.ts";
import { libc } from "../src/native.ts";

/** Every selector this OS has. */
export const SELECTORS: ("epoll" | "poll")[] = libc.epoll_create1 ? ["epoll", "poll"] : ["poll"];

const F_GETFD = 1;

/**
 * The open descriptors of this process, found with fcntl(F_GETFD) (the same
 * set /proc/self/fd lists, without needing read access to /proc on Deno).
 */
export function openFds(limit = 4096): number[] {
  const out: number[] = [];
  for (let fd = 0; fd < limit; fd++) if (libc.fcntl(fd, F_GETFD, 0) >= 0) out.push(fd);
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
