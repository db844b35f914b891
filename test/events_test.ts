/** getRunningLoop, getEventLoop, setEventLoop, newEventLoop, policies, run(). */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  AbstractEventLoopPolicy, CancelledError, DefaultEventLoopPolicy, EventLoop, getEventLoop, getEventLoopPolicy,
  getRunningLoop, newEventLoop, run, RuntimeError, setEventLoop, setEventLoopPolicy, sleep, Task, ValueError,
} from "../mod.ts";
import { isA } from "./_helpers.ts";

/** Each test starts from a fresh default policy, and leaves one behind. */
function policyTest(name: string, fn: () => Promise<void> | void) {
  test(name, async () => {
    setEventLoopPolicy(null);
    try {
      await fn();
    } finally {
      try {
        const p = getEventLoopPolicy();
        if (p instanceof DefaultEventLoopPolicy) {
          let l: EventLoop | null = null;
          try {
            l = p.getEventLoop();
          } catch { /* none set */ }
          if (l && !l.isRunning()) l.close();
        }
      } finally {
        setEventLoopPolicy(null);
      }
    }
  });
}

/** The rejection (or synchronous throw) of `f()`, or a failure if it succeeds. */
async function failure(f: () => PromiseLike<unknown> | unknown): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new assert.Assertion({ message: "expected an error", generated: false, operator: "rejects", expects: undefined, actual: undefined });
}

policyTest("getRunningLoop() throws RuntimeError when no loop runs", () => {
  assert.throws(() => getRunningLoop(), isA(RuntimeError, "no running event loop"));
  const loop = newEventLoop();
  assert.throws(() => getRunningLoop(), isA(RuntimeError), "a loop that exists but does not run");
  loop.close();
});

policyTest("getRunningLoop() returns the loop inside callbacks, and throws again after the run", async () => {
  const loop = newEventLoop();
  const seen: unknown[] = [];
  loop.callSoon(() => seen.push(getRunningLoop()));
  loop.callLater(0.005, () => {
    seen.push(getRunningLoop());
    loop.stop();
  });
  await loop.runForever();
  assert.is(seen.length, 2);
  assert.is(seen[0], loop);
  assert.is(seen[1], loop);
  assert.throws(() => getRunningLoop(), isA(RuntimeError));
  loop.close();
});

policyTest("getRunningLoop() answers inside promise continuations of a coroutine", async () => {
  const loop = newEventLoop();
  const seen: [string, unknown][] = [];
  const probe = (label: string) => {
    try {
      seen.push([label, getRunningLoop()]);
    } catch (e) {
      seen.push([label, e]);
    }
  };
  async function main(): Promise<string> {
    probe("start");
    await Promise.resolve();
    probe("after a resolved promise");
    await sleep(0.005);
    probe("after sleep");
    await new Promise((r) => setTimeout(r, 5));
    probe("after a host timer");
    await null;
    probe("after await null");
    return "done";
  }
  assert.is(await loop.runUntilComplete(main), "done");
  assert.equal(seen.map(([l]) => l), ["start", "after a resolved promise", "after sleep", "after a host timer", "after await null"]);
  for (const [label, v] of seen) assert.is(v, loop, label);
  assert.throws(() => getRunningLoop(), isA(RuntimeError));
  loop.close();
});

policyTest("getEventLoop() returns the running loop, even when the policy holds another", async () => {
  const other = newEventLoop();
  setEventLoop(other);
  assert.is(getEventLoop(), other);
  const loop = newEventLoop();
  const inside = await loop.runUntilComplete(async () => {
    await null;
    return getEventLoop();
  });
  assert.is(inside, loop);
  assert.is(getEventLoop(), other, "the policy's loop again once the run ended");
  loop.close();
  other.close();
});

policyTest("getEventLoop() with no running loop creates the policy's loop on first use, then returns it", () => {
  const a = getEventLoop();
  assert.instance(a, EventLoop);
  assert.not.ok(a.isClosed());
  assert.not.ok(a.isRunning());
  assert.is(getEventLoop(), a, "the same object twice");
  assert.is(getEventLoopPolicy().getEventLoop(), a);
  a.close();
});

policyTest("setEventLoop(loop) makes it current; setEventLoop(null) then getEventLoop() throws RuntimeError", () => {
  const loop = newEventLoop();
  setEventLoop(loop);
  assert.is(getEventLoop(), loop);
  setEventLoop(null);
  assert.throws(() => getEventLoop(), isA(RuntimeError));
  assert.throws(() => getEventLoop(), isA(RuntimeError), "still none: not created on demand any more");
  setEventLoop(loop);
  assert.is(getEventLoop(), loop);
  loop.close();
});

policyTest("setEventLoop with something that is not a loop throws TypeError", () => {
  for (const bad of [{}, 42, "loop", undefined, { runForever() {} }]) {
    assert.throws(() => setEventLoop(bad as unknown as EventLoop), isA(TypeError), String(bad));
  }
  const a = getEventLoop();
  assert.throws(() => setEventLoop({} as unknown as EventLoop), isA(TypeError));
  assert.is(getEventLoop(), a, "a rejected value does not replace the current loop");
  a.close();
});

policyTest("newEventLoop() returns a distinct, fresh loop each time, not the current one", () => {
  const current = getEventLoop();
  const a = newEventLoop();
  const b = newEventLoop();
  assert.instance(a, EventLoop);
  assert.instance(b, EventLoop);
  assert.is.not(a, b);
  assert.is.not(a, current);
  for (const l of [a, b]) {
    assert.not.ok(l.isClosed());
    assert.not.ok(l.isRunning());
  }
  assert.is(getEventLoop(), current, "newEventLoop does not change the current loop");
  a.close();
  assert.ok(a.isClosed());
  assert.not.ok(b.isClosed(), "closing one leaves the other open");
  b.close();
  current.close();
});

policyTest("getEventLoopPolicy() returns the default policy, the same object each time", () => {
  const p = getEventLoopPolicy();
  assert.instance(p, DefaultEventLoopPolicy);
  assert.instance(p, AbstractEventLoopPolicy);
  assert.is(getEventLoopPolicy(), p);
});

policyTest("the abstract policy's methods throw", () => {
  const p = new AbstractEventLoopPolicy();
  assert.throws(() => p.getEventLoop(), isA(RuntimeError));
  assert.throws(() => p.setEventLoop(null), isA(RuntimeError));
  assert.throws(() => p.newEventLoop(), isA(RuntimeError));
});

policyTest("a custom policy serves getEventLoop/setEventLoop/newEventLoop/run; setEventLoopPolicy(null) restores the default", async () => {
  const calls: string[] = [];
  const made: EventLoop[] = [];
  class MyPolicy extends AbstractEventLoopPolicy {
    current: EventLoop | null = null;
    override getEventLoop(): EventLoop {
      calls.push("get");
      if (this.current === null) throw new RuntimeError("MyPolicy has no loop");
      return this.current;
    }
    override setEventLoop(loop: EventLoop | null): void {
      calls.push(loop === null ? "set null" : "set loop");
      this.current = loop;
    }
    override newEventLoop(): EventLoop {
      calls.push("new");
      const l = new EventLoop();
      made.push(l);
      return l;
    }
  }
  const before = getEventLoopPolicy();
  const mine = new MyPolicy();
  setEventLoopPolicy(mine);
  assert.is(getEventLoopPolicy(), mine);

  assert.throws(() => getEventLoop(), isA(RuntimeError, "MyPolicy"));
  const l = newEventLoop();
  assert.is(made[0], l);
  setEventLoop(l);
  assert.is(getEventLoop(), l);
  assert.equal(calls, ["get", "new", "set loop", "get"]);

  calls.length = 0;
  const used = await run(async () => {
    await null;
    return getRunningLoop();
  });
  assert.is(made.length, 2, "run() asked the policy for its loop");
  assert.is(used, made[1]);
  assert.ok(calls.includes("new"));
  assert.ok(used.isClosed());
  l.close();

  setEventLoopPolicy(null);
  const restored = getEventLoopPolicy();
  assert.instance(restored, DefaultEventLoopPolicy);
  assert.is.not(restored, mine);
  assert.is.not(restored, before, "a fresh default policy");
  const d = getEventLoop();
  assert.not.ok(made.includes(d), "the default policy makes its own loops again");
  d.close();
});

policyTest("setEventLoopPolicy with something that is not a policy throws TypeError", () => {
  const p = getEventLoopPolicy();
  const duck = { getEventLoop() {}, setEventLoop() {}, newEventLoop() {} };
  for (const bad of [{}, 42, "policy", duck, undefined]) {
    assert.throws(() => setEventLoopPolicy(bad as unknown as AbstractEventLoopPolicy), isA(TypeError), String(bad));
  }
  assert.is(getEventLoopPolicy(), p, "the policy is unchanged");
});

policyTest("run(async function) returns its result and runs it on a running loop", async () => {
  let inside: EventLoop | null = null;
  const r = await run(async () => {
    inside = getRunningLoop();
    await sleep(0.005);
    assert.is(getRunningLoop(), inside);
    return 42;
  });
  assert.is(r, 42);
  assert.ok(inside !== null);
  assert.ok((inside as EventLoop | null)!.isClosed(), "run() closed its loop");
  assert.throws(() => getRunningLoop(), isA(RuntimeError), "no loop runs after run()");
});

policyTest("run(promise) awaits an async function's promise", async () => {
  async function main(x: number): Promise<number> {
    await new Promise((r) => setTimeout(r, 5));
    const loop = getRunningLoop();
    await sleep(0.005);
    assert.is(getRunningLoop(), loop);
    return x + 1;
  }
  assert.is(await run(main(41)), 42);
});

policyTest("run(generator coroutine) steps a function* using yield* sleep()", async () => {
  const order: string[] = [];
  let inside: EventLoop | null = null;
  function* main(): Generator<unknown, string, unknown> {
    inside = getRunningLoop();
    order.push("start");
    yield* sleep(0.01);
    order.push("slept");
    const v = yield* sleep(0.001, "value");
    order.push(String(v));
    return "gen result";
  }
  assert.is(await run(main()), "gen result");
  assert.equal(order, ["start", "slept", "value"]);
  assert.ok(inside!.isClosed());
  // The coroutine-function form too.
  assert.is(await run(main), "gen result");
});

policyTest("run() rejects with the coroutine's error and still closes its loop", async () => {
  let used: EventLoop | null = null;
  const err = await failure(() =>
    run(async () => {
      used = getRunningLoop();
      await sleep(0.001);
      throw new ValueError("boom");
    })
  );
  assert.instance(err, ValueError);
  assert.is(err.message, "boom");
  assert.ok(used!.isClosed());

  const genErr = await failure(() =>
    run(function* (): Generator<unknown, void, unknown> {
      yield* sleep(0.001);
      throw new RangeError("from a generator");
    })
  );
  assert.instance(genErr, RangeError);
  assert.is(genErr.message, "from a generator");
});

policyTest("run() cancels leftover tasks: CancelledError reaches them and their finally blocks run", async () => {
  const events: string[] = [];
  let leftover: Task<void> | null = null;
  let promiseTask: Task<unknown> | null = null;
  const r = await run(async () => {
    const loop = getRunningLoop();
    leftover = loop.createTask((function* (): Generator<unknown, void, unknown> {
      try {
        events.push("started");
        yield* sleep(3600);
        events.push("woke up (wrong)");
      } catch (e) {
        events.push(e instanceof CancelledError ? "CancelledError" : `other: ${e}`);
        throw e;
      } finally {
        events.push("finally");
      }
    })(), { name: "sleeper" });
    promiseTask = loop.createTask(new Promise(() => {}));
    await sleep(0.01);
    assert.not.ok(leftover!.done());
    return "main done";
  });
  assert.is(r, "main done");
  assert.equal(events, ["started", "CancelledError", "finally"]);
  assert.ok(leftover!.cancelled());
  assert.ok(promiseTask!.cancelled(), "a task over a promise is cancelled too");
  assert.ok(promiseTask!.signal.aborted, "and its signal is aborted");
});

policyTest("run({ debug: true }) turns on the loop's debug mode", async () => {
  const debug = await run(async () => {
    await null;
    return getRunningLoop().getDebug();
  }, { debug: true });
  assert.is(debug, true);
  const off = await run(async () => getRunningLoop().getDebug(), { debug: false });
  assert.is(off, false);
});

policyTest("run() inside a running loop throws RuntimeError", async () => {
  const loop = newEventLoop();
  let ranInner = false;
  const err = await loop.runUntilComplete(async () => {
    await null;
    return await failure(() =>
      run(async () => {
        ranInner = true;
      })
    );
  });
  assert.instance(err, RuntimeError);
  assert.not.ok(ranInner, "the inner coroutine function was never called");
  assert.not.ok(loop.isClosed(), "the running loop was not touched");
  loop.close();

  const nested = await run(async () => {
    const e = await failure(() => run(async () => 1));
    return [e, getRunningLoop().isClosed()] as const;
  });
  assert.instance(nested[0], RuntimeError);
  assert.is(nested[1], false);
});

policyTest("after run() the loop it used is closed and is no longer current", async () => {
  let used: EventLoop | null = null;
  await run(async () => {
    used = getRunningLoop();
    assert.is(getEventLoop(), used, "the running loop inside");
  });
  assert.ok(used!.isClosed());
  assert.not.ok(used!.isRunning());
  let current: EventLoop | null = null;
  try {
    current = getEventLoop();
  } catch (e) {
    assert.instance(e, RuntimeError);
  }
  assert.is.not(current, used, "the closed loop is not handed out afterwards");
});

test.run();
