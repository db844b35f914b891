/**
 * Protocol base classes (asyncio's `protocols.py`): no-op defaults to
 * extend. A plain object with the same methods works just as well; the
 * transports call only the methods that exist.
 */

import type { BaseTransport, DatagramTransport, SubprocessTransport, Transport } from "./transports.ts";

/** Callbacks every protocol has. */
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

/** A streaming protocol: data arrives as fresh Uint8Arrays it may keep. */
export class Protocol extends BaseProtocol {
  override connectionMade(_transport: Transport): void {}
  dataReceived(_data: Uint8Array): void {}
  /**
   * The peer will send no more. Return true to keep the transport open for
   * writing (half-close); anything else closes it.
   */
  eofReceived(): boolean | void {}
}

/**
 * A streaming protocol that supplies its own receive buffer: data is read
 * straight into it, with no copy.
 */
export class BufferedProtocol extends BaseProtocol {
  override connectionMade(_transport: Transport): void {}
  /** A buffer to read into (`sizehint` is -1: any non-empty size will do). */
  getBuffer(_sizehint: number): Uint8Array {
    throw new TypeError("BufferedProtocol.getBuffer() must be implemented");
  }
  /** `nbytes` bytes were written at the start of the last buffer. */
  bufferUpdated(_nbytes: number): void {}
  eofReceived(): boolean | void {}
}

/** A datagram protocol. */
export class DatagramProtocol extends BaseProtocol {
  override connectionMade(_transport: DatagramTransport): void {}
  datagramReceived(_data: Uint8Array, _addr: unknown): void {}
  /** A send or receive failed (for example ECONNREFUSED after an ICMP error); the transport stays open. */
  errorReceived(_exc: Error): void {}
}

/** A protocol for a child process and its pipes. */
export class SubprocessProtocol extends BaseProtocol {
  override connectionMade(_transport: SubprocessTransport): void {}
  pipeDataReceived(_fd: number, _data: Uint8Array): void {}
  pipeConnectionLost(_fd: number, _exc: Error | null): void {}
  processExited(): void {}
}

/** What the transports call on a protocol (all optional on plain objects). */
export interface AnyProtocol {
  connectionMade?(transport: unknown): void;
  connectionLost?(exc: Error | null): void;
  pauseWriting?(): void;
  resumeWriting?(): void;
  dataReceived?(data: Uint8Array): void;
  eofReceived?(): boolean | void;
  getBuffer?(sizehint: number): Uint8Array;
  bufferUpdated?(nbytes: number): void;
  datagramReceived?(data: Uint8Array, addr: unknown): void;
  errorReceived?(exc: Error): void;
}

/** True when the protocol reads into its own buffers. */
export function isBufferedProtocol(p: AnyProtocol): boolean {
  return typeof p.getBuffer === "function" && typeof p.bufferUpdated === "function";
}
