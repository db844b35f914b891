/**
 * Transport interfaces (asyncio's `transports.py`): what protocols call.
 * The concrete socket transports live in selector_transports.ts.
 */

import { NotImplementedError, ValueError } from "./errors.ts";
import type { AnyProtocol } from "./protocols.ts";

/** Base of every transport. */
export abstract class BaseTransport {
  /** @internal */ _extra: Record<string, unknown>;

  constructor(extra: Record<string, unknown> = {}) {
    this._extra = extra;
  }

  /** Transport details by asyncio's names: "peername", "sockname", "socket", ... */
  getExtraInfo(name: string, defaultValue: unknown = null): unknown {
    return name in this._extra ? this._extra[name] : defaultValue;
  }

  abstract isClosing(): boolean;
  abstract close(): void;
  abstract setProtocol(protocol: AnyProtocol): void;
  abstract getProtocol(): AnyProtocol;
}

/** The reading half of a stream transport. */
export interface ReadTransport extends BaseTransport {
  isReading(): boolean;
  pauseReading(): void;
  resumeReading(): void;
}

/** The writing half of a stream transport. */
export interface WriteTransport extends BaseTransport {
  write(data: ArrayBufferView): void;
  writelines(list: Iterable<ArrayBufferView>): void;
  canWriteEof(): boolean;
  writeEof(): void;
  abort(): void;
  getWriteBufferSize(): number;
  getWriteBufferLimits(): [number, number];
  setWriteBufferLimits(high?: number | null, low?: number | null): void;
}

/** A bidirectional stream transport (TCP, UNIX stream, TLS). */
export type Transport = ReadTransport & WriteTransport;

/** A datagram transport (UDP, UNIX datagram). */
export interface DatagramTransport extends BaseTransport {
  sendto(data: ArrayBufferView, addr?: unknown): void;
  abort(): void;
  getWriteBufferSize(): number;
}

/** A transport for a child process. */
export interface SubprocessTransport extends BaseTransport {
  getPid(): number;
  getReturncode(): number | null;
  getPipeTransport(fd: number): BaseTransport | null;
  sendSignal(sig: number | string): void;
  terminate(): void;
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
      throw new TypeError(`${n} must be a number of bytes, got ${String(v)}`);
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
