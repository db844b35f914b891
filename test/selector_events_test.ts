/** addReader/addWriter on real socketpairs and pipes, on every selector. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { type EventLoop, newEventLoop, OSError, type Socket, socketpair, ValueError } from "../mod.ts";
import { isA, settledFds, SELECTORS } from "./_helpers.ts";
import { libc } from "../src/native.ts";

const enc = new TextEncoder();

function pairs(n: number): [Socket, Socket][] {
  const out: [Socket, Socket][] = [];
  for (let i = 0; i < n; i++) {
    const p = socketpair();
    p[0].setblocking(false);
    p[1].setblocking(false);
    out.push(p);
  }
  return out;
}

function closeAll(ps: [Socket, Socket][]) {
  for (const [a, b] of ps) {
    a.close();
    b.close();
  }
}

for (const selector of SELECTORS) {
  const t = (name: string, fn: (loop: EventLoop) => Promise<void> | void) =>
    test(`[${selector}] ${name}`, async () => {
      const before = await settledFds();
      const loop = newEventLoop({ selector });
      assert.is(loop.selectorName, selector);
      try {
        await fn(loop);
      } finally {
        loop.close();
      }
      assert.equal(await settledFds(before), before, "no descriptor leaked");
    });

  t("addReader fires when data arrives, with its arguments", async (loop) => {
    const [[a, b]] = pairs(1);
    const got: unknown[] = [];
    loop.addReader(b, (tag: string) => {
      got.push(tag, new TextDecoder().decode(b.recv(100)));
      loop.stop();
    }, "r");
    setTimeout(() => a.send(enc.encode("ping")), 10); // a host timer wakes the idle loop
    await loop.runForever();
    assert.equal(got, ["r", "ping"]);
    assert.ok(loop.removeReader(b));
    a.close();
    b.close();
  });

  t("addWriter fires while the socket is writable", async (loop) => {
    const [[a, b]] = pairs(1);
    let n = 0;
    loop.addWriter(a.fileno(), () => {
      if (++n === 3) {
        loop.removeWriter(a);
        loop.stop();
      }
    });
    await loop.runForever();
    assert.is(n, 3);
    closeAll([[a, b]]);
  });

  t("reader and writer on one descriptor; replace and remove return values", async (loop) => {
    const [[a, b]] = pairs(1);
    const seen: string[] = [];
    const h1 = loop.addReader(b, () => seen.push("old"));
    const h2 = loop.addReader(b, () => {
      seen.push("new:" + b.recv(10).length);
      loop.stop();
    });
    assert.ok(h1.cancelled(), "the replaced reader's handle is cancelled");
    assert.not.ok(h2.cancelled());
    loop.addWriter(b, () => {
      seen.push("w");
      loop.removeWriter(b);
    });
    a.send(enc.encode("x"));
    await loop.runForever();
    assert.ok(seen.includes("new:1"));
    assert.ok(seen.includes("w"));
    assert.not.ok(seen.includes("old"));
    assert.is(loop.removeWriter(b), false, "writer already removed");
    assert.is(loop.removeReader(b), true);
    assert.is(loop.removeReader(b), false);
    assert.is(loop.removeReader(12345), false, "unknown descriptor");
    closeAll([[a, b]]);
  });

  t("500 descriptors watched at once all fire", async (loop) => {
    const ps = pairs(500);
    const fired = new Set<number>();
    ps.forEach(([, b], i) => {
      loop.addReader(b, () => {
        b.recv(16);
        fired.add(i);
        loop.removeReader(b);
        if (fired.size === ps.length) loop.stop();
      });
    });
    setTimeout(() => {
      for (const [a] of ps) a.send(enc.encode("!"));
    }, 5);
    await loop.runForever();
    assert.is(fired.size, 500);
    closeAll(ps);
  });

  t("I/O callbacks run after already-ready callbacks in an iteration", async (loop) => {
    const [[a, b]] = pairs(1);
    const order: string[] = [];
    a.send(enc.encode("x"));
    loop.addReader(b, () => {
      order.push("io");
      b.recv(10);
      loop.removeReader(b);
      loop.stop();
    });
    loop.callSoon(() => order.push("soon"));
    await loop.runForever();
    assert.equal(order, ["soon", "io"]);
    closeAll([[a, b]]);
  });

  t("a pipe is watched like a socket; EOF wakes the reader", async (loop) => {
    const fds = new Int32Array(new ArrayBuffer(8));
    assert.is(libc.pipe(new Uint8Array(fds.buffer)), 0);
    const [r, w] = fds;
    let eof = false;
    loop.addReader(r, () => {
      const buf = new Uint8Array(new ArrayBuffer(16));
      eof = libc.read(r, buf, 16) === 0;
      loop.removeReader(r);
      loop.stop();
    });
    setTimeout(() => libc.close(w), 5);
    await loop.runForever();
    assert.ok(eof);
    libc.close(r);
  });

  t("bad descriptors: closed or invalid → OSError EBADF; negative → ValueError; wrong type → TypeError", (loop) => {
    const [[a, b]] = pairs(1);
    const fd = b.fileno();
    b.close();
    assert.throws(() => loop.addReader(fd, () => {}), (e: Error) => e instanceof OSError && (e as OSError).code === "EBADF" && (e as OSError).errno === 9);
    assert.throws(() => loop.addWriter(4000, () => {}), (e: Error) => (e as OSError).code === "EBADF");
    assert.throws(() => loop.addReader(-1, () => {}), isA(ValueError));
    // deno-lint-ignore no-explicit-any
    assert.throws(() => loop.addReader("3" as any, () => {}), isA(TypeError));
    // deno-lint-ignore no-explicit-any
    assert.throws(() => loop.addReader(a, 5 as any), isA(TypeError));
    assert.is(loop.removeReader(fd), false);
    a.close();
  });

  t("an idle loop watching descriptors stops promptly and can run again", async (loop) => {
    const [[a, b]] = pairs(1);
    let n = 0;
    loop.addReader(b, () => {
      b.recv(10);
      n++;
      loop.stop();
    });
    for (let i = 0; i < 3; i++) {
      setTimeout(() => a.send(enc.encode("x")), 2);
      await loop.runForever();
    }
    assert.is(n, 3);
    loop.removeReader(b);
    closeAll([[a, b]]);
  });
}

test("closing a loop with watchers registered frees the selector and cancels handles", async () => {
  const before = await settledFds();
  const loop = newEventLoop();
  const [[a, b]] = pairs(1);
  const h = loop.addReader(b, () => {});
  loop.close();
  assert.ok(h.cancelled());
  assert.is(loop.removeReader(b), false);
  closeAll([[a, b]]);
  assert.equal(await settledFds(before), before);
});

test.run();
