/**
 * Server-side SNI: `SSLContext.sniCallback` (Python's `sni_callback`)
 * switching certificates with `sslObject.context`, aborting with an alert,
 * throwing; the server's `sslObject.serverName`. Clients: tsyncio's own and
 * `openssl s_client` (spawned through tsyncio's own subprocess API).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  ALERT_DESCRIPTION_ACCESS_DENIED,
  ALERT_DESCRIPTION_CLOSE_NOTIFY,
  ALERT_DESCRIPTION_HANDSHAKE_FAILURE,
  ALERT_DESCRIPTION_INTERNAL_ERROR,
  ALERT_DESCRIPTION_UNKNOWN_PSK_IDENTITY,
  ALERT_DESCRIPTION_UNRECOGNIZED_NAME,
  DEVNULL,
  type EventLoop,
  PIPE,
  PROTOCOL_TLS_CLIENT,
  PROTOCOL_TLS_SERVER,
  type Server,
  type SNICallback,
  SSLContext,
  SSLError,
  SSLObject,
  STDOUT,
  SubprocessProtocol,
  type SubprocessTransport,
  type Transport,
  ValueError,
} from "../mod.ts";
import { dec, Recorder, runUntil } from "./_net.ts";
import { issueServerCert, makeTestPki, removeTestPki, type TestPki } from "./_tls.ts";
import { port, tlsContexts, tlsTest } from "./_tls_kit.ts";

let pki: TestPki;
let certA: { cert: string; key: string };
let certB: { cert: string; key: string };

test.before(async () => {
  pki = await makeTestPki();
  certA = await issueServerCert(pki, "a-test", ["a.test"]);
  certB = await issueServerCert(pki, "b-test", ["b.test"]);
});

test.after(async () => {
  await removeTestPki(pki);
});

const { serverContext, clientContext } = tlsContexts(() => pki);
const t = tlsTest;

/** A server context (the localhost certificate) whose sniCallback switches to a.test's or b.test's, recording each call. */
function sniContexts(extra?: SNICallback): { main: SSLContext; a: SSLContext; b: SSLContext; calls: [SSLObject, string | null, SSLContext][] } {
  const main = serverContext();
  const a = serverContext(certA.cert, certA.key);
  const b = serverContext(certB.cert, certB.key);
  const calls: [SSLObject, string | null, SSLContext][] = [];
  main.sniCallback = (obj, name, ctx) => {
    calls.push([obj, name, ctx]);
    if (extra) return extra(obj, name, ctx);
    if (name === "a.test") obj.context = a;
    else if (name === "b.test") obj.context = b;
  };
  return { main, a, b, calls };
}

async function listen(loop: EventLoop, ctx: SSLContext, objs: SSLObject[] = []): Promise<Server> {
  return await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.connectionMade = (tr: Transport) => {
      objs.push(tr.getExtraInfo("ssl_object") as SSLObject);
      tr.close();
    };
    return r;
  }, "127.0.0.1", 0, { ssl: ctx }));
}

async function closeServer(loop: EventLoop, server: Server): Promise<void> {
  server.close();
  await loop.runUntilComplete(server.waitClosed());
  // Let the server side's closing handshakes finish.
  for (let i = 0; i < 5; i++) await runUntil(loop, () => true, 1);
}

/** Connect with tsyncio: the client's SSLObject, or the handshake's error. */
async function connect(loop: EventLoop, server: Server, serverHostname: string | null, ctx = clientContext()): Promise<SSLObject | Error> {
  try {
    const [tr, p] = await loop.runUntilComplete(
      loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: ctx, serverHostname }),
    );
    const obj = tr.getExtraInfo("ssl_object") as SSLObject;
    tr.close();
    await runUntil(loop, () => (p as Recorder).lost !== undefined, 10);
    return obj;
  } catch (e) {
    return e as Error;
  }
}

class Collect extends SubprocessProtocol {
  out = "";
  exited = false;
  transport: SubprocessTransport | null = null;
  override connectionMade(tr: SubprocessTransport): void {
    this.transport = tr;
  }
  override pipeDataReceived(_fd: number, data: Uint8Array): void {
    this.out += dec.decode(data);
  }
  override processExited(): void {
    this.exited = true;
  }
}

/** Run `openssl s_client` against the server (stdin /dev/null: it quits after the handshake); its output. */
async function sClient(loop: EventLoop, server: Server, args: string[]): Promise<string> {
  const argv = ["openssl", "s_client", "-connect", `127.0.0.1:${port(server)}`, ...args];
  const [tr, p] = await loop.runUntilComplete(
    loop.subprocessExec(() => new Collect(), argv, { stdin: DEVNULL, stdout: PIPE, stderr: STDOUT }),
  );
  const c = p as Collect;
  await runUntil(loop, () => c.exited, 10);
  assert.ok(c.exited, "s_client did not finish");
  tr.close();
  for (let i = 0; i < 5; i++) await runUntil(loop, () => true, 1);
  return c.out;
}

const cnOf = (obj: SSLObject) => (obj.getpeercert() as { subject: [string, string][][] }).subject.flat().find(([k]) => k === "commonName")?.[1];

// ---- the API ----

test("ALERT_DESCRIPTION_* have Python's values", () => {
  assert.equal(
    [ALERT_DESCRIPTION_CLOSE_NOTIFY, ALERT_DESCRIPTION_HANDSHAKE_FAILURE, ALERT_DESCRIPTION_ACCESS_DENIED, ALERT_DESCRIPTION_INTERNAL_ERROR],
    [0, 40, 49, 80],
  );
  assert.equal([ALERT_DESCRIPTION_UNRECOGNIZED_NAME, ALERT_DESCRIPTION_UNKNOWN_PSK_IDENTITY], [112, 115]);
});

test("sniCallback: null by default, a function or null accepted, anything else a TypeError, never on a client context", () => {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  assert.is(ctx.sniCallback, null);
  const fn = () => null;
  ctx.sniCallback = fn;
  assert.is(ctx.sniCallback, fn);
  for (const bad of [1, "f", {}, true]) {
    assert.throws(() => (ctx.sniCallback = bad as unknown as SNICallback), (e: Error) => e instanceof TypeError, String(bad));
  }
  assert.is(ctx.sniCallback, fn, "a refused value changes nothing");
  ctx.sniCallback = null;
  assert.is(ctx.sniCallback, null);
  const client = new SSLContext(PROTOCOL_TLS_CLIENT);
  assert.throws(() => (client.sniCallback = fn), (e: Error) => e instanceof ValueError);
});

test("SSLObject.context: TypeError for a non-context, ValueError on the client side; serverName", () => {
  const ctx = serverContext();
  const obj = ctx._wrap(true, null);
  try {
    assert.is(obj.context, ctx);
    assert.throws(() => (obj.context = {} as SSLContext), (e: Error) => e instanceof TypeError);
    assert.throws(() => (obj.context = null as unknown as SSLContext), (e: Error) => e instanceof TypeError);
    const other = serverContext(certA.cert, certA.key);
    obj.context = other;
    assert.is(obj.context, other);
    assert.is(obj.serverName, null, "no hello yet");
  } finally {
    obj._free();
  }
  const cctx = clientContext();
  const cobj = cctx._wrap(false, "a.test");
  try {
    assert.is(cobj.serverName, "a.test", "a client's serverName is its serverHostname");
    assert.throws(() => (cobj.context = serverContext()), (e: Error) => e instanceof ValueError);
  } finally {
    cobj._free();
  }
});

// ---- switching certificates ----

t("a tsyncio client asking for a.test, b.test, localhost, or no name gets the certificate sniCallback chose", async (loop) => {
  const { main, a, b, calls } = sniContexts();
  const objs: SSLObject[] = [];
  const server = await listen(loop, main, objs);
  try {
    for (const [name, cn, ctx] of [["a.test", "a.test", a], ["b.test", "b.test", b], ["localhost", "localhost", main]] as const) {
      const obj = await connect(loop, server, name);
      assert.ok(obj instanceof SSLObject, `${name}: ${obj}`);
      assert.is(cnOf(obj as SSLObject), cn);
      assert.is((obj as SSLObject).serverName, name);
      await runUntil(loop, () => objs.length === calls.length, 5);
      const srv = objs[objs.length - 1];
      assert.is(srv.serverName, name, "the server's serverName is the name the client sent");
      assert.is(srv.context, ctx, "the server's SSLObject.context is the one switched to");
      const [cbObj, cbName, cbCtx] = calls[calls.length - 1];
      assert.is(cbObj, srv, "the callback gets the server's SSLObject");
      assert.is(cbName, name);
      assert.is(cbCtx, main, "the callback gets the context it belongs to");
    }
    // No name at all (an IP address is never sent as SNI): the callback still runs, with null.
    const noName = clientContext();
    noName.checkHostname = false;
    const obj = await connect(loop, server, "127.0.0.1", noName);
    assert.ok(obj instanceof SSLObject, String(obj));
    assert.is(cnOf(obj as SSLObject), "localhost");
    assert.is(calls.length, 4);
    assert.is(calls[3][1], null);
    await runUntil(loop, () => objs.length === 4, 5);
    assert.is(objs[3].serverName, null);
    // Unset: no more calls.
    main.sniCallback = null;
    assert.ok((await connect(loop, server, "a.test")) instanceof SSLError, "without the callback a.test gets localhost's certificate");
    assert.is(calls.length, 4);
  } finally {
    await closeServer(loop, server);
  }
});

t("openssl s_client -servername a.test / b.test / none: the subject sniCallback chose", async (loop) => {
  const { main, calls } = sniContexts();
  const server = await listen(loop, main);
  try {
    const outA = await sClient(loop, server, ["-servername", "a.test"]);
    assert.match(outA, /s:\s*O\s*=\s*tsyncio tests, CN\s*=\s*a\.test/, outA);
    const outB = await sClient(loop, server, ["-servername", "b.test"]);
    assert.match(outB, /s:\s*O\s*=\s*tsyncio tests, CN\s*=\s*b\.test/, outB);
    const outNone = await sClient(loop, server, ["-noservername"]);
    assert.match(outNone, /s:\s*O\s*=\s*tsyncio tests, CN\s*=\s*localhost/, outNone);
    assert.equal(calls.map((c) => c[1]), ["a.test", "b.test", null]);
  } finally {
    await closeServer(loop, server);
  }
});

// ---- aborting ----

t("sniCallback returning ALERT_DESCRIPTION_UNRECOGNIZED_NAME: the client sees the alert (tsyncio and s_client)", async (loop) => {
  const { main } = sniContexts((_obj, name) => (name === "a.test" ? null : ALERT_DESCRIPTION_UNRECOGNIZED_NAME));
  const errors: unknown[] = [];
  loop.setExceptionHandler((_l, c) => errors.push(c));
  const server = await listen(loop, main);
  try {
    const e = await connect(loop, server, "x.test");
    assert.ok(e instanceof SSLError, String(e));
    assert.match((e as SSLError).message, /UNRECOGNIZED_NAME|unrecognized name/i);
    const out = await sClient(loop, server, ["-servername", "nope.test"]);
    assert.match(out, /unrecognized name|alert number 112/, out);
    const ok = await connect(loop, server, "localhost", clientContext());
    assert.ok(ok instanceof SSLError, "localhost is refused too");
    assert.ok((await sClient(loop, server, ["-servername", "a.test"])).includes("CN = localhost"), "a.test goes on with the default certificate");
    assert.is(errors.length, 0, "a returned alert is no error of the loop");
  } finally {
    await closeServer(loop, server);
  }
});

t("sniCallback returning ALERT_DESCRIPTION_ACCESS_DENIED: s_client sees access denied", async (loop) => {
  const { main } = sniContexts(() => ALERT_DESCRIPTION_ACCESS_DENIED);
  const server = await listen(loop, main);
  try {
    const out = await sClient(loop, server, ["-servername", "a.test"]);
    assert.match(out, /access denied|alert number 49/, out);
  } finally {
    await closeServer(loop, server);
  }
});

t("a throwing sniCallback: handshake_failure alert (as Python), the exception handler is called, the connection closes, nothing leaks", async (loop) => {
  const boom = new Error("boom in sniCallback");
  const { main } = sniContexts(() => {
    throw boom;
  });
  const contexts: Record<string, unknown>[] = [];
  loop.setExceptionHandler((_l, c) => contexts.push(c));
  const server = await listen(loop, main);
  try {
    const e = await connect(loop, server, "a.test");
    assert.ok(e instanceof SSLError, String(e));
    assert.match((e as SSLError).message, /HANDSHAKE_FAILURE|handshake failure/i);
    await runUntil(loop, () => contexts.length > 0, 5);
    assert.is(contexts.length, 1);
    assert.is(contexts[0].exception, boom);
    assert.match(String(contexts[0].message), /sniCallback/);
    const out = await sClient(loop, server, ["-servername", "b.test"]);
    assert.match(out, /handshake failure|alert number 40/, out);
    assert.is(contexts.length, 2);
    // A bad return value is reported the same way, with an internal_error alert (as Python).
    main.sniCallback = () => "nope" as unknown as number;
    const e2 = await connect(loop, server, "a.test");
    assert.ok(e2 instanceof SSLError, String(e2));
    assert.match((e2 as SSLError).message, /INTERNAL_ERROR|internal error/i);
    await runUntil(loop, () => contexts.length > 2, 5);
    assert.ok(contexts[2].exception instanceof TypeError);
  } finally {
    await closeServer(loop, server);
  }
});

test.run();
