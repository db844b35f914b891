/** Future: states, callbacks, result/exception, InvalidStateError, awaiting and yield*. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { CancelledError, Future, InvalidStateError, isFuture, newEventLoop } from "../mod.ts";
import { isA } from "./_helpers.ts";


test("a new future is pending; result() and exception() raise InvalidStateError", () => {
  const loop = newEventLoop();
  const f = loop.createFuture();
  assert.not.ok(f.done());
  assert.not.ok(f.cancelled());
  assert.throws(() => f.result(), isA(InvalidStateError, "Result is not ready"));
  assert.throws(() => f.exception(), isA(InvalidStateError, "Exception is not set"));
  assert.is(f.getLoop(), loop);
  assert.ok(isFuture(f));
  assert.not.ok(isFuture(Promise.resolve()));
  assert.is(String(f), "<Future pending>");
  loop.close();
});

test("setResult finishes the future; a second set raises InvalidStateError", () => {
  const loop = newEventLoop();
  const f = loop.createFuture<number>();
  f.setResult(3);
  assert.ok(f.done());
  assert.is(f.result(), 3);
  assert.is(f.exception(), null);
  assert.throws(() => f.setResult(4), isA(InvalidStateError));
  assert.throws(() => f.setException(new Error("x")), isA(InvalidStateError));
  assert.not.ok(f.cancel());
  assert.match(String(f), "finished result=3");
  loop.close();
});

test("setException: result() throws it, exception() returns it; classes are instantiated", () => {
  const loop = newEventLoop();
  const f = loop.createFuture();
  const e = new RangeError("r");
  f.setException(e);
  assert.throws(() => f.result(), (x: Error) => x === e);
  assert.is(f.exception(), e);
  const g = loop.createFuture();
  g.setException(RangeError);
  assert.instance(g.exception(), RangeError);
  const h = loop.createFuture();
  assert.throws(() => h.setException(undefined), isA(TypeError));
  assert.throws(() => h.setException(new CancelledError()), isA(TypeError));
  loop.close();
});

test("cancel: state, message, CancelledError from result()", () => {
  const loop = newEventLoop();
  const f = loop.createFuture();
  assert.ok(f.cancel("because"));
  assert.ok(f.cancelled());
  assert.ok(f.done());
  assert.not.ok(f.cancel());
  assert.throws(() => f.result(), (e: Error) => e instanceof CancelledError && e.message === "because");
  assert.throws(() => f.exception(), isA(CancelledError));
  assert.throws(() => f.setResult(1), isA(InvalidStateError));
  assert.is(String(f), "<Future cancelled>");
  loop.close();
});

test("done callbacks run through callSoon, in order, never inline", async () => {
  const loop = newEventLoop();
  const f = loop.createFuture<string>();
  const seen: string[] = [];
  f.addDoneCallback((x) => seen.push("a:" + x.result()));
  f.addDoneCallback(() => seen.push("b"));
  f.setResult("v");
  assert.equal(seen, [], "not run inline");
  f.addDoneCallback(() => seen.push("late"));
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  assert.equal(seen, ["a:v", "b", "late"]);
  loop.close();
});

test("removeDoneCallback removes every registration and returns the count", async () => {
  const loop = newEventLoop();
  const f = loop.createFuture();
  const seen: number[] = [];
  const cb = () => seen.push(1);
  const other = () => seen.push(2);
  f.addDoneCallback(cb);
  f.addDoneCallback(other);
  f.addDoneCallback(cb);
  assert.is(f.removeDoneCallback(cb), 2);
  assert.is(f.removeDoneCallback(cb), 0);
  f.setResult(null);
  loop.callSoon(() => loop.stop());
  await loop.runForever();
  assert.equal(seen, [2]);
  // deno-lint-ignore no-explicit-any
  assert.throws(() => f.addDoneCallback(42 as any), isA(TypeError));
  loop.close();
});

test("await a future from async code: result, exception, cancellation", async () => {
  const loop = newEventLoop();
  const a = loop.createFuture<number>();
  const b = loop.createFuture<number>();
  const c = loop.createFuture<number>();
  loop.callLater(0.005, () => a.setResult(1));
  loop.callLater(0.005, () => b.setException(new Error("bad")));
  loop.callLater(0.005, () => c.cancel("stop"));
  const out = await loop.runUntilComplete((async () => {
    const r: unknown[] = [await a];
    try {
      await b;
    } catch (e) {
      r.push((e as Error).message);
    }
    try {
      await c;
    } catch (e) {
      r.push(e instanceof CancelledError ? "cancelled:" + (e as Error).message : "?");
    }
    return r;
  })());
  assert.equal(out, [1, "bad", "cancelled:stop"]);
  // A done future is awaitable without a running loop.
  assert.is(await a, 1);
  assert.is(await a.then((x) => x + 1), 2);
  loop.close();
});

test("yield* a future inside a generator task returns its result", async () => {
  const loop = newEventLoop();
  const f = new Future<number>({ loop });
  loop.callLater(0.001, () => f.setResult(5));
  const r = await loop.runUntilComplete((function* () {
    const v = yield* f;
    const again = yield* f; // done already: no suspension
    return v + again;
  })());
  assert.is(r, 10);
  loop.close();
});

test("yield* a pending future outside a task is an error", () => {
  const loop = newEventLoop();
  const f = loop.createFuture();
  const it = f[Symbol.iterator]();
  assert.is(it.next().value, f);
  assert.throws(() => it.next(), (e: Error) => /yield\*/.test(e.message));
  loop.close();
});

test.run();
