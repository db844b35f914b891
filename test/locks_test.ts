/** Lock, Event, Condition, Semaphore, BoundedSemaphore, Barrier: asyncio's locks (after CPython's test_locks). */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Barrier, BoundedSemaphore, BrokenBarrierError, CancelledError, Condition, currentTask, Event, type EventLoop, Future,
  gather, Lock, newEventLoop, RuntimeError, runBody, Semaphore, sleep, type Task, ValueError,
} from "../mod.ts";
import { captureExceptions, loopTest as withLoop, rejection, spin } from "./_helpers.ts";

/** Run `fn` as the main coroutine on `loop`. */
function main<T>(loop: EventLoop, fn: () => Promise<T>): Promise<T> {
  return loop.runUntilComplete(fn);
}

// ---- Lock ----

withLoop("Lock: acquire takes a free lock at once, release frees it, misuse throws", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    assert.not.ok(lock.locked());
    const f = lock.acquire();
    assert.instance(f, Future);
    assert.ok(f.done(), "a free lock is taken inside the call");
    assert.is(f.result(), true);
    assert.ok(lock.locked());
    assert.is(String(lock), "<Lock [locked]>");
    lock.release();
    assert.not.ok(lock.locked());
    assert.throws(() => lock.release(), (e: Error) => e instanceof RuntimeError && /not acquired/.test(e.message));
    assert.is(await lock.acquire(), true);
    lock.release();
  });
  assert.throws(() => new Lock().acquire(), (e: Error) => e instanceof RuntimeError, "no running loop");
});

withLoop("Lock: waiters get the lock in FIFO order (async tasks)", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    const order: number[] = [];
    await lock.acquire();
    const tasks = [1, 2, 3].map((i) =>
      loop.createTask(async () => {
        await lock.acquire();
        order.push(i);
      })
    );
    await spin(loop);
    assert.equal(order, []);
    assert.match(String(lock), "waiters:3");
    for (let n = 1; n <= 3; n++) {
      lock.release();
      await spin(loop);
      assert.equal(order, [1, 2, 3].slice(0, n), "one waiter per release, oldest first");
      assert.ok(lock.locked());
    }
    await gather(...tasks);
    lock.release();
    assert.not.ok(lock.locked());
  });
});

withLoop("Lock: waiters get the lock in FIFO order (generator tasks), and a newcomer queues behind them", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    const order: string[] = [];
    await lock.acquire();
    const worker = (name: string) =>
      loop.createTask((function* () {
        yield* lock.acquire();
        order.push(name);
        yield* sleep(0, undefined, { loop });
        lock.release();
      })());
    const ts = [worker("a"), worker("b")];
    await spin(loop);
    lock.release();
    // a is woken but has not run: the lock is free, yet a newcomer must queue behind a and b (fairness).
    assert.not.ok(lock.locked());
    const newcomer = lock.acquire();
    assert.not.ok(newcomer.done());
    const c = newcomer.then(() => {
      order.push("c");
      lock.release();
    });
    await gather(...ts, c);
    assert.equal(order, ["a", "b", "c"]);
    assert.not.ok(lock.locked());
  });
});

withLoop("Lock: a generator waiter woken then cancelled before it runs never takes the lock", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    const got: string[] = [];
    await lock.acquire();
    const waiter = (name: string) =>
      loop.createTask((function* () {
        yield* lock.acquire();
        got.push(name);
        lock.release();
      })());
    const tb = waiter("b");
    const tc = waiter("c");
    await spin(loop);
    // The release wakes b; b's task is cancelled before its next step.
    loop.callSoon(() => {
      lock.release();
      tb.cancel();
    });
    assert.instance(await rejection(tb), CancelledError);
    await tc;
    assert.equal(got, ["c"], "the lock went on to c");
    assert.not.ok(lock.locked());
  });
});

withLoop("Lock: an async waiter woken then cancelled before it runs never takes the lock", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    const got: string[] = [];
    await lock.acquire();
    const waiter = (name: string) =>
      loop.createTask(async () => {
        await lock.acquire();
        got.push(name);
        lock.release();
      });
    const tb = waiter("b");
    const tc = waiter("c");
    await spin(loop);
    loop.callSoon(() => {
      lock.release();
      tb.cancel();
    });
    assert.instance(await rejection(tb), CancelledError);
    await tc;
    assert.equal(got, ["c"]);
    assert.not.ok(lock.locked());
  });
});

withLoop("Lock: cancelling waiting tasks (generator and async) leaves the lock to the others", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    const got: string[] = [];
    await lock.acquire();
    const gen = loop.createTask((function* () {
      yield* lock.acquire();
      got.push("gen");
      lock.release();
    })());
    const fn = loop.createTask(async () => {
      await lock.acquire();
      got.push("fn");
      lock.release();
    });
    const last = loop.createTask(async () => {
      await lock.acquire();
      got.push("last");
      lock.release();
    });
    await spin(loop);
    gen.cancel();
    fn.cancel();
    await spin(loop);
    assert.ok(gen.cancelled());
    assert.ok(fn.cancelled());
    lock.release();
    await last;
    assert.equal(got, ["last"]);
    assert.not.ok(lock.locked());
    assert.is(String(lock), "<Lock [unlocked]>", "cancelled waiters are gone");
  });
});

withLoop("Lock: CPython's cancel race — a holder finishes while the next waiter is cancelled", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    const fa = loop.createFuture<void>();
    const lockit = (blocker: Future<void> | null) =>
      loop.createTask((function* () {
        yield* lock.acquire();
        try {
          if (blocker) yield* blocker;
        } finally {
          lock.release();
        }
      })());
    const ta = lockit(fa);
    await spin(loop, 1);
    assert.ok(lock.locked());
    const tb = lockit(null);
    const tc = lockit(null);
    await spin(loop, 1);
    fa.setResult();
    tb.cancel();
    await tc;
    assert.ok(ta.done());
    assert.ok(tb.cancelled());
    assert.not.ok(lock.locked());
  });
});

withLoop("Lock: cancelling the Future of acquire() withdraws the wait", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    await lock.acquire();
    const f = lock.acquire();
    assert.not.ok(f.done());
    assert.ok(f.cancel());
    lock.release();
    await spin(loop);
    assert.not.ok(lock.locked(), "the cancelled waiter did not take it");
    assert.ok(lock.acquire().done(), "free again at once");
    lock.release();
  });
});

withLoop("Lock: a waiter consumed with addDoneCallback holds the lock when its callback runs", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    await lock.acquire();
    const seen: boolean[] = [];
    lock.acquire().addDoneCallback((f) => {
      f.result();
      seen.push(lock.locked());
      lock.release();
    });
    // Nobody awaits this one at all: it still takes the lock in its turn.
    const unobserved = lock.acquire();
    lock.release();
    await spin(loop, 5);
    assert.equal(seen, [true]);
    assert.ok(unobserved.done());
    assert.ok(lock.locked(), "the unobserved waiter holds it");
    lock.release();
  });
});

withLoop("Lock.use runs the body in the calling task and always releases", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    const me = currentTask(loop);
    assert.ok(me !== null);
    const r = await lock.use(async (l) => {
      assert.is(l, lock);
      assert.ok(lock.locked());
      assert.is(currentTask(loop), me, "an async body runs in the caller's task");
      await sleep(0, undefined, { loop });
      return 42;
    });
    assert.is(r, 42);
    assert.not.ok(lock.locked());
    const err = await rejection(lock.use(async () => {
      throw new ValueError("boom");
    }));
    assert.instance(err, ValueError);
    assert.not.ok(lock.locked());
    const g = await lock.use(function* () {
      yield* sleep(0, undefined, { loop });
      return "gen";
    });
    assert.is(g, "gen");
    assert.not.ok(lock.locked());
    assert.throws(() => lock.use(42 as never), (e: Error) => e instanceof TypeError);
  });
});

withLoop("Lock.use: cancelling the caller interrupts the body (async and generator callers) and releases", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    const log: string[] = [];
    const fnCaller = loop.createTask(async () => {
      await lock.use(async () => {
        try {
          await sleep(10, undefined, { loop });
        } finally {
          log.push(`fn body finally, locked=${lock.locked()}`);
        }
      });
    });
    const genCaller = loop.createTask((function* () {
      yield* lock.use(function* () {
        try {
          yield* sleep(10, undefined, { loop });
        } finally {
          log.push(`gen body finally, locked=${lock.locked()}`);
        }
      });
    })());
    await spin(loop);
    assert.ok(lock.locked());
    fnCaller.cancel();
    assert.instance(await rejection(fnCaller), CancelledError);
    await spin(loop);
    assert.ok(lock.locked(), "the generator caller got the lock next");
    genCaller.cancel();
    assert.instance(await rejection(genCaller), CancelledError);
    assert.equal(log, ["fn body finally, locked=true", "gen body finally, locked=true"]);
    assert.not.ok(lock.locked());
  });
});

withLoop("Lock.use: a caller cancelled while it waits for the lock never runs the body", async (loop) => {
  await main(loop, async () => {
    const lock = new Lock();
    let ran = false;
    await lock.acquire();
    const t = loop.createTask(() => lock.use(async () => void (ran = true)));
    await spin(loop);
    t.cancel();
    assert.instance(await rejection(t), CancelledError);
    lock.release();
    await spin(loop);
    assert.not.ok(ran);
    assert.not.ok(lock.locked());
  });
});

test("Lock: a lock is bound to the loop it first waited on", async () => {
  const lock = new Lock();
  const a = newEventLoop();
  const b = newEventLoop();
  try {
    await a.runUntilComplete(async () => {
      await lock.acquire();
      const w = lock.acquire(); // waits: binds the lock to `a`
      w.cancel();
      lock.release();
    });
    await b.runUntilComplete(async () => {
      await lock.acquire(); // a free lock is taken without a loop check, as asyncio does
      assert.throws(() => lock.acquire(), (e: Error) => e instanceof RuntimeError && /different event loop/.test(e.message));
      lock.release();
    });
  } finally {
    a.close();
    b.close();
  }
});

// ---- runBody ----

withLoop("runBody runs a body in the current task, generator bodies as their own task", async (loop) => {
  await main(loop, async () => {
    const me = currentTask(loop);
    let inner: Task<unknown> | null = null;
    assert.is(await runBody(loop, async (x: number) => {
      inner = currentTask(loop);
      await sleep(0, undefined, { loop });
      return x + 1;
    }, 1), 2);
    assert.is(inner, me);
    assert.is(await runBody(loop, function* (x: string) {
      yield* sleep(0, undefined, { loop });
      return x + "!";
    }, "hi"), "hi!");
    assert.is(await runBody(loop, (x: number) => x * 3, 5), 15);
    assert.throws(() => runBody(loop, "nope" as never, 1), (e: Error) => e instanceof TypeError);
    assert.instance(await rejection(runBody(loop, async () => { throw new ValueError("x"); }, 0)), ValueError);
  });
});

// ---- Event ----

withLoop("Event: wait blocks until set, wakes every waiter, clear resets", async (loop) => {
  await main(loop, async () => {
    const ev = new Event();
    assert.not.ok(ev.isSet());
    const woke: string[] = [];
    const fn = loop.createTask(async () => {
      assert.is(await ev.wait(), true);
      woke.push("fn");
    });
    const gen = loop.createTask((function* () {
      const r = yield* ev.wait();
      assert.is(r, true);
      woke.push("gen");
    })());
    await spin(loop);
    assert.equal(woke, []);
    assert.is(String(ev), "<Event [unset, waiters:2]>");
    ev.set();
    ev.clear(); // waiters already woken still return true
    await gather(fn, gen);
    assert.equal(woke.sort(), ["fn", "gen"]);
    assert.not.ok(ev.isSet());
    const late = ev.wait();
    assert.not.ok(late.done());
    ev.set();
    assert.ok(ev.isSet());
    assert.is(await late, true);
    assert.ok(ev.wait().done(), "a set event does not block");
    ev.set(); // twice is fine
  });
});

withLoop("Event: a cancelled waiter is removed and the others still wake", async (loop) => {
  await main(loop, async () => {
    const ev = new Event();
    const t1 = loop.createTask(async () => await ev.wait());
    const t2 = loop.createTask((function* () {
      return yield* ev.wait();
    })());
    const t3 = loop.createTask(async () => await ev.wait());
    await spin(loop);
    t1.cancel();
    t2.cancel();
    await spin(loop);
    assert.ok(t1.cancelled());
    assert.ok(t2.cancelled());
    assert.is(String(ev), "<Event [unset, waiters:1]>");
    ev.set();
    assert.is(await t3, true);
  });
});

// ---- Condition ----

withLoop("Condition: wait and notify need the lock held (RuntimeError at the call)", async (loop) => {
  await main(loop, async () => {
    const cond = new Condition();
    assert.throws(() => cond.wait(), (e: Error) => e instanceof RuntimeError && /un-acquired/.test(e.message));
    assert.throws(() => cond.notify(), (e: Error) => e instanceof RuntimeError);
    assert.throws(() => cond.notifyAll(), (e: Error) => e instanceof RuntimeError);
    assert.throws(() => new Condition({} as never), (e: Error) => e instanceof TypeError);
    const lock = new Lock();
    const shared = new Condition(lock);
    await shared.acquire();
    assert.ok(lock.locked(), "the condition uses the lock it was given");
    shared.release();
    assert.not.ok(lock.locked());
  });
});

withLoop("Condition: notify(n) wakes n waiters in FIFO order, each with the lock held; notifyAll the rest", async (loop) => {
  await main(loop, async () => {
    const cond = new Condition();
    const woke: number[] = [];
    const waiter = (i: number) =>
      i % 2
        ? loop.createTask(async () => {
          await cond.acquire();
          try {
            assert.is(await cond.wait(), true);
            assert.ok(cond.locked());
            woke.push(i);
          } finally {
            cond.release();
          }
        })
        : loop.createTask((function* () {
          yield* cond.acquire();
          try {
            yield* cond.wait();
            assert.ok(cond.locked());
            woke.push(i);
          } finally {
            cond.release();
          }
        })());
    const tasks = [1, 2, 3, 4].map(waiter);
    await spin(loop);
    assert.not.ok(cond.locked(), "waiting releases the lock");
    await cond.use(async () => cond.notify(1));
    await spin(loop);
    assert.equal(woke, [1]);
    await cond.use(async () => cond.notify(2));
    await spin(loop, 5);
    assert.equal(woke, [1, 2, 3]);
    await cond.use(async () => cond.notifyAll());
    await gather(...tasks);
    assert.equal(woke, [1, 2, 3, 4]);
    assert.not.ok(cond.locked());
  });
});

withLoop("Condition.waitFor returns the predicate's value once it holds", async (loop) => {
  await main(loop, async () => {
    const cond = new Condition();
    let value = 0;
    const fn = loop.createTask(() => cond.use(() => cond.waitFor(() => value >= 2 && `fn:${value}`)));
    const gen = loop.createTask((function* () {
      yield* cond.acquire();
      try {
        return yield* cond.waitFor(() => value >= 3 && `gen:${value}`);
      } finally {
        cond.release();
      }
    })());
    for (let i = 1; i <= 3; i++) {
      await spin(loop);
      await cond.use(async () => {
        value = i;
        cond.notifyAll();
      });
    }
    assert.equal(await gather(fn, gen), ["fn:2", "gen:3"]);
    // A predicate already true returns at once, lock or not.
    assert.is(await cond.waitFor(() => "now"), "now");
    assert.throws(() => cond.waitFor(1 as never), (e: Error) => e instanceof TypeError);
  });
});

withLoop("Condition: a waiter cancelled while waiting re-acquires the lock before CancelledError", async (loop) => {
  await main(loop, async () => {
    const cond = new Condition();
    const seen: string[] = [];
    const fn = loop.createTask(async () => {
      await cond.acquire();
      try {
        await cond.wait();
      } catch (e) {
        seen.push(`fn ${e instanceof CancelledError} locked=${cond.locked()}`);
        throw e;
      } finally {
        cond.release();
      }
    });
    const gen = loop.createTask((function* () {
      yield* cond.acquire();
      try {
        yield* cond.wait();
      } catch (e) {
        seen.push(`gen ${e instanceof CancelledError} locked=${cond.locked()}`);
        throw e;
      } finally {
        cond.release();
      }
    })());
    await spin(loop);
    // Hold the lock while cancelling: neither can finish until it is released.
    await cond.acquire();
    fn.cancel();
    gen.cancel();
    await spin(loop);
    assert.equal(seen, [], "cancelled, but still waiting for the lock");
    assert.not.ok(fn.done());
    cond.release();
    assert.instance(await rejection(fn), CancelledError);
    assert.instance(await rejection(gen), CancelledError);
    assert.equal(seen.sort(), ["fn true locked=true", "gen true locked=true"]);
    assert.not.ok(cond.locked());
  });
});

withLoop("Condition: a notified waiter cancelled before it re-acquires passes the notification on", async (loop) => {
  await main(loop, async () => {
    const cond = new Condition();
    const done: string[] = [];
    const waiter = (name: string) =>
      loop.createTask(async () => {
        await cond.acquire();
        try {
          await cond.wait();
          done.push(name);
        } finally {
          cond.release();
        }
      });
    const a = waiter("a");
    const b = waiter("b");
    await spin(loop);
    await cond.acquire();
    cond.notify(1); // a only
    await spin(loop);
    a.cancel(); // a is notified but blocked on the lock
    cond.release();
    assert.instance(await rejection(a), CancelledError);
    await b;
    assert.equal(done, ["b"], "b got the notification a could not use");
  });
});

// ---- Semaphore ----

withLoop("Semaphore: counts down, waits at 0, serves waiters in FIFO order", async (loop) => {
  await main(loop, async () => {
    assert.throws(() => new Semaphore(-1), (e: Error) => e instanceof ValueError);
    assert.throws(() => new Semaphore(1.5), (e: Error) => e instanceof TypeError);
    const sem = new Semaphore(2);
    assert.is(String(sem), "<Semaphore [unlocked, value:2]>");
    assert.ok(sem.acquire().done());
    assert.ok(sem.acquire().done());
    assert.ok(sem.locked());
    const order: number[] = [];
    const tasks = [1, 2, 3].map((i) =>
      i === 2
        ? loop.createTask((function* () {
          yield* sem.acquire();
          order.push(i);
        })())
        : loop.createTask(async () => {
          await sem.acquire();
          order.push(i);
        })
    );
    await spin(loop);
    assert.equal(order, []);
    sem.release();
    await spin(loop);
    assert.equal(order, [1]);
    sem.release();
    sem.release();
    await gather(...tasks);
    assert.equal(order, [1, 2, 3]);
    assert.ok(sem.locked(), "value back to 0");
    sem.release();
    sem.release();
    assert.not.ok(sem.locked());
    assert.is(sem._value, 2);
  });
});

withLoop("Semaphore.locked(): while woken waiters have not run, newcomers wait (asyncio 3.13)", async (loop) => {
  await main(loop, async () => {
    const sem = new Semaphore(0);
    const order: string[] = [];
    const a = loop.createTask(async () => {
      await sem.acquire();
      order.push("a");
    });
    await spin(loop);
    sem.release(); // wakes a
    sem.release(); // nobody else waits: the count goes to 1
    assert.ok(sem.locked(), "a has not run yet: a newcomer must queue behind it");
    const c = loop.createTask(async () => {
      await sem.acquire();
      order.push("c");
    });
    await gather(a, c);
    assert.equal(order, ["a", "c"]);
    assert.ok(sem.locked());
  });
});

withLoop("Semaphore: cancelled waiters (waiting, or woken and not yet run) lose no unit", async (loop) => {
  await main(loop, async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const got: string[] = [];
    const gen = (name: string) =>
      loop.createTask((function* () {
        yield* sem.acquire();
        got.push(name);
      })());
    const fn = (name: string) =>
      loop.createTask(async () => {
        await sem.acquire();
        got.push(name);
      });
    const a = gen("a");
    const b = fn("b");
    const c = gen("c");
    const d = fn("d");
    await spin(loop);
    b.cancel(); // cancelled while waiting
    await spin(loop);
    loop.callSoon(() => {
      sem.release(); // wakes a
      a.cancel(); // before a runs: its unit goes to c
    });
    await c;
    assert.equal(got, ["c"]);
    assert.ok(a.cancelled());
    assert.ok(b.cancelled());
    loop.callSoon(() => {
      sem.release(); // wakes d
      d.cancel(); // an async waiter too
    });
    assert.instance(await rejection(d), CancelledError);
    await spin(loop);
    assert.equal(got, ["c"]);
    assert.is(sem._value, 1, "the unit d never used came back");
    sem.release(); // c's
    assert.is(sem._value, 2);
  });
});

withLoop("BoundedSemaphore: releasing above the initial value is a ValueError", async (loop) => {
  await main(loop, async () => {
    const sem = new BoundedSemaphore(2);
    assert.throws(() => sem.release(), (e: Error) => e instanceof ValueError && /too many/.test(e.message));
    await sem.acquire();
    await sem.acquire();
    sem.release();
    sem.release();
    assert.throws(() => sem.release(), (e: Error) => e instanceof ValueError);
    assert.is(String(sem), "<BoundedSemaphore [unlocked, value:2]>");
    assert.is(await sem.use(async (s) => {
      assert.is(s, sem);
      return sem._value;
    }), 1);
    assert.is(sem._value, 2);
  });
});

withLoop("Semaphore.use limits concurrency", async (loop) => {
  await main(loop, async () => {
    const sem = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const job = (i: number) =>
      sem.use(async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(0.002, undefined, { loop });
        running--;
        return i;
      });
    assert.equal(await gather(...[1, 2, 3, 4, 5].map(job)), [1, 2, 3, 4, 5]);
    assert.is(peak, 2);
    assert.not.ok(sem.locked());
  });
});

// ---- Barrier ----

withLoop("Barrier: N parties each get a distinct index 0..N-1, and it is reusable", async (loop) => {
  await main(loop, async () => {
    assert.throws(() => new Barrier(0), (e: Error) => e instanceof ValueError);
    assert.throws(() => new Barrier("3" as never), (e: Error) => e instanceof TypeError);
    const b = new Barrier(3);
    assert.is(b.parties, 3);
    assert.throws(() => {
      (b as unknown as { parties: number }).parties = 5;
    }, (e: Error) => e instanceof TypeError, "read-only");
    for (let round = 0; round < 2; round++) {
      const fn = loop.createTask(async () => await b.wait());
      const gen = loop.createTask((function* () {
        return yield* b.wait();
      })());
      await spin(loop);
      assert.is(b.nWaiting, 2);
      assert.is(String(b), "<Barrier [filling, waiters:2/3]>");
      const last = await b.wait();
      const all = [await fn, await gen, last];
      assert.equal([...all].sort(), [0, 1, 2]);
      assert.is(last, 2, "the last to arrive gets the last index");
      await spin(loop);
      assert.is(b.nWaiting, 0);
      assert.not.ok(b.broken);
    }
    assert.equal((await gather(b.use(async (i) => i), b.use(function* (i) {
      yield* sleep(0, undefined, { loop });
      return i;
    }), b.wait())).sort(), [0, 1, 2]);
  });
});

withLoop("Barrier: abort breaks current and later waits until reset", async (loop) => {
  await main(loop, async () => {
    const b = new Barrier(3);
    const fn = loop.createTask(async () => await b.wait());
    const gen = loop.createTask((function* () {
      return yield* b.wait();
    })());
    await spin(loop);
    await b.abort();
    assert.ok(b.broken);
    assert.instance(await rejection(fn), BrokenBarrierError);
    assert.instance(await rejection(gen), BrokenBarrierError);
    const err = await rejection(b.wait());
    assert.instance(err, BrokenBarrierError);
    assert.instance(err, RuntimeError, "a RuntimeError, as in Python");
    assert.is((err as Error).name, "BrokenBarrierError");
    assert.is(String(b), "<Barrier [broken]>");
    await b.reset();
    assert.not.ok(b.broken);
    assert.equal((await gather(b.wait(), b.wait(), b.wait())).sort(), [0, 1, 2]);
  });
});

withLoop("Barrier: reset while tasks wait breaks their wait, then the barrier fills again", async (loop) => {
  await main(loop, async () => {
    const b = new Barrier(2);
    const t = loop.createTask(async () => await b.wait());
    await spin(loop);
    assert.is(b.nWaiting, 1);
    await b.reset();
    assert.instance(await rejection(t), BrokenBarrierError);
    await spin(loop);
    assert.is(b.nWaiting, 0);
    assert.not.ok(b.broken);
    assert.equal((await gather(b.wait(), b.wait())).sort(), [0, 1]);
  });
});

withLoop("Barrier: a cancelled waiter leaves, the others still need all parties", async (loop) => {
  await main(loop, async () => {
    const b = new Barrier(3);
    const quitter = loop.createTask(async () => await b.wait());
    const genQuitter = loop.createTask((function* () {
      return yield* b.wait();
    })());
    await spin(loop);
    quitter.cancel();
    genQuitter.cancel();
    assert.instance(await rejection(quitter), CancelledError);
    assert.instance(await rejection(genQuitter), CancelledError);
    await spin(loop);
    assert.is(b.nWaiting, 0);
    const first = b.wait();
    const second = b.wait();
    await spin(loop);
    assert.not.ok(first.done(), "two parties are not enough");
    assert.equal([await b.wait(), await first, await second].sort(), [0, 1, 2]);
  });
});

withLoop("locks: nothing is reported to the exception handler on the way", async (loop) => {
  const seen = captureExceptions(loop);
  await main(loop, async () => {
    const lock = new Lock();
    await lock.acquire();
    const ws = [lock.acquire(), lock.acquire()];
    ws[0].cancel();
    lock.release();
    await ws[1];
    lock.release();
  });
  assert.equal(seen, []);
});

test.run();
