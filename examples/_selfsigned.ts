// A self-signed certificate for the TLS examples, made in-process: an ECDSA
// P-256 key from WebCrypto (on Node, Bun and Deno alike) and an X.509 v3
// certificate encoded here in DER (RFC 5280). No openssl binary is run.

/** A certificate and its private key, both PEM. */
export interface SelfSigned {
  certPem: string;
  keyPem: string;
}

const te = new TextEncoder();

function cat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  const body = cat(parts);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return cat([new Uint8Array([tag, ...len]), body]);
}

const seq = (...p: Uint8Array[]) => tlv(0x30, ...p);
const bool = (v: boolean) => tlv(0x01, new Uint8Array([v ? 0xff : 0]));
const octets = (b: Uint8Array) => tlv(0x04, b);
const bits = (b: Uint8Array, unused = 0) => tlv(0x03, new Uint8Array([unused]), b);

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
  return tlv(0x17, te.encode(d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z"));
}

function pem(label: string, der: Uint8Array): string {
  const b64 = btoa(Array.from(der, (c) => String.fromCharCode(c)).join(""));
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

/**
 * A certificate for `cn` valid for a day, naming the DNS names `dns` and the
 * IPv4 addresses `ips`; a client trusts it by loading it as its CA.
 */
export async function selfSigned(cn = "localhost", dns = ["localhost"], ips = ["127.0.0.1"]): Promise<SelfSigned> {
  const subtle = crypto.subtle;
  const key = await subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as CryptoKeyPair;
  const spki = new Uint8Array(await subtle.exportKey("spki", key.publicKey));
  const pkcs8 = new Uint8Array(await subtle.exportKey("pkcs8", key.privateKey));
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] &= 0x7f;
  const name = seq(tlv(0x31, seq(oid("2.5.4.3"), tlv(0x0c, te.encode(cn)))));
  const ext = (id: string, critical: boolean, value: Uint8Array) =>
    critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
  const sans = [
    ...dns.map((d) => tlv(0x82, te.encode(d))),
    ...ips.map((ip) => tlv(0x87, new Uint8Array(ip.split(".").map(Number)))),
  ];
  const now = Date.now();
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const tbs = seq(
    tlv(0xa0, uint(new Uint8Array([2]))), // v3
    uint(serial),
    ecdsaSha256,
    name, // issuer: itself
    seq(utcTime(new Date(now - 3600_000)), utcTime(new Date(now + 86400_000))),
    name,
    spki,
    tlv(0xa3, seq(
      ext("2.5.29.19", true, seq()), // basicConstraints: not a CA
      ext("2.5.29.15", true, bits(new Uint8Array([0x80]), 7)), // keyUsage: digitalSignature
      ext("2.5.29.37", false, seq(oid("1.3.6.1.5.5.7.3.1"))), // extKeyUsage: serverAuth
      ext("2.5.29.17", false, seq(...sans)), // subjectAltName
    )),
  );
  const raw = new Uint8Array(await subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, tbs as BufferSource));
  // WebCrypto signs as r || s; X.509 wants SEQUENCE { r, s }.
  const sig = seq(uint(raw.subarray(0, 32)), uint(raw.subarray(32)));
  const cert = seq(tbs, ecdsaSha256, bits(sig));
  return { certPem: pem("CERTIFICATE", cert), keyPem: pem("PRIVATE KEY", pkcs8) };
}
