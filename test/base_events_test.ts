/** The loop: scheduling, timers, running, stopping, closing, exception handler, bad input. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  EventLoop, Future, getRunningLoop, Handle, newEventLoop, RuntimeError, TimerHandle, ValueError,
} from "../mod.ts";
import { captureExceptions, isA, SELECTORS, settledFds, tick } from "./_helpers.ts";
import { detectRuntime, loadNative } from "../runtimes/detect.ts";

for (const selector of SELECTORS) {
  const t = (name: string, fn: (loop: EventLoop) => Promise<void> | void) =>
    test(`[${selector}] ${name}`, async () => {
      const loop = newEventLoop({ selector });
      try {
        await fn(loop);
      } finally {
        if (loop.isRunning()) loop.stop();
        if (!loop.isRunning()) loop.close();
      }
    });

  t("callSoon runs callbacks in FIFO order with their arguments", async (loop) => {
    const seen: unknown[] = [];
    for (let i = 0; i < 5; i++) loop.callSoon((a: number, b: string) => seen.push([a, b]), i, `x${i}`);
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    assert.equal(seen, [[0, "x0"], [1, "x1"], [2, "x2"], [3, "x3"], [4, "x4"]]);
  });

  t("callSoon returns a Handle that can be cancelled", async (loop) => {
    const seen: number[] = [];
    const h = loop.callSoon(() => seen.push(1));
    loop.callSoon(() => seen.push(2));
    assert.instance(h, Handle);
    assert.not.ok(h.cancelled());
    h.cancel();
    assert.ok(h.cancelled());
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    assert.equal(seen, [2]);
  });

  t("callbacks scheduled by a callback run in the next iteration, after I/O", async (loop) => {
    const seen: string[] = [];
    loop.callSoon(() => {
      seen.push("a");
      loop.callSoon(() => seen.push("c"));
    });
    loop.callSoon(() => seen.push("b"));
    loop.callSoon(() => loop.callSoon(() => loop.stop()));
    await loop.runForever();
    assert.equal(seen, ["a", "b", "c"]);
  });

  t("timers fire by deadline, FIFO on equal deadlines", async (loop) => {
    const seen: string[] = [];
    const when = loop.time() + 0.03;
    loop.callAt(when, () => seen.push("t1"));
    loop.callLater(0.01, () => seen.push("early"));
    loop.callAt(when, () => seen.push("t2"));
    loop.callAt(when, () => seen.push("t3"));
    loop.callLater(0.05, () => loop.stop());
    await loop.runForever();
    assert.equal(seen, ["early", "t1", "t2", "t3"]);
  });

  t("callLater waits at least its delay; callAt/when/time agree", async (loop) => {
    const t0 = loop.time();
    let fired = 0;
    const h = loop.callLater(0.05, () => {
      fired = loop.time();
      loop.stop();
    });
    assert.instance(h, TimerHandle);
    assert.ok(Math.abs(h.when() - (t0 + 0.05)) < 0.005);
    await loop.runForever();
    assert.ok(fired - t0 >= 0.049, `fired after ${fired - t0}s`);
    assert.ok(fired - t0 < 1);
  });

  t("time() is monotonic seconds", (loop) => {
    const a = loop.time();
    const b = loop.time();
    assert.type(a, "number");
    assert.ok(b >= a);
    assert.ok(a > 0);
  });

  t("cancelled timers do not run; many cancellations are cleaned up", async (loop) => {
    const seen: number[] = [];
    const hs = [];
    for (let i = 0; i < 300; i++) hs.push(loop.callLater(0.001 * (i % 10), () => seen.push(i)));
    for (let i = 0; i < 300; i++) if (i % 3 !== 0) hs[i].cancel();
    loop.callLater(0.02, () => loop.stop());
    await loop.runForever();
    assert.is(seen.length, 100);
    assert.ok(seen.every((i) => i % 3 === 0));
    assert.ok(loop._scheduled.length === 0, "heap emptied");
  });

  t("stop() before runForever runs exactly one iteration", async (loop) => {
    const seen: string[] = [];
    loop.callSoon(() => {
      seen.push("first");
      loop.callSoon(() => seen.push("second"));
    });
    loop.stop();
    await loop.runForever();
    assert.equal(seen, ["first"]);
    loop.stop();
    await loop.runForever();
    assert.equal(seen, ["first", "second"]);
  });

  t("stop() inside a callback finishes the current batch", async (loop) => {
    const seen: string[] = [];
    loop.callSoon(() => {
      seen.push("a");
      loop.stop();
    });
    loop.callSoon(() => seen.push("b"));
    loop.callSoon(() => loop.callSoon(() => seen.push("next")));
    await loop.runForever();
    assert.equal(seen, ["a", "b"]);
    assert.not.ok(loop.isRunning());
  });

  t("runUntilComplete on a Future, a promise and a generator coroutine", async (loop) => {
    const f = loop.createFuture<number>();
    loop.callLater(0.01, () => f.setResult(42));
    assert.is(await loop.runUntilComplete(f), 42);
    assert.is(await loop.runUntilComplete((async () => 7)()), 7);
    function* gen(): Generator<unknown, string, unknown> {
      const fut = loop.createFuture<string>();
      loop.callSoon(() => fut.setResult("g"));
      const v = yield* fut;
      return v + "!";
    }
    assert.is(await loop.runUntilComplete(gen()), "g!");
  });

  t("runUntilComplete rejects with the future's exception", async (loop) => {
    const f = loop.createFuture();
    loop.callSoon(() => f.setException(new ValueError("boom")));
    try {
      await loop.runUntilComplete(f);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, ValueError);
      assert.is((e as Error).message, "boom");
    }
  });

  t("runUntilComplete: stopped before the future completed", async (loop) => {
    const f = loop.createFuture();
    loop.callSoon(() => loop.stop());
    try {
      await loop.runUntilComplete(f);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, RuntimeError);
      assert.match((e as Error).message, "stopped before Future completed");
    }
  });

  t("running twice, running a closed loop, a second loop while one runs", async (loop) => {
    const other = newEventLoop({ selector });
    const errors: unknown[] = [];
    loop.callSoon(() => {
      try {
        loop.runForever();
      } catch (e) {
        errors.push(e);
      }
      try {
        other.runForever();
      } catch (e) {
        errors.push(e);
      }
      loop.stop();
    });
    await loop.runForever();
    assert.is(errors.length, 2);
    assert.instance(errors[0], RuntimeError);
    assert.match((errors[0] as Error).message, "already running");
    assert.instance(errors[1], RuntimeError);
    assert.match((errors[1] as Error).message, "another loop is running");
    other.close();
    assert.throws(() => other.runForever(), (e: Error) => e instanceof RuntimeError && /closed/.test(e.message));
    assert.throws(() => other.runUntilComplete((async () => 1)()), (e: Error) => e instanceof RuntimeError);
  });

  t("close semantics: idempotent, refuses while running, drops callbacks", async (loop) => {
    let ran = false;
    loop.callSoon(() => {
      assert.throws(() => loop.close(), (e: Error) => e instanceof RuntimeError && /running/.test(e.message));
      loop.stop();
    });
    await loop.runForever();
    loop.callSoon(() => (ran = true));
    loop.close();
    assert.ok(loop.isClosed());
    loop.close();
    assert.not.ok(ran);
    assert.throws(() => loop.callSoon(() => {}), (e: Error) => e instanceof RuntimeError && /closed/.test(e.message));
    assert.throws(() => loop.callLater(1, () => {}), isA(RuntimeError));
    assert.throws(() => loop.createTask((async () => 1)()), isA(RuntimeError));
    assert.is(loop.removeReader(0), false);
  });

  t("isRunning and getRunningLoop reflect the run, promise continuations included", async (loop) => {
    assert.not.ok(loop.isRunning());
    const seen: unknown[] = [];
    const main = async () => {
      await Promise.resolve();
      seen.push(getRunningLoop() === loop);
      await new Promise((r) => setTimeout(r, 5));
      seen.push(getRunningLoop() === loop, loop.isRunning());
    };
    await loop.runUntilComplete(main());
    assert.equal(seen, [true, true, true]);
    // A coroutine function is called once the loop runs, so its first line sees the loop too.
    assert.is(await loop.runUntilComplete(async () => getRunningLoop() === loop), true);
    assert.is(await loop.runUntilComplete(function* () {
      return getRunningLoop() === loop;
    }), true);
    assert.throws(() => getRunningLoop(), isA(RuntimeError));
  });

  t("exception handler: callback errors carry message, exception and handle", async (loop) => {
    const seen = captureExceptions(loop);
    const err = new Error("bad callback");
    function failing() {
      throw err;
    }
    const h = loop.callSoon(failing);
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    assert.is(seen.length, 1);
    assert.match(seen[0].message as string, "Exception in callback failing()");
    assert.is(seen[0].exception, err);
    assert.is(seen[0].handle, h);
  });

  t("exception handler: a failing handler falls back to the default one", async (loop) => {
    const logged: unknown[][] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void logged.push(a);
    try {
      loop.setExceptionHandler(() => {
        throw new Error("handler broke");
      });
      loop.callExceptionHandler({ message: "original" });
    } finally {
      console.error = orig;
    }
    assert.is(logged.length, 1);
    assert.match(String(logged[0][0]), "Unhandled error in exception handler");
    assert.match(String(logged[0][0]), "context:");
    assert.is((logged[0][1] as Error).message, "handler broke");
  });

  t("default exception handler logs message, sorted keys and exception", (loop) => {
    const logged: unknown[][] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => void logged.push(a);
    try {
      const exc = new Error("x");
      loop.defaultExceptionHandler({ message: "hello", transport: "T", exception: exc, future: "F" });
      loop.callExceptionHandler({});
    } finally {
      console.error = orig;
    }
    assert.is(logged[0][0], "hello\nfuture: F\ntransport: T");
    assert.instance(logged[0][1], Error);
    assert.is(logged[1][0], "Unhandled exception in event loop");
  });

  t("setExceptionHandler / getExceptionHandler", (loop) => {
    assert.is(loop.getExceptionHandler(), null);
    const h = () => {};
    loop.setExceptionHandler(h);
    assert.is(loop.getExceptionHandler(), h);
    loop.setExceptionHandler(null);
    assert.is(loop.getExceptionHandler(), null);
    // deno-lint-ignore no-explicit-any
    assert.throws(() => loop.setExceptionHandler(42 as any), isA(TypeError));
  });

  t("wakes while idle when a host timer schedules work", async (loop) => {
    const t0 = loop.time();
    let at = 0;
    setTimeout(() => {
      loop.callSoonThreadsafe(() => {
        at = loop.time();
        loop.stop();
      });
    }, 20);
    await loop.runForever();
    assert.ok(at - t0 >= 0.015 && at - t0 < 2, `woke after ${at - t0}s`);
  });

  t("host promises and timers keep running next to a running loop", async (loop) => {
    let hostTicks = 0;
    const iv = setInterval(() => hostTicks++, 2);
    loop.callLater(0.05, () => loop.stop());
    await loop.runForever();
    clearInterval(iv);
    assert.ok(hostTicks >= 5, `host interval ran ${hostTicks} times`);
  });

  t("a busy loop still lets promise continuations and host timers run", async (loop) => {
    let hostTimerRan = false;
    setTimeout(() => (hostTimerRan = true), 1);
    let steps = 0;
    const spin = () => {
      if (hostTimerRan) {
        loop.stop();
        return;
      }
      steps++;
      loop.callSoon(spin);
    };
    loop.callSoon(spin);
    await loop.runForever();
    assert.ok(hostTimerRan);
    assert.ok(steps > 10);
  });

  t("the exception handler context keys for a future's unretrieved exception", async (loop) => {
    const seen = captureExceptions(loop);
    const { gc } = await import("./_helpers.ts");
    (() => {
      const f = loop.createFuture();
      f.setException(new Error("never retrieved"));
    })();
    for (let i = 0; i < 10 && seen.length === 0; i++) {
      gc();
      await tick(10);
    }
    assert.is(seen.length, 1);
    assert.match(seen[0].message as string, "Future exception was never retrieved");
    assert.is((seen[0].exception as Error).message, "never retrieved");
    assert.type(seen[0].future, "string");
  });
}

test("bad input: delays, callbacks", () => {
  const loop = newEventLoop();
  try {
    // deno-lint-ignore no-explicit-any
    const anyLoop = loop as any;
    assert.throws(() => anyLoop.callLater("1", () => {}), (e: Error) => e instanceof TypeError && /delay/.test(e.message));
    assert.throws(() => anyLoop.callLater(null, () => {}), isA(TypeError));
    assert.throws(() => loop.callLater(NaN, () => {}), (e: Error) => e instanceof ValueError && /NaN/.test(e.message));
    assert.throws(() => anyLoop.callAt(undefined, () => {}), isA(TypeError));
    assert.throws(() => anyLoop.callSoon(42), (e: Error) => e instanceof TypeError && /callable/.test(e.message));
    assert.throws(() => anyLoop.callLater(1, "x"), isA(TypeError));
    assert.throws(() => loop.callSoon(async () => {}), (e: Error) => e instanceof TypeError && /coroutines cannot be used/.test(e.message));
    assert.throws(() => loop.callSoon(function* () {}), isA(TypeError));
    assert.throws(() => anyLoop.setTaskFactory(5), isA(TypeError));
  } finally {
    loop.close();
  }
});

test("a future from another loop is refused by runUntilComplete", async () => {
  const a = newEventLoop();
  const b = newEventLoop();
  const f = new Future({ loop: a });
  try {
    assert.throws(() => b.runUntilComplete(f), isA(ValueError));
  } finally {
    a.close();
    b.close();
  }
});

test("an unknown runtime is refused with a clear error", async () => {
  assert.is(detectRuntime({}), null);
  assert.is(detectRuntime({ Bun: { version: "1.0" } }), "bun");
  try {
    await loadNative(detectRuntime({}));
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).name, "RuntimeError");
    assert.match((e as Error).message, "unsupported JavaScript runtime");
  }
  try {
    await loadNative("quickjs");
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, '"quickjs"');
  }
});

for (const selector of SELECTORS) {
  test(`[${selector}] loops that ran, waited on I/O and closed leak no descriptor`, async () => {
    const before = await settledFds();
    for (let i = 0; i < 20; i++) {
      const loop = newEventLoop({ selector });
      const fds = new Int32Array(new ArrayBuffer(8));
      const { libc } = await import("../src/native.ts");
      libc.pipe(new Uint8Array(fds.buffer));
      loop.addReader(fds[0], () => {});
      loop.callLater(0.002, () => loop.stop());
      await loop.runForever();
      loop.close();
      libc.close(fds[0]);
      libc.close(fds[1]);
    }
    assert.equal(await settledFds(before), before);
  });
}

test.run();
