/**
 * run() and Runner: behaviours ported from CPython's test_runners, with
 * coroutine functions, generator functions, coroutines and plain functions.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  allTasks, CancelledError, currentTask, type EventLoop, getEventLoop, getRunningLoop, newEventLoop, run, Runner,
  RuntimeError, sleep, type Task,
} from "../mod.ts";
import { assertClean, rejects } from "./_helpers.ts";

// ---- run() ----

test("run() returns the result of a coroutine function, a generator function, a coroutine, a plain function", async () => {
  assert.is(
    await run(async () => {
      await sleep(0);
      return 42;
    }),
    42,
  );
  assert.is(
    await run(function* (): Generator<unknown, number, unknown> {
      const v = yield* sleep(0.001, 20);
      return v + 1;
    }),
    21,
  );
  function* gen(): Generator<unknown, string, unknown> {
    yield* sleep(0.001);
    return "generator object";
  }
  assert.is(await run(gen()), "generator object");
  assert.is(await run((async () => "started promise")()), "started promise");
  assert.is(await run(() => 7), 7);
  assert.is(await run(() => sleep(0.001, "future from a function")), "future from a function");
});

test("run(): the main task is current in every continuation, and the loop is the current loop", async () => {
  let loop: EventLoop | null = null;
  const seen: boolean[] = [];
  await run(async () => {
    loop = getRunningLoop();
    const me = currentTask();
    seen.push(me !== null, getEventLoop() === loop);
    await new Promise((r) => setTimeout(r, 2));
    seen.push(currentTask() === me, getRunningLoop() === loop);
  });
  assert.equal(seen, [true, true, true, true]);
  assert.ok(loop!.isClosed(), "the loop is closed afterwards");
});

test("run() rejects with what main throws, and closes the loop all the same", async () => {
  let loop: EventLoop | null = null;
  await rejects(
    run(async () => {
      loop = getRunningLoop();
      await sleep(0);
      throw new RangeError("spam");
    }),
    RangeError,
    /spam/,
  );
  assert.ok(loop!.isClosed());
  await rejects(
    run(function* (): Generator<unknown, never, unknown> {
      yield* sleep(0);
      throw new SyntaxError("generator spam");
    }),
    SyntaxError,
  );
});

test("run() of something that is not awaitable rejects with TypeError", async () => {
  for (const bad of [1, "main", null, { then: 1 }]) await rejects(run(bad as never), TypeError);
});

test("run({ debug }) sets the loop's debug mode", async () => {
  assert.is(await run(() => getRunningLoop().getDebug(), { debug: true }), true);
  assert.is(await run(() => getRunningLoop().getDebug(), { debug: false }), false);
});

test("run() from a running loop rejects with RuntimeError; its main is never called", async () => {
  let called = false;
  const err = await run(async () => {
    try {
      await run(async () => {
        called = true;
      });
    } catch (e) {
      return e;
    }
  });
  assert.instance(err, RuntimeError);
  assert.match((err as Error).message, /cannot be called from a running event loop/);
  assert.not.ok(called);
});

test("run() cancels the tasks left over, waits for them, and reports their errors", async () => {
  let quiet: Task<void> | null = null;
  let noisy: Task<void> | null = null;
  const events: string[] = [];
  const seen: Record<string, unknown>[] = [];
  const r = await run(async () => {
    getRunningLoop().setExceptionHandler((_loop, ctx) => void seen.push(ctx));
    quiet = getRunningLoop().createTask(async () => {
      try {
        await sleep(10);
      } finally {
        await sleep(0.001);
        events.push("quiet cleaned up");
      }
    });
    noisy = getRunningLoop().createTask(async () => {
      try {
        await sleep(10);
      } catch {
        throw new RangeError("failed in cleanup");
      }
    });
    await sleep(0);
    return 123;
  });
  assert.is(r, 123);
  assert.ok(quiet!.cancelled());
  assert.ok(noisy!.done());
  assert.equal(events, ["quiet cleaned up"]);
  assert.is(seen.length, 1);
  assert.match(String(seen[0].message), /run\(\).*shutdown/);
  assert.is(seen[0].task, noisy);
  assert.instance(seen[0].exception, RangeError);
});

test("run() cancels leftovers also when main fails", async () => {
  let left: Task<void> | null = null;
  await rejects(
    run(async () => {
      left = getRunningLoop().createTask(() => sleep(10));
      throw new RangeError("fancy exit");
    }),
    RangeError,
  );
  assert.ok(left!.cancelled());
});

test("run() of a main that is cancelled rejects with CancelledError", async () => {
  await rejects(
    run(async () => {
      currentTask()!.cancel();
      await loop().createFuture();
    }),
    CancelledError,
  );
  function loop(): EventLoop {
    return getRunningLoop();
  }
});

// ---- Runner ----

test("Runner: debug, a custom loop factory, and a TypeError for a bad one", async () => {
  await using a = new Runner({ debug: true });
  assert.ok(a.getLoop().getDebug());
  await using b = new Runner({ debug: false });
  assert.not.ok(b.getLoop().getDebug());
  const mine = newEventLoop();
  const c = new Runner({ loopFactory: () => mine });
  assert.is(c.getLoop(), mine);
  assert.is(await c.run(async () => getRunningLoop()), mine);
  await c.close();
  assert.ok(mine.isClosed());
  assert.throws(() => new Runner({ loopFactory: 5 as never }), (e: Error) => e instanceof TypeError);
});

test("Runner: two runs on the same loop; a task left by the first one goes on in the second", async () => {
  const runner = new Runner();
  try {
    const loop = runner.getLoop();
    let bg: Task<string> | null = null;
    const first = await runner.run(async () => {
      bg = getRunningLoop().createTask(async () => {
        await sleep(0.01);
        return "background";
      });
      return getRunningLoop();
    });
    assert.is(first, loop);
    assert.not.ok(bg!.done(), "the loop stopped with it pending");
    assert.is(getEventLoop(), loop, "the runner's loop stays the current loop between runs");
    const second = await runner.run(function* (): Generator<unknown, [EventLoop, string], unknown> {
      const v = yield* bg!;
      return [getRunningLoop(), v];
    });
    assert.equal(second, [loop, "background"]);
    assertClean(loop);
  } finally {
    await runner.close();
  }
});

test("Runner: close() cancels what is left and closes the loop; closed, it is a RuntimeError", async () => {
  const runner = new Runner();
  let left: Task<void> | null = null;
  let cleaned = false;
  await runner.run(async () => {
    left = getRunningLoop().createTask(async () => {
      try {
        await sleep(10);
      } finally {
        cleaned = true;
      }
    });
    await sleep(0);
  });
  const loop = runner.getLoop();
  await runner.close();
  assert.ok(left!.cancelled());
  assert.ok(cleaned);
  assert.ok(loop.isClosed());
  await runner.close(); // a second close does nothing
  assert.throws(() => runner.getLoop(), (e: Error) => e instanceof RuntimeError && /Runner is closed/.test(e.message));
  let called = false;
  await rejects(
    runner.run(async () => {
      called = true;
    }),
    RuntimeError,
    /Runner is closed/,
  );
  assert.not.ok(called);
  const unused = new Runner();
  await unused.close(); // never initialized: nothing to close
});

test("Runner.run from inside a running loop rejects; its function is not called", async () => {
  await using runner = new Runner();
  let called = false;
  const err = await runner.run(async () => {
    try {
      await runner.run(async () => {
        called = true;
      });
    } catch (e) {
      return e;
    }
  });
  assert.instance(err, RuntimeError);
  assert.match((err as Error).message, /Runner\.run\(\) cannot be called from a running event loop/);
  assert.not.ok(called);
  await rejects(runner.run(42 as never), TypeError);
});

test("Runner: `await using` closes it at the end of the scope", async () => {
  let loop: EventLoop | null = null;
  let left: Task<void> | null = null;
  {
    await using runner = new Runner();
    loop = runner.getLoop();
    assert.is(await runner.run(async () => 1), 1);
    await runner.run(() => {
      left = getRunningLoop().createTask(() => sleep(10));
    });
    assert.not.ok(loop.isClosed());
  }
  assert.ok(loop.isClosed());
  assert.ok(left!.cancelled());
});

test("Runner.run: a context kept with the main task, and a Future of the runner's loop", async () => {
  await using runner = new Runner();
  const ctx = { name: "ctx" };
  assert.is(await runner.run(async () => currentTask()!.getContext(), { context: ctx }), ctx);
  const loop = runner.getLoop();
  const fut = loop.createFuture<string>();
  loop.callSoon(() => fut.setResult("a future"));
  assert.is(await runner.run(fut), "a future");
});

test.run();
