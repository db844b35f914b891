/**
 * timeout(), timeoutAt(), Timeout and waitFor(): behaviours ported from
 * CPython's test_timeouts and test_waitfor, with async-function and
 * generator bodies.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  allTasks, CancelledError, currentTask, type EventLoop, Future, newEventLoop, RuntimeError, setEventLoop, shield, sleep, Task,
  Timeout, timeout, timeoutAt, TimeoutError, ValueError, waitFor,
} from "../mod.ts";
import { assertClean, later, loopTest, rejects } from "./_helpers.ts";

/** A test whose body runs as the main task of a fresh loop, checked clean afterwards. */
const inTask = (name: string, fn: (loop: EventLoop) => Promise<void>) => loopTest(name, fn, { inTask: true, clean: true });

/** `fn` throws synchronously an instance of `cls` whose message matches `re`. */
// deno-lint-ignore no-explicit-any
function throwsSync(fn: () => unknown, cls: new (...a: any[]) => Error, re?: RegExp): void {
  assert.throws(fn, (e: Error) => e instanceof cls && (re === undefined || re.test(e.message)));
}

/** A TimeoutError caused by a CancelledError, as timeout() makes it. */
function assertTimeoutError(e: Error): void {
  assert.instance(e, TimeoutError);
  assert.instance((e as Error & { cause?: unknown }).cause, CancelledError);
}

// ---- timeout() and timeoutAt() ----

inTask("timeout(): expiry cancels the body's await; the result is TimeoutError caused by CancelledError", async () => {
  const events: string[] = [];
  let cm: Timeout | null = null;
  const me = currentTask()!;
  const e = await rejects(
    timeout(0.01, async (c) => {
      cm = c;
      assert.is(currentTask(), me, "the body runs in the calling task");
      try {
        await sleep(10);
      } catch (err) {
        events.push((err as Error).name);
        throw err;
      }
    }),
    TimeoutError,
  );
  assertTimeoutError(e);
  assert.equal(events, ["CancelledError"]);
  assert.ok(cm!.expired());
  assert.is(String(cm), "<Timeout [expired]>");
  assert.is(me.cancelling(), 0, "the expiry's request was taken back");
  assert.is(await sleep(0.001, "goes on"), "goes on", "the task is not cancelled");
});

inTask("timeout() with a generator body, and from a generator task", async (loop) => {
  const e = await rejects(
    timeout(0.01, function* (): Generator<unknown, void, unknown> {
      yield* sleep(10);
    }),
    TimeoutError,
  );
  assertTimeoutError(e);
  assert.is(
    await timeout(1, function* (): Generator<unknown, string, unknown> {
      return yield* sleep(0.001, "gen result");
    }),
    "gen result",
  );
  const log: string[] = [];
  const t = loop.createTask(function* (): Generator<unknown, string, unknown> {
    try {
      yield* timeout(0.01, async () => {
        await sleep(10);
      });
    } catch (err) {
      log.push(`async body: ${(err as Error).name}`);
    }
    try {
      yield* timeout(0.01, function* (): Generator<unknown, void, unknown> {
        yield* sleep(10);
      });
    } catch (err) {
      log.push(`generator body: ${(err as Error).name}`);
    }
    return yield* timeout<string>(1, async () => await sleep(0.001, "after"));
  });
  assert.is(await t, "after");
  assert.equal(log, ["async body: TimeoutError", "generator body: TimeoutError"]);
  assert.not.ok(t.cancelled());
  assert.is(t.cancelling(), 0);
});

inTask("timeoutAt(): when() is the deadline given", async (loop) => {
  const deadline = loop.time() + 0.01;
  let cm: Timeout | null = null;
  await rejects(
    timeoutAt(deadline, async (c) => {
      cm = c;
      await sleep(10);
    }),
    TimeoutError,
  );
  assert.ok(cm!.expired());
  assert.is(cm!.when(), deadline);
});

inTask("a timeout that does not expire gives the body's result and leaves no timer armed", async (loop) => {
  let cm: Timeout | null = null;
  const r = await timeout(10, async (c) => {
    cm = c;
    assert.match(String(c), /^<Timeout \[active\] when=\d+(\.\d*)?>$/);
    await sleep(0.005);
    return "body result";
  });
  assert.is(r, "body result");
  assert.not.ok(cm!.expired());
  assert.ok(cm!.when()! > loop.time());
  assert.is(String(cm), "<Timeout [finished]>");
});

inTask("timeout(null) and timeoutAt(null) have no deadline", async () => {
  for (const enter of [timeout, timeoutAt]) {
    let cm: Timeout | null = null;
    const r = await enter(null, async (c) => {
      cm = c;
      await sleep(0.005);
      return 1;
    });
    assert.is(r, 1);
    assert.is(cm!.when(), null);
    assert.not.ok(cm!.expired());
  }
});

inTask("timeout(0) expires at the first await", async (loop) => {
  const t0 = loop.time();
  let cm: Timeout | null = null;
  await rejects(
    timeout(0, async (c) => {
      cm = c;
      await sleep(10);
    }),
    TimeoutError,
  );
  const t1 = loop.time();
  assert.ok(cm!.expired());
  assert.ok(t0 <= cm!.when()! && cm!.when()! <= t1, "when() within [t0, t1]");
});

inTask("timeout(0) or a negative delay expires even at an await of sleep(0)", async (loop) => {
  // asyncio 3.13: TimeoutError for both (the expiry runs before the task resumes).
  for (const delay of [0, -11]) {
    const t0 = loop.time();
    let cm: Timeout | null = null;
    await rejects(
      timeout(delay, async (c) => {
        cm = c;
        await sleep(0);
      }),
      TimeoutError,
    );
    assert.ok(cm!.expired(), `delay ${delay}`);
    assert.ok(cm!.when()! <= loop.time());
    if (delay < 0) assert.ok(cm!.when()! < t0, "a deadline in the past");
  }
});

inTask("a task made of () => timeout(...) and cancelled before the body's first await: the body is interrupted", async (loop) => {
  // asyncio 3.13: the body gets CancelledError at its await; nothing is left running.
  let inner = "";
  const t = loop.createTask(() =>
    timeout(10, async () => {
      try {
        await sleep(10);
      } catch (e) {
        inner = (e as Error).name;
        throw e;
      }
    })
  );
  loop.callSoon(() => t.cancel());
  await rejects(t, CancelledError);
  await sleep(0.005);
  assert.is(inner, "CancelledError");
});

inTask("nested timeouts with one deadline: the inner body sees CancelledError, only the outer one gives TimeoutError", async (loop) => {
  const deadline = loop.time() + 0.01;
  let cm1: Timeout | null = null, cm2: Timeout | null = null;
  let inner = "";
  await rejects(
    timeoutAt(deadline, async (c1) => {
      cm1 = c1;
      try {
        await timeoutAt(deadline, async (c2) => {
          cm2 = c2;
          await sleep(10);
        });
      } catch (e) {
        inner = (e as Error).name;
        throw e;
      }
    }),
    TimeoutError,
  );
  assert.is(inner, "CancelledError");
  assert.ok(cm1!.expired() && cm2!.expired());
});

inTask("nested timeouts: the inner one expiring first gives TimeoutError to the outer body, which goes on", async () => {
  let outer: Timeout | null = null, inner: Timeout | null = null;
  const r = await timeout(10, async (o) => {
    outer = o;
    try {
      await timeout(0.01, async (i) => {
        inner = i;
        await sleep(10);
      });
    } catch (e) {
      assertTimeoutError(e as Error);
    }
    await sleep(0.001);
    return "outer finished";
  });
  assert.is(r, "outer finished");
  assert.ok(inner!.expired());
  assert.not.ok(outer!.expired());
  assert.is(currentTask()!.cancelling(), 0);
});

inTask("nested timeouts: the outer one expiring first goes through the inner as CancelledError", async () => {
  let outer: Timeout | null = null, inner: Timeout | null = null;
  let seen = "";
  await rejects(
    timeout(0.01, async (o) => {
      outer = o;
      try {
        await timeout(10, async (i) => {
          inner = i;
          await sleep(10);
        });
      } catch (e) {
        seen = (e as Error).name;
        throw e;
      }
    }),
    TimeoutError,
  );
  assert.is(seen, "CancelledError");
  assert.ok(outer!.expired());
  assert.not.ok(inner!.expired());
});

inTask("nested timeouts both due while the loop was busy: the outer one gives TimeoutError", async (loop) => {
  loop.slowCallbackDuration = 10;
  const t0 = loop.time();
  let seen = "";
  await rejects(
    timeout(0.05, async () => {
      try {
        await timeout(0.005, async () => {
          const end = Date.now() + 60;
          while (Date.now() < end) { /* the loop is busy */ }
          await sleep(1);
        });
      } catch (e) {
        seen = (e as Error).name;
        throw e;
      }
      await sleep(10);
    }),
    TimeoutError,
  );
  assert.is(seen, "CancelledError", "two requests pending: the inner one does not claim it");
  assert.ok(loop.time() - t0 < 1);
  assert.is(currentTask()!.cancelling(), 0);
});

inTask("an error of the body passes through a timeout, expired or not", async () => {
  let cm: Timeout | null = null;
  await rejects(
    timeout(0.01, (c) => {
      cm = c;
      throw new RangeError("sync");
    }),
    RangeError,
    "sync",
  );
  assert.not.ok(cm!.expired());
  await rejects(
    timeout(0.01, async (c) => {
      cm = c;
      try {
        await sleep(1);
      } finally {
        // deno-lint-ignore no-unsafe-finally
        throw new RangeError("crash in cleanup");
      }
    }),
    RangeError,
    "crash in cleanup",
  );
  assert.ok(cm!.expired());
  assert.is(currentTask()!.cancelling(), 0);
});

inTask("a body that swallows the expiry's CancelledError returns normally; reschedule() is refused while expiring", async () => {
  let cm: Timeout | null = null;
  let refused = false;
  const r = await timeout(0.01, async (c) => {
    cm = c;
    try {
      await sleep(1);
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
    }
    throwsSync(() => c.reschedule(0.02), RuntimeError, /expiring/);
    refused = true;
    return "swallowed";
  });
  assert.is(r, "swallowed");
  assert.ok(refused);
  assert.ok(cm!.expired());
  assert.is(currentTask()!.cancelling(), 0);
});

inTask("a cancel of the task from inside a timeout stays CancelledError", async () => {
  let cm: Timeout | null = null;
  const me = currentTask()!;
  await rejects(
    timeout(10, async (c) => {
      cm = c;
      me.cancel();
      await sleep(10);
    }),
    CancelledError,
  );
  assert.not.ok(cm!.expired());
  assert.is(me.uncancel(), 0);
});

inTask("a cancel from outside during a timeout stays CancelledError, even in the iteration of the expiry", async (loop) => {
  // Before the deadline.
  let cm: Timeout | null = null;
  const a = loop.createTask(() =>
    timeout(10, async (c) => {
      cm = c;
      await sleep(10);
    })
  );
  loop.callLater(0.005, () => a.cancel("from outside"));
  await rejects(a, CancelledError, "from outside");
  assert.not.ok(cm!.expired());
  // Right after the expiry's own request: two requests, the outer one wins.
  const b = loop.createTask(() =>
    timeout(0.01, async (c) => {
      cm = c;
      loop.callAt(c.when()!, () => b.cancel("same time"));
      await sleep(10);
    })
  );
  await rejects(b, CancelledError);
  assert.ok(cm!.expired());
  assert.ok(b.cancelled());
});

inTask("the task that used a timeout is not cancelled by it", async (loop) => {
  const t = loop.createTask(async () => {
    await rejects(timeout(0.001, () => sleep(10)), TimeoutError);
  });
  await t;
  assert.ok(t.done());
  assert.not.ok(t.cancelled());
});

inTask("reschedule() moves the deadline, null removes it; when() follows", async (loop) => {
  const ready = loop.createFuture<Timeout>();
  const deadline1 = loop.time() + 10;
  const deadline2 = deadline1 + 20;
  const t = loop.createTask(() =>
    timeoutAt(deadline1, async (c) => {
      ready.setResult(c);
      await sleep(50);
    })
  );
  const cm = await ready;
  assert.is(cm.when(), deadline1);
  cm.reschedule(deadline2);
  assert.is(cm.when(), deadline2);
  cm.reschedule(null);
  assert.is(cm.when(), null);
  t.cancel();
  await rejects(t, CancelledError);
  assert.not.ok(cm.expired());
  // Later: the block outlives its first deadline.
  const r = await timeout(0.01, async (c) => {
    c.reschedule(loop.time() + 10);
    await sleep(0.03);
    return "extended";
  });
  assert.is(r, "extended");
  // Into the past: it expires at once.
  const t0 = loop.time();
  await rejects(
    timeout(10, async (c) => {
      c.reschedule(loop.time() - 1);
      await sleep(10);
    }),
    TimeoutError,
  );
  assert.ok(loop.time() - t0 < 5);
});

inTask("reschedule() is a RuntimeError before the block runs and after it ended", async () => {
  throwsSync(() => new Timeout(1).reschedule(2), RuntimeError, /has not been entered/);
  let cm: Timeout | null = null;
  await timeout(0.01, (c) => (cm = c));
  throwsSync(() => cm!.reschedule(0.02), RuntimeError, /finished/);
  await rejects(
    timeout(0.01, async (c) => {
      cm = c;
      await sleep(1);
    }),
    TimeoutError,
  );
  throwsSync(() => cm!.reschedule(0.02), RuntimeError, /expired/);
});

test("timeout() outside a task or a running loop is a RuntimeError at the call", async () => {
  throwsSync(() => timeout(1, async () => {}), RuntimeError, /no running event loop/);
  const loop = newEventLoop();
  try {
    let called = false;
    let err: unknown = null;
    loop.callSoon(() => {
      try {
        timeout(1, async () => {
          called = true;
        });
      } catch (e) {
        err = e;
      }
      loop.stop();
    });
    await loop.runForever();
    assert.instance(err, RuntimeError);
    assert.match((err as Error).message, /task/);
    assert.not.ok(called, "the body is not called");
    assertClean(loop);
  } finally {
    loop.close();
  }
});

test("a NaN delay or deadline is a ValueError and a body that is no function a TypeError, at the call", () => {
  throwsSync(() => timeout(NaN, async () => {}), ValueError);
  throwsSync(() => timeoutAt(NaN, async () => {}), ValueError);
  throwsSync(() => new Timeout(NaN), ValueError);
  throwsSync(() => timeout("1" as never, async () => {}), TypeError);
  throwsSync(() => timeout(1, (async () => {})() as never), TypeError);
  throwsSync(() => timeoutAt(1, undefined as never), TypeError);
});

inTask("a timeout entered after a swallowed cancellation still expires (and a new cancel stays one)", async () => {
  const me = currentTask()!;
  try {
    me.cancel();
    await sleep(1);
  } catch (e) {
    if (!(e instanceof CancelledError)) throw e;
  }
  assert.is(me.cancelling(), 1);
  await rejects(timeout(0, () => sleep(1)), TimeoutError);
  assert.is(me.cancelling(), 1);
  await rejects(
    timeout(1, async () => {
      me.cancel();
      await sleep(2);
    }),
    CancelledError,
  );
  assert.is(me.cancelling(), 2);
  me.uncancel();
  me.uncancel();
});

inTask("a timeout nested in the cleanup of an expiring one", async () => {
  let innerErr: unknown = null;
  const e = await rejects(
    timeout(0.01, async () => {
      try {
        await sleep(1);
      } finally {
        try {
          await timeout(0.01, () => sleep(10));
        } catch (err) {
          innerErr = err;
        }
      }
    }),
    TimeoutError,
  );
  assertTimeoutError(e);
  assertTimeoutError(innerErr as Error);
});

inTask("expiry during a foreign await is delivered at the next await of a tsyncio future", async () => {
  const events: string[] = [];
  const t0 = Date.now();
  await rejects(
    timeout(0.005, async () => {
      await later(40);
      events.push("after the foreign promise");
      await sleep(10);
      events.push("not reached");
    }),
    TimeoutError,
  );
  assert.equal(events, ["after the foreign promise"]);
  assert.ok(Date.now() - t0 >= 35);
});

inTask("a host wait on currentTask().signal stops at the deadline; the signal is fresh afterwards", async () => {
  const me = currentTask()!;
  const t0 = Date.now();
  let reason: unknown = null;
  const e = await rejects(
    timeout(0.01, async () => {
      const signal = me.signal;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, 5000);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reason = signal.reason;
          reject(signal.reason);
        });
      });
    }),
    TimeoutError,
  );
  assert.instance(reason, CancelledError);
  assert.is((e as Error & { cause?: unknown }).cause, reason);
  assert.ok(Date.now() - t0 < 4000);
  assert.not.ok(me.signal.aborted, "a fresh signal once the request was taken back");
});

// ---- waitFor ----

inTask("waitFor: a result in time, with a future, a coroutine function, a generator function, or no timeout", async (loop) => {
  assert.is(await waitFor(sleep(0.001, "x"), 1), "x");
  assert.is(await waitFor(async () => "done", null), "done");
  assert.is(
    await waitFor(function* (): Generator<unknown, number, unknown> {
      return (yield* sleep(0.001, 20)) + 1;
    }, 1),
    21,
  );
  const fut = loop.createFuture<string>();
  loop.callSoon(() => fut.setResult("ok"));
  assert.is(await waitFor(fut, 0.2), "ok");
});

inTask("waitFor: on timeout the inner task is cancelled and waited for; TimeoutError caused by CancelledError", async (loop) => {
  let running: boolean | null = null;
  const inner = loop.createTask(async () => {
    running = true;
    try {
      await sleep(10);
    } finally {
      running = false;
    }
    return "done";
  });
  const e = await rejects(waitFor(inner, 0.01), TimeoutError);
  assertTimeoutError(e);
  assert.ok(inner.cancelled());
  assert.is(running, false);
  await rejects(
    waitFor(function* (): Generator<unknown, void, unknown> {
      yield* sleep(10);
    }, 0.01),
    TimeoutError,
  );
});

inTask("waitFor with timeout 0: a done future gives its result, a coroutine function is never called", async (loop) => {
  const fut = loop.createFuture<string>();
  fut.setResult("done");
  assert.is(await waitFor(fut, 0), "done");
  let started = false;
  await rejects(
    waitFor(async () => {
      started = true;
    }, 0),
    TimeoutError,
  );
  assert.not.ok(started);
});

inTask("waitFor with timeout 0 or less: a running task is cancelled and waited for", async (loop) => {
  for (const t of [0, -1]) {
    let running: boolean | null = null;
    const started = loop.createFuture<void>();
    const task = loop.createTask(async () => {
      running = true;
      started.setResult(undefined);
      try {
        await sleep(10);
      } finally {
        running = false;
      }
      return "done";
    });
    await started;
    const e = await rejects(waitFor(task, t), TimeoutError);
    assert.instance((e as Error & { cause?: unknown }).cause, CancelledError);
    assert.ok(task.cancelled());
    assert.is(running, false);
  }
});

inTask("waitFor waits until the inner task has finished its cancellation", async (loop) => {
  for (const t of [0.005, 0]) {
    let done = false;
    const inner = loop.createTask(async () => {
      try {
        await sleep(10);
      } catch (e) {
        await sleep(0.005);
        throw e;
      } finally {
        done = true;
      }
    });
    await sleep(0.001);
    await rejects(waitFor(inner, t), TimeoutError);
    assert.ok(done, `timeout ${t}`);
  }
});

inTask("waitFor: an inner that ignores the cancellation wins with its result", async () => {
  const r = await waitFor(async () => {
    try {
      await sleep(10);
    } catch {
      return 42;
    }
  }, 0.01);
  assert.is(r, 42);
  const r2 = await waitFor(async () => {
    try {
      await sleep(1);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, CancelledError);
    }
    return 1;
  }, 0.01);
  assert.is(r2, 1);
  assert.is(currentTask()!.cancelling(), 0);
});

inTask("waitFor: an error the inner raises while being cancelled is what comes out", async (loop) => {
  const inner = loop.createTask(async () => {
    try {
      await sleep(0.5);
    } finally {
      // deno-lint-ignore no-unsafe-finally
      throw new RangeError("foo");
    }
  });
  await rejects(waitFor(inner, 0.005), RangeError, "foo");
  await rejects(waitFor(async () => {
    throw new SyntaxError("raised at once");
  }, 1), SyntaxError);
});

inTask("cancelling the task that waits in waitFor cancels the inner task", async (loop) => {
  for (const t of [null, 60]) {
    const blocked = loop.createTask(async () => {
      await loop.createFuture();
    });
    const w = loop.createTask(() => waitFor(blocked, t));
    loop.callSoon(() => w.cancel());
    await rejects(w, CancelledError);
    assert.ok(blocked.cancelled(), `timeout ${t}`);
  }
});

inTask("a task cancelled right after waitFor returned is cancelled at its next await", async (loop) => {
  const inner = loop.createTask(async () => "done");
  let reachedEnd = false;
  const t = loop.createTask(async () => {
    await waitFor(inner, 100);
    await sleep(1);
    reachedEnd = true;
  });
  assert.not.ok(t.done());
  await sleep(0);
  t.cancel();
  await rejects(t, CancelledError);
  assert.is(await inner, "done");
  assert.not.ok(reachedEnd);
});

inTask("waitFor on a shielded task: the shield is cancelled, the task runs on", async (loop) => {
  const task = loop.createTask(async () => {
    await sleep(0.1);
    return "done";
  });
  const s0 = shield(task);
  await rejects(waitFor(s0, 0), TimeoutError);
  assert.ok(s0.cancelled());
  await rejects(waitFor(shield(task), 0.005), TimeoutError);
  assert.not.ok(task.done());
  assert.is(await waitFor(shield(task), null), "done");
});

inTask("waitFor from a generator task: result, TimeoutError, and a cancel of the task reaching the inner one", async (loop) => {
  const inner = loop.createTask(() => sleep(10));
  const log: string[] = [];
  const t = loop.createTask(function* (): Generator<unknown, void, unknown> {
    log.push(yield* waitFor(sleep(0.001, "in time"), 1));
    try {
      yield* waitFor(sleep(10), 0.005);
    } catch (e) {
      log.push((e as Error).name);
    }
    yield* waitFor(inner, null);
  });
  await sleep(0.05);
  assert.equal(log, ["in time", "TimeoutError"]);
  t.cancel();
  await rejects(t, CancelledError);
  assert.ok(inner.cancelled());
});

test("waitFor called outside a task runs in a task of its own", async () => {
  const loop = newEventLoop();
  setEventLoop(loop);
  try {
    const f = waitFor(sleep(0.001, "x", { loop }), 1);
    assert.instance(f, Task);
    assert.is(await loop.runUntilComplete(f), "x");
    const g = waitFor(sleep(10, undefined, { loop }), 0.01);
    await rejects(loop.runUntilComplete(g), TimeoutError);
    let fromCallback: Future<string> | null = null;
    loop.callSoon(() => (fromCallback = waitFor(async () => "cb", 1)));
    await loop.runUntilComplete(sleep(0.001, undefined, { loop }));
    assert.instance(fromCallback, Task);
    assert.is(await loop.runUntilComplete(fromCallback!), "cb");
    assertClean(loop);
  } finally {
    setEventLoop(null);
    loop.close();
  }
});

test("waitFor: a NaN timeout is a ValueError, a non-awaitable a TypeError, at the call", () => {
  throwsSync(() => waitFor(async () => {}, NaN), ValueError);
  throwsSync(() => waitFor(42 as never, 1), TypeError);
  throwsSync(() => waitFor(async () => {}, "1" as never), TypeError);
});

test.run();
