/** Generated bad input for Socket, socketpair and fromFd (see test/_bad_input.ts). */

import { test } from "uvu";
import { AF_INET, AF_UNIX, type EventLoop, SOCK_DGRAM, SOCK_STREAM, Socket, socketpair, fromFd, setdefaulttimeout } from "../mod.ts";
import { badInputTests, type Case, closeAll, closeFd, val } from "./_bad_input.ts";

interface S {
  loop: EventLoop;
  socks: Socket[];
  fd?: number;
}

const own = (c: S, s: Socket) => (c.socks.push(s), s);

/** A connected, non-blocking pair with a few bytes waiting on the first. */
function pair(loop: EventLoop): S {
  const c: S = { loop, socks: [] };
  const [a, b] = socketpair();
  own(c, a).setblocking(false);
  own(c, b).setblocking(false);
  b.send(new Uint8Array([1, 2, 3]));
  return c;
}

/** A non-blocking UDP socket bound to loopback, with a datagram to itself waiting. */
function udp(loop: EventLoop): S {
  const c: S = { loop, socks: [] };
  const u = own(c, new Socket(AF_INET, SOCK_DGRAM));
  u.bind(["127.0.0.1", 0]);
  u.setblocking(false);
  u.sendto(new Uint8Array([7]), u.getsockname());
  return c;
}

function fresh(loop: EventLoop): S {
  const c: S = { loop, socks: [] };
  own(c, new Socket()).setblocking(false);
  return c;
}

const cleanup = (c: S, r: unknown) => {
  closeAll(...c.socks);
  if (r instanceof Socket) closeAll(r);
  if (Array.isArray(r)) for (const x of r) if (x instanceof Socket) closeAll(x);
};

const closedSock = val<S>("closed Socket (the target)", (c) => {
  c.socks[0].close();
  return undefined;
});
const flagsArg = { name: "flags", valid: () => 0 };
const bytesArg = { name: "data", valid: () => new Uint8Array([1, 2]), msg: /data|bytes-like/ };
const addrArg = (valid: (c: S) => unknown) => ({ name: "address", valid, msg: /address|host|port|flowinfo|scopeId|path/ });

const cases: Case<S>[] = [
  {
    name: "new Socket(family, type, proto)",
    setup: (loop) => ({ loop, socks: [] }),
    args: [{ name: "family", valid: () => AF_INET }, { name: "type", valid: () => SOCK_STREAM }, { name: "proto", valid: () => 0 }],
    call: (_c, [f, t, p]) => new Socket(f as number, t as number, p as number),
  },
  {
    name: "new Socket(family, type, proto, fileno)",
    setup: (loop) => {
      const [a, b] = socketpair();
      // The descriptor to adopt: closed through the result or, if refused, by cleanup.
      return { loop, socks: [b], fd: a.detach() };
    },
    args: [{ name: "fileno", valid: (c) => c.fd, fd: true, msg: /file descriptor|fileno/ }],
    call: (c, [fd]) => {
      const s = new Socket(-1, -1, -1, fd as number);
      if (fd === c.fd) c.fd = -1;
      return s;
    },
    cleanup: (c, r) => {
      closeFd(c.fd ?? -1);
      cleanup(c, r);
    },
  },
  {
    name: "socketpair(family, type, proto)",
    setup: (loop) => ({ loop, socks: [] }),
    args: [{ name: "family", valid: () => AF_UNIX }, { name: "type", valid: () => SOCK_STREAM }, { name: "proto", valid: () => 0 }],
    call: (_c, [f, t, p]) => socketpair(f as number, t as number, p as number),
  },
  {
    name: "fromFd(fd, family, type, proto)",
    setup: (loop) => {
      const c: S = { loop, socks: [] };
      own(c, new Socket());
      return c;
    },
    args: [
      { name: "fd", valid: (c) => c.socks[0].fileno(), fd: true, msg: /file descriptor|fd/ },
      { name: "family", valid: () => AF_INET },
      { name: "type", valid: () => SOCK_STREAM },
      { name: "proto", valid: () => 0 },
    ],
    // fromFd adopts the descriptor: detach ours so only one object closes it.
    call: (c, [fd, f, t, p]) => {
      const s = fromFd(fd as number, f as number, t as number, p as number);
      if (s.fileno() === c.socks[0].fileno()) c.socks[0].detach();
      return s;
    },
  },
  {
    name: "socket.bind(address)",
    setup: fresh,
    args: [addrArg(() => ["127.0.0.1", 0])],
    call: (c, [a]) => c.socks[0].bind(a),
  },
  {
    name: "socket.bind(address) on AF_UNIX",
    setup: (loop) => ({ loop, socks: [new Socket(AF_UNIX)] }),
    args: [addrArg(() => "\0tsyncio-bad-input-" + Math.random())],
    call: (c, [a]) => c.socks[0].bind(a),
  },
  {
    name: "socket.listen(backlog)",
    setup: (loop) => {
      const c = fresh(loop);
      c.socks[0].bind(["127.0.0.1", 0]);
      return c;
    },
    args: [{ name: "backlog", valid: () => 5, extra: [closedSock] }],
    call: (c, [b]) => c.socks[0].listen(b as number),
  },
  {
    name: "socket.connect(address) / connectEx(address)",
    setup: (loop) => {
      const c: S = { loop, socks: [new Socket()] }; // blocking: a loopback connect completes at once
      const l = own(c, new Socket());
      l.bind(["127.0.0.1", 0]);
      l.listen(5);
      return c;
    },
    args: [addrArg((c) => c.socks[1].getsockname()), { name: "which", valid: () => 0, msg: /.*/ }],
    call: (c, [a, w]) => (w === 1 ? c.socks[0].connectEx(a) : c.socks[0].connect(a)),
  },
  {
    name: "socket.send(data, flags)",
    setup: pair,
    args: [bytesArg, flagsArg],
    call: (c, [d, f]) => c.socks[0].send(d as Uint8Array, f as number),
  },
  {
    name: "socket.sendall(data, flags)",
    setup: pair,
    args: [bytesArg, flagsArg],
    call: (c, [d, f]) => c.socks[0].sendall(d as Uint8Array, f as number),
  },
  {
    name: "socket.sendto(data, flags, address)",
    setup: udp,
    args: [bytesArg, flagsArg, addrArg((c) => c.socks[0].getsockname())],
    call: (c, [d, f, a]) => c.socks[0].sendto(d as Uint8Array, f as number, a),
  },
  {
    name: "socket.sendto(data, address)",
    setup: udp,
    args: [bytesArg, addrArg((c) => c.socks[0].getsockname())],
    call: (c, [d, a]) => c.socks[0].sendto(d as Uint8Array, a),
  },
  {
    name: "socket.recv(bufsize, flags)",
    setup: pair,
    args: [{ name: "bufsize", valid: () => 10, msg: /bufsize|buffersize/, extra: [closedSock] }, flagsArg],
    call: (c, [n, f]) => c.socks[0].recv(n as number, f as number),
  },
  {
    name: "socket.recvInto(buffer, nbytes, flags)",
    setup: pair,
    args: [{ name: "buffer", valid: () => new Uint8Array(8), msg: /buffer|bytes-like/ }, { name: "nbytes", valid: () => 0, msg: /nbytes|buffer/ }, flagsArg],
    call: (c, [b, n, f]) => c.socks[0].recvInto(b as Uint8Array, n as number, f as number),
  },
  {
    name: "socket.recvfrom(bufsize, flags)",
    setup: udp,
    args: [{ name: "bufsize", valid: () => 10, msg: /bufsize|buffersize/ }, flagsArg],
    call: (c, [n, f]) => c.socks[0].recvfrom(n as number, f as number),
  },
  {
    name: "socket.recvfromInto(buffer, nbytes, flags)",
    setup: udp,
    args: [{ name: "buffer", valid: () => new Uint8Array(8), msg: /buffer|bytes-like/ }, { name: "nbytes", valid: () => 0, msg: /nbytes|buffer/ }, flagsArg],
    call: (c, [b, n, f]) => c.socks[0].recvfromInto(b as Uint8Array, n as number, f as number),
  },
  {
    name: "socket.setsockopt(level, optname, value, optlen)",
    setup: fresh,
    args: [
      { name: "level", valid: () => 1 /* SOL_SOCKET */ },
      { name: "optname", valid: () => 2 /* SO_REUSEADDR */ },
      { name: "value", valid: () => 1, msg: /value|optlen/ },
      { name: "optlen", valid: () => undefined, msg: /optlen|value/ },
    ],
    call: (c, [l, o, v, n]) => c.socks[0].setsockopt(l as number, o as number, v as number, n as number),
  },
  {
    name: "socket.getsockopt(level, optname, buflen)",
    setup: fresh,
    args: [{ name: "level", valid: () => 1 }, { name: "optname", valid: () => 2 }, { name: "buflen", valid: () => 4 }],
    call: (c, [l, o, n]) => c.socks[0].getsockopt(l as number, o as number, n as number),
  },
  {
    name: "socket.shutdown(how)",
    setup: pair,
    args: [{ name: "how", valid: () => 1 }],
    call: (c, [h]) => c.socks[0].shutdown(h as number),
  },
  {
    name: "socket.settimeout(timeout) / setblocking(flag)",
    setup: fresh,
    args: [{ name: "timeout", valid: () => 0.5, msg: /timeout/i }, { name: "flag", valid: () => false, msg: /flag/ }],
    call: (c, [t, f]) => {
      c.socks[0].settimeout(t as number);
      c.socks[0].setblocking(f as boolean);
    },
  },
  {
    name: "setdefaulttimeout(timeout)",
    setup: (loop) => ({ loop, socks: [] }),
    args: [{ name: "timeout", valid: () => null, msg: /timeout/i }],
    call: (_c, [t]) => setdefaulttimeout(t as null),
    cleanup: () => setdefaulttimeout(null),
  },
];

for (const c of cases) c.cleanup ??= cleanup;
badInputTests(cases);

test.run();
