/** asyncio.run, and the few high-level helpers the core needs (sleep, ensureFuture). */

import { RuntimeError } from "./errors.ts";
import { Future } from "./futures.ts";
import { Task } from "./tasks.ts";
import { type Coroutine } from "./coroutines.ts";
import { ensureFutureOn, type BaseEventLoop } from "./base_events.ts";
import { getEventLoop, newEventLoop, setEventLoop } from "./events.ts";
import { _getRunningLoop } from "./running.ts";
import type { EventLoop } from "./unix_events.ts";

/**
 * Run `main` on a new loop and return its result (`main` may also be a
 * coroutine function, called once the loop runs): afterwards the leftover
 * tasks are cancelled and awaited, the default executor is shut down, and
 * the loop is closed.
 */
export async function run<T>(main: Coroutine<T> | (() => Coroutine<T> | T), options: { debug?: boolean } = {}): Promise<T> {
  if (_getRunningLoop() !== null) throw new RuntimeError("run() cannot be called from a running event loop");
  const loop = newEventLoop();
  try {
    setEventLoop(loop);
    if (options.debug !== undefined) loop.setDebug(options.debug);
    return await loop.runUntilComplete(main);
  } finally {
    try {
      await cancelAllTasks(loop);
      await loop.runUntilComplete(loop.shutdownAsyncgens());
      await loop.runUntilComplete(loop.shutdownDefaultExecutor());
    } finally {
      setEventLoop(null);
      loop.close();
    }
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

/** A Future resolved with `result` after `delay` seconds (`yield* sleep(1)` or `await sleep(1)`). */
export function sleep<T = undefined>(delay: number, result?: T, options: { loop?: BaseEventLoop } = {}): Future<T> {
  const loop = (options.loop ?? getEventLoop()) as BaseEventLoop;
  const fut = loop.createFuture<T>();
  const h = loop.callLater(delay, () => {
    if (!fut.done()) fut.setResult(result as T);
  });
  fut.addDoneCallback(() => h.cancel());
  return fut;
}

/** A Future for `obj`: itself if it is one, otherwise a Task running the coroutine. */
export function ensureFuture<T>(obj: Future<T> | Coroutine<T>, options: { loop?: BaseEventLoop } = {}): Future<T> {
  if (obj instanceof Future && options.loop === undefined) return obj;
  return ensureFutureOn(obj, (options.loop ?? getEventLoop()) as BaseEventLoop);
}
