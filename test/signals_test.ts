/** addSignalHandler/removeSignalHandler with real signals sent to this process. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { type EventLoop, newEventLoop, RuntimeError, signal, ValueError } from "../mod.ts";
import { isA } from "./_helpers.ts";
import { libc, native } from "../src/native.ts";

const pid = libc.getpid();
const send = (sig: number) => assert.is(libc.kill(pid, sig), 0);

/** The signals this process catches, from /proc/self/status (read through libc: no host permission needed). */
function caughtSignals(): bigint {
  const fd = libc.open(new TextEncoder().encode("/proc/self/status\0"), 0, 0);
  const buf = new Uint8Array(8192);
  const n = libc.read(fd, buf, buf.length);
  libc.close(fd);
  const text = new TextDecoder().decode(buf.subarray(0, n));
  return BigInt("0x" + /SigCgt:\s*([0-9a-f]+)/.exec(text)![1]);
}
const bit = (sig: number) => 1n << BigInt(sig - 1);

function withLoop(name: string, fn: (loop: EventLoop) => Promise<void>) {
  test(name, async () => {
    const loop = newEventLoop();
    try {
      await fn(loop);
    } finally {
      if (!loop.isClosed()) loop.close();
    }
  });
}

withLoop("SIGUSR1, SIGUSR2 and SIGHUP sent while the loop is idle run their handlers on the loop", async (loop) => {
  const seen: [string, number][] = [];
  for (const name of ["SIGUSR1", "SIGUSR2", "SIGHUP"]) {
    loop.addSignalHandler(name, (tag: string) => {
      seen.push([tag, loop.isRunning() ? 1 : 0]);
      if (seen.length === 3) loop.stop();
    }, name);
  }
  // Each from a host timer while the loop sleeps, spaced so no host coalesces them.
  setTimeout(() => send(signal.SIGUSR1), 10);
  setTimeout(() => send(signal.SIGUSR2), 40);
  setTimeout(() => send(signal.SIGHUP), 70);
  await loop.runForever();
  assert.equal(seen.map((s) => s[0]).sort(), ["SIGHUP", "SIGUSR1", "SIGUSR2"]);
  assert.ok(seen.every((s) => s[1] === 1), "ran as loop callbacks");
  for (const name of ["SIGUSR1", "SIGUSR2", "SIGHUP"]) assert.ok(loop.removeSignalHandler(name));
});

withLoop("replacing a handler, numbers and names, remove return values", async (loop) => {
  const seen: string[] = [];
  loop.addSignalHandler(signal.SIGUSR2, () => seen.push("old"));
  loop.addSignalHandler("SIGUSR2", () => {
    seen.push("new");
    loop.stop();
  });
  setTimeout(() => send(signal.SIGUSR2), 5);
  await loop.runForever();
  assert.equal(seen, ["new"]);
  assert.is(loop.removeSignalHandler(signal.SIGUSR2), true);
  assert.is(loop.removeSignalHandler("SIGUSR2"), false);
});

withLoop("a SIGINT handler keeps the process alive; removing it restores the default", async (loop) => {
  let got = 0;
  loop.addSignalHandler("SIGINT", () => {
    got++;
    loop.stop();
  });
  assert.ok((caughtSignals() & bit(signal.SIGINT)) !== 0n, "caught while a handler is set");
  setTimeout(() => send(signal.SIGINT), 5);
  await loop.runForever();
  assert.is(got, 1, "handled, and we are still here");
  assert.ok(loop.removeSignalHandler("SIGINT"));
  await new Promise((r) => setTimeout(r, 10));
  const stillCaught = (caughtSignals() & bit(signal.SIGINT)) !== 0n;
  if (native.runtime === "deno") {
    // Deno keeps its own handler installed for good, and with no listener left
    // it ends the process on SIGINT as the default would (exit status 130).
    assert.ok(stillCaught);
  } else {
    assert.not.ok(stillCaught, "SIGINT is back to its default disposition");
  }
});

withLoop("closing the loop removes its handlers", async (loop) => {
  loop.addSignalHandler("SIGUSR1", () => {});
  loop.close();
  assert.is(loop.removeSignalHandler("SIGUSR1"), false);
  const other = newEventLoop();
  let ran = false;
  other.addSignalHandler("SIGUSR1", () => {
    ran = true;
    other.stop();
  });
  setTimeout(() => send(signal.SIGUSR1), 5);
  await other.runForever();
  assert.ok(ran, "a new loop can take the signal over");
  other.close();
});

withLoop("bad input: SIGKILL/SIGSTOP, unknown signals, wrong types, coroutines, a closed loop", async (loop) => {
  assert.throws(() => loop.addSignalHandler("SIGKILL", () => {}), isA(RuntimeError, "cannot be caught"));
  assert.throws(() => loop.addSignalHandler(signal.SIGSTOP, () => {}), isA(RuntimeError, "cannot be caught"));
  assert.throws(() => loop.addSignalHandler(999, () => {}), isA(ValueError, "invalid signal number"));
  assert.throws(() => loop.addSignalHandler("SIGNOPE", () => {}), isA(ValueError, "invalid signal name"));
  // deno-lint-ignore no-explicit-any
  assert.throws(() => loop.addSignalHandler(1.5 as any, () => {}), isA(TypeError));
  assert.throws(() => loop.addSignalHandler("SIGUSR1", async () => {}), isA(TypeError, "coroutines"));
  // deno-lint-ignore no-explicit-any
  assert.throws(() => loop.addSignalHandler("SIGUSR1", 5 as any), isA(TypeError));
  assert.throws(() => loop.removeSignalHandler(999), isA(ValueError));
  loop.close();
  assert.throws(() => loop.addSignalHandler("SIGUSR1", () => {}), isA(RuntimeError, "closed"));
});

test.run();
