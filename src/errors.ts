/**
 * Python's exception hierarchy, as far as the event loop raises it.
 * `OSError` carries `errno`, `code` ("ECONNREFUSED") and `strerror`;
 * {@link OSError.fromErrno} picks the subclass Python would.
 */

import { C, native } from "./native.ts";

/** Misuse of the loop: a closed loop, a loop already running, and the like. */
export class RuntimeError extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "RuntimeError";
}

/** A public name whose behaviour has not been built yet on this runtime. */
export class NotImplementedError extends RuntimeError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "NotImplementedError";
}

/** A value of the right type but an unacceptable value. */
export class ValueError extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "ValueError";
}

/** The operation was cancelled (Python's `asyncio.CancelledError`). */
export class CancelledError extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "CancelledError";
}

/** A Future or Task is not in the state the call needs. */
export class InvalidStateError extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "InvalidStateError";
}

/** A read reached EOF before the expected number of bytes. */
export class IncompleteReadError extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "IncompleteReadError";
  /**
   * Same arguments as Python's `IncompleteReadError(partial, expected)`.
   * @param partial the bytes read before EOF (Python's `partial`)
   * @param expected the number of bytes wanted, or null when reading up to a separator
   */
  constructor(public partial: Uint8Array, public expected: number | null) {
    super(`${partial.length} bytes read on a total of ${expected ?? "undefined"} expected bytes`);
  }
}

/** A buffer limit was reached while looking for a separator. */
export class LimitOverrunError extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "LimitOverrunError";
  /**
   * Same arguments as Python's `LimitOverrunError(message, consumed)`.
   * @param consumed how many bytes to consume before retrying (Python's `consumed`)
   */
  constructor(message: string, public consumed: number) {
    super(message);
  }
}

/** `sendfile` is not available for this transport or file. */
export class SendfileNotAvailableError extends RuntimeError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "SendfileNotAvailableError";
}

/** An operating-system error: `errno`, its symbolic `code`, and `strerror`. */
export class OSError extends Error {
  /** The class name, as Python prints it in tracebacks. */
  override name = "OSError";
  /** The OS error number (Python's `OSError.errno`). */
  errno: number;
  /** The symbolic name of `errno` on this OS ("ECONNREFUSED"), for portable checks. */
  code: string;
  /** The OS's message for `errno` (Python's `OSError.strerror`). */
  strerror: string;

  /**
   * Usually obtained from {@link OSError.fromErrno}, which picks the subclass;
   * direct construction keeps this exact class.
   * @param strerror defaults to libc's `strerror(errno)`
   * @param message defaults to Python's `"[Errno N] strerror"`
   */
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

/** An operation would block on a non-blocking descriptor (Python's `BlockingIOError`: EAGAIN, EWOULDBLOCK, EALREADY, EINPROGRESS). */
export class BlockingIOError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "BlockingIOError";
}
/** A child-process operation failed (Python's `ChildProcessError`: ECHILD). */
export class ChildProcessError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "ChildProcessError";
}
/** Base class of connection failures (Python's `ConnectionError`). */
export class ConnectionError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "ConnectionError";
}
/** Writing to a pipe or socket whose other end is closed (Python's `BrokenPipeError`: EPIPE, ESHUTDOWN). */
export class BrokenPipeError extends ConnectionError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "BrokenPipeError";
}
/** The connection was aborted, e.g. before accept() took it (Python's `ConnectionAbortedError`: ECONNABORTED). */
export class ConnectionAbortedError extends ConnectionError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "ConnectionAbortedError";
}
/** Nothing listens at the address (Python's `ConnectionRefusedError`: ECONNREFUSED). */
export class ConnectionRefusedError extends ConnectionError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "ConnectionRefusedError";
}
/** The peer reset the connection (Python's `ConnectionResetError`: ECONNRESET). */
export class ConnectionResetError extends ConnectionError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "ConnectionResetError";
}
/** The file or socket path already exists (Python's `FileExistsError`: EEXIST). */
export class FileExistsError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "FileExistsError";
}
/** No such file or directory (Python's `FileNotFoundError`: ENOENT). */
export class FileNotFoundError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "FileNotFoundError";
}
/** A system call was interrupted by a signal (Python's `InterruptedError`: EINTR). */
export class InterruptedError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "InterruptedError";
}
/** A file operation was given a directory (Python's `IsADirectoryError`: EISDIR). */
export class IsADirectoryError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "IsADirectoryError";
}
/** A directory operation was given something else (Python's `NotADirectoryError`: ENOTDIR). */
export class NotADirectoryError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "NotADirectoryError";
}
/** Not permitted (Python's `PermissionError`: EACCES, EPERM). */
export class PermissionError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "PermissionError";
}
/** No such process (Python's `ProcessLookupError`: ESRCH). */
export class ProcessLookupError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "ProcessLookupError";
}
/** Python 3.11+: `asyncio.TimeoutError` is this builtin, an OSError subclass. */
export class TimeoutError extends OSError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "TimeoutError";
  /** Without arguments: ETIMEDOUT with the message "timed out", as asyncio's timeouts raise it. */
  constructor(errno: number = codeToErrno("ETIMEDOUT"), strerror?: string, message?: string) {
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
  /** The class name, as Python prints it in tracebacks. */
  override name = "GaiError";
  /**
   * Built from getaddrinfo/getnameinfo's return code.
   * @param errno an `EAI_*` code
   * @param strerror defaults to libc's `gai_strerror(errno)`
   */
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
  /** The class name, as Python prints it in tracebacks. */
  override name = "SSLError";
  /** OpenSSL's library name for the failure ("SSL", "PEM"), or null (Python's `SSLError.library`). */
  library: string | null;
  /** OpenSSL's reason code ("WRONG_VERSION_NUMBER"), or null (Python's `SSLError.reason`). */
  reason: string | null;
  /**
   * Built from OpenSSL's error queue by the TLS layer.
   * @param errno one of Python's `SSL_ERROR_*` numbers
   */
  constructor(errno: number, message: string, library: string | null = null, reason: string | null = null) {
    super(errno, message, message);
    this.code = sslErrorCodes[errno] ?? `SSL_ERROR_${errno}`;
    this.library = library;
    this.reason = reason;
  }
}
/** The peer closed the TLS session (close_notify) where data was expected. */
export class SSLZeroReturnError extends SSLError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "SSLZeroReturnError";
}
/** More bytes from the peer are needed before the operation can go on. */
export class SSLWantReadError extends SSLError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "SSLWantReadError";
}
/** More bytes must be sent before the operation can go on. */
export class SSLWantWriteError extends SSLError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "SSLWantWriteError";
}
/** OpenSSL reported a system-call failure without more detail. */
export class SSLSyscallError extends SSLError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "SSLSyscallError";
}
/** The connection ended in a way that broke the TLS protocol (no close_notify where one was due). */
export class SSLEOFError extends SSLError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "SSLEOFError";
}
/**
 * The peer's certificate failed verification (Python's
 * `ssl.SSLCertVerificationError`, also `ssl.CertificateError`):
 * `verifyCode` is OpenSSL's X509_V_ERR_* number (62 for a hostname
 * mismatch) and `verifyMessage` its text.
 */
export class SSLCertVerificationError extends SSLError {
  /** The class name, as Python prints it in tracebacks. */
  override name = "SSLCertVerificationError";
  /** OpenSSL's `X509_V_ERR_*` number (Python's `verify_code`). */
  verifyCode: number;
  /** OpenSSL's text for `verifyCode` (Python's `verify_message`). */
  verifyMessage: string;
  /** Always `SSL_ERROR_SSL` (1), as Python's verification failures are. */
  constructor(message: string, verifyCode: number, verifyMessage: string, library: string | null = "SSL", reason: string | null = "CERTIFICATE_VERIFY_FAILED") {
    super(1, message, library, reason);
    this.verifyCode = verifyCode;
    this.verifyMessage = verifyMessage;
  }
}

/**
 * Several errors raised together (Python's `ExceptionGroup`): what a
 * `TaskGroup` rejects with when its tasks fail, and what
 * `createConnection(..., { allReturnErrors: true })` rejects with. A subclass
 * of `AggregateError`, so `errors` holds the same list as `exceptions`.
 *
 * @example
 * ```ts
 * import { ExceptionGroup, taskGroup } from "tsyncio";
 * try {
 *   await taskGroup(async (tg) => { tg.createTask(async () => { throw new Error("boom"); }); });
 * } catch (e) {
 *   if (e instanceof ExceptionGroup) console.log(e.exceptions.map((x) => String(x)));
 * }
 * ```
 */
export class ExceptionGroup extends AggregateError {
  /**
   * A group of at least one error; the message gets a count of them
   * appended, as Python's `str()` of a group shows.
   *
   * @param message what the errors have in common
   * @param exceptions the errors (ValueError when empty)
   */
  constructor(message: string, exceptions: Iterable<unknown>) {
    const list = [...exceptions];
    if (list.length === 0) throw new ValueError("ExceptionGroup: the second argument must be a non-empty sequence");
    super(list, `${message} (${list.length} sub-exception${list.length === 1 ? "" : "s"})`);
    this.name = "ExceptionGroup";
  }

  /** The errors of the group (Python's `exceptions`; the same list as `errors`). */
  get exceptions(): unknown[] {
    return this.errors;
  }
}
