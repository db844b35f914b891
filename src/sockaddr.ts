/**
 * Socket addresses: C `struct sockaddr`s ⇄ Python's address shapes, and
 * numeric IP text ⇄ bytes.
 *
 * Shapes (as Python's `socket` module): AF_INET `[host, port]`, AF_INET6
 * `[host, port, flowinfo, scopeId]`, AF_UNIX a path string (a Linux abstract
 * name starts with `"\0"`; an unnamed socket is `""`), no address at all
 * (`recvfrom` from an unbound AF_UNIX datagram socket) `null`. Any other
 * family decodes to the raw sockaddr bytes.
 *
 * Numeric hosts are parsed with libc `inet_pton` (no name service, no thread
 * hop); addresses are formatted here, exactly as glibc's `inet_ntop` does,
 * which is what Python returns. Every function writes into caller-provided
 * buffers or module scratch: nothing here is reentrant, nothing here waits.
 */

import { C, libc, native } from "./native.ts";
import { codeToErrno, OSError, ValueError } from "./errors.ts";

/** A decoded socket address (see the module doc). */
export type SocketAddress =
  | string
  | [host: string, port: number]
  | [host: string, port: number, flowinfo: number, scopeId: number]
  | Uint8Array
  | null;

/** A parsed numeric host: its family, its 4 or 16 address bytes, and an IPv6 scope (`%eth0`, `%2`). */
export interface NumericAddress {
  family: number;
  bytes: Uint8Array;
  scopeId: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
// Host text for inet_pton / if_nametoindex (NUL-terminated), and its result.
const text = new Uint8Array(new ArrayBuffer(256));
const ip = new Uint8Array(new ArrayBuffer(16));
const ENAMETOOLONG = codeToErrno("ENAMETOOLONG");
const linux = native.os === "linux";

/** The `sun_path` capacity of `struct sockaddr_un` on this OS (108 on Linux, 104 on macOS). */
export const SUN_PATH_SIZE = C.SOCKADDR_UN_SIZE - 2;

/** `s` as a NUL-terminated C string in the text scratch; -1 when it does not fit. */
function toText(s: string): number {
  if (s.length >= text.byteLength) return -1;
  const r = encoder.encodeInto(s, text.subarray(0, text.byteLength - 1));
  if (r.read !== s.length) return -1;
  text[r.written] = 0;
  return r.written;
}

/** Only hex digits, dots and colons can make a numeric address: skip the FFI call for names. */
function maybeNumeric(s: string, v6: boolean): boolean {
  if (s.length === 0 || s.length > 45) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const digit = c >= 48 && c <= 57;
    if (digit || c === 46) continue;
    if (!v6) return false;
    if (c === 58 || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)) continue;
    return false;
  }
  return true;
}

/**
 * Parse `s` as an address of `family` (AF_INET: dotted quad; AF_INET6:
 * RFC 4291 text, without scope) into `out` at `offset`. False when it is not one.
 */
export function parseIP(family: number, s: string, out: Uint8Array, offset = 0): boolean {
  const v6 = family === C.AF_INET6;
  if (!maybeNumeric(s, v6) || toText(s) < 0) return false;
  if (libc.inet_pton(family, text, ip) !== 1) return false;
  out.set(v6 ? ip : ip.subarray(0, 4), offset);
  return true;
}

/** An IPv6 zone (`eth0` or `2`) as an interface index, or -1 if there is no such interface. */
export function scopeIndex(zone: string): number {
  if (/^[0-9]+$/.test(zone)) {
    const n = Number(zone);
    return n <= 0xffffffff ? n : -1;
  }
  if (zone.length === 0 || zone.includes("\0") || toText(zone) < 0) return -1;
  const n = libc.if_nametoindex(text) as number;
  return n > 0 ? n : -1;
}

/**
 * `host` as a numeric IPv4 or IPv6 address (`"fe80::1%eth0"` included), or
 * null when it is not one (a name, or text libc's `inet_pton` rejects).
 * No name service is consulted: this is the in-process fast path that lets
 * createConnection/createServer and getaddrinfo skip DNS.
 */
export function parseNumericAddress(host: unknown): NumericAddress | null {
  if (typeof host !== "string") return null;
  const pct = host.indexOf("%");
  if (pct < 0) {
    const v4 = new Uint8Array(4);
    if (host.indexOf(":") < 0 && parseIP(C.AF_INET, host, v4)) return { family: C.AF_INET, bytes: v4, scopeId: 0 };
    const v6 = new Uint8Array(16);
    if (parseIP(C.AF_INET6, host, v6)) return { family: C.AF_INET6, bytes: v6, scopeId: 0 };
    return null;
  }
  const v6 = new Uint8Array(16);
  if (!parseIP(C.AF_INET6, host.slice(0, pct), v6)) return null;
  const scopeId = scopeIndex(host.slice(pct + 1));
  return scopeId < 0 ? null : { family: C.AF_INET6, bytes: v6, scopeId };
}

/** Dotted-quad text of the 4 bytes at `b[off]`. */
export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/**
 * Text of the 16-byte IPv6 address at `b[off]`, as glibc's inet_ntop writes
 * it: lowercase hex, the longest run of two or more zero groups (the first
 * on a tie) as `::`, and the IPv4 tail dotted for `::a.b.c.d` and
 * `::ffff:a.b.c.d`.
 */
export function formatIPv6(b: Uint8Array, off = 0): string {
  let bestBase = -1, bestLen = 0, curBase = -1, curLen = 0;
  for (let i = 0; i < 8; i++) {
    const w = (b[off + 2 * i] << 8) | b[off + 2 * i + 1];
    if (w === 0) {
      if (curBase < 0) {
        curBase = i;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase >= 0) {
      if (curLen > bestLen) [bestBase, bestLen] = [curBase, curLen];
      curBase = -1;
    }
  }
  if (curBase >= 0 && curLen > bestLen) [bestBase, bestLen] = [curBase, curLen];
  if (bestLen < 2) bestBase = -1;
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ":";
      continue;
    }
    if (i !== 0) s += ":";
    const w = (b[off + 2 * i] << 8) | b[off + 2 * i + 1];
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && ((b[off + 10] << 8) | b[off + 11]) === 0xffff))) {
      return s + formatIPv4(b, off + 12);
    }
    s += w.toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) s += ":";
  return s;
}

/** Address bytes as text (4 bytes: IPv4, 16 bytes: IPv6). */
export function formatIP(bytes: Uint8Array): string {
  return bytes.length === 4 ? formatIPv4(bytes) : formatIPv6(bytes);
}

function writeFamily(out: Uint8Array, family: number, len: number): void {
  if (C.SA_LEN) {
    out[0] = len;
    out[1] = family;
  } else {
    out[0] = family & 0xff;
    out[1] = family >> 8;
  }
}

/**
 * Write a `sockaddr_in` (4 address bytes) or `sockaddr_in6` (16) into
 * `out`; returns its length. Values are assumed checked by the caller.
 */
export function writeInetSockaddr(
  out: Uint8Array,
  addr: Uint8Array,
  port: number,
  flowinfo = 0,
  scopeId = 0,
): number {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (addr.length === 4) {
    out.fill(0, 0, C.SOCKADDR_IN_SIZE);
    writeFamily(out, C.AF_INET, C.SOCKADDR_IN_SIZE);
    dv.setUint16(2, port, false);
    out.set(addr, 4);
    return C.SOCKADDR_IN_SIZE;
  }
  writeFamily(out, C.AF_INET6, C.SOCKADDR_IN6_SIZE);
  dv.setUint16(2, port, false);
  dv.setUint32(4, flowinfo, false);
  out.set(addr, 8);
  dv.setUint32(24, scopeId, true);
  return C.SOCKADDR_IN6_SIZE;
}

/**
 * Write a `sockaddr_un` for `path` into `out`; returns its length (Python's
 * rule: a Linux abstract name — or "" for autobind — is passed with its exact
 * length, a path with its terminating NUL). OSError ENAMETOOLONG ("AF_UNIX
 * path too long") when it does not fit; ValueError for a NUL inside a path.
 */
export function writeUnixSockaddr(out: Uint8Array, path: string | Uint8Array): number {
  const bytes = typeof path === "string" ? encoder.encode(path) : path;
  const abstract = linux && (bytes.length === 0 || bytes[0] === 0);
  if (abstract ? bytes.length > SUN_PATH_SIZE : bytes.length >= SUN_PATH_SIZE) {
    throw new OSError(ENAMETOOLONG, undefined, "AF_UNIX path too long");
  }
  if (!abstract && bytes.indexOf(0) >= 0) throw new ValueError("embedded null byte in an AF_UNIX path");
  out.set(bytes, 2);
  let len = 2 + bytes.length;
  if (!abstract) out[len++] = 0;
  writeFamily(out, C.AF_UNIX, len);
  return len;
}

/** The family of the sockaddr in `buf`. */
export function sockaddrFamily(buf: Uint8Array): number {
  return C.SA_LEN ? buf[1] : buf[0] | (buf[1] << 8);
}

/** Decode the `len`-byte sockaddr in `buf` (module doc: the shapes). */
export function decodeSockaddr(buf: Uint8Array, len: number): SocketAddress {
  if (len <= 0) return null;
  const family = sockaddrFamily(buf);
  if (family === C.AF_INET && len >= 8) {
    return [formatIPv4(buf, 4), (buf[2] << 8) | buf[3]];
  }
  if (family === C.AF_INET6 && len >= 24) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    return [formatIPv6(buf, 8), (buf[2] << 8) | buf[3], dv.getUint32(4, false), len >= 28 ? dv.getUint32(24, true) : 0];
  }
  if (family === C.AF_UNIX) {
    if (len <= 2) return "";
    const path = buf.subarray(2, len);
    // Linux abstract names keep every byte (the leading NUL included); paths end at their NUL.
    if (linux && path[0] === 0) return decoder.decode(path);
    const nul = path.indexOf(0);
    return decoder.decode(nul < 0 ? path : path.subarray(0, nul));
  }
  return buf.slice(0, len);
}
