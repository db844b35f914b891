/** Generated bad input for the loop's socket, network, pipe and subprocess methods (see test/_bad_input.ts). */

import { test } from "uvu";
import {
  AF_INET, AF_UNIX, DatagramProtocol, type EventLoop, Protocol, SendfileNotAvailableError, Server, SOCK_DGRAM, Socket,
  socketpair, SSLContext, SubprocessProtocol, type Transport,
} from "../mod.ts";
import { C, libc } from "../src/native.ts";
import { badInputTests, type Case, closeAll, closeFd, GetterBoom, pipeFds, val, type Val } from "./_bad_input.ts";

const enc = new TextEncoder();

// A file for the sendfile cases (regular files are not counted as leaks; closed at the end).
const filePath = `/tmp/tsyncio-bad-input-${Date.now()}-${Math.random().toString(36).slice(2)}`;
const fileFd = libc.open(enc.encode(filePath + "\0"), 2 | 0o100 | 0o1000 | C.O_CLOEXEC, 0o600);
libc.write(fileFd, enc.encode("0123456789"), 10);

let unixSeq = 0;
const unixPath = () => `/tmp/tsyncio-bi-${Date.now().toString(36)}-${(unixSeq++).toString(36)}.sock`;

interface Net {
  loop: EventLoop;
  socks: Socket[];
  fds: number[];
  path: string;
  server?: Server;
  transports: Transport[];
}

function net(loop: EventLoop): Net {
  return { loop, socks: [], fds: [], path: unixPath(), transports: [] };
}

/** A non-blocking socket registered for cleanup. */
function own(c: Net, s: Socket): Socket {
  c.socks.push(s);
  return s;
}

function pair(c: Net): [Socket, Socket] {
  const [a, b] = socketpair();
  a.setblocking(false);
  b.setblocking(false);
  return [own(c, a), own(c, b)];
}

function listener(c: Net): Socket {
  const l = own(c, new Socket());
  l.bind(["127.0.0.1", 0]);
  l.listen(8);
  l.setblocking(false);
  return l;
}

function udp(c: Net): Socket {
  const u = own(c, new Socket(AF_INET, SOCK_DGRAM));
  u.bind(["127.0.0.1", 0]);
  u.setblocking(false);
  return u;
}

/** A socket transport over one end of a pair (the transport owns that end). */
async function withTransport(loop: EventLoop): Promise<Net> {
  const c = net(loop);
  const [a] = pair(c);
  c.socks.splice(0, 1);
  const [t] = await loop.connectAcceptedSocket(() => new Protocol(), a);
  c.transports.push(t);
  return c;
}

async function cleanupNet(c: Net, result: unknown): Promise<void> {
  const closeOne = async (r: unknown) => {
    if (r instanceof Server) {
      r.close();
      await r.waitClosed();
    } else if (Array.isArray(r)) {
      for (const x of r) await closeOne(x);
    } else if (r instanceof Socket) {
      closeAll(r);
    } else if (r && typeof (r as Transport).abort === "function") {
      (r as Transport).abort();
    } else if (r && typeof (r as Transport).close === "function" && typeof (r as Transport).isClosing === "function") {
      (r as Transport).close();
    }
  };
  await closeOne(result);
  for (const t of c.transports) t.abort();
  if (c.server) {
    c.server.close();
    await c.server.waitClosed();
  }
  closeAll(...c.socks);
  for (const fd of c.fds) closeFd(fd);
  try {
    libc.unlink(enc.encode(c.path + "\0"));
  } catch {
    // not there
  }
  // Let aborted transports' connectionLost calls run.
  await new Promise((r) => setTimeout(r, 0));
}

const factory = { name: "protocolFactory", valid: () => () => new Protocol(), msg: /protocolFactory|factory|protocol/, extra: [
  val("factory returning 5", () => () => 5),
  val("factory returning {}", () => () => ({})),
  val("factory throwing", () => () => {
    throw new GetterBoom("factory failed"); // user code's error: may propagate as it is
  }),
] as Val[] };
const sockArg = (valid: (c: Net) => Socket) => ({ name: "sock", valid, msg: /sock|Socket|descriptor/ });
const listenerAddr = (c: Net) => {
  const l = listener(c);
  return l.getsockname() as [string, number];
};

const cases: Case<Net>[] = [
  {
    name: "loop.sockRecvInto(sock, buf)",
    setup: (loop) => {
      const c = net(loop);
      const [, b] = pair(c);
      b.send(new Uint8Array([1, 2, 3]));
      return c;
    },
    args: [sockArg((c) => c.socks[0]), { name: "buf", valid: () => new Uint8Array(8), msg: /buf|bytes-like/ }],
    call: (c, [s, b]) => c.loop.sockRecvInto(s as Socket, b as Uint8Array),
  },
  {
    name: "loop.sockRecvfrom(sock, bufsize)",
    setup: (loop) => {
      const c = net(loop);
      const u = udp(c);
      u.sendto(new Uint8Array([1]), u.getsockname());
      return c;
    },
    args: [sockArg((c) => c.socks[0]), { name: "bufsize", valid: () => 8, msg: /bufsize|buffersize/ }],
    call: (c, [s, n]) => c.loop.sockRecvfrom(s as Socket, n as number),
  },
  {
    name: "loop.sockRecvfromInto(sock, buf, nbytes)",
    setup: (loop) => {
      const c = net(loop);
      const u = udp(c);
      u.sendto(new Uint8Array([1]), u.getsockname());
      return c;
    },
    args: [
      sockArg((c) => c.socks[0]),
      { name: "buf", valid: () => new Uint8Array(8), msg: /buf|bytes-like/ },
      { name: "nbytes", valid: () => 0 },
    ],
    call: (c, [s, b, n]) => c.loop.sockRecvfromInto(s as Socket, b as Uint8Array, n as number),
  },
  {
    name: "loop.sockSendall(sock, data)",
    setup: (loop) => {
      const c = net(loop);
      pair(c);
      return c;
    },
    args: [sockArg((c) => c.socks[0]), { name: "data", valid: () => new Uint8Array([1, 2]), msg: /data|bytes-like/ }],
    call: (c, [s, d]) => c.loop.sockSendall(s as Socket, d as Uint8Array),
  },
  {
    name: "loop.sockSendto(sock, data, address)",
    setup: (loop) => {
      const c = net(loop);
      udp(c);
      return c;
    },
    args: [
      sockArg((c) => c.socks[0]),
      { name: "data", valid: () => new Uint8Array([1, 2]), msg: /data|bytes-like/ },
      { name: "address", valid: (c) => c.socks[0].getsockname(), msg: /address|host|port/ },
    ],
    call: (c, [s, d, a]) => c.loop.sockSendto(s as Socket, d as Uint8Array, a),
  },
  {
    name: "loop.sockConnect(sock, address)",
    setup: (loop) => {
      const c = net(loop);
      listener(c);
      own(c, new Socket()).setblocking(false);
      return c;
    },
    args: [sockArg((c) => c.socks[1]), { name: "address", valid: (c) => c.socks[0].getsockname(), msg: /address|host|port/ }],
    call: (c, [s, a]) => c.loop.sockConnect(s as Socket, a),
    waitMs: 10_000,
  },
  {
    name: "loop.sockAccept(sock)",
    setup: (loop) => {
      const c = net(loop);
      const l = listener(c);
      own(c, new Socket()).connect(l.getsockname());
      return c;
    },
    args: [sockArg((c) => c.socks[0])],
    call: (c, [s]) => c.loop.sockAccept(s as Socket),
    // A non-listening socket (a pair's end) never becomes readable.
    pendingOk: true,
    waitMs: 200,
  },
  {
    name: "loop.sockSendfile(sock, file, offset, count, options)",
    setup: (loop) => {
      const c = net(loop);
      pair(c);
      return c;
    },
    args: [
      sockArg((c) => c.socks[0]),
      { name: "file", valid: () => fileFd, fd: true, msg: /file|descriptor|fileno/ },
      { name: "offset", valid: () => 0 },
      { name: "count", valid: () => 4 },
      { name: "options", valid: () => ({ fallback: true }), msg: /options|fallback/ },
    ],
    call: (c, [s, f, o, n, opt]) => c.loop.sockSendfile(s as Socket, f as number, o as number, n as number, opt as { fallback: boolean }),
    allow: [SendfileNotAvailableError],
  },
  {
    name: "loop.sendfile(transport, file, offset, count, options)",
    setup: withTransport,
    args: [
      { name: "transport", valid: (c) => c.transports[0], msg: /transport/ },
      { name: "file", valid: () => fileFd, fd: true, msg: /file|descriptor|fileno/ },
      { name: "offset", valid: () => 0 },
      { name: "count", valid: () => 4 },
      { name: "options", valid: () => ({ fallback: true }), msg: /options|fallback/ },
    ],
    call: (c, [t, f, o, n, opt]) => c.loop.sendfile(t as Transport, f as number, o as number, n as number, opt as { fallback: boolean }),
    allow: [SendfileNotAvailableError],
  },
  {
    name: "loop.createConnection(protocolFactory, host, port, options)",
    setup: (loop) => {
      const c = net(loop);
      listener(c);
      return c;
    },
    args: [
      factory,
      { name: "host", valid: () => "127.0.0.1" },
      { name: "port", valid: (c) => (c.socks[0].getsockname() as [string, number])[1] },
      { name: "options", valid: () => ({ happyEyeballsDelay: null }), msg: /options|ssl|sock|localAddr|family|proto|flags|serverHostname|happyEyeballsDelay|interleave|allReturnErrors|Timeout/ },
    ],
    call: (c, [f, h, p, o]) => c.loop.createConnection(f as () => Protocol, h as string, p as number, o as object),
    waitMs: 10_000,
  },
  {
    name: "loop.createServer(protocolFactory, host, port, options)",
    setup: net,
    args: [
      factory,
      { name: "host", valid: () => "127.0.0.1" },
      { name: "port", valid: () => 0 },
      { name: "options", valid: () => ({ backlog: 5 }), msg: /options|ssl|sock|backlog|family|flags|reuse|keepAlive|startServing|Timeout/ },
    ],
    call: (c, [f, h, p, o]) => c.loop.createServer(f as () => Protocol, h as string, p as number, o as object),
    waitMs: 10_000,
  },
  {
    name: "loop.createUnixServer(protocolFactory, path, options)",
    setup: net,
    args: [
      factory,
      { name: "path", valid: (c) => c.path, msg: /path|null byte/ },
      { name: "options", valid: () => ({ backlog: 5 }), msg: /options|ssl|sock|backlog|cleanup|startServing|Timeout/ },
    ],
    call: (c, [f, p, o]) => c.loop.createUnixServer(f as () => Protocol, p as string, o as object),
  },
  {
    name: "loop.createUnixConnection(protocolFactory, path, options)",
    setup: (loop) => {
      const c = net(loop);
      const l = own(c, new Socket(AF_UNIX));
      l.bind(c.path);
      l.listen(8);
      return c;
    },
    args: [
      factory,
      { name: "path", valid: (c) => c.path, msg: /path|null byte/ },
      { name: "options", valid: () => ({}), msg: /options|ssl|sock|serverHostname|Timeout/ },
    ],
    call: (c, [f, p, o]) => c.loop.createUnixConnection(f as () => Protocol, p as string, o as object),
  },
  {
    name: "loop.connectAcceptedSocket(protocolFactory, sock, options)",
    setup: (loop) => {
      const c = net(loop);
      pair(c);
      return c;
    },
    args: [factory, sockArg((c) => c.socks[0]), { name: "options", valid: () => ({}), msg: /options|ssl|Timeout/ }],
    call: (c, [f, s, o]) => c.loop.connectAcceptedSocket(f as () => Protocol, s as Socket, o as object),
  },
  {
    name: "loop.createDatagramEndpoint(protocolFactory, options)",
    setup: net,
    args: [
      { ...factory, valid: () => () => new DatagramProtocol() },
      { name: "options", valid: () => ({ localAddr: ["127.0.0.1", 0] }), msg: /options|localAddr|remoteAddr|family|proto|flags|reuse|allowBroadcast|sock|address|host|port|tuple|string/ },
    ],
    call: (c, [f, o]) => c.loop.createDatagramEndpoint(f as () => DatagramProtocol, o as object),
  },
  {
    name: "loop.createDatagramEndpoint(options.localAddr, remoteAddr, family)",
    setup: net,
    args: [
      { name: "localAddr", valid: () => ["127.0.0.1", 0], msg: /localAddr|address|host|port|tuple|string/ },
      { name: "remoteAddr", valid: listenerAddr, msg: /remoteAddr|address|host|port|tuple|string/ },
      { name: "family", valid: () => 0, msg: /family/ },
      { name: "allowBroadcast", valid: () => false, msg: /allowBroadcast/ },
    ],
    call: (c, [l, r, f, b]) =>
      c.loop.createDatagramEndpoint(() => new DatagramProtocol(), { localAddr: l, remoteAddr: r, family: f, allowBroadcast: b } as object),
  },
  {
    name: "loop.createServer options (backlog, reuseAddress, reusePort, keepAlive, startServing, sslHandshakeTimeout)",
    setup: net,
    args: [
      { name: "backlog", valid: () => 5 },
      { name: "reuseAddress", valid: () => true },
      { name: "reusePort", valid: () => false },
      { name: "keepAlive", valid: () => false },
      { name: "startServing", valid: () => true },
      { name: "family", valid: () => 0 },
      { name: "ssl", valid: () => null, msg: /ssl/ },
    ],
    call: (c, [backlog, reuseAddress, reusePort, keepAlive, startServing, family, ssl]) =>
      c.loop.createServer(() => new Protocol(), "127.0.0.1", 0, { backlog, reuseAddress, reusePort, keepAlive, startServing, family, ssl } as object),
  },
  {
    name: "loop.createConnection options (ssl, localAddr, happyEyeballsDelay, interleave, family, serverHostname)",
    setup: (loop) => {
      const c = net(loop);
      listener(c);
      return c;
    },
    args: [
      { name: "ssl", valid: () => null, msg: /ssl/ },
      { name: "localAddr", valid: () => ["127.0.0.1", 0], msg: /localAddr|address|host|port/ },
      { name: "happyEyeballsDelay", valid: () => 0.25 },
      { name: "interleave", valid: () => 1 },
      { name: "family", valid: () => 0 },
      { name: "serverHostname", valid: () => undefined },
      { name: "sslHandshakeTimeout", valid: () => undefined },
    ],
    call: (c, [ssl, localAddr, happyEyeballsDelay, interleave, family, serverHostname, sslHandshakeTimeout]) =>
      c.loop.createConnection(() => new Protocol(), "127.0.0.1", (c.socks[0].getsockname() as [string, number])[1], {
        ssl, localAddr, happyEyeballsDelay, interleave, family, serverHostname,
        // The listener never speaks TLS: a generated ssl value that turns TLS on
        // (true, a context) ends by a short handshake timeout, not asyncio's 60 s.
        sslHandshakeTimeout: sslHandshakeTimeout === undefined && ssl ? 1 : sslHandshakeTimeout,
      } as object),
    waitMs: 10_000,
  },
  {
    name: "loop.startTls(transport, protocol, sslContext, options)",
    setup: withTransport,
    args: [
      { name: "transport", valid: (c) => c.transports[0], msg: /transport/ },
      { name: "protocol", valid: (c) => c.transports[0].getProtocol(), msg: /protocol/ },
      { name: "sslContext", valid: () => new SSLContext(), msg: /sslContext|SSLContext/ },
      { name: "options", valid: () => ({ serverHostname: "localhost", sslHandshakeTimeout: 5 }), msg: /options|serverHostname|Timeout|serverSide/ },
    ],
    call: (c, [t, p, s, o]) => c.loop.startTls(t as Transport, p as Protocol, s as SSLContext, o as object),
    // The peer never answers the handshake: still pending when the harness cancels it.
    pendingOk: true,
    waitMs: 300,
  },
  {
    name: "loop.connectReadPipe(protocolFactory, pipe)",
    setup: (loop) => {
      const c = net(loop);
      c.fds.push(...pipeFds());
      return c;
    },
    args: [factory, { name: "pipe", valid: (c) => c.fds[0], fd: true, msg: /pipe|descriptor|fileno/ }],
    call: (c, [f, p]) => c.loop.connectReadPipe(f as () => Protocol, p as number),
    // The transport owns the descriptor: closing it closes the pipe.
    cleanup: async (c, r) => {
      if (Array.isArray(r)) c.fds.splice(0, 1);
      await cleanupNet(c, r);
    },
  },
  {
    name: "loop.connectWritePipe(protocolFactory, pipe)",
    setup: (loop) => {
      const c = net(loop);
      c.fds.push(...pipeFds());
      return c;
    },
    args: [factory, { name: "pipe", valid: (c) => ({ fileno: () => c.fds[1] }), fd: true, msg: /pipe|descriptor|fileno/ }],
    call: (c, [f, p]) => c.loop.connectWritePipe(f as () => Protocol, p as number),
    cleanup: async (c, r) => {
      if (Array.isArray(r)) c.fds.splice(1, 1);
      await cleanupNet(c, r);
    },
  },
  {
    name: "loop.subprocessExec(protocolFactory, argv, options)",
    setup: net,
    args: [
      { ...factory, valid: () => () => new SubprocessProtocol() },
      { name: "argv", valid: () => ["true"], msg: /argv|program|null byte|string/ },
      { name: "options", valid: () => ({ stdin: null, stdout: null, stderr: null }), msg: /option|stdin|stdout|stderr|cwd|env|passFds|processGroup|bufsize|encoding|errors|text|universalNewlines/ },
    ],
    call: (c, [f, a, o]) => c.loop.subprocessExec(f as () => SubprocessProtocol, a as string[], o as object),
    cleanup: async (c, r) => {
      if (Array.isArray(r)) {
        const t = r[0] as { close(): void; _wait?: () => unknown };
        t.close();
      }
      await cleanupNet(c, null);
    },
    waitMs: 10_000,
  },
  {
    name: "loop.subprocessExec options (stdin, stdout, stderr, cwd, env, passFds)",
    setup: net,
    args: [
      { name: "stdin", valid: () => null, fd: true },
      { name: "stdout", valid: () => null, fd: true },
      { name: "stderr", valid: () => null, fd: true },
      { name: "cwd", valid: () => "/tmp" },
      { name: "env", valid: () => ({ A: "1" }) },
      { name: "passFds", valid: () => [], fd: true },
      { name: "startNewSession", valid: () => false },
    ],
    call: (c, [stdin, stdout, stderr, cwd, env, passFds, startNewSession]) =>
      c.loop.subprocessExec(() => new SubprocessProtocol(), ["true"], { stdin, stdout, stderr, cwd, env, passFds, startNewSession } as object),
    cleanup: async (c, r) => {
      if (Array.isArray(r)) (r[0] as { close(): void }).close();
      await cleanupNet(c, null);
    },
    waitMs: 10_000,
    runs: 100,
  },
  {
    name: "loop.subprocessShell(protocolFactory, cmd, options)",
    setup: net,
    args: [
      { ...factory, valid: () => () => new SubprocessProtocol() },
      { name: "cmd", valid: () => "true", msg: /cmd|null byte|string/ },
      { name: "options", valid: () => ({}), msg: /option|stdin|stdout|stderr|cwd|env|passFds|shell/ },
    ],
    call: (c, [f, s, o]) => c.loop.subprocessShell(f as () => SubprocessProtocol, s as string, o as object),
    cleanup: async (c, r) => {
      if (Array.isArray(r)) (r[0] as { close(): void }).close();
      await cleanupNet(c, null);
    },
    waitMs: 10_000,
    runs: 100,
  },
];

for (const c of cases) c.cleanup ??= cleanupNet;
badInputTests(cases);

test("remove the sendfile file", () => {
  libc.close(fileFd);
  libc.unlink(enc.encode(filePath + "\0"));
});

test.run();
