/** What the TLS test files share: contexts from the test PKI, a listening port, a test that checks for leaks. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { type EventLoop, newEventLoop, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, type Server, SSLContext } from "../mod.ts";
import { _liveSslObjects } from "../src/ssl.ts";
import { settledFds } from "./_helpers.ts";
import type { TestPki } from "./_tls.ts";

/** Server and client contexts over the PKI that `pki()` returns once the file's `test.before` has made it. */
export function tlsContexts(pki: () => TestPki): {
  serverContext(cert?: string, key?: string): SSLContext;
  clientContext(cafile?: string): SSLContext;
} {
  return {
    serverContext(cert = pki().serverCert, key = pki().serverKey): SSLContext {
      const ctx = new SSLContext(PROTOCOL_TLS_SERVER);
      ctx.loadCertChain(cert, key);
      return ctx;
    },
    clientContext(cafile = pki().caFile): SSLContext {
      const ctx = new SSLContext(PROTOCOL_TLS_CLIENT);
      ctx.loadVerifyLocations(cafile);
      return ctx;
    },
  };
}

/** The port a server listens on (its first socket). */
export function port(server: Server): number {
  return (server.sockets[0].getsockname() as [string, number])[1];
}

/** A test run with a fresh loop, after which no descriptor, SSL or BIO object may be left. */
export function tlsTest(name: string, fn: (loop: EventLoop) => Promise<void>): void {
  test(name, async () => {
    const before = await settledFds();
    const live = _liveSslObjects();
    const loop = newEventLoop();
    try {
      await fn(loop);
    } finally {
      loop.close();
    }
    assert.equal(await settledFds(before), before, "no descriptor leaked");
    const after = _liveSslObjects();
    assert.equal([after.ssl, after.bio], [live.ssl, live.bio], "no SSL or BIO object leaked");
  });
}
