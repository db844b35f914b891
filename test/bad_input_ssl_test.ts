/** Generated bad input for SSLContext (see test/_bad_input.ts). */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { type EventLoop, PROTOCOL_TLS_SERVER, SSLContext } from "../mod.ts";
import { badInputTests, type Case } from "./_bad_input.ts";

interface X {
  loop: EventLoop;
  ctx: SSLContext;
}
const setup = (loop: EventLoop): X => ({ loop, ctx: new SSLContext() });

// Left out: loadCertChain and loadDhParams need certificate files (their bad paths and types are
// in ssl_test.ts and ssl_extras_test.ts).
const cases: Case<X>[] = [
  { name: "new SSLContext(protocol)", setup, args: [{ name: "protocol", valid: () => undefined }], call: (_c, [p]) => new SSLContext(p as number) },
  { name: "ctx.checkHostname = on", setup, args: [{ name: "checkHostname", valid: () => true }], call: (c, [v]) => void (c.ctx.checkHostname = v as boolean) },
  { name: "ctx.verifyMode = mode", setup, args: [{ name: "verifyMode", valid: () => 2, msg: /verifyMode|mode/ }], call: (c, [v]) => void (c.ctx.verifyMode = v as number) },
  { name: "ctx.minimumVersion = v", setup, args: [{ name: "minimumVersion", valid: () => 0x0303, msg: /minimumVersion|version/i }], call: (c, [v]) => void (c.ctx.minimumVersion = v as never) },
  { name: "ctx.maximumVersion = v", setup, args: [{ name: "maximumVersion", valid: () => 0x0304, msg: /maximumVersion|version/i }], call: (c, [v]) => void (c.ctx.maximumVersion = v as never) },
  { name: "ctx.options = v", setup, args: [{ name: "options", valid: (c) => c.ctx.options }], call: (c, [v]) => void (c.ctx.options = v as number) },
  { name: "ctx.verifyFlags = v", setup, args: [{ name: "verifyFlags", valid: () => 0 }], call: (c, [v]) => void (c.ctx.verifyFlags = v as number) },
  { name: "ctx.getCaCerts(binaryForm)", setup, args: [{ name: "binaryForm", valid: () => false }], call: (c, [v]) => c.ctx.getCaCerts(v as false) },
  {
    name: "ctx.loadVerifyLocations(cafile, capath, cadata)",
    setup,
    args: [{ name: "cafile", valid: () => null }, { name: "capath", valid: () => "/tmp" }],
    call: (c, [a, b]) => c.ctx.loadVerifyLocations(a as null, b as null),
  },
  { name: "ctx.setAlpnProtocols(protocols)", setup, args: [{ name: "protocols", valid: () => ["h2"], msg: /protocols|ALPN/ }], call: (c, [v]) => c.ctx.setAlpnProtocols(v as string[]) },
  { name: "ctx.sniCallback = fn", setup: (loop) => ({ loop, ctx: new SSLContext(PROTOCOL_TLS_SERVER) }), args: [{ name: "sniCallback", valid: () => null }], call: (c, [v]) => void (c.ctx.sniCallback = v as null) },
  { name: "ctx.keylogFilename = path", setup, args: [{ name: "keylogFilename", valid: () => null }], call: (c, [v]) => void (c.ctx.keylogFilename = v as null) },
  { name: "ctx.postHandshakeAuth = on", setup, args: [{ name: "postHandshakeAuth", valid: () => false }], call: (c, [v]) => void (c.ctx.postHandshakeAuth = v as boolean) },
  { name: "ctx.hostnameChecksCommonName = on", setup, args: [{ name: "hostnameChecksCommonName", valid: () => false }], call: (c, [v]) => void (c.ctx.hostnameChecksCommonName = v as boolean) },
  { name: "ctx.numTickets = n", setup: (loop) => ({ loop, ctx: new SSLContext(PROTOCOL_TLS_SERVER) }), args: [{ name: "numTickets", valid: () => 2 }], call: (c, [v]) => void (c.ctx.numTickets = v as number) },
  { name: "ctx.setEcdhCurve(name)", setup, args: [{ name: "name", valid: () => "prime256v1" }], call: (c, [v]) => c.ctx.setEcdhCurve(v as string) },
  { name: "ctx.setCiphers(ciphers)", setup, args: [{ name: "ciphers", valid: () => "HIGH" }], call: (c, [v]) => c.ctx.setCiphers(v as string) },
];

badInputTests(cases);

test("loadVerifyLocations: cadata in a detached buffer is a TypeError naming cadata", () => {
  const buf = new ArrayBuffer(8);
  const views = [new DataView(buf), new Uint8Array(buf)];
  structuredClone(buf, { transfer: [buf] });
  for (const cadata of views) {
    assert.throws(() => new SSLContext().loadVerifyLocations(null, null, cadata), (e: Error) => e instanceof TypeError && /cadata/.test(e.message));
  }
});

test.run();
