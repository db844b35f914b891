/**
 * The rest of Python's ssl module that servers and clients use: the key log
 * (`keylogFilename`, SSLKEYLOGFILE), TLS 1.3 post-handshake client
 * authentication, `sharedCiphers()`, `setEcdhCurve()` and `loadDhParams()`.
 * Peers: tsyncio itself and OpenSSL's `s_server`/`s_client`, spawned through
 * tsyncio's own subprocess API.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  createDefaultContext,
  DEVNULL,
  type EventLoop,
  FileNotFoundError,
  OSError,
  PIPE,
  PROTOCOL_TLS_SERVER,
  type Server,
  SSLCertVerificationError,
  SSLContext,
  SSLError,
  SSLObject,
  STDOUT,
  type Transport,
  TLSVersion,
  ValueError,
} from "../mod.ts";
import { C, libc } from "../src/native.ts";
import { dec, enc, Recorder, runUntil } from "./_net.ts";
import { OpensslServer, sServer, stopServer } from "./_openssl.ts";
import { makeTestPki, removeTestPki, type TestPki } from "./_tls.ts";
import { port, tlsContexts, tlsTest } from "./_tls_kit.ts";

let pki: TestPki;

test.before(async () => {
  pki = await makeTestPki();
});

test.after(async () => {
  await removeTestPki(pki);
});

const { serverContext, clientContext } = tlsContexts(() => pki);
const t = tlsTest;

/** RFC 7919's ffdhe2048 group, as `openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048` writes it. */
const FFDHE2048 = `-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
`;
/** Parameters of another kind: the P-256 curve (`openssl ecparam -name prime256v1`). */
const EC_PARAMS = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n";

/** Write `text` to a file in the test PKI's directory: its path. */
async function pkiFile(name: string, text: string): Promise<string> {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(`${pki.dir}/${name}`, text);
  return `${pki.dir}/${name}`;
}

async function readText(path: string): Promise<string> {
  const { readFileSync } = await import("node:fs");
  return readFileSync(path, "latin1");
}

/** A TLS server whose connections are kept (their SSLObjects and protocols) and echo what they get. */
async function listen(loop: EventLoop, ctx: SSLContext): Promise<{ server: Server; conns: { obj: SSLObject; proto: Recorder }[] }> {
  const conns: { obj: SSLObject; proto: Recorder }[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.connectionMade = (tr: Transport) => {
      r.transport = tr;
      conns.push({ obj: tr.getExtraInfo("ssl_object") as SSLObject, proto: r });
    };
    r.onData = (d) => r.transport!.write(d);
    return r;
  }, "127.0.0.1", 0, { ssl: ctx }));
  return { server, conns };
}

async function closeServer(loop: EventLoop, server: Server): Promise<void> {
  server.close();
  await loop.runUntilComplete(server.waitClosed());
  for (let i = 0; i < 5; i++) await runUntil(loop, () => true, 1);
}

/** Connect with tsyncio, send `data`, wait for it echoed, close: the client's SSLObject. */
async function roundTrip(loop: EventLoop, p: number, ctx: SSLContext, data = "ping", expect = data): Promise<SSLObject> {
  const [tr, pr] = await loop.runUntilComplete(
    loop.createConnection(() => new Recorder(), "127.0.0.1", p, { ssl: ctx, serverHostname: "localhost" }),
  );
  const r = pr as Recorder;
  tr.write(enc.encode(data));
  await runUntil(loop, () => dec.decode(r.received) === expect, 10);
  assert.is(dec.decode(r.received), expect);
  const obj = tr.getExtraInfo("ssl_object") as SSLObject;
  tr.close();
  await runUntil(loop, () => r.lost !== undefined, 10);
  return obj;
}

/** A child whose output is collected (and whose stdin, when a pipe, takes lines). */
const Collect = OpensslServer;
type Collect = OpensslServer;

/** Start `openssl s_client` against `p`; stdin a pipe when `interactive`, else /dev/null (it quits after the handshake). */
async function sClient(loop: EventLoop, p: number, args: string[], interactive = false): Promise<Collect> {
  const argv = ["openssl", "s_client", "-connect", `127.0.0.1:${p}`, "-CAfile", pki.caFile, ...args];
  const [, c] = await loop.runUntilComplete(
    loop.subprocessExec(() => new Collect(), argv, { stdin: interactive ? PIPE : DEVNULL, stdout: PIPE, stderr: STDOUT }),
  );
  return c as Collect;
}

async function finish(loop: EventLoop, c: Collect): Promise<string> {
  if (!c.exited) c.transport!.getPipeTransport(0)?.close();
  await runUntil(loop, () => c.exited, 10);
  if (!c.exited) c.transport!.kill();
  await runUntil(loop, () => c.exited, 5);
  assert.ok(c.exited, "s_client did not finish");
  c.transport!.close();
  for (let i = 0; i < 5; i++) await runUntil(loop, () => true, 1);
  return c.out;
}

/** Key log lines (without the header comment) grouped as label → set of "random secret". */
function keylogLines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

const TLS13_LABELS = [
  "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
  "CLIENT_TRAFFIC_SECRET_0",
  "EXPORTER_SECRET",
  "SERVER_HANDSHAKE_TRAFFIC_SECRET",
  "SERVER_TRAFFIC_SECRET_0",
];

/** Descriptors of this process open on the file at `path` (matched by device and inode). */
function fdsOn(path: string): number[] {
  const st = new Uint8Array(new ArrayBuffer(C.STAT_SIZE));
  const cpath = enc.encode(path + "\0");
  const buf = new Uint8Array(new ArrayBuffer(cpath.length));
  buf.set(cpath);
  if (libc.stat!(buf, st) !== 0) return [];
  const view = new DataView(st.buffer);
  const id = (v: DataView) => `${v.getBigUint64(C.STAT_DEV_OFFSET, true)}:${v.getBigUint64(C.STAT_INO_OFFSET, true)}`;
  const want = id(view);
  const out: number[] = [];
  for (let fd = 0; fd < 1024; fd++) {
    if (libc.fstat(fd, st) === 0 && id(view) === want) out.push(fd);
  }
  return out;
}

// ---- key log ----

test("keylogFilename: null by default; a path string or null; a bad path is an OSError, anything else a TypeError", () => {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  assert.is(ctx.keylogFilename, null);
  for (const bad of [1, {}, true, new Uint8Array(2)]) {
    assert.throws(() => (ctx.keylogFilename = bad as unknown as string), (e: Error) => e instanceof TypeError, String(bad));
  }
  assert.throws(
    () => (ctx.keylogFilename = `${pki.dir}/no/such/dir/keys.log`),
    (e: Error) => e instanceof FileNotFoundError && (e as OSError).errno === 2,
  );
  assert.throws(() => (ctx.keylogFilename = pki.dir), (e: Error) => e instanceof OSError && (e as OSError).code === "EISDIR");
  assert.throws(() => (ctx.keylogFilename = "a\0b"), (e: Error) => e instanceof ValueError);
  assert.is(ctx.keylogFilename, null, "a refused value changes nothing");
});

t("keylogFilename: a header for a new file, then each TLS 1.3 secret once per connection, as s_server logs them", async (loop) => {
  const ours = `${pki.dir}/ours.log`, theirs = `${pki.dir}/theirs.log`;
  const ctx = clientContext();
  ctx.keylogFilename = ours;
  assert.is(ctx.keylogFilename, ours);
  assert.is(await readText(ours), "# TLS secrets log file, generated by OpenSSL / tsyncio\n");
  const srv = await sServer(loop, pki, ["-keylogfile", theirs, "-rev"]);
  try {
    await roundTrip(loop, srv.port, ctx, "olleh\n", "hello\n");
  } finally {
    await stopServer(loop, srv);
  }
  const mine = keylogLines(await readText(ours));
  assert.equal(mine.map((l) => l.split(" ")[0]).sort(), TLS13_LABELS);
  for (const line of mine) assert.match(line, /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64,96}$/);
  assert.is(new Set(mine.map((l) => l.split(" ")[1])).size, 1, "one client random for the connection");
  // The peer derived the very same secrets: Wireshark could decrypt the capture with either file.
  assert.equal(mine.sort(), keylogLines(await readText(theirs)).sort());
});

t("keylogFilename: TLS 1.2 logs one CLIENT_RANDOM line; setting null stops logging and closes the file; a second set appends", async (loop) => {
  const path = `${pki.dir}/tls12.log`;
  const server = serverContext();
  server.maximumVersion = TLSVersion.TLSv1_2;
  server.keylogFilename = path;
  const { server: s } = await listen(loop, server);
  try {
    await roundTrip(loop, port(s), clientContext());
    const lines = keylogLines(await readText(path));
    assert.is(lines.length, 1);
    assert.match(lines[0], /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$/);
    assert.is(fdsOn(path).length, 1, "the file is open while logging");
    server.keylogFilename = null;
    assert.equal(fdsOn(path), [], "the file is closed");
    await roundTrip(loop, port(s), clientContext());
    assert.is(keylogLines(await readText(path)).length, 1, "nothing logged once off");
    server.keylogFilename = path;
    await roundTrip(loop, port(s), clientContext());
    const text = await readText(path);
    assert.is(keylogLines(text).length, 2);
    assert.is(text.split("\n").filter((l) => l.startsWith("#")).length, 1, "no second header for a file that has content");
    server.keylogFilename = null;
  } finally {
    await closeServer(loop, s);
  }
});

test("createDefaultContext takes keylogFilename from SSLKEYLOGFILE (and ignores it when unset or empty)", async () => {
  const path = `${pki.dir}/env.log`;
  // Set where libc's getenv sees it. Bun's process.env does not reach libc's environment,
  // so there a child Bun process is started with the variable in its environment instead.
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.Bun) {
    const script = `${pki.dir}/env_child.ts`;
    const { writeFileSync } = await import("node:fs");
    const mod = new URL("../mod.ts", import.meta.url).pathname;
    writeFileSync(script, `import { createDefaultContext } from ${JSON.stringify(mod)};\nconsole.log(JSON.stringify(createDefaultContext().keylogFilename));\n`);
    const run = (env: Record<string, string>) => {
      const r = g.Bun.spawnSync([process.execPath, script], { env: { PATH: process.env.PATH ?? "", ...env } });
      return JSON.parse(new TextDecoder().decode(r.stdout).trim());
    };
    assert.is(run({ SSLKEYLOGFILE: path }), path);
    assert.is(run({ SSLKEYLOGFILE: "" }), null);
    assert.is(run({}), null);
  } else {
    const setEnv = (v: string | undefined) => {
      if (g.Deno) v === undefined ? g.Deno.env.delete("SSLKEYLOGFILE") : g.Deno.env.set("SSLKEYLOGFILE", v);
      else if (v === undefined) delete process.env.SSLKEYLOGFILE;
      else process.env.SSLKEYLOGFILE = v;
    };
    try {
      setEnv(path);
      assert.is(createDefaultContext().keylogFilename, path);
      setEnv("");
      assert.is(createDefaultContext().keylogFilename, null);
      setEnv(undefined);
      assert.is(createDefaultContext().keylogFilename, null);
    } finally {
      setEnv(undefined);
    }
  }
  assert.ok((await readText(path)).startsWith("# TLS secrets log file"));
});

// ---- post-handshake authentication ----

test("postHandshakeAuth: false by default, booleans only", () => {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  assert.is(ctx.postHandshakeAuth, false);
  ctx.postHandshakeAuth = true;
  assert.is(ctx.postHandshakeAuth, true);
  for (const bad of [1, "yes", null]) {
    assert.throws(() => (ctx.postHandshakeAuth = bad as unknown as boolean), (e: Error) => e instanceof TypeError, String(bad));
  }
});

/** A server context that verifies client certificates, only after the handshake. */
function phaServer(): SSLContext {
  const ctx = serverContext();
  ctx.loadVerifyLocations(pki.caFile);
  ctx.verifyMode = 2; // CERT_REQUIRED
  ctx.postHandshakeAuth = true;
  return ctx;
}

const cnOf = (cert: unknown) => (cert as { subject: [string, string][][] }).subject.flat().find(([k]) => k === "commonName")?.[1];

t("post-handshake auth, tsyncio on both sides: no certificate after the handshake, the client's once the server asks", async (loop) => {
  const { server, conns } = await listen(loop, phaServer());
  const ctx = clientContext();
  ctx.loadCertChain(pki.clientCert, pki.clientKey);
  ctx.postHandshakeAuth = true;
  const [tr, pr] = await loop.runUntilComplete(
    loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: ctx, serverHostname: "localhost" }),
  );
  const r = pr as Recorder;
  try {
    tr.write(enc.encode("one"));
    await runUntil(loop, () => dec.decode(r.received) === "one", 10);
    const obj = conns[0].obj;
    assert.is(obj.version(), "TLSv1.3");
    assert.is(obj.getpeercert(), null, "no client certificate in the handshake");
    obj.verifyClientPostHandshake();
    // The request goes out at once; the client answers from its read path.
    await runUntil(loop, () => obj.getpeercert() !== null, 10);
    assert.is(cnOf(obj.getpeercert()), "tsyncio test client");
    tr.write(enc.encode("two"));
    await runUntil(loop, () => dec.decode(r.received) === "onetwo", 10);
    assert.is(dec.decode(r.received), "onetwo", "data flows on after the exchange");
  } finally {
    tr.close();
    await runUntil(loop, () => r.lost !== undefined, 10);
    await closeServer(loop, server);
  }
});

t("post-handshake auth with openssl s_client -enable_pha: the server gets s_client's certificate", async (loop) => {
  const { server, conns } = await listen(loop, phaServer());
  const c = await sClient(loop, port(server), ["-enable_pha", "-cert", pki.clientCert, "-key", pki.clientKey, "-servername", "localhost"], true);
  try {
    await runUntil(loop, () => conns.length === 1 && conns[0].obj.version() !== null, 10);
    c.send("hello\n");
    await runUntil(loop, () => dec.decode(conns[0].proto.received) === "hello\n", 10);
    const obj = conns[0].obj;
    assert.is(obj.getpeercert(), null);
    obj.verifyClientPostHandshake();
    await runUntil(loop, () => obj.getpeercert() !== null, 10);
    assert.is(cnOf(obj.getpeercert()), "tsyncio test client");
  } finally {
    await finish(loop, c);
    await closeServer(loop, server);
  }
});

t("post-handshake auth refused: a client that did not offer it, or TLS 1.2, is an SSLError; a closed connection a ValueError", async (loop) => {
  const tls12 = phaServer();
  const { server, conns } = await listen(loop, phaServer());
  tls12.maximumVersion = TLSVersion.TLSv1_2;
  const { server: server12, conns: conns12 } = await listen(loop, tls12);
  try {
    // No postHandshakeAuth on the client: the server's request is refused before anything is sent.
    const noPha = clientContext();
    const [tr, pr] = await loop.runUntilComplete(
      loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: noPha, serverHostname: "localhost" }),
    );
    await runUntil(loop, () => conns.length === 1, 10);
    assert.throws(() => conns[0].obj.verifyClientPostHandshake(), (e: Error) => e instanceof SSLError && /EXTENSION_NOT_RECEIVED/.test(e.message));
    tr.write(enc.encode("still fine"));
    await runUntil(loop, () => dec.decode((pr as Recorder).received) === "still fine", 10);
    assert.is(dec.decode((pr as Recorder).received), "still fine", "the refused request did not break the connection");
    tr.close();
    await runUntil(loop, () => (pr as Recorder).lost !== undefined, 10);
    assert.throws(() => conns[0].obj.verifyClientPostHandshake(), (e: Error) => e instanceof ValueError);
    // TLS 1.2 has no post-handshake authentication.
    const ctx = clientContext();
    ctx.postHandshakeAuth = true;
    ctx.loadCertChain(pki.clientCert, pki.clientKey);
    const obj = await roundTrip(loop, port(server12), ctx);
    assert.is(obj.version(), "TLSv1.2");
    // (A TLS 1.2 server with verifyMode CERT_REQUIRED asks during the handshake instead.)
    assert.is(cnOf(conns12[0].obj.getpeercert()), "tsyncio test client");
  } finally {
    await closeServer(loop, server);
    await closeServer(loop, server12);
  }
});

t("verifyClientPostHandshake on a TLS 1.2 connection: SSLError WRONG_SSL_VERSION", async (loop) => {
  const ctx = serverContext();
  ctx.maximumVersion = TLSVersion.TLSv1_2;
  const { server, conns } = await listen(loop, ctx);
  const [tr, pr] = await loop.runUntilComplete(
    loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: clientContext(), serverHostname: "localhost" }),
  );
  try {
    await runUntil(loop, () => conns.length === 1, 10);
    assert.throws(() => conns[0].obj.verifyClientPostHandshake(), (e: Error) => e instanceof SSLError && /WRONG_SSL_VERSION/.test(e.message));
  } finally {
    tr.close();
    await runUntil(loop, () => (pr as Recorder).lost !== undefined, 10);
    await closeServer(loop, server);
  }
});

// ---- shared ciphers ----

t("sharedCiphers: on the server, its ciphers the client offered, in its order; null on the client", async (loop) => {
  const { server, conns } = await listen(loop, serverContext());
  const c = await sClient(loop, port(server), ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-SHA"], true);
  try {
    await runUntil(loop, () => conns.length === 1, 10);
    const shared = conns[0].obj.sharedCiphers()!;
    // SHA-1 suites are outside Python's cipher list; the server prefers AES-256.
    assert.equal(shared, [
      ["ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2", 256],
      ["ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128],
    ]);
    assert.equal(conns[0].obj.cipher(), shared[0]);
  } finally {
    await finish(loop, c);
  }
  const obj = await roundTrip(loop, port(server), clientContext());
  assert.is(obj.sharedCiphers(), null, "a client has no view of the server's list");
  assert.is(conns[1].obj.sharedCiphers(), null, "a connection that is gone");
  await closeServer(loop, server);
});

// ---- internationalized server names ----

t("serverHostname: IDNA A-labels on the wire (sniCallback sees them), ASCII as given; bad names are ValueErrors", async (loop) => {
  const ctx = serverContext();
  const seen: (string | null)[] = [];
  ctx.sniCallback = (_obj, name) => void seen.push(name);
  const { server } = await listen(loop, ctx);
  const client = clientContext();
  client.checkHostname = false;
  client.verifyMode = 0; // CERT_NONE: the names below are not on the certificate
  try {
    for (const [given, wire] of [["bücher.localhost", "xn--bcher-kva.localhost"], ["Example.TEST", "Example.TEST"], ["пример.испытание.", "xn--e1afmkfd.xn--80akhbyknj4f."]]) {
      const [tr, pr] = await loop.runUntilComplete(
        loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: client, serverHostname: given }),
      );
      assert.is((tr.getExtraInfo("ssl_object") as SSLObject).serverHostname, wire);
      tr.close();
      await runUntil(loop, () => (pr as Recorder).lost !== undefined, 10);
    }
    assert.equal(seen, ["xn--bcher-kva.localhost", "Example.TEST", "xn--e1afmkfd.xn--80akhbyknj4f."]);
    for (const bad of ["a..b", "bücher..x", "x".repeat(64) + ".com", "ü".repeat(70) + ".com"]) {
      await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: client, serverHostname: bad }))
        .then(() => assert.unreachable(bad), (e) => assert.ok(e instanceof ValueError, `${bad}: ${e}`));
    }
  } finally {
    await closeServer(loop, server);
  }
});

// ---- ECDH curves and DH parameters ----

test("setEcdhCurve: a known short name, else ValueError; a string only", () => {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  ctx.setEcdhCurve("prime256v1");
  ctx.setEcdhCurve("secp384r1");
  ctx.setEcdhCurve("X25519");
  assert.throws(() => ctx.setEcdhCurve("nope"), (e: Error) => e instanceof ValueError && /unknown elliptic curve name/.test(e.message));
  assert.throws(() => ctx.setEcdhCurve(5 as unknown as string), (e: Error) => e instanceof TypeError);
  // A name OpenSSL knows that is not a key exchange group.
  assert.throws(() => ctx.setEcdhCurve("RSA"), (e: Error) => e instanceof SSLError || e instanceof ValueError);
});

t("setEcdhCurve: the server's only group is what s_client ends up with, and a client offering none of it fails", async (loop) => {
  const ctx = serverContext();
  ctx.setEcdhCurve("secp384r1");
  const { server } = await listen(loop, ctx);
  try {
    const out = await finish(loop, await sClient(loop, port(server), ["-groups", "X25519:secp384r1"]));
    assert.match(out, /Server Temp Key: ECDH, secp384r1, 384 bits|Peer Temp Key: ECDH, secp384r1/);
    const refused = await finish(loop, await sClient(loop, port(server), ["-groups", "X25519"]));
    assert.match(refused, /handshake failure|alert/);
    // And a tsyncio client limited to P-256 cannot connect either.
    const client = clientContext();
    client.setEcdhCurve("prime256v1");
    try {
      await roundTrip(loop, port(server), client);
      assert.unreachable("handshake succeeded without a shared group");
    } catch (e) {
      assert.ok(e instanceof SSLError, String(e));
    }
  } finally {
    await closeServer(loop, server);
  }
});

test("loadDhParams: a missing file is FileNotFoundError, a file without DH parameters an SSLError, a path string only", async () => {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  assert.throws(() => ctx.loadDhParams(`${pki.dir}/missing.pem`), (e: Error) => e instanceof FileNotFoundError && (e as OSError).errno === 2);
  assert.throws(() => ctx.loadDhParams(pki.caFile), (e: Error) => e instanceof SSLError);
  const ec = await pkiFile("ec.pem", EC_PARAMS);
  assert.throws(() => ctx.loadDhParams(ec), (e: Error) => e instanceof SSLError && /Diffie-Hellman/.test(e.message));
  assert.throws(() => ctx.loadDhParams(1 as unknown as string), (e: Error) => e instanceof TypeError);
  ctx.loadDhParams(await pkiFile("dh.pem", FFDHE2048));
});

/** A self-signed RSA certificate for localhost (DHE suites need RSA), made by `openssl req`: [cert, key]. */
async function rsaCertificate(loop: EventLoop, san = true): Promise<[string, string]> {
  const cert = `${pki.dir}/rsa${san ? "" : "-nosan"}.pem`, key = `${pki.dir}/rsa${san ? "" : "-nosan"}.key`;
  const argv = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
    "-subj", "/CN=localhost", ...(san ? ["-addext", "subjectAltName=DNS:localhost"] : [])];
  await runOut(loop, argv);
  return [cert, key];
}

t("loadDhParams: a TLS 1.2 server offering only DHE works once it has parameters (tsyncio client and s_client)", async (loop) => {
  const dhe = "DHE-RSA-AES128-GCM-SHA256";
  const [cert, key] = await rsaCertificate(loop);
  const ctx = serverContext(cert, key);
  ctx.maximumVersion = TLSVersion.TLSv1_2;
  ctx.setCiphers(dhe);
  const client = () => {
    const c = clientContext(cert);
    c.setCiphers(dhe);
    return c;
  };
  const { server } = await listen(loop, ctx);
  try {
    try {
      await roundTrip(loop, port(server), client());
      assert.unreachable("DHE without parameters");
    } catch (e) {
      assert.ok(e instanceof SSLError, String(e));
    }
    ctx.loadDhParams(await pkiFile("dh.pem", FFDHE2048));
    const obj = await roundTrip(loop, port(server), client());
    assert.equal(obj.cipher(), [dhe, "TLSv1.2", 128]);
    const out = await finish(loop, await sClient(loop, port(server), ["-tls1_2", "-cipher", dhe, "-CAfile", cert]));
    assert.match(out, /Server Temp Key: DH, 2048 bits/);
  } finally {
    await closeServer(loop, server);
  }
});

// ---- ciphers, tickets, commonName ----

/** Run a command to its end: its output (stdout and stderr). */
async function runOut(loop: EventLoop, argv: string[]): Promise<string> {
  const [tr, p] = await loop.runUntilComplete(loop.subprocessExec(() => new Collect(), argv, { stdin: DEVNULL, stdout: PIPE, stderr: STDOUT }));
  const c = p as Collect;
  await runUntil(loop, () => c.exited, 20);
  tr.close();
  for (let i = 0; i < 5; i++) await runUntil(loop, () => true, 1);
  assert.is(tr.getReturncode(), 0, c.out);
  return c.out;
}

t("getCiphers: the same list, fields and order as CPython's get_ciphers() over the same OpenSSL", async (loop) => {
  const script = "import json, ssl\nprint(json.dumps([ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).get_ciphers(), ssl.OPENSSL_VERSION]))";
  const [theirs, version] = JSON.parse(await runOut(loop, ["python3", "-c", script])) as [Record<string, unknown>[], string];
  const ours = new SSLContext(PROTOCOL_TLS_SERVER).getCiphers();
  assert.ok(ours.length >= 10, "Python's default list has TLS 1.3 and 1.2 suites");
  const camel = (d: Record<string, unknown>) => ({
    id: d.id, name: d.name, protocol: d.protocol, description: d.description, strengthBits: d.strength_bits, algBits: d.alg_bits,
    aead: d.aead, symmetric: d.symmetric, digest: d.digest, kea: d.kea, auth: d.auth,
  });
  // CPython may be linked to another OpenSSL than the system's libssl (which the openssl
  // command and tsyncio load): then only the names and their order are compared.
  const cli = await runOut(loop, ["openssl", "version"]);
  if (cli.includes(`(Library: ${version})`)) {
    assert.equal(ours, theirs.map(camel));
  } else {
    assert.equal(ours.map((x) => x.name), theirs.map((x) => x.name));
  }
});

test("numTickets: 2 by default; server contexts only; a non-negative integer", () => {
  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  assert.is(ctx.numTickets, 2);
  ctx.numTickets = 5;
  assert.is(ctx.numTickets, 5);
  assert.throws(() => (ctx.numTickets = -1), (e: Error) => e instanceof ValueError);
  for (const bad of [1.5, "2", null]) assert.throws(() => (ctx.numTickets = bad as unknown as number), (e: Error) => e instanceof TypeError);
  assert.throws(() => (clientContext().numTickets = 1), (e: Error) => e instanceof ValueError && /not a server context/.test(e.message));
});

t("numTickets 0: the client gets nothing to resume; the default 2: the next connection resumes", async (loop) => {
  for (const [n, reused] of [[0, false], [2, true]] as const) {
    const ctx = serverContext();
    ctx.numTickets = n;
    const { server } = await listen(loop, ctx);
    try {
      const client = clientContext();
      const first = await roundTrip(loop, port(server), client);
      const session = first.session;
      if (session !== null && session.hasTicket) {
        const [tr, pr] = await loop.runUntilComplete(
          loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: client, serverHostname: "localhost", sslSession: session }),
        );
        assert.is((tr.getExtraInfo("ssl_object") as SSLObject).sessionReused, reused, `numTickets ${n}`);
        tr.close();
        await runUntil(loop, () => (pr as Recorder).lost !== undefined, 10);
      } else {
        assert.is(reused, false, `numTickets ${n}: no ticket arrived`);
      }
    } finally {
      await closeServer(loop, server);
    }
  }
});

t("hostnameChecksCommonName: a certificate without subjectAltName matches by commonName unless turned off", async (loop) => {
  assert.is(new SSLContext(PROTOCOL_TLS_SERVER).hostnameChecksCommonName, true);
  const [cert, key] = await rsaCertificate(loop, false);
  const { server } = await listen(loop, serverContext(cert, key));
  try {
    await roundTrip(loop, port(server), clientContext(cert));
    const strict = clientContext(cert);
    strict.hostnameChecksCommonName = false;
    assert.throws(() => (strict.hostnameChecksCommonName = 1 as unknown as boolean), (e: Error) => e instanceof TypeError);
    try {
      await roundTrip(loop, port(server), strict);
      assert.unreachable("matched by commonName");
    } catch (e) {
      assert.ok(e instanceof SSLCertVerificationError && /Hostname mismatch/.test(e.message), String(e));
    }
  } finally {
    await closeServer(loop, server);
  }
});

test.run();
