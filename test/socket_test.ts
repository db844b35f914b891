/** Socket: socketpair, send/recv, blocking mode, errors, shutdown, close/detach, close-on-exec. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  AF_INET, AF_UNIX, BlockingIOError, BrokenPipeError, ConnectionError, ConnectionRefusedError, FileNotFoundError,
  fromFd, newEventLoop, NotImplementedError, OSError, RuntimeError, SHUT_RD, SHUT_WR, SOCK_DGRAM, SOCK_STREAM, Socket,
  socketpair, ValueError,
} from "../mod.ts";
import { C, libc, native } from "../src/native.ts";
import { isA, settledFds } from "./_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);
const text = (b: Uint8Array) => dec.decode(b);
const linux = native.os === "linux";

/** A test that must leave the set of open descriptors as it found it. */
function fdTest(name: string, fn: () => Promise<void> | void) {
  test(name, async () => {
    const before = await settledFds();
    await fn();
    const after = await settledFds(before);
    assert.equal(after, before, "no descriptor leaked");
  });
}

/** Whether `fd` is an open descriptor. */
function isOpen(fd: number): boolean {
  return libc.fcntl(fd, C.F_GETFD, 0) >= 0;
}

/** The error `f` throws (failing if it does not). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new assert.Assertion({ message: "expected an exception", generated: false, operator: "throws", expects: undefined, actual: undefined });
}

fdTest("socketpair(): send and recv round trip, both ways", () => {
  const [a, b] = socketpair();
  try {
    assert.instance(a, Socket);
    assert.is(a.family, AF_UNIX);
    assert.is(a.type, SOCK_STREAM);
    assert.is(a.proto, 0);
    assert.ok(a.fileno() >= 0 && b.fileno() >= 0);
    assert.is.not(a.fileno(), b.fileno());
    assert.is(a.send(bytes("ping")), 4);
    assert.is(text(b.recv(100)), "ping");
    assert.is(b.send(bytes("pong!")), 5);
    assert.is(text(a.recv(100)), "pong!");
    // Any ArrayBufferView is accepted.
    assert.is(a.send(new Uint16Array([0x4241, 0x4443])), 4);
    assert.is(text(b.recv(100)), "ABCD");
    const dv = new DataView(bytes("xxhixx").buffer, 2, 2);
    assert.is(a.send(dv), 2);
    assert.is(text(b.recv(100)), "hi");
  } finally {
    a.close();
    b.close();
  }
});

fdTest("recv returns exactly the bytes sent, in a fresh array not reused by later calls", () => {
  const [a, b] = socketpair();
  try {
    a.send(bytes("abc"));
    const r1 = b.recv(1000);
    assert.instance(r1, Uint8Array);
    assert.is(r1.length, 3);
    assert.is(r1.byteOffset, 0);
    assert.is(r1.buffer.byteLength, 3, "no oversized backing buffer for a small receive");
    a.send(bytes("xyz"));
    const r2 = b.recv(1000);
    assert.is(text(r2), "xyz");
    assert.is(text(r1), "abc", "the first result is unchanged by the second recv");
    assert.is.not(r1.buffer, r2.buffer);
    r2[0] = 0x41;
    a.send(bytes("123"));
    assert.is(text(b.recv(1000)), "123", "writing into a result does not affect later ones");

    // recv(n) returns at most n bytes; the rest stays queued.
    a.send(bytes("0123456789"));
    assert.is(text(b.recv(4)), "0123");
    assert.is(text(b.recv(100)), "456789");

    // A large receive (beyond any internal scratch buffer).
    const big = new Uint8Array(100_000).map((_, i) => i % 251);
    a.setblocking(false);
    let sent = 0;
    while (sent < big.length) sent += a.send(big.subarray(sent));
    const got = new Uint8Array(big.length);
    let n = 0;
    const parts: Uint8Array[] = [];
    while (n < big.length) {
      const part = b.recv(200_000);
      assert.ok(part.length > 0);
      parts.push(part);
      got.set(part, n);
      n += part.length;
    }
    assert.equal(got, big);
    // The earlier big parts are intact after later receives.
    let off = 0;
    for (const p of parts) {
      assert.equal(p, big.subarray(off, off + p.length));
      off += p.length;
    }
  } finally {
    a.close();
    b.close();
  }
});

fdTest("recv(0) returns an empty array and consumes nothing", () => {
  const [a, b] = socketpair();
  try {
    a.send(bytes("data"));
    const z = b.recv(0);
    assert.instance(z, Uint8Array);
    assert.is(z.length, 0);
    assert.is(text(b.recv(10)), "data", "nothing was consumed");
    b.setblocking(false);
    assert.is(b.recv(0).length, 0, "on an empty non-blocking socket too");
  } finally {
    a.close();
    b.close();
  }
});

fdTest("recvInto fills the buffer (up to nbytes) and returns the count", () => {
  const [a, b] = socketpair();
  try {
    const buf = new Uint8Array(10).fill(0xff);
    a.send(bytes("hello world"));
    assert.is(b.recvInto(buf, 5), 5);
    assert.is(text(buf.subarray(0, 5)), "hello");
    assert.equal([...buf.subarray(5)], [0xff, 0xff, 0xff, 0xff, 0xff], "bytes beyond nbytes are untouched");
    assert.is(b.recvInto(buf), 6, "nbytes defaults to the buffer's length");
    assert.is(text(buf.subarray(0, 6)), " world");

    // The view's offset is honoured.
    const backing = new Uint8Array(16);
    a.send(bytes("WXYZ"));
    assert.is(b.recvInto(new DataView(backing.buffer, 4, 4)), 4);
    assert.equal([...backing.subarray(0, 4)], [0, 0, 0, 0]);
    assert.is(text(backing.subarray(4, 8)), "WXYZ");
    assert.equal([...backing.subarray(8)], [0, 0, 0, 0, 0, 0, 0, 0]);

    assert.throws(() => b.recvInto(new Uint8Array(4), 5), isA(ValueError));
    assert.throws(() => b.recvInto(new Uint8Array(4), -1), isA(ValueError));
    assert.throws(() => b.recvInto("buffer" as unknown as Uint8Array), isA(TypeError));
  } finally {
    a.close();
    b.close();
  }
});

fdTest("setblocking/getblocking switch O_NONBLOCK", () => {
  const [a, b] = socketpair();
  const nonblock = (s: Socket) => (libc.fcntl(s.fileno(), C.F_GETFL, 0) & C.O_NONBLOCK) !== 0;
  try {
    assert.is(a.getblocking(), true, "blocking by default");
    assert.not.ok(nonblock(a));
    a.setblocking(false);
    assert.is(a.getblocking(), false);
    assert.ok(nonblock(a));
    a.setblocking(false);
    assert.is(a.getblocking(), false, "idempotent");
    assert.is(b.getblocking(), true, "the peer is unaffected");
    a.setblocking(true);
    assert.is(a.getblocking(), true);
    assert.not.ok(nonblock(a));
  } finally {
    a.close();
    b.close();
  }
});

fdTest("recv on an empty non-blocking socket raises BlockingIOError (EAGAIN)", () => {
  const [a, b] = socketpair();
  try {
    b.setblocking(false);
    const e = thrown(() => b.recv(10)) as OSError;
    assert.instance(e, BlockingIOError);
    assert.instance(e, OSError);
    assert.is(e.name, "BlockingIOError");
    if (linux) assert.is(e.errno, 11);
    assert.is(e.code, "EAGAIN");
    assert.type(e.strerror, "string");
    assert.ok(e.strerror.length > 0);
    assert.throws(() => b.recvInto(new Uint8Array(4)), isA(BlockingIOError));
    // Still usable afterwards.
    a.send(bytes("late"));
    assert.is(text(b.recv(10)), "late");
  } finally {
    a.close();
    b.close();
  }
});

fdTest("argument errors: a string to send is TypeError, a negative size is ValueError", () => {
  const [a, b] = socketpair();
  try {
    assert.throws(() => a.send("text" as unknown as Uint8Array), isA(TypeError, "string"));
    assert.throws(() => a.sendall("text" as unknown as Uint8Array), isA(TypeError, "string"));
    assert.throws(() => a.send(42 as unknown as Uint8Array), isA(TypeError));
    assert.throws(() => a.send([1, 2] as unknown as Uint8Array), isA(TypeError));
    assert.throws(() => b.recv(-1), isA(ValueError));
    assert.throws(() => b.recv(1.5), isA(TypeError));
    assert.throws(() => b.recv("10" as unknown as number), isA(TypeError));
    // Nothing was sent by the failed calls.
    b.setblocking(false);
    assert.throws(() => b.recv(10), isA(BlockingIOError));
  } finally {
    a.close();
    b.close();
  }
});

fdTest("operations on a closed socket raise OSError EBADF; closing twice is fine", () => {
  const [a, b] = socketpair();
  const fd = a.fileno();
  a.close();
  assert.is(a.fileno(), -1);
  assert.not.ok(isOpen(fd), "the descriptor is closed");
  a.close();
  a.close();
  const ops: [string, () => unknown][] = [
    ["recv", () => a.recv(1)],
    ["recvInto", () => a.recvInto(new Uint8Array(1))],
    ["send", () => a.send(bytes("x"))],
    ["sendall", () => a.sendall(bytes("x"))],
    ["setblocking", () => a.setblocking(false)],
    ["getblocking", () => a.getblocking()],
    ["shutdown", () => a.shutdown(SHUT_WR)],
  ];
  for (const [name, op] of ops) {
    const e = thrown(op) as OSError;
    assert.instance(e, OSError, name);
    assert.is(e.code, "EBADF", name);
    assert.is(e.errno, 9, name);
  }
  // The peer sees EOF.
  assert.is(b.recv(10).length, 0);
  b.close();
});

fdTest("detach() returns the descriptor and leaves it open", () => {
  const [a, b] = socketpair();
  const fd = a.fileno();
  const got = a.detach();
  assert.is(got, fd);
  assert.is(a.fileno(), -1);
  assert.ok(isOpen(fd), "still open after detach");
  a.close(); // does not close the detached descriptor
  assert.ok(isOpen(fd), "close() after detach() leaves it alone");
  assert.throws(() => a.recv(1), (e: Error) => e instanceof OSError && (e as OSError).code === "EBADF");
  // The descriptor still works.
  const msg = bytes("raw");
  assert.is(libc.send(fd, msg, msg.length, 0), 3);
  assert.is(text(b.recv(10)), "raw");
  // It can be adopted again.
  const again = fromFd(fd, AF_UNIX, SOCK_STREAM);
  assert.is(again.fileno(), fd);
  assert.is(again.detach(), fd);
  assert.is(libc.close(fd), 0);
  assert.not.ok(isOpen(fd));
  b.close();
});

fdTest("shutdown(SHUT_WR): the peer's recv returns an empty array; writing raises BrokenPipeError", () => {
  const [a, b] = socketpair();
  try {
    a.send(bytes("last"));
    a.shutdown(SHUT_WR);
    assert.is(text(b.recv(10)), "last", "data sent before the shutdown still arrives");
    const eof = b.recv(10);
    assert.instance(eof, Uint8Array);
    assert.is(eof.length, 0);
    assert.is(b.recv(10).length, 0, "EOF again");
    const e = thrown(() => a.send(bytes("more"))) as OSError;
    assert.instance(e, BrokenPipeError);
    assert.is(e.code, "EPIPE");
    // Half close: the other direction still works.
    b.send(bytes("reply"));
    assert.is(text(a.recv(10)), "reply");
    b.shutdown(SHUT_RD);
  } finally {
    a.close();
    b.close();
  }
});

fdTest("sendall of 1 MiB on a non-blocking socket raises BlockingIOError part way", () => {
  const [a, b] = socketpair();
  try {
    a.setblocking(false);
    const data = new Uint8Array(1 << 20).fill(7);
    assert.throws(() => a.sendall(data), isA(BlockingIOError));
    b.setblocking(false);
    let n = 0;
    for (;;) {
      try {
        const part = b.recv(65536);
        if (part.length === 0) break;
        assert.ok(part.every((x) => x === 7));
        n += part.length;
      } catch (e) {
        assert.instance(e, BlockingIOError);
        break;
      }
    }
    assert.ok(n > 0 && n < data.length, `part of the data was sent: ${n} bytes`);
  } finally {
    a.close();
    b.close();
  }
});

fdTest("sendall through a blocking pair, in chunks the peer drains", () => {
  const [a, b] = socketpair();
  try {
    const total = 1 << 20;
    const chunk = 16 * 1024;
    const data = new Uint8Array(total).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
    const got = new Uint8Array(total);
    let n = 0;
    for (let off = 0; off < total; off += chunk) {
      a.sendall(data.subarray(off, off + chunk));
      while (n < off + chunk) n += b.recvInto(got.subarray(n, off + chunk));
    }
    assert.is(n, total);
    assert.equal(got, data);
  } finally {
    a.close();
    b.close();
  }
});

fdTest("1 MiB through a pair driven by loop readers and writers", async () => {
  const [a, b] = socketpair();
  const loop = newEventLoop();
  try {
    a.setblocking(false);
    b.setblocking(false);
    const total = 1 << 20;
    const data = new Uint8Array(total).map((_, i) => (i * 13) & 0xff);
    const got = new Uint8Array(total);
    let sent = 0, received = 0;
    loop.addWriter(a, () => {
      try {
        sent += a.send(data.subarray(sent, sent + 65536));
      } catch (e) {
        if (!(e instanceof BlockingIOError)) throw e;
      }
      if (sent === total) loop.removeWriter(a);
    });
    loop.addReader(b, () => {
      const part = b.recv(65536);
      got.set(part, received);
      received += part.length;
      if (received === total) {
        loop.removeReader(b);
        loop.stop();
      }
    });
    loop.callLater(20, () => loop.stop());
    await loop.runForever();
    assert.is(sent, total);
    assert.is(received, total);
    assert.equal(got, data);
  } finally {
    loop.close();
    a.close();
    b.close();
  }
});

fdTest("new Socket(AF_UNIX, SOCK_STREAM) is a blocking, close-on-exec descriptor", () => {
  const s = new Socket(AF_UNIX, SOCK_STREAM);
  try {
    const fd = s.fileno();
    assert.ok(fd >= 0);
    assert.is(s.family, AF_UNIX);
    assert.is(s.type, SOCK_STREAM);
    assert.is(s.proto, 0);
    assert.is(libc.fcntl(fd, C.F_GETFD, 0) & C.FD_CLOEXEC, 1);
    assert.ok(s.getblocking());
    assert.match(String(s), `fd=${fd}`);
  } finally {
    s.close();
  }
  const [a, b] = socketpair();
  assert.is(libc.fcntl(a.fileno(), C.F_GETFD, 0) & C.FD_CLOEXEC, 1, "socketpair() descriptors too");
  assert.is(libc.fcntl(b.fileno(), C.F_GETFD, 0) & C.FD_CLOEXEC, 1);
  a.close();
  b.close();
  const d = new Socket(AF_UNIX, SOCK_DGRAM);
  assert.is(d.type, SOCK_DGRAM);
  assert.is(libc.fcntl(d.fileno(), C.F_GETFD, 0) & C.FD_CLOEXEC, 1);
  d.close();
  const inet = new Socket();
  assert.is(inet.family, AF_INET, "AF_INET by default");
  assert.is(inet.type, SOCK_STREAM);
  inet[Symbol.dispose]();
  assert.is(inet.fileno(), -1, "Symbol.dispose closes");
});

fdTest("new Socket with bad arguments: OSError from socket(), TypeError for non-integers", () => {
  const e = thrown(() => new Socket(12345, SOCK_STREAM)) as OSError;
  assert.instance(e, OSError);
  assert.is(e.code, "EAFNOSUPPORT");
  assert.throws(() => new Socket("unix" as unknown as number), isA(TypeError));
  assert.throws(() => new Socket(AF_UNIX, SOCK_STREAM, 0, -1), isA(ValueError));
});

fdTest("NotImplementedError is a RuntimeError with its own name", () => {
  const e = new NotImplementedError("x is not implemented yet");
  assert.instance(e, RuntimeError);
  assert.is(e.name, "NotImplementedError");
});

test("OSError.fromErrno picks Python's subclass", () => {
  const e = OSError.fromErrno(linux ? 111 : 61);
  assert.instance(e, ConnectionRefusedError);
  assert.instance(e, ConnectionError);
  assert.instance(e, OSError);
  assert.instance(e, Error);
  assert.is(e.name, "ConnectionRefusedError");
  assert.is(e.code, "ECONNREFUSED");
  assert.is(e.errno, linux ? 111 : 61);
  assert.match(e.message, `[Errno ${e.errno}]`);
  assert.ok(e.strerror.length > 0);
  if (linux) {
    assert.instance(OSError.fromErrno(11), BlockingIOError);
    assert.instance(OSError.fromErrno(32), BrokenPipeError);
    const nf = OSError.fromErrno(2, "/no/such");
    assert.instance(nf, FileNotFoundError);
    assert.match(nf.message, /: \/no\/such$/);
    const plain = OSError.fromErrno(5);
    assert.is(plain.constructor, OSError, "EIO has no subclass");
    assert.is(plain.code, "EIO");
  }
});

test.run();
