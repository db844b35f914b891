/** Debug mode: slow callbacks, coroutines never awaited, tasks destroyed while pending. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Logger, newEventLoop, setLogger, sleep } from "../mod.ts";
import { captureExceptions, gc, tick } from "./_helpers.ts";

function captureLog(): { warnings: string[]; restore: () => void } {
  const warnings: string[] = [];
  const l: Logger = { debug() {}, info() {}, warning: (m) => void warnings.push(m), error() {} };
  setLogger(l);
  return { warnings, restore: () => setLogger(null) };
}

test("setDebug/getDebug and slowCallbackDuration", () => {
  const loop = newEventLoop();
  assert.is(loop.getDebug(), false);
  loop.setDebug(true);
  assert.is(loop.getDebug(), true);
  assert.is(loop.slowCallbackDuration, 0.1);
  loop.close();
});

test("a slow callback is logged in debug mode only", async () => {
  const log = captureLog();
  const loop = newEventLoop();
  function slowOne() {
    const end = Date.now() + 30;
    while (Date.now() < end) { /* busy */ }
  }
  try {
    loop.slowCallbackDuration = 0.02;
    loop.callSoon(slowOne);
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    assert.equal(log.warnings, [], "not in normal mode");
    loop.setDebug(true);
    loop.callSoon(slowOne);
    loop.callSoon(() => loop.stop());
    await loop.runForever();
    assert.is(log.warnings.length, 1);
    assert.match(log.warnings[0], /^Executing <Handle slowOne\(\)> took 0\.0\d\d seconds$/);
  } finally {
    log.restore();
    loop.close();
  }
});

test("debug mode reports a coroutine returned by a callback that nobody awaits", async () => {
  const loop = newEventLoop();
  loop.setDebug(true);
  const seen = captureExceptions(loop);
  function* gen() {
    yield;
  }
  loop.callSoon(() => gen());
  loop.callSoon(() => Promise.resolve(1));
  loop.callSoon(() => 5);
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  assert.is(seen.length, 2);
  for (const ctx of seen) assert.match(ctx.message as string, "was never awaited");
  loop.close();
});

test("debug mode reports a task destroyed while pending", async () => {
  const loop = newEventLoop();
  loop.setDebug(true);
  const seen = captureExceptions(loop);
  await loop.runUntilComplete((function* () {
    const never = loop.createFuture(); // nobody will ever resolve it
    loop.createTask((function* () {
      yield* never;
    })());
    yield* sleep(0.005, undefined, { loop });
  })());
  for (let i = 0; i < 10 && seen.length === 0; i++) {
    gc();
    await tick(10);
  }
  assert.is(seen.length, 1);
  assert.is(seen[0].message, "Task was destroyed but it is pending!");
  assert.match(String(seen[0].task), "<Task pending");
  loop.close();
});

test.run();
