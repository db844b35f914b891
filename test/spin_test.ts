/**
 * The loop's pre-park spin (polling a little while traffic flows).
 *
 * A descriptor ready on every poll (a writer on a pipe nobody fills, a reader
 * on a pipe nobody drains) must not hold the thread: a task awaiting a
 * foreign promise resumes. The loop's spin for busy I/O used to skip the
 * slice budget, so once I/O counted as busy one slice ran forever.
 *
 * A hang would hold the thread (host timers never fire), so the guard lives
 * in the callback itself: after GIVE_UP_MS without the task resuming it
 * removes its descriptor, which lets the loop go idle, and the test fails.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { type EventLoop, sleep } from "../mod.ts";
import { libc, native } from "../src/native.ts";
import { loopTestsEachSelector } from "./_helpers.ts";

const t = loopTestsEachSelector(test);

/** Far beyond a slice (about 1 ms): only a slice that never ends gets here. */
const GIVE_UP_MS = 1000;
const ROUNDS = 5;

function pipeFds(): [number, number] {
  const fds = new Int32Array(2);
  if (libc.pipe(new Uint8Array(fds.buffer)) !== 0) throw new Error("pipe() failed");
  return [fds[0], fds[1]];
}

type Watch = "reader" | "writer";

/**
 * Rounds of: watch an always-ready descriptor, await a plain promise, stop
 * watching, close, `sleep(0)`. Returns the round in which the guard gave
 * up (the task never resumed), if any.
 */
async function rounds(loop: EventLoop, watch: Watch): Promise<number[]> {
  const starved: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const [r, w] = pipeFds();
    const fd = watch === "writer" ? w : r;
    const remove = () => (watch === "writer" ? loop.removeWriter(fd) : loop.removeReader(fd));
    let open = true;
    const close = () => {
      if (!open) return;
      open = false;
      remove();
      libc.close(r);
      libc.close(w);
    };
    // A pipe with unread data: its read end is ready on every poll.
    if (watch === "reader") libc.write(w, new Uint8Array([1]), 1);
    try {
      await loop.runUntilComplete(async () => {
        let resumed = false;
        const t0 = native.now();
        const cb = () => {
          if (!resumed && native.now() - t0 > GIVE_UP_MS) {
            starved.push(round);
            remove();
          }
        };
        if (watch === "writer") loop.addWriter(fd, cb);
        else loop.addReader(fd, cb);
        await (async () => {})();
        resumed = true;
        close();
        await sleep(0);
      });
    } finally {
      close();
    }
    if (starved.length > 0) break; // one is enough: keep a failing run short
  }
  return starved;
}

for (const watch of ["writer", "reader"] as const) {
  t(`a task awaiting a plain promise resumes while a ${watch} is ready on every iteration`, async (loop) => {
    const starved = await rounds(loop, watch);
    assert.equal(starved, [], `the task's await never resumed within ${GIVE_UP_MS} ms in round ${starved} (the ${watch} callback held the thread)`);
  });
}

/**
 * A task's code that went on past one await reaches the next, on a done
 * future (a `drain()` with nothing to wait for): that continuation is a
 * microtask or two away. The spin must not start before it has run, or
 * every such await waits out the spin (a streams echo lost 15% to it).
 */
t("the spin does not start while a continuation of a done future is pending", async (loop) => {
  const [r, w] = pipeFds();
  // A descriptor watched but never ready: the spin has I/O to poll.
  loop.addReader(r, () => {});
  const seen: number[] = [];
  const spin = loop._spinForIo;
  loop._spinForIo = function (this: typeof loop, timeout: number) {
    seen.push(stage);
    return spin.call(this, timeout);
  };
  let stage = 0;
  try {
    await loop.runUntilComplete(async () => {
      for (let i = 0; i < 20; i++) {
        // A foreign await parks the loop; the callSoon below wakes it within
        // microseconds, so I/O counts as busy and the spin is wanted.
        await Promise.resolve();
        const woken = loop.createFuture<number>();
        loop.callSoon(() => woken.setResult(1));
        await woken;
        stage = 1;
        const done = loop.createFuture<number>();
        done.setResult(2);
        await done;
        stage = 2;
      }
    });
  } finally {
    loop._spinForIo = spin;
    loop.removeReader(r);
    libc.close(r);
    libc.close(w);
  }
  assert.ok(seen.length > 0, "the spin never ran: the test does not exercise it");
  assert.not.ok(seen.includes(1), `the spin started while the task waited one microtask away (stages seen: ${seen})`);
});

test.run();
