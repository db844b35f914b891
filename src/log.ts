/**
 * The library's logger (asyncio logs through `logging.getLogger("asyncio")`).
 * It writes to the console by default; `setLogger` replaces it, for example
 * to route warnings elsewhere or to capture them in tests.
 */

/** Where the library's log records go; the methods mirror `logging.Logger`'s levels. */
export interface Logger {
  /** Debug-mode diagnostics (transport state changes, handshake timing); the console logger drops them. */
  debug(msg: string): void;
  /** Routine events (Python's `logger.info`). */
  info(msg: string): void;
  /** Something the application should fix (Python's `logger.warning`). */
  warning(msg: string): void;
  /** A failure nobody else will report, with the error when there is one (Python's `logger.error(exc_info=...)`). */
  error(msg: string, err?: unknown): void;
}

const consoleLogger: Logger = {
  debug: () => {},
  info: (m) => console.info(m),
  warning: (m) => console.warn(m),
  error: (m, err) => (err === undefined ? console.error(m) : console.error(m, err)),
};

export let logger: Logger = consoleLogger;

/** Whether the logger is still the console one (`setLogger` was not called, or was given null). */
export function isConsoleLogger(): boolean {
  return logger === consoleLogger;
}

/** Replace the logger (null restores the console logger). */
export function setLogger(l: Logger | null): void {
  logger = l ?? consoleLogger;
}
