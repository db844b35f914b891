/**
 * Protocol base classes (asyncio's `protocols.py`): no-op defaults to
 * extend. A plain object with the same methods works just as well; the
 * transports call only the methods that exist.
 */

import { formatValue } from "./format.ts";
import type { BaseTransport, DatagramTransport, SubprocessTransport, Transport } from "./transports.ts";

/**
 * Callbacks every protocol has (asyncio's `BaseProtocol`): the connection's
 * start and end, and write flow control.
 */
export class BaseProtocol {
  /** The connection is set up; `transport` is how to talk back. */
  connectionMade(_transport: BaseTransport): void {}
  /** The connection is gone: `exc` is null on a normal close or EOF. Called once. */
  connectionLost(_exc: Error | null): void {}
  /**
   * The transport's write buffer went strictly over its high-water mark:
   * stop writing until `resumeWriting()`. Called synchronously from `write()`.
   */
  pauseWriting(): void {}
  /** The write buffer drained to its low-water mark or below. */
  resumeWriting(): void {}
}

/**
 * A streaming protocol (asyncio's `Protocol`), for TCP, UNIX stream and TLS
 * connections: data arrives as fresh Uint8Arrays it may keep.
 *
 * @example
 * ```ts
 * import { newEventLoop, Protocol, type Transport } from "tsyncio";
 *
 * // An echo server: each connection gets its own protocol instance.
 * class Echo extends Protocol {
 *   transport: Transport | null = null;
 *   override connectionMade(transport: Transport): void {
 *     this.transport = transport;
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport!.write(data);
 *   }
 * }
 * const loop = newEventLoop();
 * const server = await loop.runUntilComplete(loop.createServer(() => new Echo(), "127.0.0.1", 8888));
 * await loop.runUntilComplete(server.serveForever());
 * ```
 */
export class Protocol extends BaseProtocol {
  /** The connection is set up; keep `transport` to write back. */
  override connectionMade(_transport: Transport): void {}
  /**
   * Bytes arrived. They are a copy the protocol may keep; how the stream is
   * cut into calls says nothing about how the peer wrote it.
   */
  dataReceived(_data: Uint8Array): void {}
  /**
   * The peer will send no more. Return true to keep the transport open for
   * writing (half-close); anything else closes it.
   */
  eofReceived(): boolean | void {}
}

/**
 * A streaming protocol that supplies its own receive buffer (asyncio's
 * `BufferedProtocol`): data is read straight into it, with no copy, which
 * pays off for large transfers.
 *
 * @example
 * ```ts
 * import { BufferedProtocol, newEventLoop } from "tsyncio";
 *
 * // Count the bytes of a download without keeping them.
 * class Counter extends BufferedProtocol {
 *   buf = new Uint8Array(64 * 1024);
 *   total = 0;
 *   override getBuffer(_sizehint: number): Uint8Array {
 *     return this.buf;
 *   }
 *   override bufferUpdated(nbytes: number): void {
 *     this.total += nbytes;
 *   }
 *   override connectionLost(): void {
 *     console.log(`${this.total} bytes`);
 *     loop.stop();
 *   }
 * }
 * const loop = newEventLoop();
 * await loop.runUntilComplete(loop.createConnection(() => new Counter(), "127.0.0.1", 8000));
 * await loop.runForever();
 * loop.close();
 * ```
 */
export class BufferedProtocol extends BaseProtocol {
  /** The connection is set up; keep `transport` to write back. */
  override connectionMade(_transport: Transport): void {}
  /** A buffer to read into (`sizehint` is -1: any non-empty size will do). */
  getBuffer(_sizehint: number): Uint8Array {
    throw new TypeError("BufferedProtocol.getBuffer() must be implemented");
  }
  /** `nbytes` bytes were written at the start of the last buffer. */
  bufferUpdated(_nbytes: number): void {}
  /**
   * The peer will send no more. Return true to keep the transport open for
   * writing (half-close); anything else closes it.
   */
  eofReceived(): boolean | void {}
}

/**
 * A datagram protocol (asyncio's `DatagramProtocol`), for UDP and UNIX
 * datagram endpoints.
 *
 * @example
 * ```ts
 * import { DatagramProtocol, type DatagramTransport, newEventLoop } from "tsyncio";
 *
 * // A UDP echo server.
 * class Echo extends DatagramProtocol {
 *   transport: DatagramTransport | null = null;
 *   override connectionMade(transport: DatagramTransport): void {
 *     this.transport = transport;
 *   }
 *   override datagramReceived(data: Uint8Array, addr: unknown): void {
 *     this.transport!.sendto(data, addr);
 *   }
 * }
 * const loop = newEventLoop();
 * await loop.runUntilComplete(loop.createDatagramEndpoint(() => new Echo(), { localAddr: ["127.0.0.1", 9999] }));
 * await loop.runForever();
 * ```
 */
export class DatagramProtocol extends BaseProtocol {
  /** The endpoint is set up; keep `transport` to send with. */
  override connectionMade(_transport: DatagramTransport): void {}
  /**
   * One datagram arrived from `addr` (`[host, port]` for UDP, a path for a
   * UNIX socket); `data` is a copy the protocol may keep.
   */
  datagramReceived(_data: Uint8Array, _addr: unknown): void {}
  /** A send or receive failed (for example ECONNREFUSED after an ICMP error); the transport stays open. */
  errorReceived(_exc: Error): void {}
}

/**
 * A protocol for a child process and its pipes (asyncio's
 * `SubprocessProtocol`). `connectionLost` comes last, once the child has
 * exited and every pipe is closed: only then has all its output arrived.
 *
 * @example
 * ```ts
 * import { DEVNULL, newEventLoop, SubprocessProtocol } from "tsyncio";
 *
 * const loop = newEventLoop();
 * const done = loop.createFuture<string>();
 * class Collect extends SubprocessProtocol {
 *   out = "";
 *   override pipeDataReceived(fd: number, data: Uint8Array): void {
 *     if (fd === 1) this.out += new TextDecoder().decode(data); // 1: stdout
 *   }
 *   override connectionLost(): void {
 *     done.setResult(this.out);
 *   }
 * }
 * const [proc] = await loop.runUntilComplete(
 *   loop.subprocessExec(() => new Collect(), ["uname", "-s"], { stdin: DEVNULL }),
 * );
 * console.log(await loop.runUntilComplete(done), proc.getReturncode());
 * proc.close();
 * loop.close();
 * ```
 */
export class SubprocessProtocol extends BaseProtocol {
  /** The child runs and its pipes are connected. */
  override connectionMade(_transport: SubprocessTransport): void {}
  /** The child wrote `data` to its stdout (`fd` 1) or stderr (`fd` 2). */
  pipeDataReceived(_fd: number, _data: Uint8Array): void {}
  /** The child's pipe `fd` (0, 1 or 2) closed; `exc` is null unless it failed. */
  pipeConnectionLost(_fd: number, _exc: Error | null): void {}
  /** The child exited (`getReturncode()` has its code); its pipes may still hold output. */
  processExited(): void {}
}

/**
 * What the transports call on a protocol: any object with some of these
 * methods will do (the protocol classes are conveniences), and a transport
 * calls only the ones that exist.
 */
export interface AnyProtocol {
  /** See {@linkcode BaseProtocol.connectionMade}. */
  connectionMade?(transport: unknown): void;
  /** See {@linkcode BaseProtocol.connectionLost}. */
  connectionLost?(exc: Error | null): void;
  /** See {@linkcode BaseProtocol.pauseWriting}. */
  pauseWriting?(): void;
  /** See {@linkcode BaseProtocol.resumeWriting}. */
  resumeWriting?(): void;
  /** See {@linkcode Protocol.dataReceived}. */
  dataReceived?(data: Uint8Array): void;
  /** See {@linkcode Protocol.eofReceived}. */
  eofReceived?(): boolean | void;
  /** With `bufferUpdated`, makes the protocol a buffered one: see {@linkcode BufferedProtocol.getBuffer}. */
  getBuffer?(sizehint: number): Uint8Array;
  /** See {@linkcode BufferedProtocol.bufferUpdated}. */
  bufferUpdated?(nbytes: number): void;
  /** See {@linkcode DatagramProtocol.datagramReceived}. */
  datagramReceived?(data: Uint8Array, addr: unknown): void;
  /** See {@linkcode DatagramProtocol.errorReceived}. */
  errorReceived?(exc: Error): void;
  /** See {@linkcode SubprocessProtocol.pipeDataReceived}. */
  pipeDataReceived?(fd: number, data: Uint8Array): void;
  /** See {@linkcode SubprocessProtocol.pipeConnectionLost}. */
  pipeConnectionLost?(fd: number, exc: Error | null): void;
  /** See {@linkcode SubprocessProtocol.processExited}. */
  processExited?(): void;
}

/**
 * Makes the protocol of a new connection, endpoint, pipe or child process:
 * the loop calls it once per transport (a server, once per accepted
 * connection). asyncio's `protocol_factory`.
 */
export type ProtocolFactory = () => AnyProtocol;

/** TypeError unless `p` can be a protocol (an object; its methods are looked up when called). */
export function checkProtocol(p: unknown, what = "protocol"): asserts p is AnyProtocol {
  if (typeof p !== "object" || p === null) throw new TypeError(`${what} must be a protocol object, got ${formatValue(p)}`);
}

/** TypeError unless `f` can be called as a protocol factory (a function; a class needs a wrapper). */
export function checkProtocolFactory(f: unknown): void {
  if (typeof f !== "function") throw new TypeError(`protocolFactory must be a function, got ${formatValue(f)}`);
  if (/^class\b/.test(Function.prototype.toString.call(f))) {
    throw new TypeError(`protocolFactory must be a function returning a protocol, not a class: pass () => new ${f.name || "Protocol"}()`);
  }
}

/** Call a protocol factory and check what it returned; on failure `owner` (the socket it was for) is closed. */
export function makeProtocol(factory: () => unknown, owner?: { close(): void }): AnyProtocol {
  try {
    const p = factory();
    checkProtocol(p, "the protocol made by protocolFactory");
    return p;
  } catch (e) {
    // The socket the protocol was made for has no transport yet to close it.
    owner?.close();
    throw e;
  }
}

/** True when the protocol reads into its own buffers. */
export function isBufferedProtocol(p: AnyProtocol): boolean {
  return typeof p.getBuffer === "function" && typeof p.bufferUpdated === "function";
}
