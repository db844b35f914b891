/**
 * The Native additions every adapter provides: off-thread libc calls,
 * shared buffers, reading C memory through pointer tokens, addresses of
 * JavaScript buffers (writev), and the OS-specific symbol bindings.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { AF_INET, AF_INET6, socketpair } from "../mod.ts";
import { C, libc, native } from "../src/native.ts";
import { isA, settledFds } from "./_helpers.ts";

const enc = new TextEncoder();
const linux = native.os === "linux";

/** A NUL-terminated string in a plain (not shared) buffer. */
function cstr(s: string): Uint8Array {
  const b = new Uint8Array(new ArrayBuffer(s.length + 1));
  enc.encodeInto(s, b);
  return b;
}

test.before(async () => {
  // Start the host's off-thread machinery (Bun: a worker with descriptors of its own) before counting descriptors.
  await native.callBlocking("getaddrinfo", cstr("127.0.0.1"), null, null, native.allocShared(8)).then((r) => {
    assert.is(r, 0);
  });
});

test("allocShared: zeroed bytes of the requested size", () => {
  const b = native.allocShared(100);
  assert.instance(b, Uint8Array);
  assert.is(b.length, 100);
  assert.ok(b.every((x) => x === 0));
  if (native.runtime === "bun") assert.instance(b.buffer, SharedArrayBuffer, "Bun's worker must see the same memory");
});

test("callBlocking runs getaddrinfo off-thread; the result list reads through pointer tokens", async () => {
  const before = await settledFds();
  const hints = native.allocShared(C.ADDRINFO_SIZE);
  const dv = new DataView(hints.buffer, hints.byteOffset, hints.byteLength);
  dv.setInt32(0, C.AI_CANONNAME, true);
  dv.setInt32(4, AF_INET, true);
  dv.setInt32(8, C.SOCK_STREAM, true);
  const res = native.allocShared(8);
  const host = native.allocShared(10);
  enc.encodeInto("localhost", host);
  const pending = native.callBlocking("getaddrinfo", host, null, hints, res);
  assert.instance(pending, Promise, "it does not block: a promise");
  assert.is(await pending, 0);
  const head = native.pointerFromBuffer(res, 0);
  assert.not.ok(native.isNull(head));
  try {
    const fields = native.readBytes(head, 0, 16);
    assert.is(fields.length, 16);
    const f = new DataView(fields.buffer, fields.byteOffset, 16);
    assert.is(f.getInt32(4, true), AF_INET);
    assert.is(f.getInt32(8, true), C.SOCK_STREAM);
    const addr = native.readPointer(head, C.AI_ADDR_OFFSET);
    assert.not.ok(native.isNull(addr));
    const sa = native.readBytes(addr, 0, 8);
    assert.equal([...sa.subarray(4, 8)], [127, 0, 0, 1]);
    const canon = native.readPointer(head, C.AI_CANONNAME_OFFSET);
    assert.is(native.readCString(canon), "localhost");
    assert.is(native.readCString(canon, 5), "host", "with an offset");
    // The copy stays valid after the memory is freed.
    const next = native.readPointer(head, C.AI_NEXT_OFFSET);
    assert.type(native.isNull(next), "boolean");
  } finally {
    libc.freeaddrinfo(head);
  }
  // A NULL out-pointer reads as null.
  assert.ok(native.isNull(native.pointerFromBuffer(new Uint8Array(new ArrayBuffer(8)), 0)));
  assert.equal(await settledFds(before), before);
});

test("callBlocking with plain buffers works too (copied where the host needs shared memory)", async () => {
  const hints = new Uint8Array(new ArrayBuffer(C.ADDRINFO_SIZE));
  new DataView(hints.buffer).setInt32(4, AF_INET6, true);
  new DataView(hints.buffer).setInt32(8, C.SOCK_DGRAM, true);
  const res = new Uint8Array(new ArrayBuffer(8));
  assert.is(await native.callBlocking("getaddrinfo", cstr("::1"), cstr("53"), hints, res), 0);
  const head = native.pointerFromBuffer(res, 0);
  assert.not.ok(native.isNull(head), "the out-pointer was copied back");
  const addr = native.readPointer(head, C.AI_ADDR_OFFSET);
  const sa = native.readBytes(addr, 0, 28);
  assert.is((sa[2] << 8) | sa[3], 53);
  assert.is(sa[23], 1, "::1");
  libc.freeaddrinfo(head);
  // An error code comes back as the result.
  const r = await native.callBlocking("getaddrinfo", cstr("nonexistent.invalid"), null, null, new Uint8Array(new ArrayBuffer(8)));
  assert.is(r, C.EAI_NONAME);
});

test("callBlocking: several calls at once; a non-blocking symbol is refused", async () => {
  const calls = Array.from({ length: 8 }, (_, i) => {
    const sa = native.allocShared(16);
    const dv = new DataView(sa.buffer, sa.byteOffset, 16);
    if (C.SA_LEN) {
      sa[0] = 16;
      sa[1] = AF_INET;
    } else {
      dv.setUint16(0, AF_INET, true);
    }
    dv.setUint16(2, 8000 + i, false);
    sa.set([127, 0, 0, 1], 4);
    const hostOut = native.allocShared(64), servOut = native.allocShared(16);
    return native.callBlocking("getnameinfo", sa, 16, hostOut, 64, servOut, 16, C.NI_NUMERICHOST | C.NI_NUMERICSERV)
      .then((r) => [r, new TextDecoder().decode(servOut.slice(0, servOut.indexOf(0)))]);
  });
  const results = await Promise.all(calls);
  results.forEach(([r, port], i) => {
    assert.is(r, 0);
    assert.is(port, String(8000 + i));
  });
  let err: unknown = null;
  try {
    // deno-lint-ignore no-explicit-any
    await native.callBlocking("close" as any, 999);
  } catch (e) {
    err = e;
  }
  assert.ok(isA(TypeError, "not a blocking")(err as Error));
});

test("addressOf + writev: one system call for several buffers", async () => {
  const before = await settledFds();
  const [a, b] = socketpair();
  try {
    const parts = ["alpha ", "beta ", "gamma"].map((s) => {
      const buf = new Uint8Array(new ArrayBuffer(s.length));
      enc.encodeInto(s, buf);
      return buf;
    });
    const iov = new Uint8Array(new ArrayBuffer(16 * parts.length));
    const dv = new DataView(iov.buffer);
    parts.forEach((p, i) => {
      dv.setBigUint64(16 * i, native.addressOf(p), true);
      dv.setBigUint64(16 * i + 8, BigInt(p.length), true);
    });
    assert.is(libc.writev(a.fileno(), iov, parts.length), 16);
    assert.is(new TextDecoder().decode(b.recv(100)), "alpha beta gamma");
    assert.is(typeof native.addressOf(parts[0]), "bigint");
  } finally {
    a.close();
    b.close();
  }
  assert.equal(await settledFds(before), before);
});

test("per-OS bindings: sendfile and accept4 on Linux only; stat/lstat, unlink, inet_pton bound", () => {
  if (linux) {
    assert.type(libc.sendfile, "function");
    assert.type(libc.accept4, "function");
  } else {
    assert.is(libc.sendfile, null, "macOS's sendfile has another prototype: not bound");
    assert.is(libc.accept4, null);
  }
  for (const name of ["bind", "listen", "connect", "accept", "getsockname", "getpeername", "setsockopt", "recvfrom",
    "sendto", "writev", "unlink", "inet_pton", "inet_ntop", "getaddrinfo", "freeaddrinfo", "getnameinfo", "gai_strerror",
    "if_nametoindex", "if_indextoname", "pread"] as const) {
    assert.type(libc[name], "function", name);
  }
  assert.type(libc.gai_strerror(C.EAI_NONAME), "string");
  assert.ok((libc.gai_strerror(C.EAI_NONAME) as string).length > 0);
  // if_indextoname returns a pointer into our buffer, or NULL.
  const name = new Uint8Array(new ArrayBuffer(32));
  const p = libc.if_indextoname(1, name);
  if (!native.isNull(p)) assert.is(native.readCString(p), new TextDecoder().decode(name.slice(0, name.indexOf(0))));
  assert.ok(native.isNull(libc.if_indextoname(0x7ffffff0, name)));
});

test("loadLibrary: the first path that loads with every required symbol; null when none does", () => {
  const libcName = linux ? "libc.so.6" : "libSystem.B.dylib";
  const table = {
    getpid: { params: [], result: "i32" },
    tsyncio_no_such_symbol: { params: [], result: "i32", optional: true },
  } as const;
  const t = native.loadLibrary(["libtsyncio-missing.so.9", libcName], table);
  assert.ok(t !== null);
  assert.is(t!.getpid(), libc.getpid());
  assert.is(t!.tsyncio_no_such_symbol, null, "an absent optional symbol is null");
  assert.is(native.loadLibrary(["libtsyncio-missing.so.9"], table), null);
  const required = { tsyncio_no_such_symbol: { params: [], result: "i32" } } as const;
  assert.is(native.loadLibrary([libcName], required), null, "a library without a required symbol does not count");
});

test("makeCallback: C calls JavaScript synchronously (qsort's comparator)", () => {
  const t = native.loadLibrary([linux ? "libc.so.6" : "libSystem.B.dylib"], {
    qsort: { params: ["buf", "usize", "usize", "ptr"], result: "void" },
  } as const)!;
  const calls: number[] = [];
  const cb = native.makeCallback(["ptr", "ptr"], "i32", (a: unknown, b: unknown) => {
    const x = new DataView(native.readBytes(a as never, 0, 4).buffer).getInt32(0, true);
    const y = new DataView(native.readBytes(b as never, 0, 4).buffer).getInt32(0, true);
    calls.push(x);
    return x - y;
  });
  try {
    const arr = new Int32Array(new ArrayBuffer(20));
    arr.set([5, 3, 9, 1, 7]);
    t.qsort(new Uint8Array(arr.buffer), 5, 4, cb.pointer);
    assert.equal(Array.from(arr), [1, 3, 5, 7, 9]);
    assert.ok(calls.length > 0);
  } finally {
    cb.close();
  }
});

test.run();
