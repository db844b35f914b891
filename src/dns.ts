/**
 * Name resolution: `getaddrinfo` and `getnameinfo` as Python's `socket`
 * module has them, returning promises (the loop wraps them in Futures).
 *
 * Three paths, cheapest first:
 * 1. In-process: a numeric host (`inet_pton`) with a numeric or null port,
 *    a stream or datagram type and no flags that need libc is answered here,
 *    like asyncio's `_ipaddr_info` — no libc resolver, no thread hop. So is
 *    getnameinfo with NI_NUMERICHOST|NI_NUMERICSERV.
 * 2. libc on this thread: anything else that cannot touch the network (a
 *    numeric or null host, or AI_NUMERICHOST / NI_NUMERICHOST, with a
 *    numeric service), so libc's exact answers and errors come back without
 *    a thread hop.
 * 3. libc on another thread (`native.callBlocking`): host names and service
 *    names, which may wait on DNS or NSS for seconds.
 *
 * Failures reject with {@link GaiError} (errno = the EAI_* code, negative on
 * Linux); argument errors with TypeError/ValueError.
 */

import { C, libc, native } from "./native.ts";
import { codeToErrno, GaiError, OSError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import {
  decodeSockaddr,
  formatIP,
  type NumericAddress,
  parseNumericAddress,
  type SocketAddress,
  writeInetSockaddr,
} from "./sockaddr.ts";
import type { Pointer } from "../ffi/types.ts";

export { type NumericAddress, parseNumericAddress };

/** One getaddrinfo result: `[family, type, proto, canonname, sockaddr]`, exactly as Python's. */
export type AddrInfo = [family: number, type: number, proto: number, canonname: string, sockaddr: SocketAddress];

/** getaddrinfo's keyword arguments (all default to 0). */
export interface AddrInfoOptions {
  family?: number;
  type?: number;
  proto?: number;
  flags?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const linux = native.os === "linux";
const EINVAL = codeToErrno("EINVAL");

function checkInt(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, not ${formatValue(v)}`);
  return v;
}

/** An integer that a C `int` parameter holds (ValueError outside its range, as Python's OverflowError). */
function checkCInt(v: unknown, what: string): number {
  checkInt(v, what);
  if ((v as number) < -0x80000000 || (v as number) > 0x7fffffff) throw new ValueError(`${what} ${v} does not fit in a C int`);
  return (v as number) | 0; // -0 is no integer to an FFI i32 (Deno)
}

/** A NUL-terminated copy of `s` in memory an off-thread call can use. */
function cString(s: string, what: string): Uint8Array {
  if (s.includes("\0")) throw new ValueError(`${what} contains an embedded null character`);
  const bytes = encoder.encode(s);
  const out = native.allocShared(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** The service as libc wants it (Python formats an int port with "%ld"), or null. */
function serviceText(port: unknown): string | null {
  if (port === null || port === undefined) return null;
  if (typeof port === "string") return port;
  if (typeof port === "number" && Number.isInteger(port)) return String(port);
  throw new TypeError(`getaddrinfo() port must be an integer, a string or null, not ${formatValue(port)}`);
}

/** The port number of a numeric service (digits only, 0..65535), or -1. */
function numericPort(service: string | null): number {
  if (service === null) return 0;
  if (!/^[0-9]{1,5}$/.test(service)) return -1;
  const n = Number(service);
  return n <= 0xffff ? n : -1;
}

const FAST_FLAGS = C.AI_PASSIVE | C.AI_CANONNAME | C.AI_NUMERICHOST | C.AI_NUMERICSERV;

/** The [type, proto] pairs glibc answers for a numeric host, or null when libc should decide. */
function socketKinds(type: number, proto: number): [number, number][] | null {
  const TCP = C.IPPROTO_TCP, UDP = C.IPPROTO_UDP;
  if (type === C.SOCK_STREAM) return proto === 0 || proto === TCP ? [[type, TCP]] : null;
  if (type === C.SOCK_DGRAM) return proto === 0 || proto === UDP ? [[type, UDP]] : null;
  if (type !== 0) return null;
  if (proto === TCP) return [[C.SOCK_STREAM, TCP]];
  if (proto === UDP) return [[C.SOCK_DGRAM, UDP]];
  // glibc lists stream, datagram and raw for an unspecified type; other libcs differ.
  return proto === 0 && linux ? [[C.SOCK_STREAM, TCP], [C.SOCK_DGRAM, UDP], [C.SOCK_RAW, 0]] : null;
}

function inetAddress(a: NumericAddress, port: number): SocketAddress {
  return a.family === C.AF_INET6 ? [formatIP(a.bytes), port, 0, a.scopeId] : [formatIP(a.bytes), port];
}

/**
 * Resolve `host` and `port` into socket addresses (Python's
 * `socket.getaddrinfo`). `host` null means the wildcard address with
 * AI_PASSIVE, loopback without; `port` is a number, a numeric string, a
 * service name ("http") or null.
 *
 * @returns a promise of `[family, type, proto, canonname, sockaddr]` entries
 * @example
 * ```ts
 * const infos = await getaddrinfo("localhost", 80, { type: SOCK_STREAM });
 * // [[AF_INET, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 80]]]
 * ```
 */
export function getaddrinfo(
  host: string | null | undefined,
  port: string | number | null | undefined,
  options: AddrInfoOptions = {},
): Promise<AddrInfo[]> {
  try {
    return Promise.resolve(resolve(host, port, options ?? {}));
  } catch (e) {
    return Promise.reject(e);
  }
}

function resolve(host: unknown, port: unknown, options: AddrInfoOptions): AddrInfo[] | Promise<AddrInfo[]> {
  if (host !== null && host !== undefined && typeof host !== "string") {
    throw new TypeError(`getaddrinfo() host must be a string or null, not ${formatValue(host)}`);
  }
  const service = serviceText(port);
  const family = checkCInt(options.family ?? 0, "family");
  const type = checkCInt(options.type ?? 0, "type");
  const proto = checkCInt(options.proto ?? 0, "proto");
  const flags = checkCInt(options.flags ?? 0, "flags");
  const numeric = host == null ? null : parseNumericAddress(host);
  const portNumber = numericPort(service);

  // 1. In-process.
  if (numeric && (family === 0 || family === numeric.family) && portNumber >= 0 && (flags & ~FAST_FLAGS) === 0) {
    const kinds = socketKinds(type, proto);
    if (kinds) {
      return kinds.map(([t, p], i): AddrInfo => [
        numeric.family,
        t,
        p,
        i === 0 && flags & C.AI_CANONNAME ? host as string : "",
        inetAddress(numeric, portNumber),
      ]);
    }
  }

  const hostBuf = host == null ? null : cString(host, "host");
  const serviceBuf = service === null ? null : cString(service, "port");
  const hints = native.allocShared(C.ADDRINFO_SIZE);
  const dv = new DataView(hints.buffer, hints.byteOffset, hints.byteLength);
  dv.setInt32(0, flags, true);
  dv.setInt32(4, family, true);
  dv.setInt32(8, type, true);
  dv.setInt32(12, proto, true);
  const res = native.allocShared(8);

  // 2. libc, here: nothing it does for these can wait on the network.
  const offline = (numeric !== null || host == null || (flags & C.AI_NUMERICHOST) !== 0) &&
    (portNumber >= 0 || /^[0-9]+$/.test(service ?? ""));
  if (offline) {
    const r = libc.getaddrinfo(hostBuf, serviceBuf, hints, res) as number;
    if (r !== 0 && r === C.EAI_SYSTEM) throw OSError.fromErrno(native.errno(), "getaddrinfo()");
    return collect(r, res);
  }
  // 3. libc, on another thread.
  return native.callBlocking("getaddrinfo", hostBuf, serviceBuf, hints, res).then((r) => collect(r, res));
}

/** Turn a getaddrinfo result into AddrInfo entries (or a GaiError), freeing the list. */
function collect(r: number, res: Uint8Array): AddrInfo[] {
  if (r !== 0) throw new GaiError(r);
  const head = native.pointerFromBuffer(res, 0);
  try {
    return readAddrInfos(head);
  } finally {
    libc.freeaddrinfo(head);
  }
}

function readAddrInfos(head: Pointer): AddrInfo[] {
  const out: AddrInfo[] = [];
  for (let p = head; !native.isNull(p); p = native.readPointer(p, C.AI_NEXT_OFFSET)) {
    const fields = native.readBytes(p, 0, 20);
    const dv = new DataView(fields.buffer, fields.byteOffset, 20);
    const addrlen = dv.getUint32(C.AI_ADDRLEN_OFFSET, true);
    const addrPtr = native.readPointer(p, C.AI_ADDR_OFFSET);
    const canonPtr = native.readPointer(p, C.AI_CANONNAME_OFFSET);
    const sockaddr = native.isNull(addrPtr) || addrlen === 0 ? null : decodeSockaddr(native.readBytes(addrPtr, 0, addrlen), addrlen);
    out.push([
      dv.getInt32(4, true),
      dv.getInt32(8, true),
      dv.getInt32(12, true),
      native.isNull(canonPtr) ? "" : native.readCString(canonPtr),
      sockaddr,
    ]);
  }
  return out;
}

/**
 * Resolve `host` to one address of `family`, synchronously and without the
 * network: libc getaddrinfo with AI_NUMERICHOST, or without it when
 * `allowNames` (for "localhost", which /etc/hosts answers). For Socket
 * methods, which take addresses synchronously as Python's do.
 */
export function resolveHostSync(family: number, host: string, allowNames: boolean): NumericAddress {
  const hostBuf = cString(host, "host");
  const hints = new Uint8Array(new ArrayBuffer(C.ADDRINFO_SIZE));
  const dv = new DataView(hints.buffer);
  dv.setInt32(0, allowNames ? 0 : C.AI_NUMERICHOST, true);
  dv.setInt32(4, family, true);
  dv.setInt32(8, C.SOCK_DGRAM, true); // one entry per address
  const res = new Uint8Array(new ArrayBuffer(8));
  const r = libc.getaddrinfo(hostBuf, null, hints, res) as number;
  if (r !== 0) {
    if (r === C.EAI_SYSTEM) throw OSError.fromErrno(native.errno(), "getaddrinfo()");
    const e = new GaiError(r);
    if (r === C.EAI_NONAME && !allowNames) {
      e.message += `: ${JSON.stringify(host)} (Socket methods resolve numeric hosts and "localhost" only;` +
        " resolve other names with loop.getaddrinfo())";
    }
    throw e;
  }
  const infos = collect(0, res);
  const addr = infos[0]?.[4];
  const parsed = Array.isArray(addr) ? parseNumericAddress(addr[0]) : null;
  if (!parsed) throw new GaiError(C.EAI_NONAME);
  if (parsed.family === C.AF_INET6 && Array.isArray(addr) && addr.length === 4) parsed.scopeId = addr[3];
  return parsed;
}

/**
 * Translate a socket address into `[host, port]` (Python's
 * `socket.getnameinfo`; the port comes back as a string). `sockaddr` is
 * `[host, port]` or `[host, port, flowinfo, scopeId]` with a numeric host.
 *
 * @example
 * ```ts
 * await getnameinfo(["127.0.0.1", 80], NI_NUMERICHOST | NI_NUMERICSERV); // ["127.0.0.1", "80"]
 * ```
 */
export function getnameinfo(sockaddr: unknown, flags = 0): Promise<[string, string]> {
  try {
    return Promise.resolve(nameinfo(sockaddr, flags));
  } catch (e) {
    return Promise.reject(e);
  }
}

function nameinfo(sockaddr: unknown, flagsArg: number): [string, string] | Promise<[string, string]> {
  if (!Array.isArray(sockaddr) || sockaddr.length < 2 || sockaddr.length > 4) {
    throw new TypeError(`getnameinfo() argument 1 must be an array [host, port, flowinfo?, scopeId?], not ${formatValue(sockaddr)}`);
  }
  const flags = checkCInt(flagsArg, "flags");
  const [host, port, flowinfo = 0, scopeId = 0] = sockaddr as unknown[];
  if (typeof host !== "string") throw new TypeError(`getnameinfo() host must be a string, not ${formatValue(host)}`);
  checkInt(port, "port");
  checkInt(flowinfo, "flowinfo");
  checkInt(scopeId, "scopeId");
  if ((port as number) < 0 || (port as number) > 0xffff) throw new ValueError("getnameinfo(): port must be 0-65535.");
  if ((flowinfo as number) < 0 || (flowinfo as number) > 0xfffff) throw new ValueError("getnameinfo(): flowinfo must be 0-1048575.");
  if ((scopeId as number) < 0 || (scopeId as number) > 0xffffffff) throw new ValueError("getnameinfo(): scopeId must be 0-4294967295.");
  // Python resolves the host with AI_NUMERICHOST: names fail with EAI_NONAME.
  const addr = parseNumericAddress(host) ?? resolveHostSync(C.AF_UNSPEC, host, false);
  if (addr.family === C.AF_INET && sockaddr.length !== 2) throw new OSError(EINVAL, undefined, "IPv4 sockaddr must be 2 tuple");
  const scope = (scopeId as number) || addr.scopeId;

  const numericBoth = C.NI_NUMERICHOST | C.NI_NUMERICSERV;
  if ((flags & numericBoth) === numericBoth && (flags & C.NI_NAMEREQD) === 0 && scope === 0) {
    return [formatIP(addr.bytes), String(port)];
  }
  const sa = native.allocShared(C.SOCKADDR_IN6_SIZE);
  const salen = writeInetSockaddr(sa, addr.bytes, port as number, flowinfo as number, scope);
  const hostOut = native.allocShared(C.NI_MAXHOST);
  const servOut = native.allocShared(C.NI_MAXSERV);
  const finish = (r: number): [string, string] => {
    if (r !== 0) throw new GaiError(r);
    return [cStringAt(hostOut), cStringAt(servOut)];
  };
  if (flags & C.NI_NUMERICHOST) {
    const r = libc.getnameinfo(sa, salen, hostOut, C.NI_MAXHOST, servOut, C.NI_MAXSERV, flags) as number;
    if (r === C.EAI_SYSTEM) throw OSError.fromErrno(native.errno(), "getnameinfo()");
    return finish(r);
  }
  return native.callBlocking("getnameinfo", sa, salen, hostOut, C.NI_MAXHOST, servOut, C.NI_MAXSERV, flags).then(finish);
}

function cStringAt(buf: Uint8Array): string {
  // slice(): TextDecoder refuses views of shared memory.
  const nul = buf.indexOf(0);
  return decoder.decode(buf.slice(0, nul < 0 ? buf.length : nul));
}
