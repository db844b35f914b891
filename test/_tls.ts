/**
 * Certificates made for the TLS tests, in-process: ECDSA P-256 keys from
 * WebCrypto (on all three runtimes) and X.509 v3 certificates encoded here
 * in DER (RFC 5280), written as PEM under /tmp. Nothing is spawned, so the
 * tests need no permission to run programs (Deno) and no openssl binary.
 */

import { writeFileSync } from "node:fs";

// ---- DER ----

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = cat(parts);
  return cat([new Uint8Array([tag, ...len(body.length)]), body]);
}

function cat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const seq = (...p: Uint8Array[]) => tlv(0x30, ...p);
const set = (...p: Uint8Array[]) => tlv(0x31, ...p);
const octets = (b: Uint8Array) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));
const bool = (v: boolean) => tlv(0x01, new Uint8Array([v ? 0xff : 0]));
const bits = (b: Uint8Array, unused = 0) => tlv(0x03, new Uint8Array([unused]), b);

/** A non-negative INTEGER from big-endian magnitude bytes. */
function uint(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const m = b.subarray(i);
  return tlv(0x02, m[0] & 0x80 ? cat([new Uint8Array([0]), m]) : m);
}

function oid(dotted: string): Uint8Array {
  const n = dotted.split(".").map(Number);
  const out = [40 * n[0] + n[1]];
  for (const v of n.slice(2)) {
    const enc = [v & 0x7f];
    for (let x = Math.floor(v / 128); x > 0; x = Math.floor(x / 128)) enc.unshift(0x80 | (x & 0x7f));
    out.push(...enc);
  }
  return tlv(0x06, new Uint8Array(out));
}

function utcTime(d: Date): Uint8Array {
  const p = (v: number) => String(v).padStart(2, "0");
  const s = `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  return tlv(0x17, new TextEncoder().encode(s));
}

function name(cn: string, org = "tsyncio tests"): Uint8Array {
  return seq(
    set(seq(oid("2.5.4.10"), utf8(org))),
    set(seq(oid("2.5.4.3"), utf8(cn))),
  );
}

function ext(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

function ipBytes(ip: string): Uint8Array {
  if (ip.includes(":")) {
    // Only the forms the tests use: "::1" and full addresses.
    const [head, tail] = ip.split("::");
    const h = head ? head.split(":") : [], t = tail !== undefined && tail ? tail.split(":") : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
    return new Uint8Array(groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
  }
  return new Uint8Array(ip.split(".").map(Number));
}

function pem(label: string, der: Uint8Array): string {
  let b64 = "";
  const s = Array.from(der, (c) => String.fromCharCode(c)).join("");
  b64 = btoa(s);
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

/** WebCrypto's ECDSA signature (r || s) as the DER SEQUENCE X.509 wants. */
function ecdsaDer(raw: Uint8Array): Uint8Array {
  return seq(uint(raw.subarray(0, 32)), uint(raw.subarray(32)));
}

const ECDSA_SHA256 = () => seq(oid("1.2.840.10045.4.3.2"));

// ---- certificates ----

export interface Issued {
  key: CryptoKeyPair;
  cert: Uint8Array;
  certPem: string;
  keyPem: string;
  spkiId: Uint8Array;
  subject: Uint8Array;
  /** The certificate's serial number (magnitude bytes). */
  serial?: Uint8Array;
}

interface CertOptions {
  cn: string;
  ca?: boolean;
  dns?: string[];
  ips?: string[];
  usage?: "server" | "client";
  issuer?: Issued;
  days?: number;
  /** Already expired: valid from 30 days ago until yesterday. */
  expired?: boolean;
}

async function issue(o: CertOptions): Promise<Issued> {
  const subtle = crypto.subtle;
  const key = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const spki = new Uint8Array(await subtle.exportKey("spki", key.publicKey));
  const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", key.privateKey));
  // The key identifier: SHA-1 of the public key bits (RFC 5280 §4.2.1.2, method 1).
  const spkiId = new Uint8Array(await subtle.digest("SHA-1", spki.subarray(spki.length - 65)));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const now = Date.now();
  const subject = name(o.cn);
  const exts: Uint8Array[] = [
    ext("2.5.29.19", true, o.ca ? seq(bool(true)) : seq()),
    // keyUsage: keyCertSign + cRLSign for a CA, digitalSignature for a leaf.
    ext("2.5.29.15", true, o.ca ? bits(new Uint8Array([0x06]), 1) : bits(new Uint8Array([0x80]), 7)),
    ext("2.5.29.14", false, octets(spkiId)),
  ];
  if (o.issuer) exts.push(ext("2.5.29.35", false, seq(tlv(0x80, o.issuer.spkiId))));
  if (o.usage) exts.push(ext("2.5.29.37", false, seq(oid(o.usage === "server" ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2"))));
  if (o.dns?.length || o.ips?.length) {
    const names = [
      ...(o.dns ?? []).map((d) => tlv(0x82, new TextEncoder().encode(d))),
      ...(o.ips ?? []).map((ip) => tlv(0x87, ipBytes(ip))),
    ];
    exts.push(ext("2.5.29.17", false, seq(...names)));
  }
  const tbs = seq(
    tlv(0xa0, uint(new Uint8Array([2]))),
    uint(serial),
    ECDSA_SHA256(),
    o.issuer ? o.issuer.subject : subject,
    o.expired
      ? seq(utcTime(new Date(now - 30 * 86400_000)), utcTime(new Date(now - 86400_000)))
      : seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + (o.days ?? 30) * 86400_000))),
    subject,
    spki,
    tlv(0xa3, seq(...exts)),
  );
  const signer = o.issuer ? o.issuer.key.privateKey : key.privateKey;
  const sig = new Uint8Array(await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, signer, tbs as BufferSource));
  const cert = seq(tbs, ECDSA_SHA256(), bits(ecdsaDer(sig)));
  return { key, cert, certPem: pem("CERTIFICATE", cert), keyPem: pem("PRIVATE KEY", pkcs8), spkiId, subject, serial };
}

/**
 * A v2 CRL (RFC 5280 §5) signed by `issuer` that revokes the certificates
 * with the given serial numbers, valid from an hour ago for `days` days, as
 * PEM ("X509 CRL").
 */
export async function makeCrl(issuer: Issued, revoked: Uint8Array[], days = 7): Promise<string> {
  const now = Date.now();
  const entries = revoked.map((serial) => seq(uint(serial), utcTime(new Date(now - 3600_000))));
  const tbs = seq(
    uint(new Uint8Array([1])),
    ECDSA_SHA256(),
    issuer.subject,
    utcTime(new Date(now - 3600_000)),
    utcTime(new Date(now + days * 86400_000)),
    ...(entries.length ? [seq(...entries)] : []),
    tlv(0xa0, seq(
      ext("2.5.29.35", false, seq(tlv(0x80, issuer.spkiId))),
      ext("2.5.29.20", false, uint(new Uint8Array([1]))),
    )),
  );
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, issuer.key.privateKey, tbs as BufferSource));
  return pem("X509 CRL", seq(tbs, ECDSA_SHA256(), bits(ecdsaDer(sig))));
}

/** Where the test PKI was written. */
export interface TestPki {
  dir: string;
  /** The CA the tests trust. */
  caFile: string;
  caPem: string;
  caDer: Uint8Array;
  /** A server certificate (chain file: leaf then CA) for localhost, 127.0.0.1 and ::1, and its key. */
  serverCert: string;
  serverKey: string;
  serverDer: Uint8Array;
  /** A client certificate for mutual TLS, and its key. */
  clientCert: string;
  clientKey: string;
  /** A CA nobody trusts, and a server certificate it signed for localhost. */
  otherCaFile: string;
  rogueCert: string;
  rogueKey: string;
  /** A server certificate for localhost and 127.0.0.1 from the trusted CA that expired yesterday. */
  expiredCert: string;
  expiredKey: string;
  /** The trusted CA itself (to sign CRLs with makeCrl) and the server certificate's serial number. */
  ca?: Issued;
  serverSerial?: Uint8Array;
}

/** Make the test PKI under a fresh directory in /tmp. */
export async function makeTestPki(): Promise<TestPki> {
  const dir = `/tmp/tsyncio-tls-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`;
  const { mkdirSync } = await import("node:fs");
  mkdirSync(dir, { recursive: true });
  const ca = await issue({ cn: "tsyncio test CA", ca: true, days: 60 });
  const server = await issue({ cn: "localhost", dns: ["localhost"], ips: ["127.0.0.1", "::1"], usage: "server", issuer: ca });
  const client = await issue({ cn: "tsyncio test client", usage: "client", issuer: ca });
  const other = await issue({ cn: "untrusted CA", ca: true });
  const rogue = await issue({ cn: "localhost", dns: ["localhost"], ips: ["127.0.0.1"], usage: "server", issuer: other });
  const expired = await issue({ cn: "localhost", dns: ["localhost"], ips: ["127.0.0.1"], usage: "server", issuer: ca, expired: true });
  const w = (f: string, text: string) => {
    writeFileSync(`${dir}/${f}`, text);
    return `${dir}/${f}`;
  };
  return {
    dir,
    caFile: w("ca.pem", ca.certPem),
    caPem: ca.certPem,
    caDer: ca.cert,
    serverCert: w("server.pem", server.certPem + ca.certPem),
    serverKey: w("server.key", server.keyPem),
    serverDer: server.cert,
    clientCert: w("client.pem", client.certPem),
    clientKey: w("client.key", client.keyPem),
    otherCaFile: w("other-ca.pem", other.certPem),
    rogueCert: w("rogue.pem", rogue.certPem + other.certPem),
    rogueKey: w("rogue.key", rogue.keyPem),
    expiredCert: w("expired.pem", expired.certPem + ca.certPem),
    expiredKey: w("expired.key", expired.keyPem),
    ca,
    serverSerial: server.serial,
  };
}

/** Remove the test PKI. */
export async function removeTestPki(pki: TestPki): Promise<void> {
  const { rmSync } = await import("node:fs");
  rmSync(pki.dir, { recursive: true, force: true });
}

/**
 * Another server certificate from the test PKI's trusted CA for the DNS
 * names `dns` (subject CN the first of them), written as `<file>.pem`
 * (leaf then CA) and `<file>.key` in the PKI's directory.
 */
export async function issueServerCert(pki: TestPki, file: string, dns: string[]): Promise<{ cert: string; key: string }> {
  if (!pki.ca) throw new Error("the test PKI has no CA to sign with");
  const leaf = await issue({ cn: dns[0], dns, usage: "server", issuer: pki.ca });
  writeFileSync(`${pki.dir}/${file}.pem`, leaf.certPem + pki.caPem);
  writeFileSync(`${pki.dir}/${file}.key`, leaf.keyPem);
  return { cert: `${pki.dir}/${file}.pem`, key: `${pki.dir}/${file}.key` };
}
