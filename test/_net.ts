/** Helpers for the networking tests: recording protocols, hashing, temp paths. */

import { type EventLoop, Protocol, type Transport } from "../mod.ts";

/** A protocol that records every callback it receives, in order. */
export class Recorder extends Protocol {
  events: string[] = [];
  chunks: Uint8Array[] = [];
  transport: Transport | null = null;
  lost: Error | null | undefined = undefined;
  keepOpenOnEof = false;
  onData: ((d: Uint8Array) => void) | null = null;
  onLost: (() => void) | null = null;

  override connectionMade(t: Transport): void {
    this.transport = t;
    this.events.push("made");
  }
  override dataReceived(d: Uint8Array): void {
    if (this.events[this.events.length - 1] !== "data") this.events.push("data");
    this.chunks.push(d);
    this.onData?.(d);
  }
  override eofReceived(): boolean {
    this.events.push("eof");
    return this.keepOpenOnEof;
  }
  override connectionLost(exc: Error | null): void {
    this.events.push("lost");
    this.lost = exc;
    this.onLost?.();
  }
  override pauseWriting(): void {
    this.events.push("pause");
  }
  override resumeWriting(): void {
    this.events.push("resume");
  }
  get received(): Uint8Array {
    return concat(this.chunks);
  }
}

/** An echo server protocol. */
export class Echo extends Protocol {
  transport: Transport | null = null;
  override connectionMade(t: Transport): void {
    this.transport = t;
  }
  override dataReceived(d: Uint8Array): void {
    this.transport!.write(d);
  }
}

export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** Deterministic pseudo-random bytes. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** SHA-256 as hex (WebCrypto, on every runtime). */
export async function sha256(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

let n = 0;
/** A fresh path for a UNIX socket under /tmp. */
export function tempSocketPath(tag = "s"): string {
  return `/tmp/tsyncio-${tag}-${Date.now().toString(36)}-${(n++).toString(36)}-${Math.floor(Math.random() * 1e6)}.sock`;
}

/** Wait (running the loop) until `cond()` holds or `timeout` seconds pass. */
export async function runUntil(loop: EventLoop, cond: () => boolean, timeout = 5): Promise<void> {
  const deadline = loop.time() + timeout;
  await loop.runUntilComplete(function* () {
    while (!cond()) {
      if (loop.time() > deadline) throw new Error("timed out waiting for a condition");
      const f = loop.createFuture<void>();
      loop.callLater(0.001, () => f.setResult(undefined));
      yield* f;
    }
  });
}

export const enc = new TextEncoder();
export const dec = new TextDecoder();
