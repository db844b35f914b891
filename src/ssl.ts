/**
 * TLS over OpenSSL's libssl through FFI (the parts of Python's `ssl` module
 * that asyncio uses): {@link SSLContext}, {@link createDefaultContext}, and
 * {@link SSLObject}, one TLS connection driven through two memory BIOs, so
 * that TLS is a protocol layered on any transport (sslproto.ts) rather than
 * a kind of socket. FFI-NOTES.md §7 has the recipe.
 *
 * libssl is loaded the first time a context is made: a program that never
 * uses TLS runs where OpenSSL is missing, and one that does gets a clear
 * RuntimeError.
 *
 * @example
 * ```ts
 * import { createDefaultContext, newEventLoop, Protocol, Purpose, type SSLObject } from "tsyncio";
 *
 * const loop = newEventLoop();
 * const ctx = createDefaultContext(Purpose.SERVER_AUTH, { cafile: "/tmp/ca.pem" });
 * const [tr] = await loop.runUntilComplete(loop.createConnection(() => new Protocol(), "localhost", 8443, { ssl: ctx }));
 * const obj = tr.getExtraInfo("ssl_object") as SSLObject;
 * console.log(obj.version(), obj.cipher(), obj.getpeercert());
 * ```
 */

import { native } from "./native.ts";
import {
  OSError,
  RuntimeError,
  SSLCertVerificationError,
  SSLEOFError,
  SSLError,
  SSLSyscallError,
  SSLWantReadError,
  SSLWantWriteError,
  SSLZeroReturnError,
  ValueError,
} from "./errors.ts";
import {
  BIO_C_SET_BUF_MEM_EOF_RETURN,
  ERR_LIB_SSL,
  ERR_LIB_SYS,
  type LibcryptoSymbols,
  libcryptoSymbols,
  type LibsslSymbols,
  libsslSymbols,
  OPENSSL_NPN_NEGOTIATED,
  opensslPaths,
  SSL_CTRL_GET_MAX_PROTO_VERSION,
  SSL_CTRL_GET_MIN_PROTO_VERSION,
  SSL_CTRL_MODE,
  SSL_CTRL_SET_MAX_PROTO_VERSION,
  SSL_CTRL_SET_MIN_PROTO_VERSION,
  SSL_CTRL_SET_TLSEXT_HOSTNAME,
  SSL_ERROR_SYSCALL,
  SSL_ERROR_WANT_READ,
  SSL_ERROR_WANT_WRITE,
  SSL_ERROR_ZERO_RETURN,
  SSL_FILETYPE_PEM,
  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER,
  SSL_MODE_AUTO_RETRY,
  SSL_OP_ALL,
  SSL_OP_CIPHER_SERVER_PREFERENCE,
  SSL_OP_NO_COMPRESSION,
  SSL_OP_NO_RENEGOTIATION,
  SSL_R_CERTIFICATE_VERIFY_FAILED,
  SSL_TLSEXT_ERR_NOACK,
  SSL_TLSEXT_ERR_OK,
  SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
  SSL_VERIFY_NONE,
  SSL_VERIFY_PEER,
  TLSEXT_NAMETYPE_host_name,
  X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
  X509_V_ERR_HOSTNAME_MISMATCH,
  X509_V_ERR_IP_ADDRESS_MISMATCH,
} from "../ffi/openssl.ts";
import type { Bound, NativeCallback, Pointer } from "../ffi/types.ts";
import { decodeCertificate, type PeerCertificate } from "./x509.ts";
import { parseNumericAddress } from "./sockaddr.ts";
import { formatValue } from "./format.ts";

export type { PeerCertificate, X509Name } from "./x509.ts";

// ---- constants (Python's values) ----

/** A context for either side (Python's deprecated default; no verification). */
export const PROTOCOL_TLS = 2;
/** A client context: certificate and hostname verification on. */
export const PROTOCOL_TLS_CLIENT = 16;
/** A server context: no client certificate asked for. */
export const PROTOCOL_TLS_SERVER = 17;

/** `verifyMode`: accept any peer certificate, or none (Python's `ssl.CERT_NONE`). */
export const CERT_NONE = 0;
/** `verifyMode`: verify the peer's certificate when it sends one (Python's `ssl.CERT_OPTIONAL`). */
export const CERT_OPTIONAL = 1;
/** `verifyMode`: the peer must send a certificate that verifies (Python's `ssl.CERT_REQUIRED`). */
export const CERT_REQUIRED = 2;

/** TLS protocol versions for `minimumVersion`/`maximumVersion` (Python's `ssl.TLSVersion`). */
export const TLSVersion: Readonly<{
  MINIMUM_SUPPORTED: -2;
  MAXIMUM_SUPPORTED: -1;
  SSLv3: 0x300;
  TLSv1: 0x301;
  TLSv1_1: 0x302;
  TLSv1_2: 0x303;
  TLSv1_3: 0x304;
}> = Object.freeze({
  MINIMUM_SUPPORTED: -2,
  MAXIMUM_SUPPORTED: -1,
  SSLv3: 0x300,
  TLSv1: 0x301,
  TLSv1_1: 0x302,
  TLSv1_2: 0x303,
  TLSv1_3: 0x304,
} as const);
/** One of the {@link TLSVersion} numbers. */
export type TLSVersion = (typeof TLSVersion)[keyof typeof TLSVersion];

/**
 * What a context is for (Python's `ssl.Purpose`): `SERVER_AUTH` makes a
 * client context (it authenticates servers), `CLIENT_AUTH` a server context.
 */
export const Purpose: Readonly<{ SERVER_AUTH: "serverAuth"; CLIENT_AUTH: "clientAuth" }> = Object.freeze(
  { SERVER_AUTH: "serverAuth", CLIENT_AUTH: "clientAuth" } as const,
);
/** One of the {@link Purpose} values. */
export type Purpose = (typeof Purpose)[keyof typeof Purpose];

/** Python 3.10+'s default cipher list (TLS 1.2 and below; TLS 1.3 suites are OpenSSL's). */
const DEFAULT_CIPHERS = "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM";

// ---- loading libssl ----

/** The bound OpenSSL libraries and what every connection reuses. */
interface OpenSSL {
  ssl: Bound<LibsslSymbols>;
  crypto: Bound<LibcryptoSymbols>;
  /** OpenSSL 3 packs error codes differently from 1.1. */
  v3: boolean;
  memMethod: Pointer;
  tlsMethod: Pointer;
  // deno-lint-ignore no-explicit-any
  getPeerCertificate: (ssl: Pointer) => any;
}

let lib: OpenSSL | null = null;

/** libssl and libcrypto, loaded on first use (the same version of both). */
function openssl(): OpenSSL {
  if (lib !== null) return lib;
  for (const [sslPath, cryptoPath] of opensslPaths[native.os] ?? []) {
    const ssl = native.loadLibrary([sslPath], libsslSymbols);
    if (ssl === null) continue;
    const crypto = native.loadLibrary([cryptoPath], libcryptoSymbols);
    const getPeer = ssl.SSL_get1_peer_certificate ?? ssl.SSL_get_peer_certificate;
    if (crypto === null || getPeer === null) continue;
    lib = {
      ssl,
      crypto,
      v3: crypto.OpenSSL_version_num() >= 0x30000000,
      memMethod: crypto.BIO_s_mem(),
      tlsMethod: ssl.TLS_method(),
      getPeerCertificate: getPeer,
    };
    return lib;
  }
  const names = (opensslPaths[native.os] ?? []).map(([s]) => s).join(" or ");
  throw new RuntimeError(
    `TLS needs OpenSSL's libssl (${names}), which could not be loaded on this system: ` +
      (native.os === "darwin" ? "install it with `brew install openssl@3`" : "install the libssl3 package"),
  );
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** A NUL-terminated copy of `s` for a `const char *` argument. */
function cstr(s: string, what: string): Uint8Array {
  if (s.includes("\0")) throw new ValueError(`${what} contains an embedded null character`);
  const bytes = encoder.encode(s);
  // An explicit ArrayBuffer: bun:ffi may move small GC-heap arrays (FFI-NOTES.md §2).
  const out = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  out.set(bytes);
  return out;
}

// ---- errors from OpenSSL's error queue ----

/** Python's names for the libraries that report errors (`SSLError.library`). */
const LIB_NAMES: Record<number, string> = {
  2: "SYS", 6: "EVP", 9: "PEM", 11: "X509", 13: "ASN1", 15: "CRYPTO", 20: "SSL", 32: "BIO", 34: "X509V3",
  44: "OSSL_STORE", 57: "PROV", 60: "DECODER",
};
/** SSL_R_UNEXPECTED_EOF_WHILE_READING (OpenSSL 3): the peer closed without close_notify. */
const SSL_R_UNEXPECTED_EOF_WHILE_READING = 294;

function errLib(o: OpenSSL, e: number): number {
  if (!o.v3) return (e >>> 24) & 0xff;
  return (e & 0x80000000) !== 0 ? ERR_LIB_SYS : (e >>> 23) & 0xff;
}

function errReason(o: OpenSSL, e: number): number {
  if (!o.v3) return e & 0xfff;
  return (e & 0x80000000) !== 0 ? e & 0x7fffffff : e & 0x7fffff;
}

/** Every code in this thread's error queue, oldest first; the queue is left empty. */
function drainErrors(o: OpenSSL): number[] {
  const out: number[] = [];
  for (let e = o.crypto.ERR_get_error(); e !== 0; e = o.crypto.ERR_get_error()) out.push(e >>> 0);
  return out;
}

/**
 * The error Python reports for the queue entry `e`: "[LIB: REASON] text".
 * Python names reasons from its own table of OpenSSL's `*_R_*` macros; the
 * macro names are the reason texts in capitals with underscores, which is
 * how they are derived here.
 */
function describe(
  o: OpenSSL,
  pyErrno: number,
  e: number | undefined,
  fallback: string,
  Cls: typeof SSLError = SSLError,
): SSLError {
  if (!e) return new Cls(pyErrno, fallback);
  const libNum = errLib(o, e);
  const library = LIB_NAMES[libNum] ?? (o.crypto.ERR_lib_error_string(e) || null);
  const text: string = o.crypto.ERR_reason_error_string(e) || "";
  const reason = text ? text.toUpperCase().replace(/[^A-Z0-9]+/g, "_") : null;
  const errstr = text || fallback;
  const message = library && reason ? `[${library}: ${reason}] ${errstr}` : reason ? `[${reason}] ${errstr}` : errstr;
  return new Cls(pyErrno, message, library, reason);
}

/**
 * The error for a failed context call: an OSError when OpenSSL failed in a
 * system call (a missing file is a FileNotFoundError, as in Python), else an
 * SSLError from the last queue entry.
 */
function queueError(context?: string, fallback = "A failure in the SSL library occurred"): Error {
  const o = openssl();
  const codes = drainErrors(o);
  for (const e of codes) {
    if (errLib(o, e) === ERR_LIB_SYS && errReason(o, e) > 0) return OSError.fromErrno(errReason(o, e), context);
  }
  return describe(o, 1, codes[codes.length - 1], fallback);
}

// ---- SSLContext ----

/** What a context's finalizer frees: it must not refer to the context itself. */
interface ContextState {
  ctx: Pointer;
  /** The ALPN list in wire format, read by the server's selection callback. */
  alpn: Uint8Array | null;
  alpnCallback: NativeCallback | null;
}

/** How many OpenSSL objects we made and have not freed yet (see {@link _liveSslObjects}). */
const live = { ctx: 0, ssl: 0, bio: 0 };

/**
 * @internal debugging: the OpenSSL objects alive now, made here and not yet
 * freed: SSL_CTX (freed when its SSLContext is collected), SSL and BIO
 * (freed when a connection ends). The tests check that no connection leaks one.
 */
export function _liveSslObjects(): { ctx: number; ssl: number; bio: number } {
  return { ...live };
}

const contextFinalizer = new FinalizationRegistry<ContextState>((state) => {
  // Connections up-ref the SSL_CTX, so freeing our reference never pulls it from under one.
  lib?.ssl.SSL_CTX_free(state.ctx);
  live.ctx--;
  state.alpnCallback?.close();
});

/**
 * Settings shared by TLS connections (Python's `ssl.SSLContext`): the
 * protocol side, certificates, verification, ALPN, ciphers and versions.
 *
 * `new SSLContext(PROTOCOL_TLS_CLIENT)` verifies the server's certificate
 * and hostname (`verifyMode` CERT_REQUIRED, `checkHostname` true) but
 * trusts no CA until told (`loadVerifyLocations`, `setDefaultVerifyPaths`);
 * {@link createDefaultContext} also loads the system's CAs.
 * `new SSLContext(PROTOCOL_TLS_SERVER)` asks no client certificate.
 *
 * @example
 * ```ts
 * import { PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER, SSLContext } from "tsyncio";
 *
 * const server = new SSLContext(PROTOCOL_TLS_SERVER);
 * server.loadCertChain("/tmp/server.pem", "/tmp/server.key");
 * const client = new SSLContext(PROTOCOL_TLS_CLIENT);
 * client.loadVerifyLocations("/tmp/ca.pem");
 * ```
 */
export class SSLContext {
  /** PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER or PROTOCOL_TLS. */
  readonly protocol: number;
  /** @internal */ _ctx: Pointer;
  #state: ContextState;
  #checkHostname: boolean;
  #verifyMode: number;

  /**
   * A context with Python's defaults for `protocol`: no compression, no
   * renegotiation, TLS 1.2 at least and Python's cipher list.
   * @param protocol PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER or PROTOCOL_TLS (Python's deprecated default)
   */
  constructor(protocol: number = PROTOCOL_TLS) {
    if (protocol !== PROTOCOL_TLS && protocol !== PROTOCOL_TLS_CLIENT && protocol !== PROTOCOL_TLS_SERVER) {
      throw new ValueError(`invalid or unsupported protocol version ${formatValue(protocol)}`);
    }
    const o = openssl();
    o.crypto.ERR_clear_error();
    const ctx = o.ssl.SSL_CTX_new(o.tlsMethod);
    if (native.isNull(ctx)) throw queueError(undefined, "failed to allocate SSL context");
    live.ctx++;
    this.protocol = protocol;
    this._ctx = ctx;
    this.#state = { ctx, alpn: null, alpnCallback: null };
    contextFinalizer.register(this, this.#state);
    // Python's defaults: bug workarounds, no compression, the server's cipher order,
    // TLS 1.2 at least, its cipher list; and no renegotiation, so that only the
    // handshake itself can call back into JavaScript (ALPN selection).
    // (>>> 0: JavaScript's | is signed, and a negative number would set the 64-bit options' top half.)
    o.ssl.SSL_CTX_set_options(ctx, (SSL_OP_ALL | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION) >>> 0);
    o.ssl.SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLSVersion.TLSv1_2, null);
    o.ssl.SSL_CTX_set_cipher_list(ctx, cstr(DEFAULT_CIPHERS, "ciphers"));
    // A write that OpenSSL asks to retry is retried from our backlog buffer, at another address.
    o.ssl.SSL_CTX_ctrl(ctx, SSL_CTRL_MODE, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY, null);
    const client = protocol === PROTOCOL_TLS_CLIENT;
    this.#checkHostname = client;
    this.#verifyMode = client ? CERT_REQUIRED : CERT_NONE;
    this.#applyVerifyMode();
  }

  /** A short description for logs: which side the context is for. */
  toString(): string {
    const side = this.protocol === PROTOCOL_TLS_CLIENT ? "client" : this.protocol === PROTOCOL_TLS_SERVER ? "server" : "any";
    return `<SSLContext ${side}>`;
  }

  /** Whether the server's certificate must match the `serverHostname` (clients). Turning it on makes verifyMode CERT_REQUIRED if it was CERT_NONE. */
  get checkHostname(): boolean {
    return this.#checkHostname;
  }

  set checkHostname(on: boolean) {
    if (typeof on !== "boolean") throw new TypeError(`checkHostname must be a boolean, got ${formatValue(on)}`);
    if (on && this.#verifyMode === CERT_NONE) {
      this.#verifyMode = CERT_REQUIRED;
      this.#applyVerifyMode();
    }
    this.#checkHostname = on;
  }

  /** CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED: whether the peer's certificate is asked for and verified. */
  get verifyMode(): number {
    return this.#verifyMode;
  }

  set verifyMode(mode: number) {
    if (mode !== CERT_NONE && mode !== CERT_OPTIONAL && mode !== CERT_REQUIRED) {
      throw new ValueError(`invalid value for verifyMode: ${formatValue(mode)}`);
    }
    if (mode === CERT_NONE && this.#checkHostname) {
      throw new ValueError("Cannot set verifyMode to CERT_NONE when checkHostname is enabled.");
    }
    this.#verifyMode = mode;
    this.#applyVerifyMode();
  }

  #applyVerifyMode(): void {
    const flags = this.#verifyMode === CERT_NONE
      ? SSL_VERIFY_NONE
      : this.#verifyMode === CERT_OPTIONAL
      ? SSL_VERIFY_PEER
      : SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    openssl().ssl.SSL_CTX_set_verify(this._ctx, flags, null);
  }

  /** The lowest protocol version allowed (TLSv1_2 by default, as Python 3.10+). */
  get minimumVersion(): TLSVersion {
    const v = openssl().ssl.SSL_CTX_ctrl(this._ctx, SSL_CTRL_GET_MIN_PROTO_VERSION, 0, null);
    return (v === 0 ? TLSVersion.MINIMUM_SUPPORTED : v) as TLSVersion;
  }

  set minimumVersion(v: TLSVersion) {
    this.#setVersion(v, true);
  }

  /** The highest protocol version allowed (MAXIMUM_SUPPORTED: whatever OpenSSL has). */
  get maximumVersion(): TLSVersion {
    const v = openssl().ssl.SSL_CTX_ctrl(this._ctx, SSL_CTRL_GET_MAX_PROTO_VERSION, 0, null);
    return (v === 0 ? TLSVersion.MAXIMUM_SUPPORTED : v) as TLSVersion;
  }

  set maximumVersion(v: TLSVersion) {
    this.#setVersion(v, false);
  }

  #setVersion(v: number, minimum: boolean): void {
    if (typeof v !== "number" || !Number.isInteger(v)) throw new TypeError(`a TLSVersion was expected, got ${formatValue(v)}`);
    if (!(Object.values(TLSVersion) as number[]).includes(v)) {
      throw new ValueError(`Unsupported TLS/SSL version 0x${v.toString(16)}`);
    }
    // 0 means "no bound" to OpenSSL; the opposite end's marker means the extreme version.
    let n: number = v;
    if (v === TLSVersion.MINIMUM_SUPPORTED) n = minimum ? 0 : TLSVersion.SSLv3;
    else if (v === TLSVersion.MAXIMUM_SUPPORTED) n = minimum ? TLSVersion.TLSv1_3 : 0;
    const cmd = minimum ? SSL_CTRL_SET_MIN_PROTO_VERSION : SSL_CTRL_SET_MAX_PROTO_VERSION;
    if (openssl().ssl.SSL_CTX_ctrl(this._ctx, cmd, n, null) === 0) {
      drainErrors(openssl());
      throw new ValueError(`Unsupported protocol version 0x${n.toString(16)}`);
    }
  }

  /**
   * Load this side's certificate chain (PEM, leaf first) and private key
   * (`keyfile`, or the key inside `certfile`). `password` decrypts an
   * encrypted key: a string, bytes, or a function returning one (called
   * once, here). A missing file is a FileNotFoundError; a bad certificate,
   * key or password an SSLError.
   */
  loadCertChain(
    certfile: string,
    keyfile: string | null = null,
    password: string | ArrayBufferView | (() => string | ArrayBufferView) | null = null,
  ): void {
    if (typeof certfile !== "string") throw new TypeError(`certfile should be a path string, got ${formatValue(certfile)}`);
    if (keyfile !== null && keyfile !== undefined && typeof keyfile !== "string") {
      throw new TypeError(`keyfile should be a path string, got ${formatValue(keyfile)}`);
    }
    const key = keyfile ?? certfile;
    const pw = passwordBytes(password);
    const o = openssl();
    o.crypto.ERR_clear_error();
    // OpenSSL's default password callback uses this as the password; without one it would
    // prompt on the terminal, so an empty password stands in (a wrong one fails cleanly).
    o.ssl.SSL_CTX_set_default_passwd_cb_userdata(this._ctx, pw);
    try {
      if (o.ssl.SSL_CTX_use_certificate_chain_file(this._ctx, cstr(certfile, "certfile")) !== 1) throw queueError(certfile);
      if (o.ssl.SSL_CTX_use_PrivateKey_file(this._ctx, cstr(key, "keyfile"), SSL_FILETYPE_PEM) !== 1) throw queueError(key);
      if (o.ssl.SSL_CTX_check_private_key(this._ctx) !== 1) throw queueError();
    } finally {
      o.ssl.SSL_CTX_set_default_passwd_cb_userdata(this._ctx, null);
      pw.fill(0);
    }
  }

  /**
   * Trust the CA certificates in `cafile` (PEM), the hashed directory
   * `capath`, and/or `cadata` (PEM text, or DER bytes).
   */
  loadVerifyLocations(cafile: string | null = null, capath: string | null = null, cadata: string | ArrayBufferView | null = null): void {
    if (cafile == null && capath == null && cadata == null) throw new TypeError("cafile, capath and cadata cannot be all omitted");
    if (cafile != null && typeof cafile !== "string") throw new TypeError(`cafile should be a path string, got ${formatValue(cafile)}`);
    if (capath != null && typeof capath !== "string") throw new TypeError(`capath should be a path string, got ${formatValue(capath)}`);
    const o = openssl();
    o.crypto.ERR_clear_error();
    if (cafile != null || capath != null) {
      const ok = o.ssl.SSL_CTX_load_verify_locations(
        this._ctx,
        cafile != null ? cstr(cafile, "cafile") : null,
        capath != null ? cstr(capath, "capath") : null,
      );
      if (ok !== 1) throw queueError(cafile ?? capath ?? undefined);
    }
    if (cadata != null) this.#addCaData(o, cadata);
  }

  #addCaData(o: OpenSSL, cadata: string | ArrayBufferView): void {
    let bytes: Uint8Array;
    const pem = typeof cadata === "string";
    if (pem) bytes = encoder.encode(cadata);
    else if (ArrayBuffer.isView(cadata)) bytes = new Uint8Array(cadata.buffer, cadata.byteOffset, cadata.byteLength);
    else throw new TypeError(`cadata should be a string or a bytes-like object, got ${formatValue(cadata)}`);
    const data = new Uint8Array(new ArrayBuffer(Math.max(1, bytes.length)));
    data.set(bytes);
    const bio = o.crypto.BIO_new_mem_buf(data, bytes.length);
    if (native.isNull(bio)) throw queueError();
    const store = o.ssl.SSL_CTX_get_cert_store(this._ctx);
    let loaded = 0;
    try {
      for (;;) {
        const x = pem ? o.crypto.PEM_read_bio_X509(bio, null, null, null) : o.crypto.d2i_X509_bio(bio, null);
        if (native.isNull(x)) break;
        // A duplicate of a certificate already trusted fails harmlessly.
        o.crypto.X509_STORE_add_cert(store, x);
        o.crypto.X509_free(x);
        loaded++;
      }
    } finally {
      o.crypto.BIO_free(bio);
    }
    // Reading past the last certificate leaves "no start line" (or "not enough data") behind.
    drainErrors(o);
    if (loaded === 0) {
      throw pem
        ? new SSLError(1, "[PEM: NO_START_LINE] no start line: cadata does not contain a certificate", "PEM", "NO_START_LINE")
        : new SSLError(1, "[ASN1: NOT_ENOUGH_DATA] not enough data: cadata does not contain a certificate", "ASN1", "NOT_ENOUGH_DATA");
    }
  }

  /** Trust the system's CA certificates (OpenSSL's default file and directory). */
  setDefaultVerifyPaths(): void {
    const o = openssl();
    o.crypto.ERR_clear_error();
    if (o.ssl.SSL_CTX_set_default_verify_paths(this._ctx) !== 1) throw queueError();
  }

  /** Load the default CA certificates for `purpose` (on Linux and macOS: the system's, as Python). */
  loadDefaultCerts(purpose: Purpose = Purpose.SERVER_AUTH): void {
    checkPurpose(purpose);
    this.setDefaultVerifyPaths();
  }

  /**
   * The protocols this side offers (client) or accepts (server) with ALPN,
   * most preferred first; the server picks the first of its own list that
   * the client offered, and negotiates none when there is no overlap.
   */
  setAlpnProtocols(protocols: Iterable<string>): void {
    const parts: Uint8Array[] = [];
    for (const p of protocols) {
      if (typeof p !== "string") throw new TypeError(`ALPN protocols must be strings, got ${formatValue(p)}`);
      const b = encoder.encode(p);
      if (b.length < 1 || b.length > 255) throw new ValueError("ALPN protocols must be 1 to 255 in length");
      parts.push(b);
    }
    const wire = new Uint8Array(new ArrayBuffer(Math.max(1, parts.reduce((n, b) => n + 1 + b.length, 0))));
    let off = 0;
    for (const b of parts) {
      wire[off++] = b.length;
      wire.set(b, off);
      off += b.length;
    }
    const o = openssl();
    // Client side: the list sent in the ClientHello (0 is success here).
    if (o.ssl.SSL_CTX_set_alpn_protos(this._ctx, wire, off) !== 0) throw queueError();
    // Server side: OpenSSL asks a C callback to choose. Its answer points into `wire`, which
    // OpenSSL copies before the handshake goes on, so the buffer need only outlive the call.
    this.#state.alpn = off > 0 ? wire.subarray(0, off) : null;
    if (this.protocol !== PROTOCOL_TLS_CLIENT && this.#state.alpnCallback === null) {
      const state = this.#state;
      state.alpnCallback = native.makeCallback(
        ["ptr", "ptr", "ptr", "ptr", "u32", "ptr"],
        "i32",
        (_ssl: Pointer, out: Pointer, outlen: Pointer, client: Pointer, clientLen: number): number => {
          try {
            const server = state.alpn;
            if (server === null) return SSL_TLSEXT_ERR_NOACK;
            const r = o.ssl.SSL_select_next_proto(out, outlen, server, server.byteLength, client, clientLen);
            return r === OPENSSL_NPN_NEGOTIATED ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
          } catch {
            // Never let a JavaScript exception unwind through OpenSSL.
            return SSL_TLSEXT_ERR_NOACK;
          }
        },
      );
      o.ssl.SSL_CTX_set_alpn_select_cb(this._ctx, state.alpnCallback.pointer, null);
    }
  }

  /** Restrict the TLS 1.2-and-below cipher suites (OpenSSL's cipher list syntax). */
  setCiphers(ciphers: string): void {
    if (typeof ciphers !== "string") throw new TypeError(`ciphers must be a string, got ${formatValue(ciphers)}`);
    const o = openssl();
    if (o.ssl.SSL_CTX_set_cipher_list(this._ctx, cstr(ciphers, "ciphers")) !== 1) {
      drainErrors(o);
      throw new SSLError(1, "No cipher can be selected.");
    }
  }

  /** @internal a connection of this context over two fresh memory BIOs (Python's `wrap_bio`) */
  _wrap(serverSide: boolean, serverHostname: string | null): SSLObject {
    return new SSLObject(this, serverSide, serverHostname);
  }
}

function checkPurpose(purpose: unknown): void {
  if (purpose !== Purpose.SERVER_AUTH && purpose !== Purpose.CLIENT_AUTH) {
    throw new TypeError(`purpose must be Purpose.SERVER_AUTH or Purpose.CLIENT_AUTH, got ${formatValue(purpose)}`);
  }
}

/** The password as NUL-terminated bytes in an explicit ArrayBuffer (empty when none is given). */
function passwordBytes(password: unknown): Uint8Array {
  let p = password;
  if (typeof p === "function") p = p();
  let bytes: Uint8Array;
  if (p === null || p === undefined) bytes = new Uint8Array(0);
  else if (typeof p === "string") bytes = encoder.encode(p);
  else if (ArrayBuffer.isView(p)) bytes = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
  else throw new TypeError(`password should be a string or bytes, or a function returning one, got ${formatValue(p)}`);
  // PEM_BUFSIZE: OpenSSL reads at most this much of a password.
  if (bytes.length > 1024) throw new ValueError("password cannot be longer than 1024 bytes");
  const out = new Uint8Array(new ArrayBuffer(bytes.length + 1));
  out.set(bytes);
  return out;
}

/**
 * A context with Python's secure defaults for `purpose`: for
 * `Purpose.SERVER_AUTH` (the default) a client context that verifies the
 * server's certificate and hostname against `cafile`/`capath`/`cadata`,
 * or the system's CAs when none is given; for `Purpose.CLIENT_AUTH` a
 * server context.
 *
 * @example
 * ```ts
 * import { createDefaultContext, newEventLoop, Protocol } from "tsyncio";
 *
 * const loop = newEventLoop();
 * const ctx = createDefaultContext(); // verifies against the system's CAs
 * const [transport] = await loop.runUntilComplete(
 *   loop.createConnection(() => new Protocol(), "example.com", 443, { ssl: ctx }),
 * );
 * console.log(transport.getExtraInfo("cipher"));
 * transport.abort();
 * loop.close();
 * ```
 */
export function createDefaultContext(
  purpose: Purpose = Purpose.SERVER_AUTH,
  options: { cafile?: string | null; capath?: string | null; cadata?: string | ArrayBufferView | null } = {},
): SSLContext {
  checkPurpose(purpose);
  const ctx = new SSLContext(purpose === Purpose.SERVER_AUTH ? PROTOCOL_TLS_CLIENT : PROTOCOL_TLS_SERVER);
  const { cafile = null, capath = null, cadata = null } = options;
  if (cafile != null || capath != null || cadata != null) ctx.loadVerifyLocations(cafile, capath, cadata);
  else if (ctx.verifyMode !== CERT_NONE) ctx.loadDefaultCerts(purpose);
  return ctx;
}

// ---- SSLObject ----

const sslFinalizer = new FinalizationRegistry<Pointer>((ssl) => {
  lib?.ssl.SSL_free(ssl);
  live.ssl--;
  live.bio -= 2;
});

const oidNames = new Map<string, string>();

/** OpenSSL's long name for a dotted OID ("2.5.4.3" → "commonName"), or the OID itself. */
function oidName(oid: string): string {
  const known = oidNames.get(oid);
  if (known !== undefined) return known;
  const o = openssl();
  const nid = o.crypto.OBJ_txt2nid(cstr(oid, "oid"));
  const name: string = (nid !== 0 && o.crypto.OBJ_nid2ln(nid)) || oid;
  drainErrors(o);
  oidNames.set(oid, name);
  return name;
}

/**
 * One TLS connection (Python's `ssl.SSLObject`), available as the
 * `ssl_object` extra info of a TLS transport. Its details are read once the
 * handshake completes and stay readable after the connection is gone.
 */
export class SSLObject {
  /** The context the connection was made from (Python's `SSLObject.context`). */
  readonly context: SSLContext;
  /** True on the accepting side (Python's `SSLObject.server_side`). */
  readonly serverSide: boolean;
  /** The name the client asked for (SNI) and verifies; null on servers. */
  readonly serverHostname: string | null;
  #o: OpenSSL;
  #ssl: Pointer | null;
  #rbio: Pointer;
  #wbio: Pointer;
  #done = false;
  #version: string | null = null;
  #cipher: [string, string, number] | null = null;
  #alpn: string | null = null;
  #peerDer: Uint8Array | null = null;
  #peerCert: PeerCertificate | null = null;

  /** @internal made by SSLContext._wrap */
  constructor(context: SSLContext, serverSide: boolean, serverHostname: string | null) {
    if (serverSide && serverHostname) throw new ValueError("serverHostname can only be specified in client mode");
    if (serverHostname !== null && (serverHostname === "" || serverHostname.startsWith("."))) {
      throw new ValueError("serverHostname cannot be an empty string or start with a leading dot.");
    }
    if (!serverSide && context.checkHostname && !serverHostname) throw new ValueError("checkHostname requires serverHostname");
    const o = openssl();
    this.#o = o;
    this.context = context;
    this.serverSide = serverSide;
    this.serverHostname = serverHostname;
    o.crypto.ERR_clear_error();
    const ssl = o.ssl.SSL_new(context._ctx);
    if (native.isNull(ssl)) throw queueError();
    this.#ssl = ssl;
    sslFinalizer.register(this, ssl, this);
    this.#rbio = o.crypto.BIO_new(o.memMethod);
    this.#wbio = o.crypto.BIO_new(o.memMethod);
    live.ssl++;
    live.bio += 2;
    // An empty memory BIO means "retry later", not end of stream.
    o.crypto.BIO_ctrl(this.#rbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, null);
    o.crypto.BIO_ctrl(this.#wbio, BIO_C_SET_BUF_MEM_EOF_RETURN, -1, null);
    // The SSL owns both BIOs from here on: SSL_free frees them.
    o.ssl.SSL_set_bio(ssl, this.#rbio, this.#wbio);
    if (serverSide) {
      o.ssl.SSL_set_accept_state(ssl);
      return;
    }
    o.ssl.SSL_set_connect_state(ssl);
    if (serverHostname === null) return;
    const name = cstr(serverHostname, "serverHostname");
    const ip = parseNumericAddress(serverHostname) !== null && !serverHostname.includes("%");
    // SNI carries host names only, never addresses (RFC 6066 §3).
    if (!ip) o.ssl.SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, name);
    if (context.checkHostname) {
      const param = o.ssl.SSL_get0_param(ssl);
      o.crypto.X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      const ok = ip ? o.crypto.X509_VERIFY_PARAM_set1_ip_asc(param, name) : o.ssl.SSL_set1_host(ssl, name);
      if (ok !== 1) {
        this._free();
        throw queueError(undefined, `invalid serverHostname ${formatValue(serverHostname)}`);
      }
    }
  }

  /** A short description for logs: the side and the server name. */
  toString(): string {
    return `<SSLObject ${this.serverSide ? "server" : "client"}${this.serverHostname ? ` ${this.serverHostname}` : ""}>`;
  }

  /**
   * The peer's certificate: Python's dictionary (subject, issuer, version,
   * serialNumber, notBefore, notAfter, subjectAltName, ...), `{}` when it
   * was not verified (CERT_NONE), null when the peer sent none; with
   * `binaryForm`, its DER bytes. ValueError before the handshake is done.
   */
  getpeercert(binaryForm?: false): PeerCertificate | Record<string, never> | null;
  /** The peer's certificate as DER bytes, null when it sent none; ValueError before the handshake is done. */
  getpeercert(binaryForm: true): Uint8Array | null;
  getpeercert(binaryForm = false): PeerCertificate | Record<string, never> | Uint8Array | null {
    if (!this.#done) throw new ValueError("handshake not done yet");
    if (this.#peerDer === null) return null;
    if (binaryForm) return this.#peerDer.slice();
    if (this.context.verifyMode === CERT_NONE) return {};
    return (this.#peerCert ??= decodeCertificate(this.#peerDer, oidName));
  }

  /** [name, protocol version, secret bits] of the negotiated cipher, or null before the handshake. */
  cipher(): [string, string, number] | null {
    return this.#cipher ? [...this.#cipher] : null;
  }

  /** The negotiated protocol ("TLSv1.3"), or null before the handshake. */
  version(): string | null {
    return this.#version;
  }

  /** The compression in use: always null (OpenSSL builds have none, and it is off). */
  compression(): string | null {
    return null;
  }

  /** The protocol chosen with ALPN, or null when none was. */
  selectedAlpnProtocol(): string | null {
    return this.#alpn;
  }

  /** Decrypted bytes buffered inside OpenSSL, ready to read. */
  pending(): number {
    return this.#ssl === null ? 0 : this.#o.ssl.SSL_pending(this.#ssl);
  }

  // ---- the connection, driven by sslproto.ts (not public) ----

  /** @internal append `n` bytes of `buf` received from the peer */
  _feed(buf: Uint8Array, n: number): void {
    if (this.#ssl !== null) this.#o.crypto.BIO_write(this.#rbio, buf, n);
  }

  /** @internal received bytes not yet decrypted */
  _pendingIn(): number {
    return this.#ssl === null ? 0 : this.#o.crypto.BIO_ctrl_pending(this.#rbio);
  }

  /** @internal encrypted bytes waiting to be sent */
  _pendingOut(): number {
    return this.#ssl === null ? 0 : this.#o.crypto.BIO_ctrl_pending(this.#wbio);
  }

  /** @internal move encrypted bytes for the peer into `buf`: how many (≤ 0 when there are none) */
  _drainOut(buf: Uint8Array): number {
    return this.#ssl === null ? 0 : this.#o.crypto.BIO_read(this.#wbio, buf, buf.byteLength);
  }

  /** @internal one handshake step: true once complete, false while it needs the peer; throws on failure */
  _handshake(): boolean {
    const ssl = this.#ssl;
    if (ssl === null) throw new ValueError("the TLS connection is closed");
    const o = this.#o;
    o.crypto.ERR_clear_error();
    const r = o.ssl.SSL_do_handshake(ssl);
    if (r === 1) {
      this.#handshakeDone(ssl);
      return true;
    }
    const err = o.ssl.SSL_get_error(ssl, r);
    if (err === SSL_ERROR_WANT_READ || err === SSL_ERROR_WANT_WRITE) return false;
    throw this.#error(ssl, err);
  }

  #handshakeDone(ssl: Pointer): void {
    const o = this.#o;
    this.#done = true;
    this.#version = o.ssl.SSL_get_version(ssl) || null;
    const c = o.ssl.SSL_get_current_cipher(ssl);
    if (!native.isNull(c)) {
      this.#cipher = [o.ssl.SSL_CIPHER_get_name(c), o.ssl.SSL_CIPHER_get_version(c), o.ssl.SSL_CIPHER_get_bits(c, null)];
    }
    const out = new Uint8Array(new ArrayBuffer(12));
    o.ssl.SSL_get0_alpn_selected(ssl, out.subarray(0, 8), out.subarray(8, 12));
    const alpnLen = new DataView(out.buffer).getUint32(8, true);
    if (alpnLen > 0) this.#alpn = latin1.decode(native.readBytes(native.pointerFromBuffer(out, 0), 0, alpnLen));
    const x = o.getPeerCertificate(ssl);
    if (native.isNull(x)) return;
    try {
      const len = o.crypto.i2d_X509(x, null);
      if (len <= 0) return;
      // i2d writes through `unsigned char **` and advances it: hand it the address of our buffer.
      const der = new Uint8Array(new ArrayBuffer(len));
      const pp = new Uint8Array(new ArrayBuffer(8));
      new DataView(pp.buffer).setBigUint64(0, native.addressOf(der), true);
      if (o.crypto.i2d_X509(x, pp) === len) this.#peerDer = der;
    } finally {
      o.crypto.X509_free(x);
    }
  }

  /**
   * @internal decrypt into `buf[offset, offset + len)`: bytes read, 0 at
   * the peer's close_notify, -1 when more bytes from the peer are needed
   */
  _read(buf: Uint8Array, offset: number, len: number): number {
    const ssl = this.#ssl;
    if (ssl === null) return -1;
    const o = this.#o;
    const n = o.ssl.SSL_read(ssl, offset === 0 ? buf : buf.subarray(offset), len);
    if (n > 0) return n;
    const err = o.ssl.SSL_get_error(ssl, n);
    if (err === SSL_ERROR_WANT_READ || err === SSL_ERROR_WANT_WRITE) return -1;
    if (err === SSL_ERROR_ZERO_RETURN) return 0;
    throw this.#error(ssl, err);
  }

  /** @internal encrypt all of `data`: its length, or -1 when OpenSSL must hear from the peer first */
  _write(data: Uint8Array): number {
    const ssl = this.#ssl;
    if (ssl === null) return -1;
    const o = this.#o;
    const n = o.ssl.SSL_write(ssl, data, data.byteLength);
    if (n > 0) return n;
    const err = o.ssl.SSL_get_error(ssl, n);
    if (err === SSL_ERROR_WANT_READ || err === SSL_ERROR_WANT_WRITE) return -1;
    throw this.#error(ssl, err);
  }

  /**
   * @internal one step of the closing handshake (Python's `unwrap`): true
   * when done, false while the peer's close_notify is awaited
   */
  _shutdown(): boolean {
    const ssl = this.#ssl;
    if (ssl === null) return true;
    const o = this.#o;
    o.crypto.ERR_clear_error();
    let r = o.ssl.SSL_shutdown(ssl);
    // 0: our close_notify is written; a second call looks for the peer's (as Python does).
    if (r === 0) r = o.ssl.SSL_shutdown(ssl);
    if (r >= 0) return true;
    const err = o.ssl.SSL_get_error(ssl, r);
    if (err === SSL_ERROR_WANT_READ || err === SSL_ERROR_WANT_WRITE) return false;
    throw this.#error(ssl, err);
  }

  /** @internal free the OpenSSL connection (its BIOs with it); what was learned stays readable */
  _free(): void {
    if (this.#ssl === null) return;
    sslFinalizer.unregister(this);
    this.#o.ssl.SSL_free(this.#ssl);
    this.#ssl = null;
    live.ssl--;
    live.bio -= 2;
  }

  /** The exception Python raises for SSL_get_error's `err`. */
  #error(ssl: Pointer, err: number): Error {
    const o = this.#o;
    switch (err) {
      case SSL_ERROR_ZERO_RETURN:
        return new SSLZeroReturnError(6, "TLS/SSL connection has been closed (EOF)");
      case SSL_ERROR_WANT_READ:
        return new SSLWantReadError(2, "The operation did not complete (read)");
      case SSL_ERROR_WANT_WRITE:
        return new SSLWantWriteError(3, "The operation did not complete (write)");
      case SSL_ERROR_SYSCALL: {
        const codes = drainErrors(o);
        const e = codes[codes.length - 1];
        // Memory BIOs make no system calls: an empty queue means the stream ended early.
        if (!e) return new SSLEOFError(8, "EOF occurred in violation of protocol");
        if (errLib(o, e) === ERR_LIB_SYS) return OSError.fromErrno(errReason(o, e));
        return describe(o, 5, e, "Some I/O error occurred", SSLSyscallError);
      }
    }
    const codes = drainErrors(o);
    const e = codes[codes.length - 1];
    if (e && errLib(o, e) === ERR_LIB_SSL) {
      const reason = errReason(o, e);
      if (o.v3 && reason === SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return new SSLEOFError(8, "EOF occurred in violation of protocol", "SSL", "UNEXPECTED_EOF_WHILE_READING");
      }
      if (reason === SSL_R_CERTIFICATE_VERIFY_FAILED) {
        const code = o.ssl.SSL_get_verify_result(ssl);
        let text: string;
        if (code === X509_V_ERR_HOSTNAME_MISMATCH) {
          text = `Hostname mismatch, certificate is not valid for '${this.serverHostname}'.`;
        } else if (code === X509_V_ERR_IP_ADDRESS_MISMATCH) {
          text = `IP address mismatch, certificate is not valid for '${this.serverHostname}'.`;
        } else {
          text = o.crypto.X509_verify_cert_error_string(code);
        }
        return new SSLCertVerificationError(`[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: ${text}`, code, text);
      }
    }
    return describe(o, 1, e, "A failure in the SSL library occurred");
  }
}
