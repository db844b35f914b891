/** loop.sock* methods on real sockets: receive, send, connect, accept, datagrams, cancellation, bad input. */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  AF_INET, AF_INET6, ConnectionRefusedError, type EventLoop, newEventLoop, OSError, SOCK_DGRAM, SOCK_STREAM, Socket,
  socketpair, ValueError,
} from "../mod.ts";
import { loopTestsEachSelector, settledFds } from "./_helpers.ts";
import { dec, enc, pattern, sha256 } from "./_net.ts";

const t = loopTestsEachSelector(test);

t("sockRecv waits for data; sockSendall sends everything", async (loop) => {
  const [a, b] = socketpair();
  a.setblocking(false);
  b.setblocking(false);
  const r = loop.sockRecv(b, 100);
  loop.callLater(0.01, () => a.send(enc.encode("late")));
  assert.is(dec.decode(await loop.runUntilComplete(r)), "late");
  const big = pattern(4 * 1024 * 1024);
  const chunks: Uint8Array[] = [];
  let got = 0;
  const reader = loop.runUntilComplete(function* () {
    const send = loop.sockSendall(a, big);
    while (got < big.length) {
      const d = yield* loop.sockRecv(b, 65536);
      chunks.push(d);
      got += d.length;
    }
    yield* send;
  });
  await reader;
  const all = new Uint8Array(got);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  assert.is(await sha256(all), await sha256(big));
  a.close();
  b.close();
});

t("sockRecvInto fills a caller's buffer", async (loop) => {
  const [a, b] = socketpair();
  a.setblocking(false);
  b.setblocking(false);
  const buf = new Uint8Array(10);
  const f = loop.sockRecvInto(b, buf);
  a.send(enc.encode("0123"));
  assert.is(await loop.runUntilComplete(f), 4);
  assert.is(dec.decode(buf.subarray(0, 4)), "0123");
  a.close();
  b.close();
});

t("a cancelled sockRecv stops watching and consumes nothing", async (loop) => {
  const [a, b] = socketpair();
  a.setblocking(false);
  b.setblocking(false);
  const f = loop.sockRecv(b, 100);
  loop.callLater(0.01, () => f.cancel());
  try {
    await loop.runUntilComplete(f);
    assert.unreachable();
  } catch (e) {
    assert.is((e as Error).name, "CancelledError");
  }
  a.send(enc.encode("kept"));
  assert.is(dec.decode(await loop.runUntilComplete(loop.sockRecv(b, 100))), "kept");
  assert.is(loop.removeReader(b), false, "no reader left behind");
  a.close();
  b.close();
});

t("sockConnect + sockAccept over TCP v4 and v6; refused connect", async (loop) => {
  for (const [fam, host] of [[AF_INET, "127.0.0.1"], [AF_INET6, "::1"]] as const) {
    const lsock = new Socket(fam, SOCK_STREAM);
    lsock.bind([host, 0]);
    lsock.listen(5);
    lsock.setblocking(false);
    const addr = lsock.getsockname() as [string, number];
    const c = new Socket(fam, SOCK_STREAM);
    c.setblocking(false);
    const acc = loop.sockAccept(lsock);
    await loop.runUntilComplete(loop.sockConnect(c, addr));
    const [conn, peer] = await loop.runUntilComplete(acc);
    assert.not.ok(conn.getblocking(), "accepted socket is non-blocking");
    assert.equal((peer as unknown[])[0], host);
    await loop.runUntilComplete(loop.sockSendall(c, enc.encode("x")));
    assert.is(dec.decode(await loop.runUntilComplete(loop.sockRecv(conn, 10))), "x");
    conn.close();
    c.close();
    lsock.close();
  }
  const dead = new Socket(AF_INET, SOCK_STREAM);
  dead.bind(["127.0.0.1", 0]);
  const deadAddr = dead.getsockname();
  dead.close();
  const c = new Socket(AF_INET, SOCK_STREAM);
  c.setblocking(false);
  try {
    await loop.runUntilComplete(loop.sockConnect(c, deadAddr));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ConnectionRefusedError);
  }
  c.close();
});

t("sockConnect resolves a host name", async (loop) => {
  const lsock = new Socket(AF_INET, SOCK_STREAM);
  lsock.bind(["127.0.0.1", 0]);
  lsock.listen(1);
  const [, p] = lsock.getsockname() as [string, number];
  const c = new Socket(AF_INET, SOCK_STREAM);
  c.setblocking(false);
  await loop.runUntilComplete(loop.sockConnect(c, ["localhost", p]));
  assert.equal(c.getpeername(), ["127.0.0.1", p]);
  c.close();
  lsock.close();
});

t("UDP with sockSendto / sockRecvfrom", async (loop) => {
  const s = new Socket(AF_INET, SOCK_DGRAM);
  s.bind(["127.0.0.1", 0]);
  s.setblocking(false);
  const c = new Socket(AF_INET, SOCK_DGRAM);
  c.setblocking(false);
  const r = loop.sockRecvfrom(s, 100);
  assert.is(await loop.runUntilComplete(loop.sockSendto(c, enc.encode("dgram"), s.getsockname())), 5);
  const [data, from] = await loop.runUntilComplete(r);
  assert.is(dec.decode(data), "dgram");
  assert.is((from as [string, number])[0], "127.0.0.1");
  const buf = new Uint8Array(16);
  const r2 = loop.sockRecvfromInto(s, buf);
  await loop.runUntilComplete(loop.sockSendto(c, enc.encode("two"), s.getsockname()));
  const [n] = await loop.runUntilComplete(r2);
  assert.is(n, 3);
  s.close();
  c.close();
});

t("a blocking socket is refused with ValueError; a listening socket in sockRecv errors", async (loop) => {
  const [a, b] = socketpair();
  try {
    await loop.runUntilComplete(loop.sockRecv(a, 10));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ValueError);
    assert.match((e as Error).message, "non-blocking");
  }
  const l = new Socket(AF_INET, SOCK_STREAM);
  l.bind(["127.0.0.1", 0]);
  l.listen(1);
  l.setblocking(false);
  try {
    await loop.runUntilComplete(loop.sockRecv(l, 10));
    assert.unreachable();
  } catch (e) {
    assert.is((e as { code?: string }).code, "ENOTCONN");
  }
  b.setblocking(false);
  try {
    // deno-lint-ignore no-explicit-any
    await loop.runUntilComplete(loop.sockSendall(b, "str" as any));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TypeError);
  }
  try {
    await loop.runUntilComplete(loop.sockRecv(b, -1));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ValueError);
  }
  b.close();
  try {
    await loop.runUntilComplete(loop.sockRecv(b, 1));
    assert.unreachable();
  } catch (e) {
    assert.is((e as { code?: string }).code, "EBADF");
  }
  // Wrong address family: a path for an IPv4 socket, an IPv6 literal for it.
  const s4 = new Socket(AF_INET, SOCK_STREAM);
  s4.setblocking(false);
  try {
    await loop.runUntilComplete(loop.sockConnect(s4, "/tmp/not-inet"));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TypeError);
  }
  try {
    await loop.runUntilComplete(loop.sockConnect(s4, ["::1", 80]));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, OSError);
  }
  s4.close();
  a.close();
  l.close();
});

test.run();
