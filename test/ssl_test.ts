/** TLS over loopback: real handshakes with certificates made for the test (test/_tls.ts). */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  BufferedProtocol,
  CancelledError,
  CERT_NONE,
  CERT_REQUIRED,
  ConnectionAbortedError,
  ConnectionResetError,
  createDefaultContext,
  type EventLoop,
  FileNotFoundError,
  NotImplementedError,
  type PeerCertificate,
  PROTOCOL_TLS_CLIENT,
  PROTOCOL_TLS_SERVER,
  Protocol,
  Purpose,
  type Server,
  setLogger,
  socketpair,
  SendfileNotAvailableError,
  SSLCertVerificationError,
  SSLContext,
  SSLError,
  type SSLObject,
  TimeoutError,
  TLSVersion,
  type Transport,
  ValueError,
} from "../mod.ts";
import { captureExceptions, isA, settledFds } from "./_helpers.ts";
import { concat, dec, Echo, enc, pattern, Recorder, runUntil, sha256, tempSocketPath } from "./_net.ts";
import { makeTestPki, removeTestPki, type TestPki } from "./_tls.ts";
import { tlsContexts, port, tlsTest } from "./_tls_kit.ts";
import { _liveSslObjects } from "../src/ssl.ts";
import { SSLProtocol } from "../src/sslproto.ts";

let pki: TestPki;

test.before(async () => {
  pki = await makeTestPki();
});

test.after(async () => {
  await removeTestPki(pki);
});

const { serverContext, clientContext } = tlsContexts(() => pki);


const t = tlsTest;

async function expectRejects(loop: EventLoop, fut: PromiseLike<unknown>, cls: new (...a: never[]) => Error, re?: RegExp): Promise<Error> {
  try {
    await loop.runUntilComplete(fut as Promise<unknown>);
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${(e as Error)?.name}: ${(e as Error)?.message}`);
    if (re) assert.match((e as Error).message, re);
    return e as Error;
  }
  throw new assert.Assertion({ message: `expected ${cls.name}, nothing was thrown`, operator: "throws", generated: true, details: "" } as never);
}

async function closeServer(loop: EventLoop, server: Server): Promise<void> {
  server.close();
  await loop.runUntilComplete(server.waitClosed());
}

t("echo over TLS: createServer(ssl) and createConnection(ssl) verify the test CA; extra info; clean close", async (loop) => {
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.onData = (d) => r.transport!.write(d);
    srv.push(r);
    return r;
  }, "127.0.0.1", 0, { ssl: serverContext() }));
  const ctx = clientContext();
  const [tr, p] = await loop.runUntilComplete(
    loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: ctx, serverHostname: "localhost" }),
  );
  const c = p as Recorder;
  assert.equal(c.events, ["made"], "connectionMade once the handshake is done");
  assert.is(c.transport, tr);
  tr.write(enc.encode("hello "));
  tr.writelines([enc.encode("wor"), enc.encode("ld")]);
  await runUntil(loop, () => c.received.length === 11);
  assert.is(dec.decode(c.received), "hello world");

  // Extra info: TLS keys first, then the socket transport's.
  assert.is(tr.getExtraInfo("sslcontext"), ctx);
  const obj = tr.getExtraInfo("ssl_object") as SSLObject;
  assert.is(obj.version(), "TLSv1.3");
  assert.is(obj.serverHostname, "localhost");
  assert.is(obj.serverSide, false);
  const cipher = tr.getExtraInfo("cipher") as [string, string, number];
  assert.equal(cipher, obj.cipher());
  assert.match(cipher[0], /^TLS_/);
  assert.is(cipher[1], "TLSv1.3");
  assert.ok(cipher[2] >= 128);
  assert.is(tr.getExtraInfo("compression"), null);
  assert.is(obj.selectedAlpnProtocol(), null);
  const cert = tr.getExtraInfo("peercert") as PeerCertificate;
  assert.equal(cert.subject, [[["organizationName", "tsyncio tests"]], [["commonName", "localhost"]]]);
  assert.equal(cert.issuer, [[["organizationName", "tsyncio tests"]], [["commonName", "tsyncio test CA"]]]);
  assert.is(cert.version, 3);
  assert.match(cert.serialNumber, /^[0-9A-F]+$/);
  assert.match(cert.notAfter, /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4} GMT$/);
  assert.equal(cert.subjectAltName, [["DNS", "localhost"], ["IP Address", "127.0.0.1"], ["IP Address", "0:0:0:0:0:0:0:1"]]);
  assert.equal(obj.getpeercert(true), pki.serverDer);
  assert.equal(tr.getExtraInfo("peername"), ["127.0.0.1", port(server)]);
  assert.ok(tr.getExtraInfo("socket"), "falls through to the socket transport");
  assert.is(tr.getExtraInfo("nope", 7), 7);
  const sobj = srv[0].transport!.getExtraInfo("ssl_object") as SSLObject;
  assert.is(sobj.serverSide, true);
  assert.is(sobj.getpeercert(), null, "the client sent no certificate");

  // TLS has no half-close.
  assert.is(tr.canWriteEof(), false);
  assert.throws(() => tr.writeEof(), isA(NotImplementedError));

  // close(): close_notify both ways; the server sees EOF, then both see connectionLost(null).
  tr.close();
  assert.ok(tr.isClosing());
  await runUntil(loop, () => c.events.includes("lost") && srv[0].events.includes("lost"));
  // As asyncio: the closing side hears eofReceived too, once the peer's close_notify arrives.
  assert.equal(c.events, ["made", "data", "eof", "lost"]);
  assert.is(c.lost, null);
  assert.equal(srv[0].events, ["made", "data", "eof", "lost"]);
  assert.is(srv[0].lost, null);
  await closeServer(loop, server);
});

t("a hostname the certificate does not name → SSLCertVerificationError (code 62)", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0, { ssl: serverContext() }));
  const made: string[] = [];
  const e = await expectRejects(
    loop,
    loop.createConnection(() => {
      const r = new Recorder();
      r.onLost = () => made.push("lost");
      return r;
    }, "127.0.0.1", port(server), { ssl: clientContext(), serverHostname: "example.com" }),
    SSLCertVerificationError,
    /CERTIFICATE_VERIFY_FAILED.*Hostname mismatch.*example\.com/,
  ) as SSLCertVerificationError;
  assert.is(e.verifyCode, 62);
  assert.is(e.library, "SSL");
  assert.is(e.reason, "CERTIFICATE_VERIFY_FAILED");
  assert.ok(e instanceof SSLError && e instanceof Error);
  // The address is in the certificate: dialling it by address verifies.
  const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Protocol(), "127.0.0.1", port(server), { ssl: clientContext() }));
  assert.is((tr.getExtraInfo("ssl_object") as SSLObject).serverHostname, "127.0.0.1");
  tr.close();
  await closeServer(loop, server);
  assert.equal(made, [], "the application protocol never heard of the failed connection");
});

t("an untrusted certificate → SSLCertVerificationError; the server's failure is not reported (debug off)", async (loop) => {
  const seen = captureExceptions(loop);
  const server = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0, { ssl: serverContext() }));
  // A client that trusts another CA.
  // The server sends its CA along: a self-signed root the client does not trust.
  const e1 = await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "localhost", port(server), { ssl: clientContext(pki.otherCaFile) }),
    SSLCertVerificationError,
    /certificate verify failed: self-signed certificate in certificate chain/,
  ) as SSLCertVerificationError;
  assert.is(e1.verifyCode, 19);
  assert.is(e1.verifyMessage, "self-signed certificate in certificate chain");
  await closeServer(loop, server);
  // A server whose certificate an unknown CA signed.
  const rogue = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0, {
    ssl: serverContext(pki.rogueCert, pki.rogueKey),
  }));
  await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "127.0.0.1", port(rogue), { ssl: clientContext(), serverHostname: "localhost" }),
    SSLCertVerificationError,
  );
  await closeServer(loop, rogue);
  assert.equal(seen, []);
});

t("ssl: true is a default client context with the system's CAs (which do not include the test CA)", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0, { ssl: serverContext() }));
  await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "localhost", port(server), { ssl: true }),
    SSLCertVerificationError,
  );
  await closeServer(loop, server);
});

t("a CERT_NONE client connects to any server; getpeercert() is {} and the DER is still there", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0, {
    ssl: serverContext(pki.rogueCert, pki.rogueKey),
  }));
  const ctx = new SSLContext(PROTOCOL_TLS_CLIENT);
  assert.throws(() => (ctx.verifyMode = CERT_NONE), isA(ValueError, "checkHostname"));
  ctx.checkHostname = false;
  ctx.verifyMode = CERT_NONE;
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), { ssl: ctx }));
  const obj = tr.getExtraInfo("ssl_object") as SSLObject;
  assert.equal(obj.getpeercert(), {});
  assert.equal(tr.getExtraInfo("peercert"), {});
  assert.ok((obj.getpeercert(true) as Uint8Array).length > 100);
  tr.write(enc.encode("ping"));
  await runUntil(loop, () => (p as Recorder).received.length === 4);
  tr.close();
  await runUntil(loop, () => (p as Recorder).events.includes("lost"));
  await closeServer(loop, server);
});

t("ALPN: the server picks from what the client offers; no overlap means none", async (loop) => {
  const sctx = serverContext();
  sctx.setAlpnProtocols(["h2", "http/1.1"]);
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    srv.push(r);
    return r;
  }, "127.0.0.1", 0, { ssl: sctx }));
  for (const [offer, expected] of [[["http/1.1", "h2"], "h2"], [["spdy/1", "http/1.1"], "http/1.1"], [["spdy/1"], null]] as const) {
    const cctx = clientContext();
    cctx.setAlpnProtocols(offer);
    const [tr, p] = await loop.runUntilComplete(
      loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: cctx }),
    );
    assert.is((tr.getExtraInfo("ssl_object") as SSLObject).selectedAlpnProtocol(), expected, `client offering ${offer}`);
    await runUntil(loop, () => srv.length > 0 && srv[srv.length - 1].transport !== null);
    const s = srv[srv.length - 1].transport!.getExtraInfo("ssl_object") as SSLObject;
    assert.is(s.selectedAlpnProtocol(), expected, "the server agrees");
    tr.close();
    await runUntil(loop, () => (p as Recorder).events.includes("lost") && srv[srv.length - 1].events.includes("lost"));
  }
  assert.throws(() => sctx.setAlpnProtocols([""]), isA(ValueError, "1 to 255"));
  assert.throws(() => sctx.setAlpnProtocols(["x".repeat(256)]), isA(ValueError));
  await closeServer(loop, server);
});

for (const outer of ["plain", "TLS"] as const) {
  t(`startTls upgrades a ${outer} connection on both sides (STARTTLS${outer === "TLS" ? ": TLS inside TLS" : ""})`, async (loop) => {
    const sctx = serverContext();
    const serverLog: string[] = [];
    class StartTlsServer extends Protocol {
      transport: Transport | null = null;
      override connectionMade(t: Transport): void {
        this.transport = t;
      }
      override dataReceived(d: Uint8Array): void {
        const text = dec.decode(d);
        serverLog.push(text);
        if (text === "STARTTLS\n") {
          this.transport!.write(enc.encode("GO\n"));
          const fut = loop.startTls(this.transport!, this, sctx, { serverSide: true });
          fut.addDoneCallback(() => {
            // From here on the TLS transport is the one to use.
            this.transport = fut.result();
            this.transport.write(enc.encode("secret hello\n"));
          });
        } else {
          this.transport!.write(enc.encode(`echo:${text}`));
        }
      }
    }
    const server = await loop.runUntilComplete(loop.createServer(() => new StartTlsServer(), "127.0.0.1", 0, {
      ssl: outer === "TLS" ? serverContext() : null,
    }));
    const [first, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server), {
      ssl: outer === "TLS" ? clientContext() : null,
    }));
    const c = p as Recorder;
    const outerObj = first.getExtraInfo("ssl_object");
    assert.is(outerObj === null, outer === "plain");
    first.write(enc.encode("STARTTLS\n"));
    await runUntil(loop, () => dec.decode(c.received) === "GO\n");
    c.chunks = [];
    const tls = await loop.runUntilComplete(loop.startTls(first, c, clientContext(), { serverHostname: "localhost" }));
    assert.is(tls.getExtraInfo("peername"), first.getExtraInfo("peername"));
    assert.is((tls.getExtraInfo("ssl_object") as SSLObject).version(), "TLSv1.3");
    assert.is.not(tls.getExtraInfo("ssl_object"), outerObj);
    await runUntil(loop, () => dec.decode(c.received) === "secret hello\n");
    tls.write(enc.encode("over tls"));
    await runUntil(loop, () => dec.decode(c.received).endsWith("echo:over tls"));
    assert.equal(serverLog, ["STARTTLS\n", "over tls"]);
    assert.equal(c.events, ["made", "data"], "connectionMade is not called again");
    tls.close();
    await runUntil(loop, () => c.events.includes("lost"));
    assert.is(c.lost, null);
    server.closeClients();
    await closeServer(loop, server);
  });
}

t("debug mode reports a failed handshake on the server side", async (loop) => {
  loop.setDebug(true);
  loop.slowCallbackDuration = 10;
  const seen = captureExceptions(loop);
  const server = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0, { ssl: serverContext() }));
  await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "localhost", port(server), { ssl: clientContext(pki.otherCaFile) }),
    SSLCertVerificationError,
  );
  await runUntil(loop, () => seen.length > 0);
  assert.is(seen[0].message, "Error on transport creation for incoming connection");
  assert.instance(seen[0].exception, SSLError);
  assert.match((seen[0].exception as Error).message, /alert/);
  await closeServer(loop, server);
});

t("peer closes TCP without close_notify: eofReceived then connectionLost(null); eofReceived's true is ignored with a warning", async (loop) => {
  const warnings: string[] = [];
  setLogger({ debug() {}, info() {}, error() {}, warning: (m) => void warnings.push(m) });
  try {
    const srv: Recorder[] = [];
    const server = await loop.runUntilComplete(loop.createServer(() => {
      const r = new Recorder();
      r.keepOpenOnEof = true; // asks for a half-close TLS cannot give
      srv.push(r);
      return r;
    }, "127.0.0.1", 0, { ssl: serverContext() }));
    const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: clientContext() }));
    tr.write(enc.encode("last words"));
    await runUntil(loop, () => srv[0]?.received.length === 10);
    tr.abort(); // the socket closes at once: no close_notify
    await runUntil(loop, () => srv[0].events.includes("lost") && (p as Recorder).events.includes("lost"));
    assert.equal(srv[0].events, ["made", "data", "eof", "lost"]);
    assert.is(srv[0].lost, null);
    assert.equal(warnings, ["returning true from eofReceived() has no effect when using ssl"]);
    assert.equal((p as Recorder).events, ["made", "lost"]);
    await closeServer(loop, server);
  } finally {
    setLogger(null);
  }
});

t("16 MiB through TLS and back, checked by hash", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0, { ssl: serverContext() }));
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: clientContext() }));
  const c = p as Recorder;
  const data = pattern(16 * 1024 * 1024, 7);
  tr.write(data);
  await runUntil(loop, () => c.received.length >= data.length, 30);
  assert.is(c.received.length, data.length);
  assert.is(await sha256(c.received), await sha256(data));
  tr.close();
  await runUntil(loop, () => c.events.includes("lost"));
  await closeServer(loop, server);
});

t("write flow control: pauseWriting over 512 KiB when the peer stops reading, resumeWriting when it drains", async (loop) => {
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    srv.push(r);
    return r;
  }, "127.0.0.1", 0, { ssl: serverContext() }));
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: clientContext() }));
  const c = p as Recorder;
  assert.equal(tr.getWriteBufferLimits(), [128 * 1024, 512 * 1024]);
  await runUntil(loop, () => srv[0]?.transport !== null);
  srv[0].transport!.pauseReading();
  // Keep writing while the loop runs (the kernel's buffers have to fill first).
  let sent = 0;
  await runUntil(loop, () => {
    if (!c.events.includes("pause")) {
      tr.write(pattern(256 * 1024, ++sent));
    }
    return c.events.includes("pause");
  }, 30);
  assert.ok(tr.getWriteBufferSize() > 512 * 1024);
  srv[0].transport!.resumeReading();
  await runUntil(loop, () => c.events.includes("resume"), 30);
  assert.ok(tr.getWriteBufferSize() <= 128 * 1024);
  await runUntil(loop, () => srv[0].received.length === sent * 256 * 1024, 30);
  tr.setWriteBufferLimits(1000);
  assert.equal(tr.getWriteBufferLimits(), [250, 1000]);
  assert.throws(() => tr.setWriteBufferLimits(10, 20), isA(ValueError));
  tr.close();
  await runUntil(loop, () => c.events.includes("lost"));
  await closeServer(loop, server);
});

t("a BufferedProtocol over TLS reads into its own buffer", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0, { ssl: serverContext() }));
  const store = new Uint8Array(300_000);
  let filled = 0, eof = false, lost = false;
  class Buf extends BufferedProtocol {
    override getBuffer(_hint: number): Uint8Array {
      return store.subarray(filled, Math.min(filled + 10_000, store.length));
    }
    override bufferUpdated(n: number): void {
      filled += n;
    }
    override eofReceived(): void {
      eof = true;
    }
    override connectionLost(): void {
      lost = true;
    }
  }
  const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Buf(), "localhost", port(server), { ssl: clientContext() }));
  const data = pattern(250_000, 3);
  tr.write(data);
  await runUntil(loop, () => filled >= data.length, 15);
  assert.equal(store.subarray(0, filled), data);
  tr.close();
  await runUntil(loop, () => lost);
  assert.ok(eof, "the peer's close_notify answering ours is an EOF (as asyncio)");
  await closeServer(loop, server);
});

t("pauseReading on a TLS transport holds data back until resumeReading", async (loop) => {
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    srv.push(r);
    return r;
  }, "127.0.0.1", 0, { ssl: serverContext() }));
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: clientContext() }));
  const c = p as Recorder;
  await runUntil(loop, () => srv.length === 1 && srv[0].transport !== null);
  tr.pauseReading();
  assert.not.ok(tr.isReading());
  srv[0].transport!.write(enc.encode("held"));
  const f = loop.createFuture<void>();
  loop.callLater(0.05, () => f.setResult(undefined));
  await loop.runUntilComplete(f);
  assert.is(c.chunks.length, 0);
  tr.resumeReading();
  assert.ok(tr.isReading());
  await runUntil(loop, () => dec.decode(c.received) === "held");
  tr.close();
  await runUntil(loop, () => c.events.includes("lost") && srv[0].events.includes("lost"));
  await closeServer(loop, server);
});

t("mutual TLS: a CERT_REQUIRED server sees the client's certificate", async (loop) => {
  const sctx = serverContext();
  sctx.verifyMode = CERT_REQUIRED;
  sctx.loadVerifyLocations(pki.caFile);
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    srv.push(r);
    return r;
  }, "127.0.0.1", 0, { ssl: sctx }));
  // Without a client certificate the server refuses the connection.
  const noCert = loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: clientContext() });
  let refused = false;
  try {
    const [tr, p] = await loop.runUntilComplete(noCert);
    // TLS 1.3: the client's handshake ends before the server has checked; the alert follows.
    await runUntil(loop, () => (p as Recorder).events.includes("lost"));
    refused = (p as Recorder).lost instanceof SSLError;
    tr.close();
  } catch (e) {
    refused = e instanceof SSLError;
  }
  assert.ok(refused, "no certificate, no connection");
  const cctx = clientContext();
  cctx.loadCertChain(pki.clientCert, pki.clientKey);
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: cctx }));
  await runUntil(loop, () => srv.some((r) => r.transport !== null));
  const s = srv.find((r) => r.transport !== null)!;
  const cert = s.transport!.getExtraInfo("peercert") as PeerCertificate;
  assert.equal(cert.subject[1], [["commonName", "tsyncio test client"]]);
  tr.close();
  await runUntil(loop, () => (p as Recorder).events.includes("lost"));
  await closeServer(loop, server);
});

t("TLS over UNIX sockets, and connectAcceptedSocket with ssl over a socketpair", async (loop) => {
  const path = tempSocketPath("tls");
  const server = await loop.runUntilComplete(loop.createUnixServer(() => new Echo(), path, { ssl: serverContext() }));
  assert.throws(() => loop.createUnixConnection(() => new Protocol(), path, { ssl: clientContext() }), isA(ValueError, "serverHostname"));
  const [tr, p] = await loop.runUntilComplete(
    loop.createUnixConnection(() => new Recorder(), path, { ssl: clientContext(), serverHostname: "localhost" }),
  );
  tr.write(enc.encode("unix"));
  await runUntil(loop, () => dec.decode((p as Recorder).received) === "unix");
  tr.close();
  await runUntil(loop, () => (p as Recorder).events.includes("lost"));
  await closeServer(loop, server);

  const [a, b] = socketpair();
  const accepted = loop.connectAcceptedSocket(() => new Echo(), a, { ssl: serverContext() });
  const [ctr, cp] = await loop.runUntilComplete(
    loop.createConnection(() => new Recorder(), null, null, { sock: b, ssl: clientContext(), serverHostname: "localhost" }),
  );
  const [str] = await loop.runUntilComplete(accepted);
  assert.is((str.getExtraInfo("ssl_object") as SSLObject).serverSide, true);
  ctr.write(enc.encode("pair"));
  await runUntil(loop, () => dec.decode((cp as Recorder).received) === "pair");
  ctr.close();
  await runUntil(loop, () => (cp as Recorder).events.includes("lost"));
});

t("handshake timeout against a server that never answers → ConnectionAbortedError", async (loop) => {
  const server = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0));
  const t0 = loop.time();
  await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "localhost", port(server), { ssl: clientContext(), sslHandshakeTimeout: 0.3 }),
    ConnectionAbortedError,
    /SSL handshake is taking longer than 0.3 seconds/,
  );
  const dt = loop.time() - t0;
  assert.ok(dt >= 0.29 && dt < 5, `took ${dt} s`);
  server.closeClients();
  await closeServer(loop, server);
});

t("shutdown timeout: close_notify the peer never answers → connectionLost(TimeoutError)", async (loop) => {
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    srv.push(r);
    return r;
  }, "127.0.0.1", 0, { ssl: serverContext() }));
  const [tr, p] = await loop.runUntilComplete(
    loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: clientContext(), sslShutdownTimeout: 0.3 }),
  );
  const c = p as Recorder;
  await runUntil(loop, () => srv[0]?.transport != null);
  // While its application does not read, the server's TLS layer reads no records: no close_notify back.
  srv[0].transport!.pauseReading();
  const t0 = loop.time();
  tr.close();
  await runUntil(loop, () => c.events.includes("lost"));
  assert.ok(loop.time() - t0 >= 0.29);
  assert.instance(c.lost, TimeoutError);
  assert.match(c.lost!.message, "SSL shutdown timed out");
  srv[0].transport!.resumeReading();
  await runUntil(loop, () => srv[0].events.includes("lost"));
  await closeServer(loop, server);
});

t("an expired server certificate → SSLCertVerificationError (code 10, certificate has expired)", async (loop) => {
  const seen = captureExceptions(loop);
  const server = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0, {
    ssl: serverContext(pki.expiredCert, pki.expiredKey),
  }));
  const e = await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "localhost", port(server), { ssl: clientContext() }),
    SSLCertVerificationError,
    /CERTIFICATE_VERIFY_FAILED.*certificate has expired/,
  ) as SSLCertVerificationError;
  assert.is(e.verifyCode, 10);
  assert.is(e.verifyMessage, "certificate has expired");
  // Unverified, the same certificate is accepted.
  const lax = clientContext();
  lax.checkHostname = false;
  lax.verifyMode = CERT_NONE;
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "localhost", port(server), { ssl: lax }));
  tr.close();
  await runUntil(loop, () => (p as Recorder).events.includes("lost"));
  await closeServer(loop, server);
  assert.equal(seen, []);
});

t("no common protocol version (server at most TLS 1.2, client at least TLS 1.3) → SSLError on both sides, no hang", async (loop) => {
  const seen = captureExceptions(loop);
  const sctx = serverContext();
  sctx.maximumVersion = TLSVersion.TLSv1_2;
  const made: string[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    made.push("server");
    return new Protocol();
  }, "127.0.0.1", 0, { ssl: sctx }));
  const cctx = clientContext();
  cctx.minimumVersion = TLSVersion.TLSv1_3;
  const t0 = loop.time();
  const e = await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "localhost", port(server), { ssl: cctx, sslHandshakeTimeout: 10 }),
    SSLError,
    /\[SSL: (TLSV1_ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE)\]/,
  );
  assert.not.ok(e instanceof SSLCertVerificationError);
  assert.ok(loop.time() - t0 < 5, "failed at once, not by the handshake timeout");
  await closeServer(loop, server);
  assert.equal(seen, []);
});

t("a peer that closes or talks garbage mid-handshake → an error, no hang", async (loop) => {
  // A plain TCP server: the first closes every connection at once, the second answers in plain text.
  const closer = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.connectionMade = (tr) => tr.close();
    return r;
  }, "127.0.0.1", 0));
  const t0 = loop.time();
  await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "localhost", port(closer), { ssl: clientContext(), sslHandshakeTimeout: 10 }),
    ConnectionResetError,
    /TLS handshake/,
  );
  const garbage = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.connectionMade = (tr) => tr.write(enc.encode("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    return r;
  }, "127.0.0.1", 0));
  await expectRejects(
    loop,
    loop.createConnection(() => new Protocol(), "localhost", port(garbage), { ssl: clientContext(), sslHandshakeTimeout: 10 }),
    SSLError,
    /\[SSL: (WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_LAYER_FAILURE)\]/,
  );
  // A TLS server whose client sends garbage: the server drops it and keeps serving.
  const seen = captureExceptions(loop);
  const lost: (Error | null)[] = [];
  const tls = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0, { ssl: serverContext() }));
  const [raw, rp] = await loop.runUntilComplete(loop.createConnection(() => {
    const r = new Recorder();
    r.onLost = () => lost.push(r.lost!);
    return r;
  }, "127.0.0.1", port(tls)));
  raw.write(enc.encode("GET / HTTP/1.1\r\n\r\n"));
  await runUntil(loop, () => (rp as Recorder).events.includes("lost"));
  const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "localhost", port(tls), { ssl: clientContext() }));
  tr.write(enc.encode("still there"));
  await runUntil(loop, () => (p as Recorder).received.length === 11);
  tr.close();
  await runUntil(loop, () => (p as Recorder).events.includes("lost"));
  assert.ok(loop.time() - t0 < 5);
  for (const s of [closer, garbage, tls]) await closeServer(loop, s);
  assert.equal(seen, []);
});

t("abort() during the handshake: the waiter rejects, connectionMade never comes, nothing leaks", async (loop) => {
  // A server that never answers: the client stays in its handshake.
  const silent = await loop.runUntilComplete(loop.createServer(() => new Protocol(), "127.0.0.1", 0));
  const app = new Recorder();
  const waiter = loop.createFuture<void>();
  const sp = new SSLProtocol(loop, app, clientContext(), waiter, false, "localhost");
  const [raw] = await loop.runUntilComplete(loop.createConnection(() => sp, "127.0.0.1", port(silent)));
  await runUntil(loop, () => sp._handshakeTimer !== null);
  assert.not.ok(waiter.done());
  sp._appTransport.abort();
  assert.ok(sp._appTransport.isClosing());
  await expectRejects(loop, waiter, ConnectionResetError, /TLS handshake/);
  await runUntil(loop, () => raw.isClosing());
  assert.equal(app.events, [], "the application protocol was never connected");

  // Cancelling createConnection mid-handshake closes the connection too.
  const fut = loop.createConnection(() => new Protocol(), "localhost", port(silent), { ssl: clientContext() });
  loop.callLater(0.05, () => fut.cancel());
  await expectRejects(loop, fut, CancelledError);
  silent.closeClients();
  await closeServer(loop, silent);
});

t("1,000 handshakes in concurrent batches leak no descriptor and no OpenSSL object", async (loop) => {
  const sctx = serverContext();
  const cctx = clientContext();
  let serverLost = 0;
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    r.onLost = () => serverLost++;
    return r;
  }, "127.0.0.1", 0, { ssl: sctx }));
  const p0 = port(server);
  // Warm up (first-use allocations), then count.
  const [w, wp] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", p0, { ssl: cctx }));
  w.close();
  await runUntil(loop, () => (wp as Recorder).events.includes("lost") && serverLost === 1);
  const fds = await settledFds();
  const live = _liveSslObjects();
  const N = 1000, BATCH = 50;
  const t0 = Date.now();
  for (let done = 0; done < N; done += BATCH) {
    const futs = Array.from({ length: BATCH }, () => loop.createConnection(() => new Recorder(), "127.0.0.1", p0, { ssl: cctx }));
    const clients: Recorder[] = [];
    await loop.runUntilComplete(function* () {
      for (const f of futs) {
        const [tr, p] = yield* f;
        clients.push(p as Recorder);
        tr.close();
      }
    });
    await runUntil(loop, () => clients.every((c) => c.events.includes("lost")) && serverLost === 1 + done + BATCH, 20);
    assert.ok(clients.every((c) => c.lost === null), "clean closes");
  }
  const secs = (Date.now() - t0) / 1000;
  assert.ok(secs < 60, `took ${secs} s`);
  const after = _liveSslObjects();
  assert.equal([after.ssl, after.bio], [live.ssl, live.bio], "every SSL and BIO was freed");
  assert.ok(after.ctx <= live.ctx, "no SSL_CTX was made per connection");
  assert.equal(await settledFds(fds), fds, "no descriptor leaked");
  await closeServer(loop, server);
});

t("versions, contexts and defaults", async (loop) => {
  const client = new SSLContext(PROTOCOL_TLS_CLIENT);
  assert.is(client.checkHostname, true);
  assert.is(client.verifyMode, CERT_REQUIRED);
  assert.is(client.minimumVersion, TLSVersion.TLSv1_2);
  assert.is(client.maximumVersion, TLSVersion.MAXIMUM_SUPPORTED);
  const server = new SSLContext(PROTOCOL_TLS_SERVER);
  assert.is(server.checkHostname, false);
  assert.is(server.verifyMode, CERT_NONE);
  const def = createDefaultContext();
  assert.is(def.protocol, PROTOCOL_TLS_CLIENT);
  assert.is(def.checkHostname, true);
  assert.is(createDefaultContext(Purpose.CLIENT_AUTH).protocol, PROTOCOL_TLS_SERVER);
  // cadata: PEM text and DER bytes.
  const fromPem = createDefaultContext(Purpose.SERVER_AUTH, { cadata: pki.caPem });
  const fromDer = new SSLContext(PROTOCOL_TLS_CLIENT);
  fromDer.loadVerifyLocations(null, null, pki.caDer);
  // A TLS 1.2 connection, limited by the client.
  const sctx = serverContext();
  const s = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 0, { ssl: sctx }));
  fromDer.maximumVersion = TLSVersion.TLSv1_2;
  assert.is(fromDer.maximumVersion, TLSVersion.TLSv1_2);
  for (const ctx of [fromPem, fromDer]) {
    const [tr, p] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "localhost", port(s), { ssl: ctx }));
    assert.is((tr.getExtraInfo("ssl_object") as SSLObject).version(), ctx === fromDer ? "TLSv1.2" : "TLSv1.3");
    tr.close();
    await runUntil(loop, () => (p as Recorder).events.includes("lost"));
  }
  await closeServer(loop, s);
});

t("bad input: TypeError and ValueError as asyncio, file and certificate errors", async (loop) => {
  const f = () => new Protocol();
  assert.throws(() => loop.createConnection(f, "127.0.0.1", 1, { sslHandshakeTimeout: 1 }), isA(ValueError, "only meaningful with ssl"));
  assert.throws(() => loop.createConnection(f, "127.0.0.1", 1, { sslShutdownTimeout: 1 }), isA(ValueError, "only meaningful with ssl"));
  assert.throws(() => loop.createConnection(f, "127.0.0.1", 1, { ssl: true, sslHandshakeTimeout: 0 }), isA(ValueError, "positive"));
  assert.throws(() => loop.createConnection(f, "127.0.0.1", 1, { ssl: true, sslShutdownTimeout: -1 }), isA(ValueError, "positive"));
  assert.throws(() => loop.createConnection(f, "127.0.0.1", 1, { ssl: "yes" }), isA(TypeError));
  const [a, b] = socketpair();
  assert.throws(() => loop.createConnection(f, null, null, { sock: a, ssl: true }), isA(ValueError, "serverHostname"));
  assert.throws(() => loop.connectAcceptedSocket(f, a, { ssl: true }), isA(ValueError, "valid SSLContext"));
  a.close();
  b.close();
  assert.throws(() => loop.createServer(f, "127.0.0.1", 0, { ssl: true }), isA(TypeError));
  assert.throws(() => loop.createServer(f, "127.0.0.1", 0, { ssl: false }), isA(TypeError));
  assert.throws(() => loop.createServer(f, "127.0.0.1", 0, { sslHandshakeTimeout: 5 }), isA(ValueError));
  assert.throws(() => loop.createUnixServer(f, "/tmp/x.sock", { ssl: serverContext(), sslShutdownTimeout: 0 }), isA(ValueError));
  // deno-lint-ignore no-explicit-any
  assert.throws(() => loop.startTls({} as any, f(), clientContext()), isA(TypeError));
  // deno-lint-ignore no-explicit-any
  assert.throws(() => loop.startTls({} as any, f(), "ctx" as any), isA(TypeError, "SSLContext"));

  const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
  assert.throws(() => ctx.loadCertChain(`${pki.dir}/missing.pem`), isA(FileNotFoundError));
  assert.throws(() => ctx.loadCertChain(pki.serverKey, pki.serverKey), isA(SSLError));
  assert.throws(() => ctx.loadCertChain(pki.serverCert, pki.clientKey), isA(SSLError, "KEY_VALUES_MISMATCH|key values mismatch"));
  // deno-lint-ignore no-explicit-any
  assert.throws(() => ctx.loadCertChain(42 as any), isA(TypeError));
  assert.throws(() => ctx.loadVerifyLocations(), isA(TypeError, "cannot be all omitted"));
  assert.throws(() => ctx.loadVerifyLocations(`${pki.dir}/missing.pem`), isA(FileNotFoundError));
  assert.throws(() => ctx.loadVerifyLocations(null, null, "not a certificate"), isA(SSLError, "NO_START_LINE"));
  assert.throws(() => ctx.setCiphers("NOTHING-REAL"), isA(SSLError, "No cipher"));
  assert.throws(() => (ctx.minimumVersion = 0x999 as TLSVersion), isA(ValueError));
  assert.throws(() => (ctx.verifyMode = 7), isA(ValueError));
  assert.throws(() => new SSLContext(99), isA(ValueError));
  // deno-lint-ignore no-explicit-any
  assert.throws(() => createDefaultContext("nope" as any), isA(TypeError));
  // checkHostname needs a name: startTls without serverHostname fails before touching the transport.
  const server = await loop.runUntilComplete(loop.createServer(f, "127.0.0.1", 0));
  const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Recorder(), "127.0.0.1", port(server)));
  await expectRejects(loop, loop.startTls(tr, new Protocol(), clientContext()), ValueError, /checkHostname requires serverHostname/);
  assert.not.ok(tr.isClosing());
  tr.close();
  server.closeClients();
  await closeServer(loop, server);
});

t("sendfile over TLS reads and writes through the transport; fallback: false refuses", async (loop) => {
  const { libc, C } = await import("../src/native.ts");
  const data = pattern(3 * 1024 * 1024 + 17, 11);
  const path = `/tmp/tsyncio-tls-sendfile-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const fd = libc.open(enc.encode(path + "\0"), 2 | 0o100 | 0o1000 | C.O_CLOEXEC, 0o600);
  let off = 0;
  while (off < data.length) off += libc.write(fd, data.subarray(off), data.length - off);
  const srv: Recorder[] = [];
  const server = await loop.runUntilComplete(loop.createServer(() => {
    const r = new Recorder();
    srv.push(r);
    return r;
  }, "127.0.0.1", 0, { ssl: serverContext() }));
  try {
    const client = new Recorder();
    const [tr] = await loop.runUntilComplete(
      loop.createConnection(() => client, "127.0.0.1", port(server), { ssl: clientContext(), serverHostname: "localhost" }),
    );
    await expectRejects(loop, loop.sendfile(tr, fd, 0, null, { fallback: false }), SendfileNotAvailableError);
    tr.write(enc.encode("HEAD"));
    assert.is(await loop.runUntilComplete(loop.sendfile(tr, fd)), data.length);
    assert.is(await loop.runUntilComplete(loop.sendfile(tr, { fileno: () => fd }, 5, 1000)), 1000);
    assert.is(tr.getProtocol(), client, "the protocol is given back");
    assert.ok(tr.isReading(), "reading resumes");
    await runUntil(loop, () => srv[0]?.received.length === 4 + data.length + 1000, 20);
    assert.is(await sha256(srv[0].received), await sha256(concat([enc.encode("HEAD"), data, data.subarray(5, 1005)])));
    // The protocol still works afterwards.
    srv[0].transport!.write(enc.encode("ack"));
    await runUntil(loop, () => dec.decode(client.received) === "ack");
    tr.close();
    await runUntil(loop, () => client.events.includes("lost"));
  } finally {
    libc.close(fd);
    libc.unlink(enc.encode(path + "\0"));
    await closeServer(loop, server);
  }
});

test.run();
