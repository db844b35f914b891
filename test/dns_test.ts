/**
 * DNS: getaddrinfo/getnameinfo. Numeric hosts are answered in-process (a spy
 * proves no libc call and no thread hop), names go to libc off the main
 * thread; failures are GaiError. No network: names are "localhost" (from
 * /etc/hosts) and ".invalid" ones that cannot exist.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  AF_INET, AF_INET6, AF_UNSPEC, AI_CANONNAME, AI_NUMERICHOST, AI_PASSIVE, GaiError, IPPROTO_TCP, IPPROTO_UDP,
  NI_NUMERICHOST, NI_NUMERICSERV, OSError, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, ValueError,
} from "../mod.ts";
import { getaddrinfo, getnameinfo, parseNumericAddress } from "../src/dns.ts";
import { formatIPv6 } from "../src/sockaddr.ts";
import { C, libc, native } from "../src/native.ts";
import { settledFds } from "./_helpers.ts";

const linux = native.os === "linux";

/** A test that must leave the set of open descriptors as it found it. */
function fdTest(name: string, fn: () => Promise<void> | void) {
  test(name, async () => {
    const before = await settledFds();
    await fn();
    const after = await settledFds(before);
    assert.equal(after, before, "no descriptor leaked");
  });
}

// The first off-thread call may start a host thread (Bun: a worker, which
// opens descriptors of its own for its lifetime): start it before measuring.
test.before(async () => {
  await getaddrinfo("localhost", null, { family: AF_INET });
});

/** Count libc getaddrinfo/getnameinfo calls on this thread and off-thread calls while `fn` runs. */
async function spy<T>(fn: () => Promise<T>): Promise<{ value: T; sync: number; offThread: number }> {
  // deno-lint-ignore no-explicit-any
  const n = native as any, l = libc as any;
  const orig = { callBlocking: n.callBlocking, getaddrinfo: l.getaddrinfo, getnameinfo: l.getnameinfo };
  const counts = { sync: 0, offThread: 0 };
  n.callBlocking = (...a: unknown[]) => {
    counts.offThread++;
    return orig.callBlocking.apply(native, a);
  };
  l.getaddrinfo = (...a: unknown[]) => {
    counts.sync++;
    return orig.getaddrinfo(...a);
  };
  l.getnameinfo = (...a: unknown[]) => {
    counts.sync++;
    return orig.getnameinfo(...a);
  };
  try {
    return { value: await fn(), ...counts };
  } finally {
    Object.assign(n, { callBlocking: orig.callBlocking });
    Object.assign(l, { getaddrinfo: orig.getaddrinfo, getnameinfo: orig.getnameinfo });
  }
}

/** The error a promise rejects with (failing if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new assert.Assertion({ message: "expected a rejection", generated: false, operator: "rejects", expects: undefined, actual: undefined });
}

fdTest("numeric IPv4 is answered in-process, with glibc's entries", async () => {
  const r = await spy(() => getaddrinfo("127.0.0.1", 80, { type: SOCK_STREAM }));
  assert.equal(r.value, [[AF_INET, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 80]]]);
  assert.is(r.sync, 0, "no libc call");
  assert.is(r.offThread, 0, "no thread hop");

  const dgram = await spy(() => getaddrinfo("10.1.2.3", "5353", { type: SOCK_DGRAM }));
  assert.equal(dgram.value, [[AF_INET, SOCK_DGRAM, IPPROTO_UDP, "", ["10.1.2.3", 5353]]]);
  assert.is(dgram.sync + dgram.offThread, 0);

  const byProto = await getaddrinfo("127.0.0.1", null, { proto: IPPROTO_UDP });
  assert.equal(byProto, [[AF_INET, SOCK_DGRAM, IPPROTO_UDP, "", ["127.0.0.1", 0]]]);

  // No type: every kind libc lists (glibc: stream, datagram, raw) — the same answer either way.
  const all = await spy(() => getaddrinfo("127.0.0.1", 8080));
  assert.ok(all.value.length >= 2);
  assert.ok(all.value.every((ai) => ai[0] === AF_INET && ai[3] === "" && ai[4]![0] === "127.0.0.1" && ai[4]![1] === 8080));
  if (linux) {
    assert.equal(all.value.map((ai) => [ai[1], ai[2]]), [[SOCK_STREAM, IPPROTO_TCP], [SOCK_DGRAM, IPPROTO_UDP], [SOCK_RAW, 0]]);
    assert.is(all.sync + all.offThread, 0);
  }
});

fdTest("numeric IPv6 (with a scope) is answered in-process", async () => {
  const r = await spy(() => getaddrinfo("::1", "8080", { type: SOCK_STREAM }));
  assert.equal(r.value, [[AF_INET6, SOCK_STREAM, IPPROTO_TCP, "", ["::1", 8080, 0, 0]]]);
  assert.is(r.sync + r.offThread, 0);
  // The text comes back normalized, as libc writes it.
  const long = await getaddrinfo("0:0:0:0:0:0:0:1", 1, { type: SOCK_DGRAM });
  assert.is(long[0][4]![0], "::1");
  const mapped = await getaddrinfo("::FFFF:127.0.0.1", 1, { type: SOCK_DGRAM });
  assert.is(mapped[0][4]![0], "::ffff:127.0.0.1");
  const scoped = await spy(() => getaddrinfo("fe80::1%1", 443, { type: SOCK_STREAM, family: AF_INET6 }));
  assert.equal(scoped.value, [[AF_INET6, SOCK_STREAM, IPPROTO_TCP, "", ["fe80::1", 443, 0, 1]]]);
  assert.is(scoped.offThread, 0);
  // AI_CANONNAME names the first entry with the host as given.
  const canon = await getaddrinfo("127.0.0.1", 0, { type: SOCK_STREAM, flags: AI_CANONNAME });
  assert.is(canon[0][3], "127.0.0.1");
});

fdTest("hosts libc must judge but that cannot touch the network stay on this thread", async () => {
  // AI_NUMERICHOST with a name: EAI_NONAME, no thread hop.
  const named = await spy(() => rejection(getaddrinfo("localhost", 80, { flags: AI_NUMERICHOST })));
  assert.instance(named.value, GaiError);
  assert.is((named.value as GaiError).code, "EAI_NONAME");
  assert.is(named.offThread, 0);
  // The wrong family for a literal.
  const fam = await spy(() => rejection(getaddrinfo("::1", 80, { family: AF_INET })));
  assert.instance(fam.value, GaiError);
  if (linux) assert.is((fam.value as GaiError).code, "EAI_ADDRFAMILY");
  assert.is(fam.offThread, 0);
  // A null host: the wildcard addresses with AI_PASSIVE, loopback without.
  const passive = await spy(() => getaddrinfo(null, 8000, { type: SOCK_STREAM, flags: AI_PASSIVE }));
  assert.is(passive.offThread, 0);
  assert.equal(
    passive.value.map((ai) => ai[4]![0]).sort(),
    ["0.0.0.0", "::"],
  );
  const loop = await getaddrinfo(undefined, 8000, { type: SOCK_STREAM });
  assert.equal(loop.map((ai) => ai[4]![0]).sort(), ["127.0.0.1", "::1"]);
  assert.ok(loop.every((ai) => ai[4]![1] === 8000));
  // A numeric IPv4 form inet_pton does not take is libc's to judge (inet_aton takes it).
  const short = await getaddrinfo("127.1", 80, { type: SOCK_STREAM });
  assert.equal(short, [[AF_INET, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 80]]]);
});

fdTest("\"localhost\" goes through libc off the main thread", async () => {
  const r = await spy(() => getaddrinfo("localhost", 80, { type: SOCK_STREAM }));
  assert.is(r.offThread, 1, "one off-thread call");
  assert.ok(r.value.length >= 1);
  assert.ok(r.value.some((ai) => ai[0] === AF_INET && ai[4]![0] === "127.0.0.1" && ai[4]![1] === 80));
  for (const ai of r.value) {
    assert.is(ai[1], SOCK_STREAM);
    assert.is(ai[2], IPPROTO_TCP);
    assert.is(ai[3], "");
  }
  // Family filtering.
  const v4 = await getaddrinfo("localhost", 80, { family: AF_INET });
  assert.ok(v4.length >= 1);
  assert.ok(v4.every((ai) => ai[0] === AF_INET));
  // AI_CANONNAME through libc.
  const canon = await getaddrinfo("localhost", null, { family: AF_INET, type: SOCK_STREAM, flags: AI_CANONNAME });
  assert.is(canon[0][3], "localhost");
});

fdTest("several lookups at once all complete", async () => {
  const all = await Promise.all(
    Array.from({ length: 6 }, (_, i) => getaddrinfo("localhost", 1000 + i, { family: AF_INET, type: SOCK_STREAM })),
  );
  all.forEach((infos, i) => assert.equal(infos[0][4], ["127.0.0.1", 1000 + i]));
});

fdTest("a name that cannot exist rejects with GaiError EAI_NONAME", async () => {
  const e = await rejection(getaddrinfo("nonexistent.invalid", 80));
  assert.instance(e, GaiError);
  assert.instance(e, OSError);
  const g = e as GaiError;
  assert.is(g.name, "GaiError");
  assert.is(g.code, "EAI_NONAME");
  assert.is(g.errno, C.EAI_NONAME);
  if (linux) assert.is(g.errno, -2, "negative on Linux, as Python's socket.gaierror");
  assert.type(g.strerror, "string");
  assert.ok(g.strerror.length > 0);
  assert.is(g.message, `[Errno ${g.errno}] ${g.strerror}`);
});

fdTest("service names: \"http\" is port 80; an unknown service is EAI_SERVICE", async () => {
  const http = await getaddrinfo("127.0.0.1", "http", { type: SOCK_STREAM });
  assert.equal(http, [[AF_INET, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 80]]]);
  const local = await getaddrinfo("localhost", "https", { family: AF_INET, type: SOCK_STREAM });
  assert.equal(local[0][4], ["127.0.0.1", 443]);
  const e = await rejection(getaddrinfo("127.0.0.1", "no-such-service-here", { type: SOCK_STREAM }));
  assert.instance(e, GaiError);
  assert.is((e as GaiError).code, "EAI_SERVICE");
});

fdTest("family and type filtering", async () => {
  const v6only = await getaddrinfo(null, 80, { family: AF_INET6, type: SOCK_DGRAM });
  assert.equal(v6only, [[AF_INET6, SOCK_DGRAM, IPPROTO_UDP, "", ["::1", 80, 0, 0]]]);
  const v4only = await getaddrinfo(null, 80, { family: AF_INET, type: SOCK_STREAM, flags: AI_PASSIVE });
  assert.equal(v4only, [[AF_INET, SOCK_STREAM, IPPROTO_TCP, "", ["0.0.0.0", 80]]]);
  const unspec = await getaddrinfo("::1", 80, { family: AF_UNSPEC, type: SOCK_STREAM });
  assert.is(unspec[0][0], AF_INET6);
});

fdTest("getnameinfo: numeric in-process, service names and reverse lookups through libc", async () => {
  const num = await spy(() => getnameinfo(["127.0.0.1", 80], NI_NUMERICHOST | NI_NUMERICSERV));
  assert.equal(num.value, ["127.0.0.1", "80"]);
  assert.is(num.sync + num.offThread, 0, "no libc call, no thread hop");
  const v6 = await getnameinfo(["::1", 8080, 0, 0], NI_NUMERICHOST | NI_NUMERICSERV);
  assert.equal(v6, ["::1", "8080"]);
  const serv = await spy(() => getnameinfo(["127.0.0.1", 80], NI_NUMERICHOST));
  assert.equal(serv.value, ["127.0.0.1", "http"]);
  assert.is(serv.offThread, 0);
  const rev = await spy(() => getnameinfo(["127.0.0.1", 80]));
  assert.equal(rev.value, ["localhost", "http"]);
  assert.is(rev.offThread, 1);
  // Errors.
  const four = await rejection(getnameinfo(["127.0.0.1", 80, 0, 0], 0));
  assert.instance(four, OSError);
  assert.match(four.message, "IPv4 sockaddr must be 2 tuple");
  const name = await rejection(getnameinfo(["nonexistent.invalid", 80], 0));
  assert.instance(name, GaiError);
  assert.is((name as GaiError).code, "EAI_NONAME");
  assert.instance(await rejection(getnameinfo(["127.0.0.1", 70000], 0)), ValueError);
  assert.instance(await rejection(getnameinfo(["127.0.0.1", "80"], 0)), TypeError);
  assert.instance(await rejection(getnameinfo("127.0.0.1", 0)), TypeError);
  assert.instance(await rejection(getnameinfo(["127.0.0.1"], 0)), TypeError);
  assert.instance(await rejection(getnameinfo([80, 80], 0)), TypeError);
});

fdTest("bad arguments reject with TypeError/ValueError", async () => {
  assert.instance(await rejection(getaddrinfo(123 as unknown as string, 80)), TypeError);
  assert.instance(await rejection(getaddrinfo("127.0.0.1", 1.5)), TypeError);
  assert.instance(await rejection(getaddrinfo("127.0.0.1", {} as unknown as string)), TypeError);
  assert.instance(await rejection(getaddrinfo("127.0.0.1", 80, { flags: "x" as unknown as number })), TypeError);
  assert.instance(await rejection(getaddrinfo("local\0host", 80)), ValueError);
  // Not thrown synchronously: the promise carries the error.
  const p = getaddrinfo(123 as unknown as string, 80);
  assert.instance(p, Promise);
  await p.catch(() => {});
});

test("parseNumericAddress: v4, v6 and scoped literals; null for names and near misses", () => {
  const v4 = parseNumericAddress("192.168.1.20")!;
  assert.is(v4.family, AF_INET);
  assert.equal([...v4.bytes], [192, 168, 1, 20]);
  const v6 = parseNumericAddress("2001:db8::1")!;
  assert.is(v6.family, AF_INET6);
  assert.equal([...v6.bytes], [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.is(v6.scopeId, 0);
  assert.is(parseNumericAddress("fe80::1%1")!.scopeId, 1);
  for (const bad of ["localhost", "", "256.1.1.1", "1.2.3", "1.2.3.4.5", "::g", "fe80::1%no-such-if0", "[::1]", " 127.0.0.1"]) {
    assert.is(parseNumericAddress(bad), null, bad);
  }
  assert.is(parseNumericAddress(null), null);
  assert.is(parseNumericAddress(42), null);
});

test("IPv6 text is formatted exactly as libc's inet_ntop writes it", () => {
  const cases = [
    "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1:0:0:2:0:0:0:3", "1:0:0:0:2:0:0:3", "0:0:1:0:0:0:0:0",
    "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:0:0", "::ffff:0.0.0.1", "::2", "fe80::1", "2001:db8:0:0:1:0:0:1",
    "0:0:0:0:0:1:0:0", "1:0:1:0:1:0:1:0", "::ffff:0:1.2.3.4",
  ];
  const addr = new Uint8Array(new ArrayBuffer(16));
  const out = new Uint8Array(new ArrayBuffer(64));
  const src = new Uint8Array(new ArrayBuffer(64));
  const check = () => {
    const p = libc.inet_ntop(AF_INET6, addr, out, out.length);
    assert.not.ok(native.isNull(p));
    assert.is(formatIPv6(addr), native.readCString(p), [...addr].join(","));
  };
  for (const s of cases) {
    src.fill(0);
    new TextEncoder().encodeInto(s, src);
    assert.is(libc.inet_pton(AF_INET6, src, addr), 1, s);
    check();
  }
  // Random addresses with runs of zero groups.
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 500; i++) {
    for (let w = 0; w < 8; w++) {
      const v = rand() % 3 === 0 ? rand() & 0xffff : 0;
      addr[2 * w] = v >> 8;
      addr[2 * w + 1] = v & 0xff;
    }
    check();
  }
  // inet_ntop fails (NULL) for a bad family.
  assert.ok(native.isNull(libc.inet_ntop(12345, addr, out, out.length)));
});

test.run();
