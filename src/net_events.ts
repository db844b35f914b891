/**
 * The networking half of the loop (asyncio's `create_connection`,
 * `create_server`, the UNIX and datagram variants, `sendfile`, and DNS),
 * built on SelectorEventLoop's socket operations and transports.
 *
 * Every method returns a Future driven by a generator Task, so cancelling
 * it cancels the operation at whatever it is waiting for (a DNS lookup, a
 * connect) and closes what it had opened.
 */

import { checkNonBlocking, fileobjToFd, SelectorEventLoop } from "./selector_events.ts";
import { C, libc, native } from "./native.ts";
import { codeToErrno, ConnectionError, ExceptionGroup, OSError, RuntimeError, SendfileNotAvailableError, ValueError } from "./errors.ts";

const EINPROGRESS = codeToErrno("EINPROGRESS");
import type { Future } from "./futures.ts";
import { type AddrInfo, getaddrinfo as dnsGetaddrinfo, getnameinfo as dnsGetnameinfo, parseNumericAddress } from "./dns.ts";
import { Socket, type SocketAddress } from "./socket.ts";
import { type AnyProtocol, checkProtocol, checkProtocolFactory, makeProtocol, type ProtocolFactory } from "./protocols.ts";
import { SelectorDatagramTransport, SelectorSocketTransport, isRetry } from "./selector_transports.ts";
import { Server } from "./server.ts";
import { staggeredRace } from "./staggered.ts";
import { formatValue } from "./format.ts";
import { logger } from "./log.ts";
import { BaseTransport, type Transport } from "./transports.ts";
import { SSLContext, SSLSession } from "./ssl.ts";
import { checkSslTimeout, SSLProtocol, SSLProtocolTransport } from "./sslproto.ts";

type G<T> = Generator<unknown, T, unknown>;

/** Seconds to wait before accepting again after running out of descriptors (asyncio's value). */
const ACCEPT_RETRY_DELAY = 1;

/** Options of `createConnection`: asyncio's keyword arguments of `create_connection`. */
export interface ConnectionOptions {
  /**
   * An SSLContext for TLS, or true for a default client context; null,
   * false or absent: plain TCP. (Typed `unknown` because anything else is
   * checked at run time: a TypeError.)
   */
  ssl?: unknown;
  /** The address family to resolve `host` to (AF_INET, AF_INET6); 0: any. */
  family?: number;
  /** The socket's protocol number; 0: the default for a stream socket. */
  proto?: number;
  /** getaddrinfo flags (AI_*) for resolving `host`. */
  flags?: number;
  /** An already connected stream socket to use instead of `host`/`port`; the transport takes it over. */
  sock?: Socket | null;
  /** `[host, port]` to bind the local end to before connecting. */
  localAddr?: [string | null, number | null] | null;
  /** The name the server's certificate must match (TLS only); defaults to `host`, "" skips the check. */
  serverHostname?: string | null;
  /** Seconds the TLS handshake may take before the connection is aborted (default 60). */
  sslHandshakeTimeout?: number | null;
  /** Seconds to wait for the peer's TLS close before aborting (default 30). */
  sslShutdownTimeout?: number | null;
  /**
   * A TLS session of an earlier connection to resume (`sslObject.session`
   * of its SSLObject; the same SSLContext). Not in asyncio, which has no way
   * to pass one; Python's `SSLContext.wrap_socket(session=...)`.
   */
  sslSession?: SSLSession | null;
  /**
   * Race the resolved addresses (Happy Eyeballs, RFC 8305): start the next
   * attempt after this many seconds while the earlier ones are pending. 0.25
   * is the RFC's value. Unset: one address after the other.
   */
  happyEyeballsDelay?: number | null;
  /**
   * Alternate the address families before trying them, with this many of
   * the first family leading (1 when `happyEyeballsDelay` is set).
   */
  interleave?: number | null;
  /** When every attempt fails, reject with an ExceptionGroup (an AggregateError) of all their errors rather than one OSError. */
  allReturnErrors?: boolean;
}

/** Options of `createServer`: asyncio's keyword arguments of `create_server`. */
export interface ServerOptions {
  /** The address family to listen on (AF_INET, AF_INET6); 0: every family `host` resolves to. */
  family?: number;
  /** getaddrinfo flags (AI_*); default AI_PASSIVE. */
  flags?: number;
  /** A bound stream socket to listen on instead of `host`/`port`. */
  sock?: Socket | null;
  /** The listen(2) backlog, also the most connections accepted per wake-up (default 100). */
  backlog?: number;
  /**
   * An SSLContext holding the server's certificate: every connection is TLS.
   * A boolean is a TypeError (a server has no default certificate).
   */
  ssl?: unknown;
  /** Set SO_REUSEADDR, so a restarted server can bind at once (default true). */
  reuseAddress?: boolean | null;
  /** Set SO_REUSEPORT, so several processes can listen on the same port. */
  reusePort?: boolean | null;
  /** Set SO_KEEPALIVE on the listening sockets. */
  keepAlive?: boolean | null;
  /** Seconds a client's TLS handshake may take before its connection is aborted (default 60). */
  sslHandshakeTimeout?: number | null;
  /** Seconds to wait for a client's TLS close before aborting (default 30). */
  sslShutdownTimeout?: number | null;
  /** Accept connections at once (default true); false: call `server.startServing()` later. */
  startServing?: boolean;
}

/** Options of `createUnixServer`: asyncio's keyword arguments of `create_unix_server`. */
export interface UnixServerOptions {
  /** A bound AF_UNIX stream socket to listen on instead of `path`. */
  sock?: Socket | null;
  /** The listen(2) backlog, also the most connections accepted per wake-up (default 100). */
  backlog?: number;
  /** An SSLContext holding the server's certificate: every connection is TLS. */
  ssl?: unknown;
  /** Seconds a client's TLS handshake may take before its connection is aborted (default 60). */
  sslHandshakeTimeout?: number | null;
  /** Seconds to wait for a client's TLS close before aborting (default 30). */
  sslShutdownTimeout?: number | null;
  /** Accept connections at once (default true); false: call `server.startServing()` later. */
  startServing?: boolean;
  /** Remove the socket file when the server closes, unless another server replaced it (default true). */
  cleanup?: boolean;
}

/** Options of `createDatagramEndpoint`: asyncio's keyword arguments of `create_datagram_endpoint`. */
export interface DatagramOptions {
  /** The local address to bind to: `[host, port]`, or a path for AF_UNIX. */
  localAddr?: SocketAddress;
  /** The peer to connect to: `sendto` then needs no address, and only its datagrams arrive. */
  remoteAddr?: SocketAddress;
  /** The address family (AF_INET, AF_INET6, AF_UNIX); 0: from the addresses. */
  family?: number;
  /** The socket's protocol number; 0: the default for a datagram socket. */
  proto?: number;
  /** getaddrinfo flags (AI_*) for resolving the addresses. */
  flags?: number;
  /** Set SO_REUSEPORT, so several endpoints can bind the same port. */
  reusePort?: boolean | null;
  /** Set SO_BROADCAST, to send to broadcast addresses (`remoteAddr` is then not connected). */
  allowBroadcast?: boolean | null;
  /** A datagram socket to use instead of the address options (none of which may be given with it). */
  sock?: Socket | null;
  /**
   * Not supported: SO_REUSEADDR lets another process steal a UDP port
   * (asyncio removed it too). Passing it is a TypeError.
   */
  reuseAddress?: never;
}

/** How a stream connection gets TLS: what SSLProtocol is made with. */
interface TlsArgs {
  /** true: a default client context (asyncio's `ssl=True`). */
  ssl: SSLContext | true;
  serverSide: boolean;
  serverHostname: string | null;
  handshakeTimeout: number | null;
  shutdownTimeout: number | null;
  session: SSLSession | null;
}

/**
 * asyncio's checks of the TLS arguments, made before anything is opened:
 * `ssl` is an SSLContext, true (clients: a default context) or
 * null/false/undefined; the TLS-only options need it (ValueError without);
 * timeouts are positive. Returns the TLS arguments, or null for plain TCP.
 */
function checkSsl(
  o: { ssl?: unknown; serverHostname?: unknown; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null; sslSession?: unknown },
  serverSide = false,
): TlsArgs | null {
  if (o.ssl !== undefined && o.ssl !== null && typeof o.ssl !== "boolean" && !(o.ssl instanceof SSLContext)) {
    throw new TypeError(`ssl must be an SSLContext, true or null, got ${formatValue(o.ssl)}`);
  }
  if (o.ssl) {
    // Server side needs a certificate, which only a context the caller made can hold.
    if (o.ssl === true && serverSide) throw new ValueError("Server side SSL needs a valid SSLContext");
    if (o.serverHostname !== undefined && o.serverHostname !== null && typeof o.serverHostname !== "string") {
      throw new TypeError(`serverHostname must be a string, got ${formatValue(o.serverHostname)}`);
    }
    checkSslTimeout(o.sslHandshakeTimeout, "sslHandshakeTimeout");
    checkSslTimeout(o.sslShutdownTimeout, "sslShutdownTimeout");
    if (o.sslSession !== undefined && o.sslSession !== null) {
      if (serverSide) throw new ValueError("sslSession is only meaningful for a client");
      if (!(o.sslSession instanceof SSLSession)) throw new TypeError(`sslSession must be an SSLSession, got ${formatValue(o.sslSession)}`);
    }
    return {
      ssl: o.ssl as SSLContext | true,
      serverSide,
      serverHostname: (o.serverHostname as string | null | undefined) ?? null,
      handshakeTimeout: o.sslHandshakeTimeout ?? null,
      shutdownTimeout: o.sslShutdownTimeout ?? null,
      session: (o.sslSession as SSLSession | null | undefined) ?? null,
    };
  }
  if (o.sslSession !== undefined && o.sslSession !== null) {
    throw new ValueError("sslSession is only meaningful with ssl");
  }
  if (o.serverHostname !== undefined && o.serverHostname !== null) {
    throw new ValueError("serverHostname is only meaningful with ssl");
  }
  if (o.sslHandshakeTimeout !== undefined && o.sslHandshakeTimeout !== null) {
    throw new ValueError("sslHandshakeTimeout is only meaningful with ssl");
  }
  if (o.sslShutdownTimeout !== undefined && o.sslShutdownTimeout !== null) {
    throw new ValueError("sslShutdownTimeout is only meaningful with ssl");
  }
  return null;
}

/** TypeError unless the trailing options argument is an object. */
/** Start accepting; a server that cannot start is closed (its sockets with it). */
function* startServingOrClose(server: Server): G<void> {
  try {
    yield* server.startServing();
  } catch (e) {
    server.close();
    throw e;
  }
}

function checkOptions(options: unknown, what: string): void {
  if (options === null || typeof options !== "object") throw new TypeError(`${what}() options must be an object, got ${formatValue(options)}`);
}

function checkFactory(f: unknown): void {
  checkProtocolFactory(f);
}

/** Reorder addresses so families alternate (RFC 8305 §4), `first` of the first family leading. */
export function interleaveAddrinfos(infos: AddrInfo[], first = 1): AddrInfo[] {
  const byFamily = new Map<number, AddrInfo[]>();
  for (const info of infos) {
    const l = byFamily.get(info[0]);
    if (l) l.push(info);
    else byFamily.set(info[0], [info]);
  }
  const lists = [...byFamily.values()];
  const out: AddrInfo[] = [];
  if (first > 1) out.push(...lists[0].splice(0, first - 1));
  for (let i = 0; lists.some((l) => i < l.length); i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}

/**
 * The networking layer of the loop: DNS, stream connections and servers
 * (TCP, UNIX, TLS), datagram endpoints and sendfile, as in asyncio's
 * `BaseEventLoop`/`BaseSelectorEventLoop`. Use {@linkcode EventLoop} (from
 * `newEventLoop()`), which adds pipes and subprocesses.
 */
export class NetEventLoop extends SelectorEventLoop {
  // ---- DNS ----

  /**
   * Resolve `host`/`port` (libc getaddrinfo off the main thread; numeric
   * hosts in-process): a list of [family, type, proto, canonname, sockaddr].
   */
  getaddrinfo(
    host: string | null,
    port: string | number | null,
    options: { family?: number; type?: number; proto?: number; flags?: number } = {},
  ): Future<AddrInfo[]> {
    this._checkClosed();
    return this._wrapPromise(dnsGetaddrinfo(host, port, options));
  }

  /** Reverse-resolve `sockaddr`: [host, port as a string]. */
  getnameinfo(sockaddr: unknown, flags = 0): Future<[string, string]> {
    this._checkClosed();
    return this._wrapPromise(dnsGetnameinfo(sockaddr as [string, number], flags));
  }

  /** @internal a Future mirroring a native promise (cancelling it ignores the outcome) */
  _wrapPromise<T>(p: Promise<T>): Future<T> {
    const f = this.createFuture<T>();
    p.then((v) => {
      if (!f.done() && !this._closed) f.setResult(v);
    }, (e) => {
      if (!f.done() && !this._closed) f.setException(e);
    });
    return f;
  }

  /** @internal resolve an INET/INET6 address, skipping DNS for numeric hosts */
  *_ensureResolved(address: [string | null, number | string | null], family = 0, type = C.SOCK_STREAM, proto = 0, flags = 0): G<AddrInfo[]> {
    if (!Array.isArray(address) || address.length < 2) {
      throw new TypeError(`an address [host, port] was expected, got ${formatValue(address)}`);
    }
    const [host, port] = address;
    if (typeof host === "string" && (typeof port === "number" || port === null)) {
      const numeric = parseNumericAddress(host);
      if (numeric && (family === 0 || family === numeric.family)) {
        const sockaddr = numeric.family === C.AF_INET6
          ? [host.replace(/^\[|\]$/g, ""), port ?? 0, ...(address.length > 2 ? address.slice(2) : [0, 0])]
          : [host, port ?? 0];
        return [[numeric.family, type, proto, "", sockaddr] as AddrInfo];
      }
    }
    return (yield* this.getaddrinfo(host, port, { family, type, proto, flags })) as AddrInfo[];
  }

  // ---- Connections ----

  /**
   * Connect a non-blocking socket. Host names in INET/INET6 addresses are
   * resolved first; a refused or failed connection rejects with the OSError.
   */
  sockConnect(sock: Socket, address: unknown): Future<void> {
    const self = this;
    return this.createTask((function* (): Generator<unknown, void, unknown> {
      checkNonBlocking(sock);
      let addr = address;
      if (sock.family === C.AF_INET || sock.family === C.AF_INET6) {
        const infos = (yield* self._ensureResolved(address as [string, number], sock.family, sock.type, sock.proto)) as AddrInfo[];
        if (infos.length === 0) throw new OSError(0, undefined, `cannot resolve ${formatValue(address)}`);
        addr = infos[0][4];
      }
      const fd = sock.fileno();
      const err = sock.connectEx(addr);
      if (err === 0) return;
      if (!isRetry(err) && err !== EINPROGRESS) throw OSError.fromErrno(err, `Connect call failed ${formatValue(addr)}`);
      self._ensureFdNoTransport(fd);
      const fut = self.createFuture<void>();
      const h = self._addWriter(fd, () => {
        if (fut.done()) return;
        const soErr = sock.getsockopt(C.SOL_SOCKET, C.SO_ERROR) as number;
        if (soErr === 0) fut.setResult(undefined);
        else if (isRetry(soErr) || soErr === EINPROGRESS) return;
        else fut.setException(OSError.fromErrno(soErr, `Connect call failed ${formatValue(addr)}`));
      });
      fut.addDoneCallback(() => {
        if (!h.cancelled()) self._removeWriter(fd);
      });
      yield* fut;
    })());
  }


  /**
   * Open a stream connection to `host`:`port` (or over `sock`) and wire it to
   * a protocol from `protocolFactory`: resolves with [transport, protocol].
   * With several addresses they are tried in turn, or raced with Happy
   * Eyeballs when `happyEyeballsDelay` is set; if all fail, one error names
   * every attempt (an ExceptionGroup of them with `allReturnErrors`).
   * With `ssl` (an SSLContext, or true for a default client context) the
   * transport is TLS over the socket and resolves once the handshake is
   * done; the certificate must match `serverHostname`, which defaults to
   * `host` ("" skips the check). asyncio's `loop.create_connection`.
   *
   * @example
   * ```ts
   * import { newEventLoop, Protocol, type Transport } from "tsyncio";
   *
   * const loop = newEventLoop();
   * const lost = loop.createFuture<void>();
   * class Client extends Protocol {
   *   override connectionMade(transport: Transport): void {
   *     transport.write(new TextEncoder().encode("GET / HTTP/1.0\r\nHost: example.com\r\n\r\n"));
   *   }
   *   override dataReceived(data: Uint8Array): void {
   *     console.log(new TextDecoder().decode(data));
   *   }
   *   override connectionLost(): void {
   *     lost.setResult(undefined);
   *   }
   * }
   * // Races IPv6 and IPv4 addresses of the name, 250 ms apart.
   * await loop.runUntilComplete(loop.createConnection(() => new Client(), "example.com", 80, { happyEyeballsDelay: 0.25 }));
   * await loop.runUntilComplete(lost);
   * loop.close();
   * ```
   */
  createConnection(protocolFactory: ProtocolFactory, host: string | null = null, port: number | string | null = null, options: ConnectionOptions = {}): Future<[Transport, AnyProtocol]> {
    checkOptions(options, "createConnection");
    this._checkClosed();
    checkFactory(protocolFactory);
    const interleave = options.interleave;
    if (interleave !== undefined && interleave !== null && !Number.isInteger(interleave)) {
      throw new TypeError(`interleave must be an integer, got ${formatValue(interleave)}`);
    }
    const tls = checkSsl(options);
    if (tls !== null && tls.serverHostname === null) {
      // The name dialled is the name verified (asyncio); serverHostname "" skips the check.
      if (!host) throw new ValueError("You must set serverHostname when using ssl without a host");
      tls.serverHostname = host;
    }
    return this.createTask(this._createConnection(protocolFactory, host, port, options, tls));
  }

  /** @internal */
  *_createConnection(factory: ProtocolFactory, host: string | null, port: number | string | null, o: ConnectionOptions, tls: TlsArgs | null = null): G<[Transport, AnyProtocol]> {
    let sock = o.sock ?? null;
    const family = o.family ?? 0, proto = o.proto ?? 0, flags = o.flags ?? 0;
    let interleave = o.interleave ?? null;
    const delay = o.happyEyeballsDelay ?? null;
    if (delay !== null && interleave === null) interleave = 1;
    if (host !== null || port !== null) {
      if (sock !== null) throw new ValueError("host/port and sock can not be specified at the same time");
      let infos = yield* this._ensureResolved([host, port], family, C.SOCK_STREAM, proto, flags);
      if (infos.length === 0) throw new OSError(0, undefined, "getaddrinfo() returned empty list");
      let laddrInfos: AddrInfo[] | null = null;
      if (o.localAddr) {
        laddrInfos = yield* this._ensureResolved(o.localAddr as [string, number], family, C.SOCK_STREAM, proto, flags);
        if (laddrInfos.length === 0) throw new OSError(0, undefined, "getaddrinfo() returned empty list");
      }
      if (interleave) infos = interleaveAddrinfos(infos, interleave);
      const exceptions: OSError[][] = [];
      if (delay === null) {
        for (const info of infos) {
          try {
            sock = yield* this._connectSock(exceptions, info, laddrInfos);
            break;
          } catch (e) {
            if (!(e instanceof OSError)) throw e;
          }
        }
      } else {
        [sock] = yield* staggeredRace(
          infos.map((info) => () => this._connectSock(exceptions, info, laddrInfos)),
          delay,
          this,
          (s: Socket) => s.close(),
        );
      }
      if (sock === null) {
        const all = exceptions.flat();
        if (o.allReturnErrors) throw new ExceptionGroup("create_connection failed", all);
        if (all.length === 1) throw all[0];
        const first = String(all[0]);
        if (all.every((e) => String(e) === first)) throw all[0];
        throw new OSError(0, undefined, `Multiple exceptions: ${all.map(String).join(", ")}`);
      }
    } else {
      if (sock === null) throw new ValueError("host and port was not specified and no sock specified");
      if (sock.type !== C.SOCK_STREAM) throw new ValueError(`A Stream Socket was expected, got ${sock}`);
    }
    return yield* this._createConnectionTransport(sock, factory, {}, null, tls);
  }

  /** @internal one attempt: a socket, an optional local bind, a connect; the socket is closed on failure */
  *_connectSock(exceptions: OSError[][], info: AddrInfo, localInfos: AddrInfo[] | null): G<Socket> {
    const mine: OSError[] = [];
    exceptions.push(mine);
    const [family, type, proto, , address] = info;
    let sock: Socket | null = null;
    try {
      sock = new Socket(family, type, proto);
      sock.setblocking(false);
      if (localInfos !== null) {
        let bound = false;
        for (const [lfamily, , , , laddr] of localInfos) {
          if (lfamily !== family) continue;
          try {
            sock.bind(laddr);
            bound = true;
            break;
          } catch (e) {
            if (!(e instanceof OSError)) throw e;
            mine.push(new OSError(e.errno, e.strerror, `error while attempting to bind on address ${formatValue(laddr)}: ${e.strerror}`));
          }
        }
        if (!bound) {
          throw mine.pop() ?? new OSError(0, undefined, `no matching local address with family=${family} found`);
        }
      }
      yield* this.sockConnect(sock, address);
      return sock;
    } catch (e) {
      if (e instanceof OSError) mine.push(e);
      sock?.close();
      throw e;
    }
  }

  /** @internal */
  *_createConnectionTransport(sock: Socket, factory: ProtocolFactory, extra: Record<string, unknown> = {}, server: Server | null = null, tls: TlsArgs | null = null): G<[Transport, AnyProtocol]> {
    sock.setblocking(false);
    const protocol = makeProtocol(factory, sock);
    const waiter = this.createFuture<void>();
    let transport: Transport;
    if (tls !== null) {
      // TLS is a protocol on the socket transport; the waiter waits for the handshake.
      let sslProtocol: SSLProtocol;
      try {
        sslProtocol = new SSLProtocol(this, protocol, tls.ssl === true ? null : tls.ssl, waiter, tls.serverSide, tls.serverHostname, {
          handshakeTimeout: tls.handshakeTimeout, shutdownTimeout: tls.shutdownTimeout, session: tls.session,
        });
      } catch (e) {
        sock.close();
        throw e;
      }
      new SelectorSocketTransport(this, sock, sslProtocol, null, extra, server);
      transport = sslProtocol._appTransport;
    } else {
      transport = new SelectorSocketTransport(this, sock, protocol, waiter, extra, server);
    }
    try {
      yield* waiter;
    } catch (e) {
      transport.close();
      throw e;
    }
    return [transport, protocol];
  }

  /** Wrap an already accepted stream socket in a transport. */
  connectAcceptedSocket(protocolFactory: ProtocolFactory, sock: Socket, options: { ssl?: unknown; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {}): Future<[Transport, AnyProtocol]> {
    checkOptions(options, "connectAcceptedSocket");
    this._checkClosed();
    checkFactory(protocolFactory);
    const tls = checkSsl(options, true);
    if (!(sock instanceof Socket) || sock.type !== C.SOCK_STREAM) {
      throw new ValueError(`A Stream Socket was expected, got ${formatValue(sock)}`);
    }
    return this.createTask(this._createConnectionTransport(sock, protocolFactory, {}, null, tls));
  }

  /** Connect to the UNIX socket at `path` (or over `sock`). */
  createUnixConnection(protocolFactory: ProtocolFactory, path: string | null = null, options: { ssl?: unknown; sock?: Socket | null; serverHostname?: string | null; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null; sslSession?: SSLSession | null } = {}): Future<[Transport, AnyProtocol]> {
    checkOptions(options, "createUnixConnection");
    this._checkClosed();
    checkFactory(protocolFactory);
    const tls = checkSsl(options);
    // A path names no host to verify: the caller says which (asyncio's rule).
    if (tls !== null && tls.serverHostname === null) throw new ValueError("you have to pass serverHostname when using ssl");
    const self = this;
    return this.createTask((function* (): G<[Transport, AnyProtocol]> {
      let sock = options.sock ?? null;
      if (path !== null) {
        if (sock !== null) throw new ValueError("path and sock can not be specified at the same time");
        if (typeof path !== "string") throw new TypeError(`path must be a string, got ${formatValue(path)}`);
        sock = new Socket(C.AF_UNIX, C.SOCK_STREAM, 0);
        try {
          sock.setblocking(false);
          yield* self.sockConnect(sock, path);
        } catch (e) {
          sock.close();
          throw e;
        }
      } else {
        if (sock === null) throw new ValueError("no path and sock were specified");
        if (sock.family !== C.AF_UNIX || sock.type !== C.SOCK_STREAM) {
          throw new ValueError(`A UNIX Domain Stream Socket was expected, got ${sock}`);
        }
      }
      return yield* self._createConnectionTransport(sock, protocolFactory, {}, null, tls);
    })());
  }

  /**
   * Upgrade an open connection to TLS (asyncio's `start_tls`): a TLS layer
   * for `protocol` goes over `transport` (a stream transport, or a TLS one:
   * TLS inside TLS), and the result resolves with the new transport once
   * the handshake is done; use it from then on, not `transport`. The
   * accepting side passes `serverSide: true`; a client that verifies
   * hostnames passes `serverHostname`. `protocol.connectionMade` is not
   * called again.
   *
   * @example
   * ```ts
   * // a STARTTLS-style upgrade, on the client
   * const tls = await loop.startTls(transport, protocol, ctx, { serverHostname: "mail.example" });
   * tls.write(data);
   * ```
   */
  startTls(
    transport: Transport,
    protocol: AnyProtocol,
    sslContext: SSLContext,
    options: { serverSide?: boolean; serverHostname?: string | null; sslHandshakeTimeout?: number | null; sslShutdownTimeout?: number | null } = {},
  ): Future<SSLProtocolTransport> {
    this._checkClosed();
    if (!(sslContext instanceof SSLContext)) {
      throw new TypeError(`sslContext is expected to be an SSLContext, got ${formatValue(sslContext)}`);
    }
    if (!(transport instanceof SelectorSocketTransport) && !(transport instanceof SSLProtocolTransport)) {
      throw new TypeError(`transport ${formatValue(transport)} is not supported by startTls()`);
    }
    checkProtocol(protocol);
    if (options === null || typeof options !== "object") throw new TypeError(`startTls options must be an object, got ${formatValue(options)}`);
    checkSslTimeout(options.sslHandshakeTimeout, "sslHandshakeTimeout");
    checkSslTimeout(options.sslShutdownTimeout, "sslShutdownTimeout");
    const self = this;
    return this.createTask((function* (): G<SSLProtocolTransport> {
      const waiter = self.createFuture<void>();
      const sslProtocol = new SSLProtocol(self, protocol, sslContext, waiter, options.serverSide ?? false, options.serverHostname ?? null, {
        handshakeTimeout: options.sslHandshakeTimeout, shutdownTimeout: options.sslShutdownTimeout, callConnectionMade: false,
      });
      // Pause first, so that no byte reaches the TLS layer before its connectionMade.
      transport.pauseReading();
      transport.setProtocol(sslProtocol);
      const conmade = self._callSoon(() => sslProtocol.connectionMade(transport), []);
      const resume = self._callSoon(() => transport.resumeReading(), []);
      try {
        yield* waiter;
      } catch (e) {
        transport.close();
        conmade.cancel();
        resume.cancel();
        throw e;
      }
      return sslProtocol._appTransport;
    })());
  }

  // ---- Servers ----

  /**
   * Listen on `host` (a name, a list of them, or ""/null for every
   * interface) and `port`, or on `sock`; each accepted connection gets a
   * protocol from `protocolFactory`. Resolves with the Server. With `ssl`
   * (an SSLContext holding the server's certificate) each connection is TLS,
   * and its protocol hears `connectionMade` once the handshake is done.
   * asyncio's `loop.create_server`.
   *
   * @example
   * ```ts
   * import { newEventLoop, type Transport } from "tsyncio";
   *
   * const loop = newEventLoop();
   * // A plain object is a protocol too; the factory makes one per connection.
   * const server = await loop.runUntilComplete(loop.createServer(() => {
   *   let transport: Transport;
   *   return {
   *     connectionMade: (t: Transport) => void (transport = t),
   *     dataReceived: (data: Uint8Array) => transport.write(data),
   *   };
   * }, "127.0.0.1", 0));
   * console.log("listening on", server.sockets[0].getsockname()); // port 0: the kernel picked one
   * await loop.runUntilComplete(server.serveForever()); // until cancelled
   * ```
   */
  createServer(protocolFactory: ProtocolFactory, host: string | string[] | null = null, port: number | string | null = null, options: ServerOptions = {}): Future<Server> {
    checkOptions(options, "createServer");
    this._checkClosed();
    checkFactory(protocolFactory);
    // A server needs a certificate, so a boolean is no context (asyncio's TypeError).
    if (typeof options.ssl === "boolean") throw new TypeError("ssl argument must be an SSLContext or null");
    const tls = checkSsl(options, true);
    const self = this;
    return this.createTask((function* (): G<Server> {
      const backlog = options.backlog ?? 100;
      let sockets: Socket[] = [];
      if (host !== null || port !== null) {
        if (options.sock) throw new ValueError("host/port and sock can not be specified at the same time");
        const reuseAddress = options.reuseAddress ?? true;
        if (host !== null && typeof host !== "string" && !Array.isArray(host)) {
          throw new TypeError(`host must be a string, an array of strings or null, got ${formatValue(host)}`);
        }
        const hosts = host === null || host === "" ? [null] : typeof host === "string" ? [host] : [...host];
        const flags = options.flags ?? C.AI_PASSIVE;
        const seen = new Set<string>();
        const infos: AddrInfo[] = [];
        for (const h of hosts) {
          const got = h === null
            ? (yield* self.getaddrinfo(null, port, { family: options.family ?? 0, type: C.SOCK_STREAM, flags })) as AddrInfo[]
            : yield* self._ensureResolved([h, port], options.family ?? 0, C.SOCK_STREAM, 0, flags);
          for (const info of got) {
            const key = JSON.stringify([info[0], info[1], info[2], info[4]]);
            if (!seen.has(key)) {
              seen.add(key);
              infos.push(info);
            }
          }
        }
        let completed = false;
        try {
          for (const [af, type, proto, , sa] of infos) {
            let sock: Socket;
            try {
              sock = new Socket(af, type, proto);
            } catch (e) {
              if (self.getDebug()) logger.warning(`createServer() failed to create socket.socket(${af}, ${type}, ${proto}): ${e}`);
              continue;
            }
            sockets.push(sock);
            if (reuseAddress) sock.setsockopt(C.SOL_SOCKET, C.SO_REUSEADDR, 1);
            if (options.reusePort) setReusePort(sock);
            if (options.keepAlive) sock.setsockopt(C.SOL_SOCKET, C.SO_KEEPALIVE, 1);
            // Dual stack means one socket per family: keep IPv6 sockets to IPv6.
            if (af === C.AF_INET6) sock.setsockopt(C.IPPROTO_IPV6, C.IPV6_V6ONLY, 1);
            try {
              sock.bind(sa);
            } catch (e) {
              if (!(e instanceof OSError)) throw e;
              if (e.code === "EADDRNOTAVAIL") {
                // The family is disabled on this host: skip it.
                sockets.pop();
                sock.close();
                if (self.getDebug()) logger.warning(`createServer() failed to bind on ${formatValue(sa)}`);
                continue;
              }
              throw new (Object.getPrototypeOf(e).constructor)(e.errno, e.strerror,
                `[Errno ${e.errno}] error while attempting to bind on address ${formatValue(sa)}: ${e.strerror}`);
            }
          }
          completed = true;
        } finally {
          if (!completed) for (const s of sockets) s.close();
        }
        if (sockets.length === 0) throw new OSError(0, undefined, `could not bind on any address out of ${formatValue(infos.map((i) => i[4]))}`);
      } else {
        const sock = options.sock;
        if (!sock) throw new ValueError("Neither host/port nor sock were specified");
        if (sock.type !== C.SOCK_STREAM) throw new ValueError(`A Stream Socket was expected, got ${sock}`);
        sockets = [sock];
      }
      for (const s of sockets) s.setblocking(false);
      const server = new Server(self, sockets, protocolFactory, backlog);
      server._tls = tls;
      if (options.startServing ?? true) yield* startServingOrClose(server);
      return server;
    })());
  }

  /**
   * Listen on the UNIX socket `path` (or `sock`). A stale socket file is
   * replaced; with `cleanup` (default) the path is removed when the server
   * closes. A path starting with "\0" is a Linux abstract name (no file).
   * asyncio's `loop.create_unix_server`.
   *
   * @example
   * ```ts
   * import { newEventLoop, Protocol } from "tsyncio";
   *
   * const loop = newEventLoop();
   * const server = await loop.runUntilComplete(loop.createUnixServer(() => new Protocol(), "/tmp/app.sock"));
   * // clients: loop.createUnixConnection(factory, "/tmp/app.sock")
   * server.close(); // stops listening and removes /tmp/app.sock
   * await loop.runUntilComplete(server.waitClosed());
   * loop.close();
   * ```
   */
  createUnixServer(protocolFactory: ProtocolFactory, path: string | null = null, options: UnixServerOptions = {}): Future<Server> {
    checkOptions(options, "createUnixServer");
    this._checkClosed();
    checkFactory(protocolFactory);
    if (typeof options.ssl === "boolean") throw new TypeError("ssl argument must be an SSLContext or null");
    const tls = checkSsl(options, true);
    const self = this;
    return this.createTask((function* (): G<Server> {
      let sock = options.sock ?? null;
      const backlog = options.backlog ?? 100;
      let ownPath: string | null = null;
      if (path !== null) {
        if (sock !== null) throw new ValueError("path and sock can not be specified at the same time");
        if (typeof path !== "string") throw new TypeError(`path must be a string, got ${formatValue(path)}`);
        if (!path.startsWith("\0")) {
          // A socket file left by a dead server would make bind fail: remove it.
          if (isSocketFile(path)) unlinkPath(path);
          ownPath = path;
        }
        sock = new Socket(C.AF_UNIX, C.SOCK_STREAM, 0);
        try {
          sock.bind(path);
        } catch (e) {
          sock.close();
          if (e instanceof OSError && e.code === "EADDRINUSE") {
            throw new OSError(e.errno, e.strerror, `[Errno ${e.errno}] Address ${JSON.stringify(path)} is already in use`);
          }
          throw e;
        }
      } else {
        if (sock === null) throw new ValueError("path was not specified, and no sock specified");
        if (sock.family !== C.AF_UNIX || sock.type !== C.SOCK_STREAM) {
          throw new ValueError(`A UNIX Domain Stream Socket was expected, got ${sock}`);
        }
        const name = sock.getsockname();
        if (typeof name === "string" && name !== "" && !name.startsWith("\0")) ownPath = name;
      }
      sock.setblocking(false);
      const server = new Server(self, [sock], protocolFactory, backlog);
      server._tls = tls;
      if ((options.cleanup ?? true) && ownPath !== null) {
        const identity = fileIdentity(ownPath);
        server._onClose = () => {
          // Only if the path is still our socket (not replaced by another server).
          const now = fileIdentity(ownPath!);
          if (now !== null && now === identity) unlinkPath(ownPath!);
        };
      }
      if (options.startServing ?? true) yield* startServingOrClose(server);
      return server;
    })());
  }

  /** @internal */
  _startServing(server: Server, sock: Socket): void {
    this._addReader(sock.fileno(), this._acceptConnection, server, sock);
  }

  /** @internal */
  _stopServing(sock: Socket): void {
    this._removeReader(sock.fileno());
    sock.close();
  }

  /** @internal accept up to backlog + 1 connections per readiness, as asyncio */
  _acceptConnection = (server: Server, sock: Socket): void => {
    for (let i = 0; i <= server._backlog; i++) {
      let conn: Socket, addr: unknown;
      try {
        [conn, addr] = sock.accept() as [Socket, unknown];
        conn.setblocking(false);
      } catch (e) {
        if (!(e instanceof OSError)) throw e;
        if (isRetry(e.errno) || e.code === "ECONNABORTED") return;
        if (["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"].includes(e.code)) {
          // Out of descriptors or memory: report, stop accepting a while, try again.
          this.callExceptionHandler({ message: "socket.accept() out of system resource", exception: e, socket: sock });
          this._removeReader(sock.fileno());
          this.callLater(ACCEPT_RETRY_DELAY, () => {
            if (server._sockets?.includes(sock)) this._startServing(server, sock);
          });
          return;
        }
        throw e;
      }
      this._acceptConnection2(server, conn, { peername: addr });
    }
  };

  /** @internal the transport for one accepted connection */
  _acceptConnection2(server: Server, conn: Socket, extra: Record<string, unknown>): void {
    let protocol: AnyProtocol | undefined;
    let transport: BaseTransport | undefined;
    try {
      protocol = makeProtocol(server._protocolFactory);
      const tls = server._tls as TlsArgs | null;
      if (tls === null) {
        transport = new SelectorSocketTransport(this, conn, protocol, null, extra, server);
        return;
      }
      const waiter = this.createFuture<void>();
      const sslProtocol = new SSLProtocol(this, protocol, tls.ssl as SSLContext, waiter, true, null, {
        handshakeTimeout: tls.handshakeTimeout, shutdownTimeout: tls.shutdownTimeout,
      });
      transport = new SelectorSocketTransport(this, conn, sslProtocol, null, extra, server);
      const app = sslProtocol._appTransport, p = protocol;
      // A failed handshake is the client's business: asyncio reports it in debug mode only.
      waiter.addDoneCallback(() => {
        const exc = waiter.cancelled() ? null : waiter.exception();
        if (exc === null || exc === undefined) return;
        app.close();
        if (this.getDebug()) {
          this.callExceptionHandler({ message: "Error on transport creation for incoming connection", exception: exc, protocol: p, transport: app });
        }
      });
    } catch (exc) {
      if (transport === undefined) conn.close();
      else transport.close();
      this.callExceptionHandler({
        message: "Error on transport creation for incoming connection", exception: exc, protocol, transport,
      });
    }
  }

  // ---- Datagrams ----

  /**
   * A datagram endpoint (UDP or UNIX datagram) bound to `localAddr` and/or
   * connected to `remoteAddr`, or over `sock`: resolves with [transport,
   * protocol]. asyncio's `loop.create_datagram_endpoint`.
   *
   * @example
   * ```ts
   * import { newEventLoop } from "tsyncio";
   *
   * const loop = newEventLoop();
   * const [transport] = await loop.runUntilComplete(loop.createDatagramEndpoint(() => ({
   *   datagramReceived(data: Uint8Array, addr: unknown) {
   *     console.log("reply from", addr, new TextDecoder().decode(data));
   *     loop.stop();
   *   },
   * }), { remoteAddr: ["127.0.0.1", 9999] }));
   * transport.sendto(new TextEncoder().encode("ping"));
   * await loop.runForever();
   * transport.close();
   * loop.close();
   * ```
   */
  createDatagramEndpoint(protocolFactory: ProtocolFactory, options: DatagramOptions = {}): Future<[SelectorDatagramTransport, AnyProtocol]> {
    checkOptions(options, "createDatagramEndpoint");
    this._checkClosed();
    checkFactory(protocolFactory);
    if ("reuseAddress" in options) {
      throw new TypeError("reuseAddress is not supported: SO_REUSEADDR is unsafe for UDP (asyncio removed it too)");
    }
    const self = this;
    return this.createTask((function* (): G<[SelectorDatagramTransport, AnyProtocol]> {
      let sock = options.sock ?? null;
      let remote: unknown = null;
      if (sock !== null) {
        if (sock.type !== C.SOCK_DGRAM) throw new ValueError(`A datagram socket was expected, got ${sock}`);
        for (const k of ["localAddr", "remoteAddr", "family", "proto", "flags", "reusePort", "allowBroadcast"] as const) {
          if (options[k] !== undefined && options[k] !== null && options[k] !== 0) {
            throw new ValueError(`socket modifier keyword arguments can not be used when sock is specified. (${k})`);
          }
        }
        sock.setblocking(false);
      } else {
        const { localAddr = null, remoteAddr = null } = options;
        let family = options.family ?? 0;
        const proto = options.proto ?? 0;
        if (localAddr === null && remoteAddr === null && family === 0) {
          throw new ValueError("unexpected address family");
        }
        const pairs: [number, number, unknown, unknown][] = [];
        if (family === C.AF_UNIX) {
          for (const a of [localAddr, remoteAddr]) {
            if (a !== null && typeof a !== "string") {
              throw new TypeError(`string is expected: with family AF_UNIX an address is a path, got ${formatValue(a)}`);
            }
          }
          if (typeof localAddr === "string" && !localAddr.startsWith("\0") && isSocketFile(localAddr)) unlinkPath(localAddr);
          pairs.push([family, proto, localAddr, remoteAddr]);
        } else {
          const byFamily = new Map<number, [unknown, unknown]>();
          for (const [idx, addr] of [[0, localAddr], [1, remoteAddr]] as const) {
            if (addr === null) continue;
            if (!Array.isArray(addr) || addr.length < 2) throw new TypeError("2-tuple is expected");
            const infos = yield* self._ensureResolved(addr as [string, number], family, C.SOCK_DGRAM, proto, options.flags ?? 0);
            if (infos.length === 0) throw new OSError(0, undefined, "getaddrinfo() returned empty list");
            for (const [fam, , , , a] of infos) {
              const entry = byFamily.get(fam) ?? [null, null];
              if (entry[idx] === null) entry[idx] = a;
              byFamily.set(fam, entry);
            }
          }
          for (const [fam, [l, r]] of byFamily) {
            if ((localAddr !== null && l === null) || (remoteAddr !== null && r === null)) continue;
            pairs.push([fam, proto, l, r]);
          }
          if (pairs.length === 0) throw new ValueError("can not get address information");
        }
        let lastError: unknown = null;
        for (const [fam, prt, laddr, raddr] of pairs) {
          let s: Socket | null = null;
          try {
            s = new Socket(fam, C.SOCK_DGRAM, prt);
            if (options.reusePort) setReusePort(s);
            if (options.allowBroadcast) s.setsockopt(C.SOL_SOCKET, C.SO_BROADCAST, 1);
            s.setblocking(false);
            if (laddr !== null) s.bind(laddr);
            if (raddr !== null) {
              if (!options.allowBroadcast) yield* self.sockConnect(s, raddr);
              remote = raddr;
            }
            sock = s;
            break;
          } catch (e) {
            s?.close();
            if (!(e instanceof OSError)) throw e;
            lastError = e;
          }
        }
        if (sock === null) throw lastError;
      }
      const protocol = makeProtocol(protocolFactory, sock);
      const waiter = self.createFuture<void>();
      const transport = new SelectorDatagramTransport(self, sock, protocol, remote, waiter);
      try {
        yield* waiter;
      } catch (e) {
        transport.close();
        throw e;
      }
      return [transport, protocol];
    })());
  }

  // ---- sendfile ----

  /**
   * Send a file (a descriptor or an object with fileno()) over a socket with
   * sendfile(2), no copy through JavaScript; resolves with the bytes sent.
   * Where sendfile is unavailable, `fallback` (default) reads and sends
   * instead; otherwise SendfileNotAvailableError.
   */
  sockSendfile(sock: Socket, file: number | { fileno(): number }, offset = 0, count: number | null = null, options: { fallback?: boolean } = {}): Future<number> {
    checkOptions(options, "sockSendfile");
    this._checkClosed();
    const self = this;
    return this.createTask((function* (): G<number> {
      checkSendfileArgs(sock, offset, count);
      const fd = fileobjToFd(file);
      try {
        return yield* self._sockSendfileNative(sock, fd, offset, count);
      } catch (e) {
        if (!(e instanceof SendfileNotAvailableError) || options.fallback === false) throw e;
      }
      return yield* self._sockSendfileFallback(sock, fd, offset, count);
    })());
  }

  /** @internal */
  *_sockSendfileNative(sock: Socket, fd: number, offset: number, count: number | null): G<number> {
    if (!libc.sendfile) throw new SendfileNotAvailableError("os.sendfile() is not available");
    checkNonBlocking(sock);
    const off = new BigInt64Array(1);
    off[0] = BigInt(offset);
    const offBytes = new Uint8Array(off.buffer);
    let total = 0;
    const out = sock.fileno();
    for (;;) {
      const want = count === null ? 0x7ffff000 : Math.min(count - total, 0x7ffff000);
      if (want <= 0) break;
      const n = libc.sendfile(out, fd, offBytes, want);
      if (n < 0) {
        const errno = native.errno();
        if (isRetry(errno)) {
          yield* self_wait(this, out);
          continue;
        }
        const code = OSError.fromErrno(errno).code;
        if (total === 0 && ["EINVAL", "ENOSYS", "ENOTSOCK", "EOPNOTSUPP", "ESPIPE"].includes(code)) {
          throw new SendfileNotAvailableError(`os.sendfile() is not usable here (${code})`);
        }
        throw OSError.fromErrno(errno, "sendfile()");
      }
      if (n === 0) break; // end of file
      total += n;
    }
    return total;
  }

  /** @internal read and send in chunks: for files sendfile(2) cannot take */
  *_sockSendfileFallback(sock: Socket, fd: number, offset: number, count: number | null): G<number> {
    const chunk = new Uint8Array(new ArrayBuffer(Math.min(count ?? 256 * 1024, 256 * 1024) || 1));
    let total = 0;
    for (;;) {
      const want = count === null ? chunk.byteLength : Math.min(count - total, chunk.byteLength);
      if (want <= 0) break;
      const n = readAt(fd, chunk, want, offset + total);
      if (n === 0) break;
      yield* this.sockSendall(sock, chunk.subarray(0, n));
      total += n;
    }
    return total;
  }

  /** @internal sendfile on a transport without a socket of its own (TLS): read and write */
  *_sendfileThroughTransport(transport: Transport, fd: number, offset: number, count: number | null): G<number> {
    const stand = new SendfileFallbackProtocol(transport, this);
    try {
      const chunk = new Uint8Array(new ArrayBuffer(Math.min(count ?? 256 * 1024, 256 * 1024)));
      let total = 0;
      for (;;) {
        const want = count === null ? chunk.byteLength : Math.min(count - total, chunk.byteLength);
        if (want <= 0) break;
        yield* stand.drain();
        const n = readAt(fd, chunk, want, offset + total);
        if (n === 0) break;
        transport.write(chunk.subarray(0, n)); // write() copies what it cannot send at once
        total += n;
      }
      yield* stand.drain();
      return total;
    } finally {
      stand.restore();
    }
  }

  /**
   * Send a file over a stream transport (its buffer is flushed first, and
   * reading pauses meanwhile); resolves with the bytes sent. Over TLS it
   * reads and writes through the transport (unless `fallback` is false).
   */
  sendfile(transport: Transport, file: number | { fileno(): number }, offset = 0, count: number | null = null, options: { fallback?: boolean } = {}): Future<number> {
    checkOptions(options, "sendfile");
    this._checkClosed();
    const self = this;
    if (!(transport instanceof BaseTransport)) throw new TypeError(`transport must be a Transport, got ${formatValue(transport)}`);
    return this.createTask((function* (): G<number> {
      if (transport.isClosing()) throw new RuntimeError("Transport is closing");
      if (!(transport instanceof SelectorSocketTransport)) {
        // TLS and other layered transports: no sendfile(2), read and write instead.
        if (options.fallback === false) throw new SendfileNotAvailableError(`sendfile is not supported for transport ${transport}`);
        checkSendfileArgs(null, offset, count);
        return yield* self._sendfileThroughTransport(transport, fileobjToFd(file), offset, count);
      }
      const sock = transport._sock!;
      checkSendfileArgs(sock, offset, count);
      const fd = fileobjToFd(file);
      yield* transport._makeEmptyWaiter(self.createFuture<void>());
      const resume = transport.isReading();
      transport.pauseReading();
      try {
        try {
          return yield* self._sockSendfileNative(sock, fd, offset, count);
        } catch (e) {
          if (!(e instanceof SendfileNotAvailableError) || options.fallback === false) throw e;
        }
        return yield* self._sockSendfileFallback(sock, fd, offset, count);
      } finally {
        transport._resetEmptyWaiter();
        if (resume) transport.resumeReading();
      }
    })());
  }
}

/**
 * Stands in for a transport's protocol while sendfile writes through it:
 * it learns when the transport's buffer drains, and gives the protocol back
 * afterwards (asyncio's `_SendfileFallbackProtocol`).
 */
class SendfileFallbackProtocol {
  #transport: Transport;
  #protocol: AnyProtocol;
  #loop: NetEventLoop;
  #resumeReading: boolean;
  #drained: Future<void> | null = null;
  #lost: Error | null = null;

  constructor(transport: Transport, loop: NetEventLoop) {
    this.#transport = transport;
    this.#protocol = transport.getProtocol();
    this.#loop = loop;
    this.#resumeReading = transport.isReading();
    transport.pauseReading();
    transport.setProtocol(this);
  }

  pauseWriting(): void {
    if (this.#drained === null) this.#drained = this.#loop.createFuture<void>();
  }

  resumeWriting(): void {
    const f = this.#drained;
    this.#drained = null;
    if (f && !f.done()) f.setResult(undefined);
  }

  connectionLost(exc: Error | null): void {
    this.#lost = exc ?? new ConnectionError(0, undefined, "Connection closed by peer");
    const f = this.#drained;
    this.#drained = null;
    if (f && !f.done()) f.setException(this.#lost);
    this.#protocol.connectionLost?.(exc);
  }

  dataReceived(): void {
    throw new RuntimeError("Invalid state: reading should be paused");
  }

  eofReceived(): boolean {
    return false;
  }

  /** Wait until the transport takes more (its buffer is at or below the low mark). */
  *drain(): G<void> {
    if (this.#lost) throw this.#lost;
    if (this.#transport.isClosing()) throw new ConnectionError(0, undefined, "Connection closed by peer");
    if (this.#drained) yield* this.#drained;
  }

  restore(): void {
    this.#transport.setProtocol(this.#protocol);
    if (this.#resumeReading && !this.#transport.isClosing()) this.#transport.resumeReading();
  }
}

function* self_wait(loop: NetEventLoop, fd: number): G<void> {
  const f = loop.createFuture<void>();
  const h = loop._addWriter(fd, () => {
    if (!f.done()) f.setResult(undefined);
  });
  f.addDoneCallback(() => {
    if (!h.cancelled()) loop._removeWriter(fd);
  });
  yield* f;
}

function checkSendfileArgs(sock: Socket | null, offset: number, count: number | null): void {
  if (sock && sock.type !== C.SOCK_STREAM) throw new ValueError("only SOCK_STREAM type sockets are supported");
  if (count !== null) {
    if (!Number.isInteger(count)) throw new TypeError(`count must be a positive integer (got ${formatValue(count)})`);
    if (count <= 0) throw new ValueError(`count must be a positive integer (got ${count})`);
  }
  if (!Number.isInteger(offset)) throw new TypeError(`offset must be a non-negative integer (got ${formatValue(offset)})`);
  if (offset < 0) throw new ValueError(`offset must be a non-negative integer (got ${offset})`);
}

function setReusePort(sock: Socket): void {
  if (!C.SO_REUSEPORT) throw new ValueError("reusePort not supported by socket module");
  // Linux refuses SO_REUSEPORT on AF_UNIX: like asyncio, apply it to inet sockets only.
  if (sock.family !== C.AF_INET && sock.family !== C.AF_INET6) return;
  try {
    sock.setsockopt(C.SOL_SOCKET, C.SO_REUSEPORT, 1);
  } catch (e) {
    throw new ValueError(`reusePort not supported by socket module, SO_REUSEPORT defined but not implemented (${e})`);
  }
}

const statBuf = new Uint8Array(new ArrayBuffer(C.STAT_SIZE));
const statView = new DataView(statBuf.buffer);
const enc = new TextEncoder();

function cpath(path: string): Uint8Array {
  return enc.encode(path + "\0");
}

function statPath(path: string): boolean {
  // stat is a real symbol only from glibc 2.33; without it, assume nothing is there.
  return libc.stat !== null && libc.stat(cpath(path), statBuf) === 0;
}

function isSocketFile(path: string): boolean {
  return statPath(path) && (statView.getUint32(C.STAT_MODE_OFFSET, true) & C.S_IFMT) === C.S_IFSOCK;
}

/** device and inode of a path, to tell our socket file from a replacement */
function fileIdentity(path: string): string | null {
  if (!statPath(path)) return null;
  return `${statView.getBigUint64(C.STAT_DEV_OFFSET, true)}:${statView.getBigUint64(C.STAT_INO_OFFSET, true)}`;
}

function unlinkPath(path: string): void {
  libc.unlink(cpath(path));
}

/** Read at `offset`; a pipe or socket (no offsets) is read from where it is. */
function readAt(fd: number, buf: Uint8Array, n: number, offset: number): number {
  let r = libc.pread(fd, buf, n, offset);
  if (r < 0 && OSError.fromErrno(native.errno()).code === "ESPIPE") r = libc.read(fd, buf, n);
  if (r < 0) throw OSError.fromErrno(native.errno(), "read()");
  return r;
}

