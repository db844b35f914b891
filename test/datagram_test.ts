/** createDatagramEndpoint: UDP v4/v6 and UNIX datagram, errorReceived, bad input. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { AF_INET, AF_INET6, DatagramProtocol, type DatagramTransport, type EventLoop, newEventLoop, SOCK_DGRAM, Socket, ValueError } from "../mod.ts";
import { isA, settledFds } from "./_helpers.ts";
import { dec, enc, runUntil, tempSocketPath } from "./_net.ts";
import { libc } from "../src/native.ts";

class Rec extends DatagramProtocol {
  events: string[] = [];
  got: [string, unknown][] = [];
  errors: Error[] = [];
  transport: DatagramTransport | null = null;
  echo = false;
  override connectionMade(t: DatagramTransport) {
    this.transport = t;
    this.events.push("made");
  }
  override datagramReceived(d: Uint8Array, addr: unknown) {
    this.got.push([dec.decode(d), addr]);
    if (this.echo) this.transport!.sendto(d, addr);
  }
  override errorReceived(e: Error) {
    this.errors.push(e);
  }
  override connectionLost() {
    this.events.push("lost");
  }
}

const t = (name: string, fn: (loop: EventLoop) => Promise<void>) =>
  test(name, async () => {
    const before = await settledFds();
    const loop = newEventLoop();
    try {
      await fn(loop);
    } finally {
      loop.close();
    }
    assert.equal(await settledFds(before), before, "no descriptor leaked");
  });

t("UDP round trips over IPv4 and IPv6 (server echo, connected client)", async (loop) => {
  for (const host of ["127.0.0.1", "::1"]) {
    const [st, sp] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => Object.assign(new Rec(), { echo: true }), { localAddr: [host, 0] }));
    const addr = st.getExtraInfo("sockname") as [string, number];
    assert.is(st.getExtraInfo("peername"), null);
    const [ct, cp] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => new Rec(), { remoteAddr: addr }));
    assert.equal((ct.getExtraInfo("peername") as unknown[]).slice(0, 2), addr.slice(0, 2));
    ct.sendto(enc.encode("ping"));
    ct.sendto(new Uint8Array(0)); // empty datagrams are sent too (asyncio 3.13)
    await runUntil(loop, () => (cp as Rec).got.length === 2);
    assert.equal((cp as Rec).got.map((g) => g[0]), ["ping", ""]);
    assert.is((sp as Rec).got.length, 2);
    assert.throws(() => ct.sendto(enc.encode("x"), ["127.0.0.9", 9]), isA(ValueError, "Invalid address"));
    ct.close();
    st.close();
    await runUntil(loop, () => (cp as Rec).events.includes("lost") && (sp as Rec).events.includes("lost"));
    assert.equal((cp as Rec).events, ["made", "lost"]);
  }
});

t("errorReceived on an ICMP port unreachable; the transport stays open", async (loop) => {
  const tmp = new Socket(AF_INET, SOCK_DGRAM);
  tmp.bind(["127.0.0.1", 0]);
  const closedAddr = tmp.getsockname();
  tmp.close();
  const [ct, cp] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => new Rec(), { remoteAddr: closedAddr }));
  const p = cp as Rec;
  for (let i = 0; i < 5 && p.errors.length === 0; i++) {
    ct.sendto(enc.encode("anyone?"));
    await runUntil(loop, () => p.errors.length > 0, 0.2).catch(() => {});
  }
  assert.ok(p.errors.length > 0, "an error arrived");
  assert.is((p.errors[0] as { code?: string }).code, "ECONNREFUSED");
  assert.not.ok(ct.isClosing());
  ct.close();
  await runUntil(loop, () => p.events.includes("lost"));
});

t("UNIX datagram endpoints with paths (stale file replaced)", async (loop) => {
  const spath = tempSocketPath("dg");
  const cpath = tempSocketPath("dgc");
  const stale = new Socket(1, SOCK_DGRAM);
  stale.bind(spath);
  stale.close();
  const [st, sp] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => Object.assign(new Rec(), { echo: true }), { family: 1, localAddr: spath }));
  const [ct, cp] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => new Rec(), { family: 1, localAddr: cpath, remoteAddr: spath }));
  ct.sendto(enc.encode("unix dgram"));
  await runUntil(loop, () => (cp as Rec).got.length === 1);
  assert.equal((sp as Rec).got[0], ["unix dgram", cpath]);
  ct.close();
  st.close();
  await runUntil(loop, () => (sp as Rec).events.includes("lost"));
  for (const p of [spath, cpath]) libc.unlink(enc.encode(p + "\0"));
});

t("a datagram endpoint over an existing socket; bad input", async (loop) => {
  const s = new Socket(AF_INET6, SOCK_DGRAM);
  s.bind(["::1", 0]);
  const [tr] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => new Rec(), { sock: s }));
  assert.is(tr.getExtraInfo("socket"), s);
  assert.is(tr.getWriteBufferSize(), 0);
  tr.abort();
  await runUntil(loop, () => s.fileno() === -1);
  for (const [opts, cls, re] of [
    [{}, ValueError, "unexpected address family"],
    [{ sock: new Socket(AF_INET, 1) }, ValueError, "datagram socket was expected"],
    [{ family: AF_INET, localAddr: "not a tuple" }, TypeError, "2-tuple"],
    [{ family: 1, localAddr: ["127.0.0.1", 0] }, TypeError, "string is expected"],
  ] as const) {
    try {
      await loop.runUntilComplete(loop.createDatagramEndpoint(() => new Rec(), opts as never));
      assert.unreachable();
    } catch (e) {
      assert.instance(e, cls);
      assert.match((e as Error).message, re);
    } finally {
      (opts as { sock?: Socket }).sock?.close();
    }
  }
  // deno-lint-ignore no-explicit-any
  assert.throws(() => loop.createDatagramEndpoint(() => new Rec(), { reuseAddress: true } as any), isA(TypeError, "reuseAddress"));
});

test.run();
