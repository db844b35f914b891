/** Task: stepping generator coroutines, cancellation, promise tasks, currentTask/allTasks, factories. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  allTasks, CancelledError, currentTask, ensureFuture, type EventLoop, Future, InvalidStateError, isCoroutine,
  newEventLoop, RuntimeError, sleep, Task, ValueError,
} from "../mod.ts";
import { captureExceptions, isA } from "./_helpers.ts";

function withLoop(name: string, fn: (loop: EventLoop) => Promise<void> | void) {
  test(name, async () => {
    const loop = newEventLoop();
    try {
      await fn(loop);
    } finally {
      loop.close();
    }
  });
}

withLoop("a generator task steps through yield* and returns the result", async (loop) => {
  const order: string[] = [];
  function* child(): Generator<unknown, number, unknown> {
    order.push("child start");
    yield* sleep(0.001, undefined, { loop });
    order.push("child end");
    return 2;
  }
  function* parent(): Generator<unknown, number, unknown> {
    order.push("parent start");
    const v = yield* loop.createTask(child());
    return v * 21;
  }
  const t = loop.createTask(parent(), { name: "parent" });
  assert.instance(t, Task);
  assert.is(t.getName(), "parent");
  assert.equal(order, [], "a task starts on the next iteration");
  assert.is(await loop.runUntilComplete(t), 42);
  assert.equal(order, ["parent start", "child start", "child end"]);
});

withLoop("cancellation is thrown into the generator at its yield*, finally runs", async (loop) => {
  const events: string[] = [];
  function* worker(): Generator<unknown, void, unknown> {
    try {
      events.push("start");
      yield* sleep(10, undefined, { loop });
      events.push("not reached");
    } catch (e) {
      events.push(e instanceof CancelledError ? `caught:${(e as Error).message}` : "other");
      throw e;
    } finally {
      events.push("cleanup");
    }
  }
  const t = loop.createTask(worker());
  loop.callLater(0.01, () => assert.ok(t.cancel("enough")));
  try {
    await loop.runUntilComplete(t);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CancelledError);
  }
  assert.equal(events, ["start", "caught:enough", "cleanup"]);
  assert.ok(t.cancelled());
  assert.is(t.cancelling(), 1);
  assert.not.ok(t.cancel(), "a done task cannot be cancelled");
});

withLoop("a generator may swallow cancellation and go on (uncancel)", async (loop) => {
  function* stubborn(): Generator<unknown, string, unknown> {
    try {
      yield* sleep(10, undefined, { loop });
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
      currentTask(loop)!.uncancel();
    }
    yield* sleep(0.001, undefined, { loop });
    return "survived";
  }
  const t = loop.createTask(stubborn());
  loop.callLater(0.005, () => t.cancel());
  assert.is(await loop.runUntilComplete(t), "survived");
  assert.is(t.cancelling(), 0);
});

withLoop("cancel before the first step: the coroutine never runs", async (loop) => {
  let ran = false;
  const t = loop.createTask((function* () {
    ran = true;
    yield;
  })());
  t.cancel();
  try {
    await loop.runUntilComplete(t);
  } catch (e) {
    assert.instance(e, CancelledError);
  }
  assert.not.ok(ran);
  assert.ok(t.cancelled());
});

withLoop("an exception in the coroutine becomes the task's exception", async (loop) => {
  const t = loop.createTask((function* () {
    yield;
    throw new ValueError("inside");
  })());
  try {
    await loop.runUntilComplete(t);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ValueError);
  }
  assert.instance(t.exception(), ValueError);
});

withLoop("Task refuses setResult/setException; bad yields are reported", async (loop) => {
  const t = loop.createTask((function* () {
    yield 42; // not a future
  })());
  assert.throws(() => t.setResult(1 as never), isA(RuntimeError));
  assert.throws(() => t.setException(new Error()), isA(RuntimeError));
  try {
    await loop.runUntilComplete(t);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, RuntimeError);
    assert.match((e as Error).message, "bad yield");
  }
  const u = loop.createTask((function* () {
    yield loop.createFuture(); // yield instead of yield*
  })());
  try {
    await loop.runUntilComplete(u);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /instead of yield\*/);
  }
});

withLoop("a generator may wait for a native promise with `yield promise`", async (loop) => {
  const r = await loop.runUntilComplete((function* (): Generator<unknown, unknown, unknown> {
    const a = yield new Promise((res) => setTimeout(() => res("p"), 5));
    let b = "";
    try {
      yield Promise.reject(new Error("rej"));
    } catch (e) {
      b = (e as Error).message;
    }
    return [a, b];
  })());
  assert.equal(r, ["p", "rej"]);
});

withLoop("a promise task: result, exception, and cancel aborting task.signal", async (loop) => {
  const ok = loop.createTask((async () => 5)());
  assert.is(await loop.runUntilComplete(ok), 5);
  const bad = loop.createTask((async () => {
    throw new Error("async bad");
  })());
  try {
    await loop.runUntilComplete(bad);
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).message, "async bad");
  }
  let aborted: unknown = null;
  const t: Task<string> = loop.createTask(new Promise<string>((res) => {
    queueMicrotask(() => {
      t.signal.addEventListener("abort", () => {
        aborted = t.signal.reason;
        res("finished anyway");
      });
    });
  }));
  loop.callLater(0.005, () => t.cancel("stop it"));
  try {
    await loop.runUntilComplete(t);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, CancelledError);
  }
  assert.ok(t.cancelled());
  assert.instance(aborted, CancelledError);
});

withLoop("currentTask is exact for generator tasks; allTasks lists pending ones", async (loop) => {
  const seen: unknown[] = [];
  function* a(): Generator<unknown, void, unknown> {
    seen.push(currentTask(loop) === ta);
    yield* sleep(0.002, undefined, { loop });
    seen.push(currentTask(loop) === ta);
  }
  function* b(): Generator<unknown, void, unknown> {
    seen.push(currentTask(loop) === tb);
    yield* sleep(0.001, undefined, { loop });
  }
  const ta = loop.createTask(a());
  const tb = loop.createTask(b());
  const all = allTasks(loop);
  assert.ok(all.has(ta) && all.has(tb));
  loop.callSoon(() => seen.push(currentTask(loop)));
  await loop.runUntilComplete(ta);
  assert.equal(seen, [true, true, null, true]);
  assert.not.ok(allTasks(loop).has(ta));
  assert.throws(() => currentTask(), isA(RuntimeError));
});

withLoop("a task cannot await itself or a future of another loop", async (loop) => {
  const other = newEventLoop();
  const foreign = new Future({ loop: other });
  const t = loop.createTask((function* () {
    yield* foreign;
  })());
  try {
    await loop.runUntilComplete(t);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, RuntimeError);
    assert.match((e as Error).message, "different loop");
  }
  other.close();
  const holder: { self?: Task<unknown> } = {};
  const self = holder.self = loop.createTask((function* (): Generator<unknown, unknown, unknown> {
    return yield* holder.self!;
  })());
  try {
    await loop.runUntilComplete(self);
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, "itself");
  }
});

withLoop("task factory: set, get, used by createTask, reset with null", async (loop) => {
  const made: string[] = [];
  loop.setTaskFactory((l, coro, opts) => {
    made.push(opts.name ?? "?");
    return new Task(coro, { ...opts, loop: l as EventLoop });
  });
  assert.type(loop.getTaskFactory(), "function");
  const t = loop.createTask((async () => 1)(), { name: "viaFactory" });
  assert.is(await loop.runUntilComplete(t), 1);
  assert.equal(made, ["viaFactory"]);
  loop.setTaskFactory(null);
  assert.is(loop.getTaskFactory(), null);
});

withLoop("ensureFuture and isCoroutine", async (loop) => {
  const f = loop.createFuture();
  assert.is(ensureFuture(f), f);
  const t = ensureFuture((async () => 3)(), { loop });
  assert.instance(t, Task);
  assert.is(await loop.runUntilComplete(t), 3);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => ensureFuture(42 as any, { loop }), isA(TypeError));
  assert.ok(isCoroutine((function* () {})()));
  assert.ok(isCoroutine(Promise.resolve()));
  assert.not.ok(isCoroutine(f));
  assert.not.ok(isCoroutine(() => {}));
  // deno-lint-ignore no-explicit-any
  assert.throws(() => new Task(42 as any, { loop }), isA(TypeError, "coroutine function was expected"));
});

withLoop("Task names, toString and InvalidStateError on a finished task's step", async (loop) => {
  const t = loop.createTask((function* () {
    yield;
  })(), { name: "n1" });
  t.setName("n2");
  assert.is(t.getName(), "n2");
  assert.match(String(t), 'name="n2"');
  await loop.runUntilComplete(t);
  assert.throws(() => t._step(), isA(InvalidStateError));
  const auto = loop.createTask((async () => 0)());
  assert.match(auto.getName(), /^Task-\d+$/);
  await loop.runUntilComplete(auto);
});

withLoop("an unretrieved task exception is reported when the task is collected", async (loop) => {
  const seen = captureExceptions(loop);
  const { gc, tick } = await import("./_helpers.ts");
  await loop.runUntilComplete((function* () {
    loop.createTask((function* () {
      yield;
      throw new Error("lost");
    })());
    yield* sleep(0.005, undefined, { loop });
  })());
  for (let i = 0; i < 10 && seen.length === 0; i++) {
    gc();
    await tick(10);
  }
  assert.is(seen.length, 1);
  assert.match(seen[0].message as string, "Task exception was never retrieved");
});

test.run();

withLoop("String(task) is finite when the task's result holds the task itself", async (loop) => {
  const t = loop.createTask(async () => [currentTask()]);
  const r = await loop.runUntilComplete(t);
  assert.is(r[0], t);
  const s = String(t);
  assert.match(s, /^<Task finished result=\[<Task finished result=\.\.\. name="Task-\d+">\] name="Task-\d+">$/);
});
