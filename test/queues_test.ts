/** Queue, PriorityQueue, LifoQueue: asyncio's queues with 3.13's shutdown (after CPython's test_queues). */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  CancelledError, type EventLoop, Future, gather, LifoQueue, newEventLoop, PriorityQueue, Queue, QueueEmpty, QueueFull,
  QueueShutDown, RuntimeError, sleep, ValueError,
} from "../mod.ts";
import { captureExceptions, loopTest as withLoop, rejection, spin } from "./_helpers.ts";

function main<T>(loop: EventLoop, fn: () => Promise<T>): Promise<T> {
  return loop.runUntilComplete(fn);
}

/** Everything in the queue, taken with getNowait(). */
function drain<T>(q: Queue<T>): T[] {
  const out: T[] = [];
  while (!q.empty()) out.push(q.getNowait());
  return out;
}

// ---- basics ----

withLoop("Queue: FIFO order, qsize/empty/full, read-only maxsize, argument checks", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>({ maxsize: 2 });
    assert.is(q.maxsize, 2);
    assert.throws(() => {
      (q as unknown as { maxsize: number }).maxsize = 5;
    }, (e: Error) => e instanceof TypeError, "read-only");
    assert.ok(q.empty());
    assert.not.ok(q.full());
    const p = q.put(1);
    assert.instance(p, Future);
    assert.ok(p.done(), "room: put completes inside the call");
    q.putNowait(2);
    assert.is(q.qsize(), 2);
    assert.ok(q.full());
    assert.throws(() => q.putNowait(3), (e: Error) => e instanceof QueueFull && e.name === "QueueFull");
    assert.is(String(q), "<Queue maxsize=2 _queue=[1, 2] tasks=2>");
    assert.is(await q.get(), 1);
    assert.is(q.getNowait(), 2);
    assert.throws(() => q.getNowait(), (e: Error) => e instanceof QueueEmpty && e.name === "QueueEmpty");
    assert.not.ok(new Queue().full(), "maxsize 0: never full");
    const unbounded = new Queue<number>({ maxsize: -1 });
    for (let i = 0; i < 100; i++) unbounded.putNowait(i);
    assert.not.ok(unbounded.full());
    assert.equal(drain(unbounded), [...Array(100).keys()]);
    assert.throws(() => new Queue({ maxsize: "2" as never }), (e: Error) => e instanceof TypeError);
  });
});

withLoop("Queue: get waits for put; getters are served in FIFO order (async and generator)", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<string>();
    const got: string[] = [];
    const fn = loop.createTask(async () => {
      got.push(`fn:${await q.get()}`);
    });
    const gen = loop.createTask((function* () {
      const v = yield* q.get();
      got.push(`gen:${v}`);
    })());
    await spin(loop);
    assert.equal(got, []);
    assert.match(String(q), "_getters[2]");
    q.putNowait("a");
    await q.put("b");
    await gather(fn, gen);
    assert.equal(got.sort(), ["fn:a", "gen:b"], "the first getter got the first item");
    assert.ok(q.empty());
  });
});

withLoop("Queue: put waits while full and putters go in FIFO order (async and generator)", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>({ maxsize: 1 });
    q.putNowait(0);
    const done: number[] = [];
    const fn = loop.createTask(async () => {
      await q.put(1);
      done.push(1);
    });
    const gen = loop.createTask((function* () {
      yield* q.put(2);
      done.push(2);
    })());
    await spin(loop);
    assert.equal(done, []);
    assert.match(String(q), "_putters[2]");
    assert.is(await q.get(), 0);
    await spin(loop);
    assert.equal(done, [1]);
    assert.is(q.qsize(), 1);
    assert.is(q.getNowait(), 1);
    assert.is(await q.get(), 2);
    await gather(fn, gen);
    assert.equal(done, [1, 2]);
  });
});

withLoop("Queue: producers and consumers with a small maxsize pass every item once, in order", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>({ maxsize: 2 });
    const got: number[] = [];
    const producer = (from: number) =>
      loop.createTask(async () => {
        for (let i = from; i < from + 50; i++) await q.put(i);
      });
    const consumer = loop.createTask(async () => {
      for (let i = 0; i < 100; i++) got.push(await q.get());
    });
    await gather(producer(0), producer(1000), consumer);
    assert.is(got.length, 100);
    assert.equal(got.filter((x) => x < 1000), [...Array(50).keys()], "each producer's items stay in order");
    assert.equal(new Set(got).size, 100);
  });
});

// ---- taskDone / join ----

withLoop("Queue: join waits until taskDone was called for every item; too many is a ValueError", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>();
    assert.ok(q.join().done(), "nothing put: join returns at once");
    assert.throws(() => q.taskDone(), (e: Error) => e instanceof ValueError && /too many/.test(e.message));
    for (let i = 0; i < 3; i++) q.putNowait(i);
    const joined = q.join();
    const gjoin = loop.createTask((function* () {
      yield* q.join();
      return "gen joined";
    })());
    let processed = 0;
    const worker = loop.createTask(async () => {
      for (;;) {
        await q.get();
        await sleep(0, undefined, { loop });
        processed++;
        q.taskDone();
      }
    });
    await joined;
    assert.is(processed, 3);
    assert.is(await gjoin, "gen joined");
    worker.cancel();
    await rejection(worker);
    assert.throws(() => q.taskDone(), (e: Error) => e instanceof ValueError);
  });
});

// ---- PriorityQueue and LifoQueue ----

withLoop("PriorityQueue: numbers, strings and arrays in Python's order", async (loop) => {
  await main(loop, async () => {
    const nums = new PriorityQueue<number | boolean | bigint>();
    // Booleans and bigints compare as numbers do in Python.
    for (const x of [5, 1, 4, 2n, 3.5, -1]) nums.putNowait(x);
    assert.equal(drain(nums), [-1, 1, 2n, 3.5, 4, 5]);
    nums.putNowait(true);
    nums.putNowait(0);
    assert.equal(drain(nums), [0, true]);

    const strs = new PriorityQueue<string>();
    for (const s of ["pear", "apple", "\u{1F600}", "\uFFFF", "app", "Zebra"]) strs.putNowait(s);
    // By code point: "\uFFFF" < U+1F600 (JavaScript's `<` on UTF-16 units says the opposite).
    assert.equal(drain(strs), ["Zebra", "app", "apple", "pear", "\uFFFF", "\u{1F600}"]);

    const tuples = new PriorityQueue<unknown[]>();
    for (const t of [[2, "b"], [1, "z"], [1, "a"], [1], [2, "a", 0], [0, [9, 9]], [0, [9]]]) tuples.putNowait(t);
    assert.equal(drain(tuples), [[0, [9]], [0, [9, 9]], [1], [1, "a"], [1, "z"], [2, "a", 0], [2, "b"]]);

    // Equal priorities with payloads that cannot be compared: fine while the priorities differ...
    const jobs = new PriorityQueue<[number, { name: string }]>();
    jobs.putNowait([2, { name: "b" }]);
    jobs.putNowait([1, { name: "a" }]);
    assert.is(jobs.getNowait()[1].name, "a");
    // ...a TypeError when they tie, as in Python, and the queue is unchanged.
    assert.throws(() => jobs.putNowait([2, { name: "c" }]), (e: Error) => e instanceof TypeError && /not supported/.test(e.message));
    assert.is(jobs.qsize(), 1);
    const mixed = new PriorityQueue<unknown>();
    mixed.putNowait(1);
    assert.throws(() => mixed.putNowait("1"), (e: Error) => e instanceof TypeError);
    assert.throws(() => mixed.putNowait(null), (e: Error) => e instanceof TypeError);
    assert.instance(await rejection(mixed.put([1])), TypeError, "put() rejects with it");
    assert.equal(drain(mixed), [1]);
  });
});

withLoop("PriorityQueue: a compare option orders the items", async (loop) => {
  await main(loop, async () => {
    const q = new PriorityQueue<{ due: number }>({ compare: (a, b) => b.due - a.due });
    for (const due of [3, 9, 1, 7]) await q.put({ due });
    assert.equal(drain(q).map((x) => x.due), [9, 7, 3, 1]);
    assert.throws(() => new PriorityQueue({ compare: 1 as never }), (e: Error) => e instanceof TypeError);
    const bounded = new PriorityQueue<number>({ maxsize: 1 });
    bounded.putNowait(5);
    assert.ok(bounded.full());
  });
});

withLoop("LifoQueue gives the last item first; a blocked getter gets the next put", async (loop) => {
  await main(loop, async () => {
    const q = new LifoQueue<number>();
    for (const x of [1, 2, 3]) q.putNowait(x);
    assert.equal(drain(q), [3, 2, 1]);
    const g = q.get();
    q.putNowait(4);
    q.putNowait(5);
    assert.is(await g, 4);
    assert.is(q.getNowait(), 5);
  });
});

// ---- cancellation ----

withLoop("Queue: a getter woken with an item but cancelled before it runs gives the item back (generator)", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>();
    const reader = loop.createTask((function* () {
      return yield* q.get();
    })());
    await spin(loop);
    q.putNowait(1);
    q.putNowait(2);
    reader.cancel();
    assert.instance(await rejection(reader), CancelledError);
    assert.equal(drain(q), [1, 2], "1 is not lost and still comes first");
  });
});

withLoop("Queue: a getter woken with an item but cancelled before it runs gives the item back (async)", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>();
    const reader = loop.createTask(async () => await q.get());
    const other = loop.createTask(async () => await q.get());
    await spin(loop);
    loop.callSoon(() => {
      q.putNowait(1);
      reader.cancel();
    });
    assert.instance(await rejection(reader), CancelledError);
    assert.is(await other, 1, "the next getter got it");
    assert.ok(q.empty());
  });
});

withLoop("Queue: cancelled waiting getters are skipped", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<string>();
    const t1 = loop.createTask(async () => await q.get());
    const t2 = loop.createTask((function* () {
      return yield* q.get();
    })());
    const f3 = q.get();
    const t4 = loop.createTask(async () => await q.get());
    await spin(loop);
    t1.cancel();
    t2.cancel();
    f3.cancel();
    await spin(loop);
    assert.ok(t1.cancelled() && t2.cancelled() && f3.cancelled());
    assert.match(String(q), "_getters[1]");
    await q.put("a");
    assert.is(await t4, "a");
  });
});

withLoop("Queue: a cancelled putter never adds its item, woken or not", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>({ maxsize: 1 });
    q.putNowait(1);
    const waiting = loop.createTask(async () => await q.put(2));
    await spin(loop);
    waiting.cancel();
    assert.instance(await rejection(waiting), CancelledError);
    assert.is(q.getNowait(), 1);
    await spin(loop);
    assert.ok(q.empty(), "2 was never put");

    q.putNowait(1);
    const gen = loop.createTask((function* () {
      yield* q.put(3);
    })());
    const fn = loop.createTask(async () => await q.put(4));
    const last = loop.createTask(async () => await q.put(5));
    await spin(loop);
    loop.callSoon(() => {
      assert.is(q.getNowait(), 1); // frees the slot for gen...
      gen.cancel(); // ...which is cancelled before it runs
    });
    assert.instance(await rejection(gen), CancelledError);
    await spin(loop);
    await fn;
    assert.equal(drain(q), [4], "the slot went to the next putter");
    last.cancel(); // woken by the drain just above, cancelled before it runs (async)
    assert.instance(await rejection(last), CancelledError);
    await spin(loop);
    assert.ok(q.empty(), "5 was never put");
    assert.not.ok(q.full());
  });
});

// ---- shutdown ----

withLoop("shutdown(): puts fail, gets drain the rest then fail, blocked callers wake with QueueShutDown", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>({ maxsize: 2 });
    const getterQ = new Queue<number>();
    const blockedGet = loop.createTask(async () => await getterQ.get());
    const blockedGenGet = loop.createTask((function* () {
      return yield* getterQ.get();
    })());
    q.putNowait(1);
    q.putNowait(2);
    const blockedPut = loop.createTask(async () => await q.put(3));
    const blockedGenPut = loop.createTask((function* () {
      yield* q.put(4);
    })());
    await spin(loop);
    q.shutdown();
    getterQ.shutdown();
    assert.instance(await rejection(blockedPut), QueueShutDown);
    assert.instance(await rejection(blockedGenPut), QueueShutDown);
    assert.instance(await rejection(blockedGet), QueueShutDown);
    assert.instance(await rejection(blockedGenGet), QueueShutDown);
    assert.throws(() => q.putNowait(5), (e: Error) => e instanceof QueueShutDown && e.name === "QueueShutDown");
    assert.instance(await rejection(q.put(5)), QueueShutDown);
    assert.is(await q.get(), 1, "items left are still got");
    assert.is(q.getNowait(), 2);
    assert.throws(() => q.getNowait(), (e: Error) => e instanceof QueueShutDown);
    assert.instance(await rejection(q.get()), QueueShutDown);
    assert.match(String(q), "shutdown");
    q.taskDone();
    q.taskDone();
    await q.join();
  });
});

withLoop("shutdown(immediate): the items are dropped and counted done, so join returns and get fails", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>();
    for (let i = 0; i < 3; i++) q.putNowait(i);
    q.getNowait(); // one taken, not yet done
    const joined = q.join();
    q.shutdown(true);
    assert.ok(q.empty());
    assert.throws(() => q.getNowait(), (e: Error) => e instanceof QueueShutDown);
    assert.instance(await rejection(q.get()), QueueShutDown);
    await spin(loop);
    assert.not.ok(joined.done(), "the item taken before is still being processed");
    q.taskDone();
    await joined;
    assert.throws(() => q.taskDone(), (e: Error) => e instanceof ValueError);
  });
});

// ---- async iteration ----

withLoop("for await over a queue yields items until shutdown (remaining items first)", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>();
    const seen: number[] = [];
    const consumer = loop.createTask(async () => {
      for await (const x of q) {
        seen.push(x);
        q.taskDone();
      }
      return "ended";
    });
    for (const x of [1, 2]) await q.put(x);
    await q.join();
    assert.equal(seen, [1, 2]);
    q.putNowait(3);
    q.putNowait(4);
    q.shutdown();
    assert.is(await consumer, "ended");
    assert.equal(seen, [1, 2, 3, 4]);

    // A consumer blocked waiting for the next item ends too.
    const q3 = new Queue<number>();
    const blocked = loop.createTask(async () => {
      for await (const _ of q3) return "got an item";
      return "ended";
    });
    await spin(loop);
    q3.shutdown();
    assert.is(await blocked, "ended");

    const q2 = new Queue<number>();
    q2.putNowait(1);
    q2.shutdown(true);
    const none: number[] = [];
    for await (const x of q2) none.push(x);
    assert.equal(none, [], "an immediate shutdown ends the iteration at once");
  });
});

withLoop("for await over a queue: cancelling the task stops the wait and loses no item", async (loop) => {
  await main(loop, async () => {
    const q = new Queue<number>();
    const consumer = loop.createTask(async () => {
      for await (const _ of q) {
        throw new Error("no item was put");
      }
    });
    await spin(loop);
    consumer.cancel();
    assert.instance(await rejection(consumer), CancelledError);
    q.putNowait(7);
    assert.is(q.getNowait(), 7);
  });
});

// ---- misuse and loops ----

test("Queue: get/put need a running loop, and a queue is bound to the loop it first waited on", async () => {
  const q = new Queue<number>();
  assert.throws(() => q.get(), (e: Error) => e instanceof RuntimeError);
  q.putNowait(1); // the *Nowait methods need no loop
  assert.is(q.getNowait(), 1);
  const a = newEventLoop();
  const b = newEventLoop();
  try {
    await a.runUntilComplete(async () => {
      const g = q.get(); // waits: binds to `a`
      g.cancel();
    });
    await b.runUntilComplete(async () => {
      q.putNowait(2);
      assert.is(await q.get(), 2, "no wait, no loop check");
      assert.throws(() => q.get(), (e: Error) => e instanceof RuntimeError && /different event loop/.test(e.message));
    });
  } finally {
    a.close();
    b.close();
  }
});

withLoop("queues: nothing is reported to the exception handler on the way", async (loop) => {
  const seen = captureExceptions(loop);
  await main(loop, async () => {
    const q = new Queue<number>({ maxsize: 1 });
    q.putNowait(0);
    void q.put(1); // fire and forget: still goes in when there is room
    const g = q.get();
    assert.is(await g, 0);
    await spin(loop);
    assert.is(q.getNowait(), 1);
  });
  assert.equal(seen, []);
});

test.run();
