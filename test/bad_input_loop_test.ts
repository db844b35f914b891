/** Generated bad input for the event loop's own methods (see test/_bad_input.ts). */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { type EventLoop, Handle, Socket, socketpair, ThreadPoolExecutor } from "../mod.ts";
import { badInputTests, type Case, runCase, closeAll, closeFd, pipeFds, val } from "./_bad_input.ts";

interface L {
  loop: EventLoop;
}
interface P extends L {
  r: number;
  w: number;
}
interface S extends L {
  a: Socket;
  b: Socket;
}

const cb = () => {};
const base = (loop: EventLoop): L => ({ loop });
const cancelHandle = (_: unknown, h: unknown) => {
  if (h instanceof Handle) h.cancel();
};
const withPipe = (loop: EventLoop): P => {
  const [r, w] = pipeFds();
  return { loop, r, w };
};
const closePipe = (c: P) => {
  c.loop.removeReader(c.r);
  c.loop.removeWriter(c.w);
  closeFd(c.r);
  closeFd(c.w);
};
const withPair = (loop: EventLoop): S => {
  const [a, b] = socketpair();
  a.setblocking(false);
  b.setblocking(false);
  return { loop, a, b };
};

const callbackArg = { name: "callback", valid: () => cb, msg: /callable|callback|coroutine/ };
const fdArg = <C extends P>(valid: (c: C) => unknown) => ({
  name: "fd",
  valid,
  fd: true,
  msg: /descriptor|fd|fileno/,
  extra: [val<C>("closed pipe end", (c) => {
    const [r, w] = pipeFds();
    closeFd(r);
    closeFd(w);
    return { fileno: () => r, _c: c };
  })],
});

const cases: Case<any>[] = [
  {
    name: "loop.runUntilComplete(future) (loop not running)",
    setup: base,
    args: [{ name: "future", valid: () => async () => 1, msg: /future|Future|coroutine|awaitable/ }],
    call: ({ loop }: L, [f]) => loop.runUntilComplete(f as () => Promise<number>),
    outsideLoop: true,
  },
  {
    name: "loop.callSoon(callback, ...args)",
    setup: base,
    args: [callbackArg, { name: "arg", valid: () => 1 }],
    call: ({ loop }: L, [f, x]) => loop.callSoon(f as () => void, x),
  },
  {
    name: "loop.callSoonThreadsafe(callback, ...args)",
    setup: base,
    args: [callbackArg],
    call: ({ loop }: L, [f]) => loop.callSoonThreadsafe(f as () => void),
  },
  {
    name: "loop.callLater(delay, callback)",
    setup: base,
    args: [{ name: "delay", valid: () => 0 }, callbackArg],
    call: ({ loop }: L, [d, f]) => loop.callLater(d as number, f as () => void),
    cleanup: cancelHandle,
  },
  {
    name: "loop.callAt(when, callback)",
    setup: base,
    args: [{ name: "when", valid: ({ loop }: L) => loop.time() }, callbackArg],
    call: ({ loop }: L, [w, f]) => loop.callAt(w as number, f as () => void),
    cleanup: cancelHandle,
  },
  {
    name: "loop.setDebug(enabled)",
    setup: base,
    args: [{ name: "enabled", valid: () => false }],
    call: ({ loop }: L, [v]) => loop.setDebug(v as boolean),
    cleanup: ({ loop }: L) => loop.setDebug(false),
  },
  {
    name: "loop.slowCallbackDuration = v",
    setup: base,
    args: [{ name: "slowCallbackDuration", valid: () => 0.1 }],
    call: ({ loop }: L, [v]) => {
      loop.slowCallbackDuration = v as number;
    },
    cleanup: ({ loop }: L) => {
      loop.slowCallbackDuration = 0.1;
    },
  },
  {
    name: "loop.setTaskFactory(factory)",
    setup: base,
    args: [{ name: "factory", valid: () => null, msg: /callable|factory/ }],
    call: ({ loop }: L, [f]) => loop.setTaskFactory(f as null),
    cleanup: ({ loop }: L) => loop.setTaskFactory(null),
  },
  {
    name: "loop.setExceptionHandler(handler)",
    setup: base,
    args: [{ name: "handler", valid: () => null, msg: /callable|handler/ }],
    // The harness's own handler is put back by cleanup.
    call: ({ loop }: L, [h]) => {
      const mine = loop.getExceptionHandler();
      try {
        loop.setExceptionHandler(h as null);
      } finally {
        loop.setExceptionHandler(mine);
      }
    },
  },
  {
    name: "loop.callExceptionHandler(context)",
    setup: base,
    args: [{ name: "context", valid: () => ({ message: "generated" }) }],
    call: ({ loop }: L, [ctx]) => loop.callExceptionHandler(ctx as Record<string, unknown>),
  },
  {
    name: "loop.createTask(coro, options)",
    setup: base,
    args: [
      { name: "coro", valid: () => async () => {}, msg: /coroutine|awaitable|Future/ },
      { name: "options", valid: () => ({ name: "t" }) },
    ],
    call: ({ loop }: L, [c, o]) => loop.createTask(c as () => Promise<void>, o as { name: string }),
  },
  {
    name: "loop.setDefaultExecutor(executor)",
    setup: base,
    args: [{ name: "executor", valid: () => ({ submit: () => Promise.resolve(), shutdown: () => {} }) }],
    call: ({ loop }: L, [e]) => loop.setDefaultExecutor(e as ThreadPoolExecutor),
  },
  {
    name: "loop.runInExecutor(executor, fn, ...args)",
    // A null executor means the default one: an inline one here (worker threads open host descriptors that
    // Deno keeps for a while, which the descriptor check would take for a leak; the executor tests cover those).
    setup: (loop: EventLoop) => {
      loop.setDefaultExecutor({ submit: (_f: unknown, x: number) => Promise.resolve(x), shutdown: () => {} } as unknown as ThreadPoolExecutor);
      return { loop };
    },
    args: [
      { name: "executor", valid: () => ({ submit: (_f: unknown, x: number) => Promise.resolve(x), shutdown: () => {} }) },
      { name: "fn", valid: () => (x: number) => x + 1, msg: /fn|function/ },
    ],
    call: ({ loop }: L, [e, f]) => loop.runInExecutor(e as ThreadPoolExecutor, f as (x: number) => number, 1),
  },
  {
    name: "loop.shutdownDefaultExecutor(timeout)",
    setup: base,
    args: [{ name: "timeout", valid: () => null }],
    call: ({ loop }: L, [t]) => loop.shutdownDefaultExecutor(t as null),
  },
  {
    name: "loop.addReader(fd, callback)",
    setup: withPipe,
    args: [fdArg((c: P) => c.r), callbackArg],
    call: ({ loop }: P, [fd, f]) => loop.addReader(fd as number, f as () => void),
    cleanup: closePipe,
  },
  {
    name: "loop.addWriter(fd, callback)",
    setup: withPipe,
    args: [fdArg((c: P) => c.w), callbackArg],
    call: ({ loop }: P, [fd, f]) => loop.addWriter(fd as number, f as () => void),
    cleanup: closePipe,
  },
  {
    name: "loop.removeReader(fd)",
    setup: withPipe,
    args: [fdArg((c: P) => c.r)],
    call: ({ loop }: P, [fd]) => loop.removeReader(fd as number),
    cleanup: closePipe,
  },
  {
    name: "loop.removeWriter(fd)",
    setup: withPipe,
    args: [fdArg((c: P) => c.w)],
    call: ({ loop }: P, [fd]) => loop.removeWriter(fd as number),
    cleanup: closePipe,
  },
  {
    name: "loop.addSignalHandler(sig, callback)",
    setup: base,
    args: [{ name: "sig", valid: () => "SIGUSR2", msg: /sig/ }, callbackArg],
    call: ({ loop }: L, [s, f]) => loop.addSignalHandler(s as string, f as () => void),
    cleanup: ({ loop }: L) => void loop.removeSignalHandler("SIGUSR2"),
  },
  {
    name: "loop.removeSignalHandler(sig)",
    setup: base,
    args: [{ name: "sig", valid: () => "SIGUSR2", msg: /sig/ }],
    call: ({ loop }: L, [s]) => loop.removeSignalHandler(s as string),
  },
  {
    name: "loop.getaddrinfo(host, port, options)",
    setup: base,
    args: [
      { name: "host", valid: () => "127.0.0.1" },
      { name: "port", valid: () => 80 },
      { name: "options", valid: () => ({ family: 0, type: 1, proto: 0, flags: 0 }), msg: /options|family|type|proto|flags/ },
    ],
    call: ({ loop }: L, [h, p, o]) => loop.getaddrinfo(h as string, p as number, o as object),
    waitMs: 10_000,
  },
  {
    name: "loop.getnameinfo(sockaddr, flags)",
    setup: base,
    args: [
      { name: "sockaddr", valid: () => ["127.0.0.1", 80], msg: /sockaddr|address|host|port|flowinfo|scopeId/ },
      { name: "flags", valid: () => 1 /* NI_NUMERICHOST */ | 2 /* NI_NUMERICSERV */ },
    ],
    call: ({ loop }: L, [s, f]) => loop.getnameinfo(s, f as number),
    waitMs: 10_000,
  },
  {
    name: "loop.sockRecv(sock, nbytes)",
    setup: (loop: EventLoop) => {
      const c = withPair(loop);
      c.b.send(new Uint8Array([1, 2, 3]));
      return c;
    },
    args: [{ name: "sock", valid: (c: S) => c.a, msg: /sock|descriptor/ }, { name: "nbytes", valid: () => 10, msg: /nbytes|buffersize/ }],
    call: ({ loop }: S, [s, n]) => loop.sockRecv(s as Socket, n as number),
    cleanup: (c: S) => closeAll(c.a, c.b),
  },
];

badInputTests(cases);

// The harness must be able to fail: a raw runtime error, a message not naming
// the argument, a foreign error class, a hang and a leaked descriptor are caught.
const leaked: number[] = [];
const selfChecks: [string, Case<L>][] = [
  ["a raw runtime error", { name: "raw", setup: base, args: [{ name: "x", valid: () => ({ a: 1 }) }], call: (_c, [x]) => (x as { a: { b: number } }).a.b.toFixed() }],
  ["a message that does not name the argument", { name: "unnamed", setup: base, args: [{ name: "x", valid: () => 1 }], call: (_c, [x]) => { if (x !== 1) throw new TypeError("bad"); } }],
  ["a RangeError", { name: "range", setup: base, args: [{ name: "x", valid: () => 1 }], call: (_c, [x]) => new Uint8Array(x as number >= 0 ? 1 : -1) }],
  ["a hang", { name: "hang", setup: base, args: [{ name: "x", valid: () => 1 }], waitMs: 50, runs: 5, call: ({ loop }, [x]) => x === 1 ? null : loop.createFuture() }],
  ["a leaked descriptor", { name: "leak", setup: base, args: [{ name: "x", valid: () => 1 }], runs: 1, call: (_c, [x]) => x === 1 ? null : leaked.push(...pipeFds()) }],
];
for (const [what, c] of selfChecks) {
  test(`harness self-check: ${what} is a violation`, async () => {
    let failed = false;
    try {
      await runCase(c);
    } catch {
      failed = true;
    }
    for (const fd of leaked.splice(0)) closeFd(fd);
    assert.ok(failed, `${what} went unnoticed`);
  });
}

test.run();
