/** Generated bad input for the transports (socket, datagram, pipe, subprocess) and Server (see test/_bad_input.ts). */

import { test } from "uvu";
import {
  AF_INET, DatagramProtocol, type EventLoop, Protocol, SelectorDatagramTransport, Server, SOCK_DGRAM, Socket, socketpair,
  SubprocessProtocol, type Transport, UnixSubprocessTransport, type WritePipeTransport,
} from "../mod.ts";
import { badInputTests, type Case, closeAll, closeFd, pipeFds, val } from "./_bad_input.ts";

interface T {
  loop: EventLoop;
  t: Transport;
  socks: Socket[];
  fds: number[];
  server?: Server;
  proc?: UnixSubprocessTransport;
  dgram?: SelectorDatagramTransport;
}

async function stream(loop: EventLoop): Promise<T> {
  const [a, b] = socketpair();
  const [t] = await loop.connectAcceptedSocket(() => new Protocol(), a);
  return { loop, t, socks: [b], fds: [] };
}

async function dgram(loop: EventLoop): Promise<T> {
  const [t] = await loop.createDatagramEndpoint(() => new DatagramProtocol(), { localAddr: ["127.0.0.1", 0] });
  return { loop, t: t as unknown as Transport, socks: [], fds: [], dgram: t };
}

async function writePipe(loop: EventLoop): Promise<T> {
  const [r, w] = pipeFds();
  const [t] = await loop.connectWritePipe(() => new Protocol(), w);
  return { loop, t: t as WritePipeTransport as unknown as Transport, socks: [], fds: [r] };
}

async function subprocess(loop: EventLoop): Promise<T> {
  const [t] = await loop.subprocessExec(() => new SubprocessProtocol(), ["sleep", "5"], { stdin: null, stdout: null, stderr: null });
  return { loop, t: t as unknown as Transport, socks: [], fds: [], proc: t };
}

async function server(loop: EventLoop): Promise<T> {
  const s = await loop.createServer(() => new Protocol(), "127.0.0.1", 0);
  return { loop, t: null as unknown as Transport, socks: [], fds: [], server: s };
}

async function cleanup(c: T): Promise<void> {
  if (c.proc) {
    if (c.proc.getReturncode() === null) c.proc.kill();
    c.proc.close();
    await c.proc._wait?.();
  } else if (c.t) {
    c.t.abort();
  }
  if (c.server) {
    c.server.close();
    await c.server.waitClosed();
  }
  closeAll(...c.socks);
  for (const fd of c.fds) closeFd(fd);
  await new Promise((r) => setTimeout(r, 0));
}

const dataArg = { name: "data", valid: () => new Uint8Array([1, 2]), msg: /data|bytes-like/ };
const limits = [{ name: "high", valid: () => 100 }, { name: "low", valid: () => 10 }];
const infoArgs = [{ name: "name", valid: () => "peername", msg: /name/ }, { name: "defaultValue", valid: () => null }];

const cases: Case<T>[] = [
  {
    name: "socket transport: write(data), writelines(list)",
    setup: stream,
    args: [dataArg, { name: "list", valid: () => [new Uint8Array([3])], msg: /list|data|bytes-like/, extra: [val("a closing transport", (c: T) => (c.t.close(), []))] }],
    call: (c, [d, l]) => {
      c.t.write(d as Uint8Array);
      c.t.writelines(l as Uint8Array[]);
    },
  },
  {
    name: "socket transport: setWriteBufferLimits(high, low)",
    setup: stream,
    args: limits,
    call: (c, [hi, lo]) => c.t.setWriteBufferLimits(hi as number, lo as number),
  },
  {
    name: "socket transport: getExtraInfo(name, defaultValue), setProtocol(protocol)",
    setup: stream,
    args: [...infoArgs, { name: "protocol", valid: (c) => c.t.getProtocol(), msg: /protocol/ }],
    call: (c, [n, d, p]) => {
      c.t.getExtraInfo(n as string, d);
      c.t.setProtocol(p as Protocol);
    },
  },
  {
    name: "datagram transport: sendto(data, addr)",
    setup: dgram,
    args: [dataArg, { name: "addr", valid: (c) => c.dgram!.getExtraInfo("sockname"), msg: /addr|address|host|port|Invalid address/ }],
    call: (c, [d, a]) => c.dgram!.sendto(d as Uint8Array, a),
  },
  {
    name: "connected datagram transport: sendto(data, addr)",
    setup: async (loop) => {
      const peer = new Socket(AF_INET, SOCK_DGRAM);
      peer.bind(["127.0.0.1", 0]);
      const [t] = await loop.createDatagramEndpoint(() => new DatagramProtocol(), { remoteAddr: peer.getsockname() as [string, number] });
      return { loop, t: t as unknown as Transport, socks: [peer], fds: [], dgram: t };
    },
    args: [dataArg, { name: "addr", valid: () => null, msg: /addr|address|host|port|Invalid address/ }],
    call: (c, [d, a]) => c.dgram!.sendto(d as Uint8Array, a),
  },
  {
    name: "write pipe transport: write(data), writelines(list), setWriteBufferLimits(high, low)",
    setup: writePipe,
    args: [dataArg, { name: "list", valid: () => [new Uint8Array([3])], msg: /list|data|bytes-like/ }, ...limits],
    call: (c, [d, l, hi, lo]) => {
      c.t.write(d as Uint8Array);
      c.t.writelines(l as Uint8Array[]);
      c.t.setWriteBufferLimits(hi as number, lo as number);
    },
  },
  {
    name: "subprocess transport: getPipeTransport(fd), sendSignal(sig)",
    setup: subprocess,
    args: [{ name: "fd", valid: () => 1, msg: /fd/ }, { name: "sig", valid: () => "SIGCONT", msg: /sig/ }],
    call: (c, [fd, s]) => {
      c.proc!.getPipeTransport(fd as number);
      c.proc!.sendSignal(s as number);
    },
    runs: 60,
  },
  {
    name: "server: startServing(), serveForever() after close, waitClosed()",
    setup: server,
    args: [{ name: "step", valid: () => 0, msg: /.*/ }],
    call: (c, [s]) => {
      if (s === 1) c.server!.close();
      if (s === 2) return c.server!.startServing();
      if (s === 3) {
        const f = c.server!.serveForever();
        c.server!.close();
        return f;
      }
      return c.server!.waitClosed().cancel();
    },
    runs: 20,
  },
];

for (const c of cases) c.cleanup ??= cleanup;
badInputTests(cases);

test.run();
