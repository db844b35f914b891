/**
 * Socket: the counterpart of Python's `socket.socket`, over libc.
 *
 * Semantics are Python's: a new socket is close-on-exec and blocking;
 * `settimeout(null)` blocks, `settimeout(0)` (= `setblocking(false)`) raises
 * BlockingIOError instead of waiting, and `settimeout(t > 0)` makes each
 * operation wait with poll(2) up to `t` seconds, then raise
 * TimeoutError("timed out"). A blocking or timed operation holds the
 * JavaScript thread, as it holds Python's; the event loop uses non-blocking
 * sockets only.
 *
 * Addresses are Python's shapes (see sockaddr.ts). Hosts in addresses given
 * to bind/connect/sendto must be numeric (`"127.0.0.1"`, `"::1"`,
 * `"fe80::1%eth0"`), `""` (the wildcard address), `"<broadcast>"`, or
 * `"localhost"` (resolved synchronously by libc from /etc/hosts): Python
 * would run a blocking DNS lookup here, which would freeze the event loop;
 * any other name raises GaiError EAI_NONAME saying to resolve it with
 * `loop.getaddrinfo()` first.
 *
 * Hot paths (send, recv, recvfrom, sendto, accept) use module scratch
 * buffers and try the system call first; the timeout machinery only runs
 * when a call fails with EAGAIN/EINTR.
 */

import { C, libc, native } from "./native.ts";
import { codeToErrno, OSError, raiseErrno, TimeoutError, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";
import {
  decodeSockaddr,
  parseIP,
  scopeIndex,
  type SocketAddress,
  writeInetSockaddr,
  writeUnixSockaddr,
} from "./sockaddr.ts";
import { resolveHostSync } from "./dns.ts";

export type { SocketAddress } from "./sockaddr.ts";

// ---- constants, as Python's socket module exports them (undefined where this OS lacks one) ----

export const AF_UNSPEC = C.AF_UNSPEC;
export const AF_UNIX = C.AF_UNIX;
export const AF_INET = C.AF_INET;
export const AF_INET6 = C.AF_INET6;
export const SOCK_STREAM = C.SOCK_STREAM;
export const SOCK_DGRAM = C.SOCK_DGRAM;
export const SOCK_RAW = C.SOCK_RAW;
export const SOCK_SEQPACKET = C.SOCK_SEQPACKET;
/** Linux only (0 elsewhere): type flags for `new Socket(family, SOCK_STREAM | SOCK_NONBLOCK)`. */
export const SOCK_NONBLOCK = C.SOCK_NONBLOCK;
export const SOCK_CLOEXEC = C.SOCK_CLOEXEC;
export const SOMAXCONN = C.SOMAXCONN;

export const SOL_SOCKET = C.SOL_SOCKET;
export const SOL_IP = C.SOL_IP;
export const SOL_TCP = C.SOL_TCP;
export const SOL_UDP = C.SOL_UDP;
export const SO_ACCEPTCONN = C.SO_ACCEPTCONN;
export const SO_BROADCAST = C.SO_BROADCAST;
export const SO_DEBUG = C.SO_DEBUG;
export const SO_DONTROUTE = C.SO_DONTROUTE;
export const SO_ERROR = C.SO_ERROR;
export const SO_KEEPALIVE = C.SO_KEEPALIVE;
export const SO_LINGER = C.SO_LINGER;
export const SO_OOBINLINE = C.SO_OOBINLINE;
export const SO_RCVBUF = C.SO_RCVBUF;
export const SO_RCVLOWAT = C.SO_RCVLOWAT;
export const SO_RCVTIMEO = C.SO_RCVTIMEO;
export const SO_REUSEADDR = C.SO_REUSEADDR;
export const SO_REUSEPORT = C.SO_REUSEPORT;
export const SO_SNDBUF = C.SO_SNDBUF;
export const SO_SNDLOWAT = C.SO_SNDLOWAT;
export const SO_SNDTIMEO = C.SO_SNDTIMEO;
export const SO_TYPE = C.SO_TYPE;
export const SO_DOMAIN: number | undefined = C.SO_DOMAIN || undefined;
export const SO_PROTOCOL: number | undefined = C.SO_PROTOCOL || undefined;
export const SO_BINDTODEVICE = C.SO_BINDTODEVICE;
export const SO_PASSCRED = C.SO_PASSCRED;
export const SO_PEERCRED = C.SO_PEERCRED;
export const SO_PRIORITY = C.SO_PRIORITY;
export const SO_MARK = C.SO_MARK;
export const SO_INCOMING_CPU = C.SO_INCOMING_CPU;

export const IPPROTO_IP = C.IPPROTO_IP;
export const IPPROTO_IPV6 = C.IPPROTO_IPV6;
export const IPPROTO_TCP = C.IPPROTO_TCP;
export const IPPROTO_UDP = C.IPPROTO_UDP;
export const IPPROTO_ICMP = C.IPPROTO_ICMP;
export const IPPROTO_ICMPV6 = C.IPPROTO_ICMPV6;
export const IPPROTO_RAW = C.IPPROTO_RAW;
export const IPPROTO_SCTP = C.IPPROTO_SCTP;

export const TCP_NODELAY = C.TCP_NODELAY;
export const TCP_MAXSEG = C.TCP_MAXSEG;
export const TCP_KEEPINTVL = C.TCP_KEEPINTVL;
export const TCP_KEEPCNT = C.TCP_KEEPCNT;
export const TCP_FASTOPEN = C.TCP_FASTOPEN;
export const TCP_NOTSENT_LOWAT = C.TCP_NOTSENT_LOWAT;
export const TCP_KEEPIDLE = C.TCP_KEEPIDLE;
export const TCP_KEEPALIVE = C.TCP_KEEPALIVE;
export const TCP_CORK = C.TCP_CORK;
export const TCP_QUICKACK = C.TCP_QUICKACK;
export const TCP_USER_TIMEOUT = C.TCP_USER_TIMEOUT;
export const TCP_DEFER_ACCEPT = C.TCP_DEFER_ACCEPT;
export const TCP_INFO = C.TCP_INFO;
export const TCP_CONGESTION = C.TCP_CONGESTION;
export const TCP_SYNCNT = C.TCP_SYNCNT;
export const TCP_LINGER2 = C.TCP_LINGER2;
export const TCP_WINDOW_CLAMP = C.TCP_WINDOW_CLAMP;

export const IP_TOS = C.IP_TOS;
export const IP_TTL = C.IP_TTL;
export const IP_HDRINCL = C.IP_HDRINCL;
export const IP_OPTIONS = C.IP_OPTIONS;
export const IP_RECVOPTS = C.IP_RECVOPTS;
export const IP_RECVTOS = C.IP_RECVTOS;
export const IP_MULTICAST_IF = C.IP_MULTICAST_IF;
export const IP_MULTICAST_TTL = C.IP_MULTICAST_TTL;
export const IP_MULTICAST_LOOP = C.IP_MULTICAST_LOOP;
export const IP_ADD_MEMBERSHIP = C.IP_ADD_MEMBERSHIP;
export const IP_DROP_MEMBERSHIP = C.IP_DROP_MEMBERSHIP;

export const IPV6_V6ONLY = C.IPV6_V6ONLY;
export const IPV6_UNICAST_HOPS = C.IPV6_UNICAST_HOPS;
export const IPV6_MULTICAST_IF = C.IPV6_MULTICAST_IF;
export const IPV6_MULTICAST_HOPS = C.IPV6_MULTICAST_HOPS;
export const IPV6_MULTICAST_LOOP = C.IPV6_MULTICAST_LOOP;
export const IPV6_JOIN_GROUP = C.IPV6_JOIN_GROUP;
export const IPV6_LEAVE_GROUP = C.IPV6_LEAVE_GROUP;
export const IPV6_TCLASS = C.IPV6_TCLASS;
export const IPV6_RECVTCLASS = C.IPV6_RECVTCLASS;
export const IPV6_PKTINFO = C.IPV6_PKTINFO;
export const IPV6_RECVPKTINFO = C.IPV6_RECVPKTINFO;

export const MSG_OOB = C.MSG_OOB;
export const MSG_PEEK = C.MSG_PEEK;
export const MSG_DONTROUTE = C.MSG_DONTROUTE;
export const MSG_DONTWAIT = C.MSG_DONTWAIT;
export const MSG_EOR = C.MSG_EOR;
export const MSG_TRUNC = C.MSG_TRUNC;
export const MSG_CTRUNC = C.MSG_CTRUNC;
export const MSG_WAITALL = C.MSG_WAITALL;
export const MSG_NOSIGNAL: number | undefined = C.MSG_NOSIGNAL || undefined;
export const MSG_CMSG_CLOEXEC = C.MSG_CMSG_CLOEXEC;
export const MSG_CONFIRM = C.MSG_CONFIRM;
export const MSG_ERRQUEUE = C.MSG_ERRQUEUE;
export const MSG_MORE = C.MSG_MORE;
export const MSG_FASTOPEN = C.MSG_FASTOPEN;
export const MSG_EOF = C.MSG_EOF;

export const SHUT_RD = C.SHUT_RD;
export const SHUT_WR = C.SHUT_WR;
export const SHUT_RDWR = C.SHUT_RDWR;

export const INADDR_ANY = C.INADDR_ANY;
export const INADDR_BROADCAST = C.INADDR_BROADCAST;
export const INADDR_LOOPBACK = C.INADDR_LOOPBACK;
export const INADDR_NONE = C.INADDR_NONE;

export const AI_PASSIVE = C.AI_PASSIVE;
export const AI_CANONNAME = C.AI_CANONNAME;
export const AI_NUMERICHOST = C.AI_NUMERICHOST;
export const AI_NUMERICSERV = C.AI_NUMERICSERV;
export const AI_V4MAPPED = C.AI_V4MAPPED;
export const AI_ALL = C.AI_ALL;
export const AI_ADDRCONFIG = C.AI_ADDRCONFIG;
export const AI_DEFAULT = C.AI_DEFAULT;
export const AI_MASK = C.AI_MASK;
export const AI_V4MAPPED_CFG = C.AI_V4MAPPED_CFG;

export const NI_NUMERICHOST = C.NI_NUMERICHOST;
export const NI_NUMERICSERV = C.NI_NUMERICSERV;
export const NI_NOFQDN = C.NI_NOFQDN;
export const NI_NAMEREQD = C.NI_NAMEREQD;
export const NI_DGRAM = C.NI_DGRAM;
export const NI_MAXHOST = C.NI_MAXHOST;
export const NI_MAXSERV = C.NI_MAXSERV;
export const NI_NUMERICSCOPE = C.NI_NUMERICSCOPE;

export const EAI_ADDRFAMILY = C.EAI_ADDRFAMILY;
export const EAI_AGAIN = C.EAI_AGAIN;
export const EAI_BADFLAGS = C.EAI_BADFLAGS;
export const EAI_FAIL = C.EAI_FAIL;
export const EAI_FAMILY = C.EAI_FAMILY;
export const EAI_MEMORY = C.EAI_MEMORY;
export const EAI_NODATA = C.EAI_NODATA;
export const EAI_NONAME = C.EAI_NONAME;
export const EAI_OVERFLOW = C.EAI_OVERFLOW;
export const EAI_SERVICE = C.EAI_SERVICE;
export const EAI_SOCKTYPE = C.EAI_SOCKTYPE;
export const EAI_SYSTEM = C.EAI_SYSTEM;
export const EAI_BADHINTS = C.EAI_BADHINTS;
export const EAI_PROTOCOL = C.EAI_PROTOCOL;

// ---- internals ----

const EBADF = codeToErrno("EBADF");
const EINTR = codeToErrno("EINTR");
const EAGAIN = codeToErrno("EAGAIN");
const EINPROGRESS = codeToErrno("EINPROGRESS");
const ECONNRESET = codeToErrno("ECONNRESET");
const EAFNOSUPPORT = codeToErrno("EAFNOSUPPORT");
const EINVAL = codeToErrno("EINVAL");
const NONBLOCK_FLAGS = C.SOCK_NONBLOCK | C.SOCK_CLOEXEC;

// Scratch shared by every socket; each call is synchronous, so none overlaps.
// Small receives land in `scratch` and are copied out at their exact size.
const scratch = new Uint8Array(new ArrayBuffer(64 * 1024));
const sa = new Uint8Array(new ArrayBuffer(C.SOCKADDR_STORAGE_SIZE));
const saLen = new Uint8Array(new ArrayBuffer(4));
const saLenView = new DataView(saLen.buffer);
const hostBytes = new Uint8Array(new ArrayBuffer(16));
const opt = new Uint8Array(new ArrayBuffer(1024));
const optView = new DataView(opt.buffer);
const optLen = new Uint8Array(new ArrayBuffer(4));
const optLenView = new DataView(optLen.buffer);
const pollfd = new Uint8Array(new ArrayBuffer(8));
const pollView = new DataView(pollfd.buffer);

/** The last numeric host parsed for an address (sendto in a loop parses the same one). */
let lastHost = "", lastFamily = -1, lastScope = 0;
const lastBytes = new Uint8Array(new ArrayBuffer(16));

/** View any ArrayBufferView as bytes; TypeError for anything else (strings included). */
export function asBytes(data: unknown, what = "data"): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const kind = typeof data === "string" ? "a string" : formatValue(data);
  throw new TypeError(`${what} must be a bytes-like object (Uint8Array or another ArrayBufferView), not ${kind}`);
}

function checkInt(v: unknown, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer, got ${formatValue(v)}`);
  return v;
}

function checkSize(n: unknown, what: string): number {
  checkInt(n, what);
  if ((n as number) < 0) throw new ValueError(`negative ${what}`);
  return n as number;
}

/** A timeout in seconds (-1 for none) from Python's `None | float >= 0`. */
function parseTimeout(t: unknown): number {
  if (t === null || t === undefined) return -1;
  if (typeof t !== "number") throw new TypeError(`timeout must be a number of seconds or null, not ${formatValue(t)}`);
  if (Number.isNaN(t)) throw new ValueError("Invalid value NaN (not a number)");
  if (t < 0 || !Number.isFinite(t)) throw new ValueError("Timeout value out of range");
  return t;
}

function setNonblocking(fd: number, on: boolean): void {
  const fl = libc.fcntl(fd, C.F_GETFL, 0);
  if (fl < 0) raiseErrno("fcntl(F_GETFL)");
  const next = on ? fl | C.O_NONBLOCK : fl & ~C.O_NONBLOCK;
  if (next !== fl && libc.fcntl(fd, C.F_SETFL, next) < 0) raiseErrno("fcntl(F_SETFL)");
}

let defaultTimeout = -1;

/** The timeout new sockets get (Python's `socket.getdefaulttimeout()`): null means blocking. */
export function getdefaulttimeout(): number | null {
  return defaultTimeout < 0 ? null : defaultTimeout;
}

/** Set the timeout new sockets (and accepted ones) get; null (the default) makes them blocking. */
export function setdefaulttimeout(timeout: number | null): void {
  defaultTimeout = parseTimeout(timeout);
}

/**
 * The address bytes (into `hostBytes`) and scope of `host` for a socket of
 * `family`: numeric text, "" (any), "<broadcast>", or "localhost".
 */
function hostToBytes(family: number, host: string): number {
  const v6 = family === C.AF_INET6;
  if (host === "") {
    hostBytes.fill(0);
    return 0;
  }
  if (host === "<broadcast>" || host === "255.255.255.255") {
    if (v6) throw new OSError(EAFNOSUPPORT, undefined, "address family mismatched");
    hostBytes.fill(255, 0, 4);
    return 0;
  }
  if (host === lastHost && family === lastFamily) {
    hostBytes.set(lastBytes);
    return lastScope;
  }
  const pct = v6 ? host.indexOf("%") : -1;
  let scope = 0;
  let ok = parseIP(family, pct < 0 ? host : host.slice(0, pct), hostBytes);
  if (ok && pct >= 0) {
    scope = scopeIndex(host.slice(pct + 1));
    ok = scope >= 0;
  }
  if (!ok) {
    // Not numeric for this family: let libc judge, without touching the network.
    const r = resolveHostSync(family, host, /^localhost\.?$/i.test(host));
    hostBytes.set(r.bytes);
    return r.scopeId;
  }
  lastHost = host;
  lastFamily = family;
  lastScope = scope;
  lastBytes.set(hostBytes);
  return scope;
}

/** Encode an AF_INET/AF_INET6 address into `sa`; returns its length. */
function encodeInet(family: number, address: unknown, what: string): number {
  const v6 = family === C.AF_INET6;
  const shape = v6 ? "[host, port, flowinfo?, scopeId?]" : "[host, port]";
  const name = v6 ? "AF_INET6" : "AF_INET";
  if (!Array.isArray(address)) throw new TypeError(`${what}: ${name} address must be an array ${shape}, not ${formatValue(address)}`);
  if (v6 ? address.length < 2 || address.length > 4 : address.length !== 2) {
    throw new TypeError(`${what}: ${name} address must be ${shape}, got ${formatValue(address)}`);
  }
  const [host, port, flowinfo = 0, scopeId = 0] = address as unknown[];
  if (typeof host !== "string") throw new TypeError(`${what}: host must be a string, not ${formatValue(host)}`);
  if (host.includes("\0")) throw new ValueError(`${what}: host contains an embedded null character`);
  checkInt(port, `${what}: port`);
  if ((port as number) < 0 || (port as number) > 0xffff) throw new ValueError(`${what}: port must be 0-65535.`);
  if (v6) {
    checkInt(flowinfo, `${what}: flowinfo`);
    checkInt(scopeId, `${what}: scopeId`);
    if ((flowinfo as number) < 0 || (flowinfo as number) > 0xfffff) throw new ValueError(`${what}: flowinfo must be 0-1048575.`);
    if ((scopeId as number) < 0 || (scopeId as number) > 0xffffffff) throw new ValueError(`${what}: scopeId must be 0-4294967295.`);
  }
  const scope = hostToBytes(family, host);
  return writeInetSockaddr(sa, v6 ? hostBytes : hostBytes.subarray(0, 4), port as number, flowinfo as number, (scopeId as number) || scope);
}

// Set by adopt() around a constructor call: the new socket's timeout is known.
let adopting = -2;

/** A Socket for a descriptor whose mode we know (`timeout` -1: blocking, as accept4/socketpair make it). */
function adopt(family: number, type: number, proto: number, fd: number): Socket {
  if (defaultTimeout >= 0) setNonblocking(fd, true);
  adopting = defaultTimeout;
  try {
    return new Socket(family, type, proto, fd);
  } finally {
    adopting = -2;
  }
}

/**
 * A socket (Python's `socket.socket`). Methods raise OSError subclasses
 * with `errno` and `code` ("ECONNREFUSED"), TypeError/ValueError for bad
 * arguments, OSError EBADF once closed.
 *
 * @example
 * ```ts
 * const srv = new Socket(AF_INET, SOCK_STREAM);
 * srv.bind(["127.0.0.1", 0]);
 * srv.listen();
 * const cli = new Socket(AF_INET, SOCK_STREAM);
 * cli.connect(srv.getsockname());
 * const [conn, addr] = srv.accept();
 * ```
 */
export class Socket {
  #fd: number;
  /** Seconds; -1: none (blocking), 0: non-blocking. */
  #timeout: number;
  readonly family: number;
  readonly type: number;
  readonly proto: number;

  /**
   * A new socket, or (with `fileno`) one adopting an existing descriptor;
   * then -1 for `family`, `type` or `proto` asks the descriptor. New
   * sockets are close-on-exec and get the default timeout (blocking unless
   * `setdefaulttimeout` said otherwise, or `type` has SOCK_NONBLOCK); an
   * adopted descriptor keeps its mode (non-blocking means timeout 0).
   */
  constructor(family: number = AF_INET, type: number = SOCK_STREAM, proto = 0, fileno?: number) {
    checkInt(family, "family");
    checkInt(type, "type");
    checkInt(proto, "proto");
    if (fileno !== undefined) {
      if (!Number.isInteger(fileno) || fileno < 0) throw new ValueError(`negative or invalid file descriptor: ${fileno}`);
      this.#fd = fileno;
      if (adopting !== -2) {
        this.#timeout = adopting;
      } else {
        const fl = libc.fcntl(fileno, C.F_GETFL, 0);
        if (fl < 0) raiseErrno("fcntl(F_GETFL)");
        if (fl & C.O_NONBLOCK) {
          this.#timeout = 0;
        } else {
          this.#timeout = defaultTimeout;
          if (defaultTimeout >= 0) setNonblocking(fileno, true);
        }
      }
      if (family === -1 || type === -1 || proto === -1) [family, type, proto] = detect(fileno, family, type, proto);
    } else {
      if (family === -1) family = AF_INET;
      if (type === -1) type = SOCK_STREAM;
      if (proto === -1) proto = 0;
      this.#fd = libc.socket(family, type | C.SOCK_CLOEXEC, proto);
      if (this.#fd < 0) raiseErrno("socket()");
      if (!C.SOCK_CLOEXEC) libc.fcntl(this.#fd, C.F_SETFD, C.FD_CLOEXEC);
      this.#timeout = C.SOCK_NONBLOCK && type & C.SOCK_NONBLOCK ? 0 : defaultTimeout;
      if (this.#timeout >= 0) setNonblocking(this.#fd, true);
    }
    this.family = family;
    // As Python 3.7+: the type flags are not part of the type.
    this.type = NONBLOCK_FLAGS ? type & ~NONBLOCK_FLAGS : type;
    this.proto = proto;
  }

  /** The descriptor, or -1 once closed or detached. */
  fileno(): number {
    return this.#fd;
  }

  #check(): number {
    if (this.#fd < 0) throw OSError.fromErrno(EBADF, "the socket is closed");
    return this.#fd;
  }

  /**
   * After a failed call: retry on EINTR; on EAGAIN with a timeout, wait for
   * `events` (computing the deadline on first use) and retry; else throw.
   * Returns the deadline for the next round.
   */
  #retry(context: string, events: number, deadline: number): number {
    const errno = native.errno();
    if (errno === EINTR) return deadline;
    if (errno === EAGAIN && this.#timeout > 0) {
      if (deadline < 0) deadline = native.now() + this.#timeout * 1000;
      this.#waitFor(events, deadline);
      return deadline;
    }
    throw OSError.fromErrno(errno, context);
  }

  /** Wait with poll(2) until the descriptor has `events`, or throw TimeoutError at `deadline` (ms, native.now()). */
  #waitFor(events: number, deadline: number): void {
    for (;;) {
      const left = deadline - native.now();
      if (left <= 0) throw new TimeoutError();
      pollView.setInt32(0, this.#fd, true);
      pollView.setInt16(4, events, true);
      pollView.setInt16(6, 0, true);
      // Round up: a wait shorter than asked would spin (as CPython's selectors and mio do).
      const r = libc.poll(pollfd, 1, deadline === Infinity ? -1 : Math.ceil(left));
      if (r > 0) return; // ready, or an error the retried call will report
      if (r < 0) {
        const errno = native.errno();
        if (errno !== EINTR) throw OSError.fromErrno(errno, "poll()");
      }
    }
  }

  /** Encode `address` for this socket's family into the sockaddr scratch; returns its length. */
  #encode(address: unknown, what: string): number {
    if (this.family === C.AF_INET || this.family === C.AF_INET6) return encodeInet(this.family, address, what);
    if (this.family === C.AF_UNIX) {
      if (typeof address === "string" || address instanceof Uint8Array) return writeUnixSockaddr(sa, address);
      throw new TypeError(`${what}: AF_UNIX address must be a path string, not ${formatValue(address)}`);
    }
    throw new OSError(EAFNOSUPPORT, undefined, `${what}: addresses of family ${this.family} are not supported`);
  }

  // ---- blocking mode and timeouts ----

  /** `setblocking(true)` is `settimeout(null)`; `setblocking(false)` is `settimeout(0)`. */
  setblocking(flag: boolean): void {
    this.settimeout(flag ? null : 0);
  }

  /** False only when the timeout is 0 (Python: `gettimeout() != 0`). */
  getblocking(): boolean {
    this.#check();
    return this.#timeout !== 0;
  }

  /**
   * null: operations block; 0: they raise BlockingIOError instead of
   * waiting; seconds > 0: they wait up to that long, then raise
   * TimeoutError("timed out"). The descriptor is O_NONBLOCK unless null.
   */
  settimeout(timeout: number | null): void {
    const t = parseTimeout(timeout);
    setNonblocking(this.#check(), t >= 0);
    this.#timeout = t;
  }

  /** The timeout in seconds, or null when blocking. */
  gettimeout(): number | null {
    return this.#timeout < 0 ? null : this.#timeout;
  }

  // ---- addresses and connections ----

  /** Bind to `address` (`[host, port]`, `[host, port, flowinfo, scopeId]` or a path). */
  bind(address: unknown): void {
    const fd = this.#check();
    const len = this.#encode(address, "bind()");
    if (libc.bind(fd, sa, len) < 0) raiseErrno(`bind(${formatValue(address)})`);
  }

  /** Listen for connections; `backlog` defaults to min(SOMAXCONN, 128), as in Python. */
  listen(backlog: number = Math.min(C.SOMAXCONN, 128)): void {
    checkInt(backlog, "backlog");
    if (libc.listen(this.#check(), Math.max(0, backlog)) < 0) raiseErrno("listen()");
  }

  /**
   * Connect to `address`. Blocking sockets wait for the connection; a timed
   * one waits up to its timeout (TimeoutError); a non-blocking one raises
   * BlockingIOError (EINPROGRESS) while the connection proceeds.
   */
  connect(address: unknown): void {
    this.#connect(address, true);
  }

  /**
   * `connect` that returns the errno instead of raising it: 0 on success,
   * EINPROGRESS for a non-blocking socket, ECONNREFUSED, ... (Python's
   * `connect_ex`). Address errors still throw.
   */
  connectEx(address: unknown): number {
    return this.#connect(address, false);
  }

  #connect(address: unknown, raise: boolean): number {
    const fd = this.#fd;
    if (fd < 0 && !raise) {
      this.#encode(address, "connect_ex()");
      return EBADF;
    }
    this.#check();
    const len = this.#encode(address, raise ? "connect()" : "connect_ex()");
    if (libc.connect(fd, sa, len) === 0) return 0;
    let err = native.errno();
    // The connection goes on in the background: a timed socket waits for it,
    // and so does a blocking one whose connect() a signal interrupted.
    if ((err === EINPROGRESS && this.#timeout > 0) || (err === EINTR && this.#timeout !== 0)) {
      try {
        this.#waitFor(C.POLLOUT, this.#timeout > 0 ? native.now() + this.#timeout * 1000 : Infinity);
      } catch (e) {
        if (!raise && e instanceof TimeoutError) return EAGAIN;
        throw e;
      }
      err = this.getsockopt(C.SOL_SOCKET, C.SO_ERROR);
      if (err === 0) return 0;
    }
    if (raise) throw OSError.fromErrno(err, `connect(${formatValue(address)})`);
    return err;
  }

  /**
   * Accept a connection: `[socket, address]`. The new socket is blocking
   * (or gets the default timeout), close-on-exec, and of this socket's
   * family, type and protocol.
   */
  accept(): [Socket, SocketAddress] {
    const fd = this.#check();
    let nfd: number;
    for (let deadline = -1;;) {
      saLenView.setUint32(0, sa.byteLength, true);
      nfd = libc.accept4 ? libc.accept4(fd, sa, saLen, C.SOCK_CLOEXEC) : libc.accept(fd, sa, saLen);
      if (nfd >= 0) break;
      deadline = this.#retry("accept()", C.POLLIN, deadline);
    }
    const address = decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength));
    if (!libc.accept4) {
      // accept(2) leaves close-on-exec unset, and on the BSDs copies O_NONBLOCK from the listener.
      libc.fcntl(nfd, C.F_SETFD, C.FD_CLOEXEC);
      setNonblocking(nfd, false);
    }
    return [adopt(this.family, this.type, this.proto, nfd), address];
  }

  /** The address this socket is bound to. */
  getsockname(): SocketAddress {
    const fd = this.#check();
    saLenView.setUint32(0, sa.byteLength, true);
    if (libc.getsockname(fd, sa, saLen) < 0) raiseErrno("getsockname()");
    return decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength));
  }

  /** The address of the peer (OSError ENOTCONN when not connected). */
  getpeername(): SocketAddress {
    const fd = this.#check();
    saLenView.setUint32(0, sa.byteLength, true);
    if (libc.getpeername(fd, sa, saLen) < 0) raiseErrno("getpeername()");
    return decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength));
  }

  // ---- data ----

  /** Send bytes; returns how many were sent. BlockingIOError when a non-blocking socket is full. */
  send(data: ArrayBufferView, flags = 0): number {
    const bytes = asBytes(data);
    const fd = this.#check();
    for (let deadline = -1;;) {
      const n = libc.send(fd, bytes, bytes.byteLength, flags | C.MSG_NOSIGNAL);
      if (n >= 0) return n;
      deadline = this.#retry("send()", C.POLLOUT, deadline);
    }
  }

  /**
   * Send all bytes. A timeout bounds the whole call (as in Python 3.5+); a
   * non-blocking socket may raise BlockingIOError part way.
   */
  sendall(data: ArrayBufferView, flags = 0): void {
    let bytes = asBytes(data);
    const fd = this.#check();
    let deadline = -1;
    while (bytes.byteLength > 0) {
      const n = libc.send(fd, bytes, bytes.byteLength, flags | C.MSG_NOSIGNAL);
      if (n >= 0) bytes = bytes.subarray(n);
      else deadline = this.#retry("sendall()", C.POLLOUT, deadline);
    }
  }

  /** Send a datagram to `address`: `sendto(data, address)` or `sendto(data, flags, address)`. */
  sendto(data: ArrayBufferView, address: unknown): number;
  sendto(data: ArrayBufferView, flags: number, address: unknown): number;
  sendto(data: ArrayBufferView, ...rest: unknown[]): number {
    if (rest.length < 1 || rest.length > 2) throw new TypeError(`sendto() takes 2 or 3 arguments (${rest.length + 1} given)`);
    const bytes = asBytes(data);
    const flags = rest.length === 2 ? checkInt(rest[0], "flags") : 0;
    const fd = this.#check();
    const len = this.#encode(rest[rest.length - 1], "sendto()");
    for (let deadline = -1;;) {
      const n = libc.sendto(fd, bytes, bytes.byteLength, flags | C.MSG_NOSIGNAL, sa, len);
      if (n >= 0) return n;
      deadline = this.#retry("sendto()", C.POLLOUT, deadline);
    }
  }

  /** Receive up to `bufsize` bytes; an empty array means EOF. */
  recv(bufsize: number, flags = 0): Uint8Array {
    checkSize(bufsize, "buffersize");
    const fd = this.#check();
    // recv(2) with length 0 would block or fail on an empty socket; Python answers at once.
    if (bufsize === 0) return new Uint8Array(0);
    const buf = bufsize <= scratch.byteLength ? scratch : new Uint8Array(new ArrayBuffer(bufsize));
    for (let deadline = -1;;) {
      const n = libc.recv(fd, buf, bufsize, flags);
      if (n >= 0) return buf === scratch ? scratch.slice(0, n) : buf.subarray(0, n);
      deadline = this.#retry("recv()", C.POLLIN, deadline);
    }
  }

  /** Receive into `buffer` (up to `nbytes`, default its length); returns the count. */
  recvInto(buffer: ArrayBufferView, nbytes = 0, flags = 0): number {
    const bytes = asBytes(buffer, "buffer");
    checkSize(nbytes, "nbytes");
    if (nbytes > bytes.byteLength) throw new ValueError("buffer too small for requested bytes");
    const fd = this.#check();
    const len = nbytes || bytes.byteLength;
    if (len === 0) return 0;
    for (let deadline = -1;;) {
      const n = libc.recv(fd, bytes, len, flags);
      if (n >= 0) return n;
      deadline = this.#retry("recv_into()", C.POLLIN, deadline);
    }
  }

  /** Receive a datagram of up to `bufsize` bytes: `[data, address]` (address null when the sender has none). */
  recvfrom(bufsize: number, flags = 0): [Uint8Array, SocketAddress] {
    checkSize(bufsize, "buffersize");
    const fd = this.#check();
    const buf = bufsize <= scratch.byteLength ? scratch : new Uint8Array(new ArrayBuffer(bufsize));
    for (let deadline = -1;;) {
      saLenView.setUint32(0, sa.byteLength, true);
      const n = libc.recvfrom(fd, buf, bufsize, flags, sa, saLen);
      if (n >= 0) {
        const data = buf === scratch ? scratch.slice(0, n) : buf.subarray(0, n);
        return [data, decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength))];
      }
      deadline = this.#retry("recvfrom()", C.POLLIN, deadline);
    }
  }

  /** Receive a datagram into `buffer` (up to `nbytes`, default its length): `[count, address]`. */
  recvfromInto(buffer: ArrayBufferView, nbytes = 0, flags = 0): [number, SocketAddress] {
    const bytes = asBytes(buffer, "buffer");
    checkSize(nbytes, "nbytes");
    if (nbytes > bytes.byteLength) throw new ValueError("nbytes is greater than the length of the buffer");
    const fd = this.#check();
    const len = nbytes || bytes.byteLength;
    for (let deadline = -1;;) {
      saLenView.setUint32(0, sa.byteLength, true);
      const n = libc.recvfrom(fd, bytes, len, flags, sa, saLen);
      if (n >= 0) return [n, decodeSockaddr(sa, Math.min(saLenView.getUint32(0, true), sa.byteLength))];
      deadline = this.#retry("recvfrom_into()", C.POLLIN, deadline);
    }
  }

  // ---- options ----

  /**
   * Set a socket option: an integer (or boolean) value is passed as a C
   * int; bytes are passed as they are; `null` with `optlen` passes NULL.
   */
  setsockopt(level: number, optname: number, value: number | boolean | ArrayBufferView | null, optlen?: number): void {
    checkInt(level, "level");
    checkInt(optname, "optname");
    const fd = this.#check();
    let r: number;
    if (value === null) {
      checkSize(optlen, "optlen");
      r = libc.setsockopt(fd, level, optname, null, optlen);
    } else if (typeof value === "number" || typeof value === "boolean") {
      const v = typeof value === "boolean" ? +value : checkInt(value, "value");
      if (v < -0x80000000 || v > 0x7fffffff) throw new ValueError(`setsockopt(): value ${v} does not fit in a C int`);
      optView.setInt32(0, v, true);
      r = libc.setsockopt(fd, level, optname, opt, 4);
    } else {
      const b = asBytes(value, "value");
      r = libc.setsockopt(fd, level, optname, b, b.byteLength);
    }
    if (r < 0) raiseErrno("setsockopt()");
  }

  /**
   * Read a socket option: a C int, or (with `buflen`, 1..1024) the raw
   * bytes the kernel returned.
   */
  getsockopt(level: number, optname: number): number;
  getsockopt(level: number, optname: number, buflen: number): Uint8Array;
  getsockopt(level: number, optname: number, buflen?: number): number | Uint8Array {
    checkInt(level, "level");
    checkInt(optname, "optname");
    const fd = this.#check();
    if (buflen === undefined) {
      optView.setInt32(0, 0, true);
      optLenView.setUint32(0, 4, true);
      if (libc.getsockopt(fd, level, optname, opt, optLen) < 0) raiseErrno("getsockopt()");
      return optView.getInt32(0, true);
    }
    checkInt(buflen, "buflen");
    if (buflen <= 0 || buflen > opt.byteLength) throw new OSError(EINVAL, undefined, "getsockopt buflen out of range");
    opt.fill(0, 0, buflen);
    optLenView.setUint32(0, buflen, true);
    if (libc.getsockopt(fd, level, optname, opt, optLen) < 0) raiseErrno("getsockopt()");
    return opt.slice(0, Math.min(optLenView.getUint32(0, true), buflen));
  }

  // ---- ending ----

  /** Shut down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR). */
  shutdown(how: number): void {
    checkInt(how, "how");
    if (libc.shutdown(this.#check(), how) < 0) raiseErrno("shutdown()");
  }

  /** Close the descriptor; closing twice is a no-op (ECONNRESET from close is ignored, as Python does). */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    if (libc.close(fd) < 0) {
      const errno = native.errno();
      if (errno !== ECONNRESET) throw OSError.fromErrno(errno, "close()");
    }
  }

  /** Forget the descriptor without closing it, and return it. */
  detach(): number {
    const fd = this.#fd;
    this.#fd = -1;
    return fd;
  }

  toString(): string {
    const fd = this.#fd;
    let s = `<Socket fd=${fd}, family=${this.family}, type=${this.type}, proto=${this.proto}`;
    if (fd >= 0) {
      for (const [name, get] of [["laddr", () => this.getsockname()], ["raddr", () => this.getpeername()]] as const) {
        try {
          const a = get();
          if (a !== null && a !== "") s += `, ${name}=${JSON.stringify(a)}`;
        } catch { /* not bound / not connected */ }
      }
    }
    return s + ">";
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** family, type and proto of an adopted descriptor, for the ones given as -1. */
function detect(fd: number, family: number, type: number, proto: number): [number, number, number] {
  const intOption = (name: number): number => {
    optView.setInt32(0, 0, true);
    optLenView.setUint32(0, 4, true);
    if (libc.getsockopt(fd, C.SOL_SOCKET, name, opt, optLen) < 0) raiseErrno("getsockopt()");
    return optView.getInt32(0, true);
  };
  if (family === -1) {
    saLenView.setUint32(0, sa.byteLength, true);
    if (libc.getsockname(fd, sa, saLen) < 0) raiseErrno("getsockname()");
    family = C.SA_LEN ? sa[1] : sa[0] | (sa[1] << 8);
  }
  if (type === -1) type = intOption(C.SO_TYPE);
  if (proto === -1) proto = C.SO_PROTOCOL ? intOption(C.SO_PROTOCOL) : 0;
  return [family, type, proto];
}

/** A pair of connected sockets (AF_UNIX, SOCK_STREAM by default), both close-on-exec. */
export function socketpair(family: number = AF_UNIX, type: number = SOCK_STREAM, proto = 0): [Socket, Socket] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (libc.socketpair(family, type | C.SOCK_CLOEXEC, proto, new Uint8Array(fds.buffer)) < 0) raiseErrno("socketpair()");
  if (!C.SOCK_CLOEXEC) for (const fd of fds) libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC);
  if (C.SOCK_NONBLOCK && type & C.SOCK_NONBLOCK) {
    return [new Socket(family, type, proto, fds[0]), new Socket(family, type, proto, fds[1])];
  }
  return [adopt(family, type, proto, fds[0]), adopt(family, type, proto, fds[1])];
}

/** A Socket adopting an existing descriptor (Python's `socket.fromfd` dups it; this one does not). */
export function fromFd(fd: number, family: number, type: number, proto = 0): Socket {
  return new Socket(family, type, proto, fd);
}
