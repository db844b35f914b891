/** TCP and UNIX stream transports, createConnection, createServer and Server, over loopback. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  AF_INET, BufferedProtocol, ConnectionRefusedError, type EventLoop, ExceptionGroup, newEventLoop, OSError, Protocol,
  RuntimeError, type Server, SOCK_STREAM, Socket, socketpair, type Transport, ValueError,
} from "../mod.ts";
import { isA, loopTestsEachSelector, settledFds } from "./_helpers.ts";
import { concat, dec, Echo, enc, pattern, Recorder, runUntil, sha256, tempSocketPath } from "./_net.ts";
import { libc } from "../src/native.ts";
import type { AddrInfo } from "../src/dns.ts";
import type { Future } from "../mod.ts";
import { C } from "../src/native.ts";

function port(server: Server): number {
  return (server.sockets[0].getsockname() as [string, number])[1];
}

const t = loopTestsEachSelector(test);

t("echo over TCP: callbacks in asyncio's order, connectionLost once", async (loop) => {
  const serverSide: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.onData = (d) => r.transport!.write(d);
    serverSide.push(r);
    return r;
  }, "127.0.0.1", 0));
  const [tr, client] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server)));
  const c = client as Recorder;
  assert.equal(c.events, ["made"]);
  tr.write(enc.encode("hello "));
  tr.writelines([enc.encode("wor"), enc.encode("ld")]);
  await runUntil(loop, () => c.received.length === 11);
  assert.is(dec.decode(c.received), "hello world");
  assert.equal(tr.getExtraInfo("peername"), ["127.0.0.1", port(server)]);
  assert.is((tr.getExtraInfo("sockname") as [string, number])[0], "127.0.0.1");
  assert.instance(tr.getExtraInfo("socket"), Socket);
  assert.is(tr.getExtraInfo("nope", 7), 7);
  assert.is((tr.getExtraInfo("socket") as Socket).getsockopt(C.IPPROTO_TCP, C.TCP_NODELAY), 1, "TCP_NODELAY on");
  tr.close();
  assert.ok(tr.isClosing());
  await runUntil(loop, () => c.events.includes("lost") && serverSide[0]?.events.includes("lost"));
  assert.equal(c.events, ["made", "data", "lost"]);
  assert.is(c.lost, null);
  assert.equal(serverSide[0].events, ["made", "data", "eof", "lost"]);
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("half-close: eofReceived returning true keeps the writing side open (both directions)", async (loop) => {
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.keepOpenOnEof = true;
    srv.push(r);
    return r;
  }, "127.0.0.1", 0));
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server)));
  const c = p as Recorder;
  c.keepOpenOnEof = true;
  assert.ok(tr.canWriteEof());
  tr.write(enc.encode("question"));
  tr.writeEof();
  assert.throws(() => tr.write(enc.encode("x")), isA(RuntimeError, "writeEof"));
  await runUntil(loop, () => srv[0]?.events.includes("eof"));
  assert.is(dec.decode(srv[0].received), "question");
  // The server still answers after the client's EOF, then half-closes too.
  srv[0].transport!.write(enc.encode("answer"));
  srv[0].transport!.writeEof();
  await runUntil(loop, () => c.events.includes("eof"));
  assert.is(dec.decode(c.received), "answer");
  assert.not.ok(c.events.includes("lost"), "still open after EOF when eofReceived returned true");
  tr.close();
  srv[0].transport!.close();
  await runUntil(loop, () => c.events.includes("lost") && srv[0].events.includes("lost"));
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("connecting to a closed port → ConnectionRefusedError with errno and code", async (loop) => {
  const s = new Socket(AF_INET, SOCK_STREAM);
  s.bind(["127.0.0.1", 0]);
  const p = (s.getsockname() as [string, number])[1];
  s.close(); // nothing listens there now
  try {
    await loop.runUntilComplete(loop.createConnection(() => new Protocol(), "127.0.0.1", p));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ConnectionRefusedError);
    assert.is((e as OSError).code, "ECONNREFUSED");
    assert.is((e as OSError).errno, 111);
  }
});

t("abort drops buffered data; close flushes it", async (loop) => {
  const got: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    got.push(r);
    return r;
  }, "127.0.0.1", 0));
  const [a] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server)));
  const big = pattern(8 * 1024 * 1024);
  a.write(big);
  assert.ok(a.getWriteBufferSize() > 0, "some of it is buffered");
  a.close(); // flushes
  await runUntil(loop, () => got[0]?.events.includes("lost"));
  assert.is(got[0].received.length, big.length);
  const [b, bp] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server)));
  b.write(big);
  const buffered = b.getWriteBufferSize();
  b.abort();
  assert.is(b.getWriteBufferSize(), 0);
  await runUntil(loop, () => got[1]?.events.includes("lost") && (bp as Recorder).events.includes("lost"));
  assert.ok(got[1].received.length <= big.length - buffered, "aborted data never went out");
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("writes after the connection is lost are dropped with a warning from the 5th on", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0));
  const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server)));
  tr.abort();
  const warnings: string[] = [];
  const { setLogger } = await import("../mod.ts");
  setLogger({ debug() {}, info() {}, error() {}, warning: (m) => void warnings.push(m) });
  try {
    for (let i = 0; i < 7; i++) tr.write(enc.encode("x"));
  } finally {
    setLogger(null);
  }
  assert.is(warnings.length, 3);
  assert.match(warnings[0], "socket.send() raised exception.");
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("flow control: pauseWriting strictly above high, resumeWriting at low; limits API", async (loop) => {
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    srv.push(r);
    return r;
  }, "127.0.0.1", 0));
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server)));
  const c = p as Recorder;
  assert.equal(tr.getWriteBufferLimits(), [16384, 65536]);
  tr.setWriteBufferLimits(null, 100);
  assert.equal(tr.getWriteBufferLimits(), [100, 400]);
  tr.setWriteBufferLimits(1000);
  assert.equal(tr.getWriteBufferLimits(), [250, 1000]);
  assert.throws(() => tr.setWriteBufferLimits(10, 20), isA(ValueError));
  // Stop the server reading so the client's buffer fills.
  await runUntil(loop, () => srv.length === 1);
  srv[0].transport!.pauseReading();
  assert.not.ok(srv[0].transport!.isReading());
  let i = 0;
  while (!c.events.includes("pause") && i++ < 10000) tr.write(pattern(64 * 1024, i));
  assert.ok(c.events.includes("pause"), "paused");
  assert.ok(tr.getWriteBufferSize() > 1000);
  srv[0].transport!.resumeReading();
  await runUntil(loop, () => c.events.includes("resume"));
  assert.ok(tr.getWriteBufferSize() <= 250);
  tr.close();
  await runUntil(loop, () => srv[0].events.includes("lost"));
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("pauseReading/resumeReading stop and restart dataReceived", async (loop) => {
  const [s1, s2] = socketpair();
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), null, null, { sock: s1 }));
  const c = p as Recorder;
  tr.pauseReading();
  tr.pauseReading(); // idempotent
  s2.send(enc.encode("while paused"));
  await runUntil(loop, () => true);
  const f = loop.createFuture<void>();
  loop.callLater(0.02, () => f.setResult(undefined));
  await loop.runUntilComplete(f);
  assert.is(c.chunks.length, 0);
  tr.resumeReading();
  await runUntil(loop, () => c.chunks.length > 0);
  assert.is(dec.decode(c.received), "while paused");
  tr.close();
  s2.close();
  await runUntil(loop, () => c.events.includes("lost"));
});

t("setProtocol switches to a BufferedProtocol: no copies, getBuffer/bufferUpdated", async (loop) => {
  const [s1, s2] = socketpair();
  const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), null, null, { sock: s1 }));
  const store = new Uint8Array(1024);
  let filled = 0;
  let eof = false;
  class Buf extends BufferedProtocol {
    override getBuffer(_hint: number): Uint8Array {
      return store.subarray(filled);
    }
    override bufferUpdated(n: number): void {
      filled += n;
    }
    override eofReceived(): boolean {
      eof = true;
      return false;
    }
  }
  const b = new Buf();
  tr.setProtocol(b);
  assert.is(tr.getProtocol(), b);
  s2.send(enc.encode("abc"));
  s2.send(enc.encode("def"));
  await runUntil(loop, () => filled === 6);
  assert.is(dec.decode(store.subarray(0, 6)), "abcdef");
  s2.shutdown(C.SHUT_WR);
  await runUntil(loop, () => eof);
  s2.close();
  await runUntil(loop, () => tr.isClosing());
  const f = loop.createFuture<void>();
  loop.callSoon(() => f.setResult(undefined));
  await loop.runUntilComplete(f);
});

t("64 MiB through an echo server, checked by hash, with pause/resume observed", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0));
  const total = 64 * 1024 * 1024;
  const data = pattern(total, 7);
  let pauses = 0, resumes = 0, sent = 0;
  const chunks: Uint8Array[] = [];
  let receivedBytes = 0;
  let tr: Transport | null = null;
  let paused = false;
  const pump = () => {
    while (!paused && sent < total) {
      const n = Math.min(256 * 1024, total - sent);
      tr!.write(data.subarray(sent, sent + n));
      sent += n;
    }
  };
  class Client extends Protocol {
    override connectionMade(t: Transport) {
      tr = t;
    }
    override dataReceived(d: Uint8Array) {
      chunks.push(d);
      receivedBytes += d.byteLength;
    }
    override pauseWriting() {
      pauses++;
      paused = true;
    }
    override resumeWriting() {
      resumes++;
      paused = false;
      loop.callSoon(pump);
    }
  }
  await loop.runUntilComplete(loop.createConnection(() => new Client(), "127.0.0.1", port(server)));
  pump();
  await runUntil(loop, () => receivedBytes >= total, 60);
  assert.is(receivedBytes, total);
  assert.ok(pauses > 0 && resumes > 0, `pauses=${pauses} resumes=${resumes}`);
  assert.is(await sha256(concat(chunks)), await sha256(data));
  tr!.close();
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("server close semantics: close, isServing, waitClosed after clients, closeClients/abortClients", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Recorder(), "127.0.0.1", 0));
  assert.ok(server.isServing());
  assert.is(server.getLoop(), loop);
  const p = port(server);
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", p)));
  await runUntil(loop, () => server._clients.size === 3);
  const closed = server.waitClosed();
  server.close();
  assert.not.ok(server.isServing());
  assert.equal(server.sockets, []);
  server.close(); // idempotent
  // A new connection is refused now.
  try {
    await loop.runUntilComplete(loop.createConnection(() => new Protocol(), "127.0.0.1", p));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ConnectionRefusedError);
  }
  await runUntil(loop, () => true);
  assert.not.ok(closed.done(), "waitClosed waits for the accepted connections");
  server.closeClients();
  server.abortClients();
  await loop.runUntilComplete(closed);
  for (const [, pr] of clients) await runUntil(loop, () => (pr as Recorder).events.includes("lost"));
  await loop.runUntilComplete(server.waitClosed()); // resolves at once now
});

t("startServing: false, then startServing(); serveForever until cancelled", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0, { startServing: false }));
  assert.not.ok(server.isServing());
  await loop.runUntilComplete(server.startServing());
  assert.ok(server.isServing());
  const forever = server.serveForever();
  assert.throws(() => server.serveForever(), isA(RuntimeError, "already being awaited"));
  loop.callLater(0.01, () => forever.cancel());
  try {
    await loop.runUntilComplete(forever);
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).name, "CancelledError");
  }
  assert.not.ok(server.isServing());
  assert.throws(() => server.serveForever(), isA(RuntimeError, "closed"));
});

t("createServer on a list of hosts and on \"\" (all interfaces, dual stack)", async (loop) => {
  const s1 = await loop.runUntilComplete(loop.createServer(() => new Echo(), ["127.0.0.1", "::1"], 0));
  assert.is(s1.sockets.length, 2);
  const fams = s1.sockets.map((s) => s.family).sort();
  assert.equal(fams, [C.AF_INET, C.AF_INET6].sort());
  const v6 = s1.sockets.find((s) => s.family === C.AF_INET6)!;
  assert.is(v6.getsockopt(C.IPPROTO_IPV6, C.IPV6_V6ONLY), 1);
  assert.is(v6.getsockopt(C.SOL_SOCKET, C.SO_REUSEADDR), 1, "reuseAddress on by default");
  const p6 = (v6.getsockname() as [string, number])[1];
  const [tr, pr] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "::1", p6));
  tr.write(enc.encode("six"));
  await runUntil(loop, () => (pr as Recorder).received.length === 3);
  tr.close();
  s1.close();
  await loop.runUntilComplete(s1.waitClosed());
  const s2 = await loop.runUntilComplete(loop.createServer(() => new Echo(), "", 0, { reusePort: true, keepAlive: true }));
  assert.ok(s2.sockets.length >= 1);
  assert.is(s2.sockets[0].getsockopt(C.SOL_SOCKET, C.SO_KEEPALIVE), 1);
  assert.is(s2.sockets[0].getsockopt(C.SOL_SOCKET, C.SO_REUSEPORT), 1);
  s2.close();
  await loop.runUntilComplete(s2.waitClosed());
});

t("a server created on a bound socket, and `await using`", async (loop) => {
  const sock = new Socket(AF_INET, SOCK_STREAM);
  sock.bind(["127.0.0.1", 0]);
  {
    await using server = await loop.runUntilComplete(loop.createServer(() => new Echo(), null, null, { sock }));
    assert.ok(server.isServing());
    const [tr, pr] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server)));
    tr.write(enc.encode("using"));
    await runUntil(loop, () => (pr as Recorder).received.length === 5);
    tr.close();
    await runUntil(loop, () => (pr as Recorder).events.includes("lost"));
    await runUntil(loop, () => server._clients.size === 0);
  }
  assert.is(sock.fileno(), -1, "closed with the server");
});

t("1,000 concurrent connections through one server", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0, { backlog: 1024 }));
  const p = port(server);
  const N = 1000;
  const conns = await loop.runUntilComplete(function* () {
    const futs = [];
    for (let i = 0; i < N; i++) futs.push(loop.createConnection(() => new Recorder(), "127.0.0.1", p));
    const out = [];
    for (const f of futs) out.push(yield* f);
    return out;
  });
  for (let i = 0; i < N; i++) conns[i][0].write(enc.encode(`#${i};`));
  await runUntil(loop, () => conns.every(([, pr], i) => dec.decode((pr as Recorder).received) === `#${i};`), 30);
  for (const [tr] of conns) tr.close();
  await runUntil(loop, () => conns.every(([, pr]) => (pr as Recorder).events.includes("lost")), 30);
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("UNIX stream: stale socket file replaced, path removed on close, abstract names", async (loop) => {
  const path = tempSocketPath("unix");
  // A stale socket file, as a crashed server leaves it.
  const stale = new Socket(C.AF_UNIX, SOCK_STREAM);
  stale.bind(path);
  stale.close();
  const server = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), path));
  assert.is(server.sockets[0].getsockname(), path);
  const [tr, pr] = await loop.runUntilComplete(loop.createUnixConnection(() => new Recorder(), path));
  tr.write(enc.encode("unix"));
  await runUntil(loop, () => (pr as Recorder).received.length === 4);
  assert.is(tr.getExtraInfo("peername"), path);
  tr.close();
  await runUntil(loop, () => (pr as Recorder).events.includes("lost"));
  server.close();
  await loop.runUntilComplete(server.waitClosed());
  const st = new Uint8Array(C.STAT_SIZE);
  assert.ok(libc.stat!(enc.encode(path + "\0"), st) < 0, "the socket file is gone");
  const abstract = "\0tsyncio-abstract-" + Math.random().toString(36).slice(2);
  const s2 = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), abstract));
  const [tr2, pr2] = await loop.runUntilComplete(loop.createUnixConnection(() => new Recorder(), abstract));
  tr2.write(enc.encode("abs"));
  await runUntil(loop, () => (pr2 as Recorder).received.length === 3);
  tr2.close();
  await runUntil(loop, () => (pr2 as Recorder).events.includes("lost"));
  s2.close();
  await loop.runUntilComplete(s2.waitClosed());
  // cleanup: false keeps the path.
  const keep = tempSocketPath("keep");
  const s3 = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), keep, { cleanup: false }));
  s3.close();
  await loop.runUntilComplete(s3.waitClosed());
  assert.is(libc.stat!(enc.encode(keep + "\0"), st), 0, "kept");
  libc.unlink(enc.encode(keep + "\0"));
});

t("happy eyeballs: an address that never answers is overtaken after the delay", async (loop) => {
  // A listener whose backlog is full never completes a handshake: a black hole on loopback.
  const hole = new Socket(AF_INET, SOCK_STREAM);
  hole.bind(["127.0.0.1", 0]);
  hole.listen(0);
  const holeAddr = hole.getsockname() as [string, number];
  const fillers: Socket[] = [];
  for (let i = 0; i < 3; i++) {
    const s = new Socket(AF_INET, SOCK_STREAM);
    s.setblocking(false);
    s.connectEx(holeAddr);
    fillers.push(s);
  }
  const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0));
  const good: [string, number] = ["127.0.0.1", port(server)];
  // A name that resolves to both addresses, the black hole first.
  const realGetaddrinfo = loop.getaddrinfo.bind(loop);
  loop.getaddrinfo = (host, portArg, opts) => {
    if (host !== "two.test") return realGetaddrinfo(host, portArg, opts);
    const f = loop.createFuture<AddrInfo[]>();
    f.setResult([[AF_INET, SOCK_STREAM, 6, "", holeAddr], [AF_INET, SOCK_STREAM, 6, "", good]]);
    return f;
  };
  const t0 = loop.time();
  const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "two.test", 0, { happyEyeballsDelay: 0.1 }));
  const dt = loop.time() - t0;
  assert.equal(tr.getExtraInfo("peername"), good);
  assert.ok(dt >= 0.09 && dt < 2, `connected after ${dt}s`);
  tr.close();
  // Without happy eyeballs, the same list would wait on the black hole; a task cancel ends it cleanly.
  const stuck = loop.createConnection(() => new Recorder(), "two.test", 0);
  loop.callLater(0.05, () => stuck.cancel());
  try {
    await loop.runUntilComplete(stuck);
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).name, "CancelledError");
  }
  for (const s of fillers) s.close();
  hole.close();
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("all addresses failing: one error naming every attempt, or an AggregateError", async (loop) => {
  const dead: [string, number][] = [];
  for (let i = 0; i < 2; i++) {
    const s = new Socket(AF_INET, SOCK_STREAM);
    s.bind(["127.0.0.1", 0]);
    dead.push(s.getsockname() as [string, number]);
    s.close();
  }
  const realGetaddrinfo = loop.getaddrinfo.bind(loop);
  loop.getaddrinfo = (host, p, opts) => {
    if (host !== "dead.test") return realGetaddrinfo(host, p, opts);
    const f = loop.createFuture<AddrInfo[]>();
    f.setResult(dead.map((a) => [AF_INET, SOCK_STREAM, 6, "", a]));
    return f;
  };
  try {
    await loop.runUntilComplete(loop.createConnection(() => new Protocol(), "dead.test", 0));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, OSError);
    assert.match((e as Error).message, "Multiple exceptions");
    for (const [, p] of dead) assert.match((e as Error).message, String(p));
  }
  try {
    await loop.runUntilComplete(loop.createConnection(() => new Protocol(), "dead.test", 0, { allReturnErrors: true }));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, AggregateError);
    assert.instance(e, ExceptionGroup);
    assert.is((e as ExceptionGroup).exceptions, (e as ExceptionGroup).errors);
    assert.is((e as AggregateError).errors.length, 2);
    assert.ok((e as AggregateError).errors.every((x) => x instanceof ConnectionRefusedError));
  }
});

t("localAddr binds the client side", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0));
  const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Protocol(), "127.0.0.1", port(server), { localAddr: ["127.0.0.1", 0] }));
  assert.is((tr.getExtraInfo("sockname") as [string, number])[0], "127.0.0.1");
  tr.close();
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("connectAcceptedSocket and a transport's descriptor is off limits to addReader", async (loop) => {
  const [a, b] = socketpair();
  const [tr, pr] = await loop.runUntilComplete(loop.connectAcceptedSocket(() => new Recorder(), a));
  assert.throws(() => loop.addReader(a.fileno(), () => {}), isA(RuntimeError, "used by transport"));
  assert.throws(() => loop.removeWriter(a), isA(RuntimeError, "used by transport"));
  b.send(enc.encode("hi"));
  await runUntil(loop, () => (pr as Recorder).received.length === 2);
  tr.close();
  b.close();
  await runUntil(loop, () => (pr as Recorder).events.includes("lost"));
});

t("a protocol whose dataReceived throws: reported, transport closed", async (loop) => {
  const seen: Record<string, unknown>[] = [];
  loop.setExceptionHandler((_l, ctx) => void seen.push(ctx));
  const [a, b] = socketpair();
  const rec = new Recorder();
  rec.onData = () => {
    throw new Error("protocol bug");
  };
  await loop.runUntilComplete(loop.connectAcceptedSocket(() => rec, a));
  b.send(enc.encode("x"));
  await runUntil(loop, () => rec.events.includes("lost"));
  assert.is(seen.length, 1);
  assert.match(seen[0].message as string, "dataReceived() call failed");
  assert.is((seen[0].exception as Error).message, "protocol bug");
  assert.ok(seen[0].transport);
  assert.is(seen[0].protocol, rec);
  assert.is((rec.lost as Error).message, "protocol bug");
  b.close();
});

test("bad input: string data, wrong sock types, both host and sock, bad factory", async () => {
  const before = await settledFds();
  const loop = newEventLoop();
  const [a, b] = socketpair();
  try {
    const [tr] = await loop.runUntilComplete(loop.connectAcceptedSocket(() => new Protocol(), a));
    // deno-lint-ignore no-explicit-any
    assert.throws(() => tr.write("text" as any), isA(TypeError, "bytes-like"));
    // deno-lint-ignore no-explicit-any
    assert.throws(() => tr.writelines(["a"] as any), isA(TypeError));
    tr.close();
    // deno-lint-ignore no-explicit-any
    assert.throws(() => loop.createConnection(42 as any, "127.0.0.1", 1), isA(TypeError));
    for (const [fn, re] of [
      [() => loop.createConnection(() => new Protocol(), "127.0.0.1", 1, { sock: b }), "at the same time"],
      [() => loop.createConnection(() => new Protocol()), "no sock specified"],
      [() => loop.createServer(() => new Protocol()), "Neither host/port nor sock"],
    ] as const) {
      try {
        await loop.runUntilComplete(fn() as Future<unknown>);
        assert.unreachable();
      } catch (e) {
        assert.instance(e, ValueError);
        assert.match((e as Error).message, re);
      }
    }
    assert.throws(() => loop.createServer(() => new Protocol(), "127.0.0.1", 0, { ssl: true }), isA(TypeError));
    assert.throws(() => loop.createConnection(() => new Protocol(), "127.0.0.1", 1, { serverHostname: "x" }), isA(ValueError));
    const f = loop.createFuture<void>();
    loop.callSoon(() => f.setResult(undefined));
    await loop.runUntilComplete(f);
  } finally {
    b.close();
    loop.close();
  }
  assert.equal(await settledFds(before), before);
});

test.run();
