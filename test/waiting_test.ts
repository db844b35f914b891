/** gather, wait, asCompleted, shield, toThread: asyncio's tasks module, the waiting half (after CPython's test_tasks). */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  ALL_COMPLETED, allTasks, asCompleted, CancelledError, type EventLoop, FIRST_COMPLETED, FIRST_EXCEPTION, Future,
  gather, newEventLoop, RuntimeError, shield, sleep, type Task, TimeoutError, toThread, ValueError, wait,
} from "../mod.ts";
import { captureExceptions, gc, isA, tick, loopTest as withLoop, rejection } from "./_helpers.ts";

/** A generator coroutine that sleeps `delay` seconds, logs, and returns `value`. */
function* napGen<T>(loop: EventLoop, delay: number, value: T, log?: string[]): Generator<unknown, T, unknown> {
  try {
    yield* sleep(delay, undefined, { loop });
    log?.push(`done ${String(value)}`);
    return value;
  } catch (e) {
    log?.push(e instanceof CancelledError ? `cancelled ${String(value)}` : `failed ${String(value)}`);
    throw e;
  }
}

/** Let the loop run `n` iterations' worth of callbacks. */
async function spin(loop: EventLoop, n = 3): Promise<void> {
  for (let i = 0; i < n; i++) await sleep(0, undefined, { loop });
}

// ---- gather ----

withLoop("gather gives results in argument order, whatever the completion order", async (loop) => {
  const order: string[] = [];
  const fut = loop.createFuture<string>();
  // Wide gaps between the deadlines: a loaded machine must not reorder them.
  loop.callLater(0.1, () => fut.setResult("future"));
  const results = await loop.runUntilComplete(async () => {
    const r = await gather(
      fut,
      napGen(loop, 0.05, "generator", order),
      async () => {
        await sleep(0.001, undefined, { loop });
        order.push("done function");
        return 3;
      },
      Promise.resolve(true),
      () => 7,
    );
    // Typed per position.
    const typed: [string, string, number, boolean, number] = r;
    return typed;
  });
  assert.equal(results, ["future", "generator", 3, true, 7]);
  assert.equal(order, ["done function", "done generator"], "completion order differs from argument order");
});

withLoop("gather runs an awaitable passed twice once, and repeats its result", async (loop) => {
  let calls = 0;
  const fn = async () => {
    calls++;
    await sleep(0, undefined, { loop });
    return calls;
  };
  const fut = loop.createFuture<string>();
  fut.setResult("f");
  const r = await loop.runUntilComplete(() => gather(fn, fut, fn, fut));
  assert.equal(r, [1, "f", 1, "f"]);
  assert.is(calls, 1);
});

withLoop("gather() with nothing is a done future of []", async (loop) => {
  await loop.runUntilComplete(async () => {
    const g = gather();
    assert.ok(g.done());
    assert.equal(g.result(), []);
    const g2 = gather({ returnExceptions: true });
    assert.ok(g2.done());
    assert.equal(g2.result(), []);
  });
});

withLoop("gather of futures that are all done already is done at once", async (loop) => {
  const a = loop.createFuture<number>(), b = loop.createFuture<number>();
  a.setResult(1);
  b.setResult(2);
  const g = gather(a, b);
  assert.ok(g.done());
  assert.equal(g.result(), [1, 2]);
});

withLoop("gather rejects with the first exception; the other children keep running", async (loop) => {
  const log: string[] = [];
  const err = new ValueError("boom");
  let slow: Task<string> | null = null;
  await loop.runUntilComplete(async () => {
    slow = loop.createTask(napGen(loop, 0.05, "slow", log));
    const failing = loop.createTask(async () => {
      await sleep(0.001, undefined, { loop });
      throw err;
    });
    const g = gather(slow, failing);
    assert.is(await rejection(g), err);
    assert.not.ok(slow.done(), "the slow child is still running");
    assert.is(await slow, "slow");
  });
  assert.equal(log, ["done slow"]);
  assert.not.ok(slow!.cancelled());
});

withLoop("gather with returnExceptions puts errors (and CancelledErrors) in their places", async (loop) => {
  const err = new ValueError("bad");
  const r = await loop.runUntilComplete(async () => {
    const cancelledFromOutside = loop.createFuture<number>();
    loop.callLater(0.002, () => cancelledFromOutside.cancel("outside"));
    const g = gather(
      sleep(0.005, "ok", { loop }),
      (async () => {
        throw err;
      }),
      cancelledFromOutside,
      { returnExceptions: true },
    );
    const typed: [string | Error, unknown, number | Error] = await g;
    return typed;
  });
  assert.is(r[0], "ok");
  assert.is(r[1], err);
  assert.instance(r[2], CancelledError);
  assert.is((r[2] as Error).message, "outside");
});

withLoop("cancelling gather cancels its generator children and it ends cancelled", async (loop) => {
  const log: string[] = [];
  await loop.runUntilComplete(async () => {
    const g = gather(napGen(loop, 10, "a", log), napGen(loop, 10, "b", log));
    await sleep(0.001, undefined, { loop });
    assert.ok(g.cancel("stop"), "cancel() reached the children");
    const e = await rejection(g);
    assert.instance(e, CancelledError);
    assert.is((e as Error).message, "stop");
    assert.ok(g.cancelled());
  });
  assert.equal(log, ["cancelled a", "cancelled b"]);
});

withLoop("cancelling gather cancels its async-function children at their await", async (loop) => {
  const log: string[] = [];
  const child = (name: string) => async () => {
    try {
      await sleep(10, undefined, { loop });
      log.push(`done ${name}`);
    } finally {
      log.push(`finally ${name}`);
    }
  };
  const children: Task<void>[] = [];
  await loop.runUntilComplete(async () => {
    children.push(loop.createTask(child("a")), loop.createTask(child("b")));
    const g = gather(...children);
    await sleep(0.001, undefined, { loop });
    assert.ok(g.cancel());
    assert.instance(await rejection(g), CancelledError);
  });
  assert.equal(log, ["finally a", "finally b"]);
  assert.ok(children.every((t) => t.cancelled()), "every child task ended cancelled");
});

withLoop("a task awaiting gather, when cancelled, cancels the children", async (loop) => {
  const log: string[] = [];
  const outer = loop.createTask(async () => {
    await gather(napGen(loop, 10, "a", log), async () => {
      try {
        await sleep(10, undefined, { loop });
      } finally {
        log.push("finally fn");
      }
    });
  });
  loop.callLater(0.005, () => outer.cancel());
  assert.instance(await rejection(loop.runUntilComplete(outer)), CancelledError);
  assert.ok(outer.cancelled());
  assert.equal(log.sort(), ["cancelled a", "finally fn"]);
});

withLoop("a child cancelled from outside makes gather raise CancelledError", async (loop) => {
  await loop.runUntilComplete(async () => {
    const a = loop.createFuture<number>(), b = loop.createFuture<number>();
    const g = gather(a, b);
    a.setResult(1);
    b.cancel("b went");
    const e = await rejection(g);
    assert.instance(e, CancelledError);
    assert.is((e as Error).message, "b went");
    // asyncio leaves cancelled() false with a CancelledError as exception; here a Future never holds one.
    assert.ok(g.cancelled());
  });
});

withLoop("a cancelled gather is CancelledError even when a child swallows the cancellation", async (loop) => {
  const stubborn = function* (): Generator<unknown, string, unknown> {
    try {
      yield* sleep(10, undefined, { loop });
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
    }
    return "swallowed";
  };
  await loop.runUntilComplete(async () => {
    const t = loop.createTask(stubborn());
    const g = gather(t);
    await sleep(0, undefined, { loop });
    assert.ok(g.cancel());
    assert.instance(await rejection(g), CancelledError);
    assert.is(t.result(), "swallowed");
  });
});

withLoop("gather refuses cancel() once every child is done (bpo-26923)", async (loop) => {
  const fut = loop.createFuture<number>();
  let g!: Future<[number]>;
  await loop.runUntilComplete(async () => {
    // A generator child finishes inside fut's first done callback, before the one that cancels.
    g = gather(function* () {
      return yield* fut;
    });
    await spin(loop); // the child now awaits fut
  });
  let cancelResult: boolean | null = null;
  fut.addDoneCallback(() => {
    cancelResult = g.cancel();
  });
  fut.setResult(42);
  assert.equal(await loop.runUntilComplete(g), [42]);
  assert.is(cancelResult, false);
  assert.not.ok(g.cancelled());
});

withLoop("gather checks every argument before starting anything", async (loop) => {
  let called = false;
  const fn = async () => {
    called = true;
  };
  await loop.runUntilComplete(async () => {
    const before = allTasks(loop).size;
    // deno-lint-ignore no-explicit-any
    const g = gather as (...a: any[]) => unknown;
    assert.throws(() => g(fn, 3), isA(TypeError));
    assert.throws(() => g(NaN), isA(TypeError));
    assert.throws(() => g([fn]), isA(TypeError), "an array is not an awaitable (nor options)");
    assert.throws(() => g(fn, null, { returnExceptions: true }), isA(TypeError));
    const other = newEventLoop();
    try {
      assert.throws(() => g(fn, loop.createFuture(), other.createFuture()), isA(ValueError));
    } finally {
      other.close();
    }
    await sleep(0, undefined, { loop });
    assert.is(allTasks(loop).size, before, "no task was made");
    assert.not.ok(called);
  });
});

withLoop("a failure after gather already failed is not reported as never retrieved", async (loop) => {
  const seen = captureExceptions(loop);
  await loop.runUntilComplete(async () => {
    const a = loop.createFuture<number>(), b = loop.createFuture<number>();
    const g = gather(a, b);
    a.setException(new ValueError("first"));
    assert.instance(await rejection(g), ValueError);
    b.setException(new ValueError("second"));
    await spin(loop);
    assert.not.ok(b._logTraceback, "gather looked at b's exception");
  });
  assert.equal(seen, []);
});

// ---- wait ----

withLoop("wait: ALL_COMPLETED (the default) waits for every future", async (loop) => {
  await loop.runUntilComplete(async () => {
    const a = sleep(0.001, "a", { loop }), b = sleep(0.01, "b", { loop });
    const [done, pending] = await wait([a, b]);
    assert.equal([...done], [a, b]);
    assert.is(pending.size, 0);
    const fail = loop.createTask(async () => {
      throw new ValueError("x");
    });
    const c = sleep(0.005, "c", { loop });
    const [done2] = await wait([fail, c], { returnWhen: ALL_COMPLETED });
    assert.ok(done2.has(fail) && done2.has(c), "an exception does not end ALL_COMPLETED early");
    assert.instance(fail.exception(), ValueError);
  });
});

withLoop("wait: FIRST_COMPLETED returns at the first future done, cancelling nothing", async (loop) => {
  await loop.runUntilComplete(async () => {
    const fast = sleep(0.001, "fast", { loop }), slow = sleep(10, "slow", { loop });
    const [done, pending] = await wait([slow, fast], { returnWhen: FIRST_COMPLETED });
    assert.equal([...done], [fast]);
    assert.equal([...pending], [slow]);
    assert.not.ok(slow.done(), "the pending one is not cancelled");
    slow.cancel();
  });
});

withLoop("wait: FIRST_EXCEPTION returns at the first failure, or when all are done", async (loop) => {
  await loop.runUntilComplete(async () => {
    const slow = sleep(10, "slow", { loop });
    const ok = sleep(0.001, "ok", { loop });
    const fail = loop.createTask(async () => {
      await sleep(0.005, undefined, { loop });
      throw new ValueError("x");
    });
    const [done, pending] = await wait([slow, ok, fail], { returnWhen: FIRST_EXCEPTION });
    assert.ok(done.has(ok) && done.has(fail));
    assert.equal([...pending], [slow]);
    slow.cancel();
    // No failure: it waits for all.
    const a = sleep(0.001, 1, { loop }), b = sleep(0.01, 2, { loop });
    const [done2, pending2] = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
    assert.is(done2.size, 2);
    assert.is(pending2.size, 0);
  });
});

withLoop("wait: a cancelled future ends FIRST_COMPLETED but not FIRST_EXCEPTION", async (loop) => {
  await loop.runUntilComplete(async () => {
    const a = loop.createFuture(), b = sleep(0.01, "b", { loop });
    loop.callLater(0.001, () => a.cancel());
    const [done, pending] = await wait([a, b], { returnWhen: FIRST_EXCEPTION });
    assert.is(done.size, 2, "waited for b too");
    assert.is(pending.size, 0);
  });
});

withLoop("wait: the timeout returns what is done so far; nothing is cancelled, no error", async (loop) => {
  await loop.runUntilComplete(async () => {
    const fast = sleep(0.001, "fast", { loop }), slow = sleep(10, "slow", { loop });
    const t0 = loop.time();
    const [done, pending] = await wait([fast, slow], { timeout: 0.05 });
    const took = loop.time() - t0;
    assert.ok(took >= 0.04 && took < 5, `returned after the timeout (${took})`);
    assert.equal([...done], [fast]);
    assert.equal([...pending], [slow]);
    assert.not.ok(slow.done());
    // A negative timeout means 0.
    const t1 = loop.time();
    const [done2, pending2] = await wait([slow], { timeout: -1 });
    assert.ok(loop.time() - t1 < 0.5, "a negative timeout does not wait");
    assert.is(done2.size, 0);
    assert.equal([...pending2], [slow]);
    assert.not.ok(slow.cancelled());
    slow.cancel();
  });
});

withLoop("wait: cancelling the wait future leaves the futures alone", async (loop) => {
  await loop.runUntilComplete(async () => {
    const a = loop.createFuture<number>();
    const w = wait([a]);
    await sleep(0, undefined, { loop });
    assert.ok(w.cancel());
    await spin(loop);
    assert.not.ok(a.done());
    assert.is(a.removeDoneCallback(() => {}), 0);
    assert.is(a._callbacks?.length ?? 0, 0, "wait's callback was removed");
  });
});

withLoop("wait: bad input throws at the call", async (loop) => {
  await loop.runUntilComplete(async () => {
    const f = loop.createFuture();
    // deno-lint-ignore no-explicit-any
    const w = wait as (...a: any[]) => unknown;
    assert.throws(() => w(f), isA(TypeError, "iterable"));
    assert.throws(() => w(napGen(loop, 0, 1)), isA(TypeError, "iterable"));
    assert.throws(() => w(42), isA(TypeError));
    assert.throws(() => w([]), isA(ValueError, "empty"));
    assert.throws(() => w([f], { returnWhen: "SOMETIMES" }), isA(ValueError, "returnWhen"));
    assert.throws(() => w([f, napGen(loop, 0, 1)]), isA(TypeError, "coroutines"));
    assert.throws(() => w([f, async () => 1]), isA(TypeError, "coroutines"));
    assert.throws(() => w([f, NaN]), isA(TypeError));
    assert.throws(() => w([f], { timeout: NaN }), isA(ValueError));
    assert.throws(() => w([f], { timeout: "1" }), isA(TypeError));
    assert.is(f._callbacks?.length ?? 0, 0, "nothing was set up");
    f.cancel();
  });
});

// ---- asCompleted ----

withLoop("asCompleted, iterated plainly, gives futures of the results in completion order", async (loop) => {
  const results = await loop.runUntilComplete(async () => {
    const out: unknown[] = [];
    const err = new ValueError("mid");
    const it = asCompleted<string>([
      sleep(0.12, "slow", { loop }),
      async () => {
        await sleep(0.001, undefined, { loop });
        return "fast";
      },
      napGen(loop, 0.04, "middle"),
      (async () => {
        await sleep(0.08, undefined, { loop });
        throw err;
      })(),
    ]);
    for (const f of it) {
      assert.instance(f, Future);
      try {
        out.push(await f);
      } catch (e) {
        out.push(e === err ? "error" : e);
      }
    }
    return out;
  });
  assert.equal(results, ["fast", "middle", "error", "slow"]);
});

withLoop("asCompleted, iterated with for await, yields the original futures and tasks", async (loop) => {
  await loop.runUntilComplete(async () => {
    const a = sleep(0.1, "a", { loop });
    const b = loop.createTask(napGen(loop, 0.001, "b"));
    const seen: Future<string>[] = [];
    for await (const f of asCompleted<string>([a, b, napGen(loop, 0.04, "c")])) {
      // TypeScript types a `for await` element as awaited; at run time it is the future itself.
      seen.push(f as unknown as Future<string>);
    }
    assert.is(seen.length, 3);
    assert.is(seen[0], b);
    assert.is(seen[2], a);
    assert.instance(seen[1], Future, "a coroutine became a task");
    assert.is(seen[1].result(), "c");
  });
});

withLoop("asCompleted with a timeout: TimeoutError for what is not done, nothing cancelled", async (loop) => {
  await loop.runUntilComplete(async () => {
    const slow = sleep(10, "slow", { loop });
    const out: unknown[] = [];
    for (const f of asCompleted([slow, sleep(0.001, "fast", { loop })], { timeout: 0.03 })) {
      try {
        out.push(await f);
      } catch (e) {
        out.push(e instanceof TimeoutError ? "timeout" : e);
      }
    }
    assert.equal(out, ["fast", "timeout"]);
    assert.not.ok(slow.done(), "the slow one was not cancelled");

    const seen: unknown[] = [];
    const e = await rejection((async () => {
      for await (const f of asCompleted([slow, sleep(0.001, "quick", { loop })], { timeout: 0.03 })) seen.push(f);
    })());
    assert.instance(e, TimeoutError);
    assert.is(seen.length, 1);
    assert.not.ok(slow.done());
    slow.cancel();
  });
});

withLoop("asCompleted: results of futures done before iterating, and an empty iterable", async (loop) => {
  await loop.runUntilComplete(async () => {
    const a = loop.createFuture<number>();
    a.setResult(1);
    const vals: number[] = [];
    for (const f of asCompleted([a])) vals.push(await f);
    assert.equal(vals, [1]);
    assert.equal([...asCompleted([])], []);
    const it = asCompleted([a, a]);
    assert.is([...it].length, 1, "the same future twice counts once");
    let calls = 0;
    const fn = async () => ++calls;
    const items = [...asCompleted([fn, fn])];
    assert.is(items.length, 1, "the same coroutine function twice runs once");
    assert.is(await items[0], 1);
    assert.is(calls, 1);
  });
});

withLoop("asCompleted: completions that wait to be taken come out in their order", async (loop) => {
  await loop.runUntilComplete(async () => {
    const [a, b, c] = [loop.createFuture<string>(), loop.createFuture<string>(), loop.createFuture<string>()];
    const it = asCompleted([a, b, c]);
    c.setResult("c");
    await spin(loop);
    a.setResult("a");
    await spin(loop);
    b.setResult("b");
    await spin(loop);
    const out: string[] = [];
    for (const f of it) out.push(await f);
    assert.equal(out, ["c", "a", "b"]);
  });
});

withLoop("asCompleted: bad input throws at the call", async (loop) => {
  let called = false;
  await loop.runUntilComplete(async () => {
    const f = loop.createFuture();
    // deno-lint-ignore no-explicit-any
    const ac = asCompleted as (...a: any[]) => unknown;
    assert.throws(() => ac(f), isA(TypeError, "iterable"));
    assert.throws(() => ac(napGen(loop, 0, 1)), isA(TypeError, "iterable"));
    assert.throws(() => ac(7), isA(TypeError));
    assert.throws(() => ac([() => (called = true), 7]), isA(TypeError));
    assert.throws(() => ac([f], { timeout: NaN }), isA(ValueError));
    assert.throws(() => ac([f], { timeout: {} }), isA(TypeError));
    await spin(loop);
    assert.not.ok(called, "no task was started");
    assert.is(f._callbacks?.length ?? 0, 0);
    f.cancel();
  });
});

// ---- shield ----

withLoop("shield: cancelling the outer future leaves the inner running", async (loop) => {
  await loop.runUntilComplete(async () => {
    const log: string[] = [];
    const inner = loop.createTask(napGen(loop, 0.01, "inner", log));
    const outer = shield(inner);
    assert.is.not(outer, inner);
    await sleep(0, undefined, { loop });
    assert.ok(outer.cancel());
    assert.instance(await rejection(outer), CancelledError);
    assert.is(await inner, "inner");
    assert.equal(log, ["done inner"]);
  });
});

withLoop("shield: a task awaiting a shield is cancelled, the shielded coroutine finishes", async (loop) => {
  const log: string[] = [];
  await loop.runUntilComplete(async () => {
    const t = loop.createTask(async () => {
      return await shield(async () => {
        await sleep(0.02, undefined, { loop });
        log.push("inner finished");
        return 1;
      });
    });
    await sleep(0.001, undefined, { loop });
    t.cancel();
    assert.instance(await rejection(t), CancelledError);
    assert.equal(log, []);
    await sleep(0.05, undefined, { loop });
  });
  assert.equal(log, ["inner finished"]);
});

withLoop("shield: the inner cancelled cancels the outer; the inner failing fails it", async (loop) => {
  await loop.runUntilComplete(async () => {
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    inner.cancel();
    assert.instance(await rejection(outer), CancelledError);
    assert.ok(outer.cancelled());

    const inner2 = loop.createFuture<number>();
    const outer2 = shield(inner2);
    const err = new ValueError("inner failed");
    inner2.setException(err);
    assert.is(await rejection(outer2), err);

    const inner3 = loop.createFuture<number>();
    const outer3 = shield(inner3);
    inner3.setResult(5);
    assert.is(await outer3, 5);
  });
});

withLoop("shield: a done future is returned as is; bad input throws", async (loop) => {
  const f = loop.createFuture<number>();
  f.setResult(1);
  assert.is(shield(f), f);
  // deno-lint-ignore no-explicit-any
  const sh = shield as (a: any) => unknown;
  assert.throws(() => sh(NaN), isA(TypeError));
  assert.throws(() => sh("x"), isA(TypeError));
});

withLoop("shield keeps the inner task alive while nobody else holds it", async (loop) => {
  let ref: WeakRef<Task<void>> | null = null;
  await loop.runUntilComplete(async () => {
    (() => {
      // The inner task waits on a future that nothing else references.
      const inner = loop.createTask(async () => {
        await new Future<void>({ loop });
      });
      ref = new WeakRef(inner);
      shield(inner).cancel();
    })();
    await spin(loop);
  });
  for (let i = 0; i < 3; i++) {
    gc();
    await tick();
  }
  assert.ok(ref!.deref() !== undefined, "the inner task was not collected");
  ref!.deref()!.cancel();
  await loop.runUntilComplete(() => spin(loop));
});

// ---- toThread ----

withLoop("toThread runs a self-contained function in a worker thread", async (loop) => {
  const r = await loop.runUntilComplete(async () => {
    const sum = await toThread((a: number, b: number) => a + b, 20, 22);
    const err = await rejection(toThread(() => {
      throw new RangeError("in the worker");
    }));
    return [sum, (err as Error).message];
  });
  assert.equal(r, [42, "in the worker"]);
  await loop.runUntilComplete(loop.shutdownDefaultExecutor());
});

test("toThread outside a running loop throws RuntimeError", () => {
  assert.throws(() => toThread(() => 1), isA(RuntimeError));
});

test.run();
