// Cancelling tasks: where `task.cancel()` lands in an async function, how a
// function catches it and goes on, what happens during a foreign await, and
// `task.signal` for host APIs that take an AbortSignal.
//   bun examples/cancellation.ts
//   deno run --allow-ffi examples/cancellation.ts
//   node scripts/build-node.mjs .build/examples examples/cancellation.ts && node .build/examples/cancellation.mjs
import { setTimeout as hostSleep } from "node:timers/promises";
import { CancelledError, currentTask, getRunningLoop, run, sleep } from "../mod.ts";

await run(async () => {
  const loop = getRunningLoop();

  // 1. cancel() throws CancelledError at the await the function is blocked
  //    in; `finally` runs, and the task ends cancelled.
  const worker = loop.createTask(async () => {
    try {
      console.log("1. worker: sleeping for an hour");
      await sleep(3600);
    } finally {
      console.log("1. worker: finally runs");
    }
  });
  await sleep(0.01);
  worker.cancel("no longer needed");
  try {
    await worker;
  } catch (e) {
    if (!(e instanceof CancelledError)) throw e;
    console.log(`1. main: worker.cancelled() = ${worker.cancelled()}, message ${JSON.stringify(e.message)}`);
  }

  // 2. A function may catch the CancelledError and go on. uncancel() takes
  //    the request back, so cancelling() is 0 again and later awaits are
  //    not affected.
  const stubborn = loop.createTask(async () => {
    try {
      await sleep(3600);
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      const task = currentTask()!;
      console.log(`2. stubborn: caught the cancellation, cancelling() = ${task.cancelling()}`);
      task.uncancel();
      console.log(`2. stubborn: after uncancel(), cancelling() = ${task.cancelling()}`);
    }
    await sleep(0.01); // not interrupted: the request was taken back
    return "finished anyway";
  });
  await sleep(0.01);
  stubborn.cancel();
  console.log(`2. main: stubborn returned ${JSON.stringify(await stubborn)}`);

  // 3. A foreign promise (a host timer here; fetch or node:fs alike) cannot
  //    be cancelled by tsyncio. The request is kept and delivered at the
  //    function's next await of a tsyncio Future that is not done yet.
  const foreign = loop.createTask(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    console.log("3. foreign: the host timer finished; next, an await of sleep(0.01)");
    try {
      await sleep(0.01);
      console.log("3. foreign: this line does not run");
    } catch (e) {
      if (e instanceof CancelledError) console.log("3. foreign: CancelledError at the next tsyncio await");
      throw e;
    }
  });
  await sleep(0.01);
  foreign.cancel();
  await foreign.catch(() => console.log(`3. main: foreign.cancelled() = ${foreign.cancelled()}`));

  // 4. task.signal aborts as soon as cancellation is requested, so a host API
  //    that takes an AbortSignal stops at once instead of at the next await.
  const host = loop.createTask(async () => {
    const signal = currentTask()!.signal;
    try {
      await hostSleep(3600_000, undefined, { signal });
    } catch (e) {
      console.log(`4. host: the host timer rejected at once with ${(e as Error).name}`);
      // fetch() rejects with the signal's reason (the CancelledError) itself;
      // this host API rejects with an AbortError: rethrowing the reason ends
      // the task cancelled rather than failed.
      throw signal.aborted ? signal.reason : e;
    }
  });
  await sleep(0.01);
  host.cancel();
  await host.catch(() => {});
  console.log(`4. main: host.cancelled() = ${host.cancelled()}`);

  // 5. A task awaiting another task: cancelling the outer one cancels the
  //    inner one too, at the inner task's own await.
  const inner = loop.createTask(async () => {
    try {
      await sleep(3600);
    } finally {
      console.log("5. inner: cancelled through the outer task");
    }
  });
  const outer = loop.createTask(async () => await inner);
  await sleep(0.01);
  outer.cancel();
  await outer.catch(() => {});
  console.log(`5. main: outer.cancelled() = ${outer.cancelled()}, inner.cancelled() = ${inner.cancelled()}`);

  // 6. A task handed a promise that is already running (`fn()` rather than
  //    `fn`) cannot interrupt it: cancel() only cancels the task's own
  //    result and aborts task.signal. The promise runs on.
  let reachedEnd = false;
  const started = loop.createTask((async () => {
    await sleep(0.03);
    reachedEnd = true;
  })());
  await sleep(0.01);
  started.cancel();
  console.log(`6. main: started.cancelled() = ${started.cancelled()}, signal aborted = ${started.signal.aborted}`);
  await sleep(0.05);
  console.log(`6. main: the promise ran to its end anyway: ${reachedEnd}`);
});
