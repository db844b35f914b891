/**
 * The task context: tasks made from coroutine functions (cancellation at an
 * await, requests kept across foreign promises, `signal`, `currentTask()` in
 * every continuation), and the eager task factory. Behaviours ported from
 * CPython's test_tasks (cancellation) and test_eager_task_factory.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  allTasks, CancelledError, createEagerTaskFactory, currentTask, eagerTaskFactory, type EventLoop, getEventLoop,
  getRunningLoop, newEventLoop, RuntimeError, sleep, Task, type TaskLoop, type TaskOptions,
} from "../mod.ts";
import { loopTest, later, rejects } from "./_helpers.ts";

/** A test on a fresh loop, checked clean afterwards. */
const withLoop = (name: string, fn: (loop: EventLoop) => Promise<void>) => loopTest(name, fn, { clean: true });

// ---- cancellation of coroutine functions ----

withLoop("cancel() throws CancelledError(msg) at the await of an async function; finally runs", async (loop) => {
  const events: string[] = [];
  const t = loop.createTask(async () => {
    try {
      events.push("start");
      await sleep(10);
      events.push("not reached");
    } catch (e) {
      events.push(`caught ${(e as Error).name}: ${(e as Error).message}`);
      throw e;
    } finally {
      events.push("finally");
    }
  });
  loop.callLater(0.01, () => assert.ok(t.cancel("enough")));
  await rejects(loop.runUntilComplete(t), CancelledError, "enough");
  assert.equal(events, ["start", "caught CancelledError: enough", "finally"]);
  assert.ok(t.cancelled());
  assert.is(t.cancelling(), 1);
  assert.not.ok(t.cancel(), "a done task cannot be cancelled");
});

withLoop("an async function may catch the cancellation, uncancel() and go on", async (loop) => {
  const seen: number[] = [];
  const t = loop.createTask(async () => {
    const me = currentTask()!;
    try {
      await sleep(10);
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      seen.push(me.cancelling(), me.uncancel());
    }
    await sleep(0.001);
    return "survived";
  });
  loop.callLater(0.005, () => t.cancel());
  assert.is(await loop.runUntilComplete(t), "survived");
  assert.equal(seen, [1, 0]);
  assert.not.ok(t.cancelled());
  assert.is(t.cancelling(), 0);
});

withLoop("a function that swallows the cancellation without uncancel() finishes with its result", async (loop) => {
  // asyncio: the request was delivered once; the task ends with the result, cancelling() stays 1.
  const t = loop.createTask(async () => {
    try {
      await sleep(10);
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
    }
    await sleep(0.001);
    return "ok";
  });
  loop.callLater(0.005, () => t.cancel());
  assert.is(await loop.runUntilComplete(t), "ok");
  assert.not.ok(t.cancelled());
  assert.is(t.cancelling(), 1);
});

withLoop("two cancel() calls before the task resumes are delivered once (cancelling() is 2)", async (loop) => {
  // asyncio 3.13: one CancelledError (with the first message); the next await is not interrupted.
  const events: string[] = [];
  const t = loop.createTask(async () => {
    try {
      await sleep(10);
    } catch (e) {
      events.push(`caught ${(e as Error).message}`);
    }
    try {
      await sleep(0.001);
      events.push("second await fine");
    } catch {
      events.push("cancelled a second time");
    }
    return "ok";
  });
  loop.callLater(0.005, () => {
    t.cancel("one");
    t.cancel("two");
  });
  assert.is(await loop.runUntilComplete(t), "ok");
  assert.equal(events, ["caught one", "second await fine"]);
  assert.is(t.cancelling(), 2);
});

withLoop("cancel() after the awaited future got its result, before the task resumed, throws at that await", async (loop) => {
  // asyncio 3.13: the waiter cannot be cancelled any more, so the request is
  // thrown in when the task resumes: the await raises CancelledError.
  const fut = loop.createFuture<number>();
  const t = loop.createTask(async () => {
    try {
      return `got ${await fut}`;
    } catch (e) {
      return `caught ${(e as Error).name}: ${(e as Error).message}`;
    }
  });
  loop.callLater(0.005, () => {
    fut.setResult(1);
    assert.ok(t.cancel("late"));
  });
  assert.is(await loop.runUntilComplete(t), "caught CancelledError: late");
});

withLoop("a cancel while awaiting a foreign promise is delivered at the next await of a tsyncio future", async (loop) => {
  const events: string[] = [];
  const t = loop.createTask(async () => {
    events.push("before");
    await later(30);
    const me = currentTask()!;
    events.push(`after foreign: cancelling=${me.cancelling()} done=${me.done()}`);
    try {
      await sleep(10);
      events.push("not reached");
    } catch (e) {
      events.push(`caught ${(e as Error).message}`);
      throw e;
    }
  });
  loop.callLater(0.005, () => assert.ok(t.cancel("kept")));
  await rejects(loop.runUntilComplete(t), CancelledError, "kept");
  assert.equal(events, ["before", "after foreign: cancelling=1 done=false", "caught kept"]);
  assert.ok(t.cancelled());
});

withLoop("a cancel kept during a foreign await ends the task cancelled when the function returns", async (loop) => {
  let returned = false;
  const t = loop.createTask(async () => {
    await later(20);
    returned = true;
    return 5;
  });
  loop.callLater(0.002, () => t.cancel("m"));
  await rejects(loop.runUntilComplete(t), CancelledError, "m");
  assert.ok(returned, "the function ran to its end");
  assert.ok(t.cancelled());
});

withLoop("a generator task's `yield promise` is interrupted by cancel() at once", async (loop) => {
  const events: string[] = [];
  const t = loop.createTask(function* (): Generator<unknown, void, unknown> {
    try {
      yield later(1000);
      events.push("not reached");
    } catch (e) {
      events.push(`caught ${(e as Error).name}`);
      throw e;
    }
  });
  const t0 = Date.now();
  loop.callLater(0.005, () => t.cancel());
  await rejects(loop.runUntilComplete(t), CancelledError);
  assert.ok(Date.now() - t0 < 900, "the foreign promise was not waited for");
  assert.equal(events, ["caught CancelledError"]);
});

withLoop("cancelling a task that awaits a task cancels the inner one too", async (loop) => {
  const events: string[] = [];
  let inner: Task<void> | null = null;
  const outer = loop.createTask(async () => {
    inner = loop.createTask(async () => {
      try {
        await sleep(10);
      } finally {
        events.push("inner finally");
      }
    });
    try {
      await inner;
    } catch (e) {
      events.push(`outer caught ${(e as Error).name}: ${(e as Error).message}`);
      throw e;
    }
  });
  loop.callLater(0.01, () => outer.cancel("stop"));
  await rejects(loop.runUntilComplete(outer), CancelledError, "stop");
  assert.equal(events, ["inner finally", "outer caught CancelledError: stop"]);
  assert.ok(inner!.cancelled());
  assert.is(inner!.cancelling(), 1);
  assert.ok(outer.cancelled());
});

withLoop("the same between generator and async tasks: each cancels the task it waits on", async (loop) => {
  // A generator awaiting an async-function task.
  const asyncInner = loop.createTask(async () => {
    await sleep(10);
  });
  const genOuter = loop.createTask(function* (): Generator<unknown, void, unknown> {
    yield* asyncInner;
  });
  // An async function awaiting a generator task.
  const genInner = loop.createTask(function* (): Generator<unknown, void, unknown> {
    yield* sleep(10);
  });
  const asyncOuter = loop.createTask(async () => {
    await genInner;
  });
  loop.callLater(0.005, () => {
    genOuter.cancel();
    asyncOuter.cancel();
  });
  await rejects(loop.runUntilComplete(genOuter), CancelledError);
  await rejects(loop.runUntilComplete(asyncOuter), CancelledError);
  assert.ok(asyncInner.cancelled());
  assert.ok(genInner.cancelled());
});

withLoop("a task cancelled before it starts never calls its function", async (loop) => {
  let called = 0;
  const fn = async () => {
    called++;
  };
  const gfn = function* (): Generator<unknown, void, unknown> {
    called++;
  };
  const a = loop.createTask(fn);
  const b = loop.createTask(gfn);
  assert.is(a.getCoro(), fn, "getCoro() is the function until it is called");
  assert.ok(a.cancel("early"));
  assert.ok(b.cancel());
  await rejects(loop.runUntilComplete(a), CancelledError, "early");
  await rejects(loop.runUntilComplete(b), CancelledError);
  assert.is(called, 0);
  assert.ok(a.cancelled() && b.cancelled());
});

withLoop("a cancel in the iteration the task starts interrupts its first await, even of sleep(0)", async (loop) => {
  // asyncio 3.13: "caught" for both (the task resumes after the cancel).
  for (const nap of [10, 0]) {
    const t = loop.createTask(async () => {
      try {
        await sleep(nap);
      } catch (e) {
        if (e instanceof CancelledError) return "caught";
        throw e;
      }
      return "not caught";
    });
    loop.callSoon(() => t.cancel());
    assert.is(await loop.runUntilComplete(t), "caught", `sleep(${nap})`);
  }
});

withLoop("a function returning a generator runs as a generator task, cancellable at its yield*", async (loop) => {
  const events: string[] = [];
  const ok = loop.createTask(function* (): Generator<unknown, number, unknown> {
    events.push(`current ${currentTask(loop) === ok}`);
    yield* sleep(0.001);
    return 5;
  });
  assert.is(await loop.runUntilComplete(ok), 5);
  const t = loop.createTask(function* (): Generator<unknown, void, unknown> {
    try {
      yield* sleep(10);
    } finally {
      events.push("finally");
    }
  });
  loop.callLater(0.005, () => t.cancel());
  await rejects(loop.runUntilComplete(t), CancelledError);
  assert.equal(events, ["current true", "finally"]);
});

withLoop("a function returning a future: the task follows it, and cancel() cancels it", async (loop) => {
  const fut = loop.createFuture<string>();
  const a = loop.createTask(() => sleep(0.001, "slept"));
  assert.is(await loop.runUntilComplete(a), "slept");
  const b = loop.createTask(() => fut);
  loop.callLater(0.005, () => b.cancel("cut"));
  await rejects(loop.runUntilComplete(b), CancelledError);
  assert.ok(fut.cancelled(), "the awaited future was cancelled");
  assert.ok(b.cancelled());
});

withLoop("a function that throws at once fails its task; one that throws CancelledError cancels it", async (loop) => {
  const a = loop.createTask((): number => {
    throw new RangeError("sync");
  });
  await rejects(loop.runUntilComplete(a), RangeError, "sync");
  const b = loop.createTask(async () => {
    await sleep(0);
    throw new CancelledError("self");
  });
  await rejects(loop.runUntilComplete(b), CancelledError);
  assert.ok(b.cancelled());
  const c = loop.createTask(() => 7);
  assert.is(await loop.runUntilComplete(c), 7, "a plain function's value is the result");
});

// ---- signal ----

withLoop("task.signal aborts at once on cancel(), with the CancelledError as reason", async (loop) => {
  const t = loop.createTask(async () => {
    await sleep(10);
  });
  const signal = t.signal;
  let heard: unknown = null;
  signal.addEventListener("abort", () => (heard = signal.reason));
  assert.not.ok(signal.aborted);
  t.cancel("now");
  assert.ok(signal.aborted, "aborted inside cancel()");
  assert.instance(heard, CancelledError);
  assert.is((heard as Error).message, "now");
  await rejects(loop.runUntilComplete(t), CancelledError);
  assert.ok(t.signal.aborted, "a cancelled task's signal stays aborted");
  const late = loop.createTask(async () => {});
  late.cancel();
  assert.ok(late.signal.aborted, "a signal asked for after cancel() is aborted already");
  await rejects(loop.runUntilComplete(late), CancelledError);
});

withLoop("task.signal is fresh again once uncancel() brings cancelling() back to 0", async (loop) => {
  const log: string[] = [];
  const t = loop.createTask(async () => {
    const me = currentTask()!;
    const first = me.signal;
    try {
      await sleep(10);
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      log.push(`aborted=${first.aborted} cancelling=${me.cancelling()}`);
      me.uncancel();
      log.push(`still aborted=${me.signal.aborted} same=${me.signal === first}`);
      me.uncancel();
    }
    const second = me.signal;
    log.push(`fresh aborted=${second.aborted} same=${second === first}`);
    try {
      await sleep(10);
    } catch (e) {
      log.push(`second aborted=${second.aborted} reason=${(second.reason as Error).message}`);
      throw e;
    }
  });
  loop.callLater(0.005, () => {
    t.cancel("a");
    t.cancel("b");
  });
  loop.callLater(0.02, () => t.cancel("again"));
  await rejects(loop.runUntilComplete(t), CancelledError, "again");
  assert.equal(log, [
    "aborted=true cancelling=2",
    "still aborted=true same=true",
    "fresh aborted=false same=false",
    "second aborted=true reason=again",
  ]);
});

withLoop("a foreign wait that listens to task.signal is interrupted by cancel()", async (loop) => {
  const t = loop.createTask(async () => {
    const signal = currentTask()!.signal;
    // What fetch(url, { signal }) does: reject with the signal's reason.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 5000);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
  });
  const t0 = Date.now();
  loop.callLater(0.005, () => t.cancel("abort it"));
  await rejects(loop.runUntilComplete(t), CancelledError, "abort it");
  assert.ok(Date.now() - t0 < 4000);
  assert.ok(t.cancelled());
});

// ---- currentTask and getRunningLoop in continuations ----

withLoop("currentTask() is the task in every continuation: foreign promises, host timers, loop timers", async (loop) => {
  const seen: [string, boolean][] = [];
  const body = (name: string) => async () => {
    const me = () => currentTask(loop) === tasks[name];
    seen.push([`${name} start`, me()]);
    await Promise.resolve();
    seen.push([`${name} microtask`, me()]);
    await later(3);
    seen.push([`${name} setTimeout`, me()]);
    await new Promise<void>((resolve) =>
      setTimeout(() => {
        seen.push([`${name} in a host timer callback`, me()]);
        resolve();
      }, 1)
    );
    await sleep(0.002);
    seen.push([`${name} loop timer`, me()]);
    await loop.createTask(async () => {
      await later(1);
    });
    seen.push([`${name} after a child task`, me()]);
  };
  const tasks: Record<string, Task<void>> = {};
  tasks.a = loop.createTask(body("a"));
  tasks.b = loop.createTask(body("b"));
  let inCallback: unknown = "unset";
  loop.callLater(0.001, () => (inCallback = currentTask(loop)));
  await loop.runUntilComplete(async () => {
    await tasks.a;
    await tasks.b;
  });
  assert.is(seen.length, 12);
  for (const [where, ok] of seen) assert.ok(ok, `currentTask() at ${where}`);
  assert.is(inCallback, null, "a plain loop callback runs in no task");
  assert.is(currentTask(loop), null, "nothing runs once the loop stopped");
});

withLoop("getRunningLoop() and getEventLoop() answer in every continuation of a task's function", async (loop) => {
  const seen: boolean[] = [];
  const t = loop.createTask(async () => {
    seen.push(getRunningLoop() === loop);
    await later(3);
    seen.push(getRunningLoop() === loop, getEventLoop() === loop);
    await new Promise<void>((resolve) => setTimeout(() => (seen.push(getRunningLoop() === loop), resolve()), 1));
    await sleep(0.001);
    seen.push(getRunningLoop() === loop);
  });
  await loop.runUntilComplete(t);
  assert.equal(seen, [true, true, true, true, true]);
  assert.throws(() => getRunningLoop(), (e: Error) => e instanceof RuntimeError);
});

// ---- eager tasks ----

withLoop("eagerTaskFactory: an async body runs inside createTask, with currentTask() the new task", async (loop) => {
  loop.setTaskFactory(eagerTaskFactory);
  assert.is(loop.getTaskFactory(), eagerTaskFactory);
  const log: string[] = [];
  await loop.runUntilComplete(async () => {
    const parent = currentTask()!;
    let child: Task<string> | null = null;
    let captured: unknown = null;
    child = loop.createTask(async () => {
      captured = currentTask();
      log.push("eager part");
      await sleep(0.002);
      log.push(`after the await: current is child ${currentTask() === child}`);
      return "done";
    });
    log.push("createTask returned");
    assert.is(captured, child, "the body saw the new task as current");
    assert.is(currentTask(), parent, "the caller is current again");
    assert.ok(allTasks().has(child), "a task suspended in its eager step is pending");
    assert.not.ok(child.done());
    assert.is(await child, "done");
  });
  assert.equal(log, ["eager part", "createTask returned", "after the await: current is child true"]);
});

withLoop("eager: a generator body that finishes without suspending leaves the task done on return", async (loop) => {
  loop.setTaskFactory(eagerTaskFactory);
  await loop.runUntilComplete(async () => {
    const fut = loop.createFuture<string>();
    const a = loop.createTask(function* (): Generator<unknown, string, unknown> {
      fut.setResult("set in the eager step");
      return "hello";
    });
    assert.ok(a.done(), "done when createTask returns");
    assert.is(a.result(), "hello");
    assert.not.ok(allTasks().has(a));
    assert.not.ok(a.cancel(), "a finished task cannot be cancelled");
    assert.is(await fut, "set in the eager step");
    function* gen(): Generator<unknown, number, unknown> {
      return 1;
    }
    const b = loop.createTask(gen());
    assert.is(b.result(), 1, "a generator object too");
    const c = loop.createTask(function* (): Generator<unknown, never, unknown> {
      throw new RangeError("eager failure");
    });
    assert.ok(c.done());
    assert.instance(c.exception(), RangeError);
    // An async body without await can only finish a moment later.
    const d = loop.createTask(async () => "later");
    assert.is(await d, "later");
  });
});

withLoop("eager: cancel() after the eager step blocked throws at that await", async (loop) => {
  loop.setTaskFactory(eagerTaskFactory);
  await loop.runUntilComplete(async () => {
    const events: string[] = [];
    const t = loop.createTask(async () => {
      try {
        await sleep(10);
      } finally {
        events.push("finally");
      }
    });
    t.cancel("cancellation message");
    assert.is(t.cancelling(), 1);
    await rejects(t, CancelledError, "cancellation message");
    assert.equal(events, ["finally"]);
  });
});

withLoop("eager: a task made while the loop is not running starts when the loop runs", async (loop) => {
  loop.setTaskFactory(eagerTaskFactory);
  let ran = false;
  const t = loop.createTask(async () => {
    ran = true;
  });
  assert.not.ok(ran);
  await loop.runUntilComplete(t);
  assert.ok(ran);
});

withLoop("createEagerTaskFactory uses the given Task class; the eagerStart option does the same", async (loop) => {
  class MyTask<T> extends Task<T> {}
  const factory = createEagerTaskFactory(MyTask);
  assert.throws(() => createEagerTaskFactory(42 as never), (e: Error) => e instanceof TypeError);
  loop.setTaskFactory(factory);
  await loop.runUntilComplete(async () => {
    let ran = false;
    const t = loop.createTask(async () => {
      ran = true;
    });
    assert.instance(t, MyTask);
    assert.ok(ran);
    await t;
    loop.setTaskFactory(null);
    let ran2 = false;
    const options: TaskOptions & { loop: TaskLoop } = { loop, eagerStart: true, name: "eager" };
    const u = new Task(function* (): Generator<unknown, string, unknown> {
      ran2 = true;
      return "x";
    }, options);
    assert.ok(ran2 && u.done());
    assert.is(u.getName(), "eager");
  });
});

test.run();
