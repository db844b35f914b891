/** Generated bad input for the high-level API: tasks and waiting, locks, queues, streams, subprocesses (see test/_bad_input.ts). */

import { test } from "uvu";
import {
  asCompleted, Barrier, BoundedSemaphore, CancelledError, Condition, createSubprocessExec, createSubprocessShell, Event,
  ConnectionAbortedError, createDefaultContext, ExceptionGroup,
  type EventLoop, gather, IncompleteReadError, LimitOverrunError, Lock, openConnection, PriorityQueue, Process, Queue,
  PIPE, QueueEmpty, QueueFull, Runner, Semaphore, shield, sleep, Socket, socketpair, startServer, StreamReader, StreamWriter,
  taskGroup, timeout, timeoutAt, TimeoutError, wait, waitFor,
} from "../mod.ts";
import { badInputTests, type Case, closeAll, GetterBoom, val, type Val } from "./_bad_input.ts";

interface H {
  loop: EventLoop;
  socks: Socket[];
  writers: StreamWriter[];
  /** A `cat` child, for the Process case. */
  proc?: Process;
}

const h = (loop: EventLoop): H => ({ loop, socks: [], writers: [] });
const body = { name: "body", valid: () => async () => 1, msg: /body|function|coroutine/ };
const awArg = { name: "aw", valid: () => async () => 1, msg: /aw|Future|coroutine|awaitable/ };

async function cleanupH(c: H, r: unknown): Promise<void> {
  const close = async (x: unknown) => {
    if (x instanceof StreamWriter) {
      x.transport.abort();
    } else if (x instanceof Process) {
      if (x.returncode === null) x.kill();
      await x.wait();
    } else if (x && typeof (x as { close?: unknown }).close === "function" && typeof (x as { waitClosed?: unknown }).waitClosed === "function") {
      (x as { close(): void }).close();
      await (x as { waitClosed(): PromiseLike<void> }).waitClosed();
    } else if (Array.isArray(x)) {
      for (const y of x) await close(y);
    }
  };
  try {
    await close(r);
  } catch (e) {
    if (!(e instanceof GetterBoom)) throw e; // a hostile value handed back as the result
  }
  for (const w of c.writers) w.transport.abort();
  closeAll(...c.socks);
  await sleep(0, undefined, { loop: c.loop });
}

/** A stream pair over a socketpair (the writer's end, and the peer socket). */
async function streams(loop: EventLoop): Promise<H> {
  const c = h(loop);
  const [a, b] = socketpair();
  c.socks.push(b);
  const [, w] = await openConnection(null, null, { sock: a });
  c.writers.push(w);
  return c;
}

const allowTimeouts = [CancelledError, TimeoutError];

const cases: Case<H>[] = [
  {
    name: "sleep(delay, result)",
    setup: h,
    args: [{ name: "delay", valid: () => 0 }],
    call: (_c, [d]) => sleep(d as number, 1),
    pendingOk: true,
    waitMs: 50,
  },
  {
    name: "timeout(delay, body)",
    setup: h,
    args: [{ name: "delay", valid: () => null }, body],
    call: (_c, [d, b]) => timeout(d as null, b as () => Promise<number>),
    allow: allowTimeouts,
  },
  {
    name: "timeoutAt(when, body)",
    setup: h,
    args: [{ name: "when", valid: (c) => c.loop.time() + 10 }, body],
    call: (_c, [w, b]) => timeoutAt(w as number, b as () => Promise<number>),
    allow: allowTimeouts,
  },
  {
    name: "waitFor(aw, timeout)",
    setup: h,
    args: [awArg, { name: "timeout", valid: () => 5 }],
    call: (_c, [a, t]) => waitFor(a as () => Promise<number>, t as number),
    allow: allowTimeouts,
  },
  {
    name: "gather(aw, aw, options)",
    setup: h,
    args: [awArg, { ...awArg, name: "aw2" }, { name: "options", valid: () => ({ returnExceptions: false }), msg: /options|returnExceptions|Future|coroutine|awaitable/ }],
    call: (_c, [a, b, o]) => gather(a as () => Promise<number>, b as () => Promise<number>, o as { returnExceptions: boolean }),
  },
  {
    name: "wait(aws, options)",
    setup: h,
    args: [
      { name: "aws", valid: (c) => [c.loop.createTask(async () => 1)], msg: /aws|iterable|Future|Task|coroutine|empty/ },
      { name: "options", valid: () => ({ timeout: 5, returnWhen: "ALL_COMPLETED" }), msg: /options|timeout|returnWhen/ },
    ],
    call: (_c, [a, o]) => wait(a as [], o as object),
  },
  {
    name: "asCompleted(aws, options)",
    setup: h,
    args: [
      { name: "aws", valid: () => [async () => 1], msg: /aws|iterable|Future|coroutine|awaitable/ },
      { name: "options", valid: () => ({ timeout: 5 }), msg: /options|timeout/ },
    ],
    call: (_c, [a, o]) => {
      const it = asCompleted(a as [], o as object);
      return (async () => {
        for await (const _ of it) { /* drain */ }
      })();
    },
    allow: allowTimeouts,
  },
  {
    name: "shield(aw)",
    setup: h,
    args: [awArg],
    call: (_c, [a]) => shield(a as () => Promise<number>),
  },
  {
    name: "new Lock().use(body)",
    setup: h,
    args: [body],
    call: (_c, [b]) => new Lock().use(b as () => Promise<number>),
  },
  {
    name: "new Condition(lock).use(body); notify(n); waitFor(predicate)",
    setup: h,
    args: [
      { name: "lock", valid: () => new Lock(), msg: /lock|Lock/ },
      { name: "n", valid: () => 1 },
      { name: "predicate", valid: () => () => true, msg: /predicate/ },
    ],
    call: (_c, [l, n, p]) => {
      const cond = new Condition(l as Lock);
      return cond.use(async () => {
        cond.notify(n as number);
        return await cond.waitFor(p as () => boolean);
      });
    },
    // A predicate that stays false waits for a notify that never comes (asyncio's semantics).
    pendingOk: true,
    waitMs: 100,
  },
  {
    name: "new Semaphore(value) / new BoundedSemaphore(value)",
    setup: h,
    args: [{ name: "value", valid: () => 2 }, { name: "bounded", valid: () => false, msg: /.*/ }],
    call: (_c, [v, b]) => {
      const s = b === true ? new BoundedSemaphore(v as number) : new Semaphore(v as number);
      return s.use(async () => s.locked());
    },
    // value 0: use() waits for ever.
    pendingOk: true,
    waitMs: 50,
  },
  {
    name: "new Barrier(parties).wait()",
    setup: h,
    args: [{ name: "parties", valid: () => 1 }],
    call: (_c, [p]) => new Barrier(p as number).wait(),
    pendingOk: true,
    waitMs: 50,
  },
  {
    name: "new Event(): set, wait",
    setup: h,
    args: [{ name: "unused", valid: () => undefined, msg: /.*/ }],
    call: () => {
      const e = new Event();
      e.set();
      return e.wait();
    },
    runs: 0,
  },
  {
    name: "new Queue(options): putNowait(item), getNowait()",
    setup: h,
    args: [{ name: "options", valid: () => ({ maxsize: 2 }), msg: /options|maxsize/ }, { name: "item", valid: () => 1, msg: /.*/ }],
    call: (_c, [o, x]) => {
      const q = new Queue(o as object);
      q.putNowait(x);
      return q.getNowait();
    },
    allow: [QueueFull, QueueEmpty],
  },
  {
    name: "new PriorityQueue(options): put(a), put(b), get()",
    setup: h,
    args: [{ name: "options", valid: () => ({}), msg: /options|maxsize|compare/ }, { name: "a", valid: () => 1, msg: /'<' not supported/ }, { name: "b", valid: () => 2, msg: /'<' not supported/ }],
    call: (_c, [o, a, b]) => {
      const q = new PriorityQueue(o as object);
      q.putNowait(a);
      q.putNowait(b);
      return q.get();
    },
    allow: [QueueFull],
    pendingOk: true,
    waitMs: 50,
  },
  {
    name: "new StreamReader(options): feedData(data), read(n)",
    setup: h,
    args: [{ name: "options", valid: () => ({ limit: 100 }), msg: /options|limit|Limit/ }, { name: "data", valid: () => new Uint8Array([1, 2, 3]), msg: /data|bytes-like/ }, { name: "n", valid: () => 2 }],
    call: (_c, [o, d, n]) => {
      const r = new StreamReader(o as object);
      r.feedData(d as Uint8Array);
      r.feedEof();
      return r.read(n as number);
    },
  },
  {
    name: "streamReader.readexactly(n) / readuntil(separator)",
    setup: h,
    args: [{ name: "n", valid: () => 2, msg: /n\b|size|readexactly/ }, { name: "separator", valid: () => new Uint8Array([10]), msg: /separator|Separator|bytes-like/ }],
    call: async (_c, [n, s]) => {
      const r = new StreamReader();
      r.feedData(new Uint8Array([1, 2, 10, 4]));
      r.feedEof();
      await r.readexactly(n as number);
      return await r.readuntil(s as Uint8Array);
    },
    allow: [IncompleteReadError, LimitOverrunError],
  },
  {
    name: "streamReader.setException(exc)",
    setup: h,
    args: [{ name: "exc", valid: () => new Error("x"), msg: /exc|exception/ }],
    call: (_c, [e]) => new StreamReader().setException(e as Error),
  },
  {
    name: "streamWriter.write(data) / writelines(list) / drain()",
    setup: streams,
    args: [{ name: "data", valid: () => new Uint8Array([1]), msg: /data|bytes-like/ }, { name: "list", valid: () => [new Uint8Array([2])], msg: /data|list|iterable|bytes-like/ }],
    call: (c, [d, l]) => {
      const w = c.writers[0];
      w.write(d as Uint8Array);
      w.writelines(l as Uint8Array[]);
      return w.drain();
    },
  },
  {
    name: "streamWriter.startTls(sslContext, options)",
    setup: streams,
    args: [
      { name: "sslContext", valid: () => createDefaultContext(), msg: /sslContext|SSLContext|context/ },
      {
        name: "options",
        // Nobody answers on the other end: the handshake times out at once.
        valid: () => ({ serverHostname: "localhost", sslHandshakeTimeout: 0.05 }),
        msg: /options|serverHostname|sslHandshakeTimeout|sslShutdownTimeout|hostname|timeout/,
      },
    ],
    call: async (c, [ctx, o]) => {
      try {
        return await c.writers[0].startTls(ctx as ReturnType<typeof createDefaultContext>, o as object);
      } catch (e) {
        // The handshake timeout's documented outcome.
        if (e instanceof ConnectionAbortedError && /handshake/.test(e.message)) return null;
        throw e;
      }
    },
    allow: [CancelledError, TimeoutError],
    pendingOk: true,
    waitMs: 500,
    runs: 60,
  },
  {
    name: "openConnection(host, port, options)",
    setup: (loop) => {
      const c = h(loop);
      const l = new Socket();
      c.socks.push(l);
      l.bind(["127.0.0.1", 0]);
      l.listen(5);
      return c;
    },
    args: [
      { name: "host", valid: () => "127.0.0.1" },
      { name: "port", valid: (c) => (c.socks[0].getsockname() as [string, number])[1] },
      { name: "options", valid: () => ({ limit: 1000 }), msg: /options|limit|Limit|ssl|sock|localAddr|family|proto|flags|serverHostname|happyEyeballsDelay|interleave|Timeout/ },
    ],
    call: (_c, [a, p, o]) => openConnection(a as string, p as number, o as object),
    waitMs: 10_000,
  },
  {
    name: "startServer(clientConnectedCb, host, port, options)",
    setup: h,
    args: [
      { name: "clientConnectedCb", valid: () => () => {}, extra: [val("class {}", () => class {})] as Val[] },
      { name: "host", valid: () => "127.0.0.1" },
      { name: "port", valid: () => 0 },
      { name: "options", valid: () => ({ limit: 1000 }), msg: /options|limit|Limit|ssl|sock|backlog|family|flags|reuse|keepAlive|startServing|Timeout/ },
    ],
    call: (_c, [cb, a, p, o]) => startServer(cb as () => void, a as string, p as number, o as object),
    waitMs: 10_000,
  },
  {
    name: "createSubprocessExec(program, arg, options)",
    setup: h,
    args: [
      { name: "program", valid: () => "true", msg: /program|argv|null byte|string/ },
      { name: "arg", valid: () => "x", msg: /arg|null byte|string/ },
      { name: "options", valid: () => ({ stdout: null, limit: 1000 }), msg: /option|stdin|stdout|stderr|cwd|env|passFds|limit|Limit|argv|string/ },
    ],
    call: (_c, [p, a, o]) => createSubprocessExec(p as string, a as string, o as object),
    waitMs: 10_000,
    runs: 100,
  },
  {
    name: "createSubprocessShell(cmd, options)",
    setup: h,
    args: [
      { name: "cmd", valid: () => "true", msg: /cmd|null byte|string/ },
      { name: "options", valid: () => ({ stdout: null }), msg: /option|stdin|stdout|stderr|cwd|env|passFds|limit|Limit/ },
    ],
    call: (_c, [s, o]) => createSubprocessShell(s as string, o as object),
    waitMs: 10_000,
    runs: 100,
  },
  {
    name: "taskGroup(body): tg.createTask(aw, options)",
    setup: h,
    args: [awArg, { name: "options", valid: () => ({ name: "t" }), msg: /options|name|context|eagerStart/ }],
    call: async (c, [a, o]) => {
      // The group runs in a task of its own. A group cancels its parent task
      // when a child fails, and a task keeps one slot for the future it
      // awaits: async work an earlier run left awaiting in the runner's task
      // could take that cancel instead, and the body would then fail with the
      // child's error too (two errors in the group): README, "Differences from asyncio".
      return await c.loop.createTask(async () => {
        try {
          return await taskGroup(async (tg) => await tg.createTask(a as () => Promise<number>, o as object));
        } catch (e) {
          // As asyncio, the body's own error comes out wrapped in a group: judge the error itself.
          if (e instanceof ExceptionGroup && e.exceptions.length === 1) throw e.exceptions[0];
          throw e;
        }
      });
    },
  },
  {
    name: "new Runner(options).run(main, runOptions)",
    setup: h,
    outsideLoop: true,
    args: [
      { name: "options", valid: () => ({ debug: false }), msg: /options|debug|loopFactory/ },
      { name: "main", valid: () => async () => 1, msg: /main|coroutine|function|Future|awaitable/ },
      { name: "runOptions", valid: () => ({}), msg: /options|context/ },
    ],
    call: async (_c, [o, m, ro]) => {
      const runner = new Runner(o as object);
      try {
        return await runner.run(m as () => Promise<number>, ro as object);
      } finally {
        await runner.close();
      }
    },
    cleanup: () => {},
  },
  {
    name: "process.sendSignal(sig); communicate(input)",
    setup: async (loop) => ({ ...h(loop), proc: await createSubprocessExec("cat", { stdin: PIPE, stdout: PIPE }) }),
    args: [
      { name: "sig", valid: () => "SIGCONT", msg: /sig|signal/ },
      { name: "input", valid: () => new Uint8Array([1, 2]), msg: /input|data|bytes-like/ },
    ],
    call: async (c, [sig, input]) => {
      c.proc!.sendSignal(sig as number);
      return await c.proc!.communicate(input as Uint8Array);
    },
    cleanup: async (c) => {
      // A stopping signal (SIGSTOP) leaves cat stopped: SIGKILL still ends it.
      const proc = c.proc!;
      if (proc.returncode === null) proc.kill();
      await proc.wait();
      await cleanupH(c, undefined);
    },
    // A signal the child ignores or that stops it leaves communicate() waiting.
    pendingOk: true,
    waitMs: 2000,
    runs: 100,
  },
];

for (const c of cases) c.cleanup ??= cleanupH;
badInputTests(cases);

test.run();
