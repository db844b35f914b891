/** Pipe transports: connectReadPipe / connectWritePipe over real pipes, sockets and character devices. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  BrokenPipeError, BufferedProtocol, type EventLoop, newEventLoop, Protocol, type ReadPipeTransport, RuntimeError,
  socketpair, ValueError, type WritePipeTransport,
} from "../mod.ts";
import type { Future } from "../mod.ts";
import { captureExceptions, isA, SELECTORS, settledFds } from "./_helpers.ts";
import { concat, dec, enc, pattern, Recorder, runUntil, sha256 } from "./_net.ts";
import { C, libc } from "../src/native.ts";

/** A close-on-exec pipe: [read end, write end]. */
function pipe(): [number, number] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (libc.pipe2!(new Uint8Array(fds.buffer), C.O_CLOEXEC) !== 0) throw new Error("pipe2 failed");
  remember(fds[0]);
  remember(fds[1]);
  return [fds[0], fds[1]];
}

/** The file a descriptor refers to ("dev:ino"), or null when it is closed. */
function identity(fd: number): string | null {
  const st = new Uint8Array(new ArrayBuffer(C.STAT_SIZE));
  if (libc.fstat(fd, st) !== 0) return null;
  const v = new DataView(st.buffer);
  return `${v.getBigUint64(C.STAT_DEV_OFFSET, true)}:${v.getBigUint64(C.STAT_INO_OFFSET, true)}`;
}

const opened = new Map<number, string | null>();
function remember(fd: number): void {
  opened.set(fd, identity(fd));
}

/**
 * Whether `fd` still refers to the file it was opened on. A closed number
 * may be taken again at once by the host (Node's worker threads open
 * eventfds), so the number alone proves nothing.
 */
function isOpen(fd: number): boolean {
  const now = identity(fd);
  return now !== null && now === (opened.get(fd) ?? now);
}

function writeAll(fd: number, data: Uint8Array): void {
  const buf = new Uint8Array(new ArrayBuffer(data.byteLength));
  buf.set(data);
  let off = 0;
  while (off < buf.byteLength) {
    const n = libc.write(fd, buf.subarray(off), buf.byteLength - off);
    if (n < 0) throw new Error("write failed");
    off += n;
  }
}

/** Read what is there now from a non-blocking or ready descriptor. */
function readSome(fd: number, max = 65536): Uint8Array {
  const buf = new Uint8Array(new ArrayBuffer(max));
  const n = libc.read(fd, buf, max);
  return n > 0 ? buf.slice(0, n) : new Uint8Array(0);
}

function isNonBlocking(fd: number): boolean {
  return (libc.fcntl(fd, C.F_GETFL, 0) & C.O_NONBLOCK) !== 0;
}

for (const selector of SELECTORS) {
  const t = (name: string, fn: (loop: EventLoop) => Promise<void>) =>
    test(`[${selector}] ${name}`, async () => {
      const before = await settledFds();
      const loop = newEventLoop({ selector });
      try {
        await fn(loop);
      } finally {
        loop.close();
      }
      assert.equal(await settledFds(before), before, "no descriptor leaked");
    });

  t("read pipe: made, data, eof, lost(null) in order; the transport owns and closes the descriptor", async (loop) => {
    const [r, w] = pipe();
    const [tr, p] = await loop.runUntilComplete(loop.connectReadPipe(() => new Recorder(), r));
    const rec = p as Recorder;
    assert.equal(rec.events, ["made"]);
    assert.is(tr.getExtraInfo("pipe"), r);
    assert.ok(isNonBlocking(r), "made non-blocking");
    assert.ok(tr.isReading());
    writeAll(w, enc.encode("hello"));
    await runUntil(loop, () => rec.received.length === 5);
    writeAll(w, enc.encode(" pipe"));
    libc.close(w);
    await runUntil(loop, () => rec.events.includes("lost"));
    assert.equal(rec.events, ["made", "data", "eof", "lost"]);
    assert.is(dec.decode(rec.received), "hello pipe");
    assert.is(rec.lost, null);
    assert.ok(tr.isClosing());
    assert.not.ok(tr.isReading());
    assert.not.ok(isOpen(r), "closing the transport closed the descriptor");
  });

  t("read pipe: pauseReading holds data back, resumeReading delivers it; both idempotent", async (loop) => {
    const [r, w] = pipe();
    const [tr, p] = await loop.runUntilComplete(loop.connectReadPipe(() => new Recorder(), r));
    const rec = p as Recorder;
    tr.pauseReading();
    tr.pauseReading();
    assert.not.ok(tr.isReading());
    writeAll(w, enc.encode("later"));
    await loop.runUntilComplete(loop.createTask((function* () {
      const f = loop.createFuture<void>();
      loop.callLater(0.05, () => f.setResult(undefined));
      yield* f;
    })()));
    assert.is(rec.received.length, 0, "nothing delivered while paused");
    tr.resumeReading();
    tr.resumeReading();
    assert.ok(tr.isReading());
    await runUntil(loop, () => rec.received.length === 5);
    assert.is(dec.decode(rec.received), "later");
    tr.close();
    tr.close();
    assert.not.ok(tr.isReading());
    await runUntil(loop, () => rec.events.includes("lost"));
    assert.equal(rec.events, ["made", "data", "lost"], "close(): no eofReceived, connectionLost(null) once");
    assert.not.ok(isOpen(r));
    libc.close(w);
  });

  t("read pipe with a BufferedProtocol: reads land in the protocol's own buffer", async (loop) => {
    const [r, w] = pipe();
    const got: Uint8Array[] = [];
    let lost = false;
    class Buffered extends BufferedProtocol {
      buf = new Uint8Array(new ArrayBuffer(7));
      override getBuffer(): Uint8Array {
        return this.buf;
      }
      override bufferUpdated(n: number): void {
        got.push(this.buf.slice(0, n));
      }
      override connectionLost(): void {
        lost = true;
      }
    }
    await loop.runUntilComplete(loop.connectReadPipe(() => new Buffered(), r));
    const data = pattern(100);
    writeAll(w, data);
    libc.close(w);
    await runUntil(loop, () => lost);
    assert.equal(concat(got), data);
    assert.ok(got.every((c) => c.length <= 7), "never more than the buffer holds");
  });

  t("read pipe: setProtocol switches protocols mid-stream (to a BufferedProtocol too)", async (loop) => {
    const [r, w] = pipe();
    const [tr, p] = await loop.runUntilComplete(loop.connectReadPipe(() => new Recorder(), r));
    const first = p as Recorder;
    writeAll(w, enc.encode("abc"));
    await runUntil(loop, () => first.received.length === 3);
    const got: Uint8Array[] = [];
    let lost = false;
    const second = {
      buf: new Uint8Array(new ArrayBuffer(16)),
      getBuffer(): Uint8Array {
        return this.buf;
      },
      bufferUpdated(n: number): void {
        got.push(this.buf.slice(0, n));
      },
      connectionLost(): void {
        lost = true;
      },
    };
    tr.setProtocol(second);
    assert.is(tr.getProtocol(), second);
    writeAll(w, enc.encode("defgh"));
    libc.close(w);
    await runUntil(loop, () => lost);
    assert.is(dec.decode(concat(got)), "defgh");
    assert.equal(first.events, ["made", "data"], "the first protocol heard nothing more");
  });

  t("read pipe: an exception in dataReceived goes to the handler and closes the transport", async (loop) => {
    const seen = captureExceptions(loop);
    const [r, w] = pipe();
    const boom = new Error("boom");
    let lostWith: Error | null | undefined;
    await loop.runUntilComplete(loop.connectReadPipe(() => ({
      dataReceived() {
        throw boom;
      },
      connectionLost(exc: Error | null) {
        lostWith = exc;
      },
    }), r));
    writeAll(w, enc.encode("x"));
    await runUntil(loop, () => lostWith !== undefined);
    assert.is(lostWith, boom);
    assert.is(seen.length, 1);
    assert.match(String(seen[0].message), "dataReceived");
    assert.is(seen[0].exception, boom);
    libc.close(w);
  });

  t("write pipe: write and writelines reach the reader; close flushes, then EOF and lost(null)", async (loop) => {
    const [r, w] = pipe();
    const [rt, rp] = await loop.runUntilComplete(loop.connectReadPipe(() => new Recorder(), r));
    const [wt, wp] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), w));
    const reader = rp as Recorder, writer = wp as Recorder;
    assert.equal(writer.events, ["made"]);
    assert.is(wt.getExtraInfo("pipe"), w);
    assert.ok(isNonBlocking(w));
    assert.ok(wt.canWriteEof());
    wt.write(enc.encode("one "));
    wt.writelines([enc.encode("two "), new Uint16Array([0x6874, 0x6572]), enc.encode("e")]);
    wt.write(new Uint8Array(0)); // a no-op
    assert.throws(() => wt.write("text" as unknown as Uint8Array), isA(TypeError, "bytes-like"));
    wt.close();
    assert.ok(wt.isClosing());
    await runUntil(loop, () => reader.events.includes("lost") && writer.events.includes("lost"));
    assert.is(dec.decode(reader.received), "one two three");
    assert.equal(reader.events, ["made", "data", "eof", "lost"]);
    assert.equal(writer.events, ["made", "lost"]);
    assert.is(writer.lost, null);
    assert.not.ok(isOpen(w));
    assert.not.ok(isOpen(r));
    assert.ok(rt.isClosing());
  });

  t("write pipe: the reader closing while idle ends the transport with lost(null); later writes are dropped", async (loop) => {
    const [r, w] = pipe();
    const [wt, wp] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), w));
    const writer = wp as Recorder;
    libc.close(r);
    await runUntil(loop, () => writer.events.includes("lost"));
    assert.is(writer.lost, null, "nothing was pending: a normal end (as asyncio)");
    assert.ok(wt.isClosing());
    wt.write(enc.encode("dropped")); // no exception, no crash
    assert.not.ok(isOpen(w));
  });

  t("write pipe: writing to a pipe whose reader is gone → BrokenPipeError in connectionLost, no crash", async (loop) => {
    const seen = captureExceptions(loop);
    const [r, w] = pipe();
    const [wt, wp] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), w));
    const writer = wp as Recorder;
    libc.close(r);
    // The loop has not noticed yet: write() meets EPIPE (the host ignores SIGPIPE).
    wt.write(enc.encode("into the void"));
    await runUntil(loop, () => writer.events.includes("lost"));
    assert.instance(writer.lost, BrokenPipeError);
    assert.is((writer.lost as BrokenPipeError).code, "EPIPE");
    assert.equal(seen, [], "a broken pipe is not reported to the exception handler");
    for (let i = 0; i < 3; i++) wt.write(enc.encode("more"));
    assert.not.ok(isOpen(w));
  });

  t("write pipe: data still buffered when the reader goes away → BrokenPipeError", async (loop) => {
    const [r, w] = pipe();
    const [wt, wp] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), w));
    const writer = wp as Recorder;
    wt.write(pattern(1 << 20));
    assert.ok(wt.getWriteBufferSize() > 0, "a pipe takes 64 KiB at most: the rest is buffered");
    libc.close(r);
    await runUntil(loop, () => writer.events.includes("lost"));
    assert.instance(writer.lost, BrokenPipeError);
    assert.is(wt.getWriteBufferSize(), 0);
  });

  t("write pipe flow control: pauseWriting above high-water, resumeWriting once drained to low-water", async (loop) => {
    const [r, w] = pipe();
    const [wt, wp] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), w));
    const writer = wp as Recorder;
    assert.equal(wt.getWriteBufferLimits(), [16384, 65536]);
    wt.setWriteBufferLimits(4096);
    assert.equal(wt.getWriteBufferLimits(), [1024, 4096]);
    assert.throws(() => wt.setWriteBufferLimits(10, 20), isA(ValueError));
    const data = pattern(512 * 1024, 7);
    wt.write(data);
    assert.equal(writer.events, ["made", "pause"], "paused synchronously from write()");
    // Now drain it through a read pipe transport.
    const [, rp] = await loop.runUntilComplete(loop.connectReadPipe(() => new Recorder(), r));
    const reader = rp as Recorder;
    await runUntil(loop, () => writer.events.includes("resume"));
    assert.ok(wt.getWriteBufferSize() <= 1024);
    wt.close();
    await runUntil(loop, () => reader.events.includes("lost") && writer.events.includes("lost"));
    assert.is(await sha256(reader.received), await sha256(data));
    assert.equal(writer.events, ["made", "pause", "resume", "lost"]);
  });

  t("write pipe: abort drops buffered data and ends with lost(null); writeEof closes like close", async (loop) => {
    const [r, w] = pipe();
    const [wt, wp] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), w));
    const writer = wp as Recorder;
    wt.write(pattern(256 * 1024));
    assert.ok(wt.getWriteBufferSize() > 0);
    wt.abort();
    assert.is(wt.getWriteBufferSize(), 0);
    await runUntil(loop, () => writer.events.includes("lost"));
    assert.is(writer.lost, null);
    assert.equal(writer.events.filter((e) => e === "lost"), ["lost"], "once");
    libc.close(r);

    const [r2, w2] = pipe();
    const [wt2, wp2] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), w2));
    wt2.write(enc.encode("last words"));
    wt2.writeEof();
    wt2.write(enc.encode("dropped after writeEof, as asyncio"));
    await runUntil(loop, () => (wp2 as Recorder).events.includes("lost"));
    assert.is(dec.decode(readSome(r2)), "last words");
    assert.is(readSome(r2).length, 0, "EOF");
    libc.close(r2);
  });

  t("a regular file is refused with ValueError (and stays open: the transport never owned it)", async (loop) => {
    const path = `/tmp/tsyncio-pipe-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const O_CREAT = 0o100;
    const fd = libc.open(enc.encode(path + "\0"), C.O_RDWR | O_CREAT | C.O_CLOEXEC, 0o600);
    assert.ok(fd >= 0);
    remember(fd);
    libc.unlink(enc.encode(path + "\0"));
    try {
      for (const connect of [loop.connectReadPipe, loop.connectWritePipe]) {
        try {
          await loop.runUntilComplete((connect as (f: () => Protocol, p: number) => Future<unknown>).call(loop, () => new Protocol(), fd));
          assert.unreachable("should have thrown");
        } catch (e) {
          assert.instance(e, ValueError);
          assert.match((e as Error).message, "Pipe transport is only for pipes, sockets and character devices");
        }
      }
      assert.ok(isOpen(fd));
    } finally {
      libc.close(fd);
    }
    assert.throws(() => loop.connectReadPipe(42 as unknown as () => Protocol, 0), isA(TypeError, "protocolFactory"));
    try {
      await loop.runUntilComplete(loop.connectReadPipe(() => new Protocol(), "3" as unknown as number));
      assert.unreachable("should have thrown");
    } catch (e) {
      assert.instance(e, TypeError);
    }
  });

  t("sockets and character devices are accepted; an object with fileno() and close() is closed through close()", async (loop) => {
    const [a, b] = socketpair();
    const [wt, wp] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), a));
    const [rt, rp] = await loop.runUntilComplete(loop.connectReadPipe(() => new Recorder(), b));
    assert.is(wt.getExtraInfo("pipe"), a);
    wt.write(enc.encode("over a socket"));
    wt.close();
    await runUntil(loop, () => (rp as Recorder).events.includes("lost") && (wp as Recorder).events.includes("lost"));
    assert.is(dec.decode((rp as Recorder).received), "over a socket");
    assert.is(a.fileno(), -1, "the Socket object knows it is closed");
    assert.is(b.fileno(), -1);
    assert.ok(rt.isClosing());
    // A pseudo-terminal master is a character device.
    const O_NOCTTY = 0o400;
    const ptm = libc.open(enc.encode("/dev/ptmx\0"), C.O_RDWR | O_NOCTTY | C.O_CLOEXEC, 0);
    if (ptm >= 0) {
      remember(ptm);
      const [pt, pp] = await loop.runUntilComplete(loop.connectReadPipe(() => new Recorder(), ptm));
      pt.close();
      await runUntil(loop, () => (pp as Recorder).events.includes("lost"));
      assert.not.ok(isOpen(ptm));
    }
  });

  t("a descriptor owned by a pipe transport cannot be watched with addReader/addWriter", async (loop) => {
    const [r, w] = pipe();
    const [tr, p] = await loop.runUntilComplete(loop.connectReadPipe(() => new Recorder(), r));
    assert.throws(() => loop.addReader(r, () => {}), isA(RuntimeError, "used by transport"));
    const [wt, wp] = await loop.runUntilComplete(loop.connectWritePipe(() => new Recorder(), w));
    assert.throws(() => loop.addWriter(w, () => {}), isA(RuntimeError, "used by transport"));
    (tr as ReadPipeTransport).close();
    (wt as WritePipeTransport).close();
    await runUntil(loop, () => (p as Recorder).events.includes("lost") && (wp as Recorder).events.includes("lost"));
  });
}

test.run();
