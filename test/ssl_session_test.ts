/**
 * TLS sessions: SSLObject.session / sessionReused, SSLSession, resumption
 * with TLS 1.3 tickets and TLS 1.2 session ids, against tsyncio's own server
 * and `openssl s_server`; the cost of a resumed handshake; no leak over a
 * thousand resumed connections.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  type EventLoop,
  OP_NO_TICKET,
  type Server,
  SSLContext,
  type SSLObject,
  SSLSession,
  TLSVersion,
  type Transport,
  openConnection,
  ValueError,
} from "../mod.ts";
import { settledFds } from "./_helpers.ts";
import { dec, enc, Recorder, runUntil } from "./_net.ts";
import { makeTestPki, removeTestPki, type TestPki } from "./_tls.ts";
import { tlsContexts, port, tlsTest } from "./_tls_kit.ts";
import { sServer, stopServer } from "./_openssl.ts";
import { _liveSslObjects } from "../src/ssl.ts";
import { SSLProtocol } from "../src/sslproto.ts";

let pki: TestPki;

test.before(async () => {
  pki = await makeTestPki();
  // Let the first descriptor count settle (the hosts' helper threads start with the first loop).
  await settledFds();
  await new Promise((r) => setTimeout(r, 300));
});

test.after(async () => {
  await removeTestPki(pki);
});

const { serverContext, clientContext } = tlsContexts(() => pki);


const t = tlsTest;

/** A server that greets each client with "hi" (so that TLS 1.3 tickets are read with it) and echoes. */
async function greetingServer(loop: EventLoop, ctx: SSLContext): Promise<Server> {
  return await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.onData = (d) => r.transport!.write(d);
    const made = r.connectionMade.bind(r);
    r.connectionMade = (tr) => {
      made(tr);
      tr.write(enc.encode("hi"));
    };
    return r;
  }, "127.0.0.1", 0, { ssl: ctx }));
}

/**
 * One client connection offering `session`: waits for `greeting`, closes,
 * and returns the SSLObject (whose session and sessionReused stay readable).
 */
async function connect(loop: EventLoop, p: number, ctx: SSLContext, session: SSLSession | null, greeting = "hi"): Promise<SSLObject> {
  const app = new Recorder();
  const waiter = loop.createFuture<void>();
  const sp = new SSLProtocol(loop, app, ctx, waiter, false, "localhost", { session });
  await loop.runUntilComplete(loop.createConnection(() => sp, "127.0.0.1", p));
  await loop.runUntilComplete(waiter);
  await runUntil(loop, () => dec.decode(app.received).includes(greeting), 10);
  const obj = (app.transport as Transport).getExtraInfo("ssl_object") as SSLObject;
  app.transport!.close();
  await runUntil(loop, () => app.lost !== undefined, 10);
  return obj;
}

t("TLS 1.3: the session (with its ticket) from the first connection is resumed by the next ones", async (loop) => {
  const sctx = serverContext();
  const server = await greetingServer(loop, sctx);
  const ctx = clientContext();
  const first = await connect(loop, port(server), ctx, null);
  assert.is(first.version(), "TLSv1.3");
  assert.is(first.sessionReused, false);
  const session = first.session!;
  assert.ok(session instanceof SSLSession);
  assert.ok(session.hasTicket, "TLS 1.3 sessions come as tickets");
  assert.ok(session.isResumable);
  assert.ok(session.timeout > 0);
  assert.ok(Math.abs(session.time - Date.now() / 1000) < 60, `time ${session.time}`);
  assert.ok(session.equals(session) && session.equals(first.session));
  for (let i = 0; i < 3; i++) {
    const again = await connect(loop, port(server), ctx, session);
    assert.is(again.sessionReused, true, `connection ${i + 2} resumed`);
    assert.is(again.getpeercert()!.subject !== undefined, true, "the peer certificate is known after resumption");
  }
  // A fresh context cannot resume it, and a connection without a session makes a new one.
  assert.is((await connect(loop, port(server), ctx, null)).sessionReused, false);
  const stats = sctx.sessionStats();
  assert.is(stats.acceptGood, 5);
  assert.is(stats.hits, 3);
  assert.is(ctx.sessionStats().connectGood, 5);
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("createConnection/openConnection resume with the sslSession option; misuse is a clear error", async (loop) => {
  const sctx = serverContext();
  const server = await greetingServer(loop, sctx);
  const ctx = clientContext();
  const first = await connect(loop, port(server), ctx, null);
  const session = first.session!;
  // The loop's own option.
  const app = new Recorder();
  await loop.runUntilComplete(loop.createConnection(() => app, "127.0.0.1", port(server), { ssl: ctx, serverHostname: "localhost", sslSession: session }));
  await runUntil(loop, () => dec.decode(app.received).includes("hi"), 10);
  assert.is((app.transport!.getExtraInfo("ssl_object") as SSLObject).sessionReused, true);
  app.transport!.close();
  await runUntil(loop, () => app.lost !== undefined, 10);
  // Streams pass it through.
  await loop.runUntilComplete(async () => {
    const [reader, writer] = await openConnection("127.0.0.1", port(server), { ssl: ctx, serverHostname: "localhost", sslSession: session });
    assert.is(dec.decode(await reader.readexactly(2)), "hi");
    assert.is((writer.getExtraInfo("ssl_object") as SSLObject).sessionReused, true);
    writer.close();
    await writer.waitClosed();
  });
  assert.throws(() => loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { sslSession: session }), (e: Error) => e instanceof ValueError && /only meaningful with ssl/.test(e.message));
  assert.throws(
    () => loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: ctx, sslSession: "x" as unknown as SSLSession }),
    (e: Error) => e instanceof TypeError && /sslSession must be an SSLSession/.test(e.message),
  );
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("TLS 1.2: session ids (server without tickets) and tickets are resumed", async (loop) => {
  for (const tickets of [false, true]) {
    const sctx = serverContext();
    if (!tickets) sctx.options = (sctx.options | OP_NO_TICKET) >>> 0;
    const server = await greetingServer(loop, sctx);
    const ctx = clientContext();
    ctx.maximumVersion = TLSVersion.TLSv1_2;
    const first = await connect(loop, port(server), ctx, null);
    assert.is(first.version(), "TLSv1.2");
    const session = first.session!;
    assert.is(session.hasTicket, tickets);
    if (!tickets) assert.is(session.id.length, 32, "a session id");
    const again = await connect(loop, port(server), ctx, session);
    assert.is(again.sessionReused, true);
    assert.ok(again.session!.equals(session), "the same session id");
    assert.is(sctx.sessionStats().hits, 1);
    server.close();
    await loop.runUntilComplete(server.waitClosed());
  }
});

t("session setter: TypeError, other context, server side, after the handshake (Python's messages)", async (loop) => {
  const server = await greetingServer(loop, serverContext());
  const ctx = clientContext();
  const first = await connect(loop, port(server), ctx, null);
  const session = first.session!;
  assert.throws(() => (first.session = "x" as unknown as SSLSession), (e: Error) => e instanceof TypeError);
  assert.throws(() => (first.session = session), (e: Error) => e instanceof ValueError && /after handshake/.test(e.message));
  const other = clientContext()._wrap(false, "localhost");
  assert.throws(() => (other.session = session), (e: Error) => e instanceof ValueError && /different SSLContext/.test(e.message));
  other._free();
  const sctx = serverContext();
  const serverSide = sctx._wrap(true, null);
  const foreign = ctx._wrap(false, "localhost");
  foreign.session = session; // fine before the handshake
  assert.is(foreign.sessionReused, false);
  foreign._free();
  assert.throws(() => (serverSide.session = session), (e: Error) => e instanceof ValueError);
  serverSide._free();
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

t("openssl s_server: TLS 1.3 ticket and TLS 1.2 session id resumed", async (loop) => {
  for (const args of [[], ["-tls1_2", "-no_ticket"]]) {
    const srv = await sServer(loop, pki, ["-naccept", "2", ...args]);
    const ctx = clientContext();
    // s_server sends what it reads on stdin: a greeting that comes after the tickets.
    srv.send("hello\n");
    const first = await connect(loop, srv.port, ctx, null, "hello");
    const session = first.session!;
    assert.is(session.hasTicket, args.length === 0, String(args));
    srv.send("again\n");
    const again = await connect(loop, srv.port, ctx, session, "again");
    assert.is(again.sessionReused, true, `resumed (${args.join(" ") || "TLS 1.3"})`);
    await runUntil(loop, () => srv.exited, 10);
    // s_server's statistics, printed as it exits.
    await runUntil(loop, () => /cache full overflows/.test(srv.out), 5).catch(() => {});
    assert.match(srv.out, /\b1 session cache hits/);
    assert.match(srv.out, /\b2 server accepts that finished/);
    await stopServer(loop, srv);
  }
});

t("getChannelBinding(\"tls-unique\"): the same 12 bytes on both sides, full and resumed (TLS 1.2); securityLevel", async (loop) => {
  const serverSide: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    serverSide.push(r);
    r.onData = (d) => r.transport!.write(d);
    return r;
  }, "127.0.0.1", 0, { ssl: serverContext() }));
  const ctx = clientContext();
  ctx.maximumVersion = TLSVersion.TLSv1_2;
  assert.is(ctx.securityLevel, 2);
  let session: SSLSession | null = null;
  for (const resumed of [false, true]) {
    const app = new Recorder();
    const waiter = loop.createFuture<void>();
    const sp = new SSLProtocol(loop, app, ctx, waiter, false, "localhost", { session });
    await loop.runUntilComplete(loop.createConnection(() => sp, "127.0.0.1", port(server)));
    await loop.runUntilComplete(waiter);
    app.transport!.write(enc.encode("ping"));
    await runUntil(loop, () => app.received.length === 4, 10);
    const mine = app.transport!.getExtraInfo("ssl_object") as SSLObject;
    const theirs = serverSide[serverSide.length - 1].transport!.getExtraInfo("ssl_object") as SSLObject;
    assert.is(mine.sessionReused, resumed);
    const a = mine.getChannelBinding("tls-unique")!, b = theirs.getChannelBinding()!;
    assert.is(a.length, 12);
    assert.equal(Array.from(a), Array.from(b), `resumed: ${resumed}`);
    assert.throws(() => mine.getChannelBinding("tls-server-end-point"), (e: Error) => e instanceof ValueError && /not implemented/.test(e.message));
    session = mine.session;
    app.transport!.close();
    await runUntil(loop, () => app.lost !== undefined, 10);
    assert.is(mine.getChannelBinding(), null, "the connection is gone");
  }
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

/** A handshake between two SSLObjects through memory only (no sockets, no loop): the TLS work alone. */
function memoryHandshake(c: SSLObject, s: SSLObject, buf: Uint8Array): void {
  let cd = false, sd = false;
  for (let i = 0; i < 20 && !(cd && sd); i++) {
    if (!cd) cd = c._handshake();
    for (let n; (n = c._drainOut(buf)) > 0;) s._feed(buf, n);
    if (!sd) sd = s._handshake();
    for (let n; (n = s._drainOut(buf)) > 0;) c._feed(buf, n);
  }
  if (!cd || !sd) throw new Error("the handshake did not finish");
  // TLS 1.3: the server's tickets follow its handshake; reading takes them in.
  c._read(buf, 0, buf.byteLength);
}

test("a resumed TLS 1.3 handshake costs less than a full one (memory BIOs, both sides)", () => {
  const sctx = serverContext(), ctx = clientContext();
  const buf = new Uint8Array(new ArrayBuffer(65536));
  let kept: SSLSession | null = null;
  const one = (session: SSLSession | null): SSLObject => {
    const c = ctx._wrap(false, "localhost"), s = sctx._wrap(true, null);
    if (session) c.session = session;
    memoryHandshake(c, s, buf);
    if (kept === null) kept = c.session;
    // close_notify, as a transport's close() sends: OpenSSL makes the session of a
    // connection freed without it not resumable.
    c._shutdown();
    s._shutdown();
    s._free();
    c._free();
    return c;
  };
  one(null);
  const session = kept!;
  const time = (n: number, sess: SSLSession | null) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      if (one(sess).sessionReused !== (sess !== null)) throw new Error("resumption did not go as expected");
    }
    return (performance.now() - t0) / n;
  };
  time(20, null);
  time(20, session);
  const full = time(200, null), resumed = time(200, session);
  console.log(`# TLS 1.3 handshake, client + server, memory BIOs, ECDSA P-256: full ${full.toFixed(3)} ms, resumed ${resumed.toFixed(3)} ms (${(full / resumed).toFixed(2)}x cheaper)`);
  assert.ok(resumed < full, `resumed ${resumed} ms < full ${full} ms`);
});

t("resumed connections over loopback: timing, and 1,000 of them leak no descriptor, SSL or BIO", async (loop) => {
  const server = await greetingServer(loop, serverContext());
  const ctx = clientContext();
  const session = (await connect(loop, port(server), ctx, null)).session!;
  const time = async (n: number, s: SSLSession | null) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const obj = await connect(loop, port(server), ctx, s);
      assert.is(obj.sessionReused, s !== null);
    }
    return (performance.now() - t0) / n;
  };
  const full = await time(50, null);
  const resumed = await time(50, session);
  console.log(`# TLS 1.3 connection over loopback (connect, handshake, 2 bytes, close; both sides in-process): full ${full.toFixed(2)} ms, resumed ${resumed.toFixed(2)} ms`);
  const live = _liveSslObjects();
  for (let i = 0; i < 1000; i++) {
    const obj = await connect(loop, port(server), ctx, session);
    if (!obj.sessionReused) throw new Error(`connection ${i} not resumed`);
  }
  const after = _liveSslObjects();
  assert.equal([after.ssl, after.bio], [live.ssl, live.bio]);
  server.close();
  await loop.runUntilComplete(server.waitClosed());
});

test.run();
