/**
 * SSLContext options and verification flags, renegotiation, CRLs, the trust
 * store, and sessions: against tsyncio's own server and against
 * `openssl s_server` (spawned through tsyncio's own subprocess API).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  createDefaultContext,
  type EventLoop,
  OP_ALL,
  OP_CIPHER_SERVER_PREFERENCE,
  OP_ENABLE_KTLS,
  OP_ENABLE_MIDDLEBOX_COMPAT,
  OP_IGNORE_UNEXPECTED_EOF,
  OP_LEGACY_SERVER_CONNECT,
  OP_NO_COMPRESSION,
  OP_NO_RENEGOTIATION,
  OP_NO_SSLv2,
  OP_NO_SSLv3,
  OP_NO_TICKET,
  OP_NO_TLSv1,
  OP_NO_TLSv1_1,
  OP_NO_TLSv1_2,
  OP_NO_TLSv1_3,
  OP_SINGLE_DH_USE,
  OP_SINGLE_ECDH_USE,
  PROTOCOL_TLS,
  PROTOCOL_TLS_CLIENT,
  PROTOCOL_TLS_SERVER,
  Purpose,
  SSLCertVerificationError,
  SSLContext,
  SSLError,
  type Transport,
  ValueError,
  VERIFY_ALLOW_PROXY_CERTS,
  VERIFY_CRL_CHECK_CHAIN,
  VERIFY_CRL_CHECK_LEAF,
  VERIFY_DEFAULT,
  VERIFY_X509_PARTIAL_CHAIN,
  VERIFY_X509_STRICT,
  VERIFY_X509_TRUSTED_FIRST,
} from "../mod.ts";
import { dec, enc, Recorder, runUntil } from "./_net.ts";
import { makeCrl, makeTestPki, removeTestPki, type TestPki } from "./_tls.ts";
import { tlsContexts, port, tlsTest } from "./_tls_kit.ts";
import { type OpensslServer, sServer, stopServer } from "./_openssl.ts";
import { writeFileSync } from "node:fs";
import { _liveSslObjects } from "../src/ssl.ts";

let pki: TestPki;

test.before(async () => {
  pki = await makeTestPki();
});

test.after(async () => {
  await removeTestPki(pki);
});

const { serverContext, clientContext } = tlsContexts(() => pki);


const t = tlsTest;

// ---- options ----

test("OP_* and VERIFY_* constants have Python's values (OpenSSL 3)", () => {
  assert.equal(
    [OP_ALL, OP_NO_SSLv2, OP_NO_SSLv3, OP_NO_TLSv1, OP_NO_TLSv1_1, OP_NO_TLSv1_2, OP_NO_TLSv1_3, OP_NO_RENEGOTIATION],
    [0x80000050, 0, 0x2000000, 0x4000000, 0x10000000, 0x8000000, 0x20000000, 0x40000000],
  );
  assert.equal(
    [OP_NO_TICKET, OP_CIPHER_SERVER_PREFERENCE, OP_ENABLE_MIDDLEBOX_COMPAT, OP_IGNORE_UNEXPECTED_EOF, OP_NO_COMPRESSION],
    [0x4000, 0x400000, 0x100000, 0x80, 0x20000],
  );
  assert.equal([OP_SINGLE_DH_USE, OP_SINGLE_ECDH_USE, OP_LEGACY_SERVER_CONNECT, OP_ENABLE_KTLS], [0, 0, 0x4, 0x8]);
  assert.equal(
    [VERIFY_DEFAULT, VERIFY_CRL_CHECK_LEAF, VERIFY_CRL_CHECK_CHAIN, VERIFY_X509_STRICT, VERIFY_X509_PARTIAL_CHAIN, VERIFY_X509_TRUSTED_FIRST, VERIFY_ALLOW_PROXY_CERTS],
    [0, 0x4, 0xc, 0x20, 0x80000, 0x8000, 0x40],
  );
});

test("options: Python's defaults for every kind of context (0x82520050)", () => {
  const want = (OP_ALL | OP_NO_SSLv3 | OP_NO_COMPRESSION | OP_CIPHER_SERVER_PREFERENCE | OP_ENABLE_MIDDLEBOX_COMPAT) >>> 0;
  assert.is(want, 0x82520050);
  for (const ctx of [
    new SSLContext(PROTOCOL_TLS_CLIENT),
    new SSLContext(PROTOCOL_TLS_SERVER),
    new SSLContext(PROTOCOL_TLS),
    createDefaultContext(Purpose.SERVER_AUTH, { cafile: pki.caFile }),
    createDefaultContext(Purpose.CLIENT_AUTH),
  ]) {
    assert.is(ctx.options, want, String(ctx));
    assert.is(ctx.options & OP_NO_RENEGOTIATION, 0, "renegotiation allowed by default, as Python");
  }
});

test("options: setting sets and clears bits, 64-bit values, unknown bits passed on, bad values refused", () => {
  const ctx = new SSLContext(PROTOCOL_TLS_CLIENT);
  const base = ctx.options;
  ctx.options = (ctx.options | OP_NO_RENEGOTIATION | OP_NO_TICKET) >>> 0;
  assert.is(ctx.options, (base | OP_NO_RENEGOTIATION | OP_NO_TICKET) >>> 0);
  ctx.options = (ctx.options & ~OP_NO_TICKET) >>> 0;
  assert.is(ctx.options, (base | OP_NO_RENEGOTIATION) >>> 0, "a bit left out is cleared");
  ctx.options = 0;
  assert.is(ctx.options, 0, "everything cleared (SSL_CTX_clear_options)");
  ctx.options = 0xffffffff;
  assert.is(ctx.options, 0xffffffff, "above 2^31: not sign-extended");
  ctx.options = 2 ** 40;
  assert.is(ctx.options, 2 ** 40, "bits above 32 (unknown to OpenSSL 3.0) are passed on, as Python");
  ctx.options = 1n << 63n;
  assert.is(ctx.options, 2 ** 63, "a BigInt: the top bit");
  ctx.options = BigInt(base);
  assert.is(ctx.options, base);
  for (const bad of [1.5, "1", null, undefined, true, {}]) {
    assert.throws(() => (ctx.options = bad as unknown as number), (e: Error) => e instanceof TypeError, String(bad));
  }
  assert.throws(() => (ctx.options = -1), (e: Error) => e instanceof ValueError && /negative/.test(e.message));
  assert.throws(() => (ctx.options = base | OP_NO_TICKET), (e: Error) => e instanceof ValueError && />>> 0/.test(e.message), "a signed | result");
  assert.throws(() => (ctx.options = 1n << 64n), (e: Error) => e instanceof ValueError);
  assert.is(ctx.options, base, "a refused value changes nothing");
});

test("verifyFlags: Python's defaults; set and clear; bad values refused", () => {
  assert.is(new SSLContext(PROTOCOL_TLS_CLIENT).verifyFlags, VERIFY_X509_TRUSTED_FIRST);
  assert.is(new SSLContext(PROTOCOL_TLS_SERVER).verifyFlags, VERIFY_X509_TRUSTED_FIRST);
  assert.is(createDefaultContext(Purpose.SERVER_AUTH, { cafile: pki.caFile }).verifyFlags, 0x88020, "Python 3.13's create_default_context");
  assert.is(createDefaultContext(Purpose.CLIENT_AUTH).verifyFlags, 0x88020);
  const ctx = new SSLContext(PROTOCOL_TLS_CLIENT);
  ctx.verifyFlags = VERIFY_CRL_CHECK_CHAIN;
  assert.is(ctx.verifyFlags, VERIFY_CRL_CHECK_CHAIN, "TRUSTED_FIRST cleared");
  ctx.verifyFlags = (ctx.verifyFlags & ~VERIFY_CRL_CHECK_CHAIN) | VERIFY_CRL_CHECK_LEAF;
  assert.is(ctx.verifyFlags, VERIFY_CRL_CHECK_LEAF);
  ctx.verifyFlags = VERIFY_DEFAULT;
  assert.is(ctx.verifyFlags, 0);
  assert.throws(() => (ctx.verifyFlags = "4" as unknown as number), (e: Error) => e instanceof TypeError);
  assert.throws(() => (ctx.verifyFlags = -1), (e: Error) => e instanceof ValueError);
});

// ---- renegotiation (TLS 1.2, requested by the server) ----

/** Connect to s_server, exchange data, have it renegotiate ("R"), exchange more. */
async function renegotiate(loop: EventLoop, ctx: SSLContext): Promise<{ srv: OpensslServer; c: Recorder; tr: Transport }> {
  const srv = await sServer(loop, pki, ["-tls1_2", "-naccept", "1"]);
  const [tr, p] = await loop.runUntilComplete(
    loop.createConnection(() => new Recorder(), "127.0.0.1", srv.port, { ssl: ctx, serverHostname: "localhost" }),
  );
  const c = p as Recorder;
  assert.is(tr.getExtraInfo("ssl_object") !== null, true);
  tr.write(enc.encode("before\n"));
  await runUntil(loop, () => srv.out.includes("before\n"), 10);
  srv.send("hello1\n");
  await runUntil(loop, () => dec.decode(c.received).includes("hello1\n"), 10);
  // The server sends a HelloRequest (and asks for a client certificate, which we have not).
  srv.send("R\n");
  return { srv, c, tr: tr as Transport };
}

t("renegotiation requested by s_server -tls1_2 (\"R\"): allowed by default, data before, during and after", async (loop) => {
  const ctx = clientContext();
  const { srv, c, tr } = await renegotiate(loop, ctx);
  // Write while the renegotiation is under way: 120 KiB in lines, none lost.
  const line = "~".repeat(1023) + "\n";
  for (let i = 0; i < 120; i++) tr.write(enc.encode(line));
  await runUntil(loop, () => ctx.sessionStats().connectRenegotiate === 1 || c.lost !== undefined, 10);
  srv.send("after\n");
  await runUntil(loop, () => dec.decode(c.received).includes("after\n") || c.lost !== undefined, 10);
  assert.is(c.lost, undefined, `connection lost: ${c.lost}\n${srv.out}`);
  tr.write(enc.encode("after-client\n"));
  await runUntil(loop, () => srv.out.includes("after-client\n"), 10);
  assert.is(srv.out.split("").filter((ch) => ch === "~").length, 120 * 1023, "every byte written during the renegotiation arrived");
  assert.is(dec.decode(c.received), "hello1\nafter\n");
  const stats = ctx.sessionStats();
  assert.is(stats.connect, 1, "the first handshake");
  assert.is(stats.connectRenegotiate, 1);
  assert.is(stats.connectGood, 2);
  tr.close();
  await runUntil(loop, () => c.lost !== undefined, 10);
  assert.is(c.lost, null);
  await stopServer(loop, srv);
});

t("renegotiation refused with OP_NO_RENEGOTIATION: s_server fails with \"no renegotiation\", the connection ends", async (loop) => {
  const ctx = clientContext();
  ctx.options = (ctx.options | OP_NO_RENEGOTIATION) >>> 0;
  const { srv, c } = await renegotiate(loop, ctx);
  await runUntil(loop, () => c.lost !== undefined, 10);
  await runUntil(loop, () => srv.out.includes("no renegotiation"), 10);
  assert.ok(c.lost === null || c.lost instanceof SSLError || c.lost instanceof Error, String(c.lost));
  assert.is(ctx.sessionStats().connectRenegotiate, 0);
  await stopServer(loop, srv);
});

// ---- CRLs, the trust store ----

/** Connect a client with `ctx` to a tsyncio TLS server: the handshake's error, or null when it succeeded. */
async function tryHandshake(loop: EventLoop, ctx: SSLContext): Promise<Error | null> {
  const server = await loop.runUntilComplete(loop.createServer(() => new Recorder(), "127.0.0.1", 0, { ssl: serverContext() }));
  try {
    const [tr] = await loop.runUntilComplete(
      loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: ctx, serverHostname: "localhost" }),
    );
    tr.close();
    return null;
  } catch (e) {
    return e as Error;
  } finally {
    server.close();
    await loop.runUntilComplete(server.waitClosed());
  }
}

t("CRLs: VERIFY_CRL_CHECK_LEAF refuses a revoked server certificate (CRL in cafile or cadata), needs a CRL, accepts an unrevoked one", async (loop) => {
  const revoking = await makeCrl(pki.ca!, [pki.serverSerial!]);
  const clean = await makeCrl(pki.ca!, [crypto.getRandomValues(new Uint8Array(8))]);
  const caRevoking = `${pki.dir}/ca-crl-revoking.pem`, caClean = `${pki.dir}/ca-crl-clean.pem`;
  writeFileSync(caRevoking, pki.caPem + revoking);
  writeFileSync(caClean, pki.caPem + clean);

  // Without the flag a CRL changes nothing.
  assert.is(await tryHandshake(loop, clientContext(caRevoking)), null);

  const revokedCode = 23, noCrlCode = 3; // X509_V_ERR_CERT_REVOKED, X509_V_ERR_UNABLE_TO_GET_CRL
  const check = async (ctx: SSLContext, code: number, re: RegExp) => {
    ctx.verifyFlags = (ctx.verifyFlags | VERIFY_CRL_CHECK_LEAF) >>> 0;
    const e = await tryHandshake(loop, ctx);
    assert.ok(e instanceof SSLCertVerificationError, `expected SSLCertVerificationError, got ${e}`);
    assert.is((e as SSLCertVerificationError).verifyCode, code);
    assert.match(e!.message, re);
  };
  await check(clientContext(caRevoking), revokedCode, /certificate revoked/);
  const fromData = new SSLContext(PROTOCOL_TLS_CLIENT);
  fromData.loadVerifyLocations(null, null, pki.caPem + revoking);
  assert.equal(fromData.certStoreStats(), { x509: 1, crl: 1, x509Ca: 1 });
  await check(fromData, revokedCode, /certificate revoked/);
  await check(clientContext(), noCrlCode, /unable to get certificate CRL/);
  // createDefaultContext (strict RFC 5280 checks) too.
  const strict = createDefaultContext(Purpose.SERVER_AUTH, { cafile: caRevoking });
  await check(strict, revokedCode, /certificate revoked/);

  const ok = clientContext(caClean);
  ok.verifyFlags = (ok.verifyFlags | VERIFY_CRL_CHECK_LEAF) >>> 0;
  assert.is(await tryHandshake(loop, ok), null, "a CRL that does not list the server's certificate");
  const okStrict = createDefaultContext(Purpose.SERVER_AUTH, { cadata: pki.caPem + clean });
  okStrict.verifyFlags = (okStrict.verifyFlags | VERIFY_CRL_CHECK_CHAIN) >>> 0;
  assert.is(await tryHandshake(loop, okStrict), null, "VERIFY_CRL_CHECK_CHAIN: the CA is a trust anchor, only the leaf needs a CRL");
});

test("certStoreStats and getCaCerts: Python's shapes", () => {
  const ctx = new SSLContext(PROTOCOL_TLS_CLIENT);
  assert.equal(ctx.certStoreStats(), { x509: 0, crl: 0, x509Ca: 0 });
  assert.equal(ctx.getCaCerts(), []);
  ctx.loadVerifyLocations(pki.caFile);
  // A leaf certificate in the store counts as x509 but not as a CA.
  ctx.loadVerifyLocations(pki.clientCert);
  assert.equal(ctx.certStoreStats(), { x509: 2, crl: 0, x509Ca: 1 });
  const certs = ctx.getCaCerts();
  assert.is(certs.length, 1);
  const ca = certs[0];
  assert.equal(ca.subject, [[["organizationName", "tsyncio tests"]], [["commonName", "tsyncio test CA"]]]);
  assert.equal(ca.issuer, ca.subject);
  assert.is(ca.version, 3);
  assert.type(ca.serialNumber, "string");
  assert.type(ca.notBefore, "string");
  assert.type(ca.notAfter, "string");
  const der = ctx.getCaCerts(true);
  assert.is(der.length, 1);
  assert.equal(Array.from(der[0]), Array.from(pki.caDer));
});

test.run();
