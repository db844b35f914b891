/**
 * `getpeercert()`'s dictionary, decoded from the certificate's DER in
 * TypeScript: reading the same fields through OpenSSL's C API would mean a
 * dozen calls and struct layouts (GENERAL_NAME unions, stacks) per field,
 * while DER is a small, fixed grammar (RFC 5280 §4.1). The result has
 * Python's shape (`ssl.SSLSocket.getpeercert()`, `_ssl._decode_cert`), with
 * tuples as arrays:
 *
 * ```
 * { subject: [[["commonName", "localhost"]]], issuer: [...], version: 3,
 *   serialNumber: "1A2B", notBefore: "Nov 24 09:00:00 2026 GMT", notAfter: "...",
 *   subjectAltName: [["DNS", "localhost"], ["IP Address", "127.0.0.1"]],
 *   OCSP: [...], caIssuers: [...], crlDistributionPoints: [...] }
 * ```
 * (the last four only when present). Attribute names are OpenSSL's long
 * names, looked up through a function the caller passes (OBJ_nid2ln), with
 * the dotted OID for names OpenSSL does not know.
 */

import { ValueError } from "./errors.ts";

/** A distinguished name: relative distinguished names, each a list of [attribute, value] pairs. */
export type X509Name = [string, string][][];

/** Python's certificate dictionary. */
export interface PeerCertificate {
  /** Whom the certificate names, e.g. `[[["commonName", "localhost"]]]`. */
  subject: X509Name;
  /** The authority that signed it. */
  issuer: X509Name;
  /** The X.509 version, 1-based as Python reports it (3 for v3). */
  version: number;
  /** The serial number in upper-case hex ("1A2B"). */
  serialNumber: string;
  /** Start of validity, in OpenSSL's text form ("Nov 24 09:00:00 2026 GMT"). */
  notBefore: string;
  /** End of validity, in the same form as `notBefore`. */
  notAfter: string;
  /** Alternative names as [kind, value] pairs: ["DNS", "localhost"], ["IP Address", "127.0.0.1"], ["DirName", X509Name], ... */
  subjectAltName?: [string, string | X509Name][];
  /** OCSP responder URIs from the Authority Information Access extension. */
  OCSP?: string[];
  /** Issuer certificate URIs from the Authority Information Access extension. */
  caIssuers?: string[];
  /** CRL distribution point URIs. */
  crlDistributionPoints?: string[];
}

// Universal tags used below.
const INTEGER = 0x02, OCTET_STRING = 0x04, OID = 0x06, SEQUENCE = 0x30, SET = 0x31;
const UTC_TIME = 0x17, GENERALIZED_TIME = 0x18;

const OID_SUBJECT_ALT_NAME = "2.5.29.17";
const OID_CRL_DISTRIBUTION_POINTS = "2.5.29.31";
const OID_AUTHORITY_INFO_ACCESS = "1.3.6.1.5.5.7.1.1";
const OID_OCSP = "1.3.6.1.5.5.7.48.1";
const OID_CA_ISSUERS = "1.3.6.1.5.5.7.48.2";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** One DER element: its tag and where its contents lie in the buffer. */
interface Tlv {
  tag: number;
  start: number;
  end: number;
}

/** A malformed certificate is a ValueError, as Python's decoder raises for one. */
class DerError extends ValueError {}

/** The element at `pos` (contents bounded by `limit`). */
function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new DerError("truncated DER element");
  const tag = der[pos];
  if ((tag & 0x1f) === 0x1f) throw new DerError("multi-byte DER tags are not used in certificates");
  let len = der[pos + 1];
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > limit) throw new DerError("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  if (start + len > limit) throw new DerError("DER element runs past its container");
  return { tag, start, end: start + len };
}

/** The elements inside a constructed element. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = parent.start; pos < parent.end;) {
    const t = readTlv(der, pos, parent.end);
    out.push(t);
    pos = t.end;
  }
  return out;
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`certificate: ${what} expected`);
  return t;
}

function oidText(der: Uint8Array, t: Tlv): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    v = v * 128 + (der[i] & 0x7f);
    if ((der[i] & 0x80) === 0) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else {
        parts.push(v);
      }
      v = 0;
    }
  }
  return parts.join(".");
}

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

/** An ASN.1 string value as text (what ASN1_STRING_to_UTF8 gives Python). */
function stringValue(der: Uint8Array, t: Tlv): string {
  const bytes = der.subarray(t.start, t.end);
  switch (t.tag) {
    case 0x1e: { // BMPString: UTF-16BE
      let s = "";
      for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode((bytes[i] << 8) | bytes[i + 1]);
      return s;
    }
    case 0x1c: { // UniversalString: UTF-32BE
      let s = "";
      for (let i = 0; i + 3 < bytes.length; i += 4) {
        s += String.fromCodePoint(((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0);
      }
      return s;
    }
    case 0x14: // T61String: Latin-1 in practice, as OpenSSL converts it
      return latin1.decode(bytes);
    default: // UTF8String, PrintableString, IA5String, VisibleString, NumericString
      return utf8.decode(bytes);
  }
}

function decodeName(der: Uint8Array, name: Tlv, oidName: (oid: string) => string): X509Name {
  expect(name, SEQUENCE, "Name");
  return children(der, name).map((rdn) => {
    expect(rdn, SET, "RelativeDistinguishedName");
    return children(der, rdn).map((atv): [string, string] => {
      const [type, value] = children(der, expect(atv, SEQUENCE, "AttributeTypeAndValue"));
      return [oidName(oidText(der, expect(type, OID, "attribute type"))), stringValue(der, value)];
    });
  });
}

/** ASN1_TIME_print's format: "Nov  4 09:00:00 2026 GMT" (day padded with a space). */
function decodeTime(der: Uint8Array, t: Tlv): string {
  const s = latin1.decode(der.subarray(t.start, t.end));
  let year: number, rest: string;
  if (t.tag === UTC_TIME) {
    const yy = Number(s.slice(0, 2));
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    rest = s.slice(2);
  } else if (t.tag === GENERALIZED_TIME) {
    year = Number(s.slice(0, 4));
    rest = s.slice(4);
  } else {
    throw new DerError("certificate: Time expected");
  }
  const month = Number(rest.slice(0, 2)), day = Number(rest.slice(2, 4));
  const hms = `${rest.slice(4, 6)}:${rest.slice(6, 8)}:${rest.slice(8, 10) || "00"}`;
  return `${MONTHS[month - 1] ?? "???"} ${String(day).padStart(2, " ")} ${hms} ${year} GMT`;
}

/** i2a_ASN1_INTEGER's format: the magnitude in upper-case hex, two digits a byte. */
function decodeSerial(der: Uint8Array, t: Tlv): string {
  let start = t.start;
  const negative = t.end > start && (der[start] & 0x80) !== 0;
  if (negative) {
    // Two's complement: Python shows "-" and the magnitude.
    const mag = der.slice(start, t.end);
    let carry = 1;
    for (let i = mag.length - 1; i >= 0; i--) {
      const v = (~mag[i] & 0xff) + carry;
      mag[i] = v & 0xff;
      carry = v >> 8;
    }
    let i = 0;
    while (i < mag.length - 1 && mag[i] === 0) i++;
    return "-" + hex(mag.subarray(i));
  }
  while (start < t.end - 1 && der[start] === 0) start++;
  return t.end > start ? hex(der.subarray(start, t.end)) : "00";
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).toUpperCase().padStart(2, "0");
  return s;
}

/** One GeneralName (RFC 5280 §4.2.1.6) as Python's (type, value) pair. */
function decodeGeneralName(der: Uint8Array, t: Tlv, oidName: (oid: string) => string): [string, string | X509Name] {
  const text = () => latin1.decode(der.subarray(t.start, t.end));
  switch (t.tag) {
    case 0x81:
      return ["email", text()];
    case 0x82:
      return ["DNS", text()];
    case 0x86:
      return ["URI", text()];
    case 0xa4: {
      const [name] = children(der, t);
      return ["DirName", decodeName(der, name, oidName)];
    }
    case 0x87: {
      const b = der.subarray(t.start, t.end);
      if (b.length === 4) return ["IP Address", `${b[0]}.${b[1]}.${b[2]}.${b[3]}`];
      if (b.length === 16) {
        const groups: string[] = [];
        for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16).toUpperCase());
        return ["IP Address", groups.join(":")];
      }
      return ["IP Address", "<invalid>"];
    }
    case 0x88:
      return ["Registered ID", oidName(oidText(der, t))];
    case 0xa0:
      return ["othername", "<unsupported>"];
    case 0xa3:
      return ["X400Name", "<unsupported>"];
    case 0xa5:
      return ["EdiPartyName", "<unsupported>"];
    default:
      return ["unknown", "<unsupported>"];
  }
}

/**
 * Python's `getpeercert()` dictionary for the DER certificate `der`.
 * `oidName` turns a dotted OID into OpenSSL's long name ("2.5.4.3" →
 * "commonName"), or returns it unchanged when unknown.
 */
export function decodeCertificate(der: Uint8Array, oidName: (oid: string) => string): PeerCertificate {
  const cert = expect(readTlv(der, 0, der.length), SEQUENCE, "Certificate");
  const tbsFields = children(der, expect(children(der, cert)[0], SEQUENCE, "TBSCertificate"));
  let i = 0;
  let version = 1;
  if (tbsFields[0]?.tag === 0xa0) {
    const [v] = children(der, tbsFields[0]);
    version = der[expect(v, INTEGER, "version").end - 1] + 1;
    i++;
  }
  const serial = expect(tbsFields[i++], INTEGER, "serialNumber");
  i++; // signature algorithm
  const issuer = tbsFields[i++];
  const [notBefore, notAfter] = children(der, expect(tbsFields[i++], SEQUENCE, "Validity"));
  const subject = tbsFields[i++];
  const out: PeerCertificate = {
    subject: decodeName(der, subject, oidName),
    issuer: decodeName(der, issuer, oidName),
    version,
    serialNumber: decodeSerial(der, serial),
    notBefore: decodeTime(der, notBefore),
    notAfter: decodeTime(der, notAfter),
  };
  const extensions = tbsFields.slice(i).find((t) => t.tag === 0xa3);
  if (!extensions) return out;
  let san: PeerCertificate["subjectAltName"], ocsp: string[] | undefined, caIssuers: string[] | undefined;
  let crl: string[] | undefined;
  for (const ext of children(der, expect(children(der, extensions)[0], SEQUENCE, "Extensions"))) {
    const parts = children(der, ext);
    const id = oidText(der, expect(parts[0], OID, "extnID"));
    const value = expect(parts[parts.length - 1], OCTET_STRING, "extnValue");
    const inner = readTlv(der, value.start, value.end);
    if (id === OID_SUBJECT_ALT_NAME) {
      san = children(der, inner).map((g) => decodeGeneralName(der, g, oidName));
    } else if (id === OID_AUTHORITY_INFO_ACCESS) {
      for (const ad of children(der, inner)) {
        const [method, location] = children(der, ad);
        if (location?.tag !== 0x86) continue;
        const uri = latin1.decode(der.subarray(location.start, location.end));
        const m = oidText(der, method);
        if (m === OID_OCSP) (ocsp ??= []).push(uri);
        else if (m === OID_CA_ISSUERS) (caIssuers ??= []).push(uri);
      }
    } else if (id === OID_CRL_DISTRIBUTION_POINTS) {
      for (const dp of children(der, inner)) {
        // DistributionPoint: [0] distributionPoint → [0] fullName (GeneralNames).
        const name = children(der, dp).find((t) => t.tag === 0xa0);
        const full = name && children(der, name).find((t) => t.tag === 0xa0);
        if (!full) continue;
        for (const g of children(der, full)) {
          if (g.tag === 0x86) (crl ??= []).push(latin1.decode(der.subarray(g.start, g.end)));
        }
      }
    }
  }
  // Python's key order, whatever the order of the extensions.
  if (san) out.subjectAltName = san;
  if (ocsp) out.OCSP = ocsp;
  if (caIssuers) out.caIssuers = caIssuers;
  if (crl) out.crlDistributionPoints = crl;
  return out;
}
