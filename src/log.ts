/**
 * The library's logger (asyncio logs through `logging.getLogger("asyncio")`).
 * It writes to the console by default; `setLogger` replaces it, for example
 * to route warnings elsewhere or to capture them in tests.
 */

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warning(msg: string): void;
  error(msg: string, err?: unknown): void;
}

const consoleLogger: Logger = {
  debug: () => {},
  info: (m) => console.info(m),
  warning: (m) => console.warn(m),
  error: (m, err) => (err === undefined ? console.error(m) : console.error(m, err)),
};

export let logger: Logger = consoleLogger;

/** Replace the logger (null restores the console logger). */
export function setLogger(l: Logger | null): void {
  logger = l ?? consoleLogger;
}
