/**
 * Stress scenario `tls_faults`: a tsyncio TLS server (createServer with an
 * SSLContext, sslHandshakeTimeout and sslShutdownTimeout of 2 s) under
 * clients that break off at random points, mixed with good connections.
 *
 * Kinds of connection (each picked at random, weights below):
 * - `good`: a tsyncio TLS client sends a pattern (1 B .. 128 KiB); the server
 *   checks it and echoes it with a status byte; the client checks the echo
 *   (StreamHash) and closes (close_notify both ways).
 * - `partial_close`: a plain socket sends a random prefix of a real
 *   ClientHello, then closes.
 * - `partial_stall`: the same prefix, then silence: the server must drop it
 *   at its handshake timeout (the client measures when it sees EOF/RST).
 * - `hello_close`: the whole ClientHello, the server's first flight is read,
 *   then close (half of them after shutdown(SHUT_WR) and reading to EOF,
 *   half at once, with data unread: the kernel sends RST).
 * - `hello_stall`: the whole ClientHello, the first flight read, then
 *   silence: the server must drop it at its handshake timeout.
 * - `reset`: SO_LINGER 0 then close (RST) right after connect, after part
 *   of a ClientHello, or after the server's first flight.
 * - Through a byte relay of ours (the tsyncio TLS client runs over one end
 *   of a socketpair, the relay pumps the other end to a TCP socket to the
 *   server), after a completed handshake and data:
 *   - `shut_server_freeze`: the server closes (sends close_notify); the relay
 *     drops everything from the client from then on and keeps the TCP
 *     socket open: the server must give up at its shutdown timeout;
 *   - `shut_server_fin` / `shut_server_rst`: the server closes; after 0..300
 *     ms the relay closes its TCP socket (FIN), or resets it (SO_LINGER 0);
 *   - `shut_client_freeze`: the client closes (close_notify); the relay drops
 *     everything from the server and keeps the client's socket open: the
 *     client must give up at its shutdown timeout;
 *   - `reset_midstream`: the relay resets the TCP socket while the client's
 *     data is still flowing.
 *
 * The ClientHello replayed by the plain sockets is captured once at start
 * from a tsyncio TLS client connected to a socketpair.
 *
 * Checks: every connection ends (client side and server side) within the
 * timeouts plus a slack of 1.5 s (server side: sampled every 50 ms from
 * the server's set of client transports); stalled ones end at the timeout,
 * not before; no data corruption (the server checks each complete payload,
 * the client each complete echo); no call of the loop's exception handler;
 * 5 rounds: after each, the server has no connection left; after the last,
 * descriptors are back to the count after warm-up (exactly on node and bun,
 * within +2 on deno, which may open a socket pair of its own), no OpenSSL
 * SSL/BIO object is left, and RSS after round 5 is within 64 MiB of RSS
 * after round 1.
 *
 * Scale: 2,000 connections at --seconds 30, in proportion otherwise (at
 * least 100), 100 in flight at a time.
 */

import {
  AF_INET,
  ConnectionResetError,
  type EventLoop,
  newEventLoop,
  OSError,
  PROTOCOL_TLS_CLIENT,
  PROTOCOL_TLS_SERVER,
  Protocol,
  type Server,
  SHUT_WR,
  sleep,
  SO_LINGER,
  SOCK_STREAM,
  Socket,
  socketpair,
  SOL_SOCKET,
  SSLContext,
  timeout,
  TimeoutError,
  type Transport,
  waitFor,
} from "../mod.ts";
import { _liveSslObjects } from "../src/ssl.ts";
import type { BaseTransport } from "../src/transports.ts";
import { makeTestPki, removeTestPki } from "../test/_tls.ts";
import {
  args,
  concatBytes,
  log,
  mib,
  openFdCount,
  patternBytes,
  randInt,
  report,
  rng,
  runScenario,
  runtime,
  settledRss,
  StreamHash,
  watchdog,
} from "./_common.ts";

const SCENARIO = "tls_faults";
const HS_TIMEOUT = 2;
const SD_TIMEOUT = 2;
/** How much later than its deadline an end may be seen (a loaded 2-core machine). */
const SLACK = 1.5;
const ROUNDS = 5;
const IN_FLIGHT = 100;
const RSS_BOUND = 64 * 1024 * 1024;

const KINDS = [
  ["good", 30],
  ["partial_close", 7],
  ["partial_stall", 7],
  ["hello_close", 7],
  ["hello_stall", 7],
  ["reset", 10],
  ["shut_server_freeze", 6],
  ["shut_server_fin", 6],
  ["shut_server_rst", 6],
  ["shut_client_freeze", 7],
  ["reset_midstream", 7],
] as const;
type Kind = (typeof KINDS)[number][0];
/** Kinds whose server side must be ended by the handshake timeout. */
const HS_STALLS = new Set<Kind>(["partial_stall", "hello_stall"]);

const { seconds, seed } = args();
const rand = rng(seed);
const TOTAL = Math.max(100, Math.round((2000 * seconds) / 30));

const failures: string[] = [];
function fail(msg: string): void {
  if (failures.length < 50) failures.push(msg);
  if (failures.length <= 20) log(`FAIL ${msg}`);
}

const figures: Record<string, unknown> = {};
const perKind: Record<string, number> = Object.fromEntries(KINDS.map(([k]) => [k, 0]));
const counters = {
  handshakesOk: 0,
  serverPayloadsChecked: 0,
  clientEchoesChecked: 0,
  serverHandshakeTimeouts: 0,
  serverShutdownTimeouts: 0,
  clientShutdownTimeouts: 0,
  exceptionHandlerCalls: 0,
};
/** Server-side lifetime (s) of each connection, the longest per kind. */
const maxServerLife: Record<string, number> = {};
/** Client-side time to the end, the longest per kind. */
const maxClientLife: Record<string, number> = {};

function pickKind(): Kind {
  const total = KINDS.reduce((n, [, w]) => n + w, 0);
  let x = rand() * total;
  for (const [k, w] of KINDS) {
    if ((x -= w) < 0) return k;
  }
  return "good";
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

// ---- the server ----

/** Header: payload length u32, pattern seed u32, mode u8 (1: the server closes after its reply). */
const HEADER = 9;

/** Relays by the local port of their TCP socket (the server's peer port). */
const relays = new Map<number, Relay>();
/** The kind of each client connection, by its local port (the server's peer port). */
const kindByPort = new Map<number, Kind>();

class ServerProto extends Protocol {
  tr: Transport | null = null;
  head: Uint8Array[] = [];
  headLen = 0;
  len = -1;
  pseed = 0;
  mode = 0;
  got = 0;
  hash = new StreamHash();
  peerPort = 0;

  override connectionMade(tr: BaseTransport): void {
    this.tr = tr as Transport;
    counters.handshakesOk++;
    this.peerPort = (tr.getExtraInfo("peername") as [string, number])[1];
  }

  override dataReceived(data: Uint8Array): void {
    if (this.len < 0) {
      this.head.push(data);
      this.headLen += data.length;
      if (this.headLen < HEADER) return;
      const all = concatBytes(this.head);
      this.head = [];
      const v = new DataView(all.buffer, all.byteOffset);
      this.len = v.getUint32(0);
      this.pseed = v.getUint32(4);
      this.mode = all[8];
      data = all.subarray(HEADER);
    }
    if (data.length === 0) return;
    if (this.got + data.length > this.len) {
      fail(`server: ${this.got + data.length} bytes received, ${this.len} announced (${kindByPort.get(this.peerPort)})`);
      this.tr!.abort();
      return;
    }
    this.got += data.length;
    this.hash.update(data);
    this.tr!.write(data);
    if (this.got === this.len) {
      const ok = this.hash.digest() === new StreamHash().update(patternBytes(this.len, this.pseed)).digest();
      counters.serverPayloadsChecked++;
      if (!ok) fail(`server: payload of ${this.len} bytes corrupted (${kindByPort.get(this.peerPort)})`);
      this.tr!.write(new Uint8Array([ok ? 1 : 0]));
      if (this.mode === 1) {
        relays.get(this.peerPort)?.serverClosing();
        this.tr!.close();
      }
    }
  }
}

// ---- plain-socket clients ----

let loop: EventLoop;
let port = 0;
let clientHello: Uint8Array;

async function rawConnect(kind: Kind): Promise<Socket> {
  const s = new Socket(AF_INET, SOCK_STREAM);
  s.setblocking(false);
  try {
    await loop.sockConnect(s, ["127.0.0.1", port]);
  } catch (e) {
    s.close();
    throw e;
  }
  kindByPort.set((s.getsockname() as [string, number])[1], kind);
  return s;
}

/** Read until EOF or reset; the seconds it took, or null if nothing ended it within `limit`. */
async function untilEnd(s: Socket, limit: number): Promise<number | null> {
  const t0 = loop.time();
  try {
    await timeout(limit, async () => {
      for (;;) {
        const d = await loop.sockRecv(s, 65536);
        if (d.length === 0) return;
      }
    });
  } catch (e) {
    if (e instanceof TimeoutError) return null;
    if (!(e instanceof ConnectionResetError)) throw e;
  }
  return loop.time() - t0;
}

/** The server's first flight (the bytes after the ClientHello). */
async function firstFlight(s: Socket, kind: Kind): Promise<boolean> {
  const d = await waitFor(loop.sockRecv(s, 65536), HS_TIMEOUT + SLACK);
  if (d.length === 0 || d[0] !== 0x16) {
    fail(`${kind}: the server answered a whole ClientHello with ${d.length ? `a record of type ${d[0]}` : "EOF"}`);
    return false;
  }
  return true;
}

function resetClose(s: Socket): void {
  s.setsockopt(SOL_SOCKET, SO_LINGER, new Int32Array([1, 0]));
  s.close();
}

/**
 * Silence until the server ends the connection: at its handshake timeout,
 * which runs from its accept, so at least HS_TIMEOUT after `tStart` (taken
 * before connecting), and at most HS_TIMEOUT + SLACK after our last byte.
 */
async function stalled(s: Socket, kind: Kind, tStart: number): Promise<void> {
  const t = await untilEnd(s, HS_TIMEOUT + SLACK);
  if (t === null) {
    fail(`${kind}: the server kept a stalled handshake past ${HS_TIMEOUT + SLACK} s`);
    return;
  }
  const sinceStart = loop.time() - tStart;
  maxClientLife[kind] = Math.max(maxClientLife[kind] ?? 0, sinceStart);
  // (loop.time() is monotonic; 5 ms for its rounding and the timer's.)
  if (sinceStart < HS_TIMEOUT - 0.005) fail(`${kind}: the server dropped a stalled handshake ${sinceStart.toFixed(3)} s after connect, before its timeout`);
  else counters.serverHandshakeTimeouts++;
}

async function rawClient(kind: Kind): Promise<void> {
  const tStart = loop.time();
  const s = await rawConnect(kind);
  try {
    const prefix = clientHello.subarray(0, randInt(rand, 1, clientHello.length - 1));
    switch (kind) {
      case "partial_close":
        await loop.sockSendall(s, prefix);
        break;
      case "partial_stall":
        await loop.sockSendall(s, prefix);
        await stalled(s, kind, tStart);
        break;
      case "hello_close":
        await loop.sockSendall(s, clientHello);
        if (!(await firstFlight(s, kind))) break;
        if (rand() < 0.5) {
          s.shutdown(SHUT_WR);
          if ((await untilEnd(s, HS_TIMEOUT + SLACK)) === null) fail(`${kind}: no end after our EOF mid-handshake`);
        }
        break;
      case "hello_stall":
        await loop.sockSendall(s, clientHello);
        if (!(await firstFlight(s, kind))) break;
        await stalled(s, kind, tStart);
        break;
      case "reset": {
        const at = randInt(rand, 0, 2);
        if (at >= 1) await loop.sockSendall(s, at === 1 ? prefix : clientHello);
        if (at === 2) await firstFlight(s, kind);
        resetClose(s);
        return;
      }
      default:
        throw new Error(`not a raw kind: ${kind}`);
    }
  } finally {
    if (s.fileno() >= 0) s.close();
  }
}

// ---- the relay and the TLS clients ----

/**
 * Pumps bytes between `b` (the other end of the TLS client's socketpair)
 * and `t` (TCP to the server), with faults injected on request.
 */
class Relay {
  b: Socket;
  t: Socket;
  kind: Kind;
  dropC2S = false;
  dropS2C = false;
  /** Bytes forwarded client → server. */
  c2sBytes = 0;
  /** reset_midstream: reset `t` once this many bytes went to the server. */
  resetAfter = Infinity;
  tClosed = false;
  killing: Promise<void> | null = null;
  c2s: Promise<void> | null = null;
  s2c: ReturnType<EventLoop["createTask"]> | null = null;
  /** When the server's side of `t` ended (EOF or reset), loop time. */
  tEndedAt = -1;
  serverClosingAt = -1;

  constructor(b: Socket, t: Socket, kind: Kind) {
    this.b = b;
    this.t = t;
    this.kind = kind;
  }

  start(): void {
    this.c2s = this.pumpC2S();
    this.s2c = loop.createTask(() => this.pumpS2C());
  }

  async pumpC2S(): Promise<void> {
    try {
      for (;;) {
        const d = await loop.sockRecv(this.b, 65536);
        if (d.length === 0) break;
        if (this.dropC2S || this.tClosed) continue;
        await loop.sockSendall(this.t, d);
        this.c2sBytes += d.length;
        if (this.c2sBytes >= this.resetAfter && !this.tClosed) {
          this.dropC2S = true;
          this.killing = this.killT(true);
        }
      }
      // The client's EOF goes on to the server unless that direction is frozen.
      if (!this.dropC2S && !this.tClosed) this.t.shutdown(SHUT_WR);
    } catch (e) {
      if (!(e instanceof OSError)) throw e;
    }
  }

  async pumpS2C(): Promise<void> {
    try {
      for (;;) {
        const d = await loop.sockRecv(this.t, 65536);
        if (d.length === 0) break;
        if (this.dropS2C) continue;
        await loop.sockSendall(this.b, d);
      }
    } catch (e) {
      if (!(e instanceof OSError)) throw e;
    }
    this.tEndedAt = loop.time();
    if (!this.dropS2C) {
      try {
        this.b.shutdown(SHUT_WR);
      } catch { /* the client is gone */ }
    }
  }

  /**
   * Stop reading `t` and close it: FIN, or RST with `reset`; the client gets
   * EOF. The pending read is cancelled and awaited first: its descriptor
   * must not be closed while the loop still watches it.
   */
  async killT(reset: boolean): Promise<void> {
    this.tClosed = true;
    this.s2c!.cancel();
    try {
      await this.s2c;
    } catch { /* cancelled */ }
    this.tEndedAt = loop.time();
    if (reset) resetClose(this.t);
    else this.t.close();
    try {
      this.b.shutdown(SHUT_WR);
    } catch { /* the client is gone */ }
  }

  /** The server has just called close() on this connection. */
  serverClosing(): void {
    this.serverClosingAt = loop.time();
    if (this.kind === "shut_server_freeze") this.dropC2S = true;
    else if (this.kind === "shut_server_fin" || this.kind === "shut_server_rst") {
      this.dropC2S = true;
      const reset = this.kind === "shut_server_rst";
      loop.callLater(rand() * 0.3, () => {
        if (!this.tClosed) this.killing = this.killT(reset);
      });
    }
  }

  async finish(): Promise<void> {
    await this.c2s;
    try {
      await this.s2c;
    } catch { /* cancelled */ }
    await this.killing;
    if (!this.tClosed) this.t.close();
    this.b.close();
  }
}

class ClientProto extends Protocol {
  tr: Transport | null = null;
  hash = new StreamHash();
  got = 0;
  status = -1;
  closedAt = -1;
  lost = loop.createFuture<Error | null>();
  constructor(
    public len: number,
    public pseed: number,
    public mode: number,
    public onReply: ((p: ClientProto) => void) | null,
    /** Set for a direct connection (the relay's registers its own port). */
    public kind: Kind | null = null,
  ) {
    super();
  }
  override connectionMade(tr: BaseTransport): void {
    this.tr = tr as Transport;
    if (this.kind) kindByPort.set((tr.getExtraInfo("sockname") as [string, number])[1], this.kind);
    const head = new Uint8Array(HEADER);
    head.set(u32(this.len), 0);
    head.set(u32(this.pseed), 4);
    head[8] = this.mode;
    this.tr.write(head);
    // In pieces, so a reset may fall in the middle.
    const data = patternBytes(this.len, this.pseed);
    for (let o = 0; o < data.length; o += 16384) this.tr.write(data.subarray(o, o + 16384));
  }
  override dataReceived(data: Uint8Array): void {
    const echo = data.subarray(0, Math.max(0, Math.min(data.length, this.len - this.got)));
    this.hash.update(echo);
    this.got += echo.length;
    if (echo.length < data.length) {
      if (this.status >= 0 || data.length - echo.length > 1) fail(`client: bytes after the status byte`);
      this.status = data[echo.length];
      this.onReply?.(this);
    }
  }
  intact(): boolean {
    return this.status === 1 && this.hash.digest() === new StreamHash().update(patternBytes(this.len, this.pseed)).digest();
  }
  override connectionLost(exc: Error | null): void {
    if (!this.lost.done()) this.lost.setResult(exc);
  }
}

let clientCtx: SSLContext;

const sslOpts = () => ({ ssl: clientCtx, sslHandshakeTimeout: HS_TIMEOUT, sslShutdownTimeout: SD_TIMEOUT });
/** A client must be done by then: handshake, transfer (128 KiB on loopback) and shutdown, with slack. */
const CLIENT_LIMIT = HS_TIMEOUT + SD_TIMEOUT + 2 * SLACK + 2;

async function goodClient(): Promise<void> {
  const len = randInt(rand, 1, 128 * 1024);
  const proto = new ClientProto(len, randInt(rand, 1, 0x7fffffff), 0, (p) => p.tr!.close(), "good");
  const t0 = loop.time();
  await waitFor(loop.createConnection(() => proto, "127.0.0.1", port, { ...sslOpts(), serverHostname: "localhost" }), HS_TIMEOUT + SLACK);
  const tr = proto.tr!;
  try {
    const exc = await waitFor(proto.lost, CLIENT_LIMIT);
    if (exc) fail(`good: connection lost with ${exc.name}: ${exc.message}`);
    if (!proto.intact()) fail(`good: echo of ${len} bytes not intact (got ${proto.got}, status ${proto.status})`);
    else counters.clientEchoesChecked++;
  } catch (e) {
    tr.abort();
    throw e;
  }
  maxClientLife.good = Math.max(maxClientLife.good ?? 0, loop.time() - t0);
}

async function relayClient(kind: Kind): Promise<void> {
  const t = new Socket(AF_INET, SOCK_STREAM);
  t.setblocking(false);
  try {
    await loop.sockConnect(t, ["127.0.0.1", port]);
  } catch (e) {
    t.close();
    throw e;
  }
  const [a, b] = socketpair();
  b.setblocking(false);
  const relay = new Relay(b, t, kind);
  const tport = (t.getsockname() as [string, number])[1];
  relays.set(tport, relay);
  kindByPort.set(tport, kind);
  const len = kind === "reset_midstream" ? randInt(rand, 64 * 1024, 256 * 1024) : randInt(rand, 1, 64 * 1024);
  if (kind === "reset_midstream") relay.resetAfter = randInt(rand, 600, len);
  const serverCloses = kind.startsWith("shut_server");
  const proto = new ClientProto(len, randInt(rand, 1, 0x7fffffff), serverCloses ? 1 : 0, (p) => {
    if (kind === "shut_client_freeze") {
      relay.dropS2C = true;
      p.closedAt = loop.time();
      p.tr!.close();
    }
  });
  relay.start();
  const t0 = loop.time();
  try {
    try {
      await waitFor(loop.createConnection(() => proto, null, null, { ...sslOpts(), sock: a, serverHostname: "localhost" }), HS_TIMEOUT + SLACK);
    } catch (e) {
      a.close();
      throw e;
    }
    try {
      await waitFor(proto.lost, CLIENT_LIMIT);
    } catch (e) {
      fail(`${kind}: the client's connection did not end within ${CLIENT_LIMIT} s (got ${proto.got}/${proto.len}, status ${proto.status})`);
      proto.tr!.abort();
      throw e;
    }
    const end = loop.time();
    maxClientLife[kind] = Math.max(maxClientLife[kind] ?? 0, end - t0);
    if (kind === "shut_client_freeze") {
      if (proto.closedAt < 0) fail(`${kind}: no reply before the end`);
      else {
        const waited = end - proto.closedAt;
        if (waited < SD_TIMEOUT - 0.005) fail(`${kind}: the client's shutdown ended after ${waited.toFixed(2)} s, before its timeout`);
        else if (waited > SD_TIMEOUT + SLACK) fail(`${kind}: the client's shutdown took ${waited.toFixed(2)} s`);
        else counters.clientShutdownTimeouts++;
      }
    }
    if (kind === "shut_server_freeze" || kind === "shut_client_freeze") {
      if (!proto.intact()) fail(`${kind}: echo of ${len} bytes not intact (got ${proto.got}, status ${proto.status})`);
      else counters.clientEchoesChecked++;
    }
    // The server's side of the relay must end too (the sampler checks how long it took).
    await waitFor(relay.finish(), SD_TIMEOUT + 2 * SLACK);
    if (kind === "shut_server_freeze") {
      const waited = relay.tEndedAt - relay.serverClosingAt;
      if (relay.serverClosingAt < 0) fail(`${kind}: the server never closed`);
      else if (waited < SD_TIMEOUT - 0.005) fail(`${kind}: the server's shutdown ended after ${waited.toFixed(3)} s, before its timeout`);
      else if (waited > SD_TIMEOUT + SLACK) fail(`${kind}: the server's shutdown took ${waited.toFixed(2)} s`);
      else counters.serverShutdownTimeouts++;
    }
  } finally {
    relays.delete(tport);
    if (!relay.tClosed && t.fileno() >= 0) t.close();
    if (b.fileno() >= 0) b.close();
  }
}

// ---- server-side lifetimes ----

function startSampler(server: Server): () => void {
  const clients = (server as unknown as { _clients: Set<BaseTransport> })._clients;
  const seen = new Map<BaseTransport, { t0: number; port: number }>();
  let timer: ReturnType<EventLoop["callLater"]> | null = null;
  const sample = () => {
    const now = loop.time();
    for (const tr of clients) {
      if (!seen.has(tr)) seen.set(tr, { t0: now, port: (tr.getExtraInfo("peername") as [string, number])[1] });
    }
    for (const [tr, s] of seen) {
      if (clients.has(tr)) continue;
      seen.delete(tr);
      const life = now - s.t0;
      const kind = kindByPort.get(s.port) ?? "unknown";
      maxServerLife[kind] = Math.max(maxServerLife[kind] ?? 0, life);
      const limit = HS_STALLS.has(kind as Kind) ? HS_TIMEOUT + SLACK : HS_TIMEOUT + SD_TIMEOUT + 2 * SLACK;
      if (life > limit) fail(`${kind}: the server kept the connection ${life.toFixed(2)} s (> ${limit} s)`);
    }
    timer = loop.callLater(0.05, sample);
  };
  sample();
  return () => timer?.cancel();
}

// ---- the run ----

async function captureClientHello(): Promise<Uint8Array> {
  const [a, b] = socketpair();
  b.setblocking(false);
  const conn = loop.createConnection(() => new Protocol(), null, null, { ssl: clientCtx, sock: a, serverHostname: "localhost", sslHandshakeTimeout: HS_TIMEOUT });
  const chunks: Uint8Array[] = [];
  let got: Uint8Array = new Uint8Array(0);
  while (got.length < 5 || got.length < 5 + ((got[3] << 8) | got[4])) {
    const d = await waitFor(loop.sockRecv(b, 65536), 5);
    if (d.length === 0) throw new Error("EOF while capturing the ClientHello");
    chunks.push(d);
    got = concatBytes(chunks);
  }
  b.close();
  try {
    await conn;
  } catch { /* the handshake fails: we hung up */ }
  if (got[0] !== 0x16 || got[5] !== 1) throw new Error(`not a ClientHello: ${got.subarray(0, 6)}`);
  return got.subarray(0, 5 + ((got[3] << 8) | got[4]));
}

async function oneConnection(kind: Kind): Promise<void> {
  perKind[kind]++;
  try {
    if (kind === "good") await goodClient();
    else if (kind.startsWith("shut_") || kind === "reset_midstream") await relayClient(kind);
    else await rawClient(kind);
  } catch (e) {
    fail(`${kind}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

async function runRound(n: number, fixedKind?: Kind): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      await oneConnection(fixedKind ?? pickKind());
    }
  };
  const tasks = [];
  for (let i = 0; i < Math.min(IN_FLIGHT, n); i++) tasks.push(loop.createTask(worker));
  for (const t of tasks) await t;
}

/** Wait until the server has no connection left; false if some outlive `limit` seconds. */
async function serverDrained(server: Server, limit: number): Promise<boolean> {
  const s = server as unknown as { _activeCount: number };
  const end = loop.time() + limit;
  while (s._activeCount > 0 && loop.time() < end) await sleep(0.05);
  return s._activeCount === 0;
}

async function main(): Promise<void> {
  watchdog(SCENARIO, seconds, () => ({ ...figures, perKind, ...counters }));
  const pki = await makeTestPki();
  const serverCtx = new SSLContext(PROTOCOL_TLS_SERVER);
  serverCtx.loadCertChain(pki.serverCert, pki.serverKey);
  clientCtx = new SSLContext(PROTOCOL_TLS_CLIENT);
  clientCtx.loadVerifyLocations(pki.caFile);
  loop = newEventLoop();
  loop.setExceptionHandler((_l, ctx) => {
    counters.exceptionHandlerCalls++;
    const exc = ctx.exception as Error | undefined;
    fail(`exception handler: ${ctx.message}${exc ? ` (${exc.name}: ${exc.message})` : ""}`);
  });
  const t0 = Date.now();
  log(`${TOTAL} connections in ${ROUNDS} rounds, ${IN_FLIGHT} in flight; handshake/shutdown timeouts ${HS_TIMEOUT}/${SD_TIMEOUT} s`);
  await loop.runUntilComplete(async () => {
    const server = await loop.createServer(() => new ServerProto(), "127.0.0.1", 0, {
      ssl: serverCtx,
      sslHandshakeTimeout: HS_TIMEOUT,
      sslShutdownTimeout: SD_TIMEOUT,
    });
    port = (server.sockets[0].getsockname() as [string, number])[1];
    const stopSampler = startSampler(server);
    clientHello = await captureClientHello();
    log(`captured a ClientHello of ${clientHello.length} bytes`);
    // Warm-up: the host's lazily opened descriptors and the shared TLS buffers.
    await runRound(20, "good");
    await serverDrained(server, 5);
    for (const k of Object.keys(perKind)) perKind[k] = 0;
    for (const k of Object.keys(counters) as (keyof typeof counters)[]) counters[k] = 0;
    for (const m of [maxServerLife, maxClientLife]) for (const k of Object.keys(m)) delete m[k];
    const fdsBefore = openFdCount();
    const sslBefore = _liveSslObjects();
    const rssBefore = await settledRss();
    figures.fdsBefore = fdsBefore;
    figures.rssBeforeMiB = +(rssBefore / 1048576).toFixed(1);
    const rssRounds: number[] = [];
    const fdRounds: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const n = Math.round((TOTAL * (r + 1)) / ROUNDS) - Math.round((TOTAL * r) / ROUNDS);
      const rt0 = Date.now();
      await runRound(n);
      if (!(await serverDrained(server, HS_TIMEOUT + SD_TIMEOUT + 2 * SLACK))) {
        fail(`round ${r + 1}: the server still has ${(server as unknown as { _activeCount: number })._activeCount} connections`);
      }
      if (relays.size) fail(`round ${r + 1}: ${relays.size} relays left`);
      // One more sample, so the sampler sees the last ends with their kinds.
      await sleep(0.06);
      kindByPort.clear();
      const rss = await settledRss();
      const fds = openFdCount();
      rssRounds.push(+(rss / 1048576).toFixed(1));
      fdRounds.push(fds);
      log(`round ${r + 1}: ${n} connections in ${((Date.now() - rt0) / 1000).toFixed(1)} s; fds ${fds}, RSS ${mib(rss)}, ssl objects ${JSON.stringify(_liveSslObjects())}`);
    }
    stopSampler();
    server.close();
    await server.waitClosed();
    const fdsAfter = fdRounds[ROUNDS - 1];
    const sslAfter = _liveSslObjects();
    figures.fdsAfter = fdsAfter;
    figures.fdsPerRound = fdRounds;
    figures.rssPerRoundMiB = rssRounds;
    figures.rssGrowthRound1To5MiB = +(rssRounds[ROUNDS - 1] - rssRounds[0]).toFixed(1);
    figures.rssBoundMiB = RSS_BOUND / 1048576;
    figures.sslObjectsBefore = sslBefore;
    figures.sslObjectsAfter = sslAfter;
    const fdSlack = runtime === "deno" ? 2 : 0;
    if (fdsAfter > fdsBefore + fdSlack) fail(`descriptors: ${fdsBefore} before, ${fdsAfter} after round ${ROUNDS}`);
    if (sslAfter.ssl !== sslBefore.ssl || sslAfter.bio !== sslBefore.bio) {
      fail(`OpenSSL objects: ${JSON.stringify(sslBefore)} before, ${JSON.stringify(sslAfter)} after`);
    }
    if ((rssRounds[ROUNDS - 1] - rssRounds[0]) * 1048576 > RSS_BOUND) {
      fail(`RSS grew ${(rssRounds[ROUNDS - 1] - rssRounds[0]).toFixed(1)} MiB from round 1 to round ${ROUNDS} (bound ${RSS_BOUND / 1048576} MiB)`);
    }
  });
  loop.close();
  await removeTestPki(pki);
  figures.connections = TOTAL;
  figures.elapsedS = +((Date.now() - t0) / 1000).toFixed(1);
  figures.maxServerLifeS = Object.fromEntries(Object.entries(maxServerLife).map(([k, v]) => [k, +v.toFixed(2)]));
  figures.maxClientLifeS = Object.fromEntries(Object.entries(maxClientLife).map(([k, v]) => [k, +v.toFixed(2)]));
  report(SCENARIO, failures.length === 0, { ...figures, perKind, ...counters }, failures);
}

await runScenario(SCENARIO, main);
