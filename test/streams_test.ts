/**
 * Streams: StreamReader, StreamWriter, StreamReaderProtocol, openConnection,
 * startServer and their UNIX twins (after CPython 3.13's test_streams), and
 * the WHATWG views (reader.readable, writer.writable,
 * StreamReader.fromReadable). Network tests use real loopback TCP, UNIX
 * sockets under /tmp and TLS with certificates made in-process; each checks
 * that no descriptor (and no SSL object) leaked.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  BrokenPipeError, CancelledError, ConnectionAbortedError, ConnectionRefusedError, ConnectionResetError, currentTask,
  type EventLoop, FlowControlMixin, IncompleteReadError, LimitOverrunError, newEventLoop, openConnection, openUnixConnection,
  RuntimeError, type Server, sleep, SO_LINGER, type Socket, SOL_SOCKET, SSLContext,
  startServer, startUnixServer, StreamReader, StreamReaderProtocol, StreamWriter, timeout, TimeoutError, ValueError,
} from "../mod.ts";
import { ByteBuffer } from "../src/byte_buffer.ts";
import { _liveSslObjects } from "../src/ssl.ts";
import { assertClean, captureExceptions, loopTest, rejection, rejects, settledFds, spin } from "./_helpers.ts";
import { concat, dec, enc, pattern, sha256, tempSocketPath } from "./_net.ts";
import { makeTestPki, removeTestPki, type TestPki } from "./_tls.ts";
import { tlsContexts, port } from "./_tls_kit.ts";

let pki: TestPki;

test.before(async () => {
  pki = await makeTestPki();
  // Let the host open (and settle) its own lazily opened descriptors before the first count.
  await settledFds(await settledFds());
});

test.after(async () => {
  await removeTestPki(pki);
});

const { serverContext, clientContext } = tlsContexts(() => pki);

/** A unit test: the body runs as the main task of a fresh loop, which must be left clean. */
const unit = (name: string, fn: (loop: EventLoop) => Promise<void>) => loopTest(name, fn, { inTask: true, clean: true });

/**
 * A network test: the body runs as the main task of a fresh loop; the loop
 * must be left clean, and no descriptor nor SSL object may leak. A lost
 * wake-up stops the loop after `guardMs`, which fails the test.
 */
function net(name: string, fn: (loop: EventLoop) => Promise<void>, guardMs = 20_000): void {
  test(name, async () => {
    const before = await settledFds();
    const live = _liveSslObjects();
    const loop = newEventLoop();
    const guard = setTimeout(() => loop.stop(), guardMs);
    try {
      await loop.runUntilComplete(async () => await fn(loop));
      assertClean(loop);
    } finally {
      clearTimeout(guard);
      if (!loop.isRunning()) loop.close();
    }
    // A leak is a descriptor open now that was not before (the host may
    // have closed one of its own meanwhile).
    const fds = await settledFds(before);
    assert.equal(fds.filter((fd) => !before.includes(fd)), [], `no descriptor leaked (before ${before}, after ${fds})`);
    const after = _liveSslObjects();
    assert.equal([after.ssl, after.bio], [live.ssl, live.bio], "no SSL or BIO object leaked");
  });
}


const b = (s: string): Uint8Array => enc.encode(s);
const s = (u: Uint8Array): string => dec.decode(u);

/** Poll (inside a task) until `cond()` holds. */
async function until(cond: () => boolean, what = "a condition", seconds = 10): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > seconds * 1000) throw new Error(`timed out waiting for ${what}`);
    await sleep(0.001);
  }
}

/** Call `probe` every millisecond of loop time until `stop()` is called. */
function everyMs(loop: EventLoop, probe: () => void): () => void {
  let handle = loop.callLater(0.001, function tick() {
    probe();
    handle = loop.callLater(0.001, tick);
  });
  return () => handle.cancel();
}

/** Close the connection with a reset (SO_LINGER 0): the peer gets ECONNRESET. */
function resetConnection(writer: StreamWriter): void {
  const sock = writer.getExtraInfo("socket") as Socket;
  sock.setsockopt(SOL_SOCKET, SO_LINGER, new Uint8Array(new Int32Array([1, 0]).buffer));
  writer.transport.abort();
}

async function closeWriter(writer: StreamWriter): Promise<void> {
  writer.close();
  await writer.waitClosed();
}

async function closeServer(server: Server): Promise<void> {
  server.close();
  await server.waitClosed();
}

/** The echo handler: each line back, until EOF. */
async function echoLines(reader: StreamReader, writer: StreamWriter): Promise<void> {
  for await (const line of reader) {
    writer.write(line);
    await writer.drain();
  }
  await closeWriter(writer);
}

// ---- StreamReader, fed directly ----

unit("StreamReader: read(n), read(0), read() to EOF, atEof, toString", async (loop) => {
  const r = new StreamReader();
  assert.is(String(r), "<StreamReader>");
  assert.is(r.exception(), null);
  assert.not.ok(r.atEof());
  r.feedData(b("abcdef"));
  r.feedData(new Uint8Array(0));
  assert.is(String(r), "<StreamReader 6 bytes>");
  assert.is(s(await r.read(2)), "ab");
  assert.equal(await r.read(0), new Uint8Array(0), "read(0) returns at once");
  assert.is(s(await r.read(100)), "cdef", "read(n) returns what there is, up to n");
  assert.equal(await r.read(0), new Uint8Array(0), "read(0) does not wait on an empty buffer");

  const pending = r.read(3);
  await spin(loop);
  assert.not.ok(pending.done(), "read(n) waits for data");
  assert.match(String(r), /waiter/);
  r.feedData(b("xyz123"));
  assert.is(s(await pending), "xyz");

  // read() gathers everything up to EOF, across several feeds.
  const all = r.read();
  loop.callSoon(() => r.feedData(b("45")));
  loop.callLater(0.005, () => {
    r.feedData(b("6"));
    r.feedEof();
  });
  assert.is(s(await all), "123456");
  assert.ok(r.atEof());
  assert.is(String(r), "<StreamReader eof>");
  assert.is((await r.read()).length, 0, "read() at EOF is empty");
  assert.is((await r.read(10)).length, 0, "read(n) at EOF is empty");
  assert.throws(() => r.feedData(b("late")), (e: Error) => e instanceof RuntimeError);
  assert.throws(() => r.read(1.5), (e: Error) => e instanceof TypeError);

  // A feed followed by EOF while read() waits.
  const r2 = new StreamReader({ limit: 5 });
  assert.is(String(r2), "<StreamReader limit=5>");
  const whole = r2.read();
  r2.feedData(b("0123456789abcdef"));
  await spin(loop);
  assert.not.ok(whole.done(), "read() waits for EOF");
  r2.feedEof();
  assert.is(s(await whole), "0123456789abcdef");
});

unit("StreamReader: limit validation, bytes only (a string is a TypeError)", async () => {
  assert.throws(() => new StreamReader({ limit: 0 }), (e: Error) => e instanceof ValueError);
  assert.throws(() => new StreamReader({ limit: -5 }), (e: Error) => e instanceof ValueError);
  assert.throws(() => new StreamReader({ limit: "1" as unknown as number }), (e: Error) => e instanceof TypeError);
  const r = new StreamReader();
  assert.throws(() => r.feedData("text" as unknown as Uint8Array), (e: Error) => e instanceof TypeError && /string/.test(e.message));
  // Any ArrayBufferView is bytes.
  r.feedData(new Uint16Array([0x4141]));
  r.feedData(new DataView(new Uint8Array([66, 10]).buffer));
  assert.is(s(await r.readline()), "AAB\n");
  assert.throws(() => r.readuntil("x" as unknown as Uint8Array), (e: Error) => e instanceof TypeError);
});

unit("StreamReader: readline returns lines, then the rest at EOF, then empty", async (loop) => {
  const r = new StreamReader();
  r.feedData(b("line1\nline2\r\nli"));
  assert.is(s(await r.readline()), "line1\n");
  assert.is(s(await r.readline()), "line2\r\n");
  const next = r.readline();
  await spin(loop);
  assert.not.ok(next.done(), "an incomplete line waits");
  r.feedData(b("ne3"));
  r.feedData(b("\nrest"));
  assert.is(s(await next), "line3\n");
  r.feedEof();
  assert.not.ok(r.atEof(), "bytes are left");
  assert.is(s(await r.readline()), "rest", "at EOF, what is left");
  assert.ok(r.atEof());
  assert.is((await r.readline()).length, 0);

  // A line that fits the limit exactly is fine (the limit counts bytes before the separator).
  const r2 = new StreamReader({ limit: 7 });
  r2.feedData(b("1234567\n"));
  assert.is(s(await r2.readline()), "1234567\n");
});

unit("StreamReader: a line longer than the limit is a ValueError and is dropped", async (loop) => {
  // The separator is found beyond the limit: the line up to it is dropped.
  const r = new StreamReader({ limit: 7 });
  r.feedData(b("chunk1chunk2\nchunk3\n"));
  const e = await rejects(r.readline(), ValueError, /longer than limit/);
  assert.not.instance(e, LimitOverrunError);
  assert.is(s(await r.readline()), "chunk3\n", "the next line is intact");

  // Buffered before the call, in pieces (asyncio's test_readline_limit_with_existing_data).
  const r2 = new StreamReader({ limit: 3 });
  r2.feedData(b("li"));
  r2.feedData(b("ne1\nline2\n"));
  await rejects(r2.readline(), ValueError);
  assert.is(s(await r2.read(100)), "line2\n", "the rest after the dropped line");
  const r3 = new StreamReader({ limit: 3 });
  r3.feedData(b("li"));
  r3.feedData(b("ne1"));
  r3.feedData(b("li"));
  await rejects(r3.readline(), ValueError, /not found/);
  assert.is(r3._buffer.length, 0, "no separator: the whole buffer is dropped");

  // Fed while readline waits, all in one callback (asyncio's test_readline_limit).
  for (const [chunks, left] of [[["chunk1", "chunk2", "chunk3\n"], ""], [["chunk1", "chunk2\n", "chunk3\n"], "chunk3\n"]] as const) {
    const r4 = new StreamReader({ limit: 7 });
    loop.callSoon(() => {
      for (const c of chunks) r4.feedData(b(c));
      r4.feedEof();
    });
    await rejects(r4.readline(), ValueError);
    assert.is(s(await r4.read()), left, `after ${chunks.join("+")}`);
  }

  // Strictness: 8 bytes before the separator with limit 7.
  const r5 = new StreamReader({ limit: 7 });
  r5.feedData(b("12345678\n"));
  await rejects(r5.readline(), ValueError);
  assert.is(r5._buffer.length, 0);
  r5.feedData(b("12345678"));
  await rejects(r5.readline(), ValueError);
  assert.is(r5._buffer.length, 0);
});

unit("StreamReader: readuntil with one separator, across chunks, at EOF", async (loop) => {
  const r = new StreamReader();
  r.feedData(b("QWEaa"));
  r.feedData(b("XYaa"));
  r.feedData(b("a"));
  assert.is(s(await r.readuntil(b("aaa"))), "QWEaaXYaaa");
  const waiting = r.readuntil(b("aaa"));
  for (const c of ["XXX", "a", "a"]) {
    r.feedData(b(c));
    await spin(loop, 1);
    assert.not.ok(waiting.done());
  }
  r.feedData(b("a!"));
  assert.is(s(await waiting), "XXXaaa");
  assert.is(s(await r.readuntil(new Uint8Array([33]))), "!");
  assert.is(r._buffer.length, 0);

  r.feedData(b("some dataAA"));
  r.feedEof();
  const e = await rejects(r.readuntil(b("AAA")), IncompleteReadError, /undefined expected bytes/);
  assert.is(s(e.partial), "some dataAA");
  assert.is(e.expected, null);
  assert.ok(r.atEof(), "the partial data was taken");

  // A separator completed by the last chunk before EOF is still found.
  const r2 = new StreamReader();
  const w = r2.readuntil(b("--"));
  loop.callSoon(() => {
    r2.feedData(b("x-"));
    r2.feedData(b("-"));
    r2.feedEof();
  });
  assert.is(s(await w), "x--");

  assert.throws(() => r2.readuntil(new Uint8Array(0)), (x: Error) => x instanceof ValueError && /at least one-byte/.test(x.message));
  assert.throws(() => r2.readuntil([b("a"), new Uint8Array(0)]), (x: Error) => x instanceof ValueError);
  assert.throws(() => r2.readuntil([]), (x: Error) => x instanceof ValueError && /at least one element/.test(x.message));
});

unit("StreamReader: readuntil with several separators: the earliest-ending match wins", async (loop) => {
  const r = new StreamReader();
  r.feedData(b("line 1\nline 2\r"));
  assert.is(s(await r.readuntil([b("\r"), b("\n")])), "line 1\n");
  assert.is(s(await r.readuntil([b("\r"), b("\n")])), "line 2\r");
  r.feedData(b("ABCDEFG"));
  assert.is(s(await r.readuntil([b("DEF"), b("BCDE")])), "ABCDE", "the match that ends first wins, though the other was listed first");
  assert.is(s(await r.read(2)), "FG");
  r.feedData(b("xx\r\nyy"));
  assert.is(s(await r.readuntil([b("\r\n"), b("\n")])), "xx\r\n", "both end at the same byte: the first listed that does");
  r.feedData(b("\n"));
  assert.is(s(await r.readuntil([b("\r\n"), b("\n")])), "yy\n");

  // The shortest separator fits but not the longest: the offset never goes negative.
  const r2 = new StreamReader();
  r2.feedData(b("data"));
  const w = r2.readuntil([b("A"), b("long sep")]);
  loop.callSoon(() => r2.feedData(b("Z")));
  loop.callSoon(() => r2.feedData(b("Aaaa")));
  assert.is(s(await w), "dataZA");
  assert.is(s(await r2.read(10)), "aaa");
});

unit("StreamReader: readuntil past the limit is a LimitOverrunError with consumed; the data stays", async (loop) => {
  const r = new StreamReader({ limit: 3 });
  r.feedData(b("some dataAA"));
  const e1 = await rejects(r.readuntil(b("AAA")), LimitOverrunError, /not found/);
  assert.is(e1.consumed, 9, "where a separator could start");
  assert.is(r._buffer.length, 11, "nothing consumed");
  r.feedData(b("A"));
  const e2 = await rejects(r.readuntil(b("AAA")), LimitOverrunError, /is found/);
  assert.is(e2.consumed, 9, "where the separator starts");
  assert.is(s(await r.read(100)), "some dataAAA", "still all there");

  // Chunks fed in one callback while readuntil waits are judged together (as
  // asyncio's coroutine sees them when it resumes): the separator is found.
  const waiting = r.readuntil(b("AAA"));
  loop.callSoon(() => {
    r.feedData(b("some d"));
    r.feedData(b("ataAAA"));
  });
  const e4 = await rejects(waiting, LimitOverrunError, /is found/);
  assert.is(e4.consumed, 9);
  assert.is(s(await r.read(100)), "some dataAAA");

  r.feedData(b("some dataA"));
  await rejects(r.readuntil([b("A"), b("ome dataA")]), LimitOverrunError, /is found/);
  assert.is(r._buffer.length, 10);
  // The caller can then read `consumed` bytes and retry (asyncio's recipe).
  const e3 = await rejects(r.readuntil(b("A")), LimitOverrunError);
  assert.is(e3.consumed, 9);
  assert.is(s(await r.read(e3.consumed)), "some data");
  assert.is(s(await r.readuntil(b("A"))), "A");
});

unit("StreamReader: readexactly: exact counts across chunks; EOF first is IncompleteReadError; -1 is ValueError", async (loop) => {
  const r = new StreamReader({ limit: 4 });
  assert.throws(() => r.readexactly(-1), (e: Error) => e instanceof ValueError && /less than zero/.test(e.message));
  assert.throws(() => r.readexactly(2.5), (e: Error) => e instanceof TypeError);
  assert.equal(await r.readexactly(0), new Uint8Array(0));
  const w = r.readexactly(10);
  loop.callSoon(() => r.feedData(b("0123")));
  loop.callLater(0.002, () => r.feedData(b("456789abcd")));
  assert.is(s(await w), "0123456789", "more than the limit is fine");
  assert.is(s(await r.readexactly(2)), "ab");

  const w2 = r.readexactly(5);
  loop.callSoon(() => r.feedEof());
  const e = await rejects(w2, IncompleteReadError, /2 bytes read on a total of 5 expected bytes/);
  assert.is(s(e.partial), "cd");
  assert.is(e.expected, 5);
  assert.ok(r.atEof());
  const e2 = await rejects(r.readexactly(1), IncompleteReadError);
  assert.is(e2.partial.length, 0);
  assert.equal(await r.readexactly(0), new Uint8Array(0), "readexactly(0) even at EOF");
});

unit("StreamReader: a second read while one waits is a RuntimeError; the first one still works", async (loop) => {
  const r = new StreamReader();
  const first = r.read(5);
  for (const second of [r.read(5), r.readline(), r.readexactly(1), r.readuntil(b("x")), r.read()]) {
    await rejects(second, RuntimeError, /already waiting/);
  }
  // read(0) does not wait, so it may run alongside.
  assert.is((await r.read(0)).length, 0);
  r.feedData(b("hello"));
  assert.is(s(await first), "hello");
  // Once the first has its data, another read is fine.
  const third = r.readline();
  loop.callSoon(() => r.feedData(b("x\n")));
  assert.is(s(await third), "x\n");
});

unit("StreamReader: setException fails the waiting read and every later one; exception()", async (loop) => {
  const r = new StreamReader();
  assert.is(r.exception(), null);
  r.feedData(b("buffered\n"));
  const boom = new ValueError("boom");
  r.setException(boom);
  assert.is(r.exception(), boom);
  assert.match(String(r), /exception=/);
  for (const op of [() => r.read(), () => r.read(1), () => r.read(0), () => r.readline(), () => r.readexactly(1), () => r.readuntil(b("\n"))]) {
    assert.is(await rejection(op()), boom, "even with data buffered");
  }

  // The waiting read fails when the exception is set.
  const r2 = new StreamReader();
  const waiting = r2.readline();
  loop.callSoon(() => r2.setException(new ConnectionResetError(104, "reset")));
  await rejects(waiting, ConnectionResetError);
  assert.instance(r2.exception(), ConnectionResetError);

  // A read cancelled first leaves nothing behind for setException to trip over.
  const r3 = new StreamReader();
  const t = loop.createTask(async () => await r3.readline());
  await spin(loop, 1);
  t.cancel();
  await spin(loop, 1);
  r3.setException(new RuntimeError("message"));
  await rejects(t, CancelledError);
  assert.is(r3._pending, null);
});

unit("StreamReader: async iteration yields lines until EOF, the last without its newline", async (loop) => {
  const r = new StreamReader();
  loop.callSoon(() => r.feedData(b("a\nbb\n")));
  loop.callLater(0.002, () => r.feedData(b("ccc\nd")));
  loop.callLater(0.004, () => r.feedEof());
  const lines: string[] = [];
  for await (const line of r) lines.push(s(line));
  assert.equal(lines, ["a\n", "bb\n", "ccc\n", "d"]);

  // An error ends the iteration with it.
  const r2 = new StreamReader();
  r2.feedData(b("one\n"));
  loop.callLater(0.002, () => r2.setException(new ValueError("broken")));
  const got: string[] = [];
  const e = await rejection((async () => {
    for await (const line of r2) got.push(s(line));
  })());
  assert.equal(got, ["one\n"]);
  assert.instance(e, ValueError);
});

// ---- Cancellation ----

unit("cancellation: a read cancelled while waiting consumes nothing (task.cancel and timeout)", async (loop) => {
  const r = new StreamReader();
  for (const op of [() => r.read(5), () => r.readline(), () => r.readexactly(4), () => r.readuntil(b("!")), () => r.read()]) {
    const t = loop.createTask(async () => await op());
    await spin(loop, 2);
    assert.not.ok(t.done());
    t.cancel();
    await rejects(t, CancelledError);
    assert.is(r._pending, null, "the reader is free again");
  }
  // A read with part of what it needs buffered gives nothing away either.
  r.feedData(b("par"));
  for (const op of [() => r.readline(), () => r.readexactly(4), () => r.read(), () => r.readuntil(b("!"))]) {
    const t = loop.createTask(async () => await op());
    await spin(loop, 2);
    t.cancel();
    await rejects(t, CancelledError);
    assert.is(r._buffer.length, 3, "the partial data is still buffered");
  }
  // timeout() around a read.
  await rejects(timeout(0.01, () => r.readline()), TimeoutError);
  await rejects(timeout(0.01, () => r.read()), TimeoutError);
  // A generator task.
  const g = loop.createTask((function* () {
    return yield* r.readexactly(10);
  })());
  await spin(loop, 2);
  g.cancel();
  await rejects(g, CancelledError);
  r.feedData(b("t\n"));
  assert.is(s(await r.readline()), "part\n", "nothing was lost");
});

unit("cancellation: a read woken with data but cancelled before it resumed gives the bytes back", async (loop) => {
  const r = new StreamReader();
  // An async-function task.
  const t = loop.createTask(async () => await r.read(100));
  await spin(loop, 2);
  r.feedData(b("abc"));
  assert.not.ok(t.done(), "woken, but the task has not run yet");
  t.cancel();
  await rejects(t, CancelledError);
  assert.is(s(await r.read(100)), "abc", "the bytes were put back");

  // A generator task; more data arrives after the wake-up: order is kept.
  const g = loop.createTask((function* () {
    return yield* r.readline();
  })());
  await spin(loop, 2);
  r.feedData(b("line\nnext"));
  g.cancel();
  r.feedData(b(" bytes\n"));
  await rejects(g, CancelledError);
  assert.is(s(await r.readline()), "line\n");
  assert.is(s(await r.readline()), "next bytes\n");

  // readexactly and readuntil too; a read issued meanwhile waits for the give-back.
  const t2 = loop.createTask(async () => await r.readexactly(4));
  await spin(loop, 2);
  r.feedData(b("wxyz"));
  t2.cancel();
  const after = r.readexactly(2);
  await rejects(t2, CancelledError);
  assert.is(s(await after), "wx", "the later read sees the given-back bytes first");
  assert.is(s(await r.read(10)), "yz");

  // A woken read that does resume keeps its bytes.
  const t3 = loop.createTask(async () => await r.read(100));
  await spin(loop, 2);
  r.feedData(b("mine"));
  assert.is(s(await t3), "mine");
  assert.is(r._buffer.length, 0);
});

// ---- FlowControlMixin ----

unit("FlowControlMixin: drain waiters wake on resumeWriting; connectionLost fails them", async (loop) => {
  const p = new FlowControlMixin();
  assert.is(p._drainHelper(), null, "not paused: nothing to wait for");
  p.pauseWriting();
  const ws = Array.from({ length: 10 }, () => p._drainHelper()!);
  loop.callLater(0.005, () => p.resumeWriting());
  await Promise.all(ws);
  assert.ok(ws.every((w) => w.done()));
  p.pauseWriting();
  const w = p._drainHelper()!;
  p.connectionLost(new ConnectionResetError(104, "gone"));
  await rejects(w, ConnectionResetError, /gone/);
  await rejects(p._drainHelper()!, ConnectionResetError, /Connection lost/);
  assert.throws(() => new StreamReaderProtocol("x" as unknown as StreamReader), (e: Error) => e instanceof TypeError);
});

// ---- Over real connections ----

net("TCP echo: startServer + openConnection, `for await` lines on the server side", async () => {
  const served: unknown[] = [];
  const server = await startServer(async (reader, writer) => {
    served.push((writer.getExtraInfo("peername") as [string, number])[0]);
    await echoLines(reader, writer);
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  assert.instance(reader, StreamReader);
  assert.instance(writer, StreamWriter);
  assert.match(String(writer), /StreamWriter transport=/);
  assert.throws(() => writer.write("text" as unknown as Uint8Array), (e: Error) => e instanceof TypeError, "bytes only");
  assert.throws(() => writer.writelines(["a", "b"] as unknown as Uint8Array[]), (e: Error) => e instanceof TypeError);
  writer.write(b("hello\n"));
  writer.writelines([b("wor"), b("ld\n"), b("third line\n")]);
  await writer.drain();
  assert.is(s(await reader.readline()), "hello\n");
  assert.is(s(await reader.readline()), "world\n");
  assert.is(s(await reader.readuntil(b("\n"))), "third line\n");
  assert.ok(writer.canWriteEof());
  assert.not.ok(writer.isClosing());
  writer.writeEof();
  assert.is((await reader.read()).length, 0, "the server closed after our EOF");
  assert.ok(reader.atEof());
  await closeWriter(writer);
  assert.ok(writer.isClosing());
  await closeServer(server);
  assert.equal(served, ["127.0.0.1"]);
});

net("UNIX echo: startUnixServer + openUnixConnection", async () => {
  const path = tempSocketPath("streams");
  const server = await startUnixServer(echoLines, path, { limit: 1024 });
  const [reader, writer] = await openUnixConnection(path, { limit: 600 });
  assert.is(reader._limit, 600);
  const lines = Array.from({ length: 50 }, (_, i) => `unix line ${i} ${"x".repeat(i * 10)}\n`);
  for (const l of lines) writer.write(b(l));
  await writer.drain();
  const back: string[] = [];
  for (let i = 0; i < lines.length; i++) back.push(s(await reader.readline()));
  assert.equal(back, lines);
  await closeWriter(writer);
  await closeServer(server);
});

net("TLS echo: startServer and openConnection with ssl", async () => {
  const server = await startServer(echoLines, "127.0.0.1", 0, { ssl: serverContext() });
  const ctx = clientContext();
  const [reader, writer] = await openConnection("127.0.0.1", port(server), { ssl: ctx, serverHostname: "localhost" });
  assert.is(writer.getExtraInfo("sslcontext"), ctx);
  assert.ok(writer.getExtraInfo("peercert") !== null);
  assert.not.ok(writer.canWriteEof(), "no half-close over TLS");
  const long = "y".repeat(60_000) + "\n";
  writer.write(b("over tls\n"));
  writer.write(b(long));
  writer.write(b("last\n"));
  await writer.drain();
  assert.is(s(await reader.readline()), "over tls\n");
  assert.is(s(await reader.readline()), long, "a line spanning many TLS records");
  assert.is(s(await reader.readline()), "last\n");
  await closeWriter(writer);
  await closeServer(server);
});

net("openConnection: refused is ConnectionRefusedError and leaks nothing; limit option is checked", async () => {
  const server = await startServer(() => {}, "127.0.0.1", 0);
  const p = port(server);
  await closeServer(server);
  await rejects(openConnection("127.0.0.1", p), ConnectionRefusedError);
  assert.throws(() => openConnection("127.0.0.1", p, { limit: 0 }), (e: Error) => e instanceof ValueError);
  assert.throws(() => startServer(null as never, "127.0.0.1", 0), (e: Error) => e instanceof TypeError);
});

net("64 MiB through a stream to a slow reader: content checked by hash, drain() pending on the way", async () => {
  const total = 64 * 1024 * 1024;
  const data = pattern(total, 7);
  const expected = await sha256(data);
  const received = new Uint8Array(total);
  let got = 0;
  let serverPaused = 0;
  const done = new Promise<void>((resolve, reject) => {
    startServer(async (reader, writer) => {
      try {
        let n = 0;
        for (;;) {
          const chunk = await reader.read(65536);
          if (chunk.length === 0) break;
          received.set(chunk, got);
          got += chunk.length;
          if (!writer.transport.isReading()) serverPaused++;
          // A slow reader.
          if (++n % 64 === 0) await sleep(0.001);
        }
        writer.write(b(`${got}\n`));
        await closeWriter(writer);
        resolve();
      } catch (e) {
        reject(e);
      }
    }, "127.0.0.1", 0).then(async (server) => {
      try {
        const [reader, writer] = await openConnection("127.0.0.1", port(server));
        let pendingDrains = 0;
        const chunk = 1024 * 1024;
        for (let o = 0; o < total; o += chunk) {
          writer.write(data.subarray(o, o + chunk));
          const d = writer.drain();
          if (!d.done()) pendingDrains++;
          await d;
        }
        writer.writeEof();
        assert.is(s(await reader.readline()), `${total}\n`);
        assert.ok(pendingDrains > 0, "drain() waited at least once");
        await closeWriter(writer);
        await closeServer(server);
      } catch (e) {
        reject(e);
      }
    }, reject);
  });
  await done;
  assert.is(got, total);
  assert.is(await sha256(received), expected, "the bytes arrived intact and in order");
  assert.ok(serverPaused > 0, "the slow reader's transport paused reading at some point");
}, 120_000);

net("read-side flow control: an unread reader pauses its transport above 2*limit and resumes once consumed", async () => {
  const limit = 16 * 1024;
  const total = 1024 * 1024;
  const data = pattern(total, 3);
  const server = await startServer(async (_reader, writer) => {
    writer.write(data);
    await writer.drain();
    await closeWriter(writer);
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server), { limit });
  await until(() => !writer.transport.isReading(), "the transport to pause");
  assert.ok(reader._buffer.length > 2 * limit, "paused above twice the limit");
  assert.ok(reader._buffer.length < total, "not everything was read in");
  assert.match(String(reader), /paused/);
  await sleep(0.01);
  const buffered = reader._buffer.length;
  assert.not.ok(writer.transport.isReading(), "still paused while nobody reads");
  // Consume down to the limit: reading resumes.
  const parts: Uint8Array[] = [];
  while (reader._buffer.length > limit) parts.push(await reader.read(4096));
  assert.not.ok(reader._paused, "resumed at or below the limit");
  assert.ok(writer.transport.isReading() || writer.transport.isClosing(), "the transport reads again");
  assert.ok(buffered > 2 * limit);
  parts.push(await reader.read());
  const all = concat(parts);
  assert.is(all.length, total);
  assert.is(await sha256(all), await sha256(data));
  await closeWriter(writer);
  await closeServer(server);
});

net("half-close: writeEof(); the peer reads everything and EOF, and can still write back", async () => {
  let serverSaw: { data: string; atEof: boolean } | null = null;
  const server = await startServer(async (reader, writer) => {
    const data = s(await reader.read());
    serverSaw = { data, atEof: reader.atEof() };
    writer.write(b(`got ${data.length} bytes`));
    await writer.drain();
    await closeWriter(writer);
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  writer.write(b("first "));
  writer.write(b("second"));
  writer.writeEof();
  assert.is(s(await reader.read()), "got 12 bytes", "the peer writes after our EOF");
  assert.equal(serverSaw, { data: "first second", atEof: true });
  assert.ok(reader.atEof());
  await closeWriter(writer);
  await closeServer(server);
});

net("startTls: a plain connection upgraded on both sides, then data over TLS both ways", async () => {
  const serverLog: string[] = [];
  const server = await startServer(async (reader, writer) => {
    serverLog.push(s(await reader.readline()));
    // The go-ahead, then the upgrade in the same step: startTls stops reading
    // at once (and drains first), so the client's ClientHello, sent as soon as
    // it reads "OK", reaches the TLS layer and not this StreamReader. (An
    // `await` in between would let the loop read it into the reader.)
    writer.write(b("OK\n"));
    await writer.startTls(serverContext());
    serverLog.push(String(writer.getExtraInfo("sslcontext") !== null));
    // Over TLS now: an echo, and a big reply.
    for await (const line of reader) {
      writer.write(line);
      if (s(line) === "big\n") writer.write(pattern(1024 * 1024, 5));
      await writer.drain();
    }
    await closeWriter(writer);
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server), { limit: 8192 });
  const rawTransport = writer.transport;
  writer.write(b("STARTTLS\n"));
  assert.is(s(await reader.readline()), "OK\n");
  assert.is(writer.getExtraInfo("sslcontext"), null);
  const ctx = clientContext();
  const upgrading = writer.startTls(ctx, { serverHostname: "localhost" });
  assert.not.ok(rawTransport.isReading(), "startTls stops reading the plain socket at once");
  await upgrading;
  assert.is(writer.getExtraInfo("sslcontext"), ctx);
  assert.is.not(writer.transport, rawTransport, "the writer now writes through TLS");
  assert.ok(writer.getExtraInfo("peercert") !== null);
  writer.write(b("secret\n"));
  assert.is(s(await reader.readline()), "secret\n");
  // Read-side flow control still works through the TLS transport.
  writer.write(b("big\n"));
  assert.is(s(await reader.readline()), "big\n");
  await until(() => !writer.transport.isReading() || reader._buffer.length >= 1024 * 1024, "pause or everything");
  const got = await reader.readexactly(1024 * 1024);
  assert.is(await sha256(got), await sha256(pattern(1024 * 1024, 5)));
  assert.equal(serverLog, ["STARTTLS\n", "true"]);
  await closeWriter(writer);
  await closeServer(server);
});

net("startTls that fails or is cancelled leaves the plain connection reading; startTls needs a connection's writer", async () => {
  const server = await startServer(echoLines, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  await rejects(writer.startTls("not a context" as unknown as SSLContext), TypeError);
  assert.ok(writer.transport.isReading(), "reading again after a failed upgrade");
  const f = writer.startTls(clientContext(), { serverHostname: "localhost" });
  assert.not.ok(writer.transport.isReading());
  f.cancel();
  await rejects(f, CancelledError);
  assert.ok(writer.transport.isReading(), "reading again after a cancelled upgrade");
  writer.write(b("still plain\n"));
  assert.is(s(await reader.readline()), "still plain\n");
  const lone = new StreamWriter(writer.transport, new FlowControlMixin(), null, writer._loop);
  assert.throws(() => lone.startTls(clientContext()), (e: Error) => e instanceof RuntimeError);
  await closeWriter(writer);
  await closeServer(server);
});

net("peer reset: a pending read rejects with ConnectionResetError; drain() after close+waitClosed too", async () => {
  const server = await startServer(async (reader, writer) => {
    await reader.readline();
    resetConnection(writer);
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  const pending = reader.read();
  writer.write(b("please reset\n"));
  await rejects(pending, ConnectionResetError);
  assert.instance(reader.exception(), ConnectionResetError);
  await rejects(reader.read(), ConnectionResetError, undefined);
  await rejects(writer.drain(), ConnectionResetError, undefined);
  await rejects(writer.waitClosed(), ConnectionResetError);
  writer.close();

  // After a clean close() and waitClosed(), drain() is a ConnectionResetError.
  const [r2, w2] = await openConnection("127.0.0.1", port(server));
  await closeWriter(w2);
  assert.ok(r2.atEof(), "connectionLost fed EOF");
  await rejects(w2.drain(), ConnectionResetError, /Connection lost/);
  // close() then a write and drain right away: the loss is seen too.
  const [, w3] = await openConnection("127.0.0.1", port(server));
  w3.close();
  w3.write(b("data"));
  await rejects(w3.drain(), ConnectionResetError);
  await w3.waitClosed();
  await closeServer(server);
});

net("peer reset while writing: a write/drain loop stops with a connection error", async () => {
  const server = await startServer((_reader, writer) => resetConnection(writer), "127.0.0.1", 0);
  const [, writer] = await openConnection("127.0.0.1", port(server));
  const e = await rejection((async () => {
    for (;;) {
      writer.write(b("foo\n".repeat(1000)));
      await writer.drain();
    }
  })());
  assert.ok(e instanceof ConnectionResetError || e instanceof BrokenPipeError || e instanceof ConnectionAbortedError, String(e));
  writer.close();
  await writer.waitClosed().then(() => {}, () => {}); // (ends with the reset, or cleanly)
  await closeServer(server);
});

net("a server callback that throws: 'Unhandled exception in client_connected_cb', connection closed", async (loop) => {
  const seen = captureExceptions(loop);
  const boom = new Error("boom");
  const server = await startServer(async () => {
    await sleep(0);
    throw boom;
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  assert.is((await reader.read()).length, 0, "the client reads EOF");
  await closeWriter(writer);
  assert.is(seen.length, 1);
  assert.is(seen[0].message, "Unhandled exception in client_connected_cb");
  assert.is(seen[0].exception, boom);
  assert.ok(seen[0].transport);
  await closeServer(server);

  // A plain function that throws at once: the same.
  const server2 = await startServer(() => {
    throw new ValueError("sync boom");
  }, "127.0.0.1", 0);
  const [r2, w2] = await openConnection("127.0.0.1", port(server2));
  assert.is((await r2.read()).length, 0);
  await closeWriter(w2);
  assert.is(seen.length, 2);
  assert.instance(seen[1].exception, ValueError);
  await closeServer(server2);

  // A callback cancelled: the connection is closed, nothing is reported.
  const server3 = await startServer(async () => {
    currentTask()!.cancel();
    await sleep(1);
  }, "127.0.0.1", 0);
  const [r3, w3] = await openConnection("127.0.0.1", port(server3));
  assert.is((await r3.read()).length, 0);
  await closeWriter(w3);
  assert.is(seen.length, 2, "a cancelled callback is not an error");
  await closeServer(server3);
});

net("server.close() + waitClosed() waits for the client connections to end", async () => {
  let handlerDone = false;
  const server = await startServer(async (reader, writer) => {
    await reader.read();
    await closeWriter(writer);
    handlerDone = true;
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  writer.write(b("x"));
  await until(() => server._clients.size === 1, "the server to accept");
  server.close();
  const waiting = server.waitClosed();
  await sleep(0.02);
  assert.not.ok(waiting.done(), "a client connection is still open");
  assert.not.ok(handlerDone);
  writer.writeEof();
  assert.is((await reader.read()).length, 0, "the handler closed its side");
  await waiting;
  assert.is(server._clients.size, 0, "waitClosed() resolved once the connection was gone");
  await until(() => handlerDone, "the handler to finish");
  await closeWriter(writer);
});

// ---- Web streams ----

net("reader.readable.pipeTo(writer.writable): several MiB across connections, with backpressure", async (loop) => {
  const total = 8 * 1024 * 1024;
  const data = pattern(total, 11);
  // A source server that sends `data` and closes, and a slow sink server that hashes.
  const source = await startServer(async (_r, w) => {
    w.write(data);
    await w.drain();
    await closeWriter(w);
  }, "127.0.0.1", 0);
  let sunk: Uint8Array | null = null;
  const sink = await startServer(async (r, w) => {
    const parts: Uint8Array[] = [];
    for (let n = 0; ; n++) {
      const c = await r.read(16384);
      if (c.length === 0) break;
      parts.push(c);
      if (n % 2 === 0) await sleep(0.001);
    }
    sunk = concat(parts);
    await closeWriter(w);
  }, "127.0.0.1", 0);
  const [ra, wa] = await openConnection("127.0.0.1", port(source), { limit: 32 * 1024 });
  const [rb, wb] = await openConnection("127.0.0.1", port(sink));
  let sourcePaused = 0, sinkPaused = 0;
  const stop = everyMs(loop, () => {
    if (!wa.transport.isClosing() && !wa.transport.isReading()) sourcePaused++;
    if ((wb._protocol as FlowControlMixin)._paused) sinkPaused++;
  });
  await ra.readable.pipeTo(wb.writable);
  stop();
  assert.ok(wb.isClosing(), "pipeTo closed the writable, which closed the writer");
  assert.is((await rb.read()).length, 0);
  await until(() => sunk !== null, "the sink to finish");
  assert.is(sunk!.length, total);
  assert.is(await sha256(sunk!), await sha256(data));
  assert.ok(sinkPaused > 0, "the sink's writes were paused at some point");
  assert.ok(sourcePaused > 0, "the source transport stopped reading at some point");
  await closeWriter(wa);
  await closeServer(source);
  await closeServer(sink);
}, 60_000);

net("new Response(reader.readable): text() and arrayBuffer() read a whole connection; pipeThrough(TextDecoderStream)", async () => {
  const text = Array.from({ length: 2000 }, (_, i) => `line ${i} héllo wörld\n`).join("");
  const bin = pattern(300_000, 9);
  const server = await startServer(async (reader, writer) => {
    const what = s(await reader.readline());
    if (what === "text\n") writer.write(b(text));
    else writer.write(bin);
    await writer.drain();
    await closeWriter(writer);
  }, "127.0.0.1", 0);

  const hasResponse = typeof Response === "function";
  {
    const [reader, writer] = await openConnection("127.0.0.1", port(server));
    writer.write(b("text\n"));
    if (hasResponse) assert.is(await new Response(reader.readable).text(), text);
    else assert.is(s(await reader.read()), text); // (no Response global on this runtime)
    assert.ok(reader.atEof());
    await closeWriter(writer);
  }
  {
    const [reader, writer] = await openConnection("127.0.0.1", port(server));
    writer.write(b("bin\n"));
    const got = hasResponse ? new Uint8Array(await new Response(reader.readable).arrayBuffer()) : await reader.read();
    assert.is(await sha256(got), await sha256(bin));
    await closeWriter(writer);
  }
  {
    const [reader, writer] = await openConnection("127.0.0.1", port(server));
    writer.write(b("text\n"));
    assert.is(reader.readable, reader.readable, "one stream per reader");
    let out = "";
    let chunks = 0;
    for await (const piece of reader.readable.pipeThrough(new TextDecoderStream()) as unknown as AsyncIterable<string>) {
      out += piece;
      chunks++;
    }
    assert.is(out, text);
    assert.ok(chunks >= 1);
    await closeWriter(writer);
  }
  await closeServer(server);
});

net("readable.cancel() closes the connection (the peer sees EOF); a reset errors the readable", async () => {
  let peerSaw: number | null = null;
  const server = await startServer(async (reader, writer) => {
    const first = await reader.readline();
    if (s(first) === "reset\n") {
      resetConnection(writer);
      return;
    }
    peerSaw = (await reader.read()).length;
    await closeWriter(writer);
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  writer.write(b("hello\n"));
  const rs = reader.readable.getReader();
  const pending = rs.read();
  await sleep(0.005);
  await rs.cancel();
  assert.ok(writer.isClosing());
  await writer.waitClosed();
  assert.ok((await pending).done);
  await until(() => peerSaw !== null, "the peer to see EOF");
  assert.is(peerSaw, 0);

  const [r2, w2] = await openConnection("127.0.0.1", port(server));
  w2.write(b("reset\n"));
  const e = await rejection(new Response(r2.readable).arrayBuffer());
  assert.instance(e, ConnectionResetError, "the readable errors with the reader's exception");
  await rejection(w2.waitClosed());
  await closeServer(server);
});

net("writer.writable: close() closes the writer and waits; abort() aborts the transport", async () => {
  const seen: string[] = [];
  const server = await startServer(async (reader, writer) => {
    try {
      seen.push(s(await reader.read()));
    } catch (e) {
      seen.push((e as Error).name);
    }
    await closeWriter(writer).catch(() => {});
  }, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  assert.is(writer.writable, writer.writable, "one stream per writer");
  const w = writer.writable.getWriter();
  await w.write(b("abc"));
  await w.write(b("def"));
  await w.close();
  assert.ok(writer.isClosing());
  assert.ok(writer.waitClosed().done(), "close() waited for waitClosed()");
  assert.ok(reader.atEof());
  await until(() => seen.length === 1, "the peer");
  assert.equal(seen, ["abcdef"]);

  const [, w2] = await openConnection("127.0.0.1", port(server));
  await w2.writable.abort(new Error("stop"));
  assert.ok(w2.isClosing());
  await w2.waitClosed();
  await until(() => seen.length === 2, "the peer");
  assert.ok(seen[1] === "" || seen[1] === "ConnectionResetError", seen[1]);
  await closeServer(server);
});

unit("StreamReader.fromReadable over a Response body and a hand-made stream: readline, readexactly", async () => {
  if (typeof Response === "function") {
    const r = StreamReader.fromReadable(new Response("line1\nline2\nrest").body!);
    assert.is(s(await r.readline()), "line1\n");
    assert.is(s(await r.readline()), "line2\n");
    assert.is(s(await r.read()), "rest");
    assert.ok(r.atEof());
  } // (no Response global on this runtime: the hand-made streams below cover fromReadable)

  const chunks = ["HEAD", "ER:1", "2\r\n\r", "\nbody-bytes", "!"];
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(b(ch));
      c.close();
    },
  });
  const r2 = StreamReader.fromReadable(stream, { limit: 64 });
  assert.is(r2._limit, 64);
  assert.is(s(await r2.readuntil(b("\r\n\r\n"))), "HEADER:12\r\n\r\n");
  assert.is(s(await r2.readexactly(10)), "body-bytes");
  const e = await rejects(r2.readexactly(5), IncompleteReadError);
  assert.is(s(e.partial), "!");
  assert.throws(() => StreamReader.fromReadable({} as ReadableStream<Uint8Array>), (x: Error) => x instanceof TypeError);
});

unit("StreamReader.fromReadable: a source error becomes exception(); non-bytes chunks are a TypeError", async () => {
  const broken = new Error("source broke");
  let pulls = 0;
  const r = StreamReader.fromReadable(new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulls++ === 0) c.enqueue(b("good\n"));
      else c.error(broken);
    },
  }));
  assert.is(s(await r.readline()), "good\n");
  assert.is(await rejection(r.readline()), broken);
  assert.is(r.exception(), broken);

  const r2 = StreamReader.fromReadable(new ReadableStream({
    start(c) {
      c.enqueue("a string" as unknown as Uint8Array);
    },
  }));
  await rejects(r2.read(), TypeError);
  assert.instance(r2.exception(), TypeError);
});

unit("StreamReader.fromReadable: a source slower than the reader, and one faster (pulled only as needed)", async () => {
  // Slow: each chunk comes from a host timer.
  let i = 0;
  const slow = StreamReader.fromReadable(new ReadableStream<Uint8Array>({
    async pull(c) {
      await new Promise((res) => setTimeout(res, 3));
      if (i < 10) c.enqueue(b(`${i++}\n`));
      else c.close();
    },
  }));
  const lines: string[] = [];
  for await (const line of slow) lines.push(s(line));
  assert.equal(lines, ["0\n", "1\n", "2\n", "3\n", "4\n", "5\n", "6\n", "7\n", "8\n", "9\n"]);

  // Fast: an endless source is pulled only until the reader holds more than twice its limit.
  let pulled = 0;
  const fast = StreamReader.fromReadable(new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(new Uint8Array(100));
    },
  }, { highWaterMark: 0 }), { limit: 1000 });
  await sleep(0.02);
  assert.ok(fast._buffer.length > 2000, "filled past twice the limit");
  assert.ok(pulled < 40, `pulled ${pulled} chunks only`);
  const before = pulled;
  await sleep(0.01);
  assert.is(pulled, before, "paused while nobody reads");
  assert.is((await fast.readexactly(5000)).length, 5000, "reading resumes the source");
  assert.ok(pulled > before);
  // Cancelling the readable view stops the source, and ends the reader as EOF would.
  await fast.readable.cancel();
  const stopped = pulled;
  const rest = await fast.read();
  assert.ok(rest.length <= 3000, "what was buffered, then EOF");
  assert.ok(fast.atEof());
  await sleep(0.01);
  assert.is(pulled, stopped, "the source is not pulled any more");

  // A read waiting on a silent source ends at EOF when the source is cancelled.
  const silent = StreamReader.fromReadable(new ReadableStream<Uint8Array>({ pull: () => new Promise(() => {}) }));
  const waiting = silent.readline();
  await sleep(0.005);
  assert.not.ok(waiting.done());
  await silent.readable.cancel();
  assert.is((await waiting).length, 0, "EOF, not a read that never ends");
});

unit("ByteBuffer: an adopted chunk is handed on whole without a copy, and copied only when it must be", async () => {
  const buf = new ByteBuffer();
  const chunk = b("hello world");
  buf.adopt(chunk);
  assert.is(buf.take(100), chunk, "all of it: the same array");
  assert.is(buf.length, 0);
  buf.push(b("ab"));
  assert.is(s(buf.take(2)), "ab", "storage after handing on works");
  const again = b("0123456789");
  buf.adopt(again);
  const head = buf.take(4);
  assert.is.not(head, again);
  assert.is(s(head), "0123");
  buf.push(b("xyz"));
  buf.unshift(head);
  assert.is(s(buf.take(100)), "0123456789xyz");
  assert.is(s(again), "0123456789", "the adopted chunk's bytes were never overwritten while it was handed on");
});

// A transport's chunk arrives while no read waits, then one read takes it: no copy.
unit("StreamReader: a transport's chunk read whole is the chunk itself; partial reads and feedData still copy", async () => {
  const r = new StreamReader();
  const chunk = b("one\ntwo\n");
  r._feedOwned(chunk);
  assert.is(await r.read(1000), chunk);
  const mine = b("abc");
  r.feedData(mine);
  const got = await r.read(1000);
  assert.is.not(got, mine, "feedData copies: the caller may reuse its buffer");
  assert.is(s(got), "abc");
  const c2 = b("line\nrest");
  r._feedOwned(c2);
  assert.is(s(await r.readline()), "line\n");
  assert.is(s(await r.read(100)), "rest");
});

unit("ByteBuffer: a search looks at the live bytes only (not the stale storage after a burst)", async () => {
  const buf = new ByteBuffer();
  buf.push(pattern(32 * 1024 * 1024, 2).map((x) => (x === 10 ? 11 : x)));
  buf.push(b("\n"));
  assert.is(buf.indexOf(b("\n"), 0), 32 * 1024 * 1024);
  buf.take(buf.length);
  assert.is(buf.length, 0);
  buf.push(b("ab\nc"));
  buf.take(3);
  assert.is(buf.indexOf(b("\n"), 0), -1, "the stale newline is not found");
  assert.is(buf.indexOf(b("c"), 0), 0);
  // Misses cost the live bytes, not the 32 MiB of storage.
  buf.push(new Uint8Array(1000).fill(1));
  const t0 = Date.now();
  for (let i = 0; i < 300; i++) assert.is(buf.indexOf(new Uint8Array([7, 7]), 0), -1);
  assert.ok(Date.now() - t0 < 500, `300 misses took ${Date.now() - t0} ms`);
  // unshift puts bytes back in front.
  buf.unshift(b("xy"));
  assert.is(s(buf.take(3)), "xyc");
  assert.ok(buf.startsWith(new Uint8Array([1, 1]), 0));
});

unit("CompressionStream round trip: reader.readable through gzip, back with fromReadable", async () => {
  if (typeof CompressionStream !== "function" || typeof DecompressionStream !== "function") return; // (missing on this runtime)
  const text = Array.from({ length: 500 }, (_, i) => `record ${i}\n`).join("");
  const src = new StreamReader();
  src.feedData(b(text));
  src.feedEof();
  const gz = src.readable.pipeThrough(new CompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>);
  const back = StreamReader.fromReadable(gz.pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>));
  let n = 0;
  for await (const line of back) {
    assert.is(s(line), `record ${n}\n`);
    n++;
  }
  assert.is(n, 500);
});

net("`await using` a StreamWriter closes the connection and waits for it", async () => {
  const server = await startServer(echoLines, "127.0.0.1", 0);
  const [reader, writer] = await openConnection("127.0.0.1", port(server));
  {
    await using w = writer;
    w.write(b("ping\n"));
    assert.is(s(await reader.readline()), "ping\n");
  }
  assert.ok(writer.isClosing());
  assert.ok(writer.waitClosed().done(), "the connection was lost before the block ended");
  assert.ok(reader.atEof());
  await closeServer(server);
});

test.run();
