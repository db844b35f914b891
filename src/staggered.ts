/**
 * Happy Eyeballs (RFC 8305) as asyncio's `staggered_race`: start the
 * attempts one after another, each `delay` seconds after the previous one
 * started or at once when it failed; the first to succeed wins and the
 * others are cancelled.
 */

import type { Coroutine } from "./coroutines.ts";
import type { Future } from "./futures.ts";
import type { Task } from "./tasks.ts";
import type { TimerHandle } from "./handles.ts";

interface RaceLoop {
  createFuture<T>(): Future<T>;
  createTask<T>(coro: Coroutine<T>): Task<T>;
  callLater(delay: number, cb: () => void): TimerHandle;
}

/**
 * Returns [winner result or null, its index or null, the error of each
 * attempt (null where none)]. `discard` cleans up a result that lost the race.
 */
export function* staggeredRace<T>(
  attempts: (() => Coroutine<T>)[],
  delay: number,
  loop: RaceLoop,
  discard: (result: T) => void,
): Generator<unknown, [T | null, number | null, unknown[]], unknown> {
  const errors: unknown[] = attempts.map(() => null);
  const tasks: Task<T>[] = [];
  const finished = loop.createFuture<void>();
  let winner: T | null = null;
  let winnerIndex: number | null = null;
  let next = 0;
  let running = 0;
  let timer: TimerHandle | null = null;

  const startNext = (): void => {
    timer?.cancel();
    timer = null;
    if (finished.done() || next >= attempts.length) return;
    const i = next++;
    const task = loop.createTask(attempts[i]());
    tasks.push(task);
    running++;
    task.addDoneCallback((t) => {
      running--;
      if (t.cancelled()) {
        if (!finished.done() && running === 0 && next >= attempts.length) finished.setResult(undefined);
        return;
      }
      const exc = t.exception();
      if (finished.done()) {
        if (exc === null) discard(t.result());
        return;
      }
      if (exc !== null) {
        errors[i] = exc;
        startNext(); // a failure starts the next attempt at once
        if (running === 0 && next >= attempts.length) finished.setResult(undefined);
        return;
      }
      winner = t.result();
      winnerIndex = i;
      finished.setResult(undefined);
    });
    if (next < attempts.length) timer = loop.callLater(delay, startNext);
  };

  startNext();
  try {
    yield* finished;
  } finally {
    (timer as TimerHandle | null)?.cancel();
    for (const t of tasks) if (!t.done()) t.cancel();
  }
  return [winner, winnerIndex, errors];
}
