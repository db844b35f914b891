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
  SSL_CTRL_SESS_ACCEPT,
  SSL_CTRL_SESS_ACCEPT_GOOD,
  SSL_CTRL_SESS_ACCEPT_RENEGOTIATE,
  SSL_CTRL_SESS_CACHE_FULL,
  SSL_CTRL_SESS_CONNECT,
  SSL_CTRL_SESS_CONNECT_GOOD,
  SSL_CTRL_SESS_CONNECT_RENEGOTIATE,
  SSL_CTRL_SESS_HIT,
  SSL_CTRL_SESS_MISSES,
  SSL_CTRL_SESS_NUMBER,
  SSL_CTRL_SESS_TIMEOUTS,
  SSL_OP_ALL,
  SSL_OP_CIPHER_SERVER_PREFERENCE,
  SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS,
  SSL_OP_ENABLE_KTLS,
  SSL_OP_ENABLE_MIDDLEBOX_COMPAT,
  SSL_OP_IGNORE_UNEXPECTED_EOF,
  SSL_OP_LEGACY_SERVER_CONNECT,
  SSL_OP_NO_COMPRESSION,
  SSL_OP_NO_RENEGOTIATION,
  SSL_OP_NO_SSLv3,
  SSL_OP_NO_TICKET,
  SSL_OP_NO_TLSv1,
  SSL_OP_NO_TLSv1_1,
  SSL_OP_NO_TLSv1_2,
  SSL_OP_NO_TLSv1_3,
  SSL_R_CERTIFICATE_VERIFY_FAILED,
  SSL_CTRL_SET_TLSEXT_SERVERNAME_CB,
  SSL_TLSEXT_ERR_ALERT_FATAL,
  SSL_TLSEXT_ERR_NOACK,
  SSL_TLSEXT_ERR_OK,
  SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
  SSL_VERIFY_NONE,
  SSL_VERIFY_PEER,
  SSL_VERIFY_POST_HANDSHAKE,
  SSL_CTRL_SET_GROUPS,
  BIO_CTRL_FLUSH,
  BIO_C_FILE_TELL,
  TLSEXT_NAMETYPE_host_name,
  X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
  X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
  X509_LU_CRL,
  X509_LU_X509,
  X509_V_ERR_HOSTNAME_MISMATCH,
  X509_V_ERR_IP_ADDRESS_MISMATCH,
} from "../ffi/openssl.ts";
import type { Bound, NativeCallback, Pointer } from "../ffi/types.ts";
import { decodeCertificate, type PeerCertificate } from "./x509.ts";
import { parseNumericAddress } from "./sockaddr.ts";
import { formatValue } from "./format.ts";
import { isDetached } from "./socket.ts";

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

// Options (Python's `ssl.OP_*`, OpenSSL 3's values): bits of `SSLContext.options`.
/** OpenSSL's workarounds for peers' bugs (SSL_OP_ALL without DONT_INSERT_EMPTY_FRAGMENTS, as Python); set by default. */
export const OP_ALL: number = (SSL_OP_ALL & ~SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS) >>> 0;
/** No SSLv2: 0, OpenSSL has no SSLv2 any more (kept for Python compatibility). */
export const OP_NO_SSLv2 = 0;
/** No SSLv3 (set by default). Deprecated in Python: use `minimumVersion`. */
export const OP_NO_SSLv3: number = SSL_OP_NO_SSLv3;
/** No TLS 1.0. Deprecated in Python: use `minimumVersion`. */
export const OP_NO_TLSv1: number = SSL_OP_NO_TLSv1;
/** No TLS 1.1. Deprecated in Python: use `minimumVersion`. */
export const OP_NO_TLSv1_1: number = SSL_OP_NO_TLSv1_1;
/** No TLS 1.2. Deprecated in Python: use `maximumVersion`/`minimumVersion`. */
export const OP_NO_TLSv1_2: number = SSL_OP_NO_TLSv1_2;
/** No TLS 1.3. Deprecated in Python: use `maximumVersion`. */
export const OP_NO_TLSv1_3: number = SSL_OP_NO_TLSv1_3;
/** Refuse every renegotiation (TLS 1.2 and below): the peer's request is answered with a no_renegotiation alert. Not set by default. */
export const OP_NO_RENEGOTIATION: number = SSL_OP_NO_RENEGOTIATION;
/** Issue (server) or ask for (client) no session tickets: TLS 1.2 resumption falls back to session ids. */
export const OP_NO_TICKET: number = SSL_OP_NO_TICKET;
/** The server chooses the cipher by its own preference rather than the client's (set by default). */
export const OP_CIPHER_SERVER_PREFERENCE: number = SSL_OP_CIPHER_SERVER_PREFERENCE;
/** TLS 1.3 handshakes look like TLS 1.2 resumptions to middleboxes (OpenSSL's default, so set). */
export const OP_ENABLE_MIDDLEBOX_COMPAT: number = SSL_OP_ENABLE_MIDDLEBOX_COMPAT;
/** A peer closing TCP without close_notify is a clean EOF for OpenSSL. */
export const OP_IGNORE_UNEXPECTED_EOF: number = SSL_OP_IGNORE_UNEXPECTED_EOF;
/** No TLS compression (set by default; OpenSSL builds have none anyway). */
export const OP_NO_COMPRESSION: number = SSL_OP_NO_COMPRESSION;
/** Fresh DH keys per handshake: 0, OpenSSL always does (kept for Python compatibility). */
export const OP_SINGLE_DH_USE = 0;
/** Fresh ECDH keys per handshake: 0, OpenSSL always does (kept for Python compatibility). */
export const OP_SINGLE_ECDH_USE = 0;
/** Connect to servers that lack RFC 5746 secure renegotiation. */
export const OP_LEGACY_SERVER_CONNECT: number = SSL_OP_LEGACY_SERVER_CONNECT;
/** Kernel TLS offload where OpenSSL and the kernel support it (our memory BIOs never use it). */
export const OP_ENABLE_KTLS: number = SSL_OP_ENABLE_KTLS;

// Certificate verification flags (Python's `ssl.VERIFY_*`, OpenSSL's X509_V_FLAG_*): bits of `SSLContext.verifyFlags`.
/** No extra checks. */
export const VERIFY_DEFAULT = 0;
/** Check the peer's certificate against a CRL of its issuer, which must be loaded (loadVerifyLocations). */
export const VERIFY_CRL_CHECK_LEAF = 0x4;
/** Check every certificate of the chain against CRLs. */
export const VERIFY_CRL_CHECK_CHAIN = 0xc;
/** Reject certificates that break RFC 5280 (set by createDefaultContext, as Python 3.13). */
export const VERIFY_X509_STRICT = 0x20;
/** Accept proxy certificates (RFC 3820). */
export const VERIFY_ALLOW_PROXY_CERTS = 0x40;
/** Prefer trusted certificates when building the chain (set on every context, as Python). */
export const VERIFY_X509_TRUSTED_FIRST = 0x8000;
/** Trust an intermediate CA in the trust store as an anchor (set by createDefaultContext, as Python 3.13). */
export const VERIFY_X509_PARTIAL_CHAIN = 0x80000;

// TLS alert descriptions (Python's `ssl.ALERT_DESCRIPTION_*`, RFC 8446 §6): what an `sniCallback` returns to abort the handshake.
/** close_notify (0). */
export const ALERT_DESCRIPTION_CLOSE_NOTIFY = 0;
/** unexpected_message (10). */
export const ALERT_DESCRIPTION_UNEXPECTED_MESSAGE = 10;
/** bad_record_mac (20). */
export const ALERT_DESCRIPTION_BAD_RECORD_MAC = 20;
/** record_overflow (22). */
export const ALERT_DESCRIPTION_RECORD_OVERFLOW = 22;
/** decompression_failure (30). */
export const ALERT_DESCRIPTION_DECOMPRESSION_FAILURE = 30;
/** handshake_failure (40): no acceptable set of parameters; also what the handshake is aborted with when an `sniCallback` throws (as Python). */
export const ALERT_DESCRIPTION_HANDSHAKE_FAILURE = 40;
/** bad_certificate (42). */
export const ALERT_DESCRIPTION_BAD_CERTIFICATE = 42;
/** unsupported_certificate (43). */
export const ALERT_DESCRIPTION_UNSUPPORTED_CERTIFICATE = 43;
/** certificate_revoked (44). */
export const ALERT_DESCRIPTION_CERTIFICATE_REVOKED = 44;
/** certificate_expired (45). */
export const ALERT_DESCRIPTION_CERTIFICATE_EXPIRED = 45;
/** certificate_unknown (46). */
export const ALERT_DESCRIPTION_CERTIFICATE_UNKNOWN = 46;
/** illegal_parameter (47). */
export const ALERT_DESCRIPTION_ILLEGAL_PARAMETER = 47;
/** unknown_ca (48). */
export const ALERT_DESCRIPTION_UNKNOWN_CA = 48;
/** access_denied (49): the peer is not allowed in. */
export const ALERT_DESCRIPTION_ACCESS_DENIED = 49;
/** decode_error (50). */
export const ALERT_DESCRIPTION_DECODE_ERROR = 50;
/** decrypt_error (51). */
export const ALERT_DESCRIPTION_DECRYPT_ERROR = 51;
/** protocol_version (70). */
export const ALERT_DESCRIPTION_PROTOCOL_VERSION = 70;
/** insufficient_security (71). */
export const ALERT_DESCRIPTION_INSUFFICIENT_SECURITY = 71;
/** internal_error (80): what the handshake is aborted with when an `sniCallback` returns neither null nor an alert number (as Python). */
export const ALERT_DESCRIPTION_INTERNAL_ERROR = 80;
/** user_canceled (90). */
export const ALERT_DESCRIPTION_USER_CANCELLED = 90;
/** no_renegotiation (100). */
export const ALERT_DESCRIPTION_NO_RENEGOTIATION = 100;
/** unsupported_extension (110). */
export const ALERT_DESCRIPTION_UNSUPPORTED_EXTENSION = 110;
/** certificate_unobtainable (111). */
export const ALERT_DESCRIPTION_CERTIFICATE_UNOBTAINABLE = 111;
/** unrecognized_name (112): the server has no certificate for the name the client asked for. */
export const ALERT_DESCRIPTION_UNRECOGNIZED_NAME = 112;
/** bad_certificate_status_response (113). */
export const ALERT_DESCRIPTION_BAD_CERTIFICATE_STATUS_RESPONSE = 113;
/** bad_certificate_hash_value (114). */
export const ALERT_DESCRIPTION_BAD_CERTIFICATE_HASH_VALUE = 114;
/** unknown_psk_identity (115). */
export const ALERT_DESCRIPTION_UNKNOWN_PSK_IDENTITY = 115;

/**
 * A server's SNI callback (Python's `SSLContext.sni_callback`): called once
 * the client's hello is known, before the certificate is chosen, with the
 * connection, the name the client asked for (null when it sent none) and
 * the context the callback belongs to. It may switch certificates by
 * setting `sslObject.context` to another server context. Return null or
 * undefined to go on, or an `ALERT_DESCRIPTION_*` number to abort the
 * handshake with that alert. If it throws, the handshake is aborted with
 * a handshake_failure alert (internal_error for a return value that is
 * neither, as Python) and the exception goes to the loop's exception
 * handler.
 */
export type SNICallback = (sslObject: SSLObject, serverName: string | null, context: SSLContext) => number | null | undefined | void;

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

// ---- 64-bit integers (options, verification flags) ----

/** An unsigned 64-bit value from an `i64` result (a number or a BigInt, depending on the host). */
function u64(v: number | bigint): bigint {
  return BigInt.asUintN(64, BigInt(v));
}

/** A 64-bit value for an `i64` parameter: a number when it is exact, else a signed BigInt. */
function i64Arg(v: bigint): number | bigint {
  const s = BigInt.asIntN(64, v);
  return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
}

/** An unsigned 64-bit number (or BigInt) given by the user, as a BigInt. */
function checkBits(v: unknown, what: string): bigint {
  let b: bigint;
  if (typeof v === "bigint") b = v;
  else if (typeof v === "number" && Number.isInteger(v)) b = BigInt(v);
  else throw new TypeError(`${what} must be an integer, got ${formatValue(v)}`);
  if (b < 0n) {
    throw new ValueError(
      `${what} must not be negative, got ${v} (JavaScript's | and ~ give signed 32-bit numbers: write (a | b) >>> 0, or use BigInt)`,
    );
  }
  if (b >= 1n << 64n) throw new ValueError(`${what} does not fit in 64 bits: ${v}`);
  return b;
}

/** A bit set read from OpenSSL as a number: exact up to 2^53 (OpenSSL defines no bit above 35). */
function bitsNumber(b: bigint): number {
  return Number(b);
}

/** What every context sets with SSL_CTX_set_session_id_context. */
const SESSION_ID_CONTEXT = new Uint8Array(new ArrayBuffer(7));
SESSION_ID_CONTEXT.set(encoder.encode("tsyncio"));

/** Python's `SSLContext.session_stats()` in camelCase: the session cache counters. */
export interface SessionStats {
  /** Sessions in the (server's) cache. */
  number: number;
  /** Handshakes started as a client. */
  connect: number;
  /** Handshakes completed as a client. */
  connectGood: number;
  /** Renegotiations started as a client. */
  connectRenegotiate: number;
  /** Handshakes started as a server. */
  accept: number;
  /** Handshakes completed as a server. */
  acceptGood: number;
  /** Renegotiations started as a server. */
  acceptRenegotiate: number;
  /** Sessions resumed from the server's cache. */
  hits: number;
  /** Sessions a client proposed that the server's cache did not have. */
  misses: number;
  /** Proposed sessions that had expired. */
  timeouts: number;
  /** Sessions dropped because the cache was full. */
  cacheFull: number;
}

/** One cipher of {@link SSLContext.getCiphers} (Python's dictionary, keys in camelCase). */
export interface CipherInfo {
  /** OpenSSL's cipher id (the protocol's two-byte code plus 0x03000000). */
  id: number;
  /** OpenSSL's name ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_AES_256_GCM_SHA384"). */
  name: string;
  /** The protocol version that introduced it ("TLSv1.2", "TLSv1.3"). */
  protocol: string;
  /** OpenSSL's one-line description (key exchange, authentication, encryption, MAC). */
  description: string;
  /** Secret bits of the cipher's strength. */
  strengthBits: number;
  /** Bits the algorithm itself uses. */
  algBits: number;
  /** Whether it is an AEAD cipher (GCM, ChaCha20-Poly1305). */
  aead: boolean;
  /** The long name of its symmetric cipher ("aes-128-gcm"). */
  symmetric: string | null;
  /** The long name of its MAC digest; null for AEAD ciphers. */
  digest: string | null;
  /** The long name of its key exchange ("kx-ecdhe", "kx-any"). */
  kea: string | null;
  /** The long name of its authentication ("auth-ecdsa", "auth-any"). */
  auth: string | null;
}

/** Python's `SSLContext.cert_store_stats()` in camelCase: what the trust store holds. */
export interface CertStoreStats {
  /** Certificates (CAs and others). */
  x509: number;
  /** Certificate revocation lists. */
  crl: number;
  /** Certificates that are CAs. */
  x509Ca: number;
}

// ---- SSLContext ----

/** What a context's finalizer frees: it must not refer to the context itself. */
interface ContextState {
  ctx: Pointer;
  /** The ALPN list in wire format, read by the server's selection callback. */
  alpn: Uint8Array | null;
  alpnCallback: NativeCallback | null;
  /** The C servername callback that runs the context's `sniCallback`. */
  sniCallback: NativeCallback | null;
  /** The key log file (a file BIO opened for appending) and the C callback that writes to it. */
  keylogBio: Pointer | null;
  keylogCallback: NativeCallback | null;
}

/** How many OpenSSL objects we made and have not freed yet (see {@link _liveSslObjects}). */
const live = { ctx: 0, ssl: 0, bio: 0, session: 0 };

/**
 * @internal debugging: the OpenSSL objects alive now, made here and not yet
 * freed: SSL_CTX (freed when its SSLContext is collected), SSL and BIO
 * (freed when a connection ends), SSL_SESSION references (freed when their
 * SSLSession is collected). The tests check that no connection leaks one.
 */
export function _liveSslObjects(): { ctx: number; ssl: number; bio: number; session: number } {
  return { ...live };
}

const contextFinalizer = new FinalizationRegistry<ContextState>((state) => {
  // Connections up-ref the SSL_CTX, so freeing our reference never pulls it from under one.
  lib?.ssl.SSL_CTX_free(state.ctx);
  live.ctx--;
  state.alpnCallback?.close();
  state.sniCallback?.close();
  if (state.keylogBio !== null) lib?.crypto.BIO_free(state.keylogBio);
  state.keylogCallback?.close();
});

/**
 * The connection inside SSL_do_handshake/SSL_read right now: the servername
 * callback runs synchronously inside those calls, and tells its SSLObject
 * by this (pointers are opaque, so the SSL* it gets cannot be looked up).
 */
let activeObject: SSLObject | null = null;

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
  #sniCallback: SNICallback | null = null;
  #keylogFilename: string | null = null;
  #postHandshakeAuth = false;
  #checkCommonName = true;

  /**
   * A context with Python's defaults for `protocol`: `options` OP_ALL,
   * OP_NO_SSLv3, OP_NO_COMPRESSION, OP_CIPHER_SERVER_PREFERENCE and
   * OP_ENABLE_MIDDLEBOX_COMPAT; `verifyFlags` VERIFY_X509_TRUSTED_FIRST;
   * TLS 1.2 at least and Python's cipher list.
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
    this.#state = { ctx, alpn: null, alpnCallback: null, sniCallback: null, keylogBio: null, keylogCallback: null };
    contextFinalizer.register(this, this.#state);
    // Python's defaults on top of OpenSSL's own (middlebox compatibility): bug workarounds,
    // no SSLv3, no compression, the server's cipher order (0x82520050 with OpenSSL 3);
    // TLS 1.2 at least, its cipher list, and trusted certificates first in chains.
    // (BigInt: JavaScript's | is 32-bit signed, and the options are 64-bit.)
    const v1 = o.v3 ? 0n : BigInt(SSL_OP_LEGACY_SERVER_CONNECT);
    o.ssl.SSL_CTX_set_options(ctx, i64Arg(BigInt(OP_ALL) | v1 | BigInt(OP_NO_SSLv3 | OP_NO_COMPRESSION | OP_CIPHER_SERVER_PREFERENCE)));
    o.crypto.X509_VERIFY_PARAM_set_flags(o.ssl.SSL_CTX_get0_param(ctx), VERIFY_X509_TRUSTED_FIRST);
    // Sessions a server caches belong to this context (without it, resuming fails once
    // client certificates are asked for).
    o.ssl.SSL_CTX_set_session_id_context(ctx, SESSION_ID_CONTEXT, SESSION_ID_CONTEXT.byteLength);
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

  /**
   * The OpenSSL options in force (Python's `SSLContext.options`): OP_* bits.
   * Python's defaults: OP_ALL | OP_NO_SSLv3 | OP_NO_COMPRESSION |
   * OP_CIPHER_SERVER_PREFERENCE | OP_ENABLE_MIDDLEBOX_COMPAT (0x82520050).
   * Setting replaces the whole set: bits not given are cleared. A number or
   * a BigInt (options are 64-bit); unknown bits are passed to OpenSSL as
   * Python does. A negative number is a ValueError: JavaScript's `|` gives
   * signed 32-bit numbers, so write `(ctx.options | OP_NO_TICKET) >>> 0` or
   * use BigInt. Read back as a number, exact up to 2^53.
   */
  get options(): number {
    return bitsNumber(u64(openssl().ssl.SSL_CTX_get_options(this._ctx)));
  }

  set options(value: number | bigint) {
    const want = checkBits(value, "options");
    const o = openssl();
    const have = u64(o.ssl.SSL_CTX_get_options(this._ctx));
    const clear = have & ~want, set = want & ~have;
    if (clear !== 0n) o.ssl.SSL_CTX_clear_options(this._ctx, i64Arg(clear));
    if (set !== 0n) o.ssl.SSL_CTX_set_options(this._ctx, i64Arg(set));
  }

  /**
   * Certificate verification flags (Python's `SSLContext.verify_flags`):
   * VERIFY_* bits. VERIFY_X509_TRUSTED_FIRST by default;
   * {@link createDefaultContext} adds VERIFY_X509_PARTIAL_CHAIN and
   * VERIFY_X509_STRICT (as Python 3.13). Setting replaces the whole set; a
   * number or a BigInt, never negative.
   */
  get verifyFlags(): number {
    const o = openssl();
    return bitsNumber(u64(o.crypto.X509_VERIFY_PARAM_get_flags(o.ssl.SSL_CTX_get0_param(this._ctx))));
  }

  set verifyFlags(value: number | bigint) {
    const want = checkBits(value, "verifyFlags");
    const o = openssl();
    const param = o.ssl.SSL_CTX_get0_param(this._ctx);
    const have = u64(o.crypto.X509_VERIFY_PARAM_get_flags(param));
    const clear = have & ~want, set = want & ~have;
    o.crypto.ERR_clear_error();
    if (clear !== 0n && o.crypto.X509_VERIFY_PARAM_clear_flags(param, i64Arg(clear)) !== 1) throw queueError();
    if (set !== 0n && o.crypto.X509_VERIFY_PARAM_set_flags(param, i64Arg(set)) !== 1) throw queueError();
  }

  /** OpenSSL's security level for this context (Python's `SSLContext.security_level`): 2 with Python's cipher list. */
  get securityLevel(): number {
    return openssl().ssl.SSL_CTX_get_security_level(this._ctx);
  }

  /**
   * The session cache counters (Python's `SSLContext.session_stats()`, in
   * camelCase): handshakes started and completed on each side,
   * renegotiations, and the server's cache hits and misses.
   */
  sessionStats(): SessionStats {
    const ssl = openssl().ssl;
    const get = (cmd: number): number => ssl.SSL_CTX_ctrl(this._ctx, cmd, 0, null);
    return {
      number: get(SSL_CTRL_SESS_NUMBER),
      connect: get(SSL_CTRL_SESS_CONNECT),
      connectGood: get(SSL_CTRL_SESS_CONNECT_GOOD),
      connectRenegotiate: get(SSL_CTRL_SESS_CONNECT_RENEGOTIATE),
      accept: get(SSL_CTRL_SESS_ACCEPT),
      acceptGood: get(SSL_CTRL_SESS_ACCEPT_GOOD),
      acceptRenegotiate: get(SSL_CTRL_SESS_ACCEPT_RENEGOTIATE),
      hits: get(SSL_CTRL_SESS_HIT),
      misses: get(SSL_CTRL_SESS_MISSES),
      timeouts: get(SSL_CTRL_SESS_TIMEOUTS),
      cacheFull: get(SSL_CTRL_SESS_CACHE_FULL),
    };
  }

  /**
   * What the trust store holds (Python's `SSLContext.cert_store_stats()`):
   * certificates, CRLs, and how many of the certificates are CAs. CAs in a
   * `capath` directory are only counted once a handshake has looked them up.
   */
  certStoreStats(): CertStoreStats {
    const o = openssl();
    const stats = { x509: 0, crl: 0, x509Ca: 0 };
    this.#eachStoreObject(o, (type, obj) => {
      if (type === X509_LU_X509) {
        stats.x509++;
        if (o.crypto.X509_check_ca(o.crypto.X509_OBJECT_get0_X509(obj)) !== 0) stats.x509Ca++;
      } else if (type === X509_LU_CRL) {
        stats.crl++;
      }
    });
    drainErrors(o);
    return stats;
  }

  /**
   * The CA certificates of the trust store (Python's
   * `SSLContext.get_ca_certs()`): each as getpeercert's dictionary, or DER
   * bytes with `binaryForm`. Certificates in a `capath` directory appear
   * only once a handshake has looked them up.
   */
  getCaCerts(binaryForm?: false): PeerCertificate[];
  /** The CA certificates of the trust store as DER bytes. */
  getCaCerts(binaryForm: true): Uint8Array[];
  getCaCerts(binaryForm = false): PeerCertificate[] | Uint8Array[] {
    const o = openssl();
    const ders: Uint8Array[] = [];
    this.#eachStoreObject(o, (type, obj) => {
      if (type !== X509_LU_X509) return;
      const x = o.crypto.X509_OBJECT_get0_X509(obj);
      if (o.crypto.X509_check_ca(x) === 0) return;
      const der = x509Der(o, x);
      if (der !== null) ders.push(der);
    });
    drainErrors(o);
    return binaryForm ? ders : ders.map((d) => decodeCertificate(d, oidName));
  }

  #eachStoreObject(o: OpenSSL, fn: (type: number, obj: Pointer) => void): void {
    const store = o.ssl.SSL_CTX_get_cert_store(this._ctx);
    const objs = o.crypto.X509_STORE_get0_objects(store);
    if (native.isNull(objs)) return;
    const n = o.crypto.OPENSSL_sk_num(objs);
    for (let i = 0; i < n; i++) {
      const obj = o.crypto.OPENSSL_sk_value(objs, i);
      fn(o.crypto.X509_OBJECT_get_type(obj), obj);
    }
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
   * `capath`, and/or `cadata` (PEM text, or DER bytes). PEM CRLs in
   * `cafile` or `cadata` are loaded too, for VERIFY_CRL_CHECK_LEAF and
   * VERIFY_CRL_CHECK_CHAIN.
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
    else if (ArrayBuffer.isView(cadata) && !isDetached(cadata.buffer)) bytes = new Uint8Array(cadata.buffer, cadata.byteOffset, cadata.byteLength);
    else throw new TypeError(`cadata should be a string or a bytes-like object (not detached), got ${formatValue(cadata)}`);
    const data = new Uint8Array(new ArrayBuffer(Math.max(1, bytes.length)));
    data.set(bytes);
    const bio = o.crypto.BIO_new_mem_buf(data, bytes.length);
    if (native.isNull(bio)) throw queueError();
    const store = o.ssl.SSL_CTX_get_cert_store(this._ctx);
    let loaded = 0;
    try {
      for (;;) {
        // (PEM_read_bio_X509 skips the blocks that are not certificates, CRLs among them.)
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
    // PEM CRLs go into the store too, as a cafile's do (OpenSSL's X509_load_cert_crl_file).
    if (pem && bytes.length > 0 && latin1.decode(bytes).includes("-----BEGIN X509 CRL-----")) {
      const crlBio = o.crypto.BIO_new_mem_buf(data, bytes.length);
      if (native.isNull(crlBio)) throw queueError();
      try {
        for (;;) {
          const crl = o.crypto.PEM_read_bio_X509_CRL(crlBio, null, null, null);
          if (native.isNull(crl)) break;
          o.crypto.X509_STORE_add_crl(store, crl);
          o.crypto.X509_CRL_free(crl);
          loaded++;
        }
      } finally {
        o.crypto.BIO_free(crlBio);
      }
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
    if (typeof protocols === "string" || ArrayBuffer.isView(protocols) || typeof (protocols as { [Symbol.iterator]?: unknown })?.[Symbol.iterator] !== "function") {
      throw new TypeError(`protocols must be an iterable of strings, got ${formatValue(protocols)}`);
    }
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

  /**
   * The server's SNI callback (Python's `SSLContext.sni_callback`), or
   * null: see {@link SNICallback}. Called on the server side once the
   * client's hello has arrived, before the certificate is chosen, also when
   * the client sent no name (then with null). Setting a non-function is a
   * TypeError; a client context (PROTOCOL_TLS_CLIENT) cannot have one
   * (ValueError).
   *
   * @example
   * ```ts
   * import { ALERT_DESCRIPTION_UNRECOGNIZED_NAME, PROTOCOL_TLS_SERVER, SSLContext } from "tsyncio";
   *
   * const other = new SSLContext(PROTOCOL_TLS_SERVER);
   * other.loadCertChain("/tmp/b.pem", "/tmp/b.key");
   * const main = new SSLContext(PROTOCOL_TLS_SERVER);
   * main.loadCertChain("/tmp/a.pem", "/tmp/a.key");
   * main.sniCallback = (sslObject, name) => {
   *   if (name === "b.test") sslObject.context = other;
   *   else if (name !== "a.test") return ALERT_DESCRIPTION_UNRECOGNIZED_NAME;
   * };
   * ```
   */
  get sniCallback(): SNICallback | null {
    return this.#sniCallback;
  }

  set sniCallback(fn: SNICallback | null) {
    if (this.protocol === PROTOCOL_TLS_CLIENT) throw new ValueError("sniCallback cannot be set on a PROTOCOL_TLS_CLIENT context");
    if (fn === undefined) fn = null;
    if (fn !== null && typeof fn !== "function") throw new TypeError(`sniCallback must be a function or null, got ${formatValue(fn)}`);
    const o = openssl();
    const state = this.#state;
    if (fn !== null && state.sniCallback === null) {
      // int servername_cb(SSL *s, int *al, void *arg): held by the context's state, which must
      // not keep the context alive, hence the WeakRef.
      const ref = new WeakRef<SSLContext>(this);
      state.sniCallback = native.makeCallback(["ptr", "ptr", "ptr"], "i32", (ssl: Pointer, al: Pointer): number => {
        const ctx = ref.deref();
        const obj = activeObject;
        const cb = ctx === undefined ? null : ctx.#sniCallback;
        if (!ctx || !cb || obj === null || !obj.serverSide) return SSL_TLSEXT_ERR_OK;
        // Never let a JavaScript exception unwind through OpenSSL. The alerts are Python's:
        // handshake_failure when the callback throws, internal_error for a bad return value.
        let alert: number;
        try {
          const name: string | null = o.ssl.SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) || null;
          obj._setServerName(name);
          const r = cb(obj, name, ctx);
          if (r === null || r === undefined) return SSL_TLSEXT_ERR_OK;
          if (typeof r === "number" && Number.isInteger(r) && r >= 0 && r <= 255) {
            alert = r;
          } else {
            obj._sniError = {
              error: new TypeError(`sniCallback must return null or an ALERT_DESCRIPTION_* number, got ${formatValue(r)}`),
            };
            alert = ALERT_DESCRIPTION_INTERNAL_ERROR;
          }
        } catch (e) {
          obj._sniError = { error: e };
          alert = ALERT_DESCRIPTION_HANDSHAKE_FAILURE;
        }
        try {
          // OpenSSL sends the alert in *al, which starts as unrecognized_name (112): writing
          // its low byte (and a NUL after it) sets any alert 0..255 (the platforms are little-endian).
          const b = new Uint8Array(new ArrayBuffer(4));
          b[0] = alert;
          o.crypto.OPENSSL_strlcpy?.(al, b, 2);
        } catch {
          // the alert stays unrecognized_name
        }
        return SSL_TLSEXT_ERR_ALERT_FATAL;
      });
    }
    if (state.sniCallback !== null) {
      o.ssl.SSL_CTX_callback_ctrl(this._ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB, fn !== null ? state.sniCallback.pointer : null);
    }
    this.#sniCallback = fn;
  }

  /**
   * The file TLS secrets are appended to, in the NSS key log format that
   * Wireshark reads (Python's `keylog_filename`): one line per secret of
   * each connection made with this context from now on (`CLIENT_RANDOM`
   * for TLS 1.2, the `*_TRAFFIC_SECRET_*` lines for TLS 1.3). A new or
   * empty file gets a comment line first. Null (the default) turns it
   * off and closes the file. {@link createDefaultContext} sets it from
   * the `SSLKEYLOGFILE` environment variable. Anyone who can read the
   * file can decrypt the traffic: for debugging only.
   */
  get keylogFilename(): string | null {
    return this.#keylogFilename;
  }

  set keylogFilename(path: string | null) {
    if (path !== null && typeof path !== "string") throw new TypeError(`keylogFilename must be a path string or null, got ${formatValue(path)}`);
    const o = openssl();
    if (!o.ssl.SSL_CTX_set_keylog_callback) throw new RuntimeError("keylogFilename needs OpenSSL 1.1.1 or later");
    const state = this.#state;
    let bio: Pointer | null = null;
    if (path !== null) {
      o.crypto.ERR_clear_error();
      // Appending, close-on-exec where fopen knows "e": children never inherit the secrets.
      const opened = o.crypto.BIO_new_file(cstr(path, "keylogFilename"), cstr(native.os === "linux" ? "ae" : "a", "mode"));
      if (native.isNull(opened)) throw queueError(path, `cannot open key log file ${formatValue(path)}`);
      // A header for a new or empty file (a pipe cannot tell, and gets none).
      if (o.crypto.BIO_ctrl(opened, BIO_C_FILE_TELL, 0, null) === 0) writeKeylog(o, opened, "# TLS secrets log file, generated by OpenSSL / tsyncio\n");
      bio = opened;
    }
    if (state.keylogBio !== null) o.crypto.BIO_free(state.keylogBio);
    state.keylogBio = bio;
    if (bio !== null && state.keylogCallback === null) {
      // void keylog_cb(const SSL *ssl, const char *line): runs inside the handshake calls. The
      // closure holds the state, not the context, so the context's finalizer can still run.
      state.keylogCallback = native.makeCallback(["ptr", "ptr"], "void", (_ssl: Pointer, line: Pointer): void => {
        if (state.keylogBio === null || lib === null) return;
        try {
          writeKeylog(lib, state.keylogBio, native.readCString(line) + "\n");
        } catch {
          // Nothing may be thrown back into OpenSSL; a lost key log line only costs debugging.
        }
      });
    }
    if (state.keylogCallback !== null) o.ssl.SSL_CTX_set_keylog_callback(this._ctx, bio !== null ? state.keylogCallback.pointer : null);
    this.#keylogFilename = path;
  }

  /**
   * TLS 1.3 post-handshake client authentication (Python's
   * `post_handshake_auth`, off by default). On a client context, its
   * connections tell the server they will send a certificate when asked
   * after the handshake. On a server context with `verifyMode`
   * CERT_OPTIONAL or CERT_REQUIRED, the handshake asks for no client
   * certificate; the server asks later with
   * {@link SSLObject.verifyClientPostHandshake}. Applies to connections
   * made after it is set.
   */
  get postHandshakeAuth(): boolean {
    return this.#postHandshakeAuth;
  }

  set postHandshakeAuth(on: boolean) {
    if (typeof on !== "boolean") throw new TypeError(`postHandshakeAuth must be a boolean, got ${formatValue(on)}`);
    this.#postHandshakeAuth = on;
  }

  /**
   * Whether a certificate without a DNS name in subjectAltName may match
   * the host name by its subject's commonName (Python's
   * `hostname_checks_common_name`; true by default, as Python built
   * with OpenSSL 3). Applies to connections made after it is set.
   */
  get hostnameChecksCommonName(): boolean {
    return this.#checkCommonName;
  }

  set hostnameChecksCommonName(on: boolean) {
    if (typeof on !== "boolean") throw new TypeError(`hostnameChecksCommonName must be a boolean, got ${formatValue(on)}`);
    this.#checkCommonName = on;
  }

  /**
   * How many TLS 1.3 session tickets a server sends after each full
   * handshake (Python's `num_tickets`; 2 by default). Server contexts
   * only; 0 turns tickets off.
   */
  get numTickets(): number {
    const o = openssl();
    return o.ssl.SSL_CTX_get_num_tickets ? Number(o.ssl.SSL_CTX_get_num_tickets(this._ctx)) : 0;
  }

  set numTickets(n: number) {
    if (typeof n !== "number" || !Number.isInteger(n)) throw new TypeError(`numTickets must be an integer, got ${formatValue(n)}`);
    if (n < 0) throw new ValueError("numTickets must be non-negative");
    if (this.protocol !== PROTOCOL_TLS_SERVER) throw new ValueError("SSLContext is not a server context.");
    const o = openssl();
    if (!o.ssl.SSL_CTX_set_num_tickets) throw new RuntimeError("numTickets needs OpenSSL 1.1.1 or later");
    if (n > 0xffff_ffff || o.ssl.SSL_CTX_set_num_tickets(this._ctx, n) !== 1) throw new ValueError(`failed to set numTickets to ${n}`);
  }

  /**
   * The ciphers this context may use, in order of preference (Python's
   * `get_ciphers()`), each with OpenSSL's description: `id`, `name`,
   * `protocol`, `description`, `strengthBits`, `algBits`, `aead`, and the
   * long names of its `symmetric` cipher, `digest` (null for AEAD), key
   * exchange (`kea`) and authentication (`auth`).
   */
  getCiphers(): CipherInfo[] {
    const o = openssl();
    const list = o.ssl.SSL_CTX_get_ciphers(this._ctx);
    if (native.isNull(list)) return [];
    const nidName = (nid: number): string | null => (nid === 0 ? null : o.crypto.OBJ_nid2ln(nid) || null);
    const buf = new Uint8Array(new ArrayBuffer(256));
    const bits = new Uint8Array(new ArrayBuffer(4));
    const out: CipherInfo[] = [];
    for (let i = 0, n = o.crypto.OPENSSL_sk_num(list); i < n; i++) {
      const c = o.crypto.OPENSSL_sk_value(list, i);
      buf.fill(0);
      o.ssl.SSL_CIPHER_description(c, buf, buf.length);
      const strengthBits = o.ssl.SSL_CIPHER_get_bits(c, bits);
      out.push({
        id: o.ssl.SSL_CIPHER_get_id(c),
        name: o.ssl.SSL_CIPHER_get_name(c),
        protocol: o.ssl.SSL_CIPHER_get_version(c),
        description: latin1.decode(buf.subarray(0, buf.indexOf(0))).replace(/\n$/, ""),
        strengthBits,
        algBits: new DataView(bits.buffer).getInt32(0, true),
        aead: o.ssl.SSL_CIPHER_is_aead(c) === 1,
        symmetric: nidName(o.ssl.SSL_CIPHER_get_cipher_nid(c)),
        digest: nidName(o.ssl.SSL_CIPHER_get_digest_nid(c)),
        kea: nidName(o.ssl.SSL_CIPHER_get_kx_nid(c)),
        auth: nidName(o.ssl.SSL_CIPHER_get_auth_nid(c)),
      });
    }
    return out;
  }

  /**
   * Use only the elliptic curve (key exchange group) `name` (Python's
   * `set_ecdh_curve`), an OpenSSL short name such as "prime256v1",
   * "secp384r1" or "X25519". ValueError for a name OpenSSL does not know.
   */
  setEcdhCurve(name: string): void {
    if (typeof name !== "string") throw new TypeError(`name must be a string, got ${formatValue(name)}`);
    const o = openssl();
    const nid = o.crypto.OBJ_sn2nid(cstr(name, "name"));
    if (nid === 0) throw new ValueError(`unknown elliptic curve name ${formatValue(name)}`);
    const list = new Uint8Array(new ArrayBuffer(4));
    new DataView(list.buffer).setInt32(0, nid, true);
    o.crypto.ERR_clear_error();
    if (o.ssl.SSL_CTX_ctrl(this._ctx, SSL_CTRL_SET_GROUPS, 1, list) !== 1) throw queueError(undefined, `cannot use the curve ${formatValue(name)}`);
  }

  /**
   * Load Diffie-Hellman parameters (PEM "DH PARAMETERS", as written by
   * `openssl dhparam`) for the DHE key exchange of TLS 1.2 servers
   * (Python's `load_dh_params`). OSError when the file cannot be read,
   * SSLError when it holds no DH parameters.
   */
  loadDhParams(path: string): void {
    if (typeof path !== "string") throw new TypeError(`path must be a path string, got ${formatValue(path)}`);
    const o = openssl();
    if (!o.ssl.SSL_CTX_set0_tmp_dh_pkey || !o.crypto.EVP_PKEY_is_a) throw new RuntimeError("loadDhParams needs OpenSSL 3");
    o.crypto.ERR_clear_error();
    const bio = o.crypto.BIO_new_file(cstr(path, "path"), cstr("r", "mode"));
    if (native.isNull(bio)) throw queueError(path);
    let key: Pointer;
    try {
      key = o.crypto.PEM_read_bio_Parameters(bio, null);
    } finally {
      o.crypto.BIO_free(bio);
    }
    if (native.isNull(key)) throw queueError(path);
    if (o.crypto.EVP_PKEY_is_a(key, cstr("DH", "type")) !== 1) {
      o.crypto.EVP_PKEY_free(key);
      throw new SSLError(1, `${path} holds parameters of another kind, not Diffie-Hellman`);
    }
    // On success the context owns the key.
    if (o.ssl.SSL_CTX_set0_tmp_dh_pkey(this._ctx, key) !== 1) {
      o.crypto.EVP_PKEY_free(key);
      throw queueError(path);
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

/** Append `text` to the key log BIO and flush it, so a reader sees each line at once. */
function writeKeylog(o: OpenSSL, bio: Pointer, text: string): void {
  const bytes = encoder.encode(text);
  const buf = new Uint8Array(new ArrayBuffer(bytes.length));
  buf.set(bytes);
  o.crypto.BIO_write(bio, buf, buf.length);
  o.crypto.BIO_ctrl(bio, BIO_CTRL_FLUSH, 0, null);
}

/**
 * A host name as it goes on the wire (SNI) and is checked against the
 * certificate: internationalized labels as IDNA A-labels
 * ("bücher.example" → "xn--bcher-kva.example"), ASCII labels unchanged,
 * as Python's "idna" codec does. Addresses pass through. The A-labels
 * follow IDNA 2008 (the WHATWG URL parser's), so "ß" stays distinct
 * where Python's IDNA 2003 codec maps it to "ss".
 */
function idnaHostname(name: string): string {
  if (parseNumericAddress(name) !== null) return name;
  const labels = name.split(".");
  // A trailing dot (the root) is allowed, as in Python.
  const last = labels.length > 1 && labels[labels.length - 1] === "" ? labels.length - 1 : labels.length;
  for (let i = 0; i < last; i++) {
    let label = labels[i];
    if (label === "") throw new ValueError(`serverHostname ${formatValue(name)} has an empty label`);
    // deno-lint-ignore no-control-regex
    if (/[^\x00-\x7f]/.test(label)) {
      let encoded: string;
      try {
        encoded = new URL(`http://${label}/`).hostname;
      } catch {
        throw new ValueError(`serverHostname ${formatValue(name)} is not a valid internationalized host name`);
      }
      if (encoded.includes(".")) throw new ValueError(`serverHostname ${formatValue(name)} is not a valid internationalized host name`);
      labels[i] = label = encoded;
    }
    if (label.length > 63) throw new ValueError(`serverHostname ${formatValue(name)} has a label longer than 63 characters`);
  }
  return labels.join(".");
}

/** Python's description of a cipher: [name, protocol version, secret bits]. */
function cipherTuple(o: OpenSSL, c: Pointer): [string, string, number] {
  return [o.ssl.SSL_CIPHER_get_name(c), o.ssl.SSL_CIPHER_get_version(c), o.ssl.SSL_CIPHER_get_bits(c, null)];
}

/** The DER encoding of the X509 `x`, or null if it cannot be encoded. */
function x509Der(o: OpenSSL, x: Pointer): Uint8Array | null {
  const len = o.crypto.i2d_X509(x, null);
  if (len <= 0) return null;
  // i2d writes through `unsigned char **` and advances it: hand it the address of our buffer.
  const der = new Uint8Array(new ArrayBuffer(len));
  const pp = new Uint8Array(new ArrayBuffer(8));
  new DataView(pp.buffer).setBigUint64(0, native.addressOf(der), true);
  return o.crypto.i2d_X509(x, pp) === len ? der : null;
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
 * server context. `verifyFlags` adds VERIFY_X509_STRICT and
 * VERIFY_X509_PARTIAL_CHAIN to the context's default, as Python 3.13.
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
  // Python 3.13: strict RFC 5280 checks, and intermediate CAs in the store are anchors.
  ctx.verifyFlags = (ctx.verifyFlags | VERIFY_X509_PARTIAL_CHAIN | VERIFY_X509_STRICT) >>> 0;
  const { cafile = null, capath = null, cadata = null } = options;
  if (cafile != null || capath != null || cadata != null) ctx.loadVerifyLocations(cafile, capath, cadata);
  else if (ctx.verifyMode !== CERT_NONE) ctx.loadDefaultCerts(purpose);
  // As CPython: a key log file named by the environment (for Wireshark), never by default.
  const keylog = native.libc.getenv(cstr("SSLKEYLOGFILE", "name"));
  if (!native.isNull(keylog)) {
    const path = native.readCString(keylog);
    if (path !== "") ctx.keylogFilename = path;
  }
  return ctx;
}

// ---- SSLSession ----

const sessionFinalizer = new FinalizationRegistry<Pointer>((sess) => {
  lib?.ssl.SSL_SESSION_free(sess);
  live.session--;
});

/**
 * A TLS session a client can resume (Python's `ssl.SSLSession`), from
 * {@link SSLObject.session}: give it to the `session` of another client
 * connection of the same context, before its handshake, and the server may
 * skip the full handshake. With TLS 1.3 the session tickets come after the
 * handshake: take the session once data has been read (or when the
 * connection has closed). It holds a reference to OpenSSL's session, freed
 * when this object is collected.
 */
export class SSLSession {
  /** @internal the SSL_SESSION, one reference of ours */
  readonly _ptr: Pointer;
  /** The context of the connection the session came from: it can only be resumed with that context. */
  readonly context: SSLContext;
  #id: Uint8Array | null = null;

  /** @internal made by SSLObject.session from a reference it owns */
  constructor(ptr: Pointer, context: SSLContext) {
    this._ptr = ptr;
    this.context = context;
    live.session++;
    sessionFinalizer.register(this, ptr);
  }

  /** The session id (empty for a TLS 1.3 or ticket session the server gave none). */
  get id(): Uint8Array {
    if (this.#id === null) {
      const o = openssl();
      const lenBuf = new Uint8Array(new ArrayBuffer(4));
      const p = o.ssl.SSL_SESSION_get_id(this._ptr, lenBuf);
      const n = new DataView(lenBuf.buffer).getUint32(0, true);
      this.#id = n > 0 && !native.isNull(p) ? native.readBytes(p, 0, n).slice() : new Uint8Array(0);
    }
    return this.#id.slice();
  }

  /** When the session was established, in seconds since the epoch. */
  get time(): number {
    return Number(openssl().ssl.SSL_SESSION_get_time(this._ptr));
  }

  /** How long the session stays resumable, in seconds from `time`. */
  get timeout(): number {
    return Number(openssl().ssl.SSL_SESSION_get_timeout(this._ptr));
  }

  /** The server's hint of its ticket's lifetime, in seconds (0 without a ticket). */
  get ticketLifetimeHint(): number {
    return Number(openssl().ssl.SSL_SESSION_get_ticket_lifetime_hint(this._ptr));
  }

  /** Whether the server gave a session ticket (the session is then resumed from the ticket). */
  get hasTicket(): boolean {
    return openssl().ssl.SSL_SESSION_has_ticket(this._ptr) === 1;
  }

  /** Whether OpenSSL would offer this session for resumption. */
  get isResumable(): boolean {
    return openssl().ssl.SSL_SESSION_is_resumable(this._ptr) === 1;
  }

  /** Python's `==` between sessions: the same session id. */
  equals(other: unknown): boolean {
    if (!(other instanceof SSLSession)) return false;
    if (other === this) return true;
    const a = this.id, b = other.id;
    return a.length === b.length && a.every((v, i) => v === b[i]);
  }

  /** A short description for logs: the session id in hex. */
  toString(): string {
    return `<SSLSession ${Array.from(this.id, (b) => b.toString(16).padStart(2, "0")).join("")}>`;
  }
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
  #context: SSLContext;
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
  #started = false;
  #reused = false;
  /** The client's session, kept when the connection is freed. */
  #lastSession: SSLSession | null = null;
  #serverName: string | null = null;
  /** @internal what the context's sniCallback threw during this connection's handshake, until sslproto reports it */
  _sniError: { error: unknown } | null = null;

  /** @internal made by SSLContext._wrap */
  constructor(context: SSLContext, serverSide: boolean, serverHostname: string | null) {
    if (serverSide && serverHostname) throw new ValueError("serverHostname can only be specified in client mode");
    if (serverHostname !== null && (serverHostname === "" || serverHostname.startsWith("."))) {
      throw new ValueError("serverHostname cannot be an empty string or start with a leading dot.");
    }
    if (serverHostname !== null) serverHostname = idnaHostname(serverHostname);
    if (!serverSide && context.checkHostname && !serverHostname) throw new ValueError("checkHostname requires serverHostname");
    const o = openssl();
    this.#o = o;
    this.#context = context;
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
    if (context.postHandshakeAuth && o.ssl.SSL_set_post_handshake_auth) {
      if (!serverSide) {
        o.ssl.SSL_set_post_handshake_auth(ssl, 1);
      } else {
        // Only with VERIFY_PEER: OpenSSL would otherwise ask for a certificate it then ignores.
        const mode = o.ssl.SSL_get_verify_mode(ssl);
        if (mode & SSL_VERIFY_PEER) o.ssl.SSL_set_verify(ssl, mode | SSL_VERIFY_POST_HANDSHAKE, o.ssl.SSL_get_verify_callback(ssl));
      }
    }
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
      const cn = context.hostnameChecksCommonName ? 0 : X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
      o.crypto.X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | cn);
      const ok = ip ? o.crypto.X509_VERIFY_PARAM_set1_ip_asc(param, name) : o.ssl.SSL_set1_host(ssl, name);
      if (ok !== 1) {
        this._free();
        throw queueError(undefined, `invalid serverHostname ${formatValue(serverHostname)}`);
      }
    }
  }

  /**
   * The context the connection uses (Python's `SSLObject.context`): the
   * one it was made from, unless an `sniCallback` switched it. Setting it
   * (server side, from the context's {@link SSLContext.sniCallback}, before
   * the certificate is chosen) switches the connection to the other
   * context's certificate and key (SSL_set_SSL_CTX). TypeError for a value
   * that is not an SSLContext, ValueError on the client side.
   */
  get context(): SSLContext {
    return this.#context;
  }

  set context(ctx: SSLContext) {
    if (!(ctx instanceof SSLContext)) throw new TypeError(`The value must be a SSLContext, got ${formatValue(ctx)}`);
    if (!this.serverSide) throw new ValueError("the context of a client-side SSLObject cannot be switched");
    const ssl = this.#ssl;
    if (ssl === null) throw new ValueError("the TLS connection is closed");
    const o = this.#o;
    o.crypto.ERR_clear_error();
    if (native.isNull(o.ssl.SSL_set_SSL_CTX(ssl, ctx._ctx))) throw queueError();
    this.#context = ctx;
  }

  /**
   * The server name of the connection: on the server side the name the
   * client asked for with SNI (null when it sent none, or before its hello
   * arrived); on the client side its `serverHostname`.
   */
  get serverName(): string | null {
    if (!this.serverSide) return this.serverHostname;
    if (this.#serverName === null && this.#ssl !== null) {
      this.#serverName = this.#o.ssl.SSL_get_servername(this.#ssl, TLSEXT_NAMETYPE_host_name) || null;
    }
    return this.#serverName;
  }

  /** @internal the name the servername callback read */
  _setServerName(name: string | null): void {
    this.#serverName = name;
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
    // A client may have sent its certificate since, when asked after the handshake.
    if (this.#peerDer === null && this.#ssl !== null && this.serverSide) this.#readPeerCertificate(this.#ssl);
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

  /**
   * The connection's TLS session (Python's `SSLObject.session`), or null
   * when there is none yet; after the connection is gone, the last one a
   * client had. With TLS 1.3 the resumable session arrives after the
   * handshake, with the first data read. Setting it (clients only, before
   * the handshake, a session of the same context) offers it for
   * resumption; {@link sessionReused} tells whether the server took it.
   */
  get session(): SSLSession | null {
    const ssl = this.#ssl;
    if (ssl === null) return this.#lastSession;
    const p = this.#o.ssl.SSL_get1_session(ssl);
    return native.isNull(p) ? null : new SSLSession(p, this.context);
  }

  set session(session: SSLSession | null) {
    if (!(session instanceof SSLSession)) throw new TypeError(`Value is not a SSLSession, got ${formatValue(session)}`);
    if (session.context !== this.context) throw new ValueError("Session refers to a different SSLContext.");
    if (this.serverSide) throw new ValueError("Cannot set session for server-side SSLObject.");
    if (this.#started || this.#ssl === null) throw new ValueError("Cannot set session after handshake.");
    const o = this.#o;
    o.crypto.ERR_clear_error();
    if (o.ssl.SSL_set_session(this.#ssl, session._ptr) !== 1) throw queueError();
  }

  /**
   * Channel binding data (RFC 5929) of the type `cbType` (Python's
   * `get_channel_binding`): "tls-unique", the first Finished message of the
   * handshake (defined for TLS 1.2 and below). Null before the handshake or
   * once the connection is gone; ValueError for another type.
   */
  getChannelBinding(cbType = "tls-unique"): Uint8Array | null {
    if (cbType !== "tls-unique") throw new ValueError(`${formatValue(cbType)} channel binding type not implemented`);
    const ssl = this.#ssl;
    if (ssl === null || !this.#done) return null;
    const o = this.#o;
    // The first Finished is the client's in a full handshake, the server's in a resumed one.
    const own = o.ssl.SSL_session_reused(ssl) === 1 ? this.serverSide : !this.serverSide;
    const buf = new Uint8Array(new ArrayBuffer(64));
    const n = own ? o.ssl.SSL_get_finished(ssl, buf, 64) : o.ssl.SSL_get_peer_finished(ssl, buf, 64);
    return n > 0 ? buf.slice(0, Math.min(n, 64)) : null;
  }

  /**
   * The ciphers both sides could have used (Python's `shared_ciphers`): of
   * this server's ciphers, those the client offered, in the server's order,
   * as [name, protocol version, secret bits]. Null on a client, before the
   * client's hello has arrived, and once the connection is gone.
   */
  sharedCiphers(): [string, string, number][] | null {
    const ssl = this.#ssl;
    if (ssl === null) return null;
    const o = this.#o;
    const ours = o.ssl.SSL_get_ciphers(ssl);
    const theirs = o.ssl.SSL_get_client_ciphers(ssl);
    if (native.isNull(ours) || native.isNull(theirs)) return null;
    const offered = new Set<number>();
    for (let i = 0, n = o.crypto.OPENSSL_sk_num(theirs); i < n; i++) offered.add(o.ssl.SSL_CIPHER_get_id(o.crypto.OPENSSL_sk_value(theirs, i)));
    const shared: [string, string, number][] = [];
    for (let i = 0, n = o.crypto.OPENSSL_sk_num(ours); i < n; i++) {
      const c = o.crypto.OPENSSL_sk_value(ours, i);
      if (offered.has(o.ssl.SSL_CIPHER_get_id(c))) shared.push(cipherTuple(o, c));
    }
    return shared;
  }

  /**
   * Ask the client for its certificate now, after the handshake (TLS 1.3
   * post-handshake authentication; Python's `verify_client_post_handshake`).
   * Server side, with `postHandshakeAuth` and a `verifyMode` other than
   * CERT_NONE on the context. The request goes out at once on a tsyncio
   * transport (Python sends it with the next write); the certificate is
   * checked when the client's answer arrives, and then
   * {@link getpeercert} returns it. A client that did not offer
   * post-handshake authentication, or TLS 1.2, is an SSLError.
   */
  verifyClientPostHandshake(): void {
    const ssl = this.#ssl;
    if (ssl === null) throw new ValueError("the TLS connection is closed");
    const o = this.#o;
    if (!o.ssl.SSL_verify_client_post_handshake) throw new RuntimeError("post-handshake authentication needs OpenSSL 1.1.1 or later");
    o.crypto.ERR_clear_error();
    if (o.ssl.SSL_verify_client_post_handshake(ssl) !== 1) throw queueError();
    // Write the CertificateRequest now, rather than with whatever is written next.
    const r = o.ssl.SSL_do_handshake(ssl);
    if (r !== 1) {
      const err = o.ssl.SSL_get_error(ssl, r);
      if (err !== SSL_ERROR_WANT_READ && err !== SSL_ERROR_WANT_WRITE) throw this.#error(ssl, err);
    }
    this._postHandshakeRequested?.();
  }

  /** @internal set by sslproto: send what a post-handshake request produced */
  _postHandshakeRequested: (() => void) | null = null;

  /** Whether the handshake resumed a session rather than making a new one (Python's `session_reused`). */
  get sessionReused(): boolean {
    return this.#ssl === null ? this.#reused : this.#o.ssl.SSL_session_reused(this.#ssl) === 1;
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
    this.#started = true;
    o.crypto.ERR_clear_error();
    activeObject = this;
    const r = o.ssl.SSL_do_handshake(ssl);
    activeObject = null;
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
    if (!native.isNull(c)) this.#cipher = cipherTuple(o, c);
    const out = new Uint8Array(new ArrayBuffer(12));
    o.ssl.SSL_get0_alpn_selected(ssl, out.subarray(0, 8), out.subarray(8, 12));
    const alpnLen = new DataView(out.buffer).getUint32(8, true);
    if (alpnLen > 0) this.#alpn = latin1.decode(native.readBytes(native.pointerFromBuffer(out, 0), 0, alpnLen));
    this.#readPeerCertificate(ssl);
  }

  #readPeerCertificate(ssl: Pointer): void {
    const o = this.#o;
    const x = o.getPeerCertificate(ssl);
    if (native.isNull(x)) return;
    try {
      this.#peerDer = x509Der(o, x);
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
    // (A TLS 1.2 renegotiation runs the servername callback inside SSL_read.)
    activeObject = this;
    const n = o.ssl.SSL_read(ssl, offset === 0 ? buf : buf.subarray(offset), len);
    activeObject = null;
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
    if (!this.serverSide && this.#done) {
      // What a client may still want: the session to resume later.
      this.#reused = this.#o.ssl.SSL_session_reused(this.#ssl) === 1;
      const p = this.#o.ssl.SSL_get1_session(this.#ssl);
      if (!native.isNull(p)) this.#lastSession = new SSLSession(p, this.context);
    }
    if (this.serverSide && this.#serverName === null && this.#started) {
      this.#serverName = this.#o.ssl.SSL_get_servername(this.#ssl, TLSEXT_NAMETYPE_host_name) || null;
    }
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
