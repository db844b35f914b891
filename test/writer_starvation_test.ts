/**
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

test.run();
