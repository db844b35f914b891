/**
 * UNIX signal handlers for a loop (asyncio's `add_signal_handler`).
 *
 * The host runtime owns signal delivery: its listener API plays the part of
 * CPython's wakeup fd (FFI-NOTES.md §5). A listener only queues the handler
 * on the loop and wakes it, so the callback always runs as a loop callback,
 * never inside the host's signal dispatch. Hosts differ in one visible way:
 * Deno coalesces a burst of the same signal into one delivery.
 */

import { C, native } from "./native.ts";
import { RuntimeError, ValueError } from "./errors.ts";
import { type Callback, Handle, type HandleLoop } from "./handles.ts";
import { isCoroutineFunction } from "./coroutines.ts";
import { formatValue } from "./format.ts";

/** Signal numbers by name ("SIGINT" → 2) for this OS, as Python's `signal` module. */
export const signal: Readonly<Record<string, number>> = Object.freeze({ ...C.signals });

const names = new Map<number, string>(Object.entries(C.signals).map(([k, v]) => [v, k]));

/** A signal number from a number or a name; TypeError/ValueError as Python's `signal`. */
export function signalNumber(sig: unknown): number {
  if (typeof sig === "string") {
    const n = C.signals[sig] ?? C.signals["SIG" + sig];
    if (n === undefined) throw new ValueError(`invalid signal name ${JSON.stringify(sig)}`);
    return n;
  }
  if (typeof sig !== "number" || !Number.isInteger(sig)) {
    throw new TypeError(`sig must be an int or a signal name, got ${formatValue(sig)}`);
  }
  if (!names.has(sig)) throw new ValueError(`invalid signal number ${sig}`);
  return sig;
}

/** What the registry needs of its loop. */
export interface SignalLoop extends HandleLoop {
  _checkClosed(): void;
  /** Queue `handle` and wake the loop (safe from host callbacks). */
  _addCallbackSignalsafe(handle: Handle): void;
}

interface Entry {
  handle: Handle;
  name: string;
  listener: () => void;
}

export class SignalHandlers {
  #loop: SignalLoop;
  #entries = new Map<number, Entry>();

  constructor(loop: SignalLoop) {
    this.#loop = loop;
  }

  /** Install (or replace) the handler for `sig`. */
  add(sig: number | string, callback: Callback, args: unknown[]): void {
    if (typeof callback !== "function") {
      throw new TypeError(`a callable object was expected by addSignalHandler(), got ${formatValue(callback)}`);
    }
    if (isCoroutineFunction(callback)) throw new TypeError("coroutines cannot be used with addSignalHandler()");
    const num = signalNumber(sig);
    this.#loop._checkClosed();
    const name = names.get(num)!;
    // No process may catch these; some hosts would accept a listener that never fires.
    if (name === "SIGKILL" || name === "SIGSTOP") throw new RuntimeError(`sig ${num} cannot be caught`);
    const handle = new Handle(callback, args, this.#loop);
    const old = this.#entries.get(num);
    if (old) {
      old.handle = handle;
      return;
    }
    const entry: Entry = { handle, name, listener: () => this.#deliver(num) };
    try {
      native.addSignalListener(name, entry.listener);
    } catch (e) {
      throw new RuntimeError(`sig ${num} cannot be caught (${e instanceof Error ? e.message : String(e)})`);
    }
    this.#entries.set(num, entry);
  }

  /** Remove the handler for `sig`, restoring the host's default; false if there was none. */
  remove(sig: number | string): boolean {
    const num = signalNumber(sig);
    const entry = this.#entries.get(num);
    if (!entry) return false;
    this.#entries.delete(num);
    entry.handle.cancel();
    native.removeSignalListener(entry.name, entry.listener);
    return true;
  }

  /** Remove every handler (the loop is closing). */
  clear(): void {
    for (const num of [...this.#entries.keys()]) this.remove(num);
  }

  #deliver(num: number): void {
    const entry = this.#entries.get(num);
    if (!entry) return;
    if (entry.handle.cancelled()) {
      this.remove(num);
      return;
    }
    this.#loop._addCallbackSignalsafe(entry.handle);
  }
}
