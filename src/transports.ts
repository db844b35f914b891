/**
 * Transport interfaces (asyncio's `transports.py`): what protocols call.
 * The concrete socket transports live in selector_transports.ts.
 */

import { NotImplementedError, ValueError } from "./errors.ts";
import type { AnyProtocol } from "./protocols.ts";
import { formatValue } from "./format.ts";

/**
 * Base of every transport (asyncio's `BaseTransport`): what all of them
 * share, whatever they carry. The loop makes transports; code extends this
 * class only to write a transport of its own (one layered over another, say).
 */
export abstract class BaseTransport {
  /** @internal */ _extra: Record<string, unknown>;

  /**
   * Start a transport with its extra info.
   * @param extra what `getExtraInfo` answers from ("peername", "socket", ...)
   */
  constructor(extra: Record<string, unknown> = {}) {
    this._extra = extra;
  }

  /** Transport details by asyncio's names: "peername", "sockname", "socket", ... */
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    // Own keys only: "toString" is no extra info; a non-string name has none.
    return typeof name === "string" && Object.hasOwn(this._extra, name) ? this._extra[name] : defaultValue;
  }

  /** True once `close()` (or an error) started closing the transport. */
  abstract isClosing(): boolean;
  /**
   * Close the transport: buffered data is still sent, then the protocol's
   * `connectionLost(null)` is called. Idempotent.
   */
  abstract close(): void;
  /** Hand the transport to another protocol; it receives all further callbacks. */
  abstract setProtocol(protocol: AnyProtocol): void;
  /** The protocol that currently receives the transport's callbacks. */
  abstract getProtocol(): AnyProtocol;
}

/** The reading half of a stream transport (asyncio's `ReadTransport`). */
export interface ReadTransport extends BaseTransport {
  /** True while the protocol receives data (not paused, not closing). */
  isReading(): boolean;
  /**
   * Stop delivering data until `resumeReading()`: the descriptor is no
   * longer watched, so the kernel's buffer fills and the peer slows down.
   * A no-op when paused or closing.
   */
  pauseReading(): void;
  /** Deliver data again after `pauseReading()`. A no-op unless paused. */
  resumeReading(): void;
}

/** The writing half of a stream transport (asyncio's `WriteTransport`). */
export interface WriteTransport extends BaseTransport {
  /**
   * Send `data` without blocking: what the kernel does not take now is
   * buffered, and the protocol's `pauseWriting()` is called once the buffer
   * goes over the high-water mark. A string is a TypeError.
   */
  write(data: ArrayBufferView): void;
  /** Write each chunk of `list`, with as few system calls as possible. */
  writelines(list: Iterable<ArrayBufferView>): void;
  /** Whether `writeEof()` is supported: true for TCP, UNIX stream and pipes, false for TLS. */
  canWriteEof(): boolean;
  /**
   * Close the writing side once the buffer is flushed (`shutdown(SHUT_WR)`
   * on a socket, so the peer reads EOF while this side can still read; a
   * write pipe closes).
   */
  writeEof(): void;
  /** Close at once, dropping buffered data; `connectionLost(null)` follows. */
  abort(): void;
  /** Bytes buffered and not yet handed to the kernel. */
  getWriteBufferSize(): number;
  /** The flow-control marks as `[low, high]` (asyncio's order). */
  getWriteBufferLimits(): [number, number];
  /**
   * Set the flow-control marks: `pauseWriting()` above `high`,
   * `resumeWriting()` at or below `low`. With only `high`, low is a quarter
   * of it; with only `low`, high is four times it; neither: 64 KiB high.
   */
  setWriteBufferLimits(high?: number | null, low?: number | null): void;
}

/**
 * A bidirectional stream transport (TCP, UNIX stream, TLS): asyncio's
 * `Transport`. The loop makes it (`createConnection`, `createServer`,
 * `startTls`, ...) and hands it to the protocol's `connectionMade`.
 *
 * @example
 * ```ts
 * import { newEventLoop, Protocol, type Transport } from "tsyncio";
 *
 * const loop = newEventLoop();
 * class Greeter extends Protocol {
 *   override connectionMade(transport: Transport): void {
 *     transport.write(new TextEncoder().encode("HELO\r\n"));
 *     transport.writeEof(); // half-close: we still read the reply
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     console.log(new TextDecoder().decode(data));
 *   }
 *   override connectionLost(): void {
 *     loop.stop();
 *   }
 * }
 * await loop.runUntilComplete(loop.createConnection(() => new Greeter(), "127.0.0.1", 2525));
 * await loop.runForever();
 * loop.close();
 * ```
 */
export type Transport = ReadTransport & WriteTransport;

/**
 * A datagram transport (UDP, UNIX datagram): asyncio's `DatagramTransport`,
 * made by `createDatagramEndpoint`.
 *
 * @example
 * ```ts
 * import { type DatagramTransport, newEventLoop } from "tsyncio";
 *
 * const loop = newEventLoop();
 * const [transport] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => ({
 *   datagramReceived: (data: Uint8Array, addr: unknown) => console.log(addr, data),
 * }), { remoteAddr: ["127.0.0.1", 9999] }));
 * const udp: DatagramTransport = transport;
 * udp.sendto(new TextEncoder().encode("ping")); // to the connected peer
 * udp.close();
 * loop.close();
 * ```
 */
export interface DatagramTransport extends BaseTransport {
  /**
   * Send one datagram without blocking (an empty one too). `addr` defaults
   * to the connected peer; a send that fails is reported to the protocol's
   * `errorReceived`, and the transport stays open.
   */
  sendto(data: ArrayBufferView, addr?: unknown): void;
  /** Close at once, dropping queued datagrams; `connectionLost(null)` follows. */
  abort(): void;
  /** Bytes queued and not yet sent (each datagram counts 8 more, as in asyncio). */
  getWriteBufferSize(): number;
}

/**
 * A child process and its pipes: asyncio's `SubprocessTransport`, made by
 * `subprocessExec`/`subprocessShell`.
 *
 * @example
 * ```ts
 * import { newEventLoop, type SubprocessTransport } from "tsyncio";
 *
 * const loop = newEventLoop();
 * const exited = loop.createFuture<void>();
 * const [proc] = await loop.runUntilComplete(loop.subprocessExec(() => ({
 *   connectionLost: () => exited.setResult(undefined),
 * }), ["sleep", "10"]));
 * const child: SubprocessTransport = proc;
 * child.terminate(); // SIGTERM
 * await loop.runUntilComplete(exited);
 * console.log(child.getReturncode()); // -15: killed by signal 15
 * child.close();
 * loop.close();
 * ```
 */
export interface SubprocessTransport extends BaseTransport {
  /** The child's process id. */
  getPid(): number;
  /** The exit code, -N if signal N ended the child, or null while it runs. */
  getReturncode(): number | null;
  /** The transport of the child's stdin (0), stdout (1) or stderr (2) pipe; null where there is no pipe. */
  getPipeTransport(fd: number): BaseTransport | null;
  /** Send signal `sig` (a number or a name such as "SIGHUP") to the child; a no-op once it was reaped. */
  sendSignal(sig: number | string): void;
  /** Ask the child to stop (SIGTERM). */
  terminate(): void;
  /** Kill the child (SIGKILL). */
  kill(): void;
}

/** Default write-buffer limits, as asyncio's: 64 KiB high, a quarter of it low. */
export const DEFAULT_HIGH_WATER = 64 * 1024;

/**
 * The write-buffer limits rule shared by every writing transport: with only
 * `low`, high is four times it; with only `high`, low is a quarter of it.
 */
export function computeWriteLimits(high?: number | null, low?: number | null): [number, number] {
  for (const [v, n] of [[high, "high"], [low, "low"]] as const) {
    if (v !== null && v !== undefined && (typeof v !== "number" || Number.isNaN(v))) {
      throw new TypeError(`${n} must be a number of bytes, got ${formatValue(v)}`);
    }
  }
  if (high === null || high === undefined) high = low === null || low === undefined ? DEFAULT_HIGH_WATER : 4 * low;
  if (low === null || low === undefined) low = Math.floor(high / 4);
  if (!(high >= low && low >= 0)) throw new ValueError(`high (${high}) must be >= low (${low}) must be >= 0`);
  return [high, low];
}

/** Thrown by transport methods a kind of transport does not have. */
export function notSupported(what: string): never {
  throw new NotImplementedError(`${what} is not supported by this transport`);
}
