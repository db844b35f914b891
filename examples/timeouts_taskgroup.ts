// Deadlines and structured concurrency: timeout(), timeoutAt(), waitFor(),
// and a TaskGroup in which one task fails and the others are cancelled.
//   bun examples/timeouts_taskgroup.ts
//   deno run --allow-ffi examples/timeouts_taskgroup.ts
//   node scripts/build-node.mjs .build/examples examples/timeouts_taskgroup.ts && node .build/examples/timeouts_taskgroup.mjs
import {
  CancelledError, ExceptionGroup, getRunningLoop, run, sleep, taskGroup, timeout, timeoutAt, TimeoutError, waitFor,
} from "../mod.ts";

await run(async () => {
  const loop = getRunningLoop();

  // timeout(delay, body) is `async with asyncio.timeout(delay):`. When the
  // deadline passes, the await the body is blocked in is cancelled, and the
  // call rejects with TimeoutError.
  try {
    await timeout(0.05, async (cm) => {
      console.log(`timeout: deadline in ${(cm.when()! - loop.time()).toFixed(2)} s; sleeping 10 s`);
      try {
        await sleep(10);
      } finally {
        console.log(`timeout: the body's sleep was interrupted, cm.expired() = ${cm.expired()}`);
      }
    });
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    console.log(`timeout: TimeoutError (its cause is a CancelledError: ${e.cause instanceof CancelledError})`);
  }

  // A body that finishes in time gives its result; reschedule() moves the
  // deadline while the body runs. timeoutAt() takes a deadline on loop.time().
  const value = await timeoutAt(loop.time() + 0.05, async (cm) => {
    cm.reschedule(loop.time() + 1); // more time
    await sleep(0.1);
    return "in time";
  });
  console.log(`timeoutAt: ${value}`);

  // waitFor(aw, timeout): the result if it comes in time; otherwise aw is
  // cancelled, waited for, and waitFor rejects with TimeoutError.
  console.log(`waitFor: ${await waitFor(sleep(0.01, "fast enough"), 1)}`);
  try {
    await waitFor(async () => {
      try {
        await sleep(10);
      } finally {
        console.log("waitFor: the slow coroutine was cancelled");
      }
    }, 0.05);
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    console.log("waitFor: TimeoutError");
  }

  // taskGroup(body) is `async with asyncio.TaskGroup() as tg:`. The first
  // task to fail cancels the other tasks and the body; the group then rejects
  // with an ExceptionGroup of the failures.
  async function worker(name: string, delay: number, fail = false): Promise<string> {
    try {
      await sleep(delay);
      if (fail) throw new Error(`${name} failed`);
      console.log(`taskGroup: ${name} finished`);
      return name;
    } catch (e) {
      if (e instanceof CancelledError) console.log(`taskGroup: ${name} was cancelled`);
      throw e;
    }
  }
  try {
    await taskGroup(async (tg) => {
      tg.createTask(() => worker("quick", 0.01));
      tg.createTask(() => worker("faulty", 0.03, true));
      tg.createTask(() => worker("slow", 10), { name: "slow" });
      try {
        await sleep(10);
      } catch (e) {
        if (e instanceof CancelledError) console.log("taskGroup: the body was cancelled too");
        throw e;
      }
    });
  } catch (e) {
    if (!(e instanceof ExceptionGroup)) throw e;
    console.log(`taskGroup: ${e.message}`);
    for (const err of e.exceptions) console.log(`  - ${(err as Error).message}`);
  }

  // A group whose tasks all succeed gives the body's result.
  const total = await taskGroup(async (tg) => {
    const tasks = [1, 2, 3].map((n) => tg.createTask(() => sleep(0.01 * n, n)));
    return (await Promise.all(tasks)).reduce((a, b) => a + b, 0);
  });
  console.log(`taskGroup: all tasks done, total ${total}`);
});
