/**
 * Socket networking: TCP and UDP over 127.0.0.1 and ::1, AF_UNIX stream and
 * datagram sockets, options, timeouts, non-blocking connect, errors and bad
 * input. Loopback addresses only.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  AF_INET, AF_INET6, AF_UNIX, BlockingIOError, ConnectionRefusedError, GaiError, getdefaulttimeout, IPPROTO_TCP,
  IPPROTO_UDP, IPV6_V6ONLY, IPPROTO_IPV6, MSG_PEEK, OSError, SHUT_WR, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_RCVBUF,
  SO_REUSEADDR, SO_TYPE, SOCK_DGRAM, SOCK_STREAM, Socket, type SocketAddress, socketpair, setdefaulttimeout,
  SOL_SOCKET, SOMAXCONN, TCP_NODELAY, TimeoutError, ValueError,
} from "../mod.ts";
import { C, libc, native } from "../src/native.ts";
import { isA, settledFds } from "./_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (s: string) => enc.encode(s);
const text = (b: Uint8Array) => dec.decode(b);
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

/** The error `f` throws (failing if it does not). */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new assert.Assertion({ message: "expected an exception", generated: false, operator: "throws", expects: undefined, actual: undefined });
}

/** Close every socket, whatever happened. */
function closeAll(...socks: (Socket | null | undefined)[]): void {
  for (const s of socks) s?.close();
}

/** A listening TCP socket on `host`, port chosen by the kernel. */
function listener(family: number, host: string): Socket {
  const s = new Socket(family, SOCK_STREAM);
  s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  s.bind(family === AF_INET6 ? [host, 0, 0, 0] : [host, 0]);
  s.listen();
  return s;
}

/** Wait (blocking, up to `ms`) until `fd` is writable; true if it is. */
function waitWritable(fd: number, ms = 2000): boolean {
  const pfd = new Uint8Array(new ArrayBuffer(8));
  const dv = new DataView(pfd.buffer);
  dv.setInt32(0, fd, true);
  dv.setInt16(4, C.POLLOUT, true);
  return libc.poll(pfd, 1, ms) === 1;
}

/** A temporary AF_UNIX path (not created). */
let pathCounter = 0;
function tempPath(): string {
  return `/tmp/tsyncio-${libc.getpid()}-${Date.now().toString(36)}-${pathCounter++}.sock`;
}

function unlink(path: string): void {
  libc.unlink(enc.encode(path + "\0"));
}

/** A port on 127.0.0.1 nothing listens on (bound once, then released). */
function closedPort(family = AF_INET, host = "127.0.0.1"): number {
  const s = new Socket(family, SOCK_STREAM);
  s.bind(family === AF_INET6 ? [host, 0, 0, 0] : [host, 0]);
  const port = (s.getsockname() as [string, number])[1];
  s.close();
  return port;
}

for (const [family, host, name] of [[AF_INET, "127.0.0.1", "IPv4"], [AF_INET6, "::1", "IPv6"]] as const) {
  fdTest(`TCP over ${host}: bind, listen, connect, accept, send, recv, names`, () => {
    let srv: Socket | null = null, cli: Socket | null = null, conn: Socket | null = null;
    try {
      srv = listener(family, host);
      const local = srv.getsockname() as [string, number, number?, number?];
      assert.is(local[0], host);
      assert.ok(local[1] > 0 && local[1] < 65536, "a kernel-chosen port");
      if (family === AF_INET6) {
        assert.is(local.length, 4, "AF_INET6 addresses are [host, port, flowinfo, scopeId]");
        assert.is(local[2], 0);
        assert.is(local[3], 0);
      } else {
        assert.is(local.length, 2, "AF_INET addresses are [host, port]");
      }

      cli = new Socket(family, SOCK_STREAM);
      cli.connect([host, local[1]]);
      let addr: SocketAddress;
      [conn, addr] = srv.accept();
      assert.instance(conn, Socket);
      assert.equal(addr, cli.getsockname(), "accept() returns the client's address");
      assert.equal(conn.getpeername(), cli.getsockname());
      assert.equal(cli.getpeername(), conn.getsockname());
      assert.equal((conn.getsockname() as unknown[])[1], local[1]);
      assert.is(conn.family, family);
      assert.is(conn.type, SOCK_STREAM);
      assert.ok(conn.getblocking(), "accepted sockets are blocking");
      assert.is(conn.gettimeout(), null);
      assert.is(libc.fcntl(conn.fileno(), C.F_GETFL, 0) & C.O_NONBLOCK, 0);
      assert.is(libc.fcntl(conn.fileno(), C.F_GETFD, 0) & C.FD_CLOEXEC, 1, "accepted sockets are close-on-exec");

      cli.sendall(bytes(`hello over ${name}`));
      assert.is(text(conn.recv(100)), `hello over ${name}`);
      assert.is(conn.send(bytes("reply")), 5);
      assert.is(text(cli.recv(100)), "reply");
      // recvInto and MSG_PEEK
      cli.sendall(bytes("peekaboo"));
      assert.is(text(conn.recv(4, MSG_PEEK)), "peek");
      const buf = new Uint8Array(16);
      assert.is(conn.recvInto(buf), 8);
      assert.is(text(buf.subarray(0, 8)), "peekaboo");
      // Half close: the peer reads EOF.
      cli.shutdown(SHUT_WR);
      assert.is(conn.recv(10).length, 0);
      assert.match(String(conn), "laddr=");
      assert.match(String(conn), "raddr=");
    } finally {
      closeAll(srv, cli, conn);
    }
  });

  fdTest(`UDP over ${host}: sendto/recvfrom with addresses, recvfromInto, connected datagrams`, () => {
    let a: Socket | null = null, b: Socket | null = null;
    try {
      a = new Socket(family, SOCK_DGRAM);
      b = new Socket(family, SOCK_DGRAM);
      assert.is(a.type, SOCK_DGRAM);
      a.bind(family === AF_INET6 ? [host, 0, 0, 0] : [host, 0]);
      b.bind([host, 0]);
      const aAddr = a.getsockname() as [string, number];
      const bAddr = b.getsockname();
      assert.is(b.sendto(bytes("one"), aAddr), 3);
      assert.is(b.sendto(bytes("two!"), 0, [host, aAddr[1]]), 4, "sendto(data, flags, address)");
      const [d1, from1] = a.recvfrom(100);
      assert.is(text(d1), "one");
      assert.equal(from1, bAddr, "recvfrom returns the sender's address");
      const into = new Uint8Array(10);
      const [n2, from2] = a.recvfromInto(into);
      assert.is(n2, 4);
      assert.is(text(into.subarray(0, 4)), "two!");
      assert.equal(from2, bAddr);
      // A datagram longer than the buffer is truncated (the rest is dropped).
      b.sendto(bytes("0123456789"), aAddr);
      const [d3] = a.recvfrom(4);
      assert.is(text(d3), "0123");
      // Connected datagram sockets use send/recv.
      b.connect(aAddr);
      b.send(bytes("connected"));
      assert.is(text(a.recv(100)), "connected");
      a.setblocking(false);
      assert.throws(() => a!.recvfrom(10), isA(BlockingIOError), "nothing left");
      // An empty datagram is a datagram.
      b.send(new Uint8Array(0));
      a.setblocking(true);
      const [empty, from4] = a.recvfrom(10);
      assert.is(empty.length, 0);
      assert.equal(from4, bAddr);
    } finally {
      closeAll(a, b);
    }
  });

  fdTest(`connect to a closed port on ${host}: ConnectionRefusedError with errno and code; connectEx returns it`, () => {
    const port = closedPort(family, host);
    const s = new Socket(family, SOCK_STREAM);
    try {
      const e = thrown(() => s.connect([host, port])) as OSError;
      assert.instance(e, ConnectionRefusedError);
      assert.instance(e, OSError);
      assert.is(e.code, "ECONNREFUSED");
      assert.is(e.errno, linux ? 111 : 61);
      assert.match(e.message, "[Errno");
    } finally {
      s.close();
    }
    const s2 = new Socket(family, SOCK_STREAM);
    try {
      assert.is(s2.connectEx([host, port]), linux ? 111 : 61);
    } finally {
      s2.close();
    }
  });
}

fdTest("an IPv6 socket with IPV6_V6ONLY and addresses given as [host, port] pairs", () => {
  const s = new Socket(AF_INET6, SOCK_STREAM);
  try {
    s.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
    assert.is(s.getsockopt(IPPROTO_IPV6, IPV6_V6ONLY), 1);
    s.bind(["::1", 0]);
    const addr = s.getsockname() as unknown[];
    assert.is(addr.length, 4);
    assert.is(addr[0], "::1");
    // flowinfo and scopeId ranges are checked.
    const t = new Socket(AF_INET6, SOCK_DGRAM);
    try {
      assert.throws(() => t.sendto(bytes("x"), ["::1", 9, 0x100000, 0]), isA(ValueError, "flowinfo"));
      assert.throws(() => t.sendto(bytes("x"), ["::1", 9, 0, -1]), isA(ValueError, "scopeId"));
      assert.throws(() => t.sendto(bytes("x"), ["::1", 9, 0, 0, 0]), isA(TypeError));
    } finally {
      t.close();
    }
  } finally {
    s.close();
  }
});

fdTest("AF_UNIX stream over a filesystem path: the server sees an unnamed peer (\"\")", () => {
  const path = tempPath();
  let srv: Socket | null = null, cli: Socket | null = null, conn: Socket | null = null;
  try {
    srv = new Socket(AF_UNIX, SOCK_STREAM);
    srv.bind(path);
    srv.listen(5);
    assert.is(srv.getsockname(), path);
    cli = new Socket(AF_UNIX, SOCK_STREAM);
    cli.connect(path);
    let addr: SocketAddress;
    [conn, addr] = srv.accept();
    assert.is(addr, "", "an unbound client has no name");
    assert.is(cli.getsockname(), "");
    assert.is(cli.getpeername(), path);
    assert.is(conn.getsockname(), path);
    assert.is(conn.family, AF_UNIX);
    cli.sendall(bytes("over a path"));
    assert.is(text(conn.recv(100)), "over a path");
    // Binding the same path again fails: it exists.
    const again = new Socket(AF_UNIX, SOCK_STREAM);
    try {
      const e = thrown(() => again.bind(path)) as OSError;
      assert.instance(e, OSError);
      assert.is(e.code, "EADDRINUSE");
    } finally {
      again.close();
    }
  } finally {
    closeAll(srv, cli, conn);
    unlink(path);
  }
});

if (linux) {
  fdTest("AF_UNIX stream over a Linux abstract name (\"\\0...\")", () => {
    const name = `\0tsyncio-test-${libc.getpid()}-${Date.now()}`;
    let srv: Socket | null = null, cli: Socket | null = null, conn: Socket | null = null;
    try {
      srv = new Socket(AF_UNIX, SOCK_STREAM);
      srv.bind(name);
      srv.listen();
      assert.is(srv.getsockname(), name, "the name comes back with its leading NUL");
      cli = new Socket(AF_UNIX, SOCK_STREAM);
      cli.connect(name);
      [conn] = srv.accept();
      assert.is(cli.getpeername(), name);
      conn.sendall(bytes("abstract"));
      assert.is(text(cli.recv(100)), "abstract");
      // "" autobinds to a kernel-chosen abstract name.
      const auto = new Socket(AF_UNIX, SOCK_DGRAM);
      try {
        auto.bind("");
        const got = auto.getsockname() as string;
        assert.type(got, "string");
        assert.is(got[0], "\0");
        assert.ok(got.length > 1);
      } finally {
        auto.close();
      }
    } finally {
      closeAll(srv, cli, conn);
    }
  });
}

fdTest("AF_UNIX datagrams: recvfrom names a bound sender, null for an unbound one", () => {
  const rpath = tempPath(), spath = tempPath();
  let r: Socket | null = null, s: Socket | null = null, anon: Socket | null = null;
  try {
    r = new Socket(AF_UNIX, SOCK_DGRAM);
    r.bind(rpath);
    s = new Socket(AF_UNIX, SOCK_DGRAM);
    s.bind(spath);
    assert.is(s.sendto(bytes("from a path"), rpath), 11);
    const [d, from] = r.recvfrom(100);
    assert.is(text(d), "from a path");
    assert.is(from, spath);
    anon = new Socket(AF_UNIX, SOCK_DGRAM);
    anon.sendto(bytes("anonymous"), rpath);
    const [d2, from2] = r.recvfrom(100);
    assert.is(text(d2), "anonymous");
    assert.ok(from2 === null || from2 === "", `an unbound sender has no address (got ${JSON.stringify(from2)})`);
    // Datagram socketpair.
    const [p, q] = socketpair(AF_UNIX, SOCK_DGRAM);
    try {
      p.send(bytes("pair"));
      assert.is(text(q.recv(10)), "pair");
      assert.is(p.type, SOCK_DGRAM);
    } finally {
      p.close();
      q.close();
    }
  } finally {
    closeAll(r, s, anon);
    unlink(rpath);
    unlink(spath);
  }
});

fdTest("setsockopt/getsockopt: ints, booleans, raw bytes, bad options", () => {
  const s = new Socket(AF_INET, SOCK_STREAM);
  try {
    assert.is(s.getsockopt(SOL_SOCKET, SO_TYPE), SOCK_STREAM);
    assert.is(s.getsockopt(SOL_SOCKET, SO_ERROR), 0);
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    assert.ok(s.getsockopt(SOL_SOCKET, SO_REUSEADDR) !== 0);
    s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 0);
    assert.is(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
    s.setsockopt(IPPROTO_TCP, TCP_NODELAY, true);
    assert.ok(s.getsockopt(IPPROTO_TCP, TCP_NODELAY) !== 0);
    s.setsockopt(IPPROTO_TCP, TCP_NODELAY, false);
    assert.is(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0);
    s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
    assert.ok(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE) !== 0);
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 65536);
    assert.ok(s.getsockopt(SOL_SOCKET, SO_RCVBUF) >= 65536, "the kernel may round SO_RCVBUF up");

    // struct linger { int l_onoff; int l_linger; } as raw bytes.
    const linger = new Uint8Array(new Int32Array([1, 7]).buffer);
    s.setsockopt(SOL_SOCKET, SO_LINGER, linger);
    const got = s.getsockopt(SOL_SOCKET, SO_LINGER, 8);
    assert.instance(got, Uint8Array);
    assert.is(got.length, 8);
    const dv = new DataView(got.buffer, got.byteOffset, 8);
    assert.ok(dv.getInt32(0, true) !== 0);
    assert.is(dv.getInt32(4, true), 7);
    // An int option read as bytes.
    const raw = s.getsockopt(SOL_SOCKET, SO_TYPE, 4);
    assert.is(new DataView(raw.buffer, raw.byteOffset, 4).getInt32(0, true), SOCK_STREAM);

    const e = thrown(() => s.setsockopt(SOL_SOCKET, 12345, 1)) as OSError;
    assert.instance(e, OSError);
    assert.is(e.code, "ENOPROTOOPT");
    assert.throws(() => s.getsockopt(SOL_SOCKET, SO_TYPE, 0), isA(OSError, "buflen"));
    assert.throws(() => s.getsockopt(SOL_SOCKET, SO_TYPE, 4096), isA(OSError, "buflen"));
    assert.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, "1" as unknown as number), isA(TypeError));
    assert.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1.5), isA(TypeError));
    assert.throws(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 2 ** 40), isA(ValueError));
    assert.throws(() => s.setsockopt("1" as unknown as number, SO_REUSEADDR, 1), isA(TypeError));
  } finally {
    s.close();
  }
});

fdTest("settimeout: recv waits up to the timeout, then raises TimeoutError(\"timed out\")", () => {
  const [a, b] = socketpair();
  try {
    assert.is(a.gettimeout(), null);
    a.settimeout(0.05);
    assert.is(a.gettimeout(), 0.05);
    assert.ok(a.getblocking(), "a timed socket counts as blocking (Python: gettimeout() != 0)");
    assert.ok((libc.fcntl(a.fileno(), C.F_GETFL, 0) & C.O_NONBLOCK) !== 0, "its descriptor is non-blocking");
    const t0 = native.now();
    const e = thrown(() => a.recv(10)) as OSError;
    const elapsed = native.now() - t0;
    assert.instance(e, TimeoutError);
    assert.instance(e, OSError);
    assert.is(e.message, "timed out");
    assert.ok(elapsed >= 45 && elapsed < 1000, `waited about 50 ms (${elapsed.toFixed(1)} ms)`);
    // Data that is there is returned at once.
    b.send(bytes("ready"));
    assert.is(text(a.recv(10)), "ready");
    assert.throws(() => a.recvInto(new Uint8Array(4)), isA(TimeoutError));
    assert.throws(() => a.recvfrom(4), isA(TimeoutError));

    // sendall on a full socket times out too.
    b.settimeout(0.05);
    const t1 = native.now();
    assert.throws(() => b.sendall(new Uint8Array(8 << 20)), isA(TimeoutError));
    assert.ok(native.now() - t1 >= 45);

    // (a now holds what b's sendall got through; b has nothing to read.)
    b.settimeout(0);
    assert.is(b.gettimeout(), 0);
    assert.not.ok(b.getblocking());
    assert.throws(() => b.recv(10), isA(BlockingIOError), "timeout 0 never waits");
    a.settimeout(0);
    a.setblocking(true);
    assert.is(a.gettimeout(), null);
    assert.is(libc.fcntl(a.fileno(), C.F_GETFL, 0) & C.O_NONBLOCK, 0);
    a.setblocking(false);
    assert.is(a.gettimeout(), 0);

    assert.throws(() => a.settimeout(-1), isA(ValueError));
    assert.throws(() => a.settimeout(NaN), isA(ValueError));
    assert.throws(() => a.settimeout("1" as unknown as number), isA(TypeError));
  } finally {
    a.close();
    b.close();
  }
});

fdTest("settimeout: accept and connect on timed sockets", () => {
  const srv = listener(AF_INET, "127.0.0.1");
  let cli: Socket | null = null, conn: Socket | null = null;
  try {
    srv.settimeout(0.05);
    assert.throws(() => srv.accept(), isA(TimeoutError), "no client within the timeout");
    cli = new Socket(AF_INET, SOCK_STREAM);
    cli.settimeout(2);
    cli.connect(srv.getsockname());
    assert.is(cli.gettimeout(), 2);
    [conn] = srv.accept();
    assert.is(conn.gettimeout(), null, "an accepted socket is blocking even if the listener has a timeout");
    assert.ok(conn.getblocking());
    cli.sendall(bytes("timed"));
    assert.is(text(conn.recv(10)), "timed");
  } finally {
    closeAll(srv, cli, conn);
  }
});

fdTest("setdefaulttimeout applies to new and accepted sockets", () => {
  assert.is(getdefaulttimeout(), null);
  let srv: Socket | null = null, cli: Socket | null = null, conn: Socket | null = null;
  try {
    setdefaulttimeout(0.5);
    assert.is(getdefaulttimeout(), 0.5);
    srv = listener(AF_INET, "127.0.0.1");
    assert.is(srv.gettimeout(), 0.5);
    cli = new Socket(AF_INET, SOCK_STREAM);
    cli.connect(srv.getsockname());
    [conn] = srv.accept();
    assert.is(conn.gettimeout(), 0.5);
    assert.ok((libc.fcntl(conn.fileno(), C.F_GETFL, 0) & C.O_NONBLOCK) !== 0);
  } finally {
    setdefaulttimeout(null);
    closeAll(srv, cli, conn);
  }
  assert.is(getdefaulttimeout(), null);
  assert.throws(() => setdefaulttimeout(-2), isA(ValueError));
});

fdTest("non-blocking connect: BlockingIOError EINPROGRESS, then SO_ERROR 0 and connectEx", () => {
  const srv = listener(AF_INET, "127.0.0.1");
  let cli: Socket | null = null, conn: Socket | null = null;
  try {
    const addr = srv.getsockname();
    cli = new Socket(AF_INET, SOCK_STREAM);
    cli.setblocking(false);
    let inProgress = true;
    try {
      cli.connect(addr);
      inProgress = false; // loopback may connect at once
    } catch (e) {
      assert.instance(e, BlockingIOError);
      assert.is((e as OSError).code, "EINPROGRESS");
      assert.is((e as OSError).errno, linux ? 115 : 36);
    }
    if (inProgress) assert.ok(waitWritable(cli.fileno()), "the connection completes");
    assert.is(cli.getsockopt(SOL_SOCKET, SO_ERROR), 0);
    const again = cli.connectEx(addr);
    assert.ok(again === 0 || again === (linux ? 106 : 56), `connectEx after completion: 0 or EISCONN (got ${again})`);
    [conn] = srv.accept();
    cli.send(bytes("async"));
    assert.is(text(conn.recv(10)), "async");

    // connectEx reports EINPROGRESS as a number.
    const c2 = new Socket(AF_INET, SOCK_STREAM);
    try {
      c2.setblocking(false);
      const r = c2.connectEx(addr);
      assert.ok(r === 0 || r === (linux ? 115 : 36), `EINPROGRESS or done (got ${r})`);
      if (r !== 0) waitWritable(c2.fileno());
      srv.accept()[0].close();
    } finally {
      c2.close();
    }
    // A refused non-blocking connection shows up in SO_ERROR.
    const port = closedPort();
    const c3 = new Socket(AF_INET, SOCK_STREAM);
    try {
      c3.setblocking(false);
      const r = c3.connectEx(["127.0.0.1", port]);
      if (r === (linux ? 115 : 36)) {
        assert.ok(waitWritable(c3.fileno()));
        assert.is(c3.getsockopt(SOL_SOCKET, SO_ERROR), linux ? 111 : 61);
      } else {
        assert.is(r, linux ? 111 : 61);
      }
    } finally {
      c3.close();
    }
  } finally {
    closeAll(srv, cli, conn);
  }
});

fdTest("host names: numeric, \"\", and \"localhost\" work; other names raise GaiError EAI_NONAME", () => {
  const s = new Socket(AF_INET, SOCK_DGRAM);
  try {
    s.bind(["localhost", 0]);
    assert.is((s.getsockname() as unknown[])[0], "127.0.0.1");
    const any = new Socket(AF_INET, SOCK_DGRAM);
    try {
      any.bind(["", 0]);
      assert.is((any.getsockname() as unknown[])[0], "0.0.0.0", "\"\" is the wildcard address");
    } finally {
      any.close();
    }
    const e = thrown(() => s.sendto(bytes("x"), ["nonexistent.invalid", 9])) as GaiError;
    assert.instance(e, GaiError);
    assert.instance(e, OSError);
    assert.is(e.code, "EAI_NONAME");
    assert.is(e.errno, C.EAI_NONAME);
    assert.match(e.message, "getaddrinfo");
    // An IPv4 literal on an IPv6 socket is the wrong family.
    const v6 = new Socket(AF_INET6, SOCK_DGRAM);
    try {
      const e6 = thrown(() => v6.connect(["127.0.0.1", 9])) as OSError;
      assert.instance(e6, GaiError);
      if (linux) assert.is(e6.code, "EAI_ADDRFAMILY");
      v6.bind(["", 0]);
      assert.is((v6.getsockname() as unknown[])[0], "::");
      assert.throws(() => v6.sendto(bytes("x"), ["<broadcast>", 9]), isA(OSError, "family"));
    } finally {
      v6.close();
    }
  } finally {
    s.close();
  }
});

fdTest("bad input: TypeError/ValueError for wrong shapes, OSError with errno and code for the kernel's refusals", () => {
  const s = new Socket(AF_INET, SOCK_STREAM);
  const u = new Socket(AF_UNIX, SOCK_STREAM);
  try {
    assert.throws(() => s.connect("127.0.0.1:80"), isA(TypeError, "AF_INET address"));
    assert.throws(() => s.connect(["127.0.0.1"]), isA(TypeError));
    assert.throws(() => s.connect(["127.0.0.1", 80, 0]), isA(TypeError));
    assert.throws(() => s.connect(["127.0.0.1", "80"]), isA(TypeError, "port"));
    assert.throws(() => s.connect(["127.0.0.1", 1.5]), isA(TypeError, "port"));
    assert.throws(() => s.connect(["127.0.0.1", 70000]), isA(ValueError, "0-65535"));
    assert.throws(() => s.connect(["127.0.0.1", -1]), isA(ValueError, "0-65535"));
    assert.throws(() => s.bind([127, 80]), isA(TypeError, "host"));
    assert.throws(() => s.bind(["127.0.0.1\0", 80]), isA(ValueError));
    assert.throws(() => s.send("text" as unknown as Uint8Array), isA(TypeError, "string"));
    assert.throws(() => s.sendto("text" as unknown as Uint8Array, ["127.0.0.1", 9]), isA(TypeError, "string"));
    assert.throws(() => (s.sendto as (...a: unknown[]) => number)(bytes("x")), isA(TypeError, "2 or 3"));
    assert.throws(() => s.listen("5" as unknown as number), isA(TypeError));
    assert.throws(() => s.recvfrom(-1), isA(ValueError));
    assert.throws(() => s.recvfromInto(new Uint8Array(2), 3), isA(ValueError));

    assert.throws(() => u.bind(["/tmp/x", 0]), isA(TypeError, "AF_UNIX"));
    assert.throws(() => u.connect(42), isA(TypeError, "AF_UNIX"));
    const long = thrown(() => u.bind("/tmp/" + "x".repeat(200))) as OSError;
    assert.instance(long, OSError);
    assert.match(long.message, "too long");
    assert.is(long.code, "ENAMETOOLONG");
    assert.throws(() => u.bind("/tmp/a\0b"), isA(ValueError));
    const missing = thrown(() => u.connect("/nonexistent-dir/tsyncio.sock")) as OSError;
    assert.is(missing.code, "ENOENT");

    const np = thrown(() => s.getpeername()) as OSError;
    assert.instance(np, OSError);
    assert.is(np.code, "ENOTCONN");

    // Address in use.
    const a = new Socket(AF_INET, SOCK_STREAM);
    const b = new Socket(AF_INET, SOCK_STREAM);
    try {
      a.bind(["127.0.0.1", 0]);
      a.listen();
      const e = thrown(() => b.bind(a.getsockname())) as OSError;
      assert.is(e.code, "EADDRINUSE");
      assert.is(e.errno, linux ? 98 : 48);
    } finally {
      a.close();
      b.close();
    }
  } finally {
    s.close();
    u.close();
  }
});

fdTest("a closed socket: every operation raises OSError EBADF; connectEx returns EBADF", () => {
  const s = new Socket(AF_INET, SOCK_STREAM);
  s.close();
  const ops: [string, () => unknown][] = [
    ["bind", () => s.bind(["127.0.0.1", 0])],
    ["listen", () => s.listen()],
    ["connect", () => s.connect(["127.0.0.1", 9])],
    ["accept", () => s.accept()],
    ["getsockname", () => s.getsockname()],
    ["getpeername", () => s.getpeername()],
    ["setsockopt", () => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)],
    ["getsockopt", () => s.getsockopt(SOL_SOCKET, SO_TYPE)],
    ["recvfrom", () => s.recvfrom(1)],
    ["recvfromInto", () => s.recvfromInto(new Uint8Array(1))],
    ["sendto", () => s.sendto(bytes("x"), ["127.0.0.1", 9])],
    ["settimeout", () => s.settimeout(1)],
  ];
  for (const [name, op] of ops) {
    const e = thrown(op) as OSError;
    assert.instance(e, OSError, name);
    assert.is(e.code, "EBADF", name);
  }
  assert.is(s.connectEx(["127.0.0.1", 9]), 9);
  assert.is(s.gettimeout(), null, "gettimeout still answers");
});

fdTest("new Socket(-1, -1, -1, fd) asks the descriptor; type flags are not part of the type", () => {
  const srv = listener(AF_INET6, "::1");
  try {
    const fd = srv.detach();
    const again = new Socket(-1, -1, -1, fd);
    try {
      assert.is(again.family, AF_INET6);
      assert.is(again.type, SOCK_STREAM);
      if (linux) assert.is(again.proto, IPPROTO_TCP);
      assert.equal((again.getsockname() as unknown[])[0], "::1");
    } finally {
      again.close();
    }
    const d = new Socket(AF_INET, SOCK_DGRAM);
    const fd2 = d.detach();
    const d2 = new Socket(-1, -1, -1, fd2);
    assert.is(d2.type, SOCK_DGRAM);
    if (linux) assert.is(d2.proto, IPPROTO_UDP);
    d2.close();
    if (linux) {
      const nb = new Socket(AF_INET, SOCK_STREAM | C.SOCK_NONBLOCK);
      try {
        assert.is(nb.type, SOCK_STREAM);
        assert.is(nb.gettimeout(), 0, "SOCK_NONBLOCK makes a non-blocking socket");
        assert.not.ok(nb.getblocking());
      } finally {
        nb.close();
      }
    }
    // An adopted non-blocking descriptor keeps its mode.
    const [p, q] = socketpair();
    p.setblocking(false);
    const p2 = new Socket(AF_UNIX, SOCK_STREAM, 0, p.detach());
    assert.is(p2.gettimeout(), 0);
    p2.close();
    q.close();
  } finally {
    srv.close();
  }
});

fdTest("listen() defaults to min(SOMAXCONN, 128); several pending clients are accepted in order", () => {
  assert.type(SOMAXCONN, "number");
  assert.ok(SOMAXCONN >= 128);
  const srv = new Socket(AF_INET, SOCK_STREAM);
  const clients: Socket[] = [];
  try {
    srv.bind(["127.0.0.1", 0]);
    srv.listen();
    for (let i = 0; i < 5; i++) {
      const c = new Socket(AF_INET, SOCK_STREAM);
      clients.push(c);
      c.connect(srv.getsockname());
      c.send(bytes(`client ${i}`));
    }
    for (let i = 0; i < 5; i++) {
      const [conn, addr] = srv.accept();
      try {
        assert.equal(addr, clients[i].getsockname());
        assert.is(text(conn.recv(20)), `client ${i}`);
      } finally {
        conn.close();
      }
    }
  } finally {
    closeAll(srv, ...clients);
  }
});

fdTest("1 MiB over TCP with a timed sender and receiver alternating", () => {
  const srv = listener(AF_INET, "127.0.0.1");
  const cli = new Socket(AF_INET, SOCK_STREAM);
  let conn: Socket | null = null;
  try {
    cli.connect(srv.getsockname());
    [conn] = srv.accept();
    cli.settimeout(0); // send what fits, then drain
    conn.settimeout(1);
    const total = 1 << 20;
    const data = new Uint8Array(total).map((_, i) => (i * 31) & 0xff);
    const got = new Uint8Array(total);
    let sent = 0, received = 0;
    while (received < total) {
      while (sent < total) {
        try {
          sent += cli.send(data.subarray(sent, sent + 65536));
        } catch (e) {
          if (!(e instanceof BlockingIOError)) throw e;
          break;
        }
      }
      received += conn.recvInto(got.subarray(received));
    }
    assert.equal(got, data);
  } finally {
    closeAll(srv, cli, conn);
  }
});

test.run();
