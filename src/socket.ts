/**
 * Socket: the counterpart of Python's `socket.socket`, over libc.
 *
 * This part covers what descriptor watching needs: creating sockets and
 * socket pairs, blocking mode, send/recv, shutdown, close. Addresses, name
 * resolution, options, bind/listen/connect/accept come with networking and
 * throw NotImplementedError until then.
 */

import { C, libc } from "./native.ts";
import { NotImplementedError, OSError, raiseErrno, ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";

export const AF_UNSPEC = C.AF_UNSPEC;
export const AF_UNIX = C.AF_UNIX;
export const AF_INET = C.AF_INET;
export const AF_INET6 = C.AF_INET6;
export const SOCK_STREAM = C.SOCK_STREAM;
export const SOCK_DGRAM = C.SOCK_DGRAM;
export const SOCK_RAW = C.SOCK_RAW;
export const SOCK_SEQPACKET = C.SOCK_SEQPACKET;
export const SOL_SOCKET = C.SOL_SOCKET;
export const SO_REUSEADDR = C.SO_REUSEADDR;
export const SO_REUSEPORT = C.SO_REUSEPORT;
export const SO_KEEPALIVE = C.SO_KEEPALIVE;
export const SO_ERROR = C.SO_ERROR;
export const SO_TYPE = C.SO_TYPE;
export const SO_SNDBUF = C.SO_SNDBUF;
export const SO_RCVBUF = C.SO_RCVBUF;
export const SO_BROADCAST = C.SO_BROADCAST;
export const IPPROTO_TCP = C.IPPROTO_TCP;
export const IPPROTO_UDP = C.IPPROTO_UDP;
export const IPPROTO_IP = C.IPPROTO_IP;
export const IPPROTO_IPV6 = C.IPPROTO_IPV6;
export const TCP_NODELAY = C.TCP_NODELAY;
export const SHUT_RD = C.SHUT_RD;
export const SHUT_WR = C.SHUT_WR;
export const SHUT_RDWR = C.SHUT_RDWR;
export const MSG_PEEK = C.MSG_PEEK;
export const MSG_DONTWAIT = C.MSG_DONTWAIT;

const EBADF = 9;
// Small receives go through one reused buffer and are copied out at their exact size.
const scratch = new Uint8Array(new ArrayBuffer(64 * 1024));

/** View any ArrayBufferView as bytes; TypeError for anything else (strings included). */
export function asBytes(data: unknown, what = "data"): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const kind = typeof data === "string" ? "a string" : formatValue(data);
  throw new TypeError(`${what} must be a bytes-like object (Uint8Array or another ArrayBufferView), not ${kind}`);
}

function checkSize(n: unknown, what: string): number {
  if (typeof n !== "number" || !Number.isInteger(n)) throw new TypeError(`${what} must be an integer, got ${formatValue(n)}`);
  if (n < 0) throw new ValueError(`negative ${what}`);
  return n;
}

function notYet(name: string): never {
  throw new NotImplementedError(`Socket.${name}() is not implemented yet (it comes with the networking transports)`);
}

export class Socket {
  #fd: number;
  readonly family: number;
  readonly type: number;
  readonly proto: number;

  /**
   * A new socket, or (with `fileno`) one wrapping an existing descriptor.
   * New sockets are close-on-exec and blocking, as in Python.
   */
  constructor(family: number = AF_INET, type: number = SOCK_STREAM, proto = 0, fileno?: number) {
    for (const [v, n] of [[family, "family"], [type, "type"], [proto, "proto"]] as const) {
      if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`${n} must be an integer, got ${formatValue(v)}`);
    }
    if (fileno !== undefined) {
      if (!Number.isInteger(fileno) || fileno < 0) throw new ValueError(`negative or invalid file descriptor: ${fileno}`);
      this.#fd = fileno;
    } else {
      this.#fd = libc.socket(family, type | C.SOCK_CLOEXEC, proto);
      if (this.#fd < 0) raiseErrno("socket()");
      if (!C.SOCK_CLOEXEC) libc.fcntl(this.#fd, C.F_SETFD, C.FD_CLOEXEC);
    }
    this.family = family;
    this.type = type;
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

  /** Blocking (true) or non-blocking (false) mode. */
  setblocking(flag: boolean): void {
    const fd = this.#check();
    const fl = libc.fcntl(fd, C.F_GETFL, 0);
    if (fl < 0) raiseErrno("fcntl(F_GETFL)");
    const next = flag ? fl & ~C.O_NONBLOCK : fl | C.O_NONBLOCK;
    if (next !== fl && libc.fcntl(fd, C.F_SETFL, next) < 0) raiseErrno("fcntl(F_SETFL)");
  }

  getblocking(): boolean {
    const fl = libc.fcntl(this.#check(), C.F_GETFL, 0);
    if (fl < 0) raiseErrno("fcntl(F_GETFL)");
    return (fl & C.O_NONBLOCK) === 0;
  }

  /** Send bytes; returns how many were sent. BlockingIOError when a non-blocking socket is full. */
  send(data: ArrayBufferView, flags = 0): number {
    const bytes = asBytes(data);
    const n = libc.send(this.#check(), bytes, bytes.byteLength, flags | C.MSG_NOSIGNAL);
    if (n < 0) raiseErrno("send()");
    return n;
  }

  /** Send all bytes (blocking sockets; a non-blocking one may raise BlockingIOError part way). */
  sendall(data: ArrayBufferView, flags = 0): void {
    let bytes = asBytes(data);
    while (bytes.byteLength > 0) {
      const n = this.send(bytes, flags);
      bytes = bytes.subarray(n);
    }
  }

  /** Receive up to `bufsize` bytes; an empty array means EOF. */
  recv(bufsize: number, flags = 0): Uint8Array {
    checkSize(bufsize, "buffersize");
    const fd = this.#check();
    // recv(2) with length 0 would block or fail on an empty socket; Python answers at once.
    if (bufsize === 0) return new Uint8Array(0);
    const buf = bufsize <= scratch.byteLength ? scratch : new Uint8Array(new ArrayBuffer(bufsize));
    const n = libc.recv(fd, buf, bufsize, flags);
    if (n < 0) raiseErrno("recv()");
    return buf === scratch ? scratch.slice(0, n) : buf.subarray(0, n);
  }

  /** Receive into `buffer` (up to `nbytes`, default its length); returns the count. */
  recvInto(buffer: ArrayBufferView, nbytes = 0, flags = 0): number {
    const bytes = asBytes(buffer, "buffer");
    checkSize(nbytes, "nbytes");
    if (nbytes > bytes.byteLength) throw new ValueError("buffer too small for requested bytes");
    const fd = this.#check();
    if ((nbytes || bytes.byteLength) === 0) return 0;
    const n = libc.recv(fd, bytes, nbytes || bytes.byteLength, flags);
    if (n < 0) raiseErrno("recv_into()");
    return n;
  }

  /** Shut down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR). */
  shutdown(how: number): void {
    if (libc.shutdown(this.#check(), how) < 0) raiseErrno("shutdown()");
  }

  /** Close the descriptor; closing twice is a no-op. */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    if (libc.close(fd) < 0) raiseErrno("close()");
  }

  /** Forget the descriptor without closing it, and return it. */
  detach(): number {
    const fd = this.#fd;
    this.#fd = -1;
    return fd;
  }

  bind(_address: unknown): void { notYet("bind"); }
  listen(_backlog?: number): void { notYet("listen"); }
  connect(_address: unknown): void { notYet("connect"); }
  accept(): never { notYet("accept"); }
  recvfrom(_bufsize: number): never { notYet("recvfrom"); }
  sendto(_data: ArrayBufferView, _address: unknown): never { notYet("sendto"); }
  settimeout(_timeout: number | null): void { notYet("settimeout"); }
  setsockopt(_level: number, _opt: number, _value: unknown): void { notYet("setsockopt"); }
  getsockopt(_level: number, _opt: number, _buflen?: number): never { notYet("getsockopt"); }
  getsockname(): never { notYet("getsockname"); }
  getpeername(): never { notYet("getpeername"); }

  toString(): string {
    return `<Socket fd=${this.#fd} family=${this.family} type=${this.type} proto=${this.proto}>`;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** A pair of connected sockets (AF_UNIX, SOCK_STREAM by default), both close-on-exec. */
export function socketpair(family: number = AF_UNIX, type: number = SOCK_STREAM, proto = 0): [Socket, Socket] {
  const fds = new Int32Array(new ArrayBuffer(8));
  if (libc.socketpair(family, type | C.SOCK_CLOEXEC, proto, new Uint8Array(fds.buffer)) < 0) raiseErrno("socketpair()");
  if (!C.SOCK_CLOEXEC) for (const fd of fds) libc.fcntl(fd, C.F_SETFD, C.FD_CLOEXEC);
  return [new Socket(family, type, proto, fds[0]), new Socket(family, type, proto, fds[1])];
}

/** A Socket wrapping a duplicate-free existing descriptor (Python's `socket.fromfd` dups; this one adopts it). */
export function fromFd(fd: number, family: number, type: number, proto = 0): Socket {
  return new Socket(family, type, proto, fd);
}
