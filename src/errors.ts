/**
 * Python's exception hierarchy, as far as the event loop raises it.
 * `OSError` carries `errno`, `code` ("ECONNREFUSED") and `strerror`;
 * {@link OSError.fromErrno} picks the subclass Python would.
 */

import { C, native } from "./native.ts";

/** Misuse of the loop: a closed loop, a loop already running, and the like. */
export class RuntimeError extends Error {
  override name = "RuntimeError";
}

/** A public name whose behaviour has not been built yet on this runtime. */
export class NotImplementedError extends RuntimeError {
  override name = "NotImplementedError";
}

/** A value of the right type but an unacceptable value. */
export class ValueError extends Error {
  override name = "ValueError";
}

/** The operation was cancelled (Python's `asyncio.CancelledError`). */
export class CancelledError extends Error {
  override name = "CancelledError";
}

/** A Future or Task is not in the state the call needs. */
export class InvalidStateError extends Error {
  override name = "InvalidStateError";
}

/** A read reached EOF before the expected number of bytes. */
export class IncompleteReadError extends Error {
  override name = "IncompleteReadError";
  constructor(public partial: Uint8Array, public expected: number | null) {
    super(`${partial.length} bytes read on a total of ${expected ?? "undefined"} expected bytes`);
  }
}

/** A buffer limit was reached while looking for a separator. */
export class LimitOverrunError extends Error {
  override name = "LimitOverrunError";
  constructor(message: string, public consumed: number) {
    super(message);
  }
}

/** `sendfile` is not available for this transport or file. */
export class SendfileNotAvailableError extends RuntimeError {
  override name = "SendfileNotAvailableError";
}

/** An operating-system error: `errno`, its symbolic `code`, and `strerror`. */
export class OSError extends Error {
  override name = "OSError";
  errno: number;
  code: string;
  strerror: string;

  constructor(errno: number, strerror?: string, message?: string) {
    const text = strerror ?? describeErrno(errno);
    super(message ?? `[Errno ${errno}] ${text}`);
    this.errno = errno;
    this.code = C.errnoNames[errno] ?? `E${errno}`;
    this.strerror = text;
  }

  /** The OSError subclass Python raises for `errno`, with an optional context. */
  static fromErrno(errno: number, context?: string): OSError {
    const Cls = errnoClass(errno);
    const text = describeErrno(errno);
    return new Cls(errno, text, `[Errno ${errno}] ${text}${context ? `: ${context}` : ""}`);
  }
}

export class BlockingIOError extends OSError {
  override name = "BlockingIOError";
}
export class ChildProcessError extends OSError {
  override name = "ChildProcessError";
}
export class ConnectionError extends OSError {
  override name = "ConnectionError";
}
export class BrokenPipeError extends ConnectionError {
  override name = "BrokenPipeError";
}
export class ConnectionAbortedError extends ConnectionError {
  override name = "ConnectionAbortedError";
}
export class ConnectionRefusedError extends ConnectionError {
  override name = "ConnectionRefusedError";
}
export class ConnectionResetError extends ConnectionError {
  override name = "ConnectionResetError";
}
export class FileExistsError extends OSError {
  override name = "FileExistsError";
}
export class FileNotFoundError extends OSError {
  override name = "FileNotFoundError";
}
export class InterruptedError extends OSError {
  override name = "InterruptedError";
}
export class IsADirectoryError extends OSError {
  override name = "IsADirectoryError";
}
export class NotADirectoryError extends OSError {
  override name = "NotADirectoryError";
}
export class PermissionError extends OSError {
  override name = "PermissionError";
}
export class ProcessLookupError extends OSError {
  override name = "ProcessLookupError";
}
/** Python 3.11+: `asyncio.TimeoutError` is this builtin, an OSError subclass. */
export class TimeoutError extends OSError {
  override name = "TimeoutError";
  constructor(errno = codeToErrno("ETIMEDOUT"), strerror?: string, message?: string) {
    super(errno, strerror, message ?? (strerror === undefined ? "timed out" : undefined));
  }
}

/**
 * A name-resolution failure (Python's `socket.gaierror`): `errno` is the
 * `EAI_*` code getaddrinfo/getnameinfo returned (negative on Linux, as in
 * Python), `code` its name ("EAI_NONAME"), `strerror` libc's
 * `gai_strerror` text ("Name or service not known").
 */
export class GaiError extends OSError {
  override name = "GaiError";
  constructor(errno: number, strerror?: string, message?: string) {
    const text = strerror ?? describeGai(errno);
    super(errno, text, message ?? `[Errno ${errno}] ${text}`);
    this.code = C.eaiNames[errno] ?? `EAI_${errno}`;
  }
}

const gaiMessages = new Map<number, string>();
function describeGai(code: number): string {
  let m = gaiMessages.get(code);
  if (m === undefined) {
    m = native.libc.gai_strerror(code) as string;
    gaiMessages.set(code, m);
  }
  return m;
}

const byCode: Record<string, typeof OSError> = {
  EAGAIN: BlockingIOError, EWOULDBLOCK: BlockingIOError, EALREADY: BlockingIOError,
  EINPROGRESS: BlockingIOError, ECHILD: ChildProcessError, EPIPE: BrokenPipeError,
  ESHUTDOWN: BrokenPipeError, ECONNABORTED: ConnectionAbortedError,
  ECONNREFUSED: ConnectionRefusedError, ECONNRESET: ConnectionResetError, EEXIST: FileExistsError,
  ENOENT: FileNotFoundError, EISDIR: IsADirectoryError, ENOTDIR: NotADirectoryError,
  EINTR: InterruptedError, EACCES: PermissionError, EPERM: PermissionError,
  ESRCH: ProcessLookupError, ETIMEDOUT: TimeoutError,
};

function errnoClass(errno: number): typeof OSError {
  return byCode[C.errnoNames[errno] ?? ""] ?? OSError;
}

/** The errno number for a symbolic name on this OS (0 when unknown). */
export function codeToErrno(code: string): number {
  for (const [n, name] of Object.entries(C.errnoNames)) if (name === code) return Number(n);
  return 0;
}

const messages = new Map<number, string>();
function describeErrno(errno: number): string {
  let m = messages.get(errno);
  if (m === undefined) {
    m = native.libc.strerror(errno) as string;
    messages.set(errno, m);
  }
  return m;
}

/** Throw the OSError for the errno of the libc call that just failed. */
export function raiseErrno(context?: string): never {
  throw OSError.fromErrno(native.errno(), context);
}

/** Python's `ssl.SSL_ERROR_*` numbers, used as `SSLError.errno`. */
const sslErrorCodes: Record<number, string> = {
  1: "SSL_ERROR_SSL", 2: "SSL_ERROR_WANT_READ", 3: "SSL_ERROR_WANT_WRITE", 4: "SSL_ERROR_WANT_X509_LOOKUP",
  5: "SSL_ERROR_SYSCALL", 6: "SSL_ERROR_ZERO_RETURN", 7: "SSL_ERROR_WANT_CONNECT", 8: "SSL_ERROR_EOF",
};

/**
 * A TLS failure (Python's `ssl.SSLError`, an OSError): `errno` is one of
 * Python's `SSL_ERROR_*` numbers (1 for a protocol error, 8 for an EOF that
 * broke the protocol), `code` its name; `library` ("SSL", "PEM", ...) and
 * `reason` ("WRONG_VERSION_NUMBER") come from OpenSSL's error queue when it
 * had an entry, as Python reports them.
 */
export class SSLError extends OSError {
  override name = "SSLError";
  library: string | null;
  reason: string | null;
  constructor(errno: number, message: string, library: string | null = null, reason: string | null = null) {
    super(errno, message, message);
    this.code = sslErrorCodes[errno] ?? `SSL_ERROR_${errno}`;
    this.library = library;
    this.reason = reason;
  }
}
/** The peer closed the TLS session (close_notify) where data was expected. */
export class SSLZeroReturnError extends SSLError {
  override name = "SSLZeroReturnError";
}
/** More bytes from the peer are needed before the operation can go on. */
export class SSLWantReadError extends SSLError {
  override name = "SSLWantReadError";
}
/** More bytes must be sent before the operation can go on. */
export class SSLWantWriteError extends SSLError {
  override name = "SSLWantWriteError";
}
/** OpenSSL reported a system-call failure without more detail. */
export class SSLSyscallError extends SSLError {
  override name = "SSLSyscallError";
}
/** The connection ended in a way that broke the TLS protocol (no close_notify where one was due). */
export class SSLEOFError extends SSLError {
  override name = "SSLEOFError";
}
/**
 * The peer's certificate failed verification (Python's
 * `ssl.SSLCertVerificationError`, also `ssl.CertificateError`):
 * `verifyCode` is OpenSSL's X509_V_ERR_* number (62 for a hostname
 * mismatch) and `verifyMessage` its text.
 */
export class SSLCertVerificationError extends SSLError {
  override name = "SSLCertVerificationError";
  verifyCode: number;
  verifyMessage: string;
  constructor(message: string, verifyCode: number, verifyMessage: string, library: string | null = "SSL", reason: string | null = "CERTIFICATE_VERIFY_FAILED") {
    super(1, message, library, reason);
    this.verifyCode = verifyCode;
    this.verifyMessage = verifyMessage;
  }
}
