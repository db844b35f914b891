/**
 * SelectorEventLoop: the loop over a readiness selector (epoll or poll).
 * Adds descriptor watching (`addReader`/`addWriter`) to BaseEventLoop.
 */

import { BaseEventLoop } from "./base_events.ts";
import { type BaseSelector, EVENT_READ, EVENT_WRITE, makeSelector, type SelectorName } from "./selectors.ts";
import { Handle, type Callback } from "./handles.ts";
import { ValueError } from "./errors.ts";
import { formatValue } from "./format.ts";

/** A descriptor: a number, or any object with `fileno()` (Socket, a pipe). */
export type FileLike = number | { fileno(): number };

type Watch = [reader: Handle | null, writer: Handle | null];

export interface EventLoopOptions {
  /** Force a selector ("epoll" or "poll"); the default is the best for this OS. */
  selector?: SelectorName;
}

/** Turn a descriptor or an object with `fileno()` into a descriptor number. */
export function fileobjToFd(fileobj: FileLike): number {
  let fd: unknown = fileobj;
  if (typeof fileobj === "object" && fileobj !== null && typeof fileobj.fileno === "function") {
    fd = fileobj.fileno();
  }
  if (typeof fd !== "number" || !Number.isInteger(fd)) {
    throw new TypeError(`a file descriptor (an integer or an object with fileno()) was expected, got ${formatValue(fileobj)}`);
  }
  if (fd < 0) throw new ValueError(`Invalid file descriptor: ${fd}`);
  return fd;
}

export class SelectorEventLoop extends BaseEventLoop {
  /** @internal */ _selector: BaseSelector<Watch>;

  constructor(options: EventLoopOptions = {}) {
    super();
    this._selector = makeSelector<Watch>(options.selector);
  }

  /** Which selector this loop uses: "epoll" or "poll". */
  get selectorName(): string {
    return this._selector.name;
  }

  /**
   * Call `callback(...args)` whenever `fd` is readable. Replaces an earlier
   * reader of the same descriptor. The loop never closes the descriptor.
   */
  addReader(fd: FileLike, callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    this._checkCallback(callback, "addReader");
    return this._addWatch(fileobjToFd(fd), EVENT_READ, new Handle(callback, args, this));
  }

  /** Stop watching `fd` for reading; true if a reader was registered. */
  removeReader(fd: FileLike): boolean {
    return this._removeWatch(fd, EVENT_READ);
  }

  /** Call `callback(...args)` whenever `fd` is writable. Replaces an earlier writer. */
  addWriter(fd: FileLike, callback: Callback, ...args: unknown[]): Handle {
    this._checkClosed();
    this._checkCallback(callback, "addWriter");
    return this._addWatch(fileobjToFd(fd), EVENT_WRITE, new Handle(callback, args, this));
  }

  /** Stop watching `fd` for writing; true if a writer was registered. */
  removeWriter(fd: FileLike): boolean {
    return this._removeWatch(fd, EVENT_WRITE);
  }

  /** @internal */
  _addWatch(fd: number, event: number, handle: Handle): Handle {
    const sel = this._selector;
    const key = sel.get(fd);
    if (!key) {
      sel.register(fd, event, event === EVENT_READ ? [handle, null] : [null, handle]);
    } else {
      const [reader, writer] = key.data;
      const old = event === EVENT_READ ? reader : writer;
      sel.modify(fd, key.events | event, event === EVENT_READ ? [handle, writer] : [reader, handle]);
      old?.cancel();
    }
    if (this._waiting) this._wake(); // re-park on the new set
    return handle;
  }

  /** @internal */
  _removeWatch(fileobj: FileLike, event: number): boolean {
    if (this._closed) return false;
    const fd = fileobjToFd(fileobj);
    const sel = this._selector;
    const key = sel.get(fd);
    if (!key) return false;
    let [reader, writer] = key.data;
    const old = event === EVENT_READ ? reader : writer;
    if (event === EVENT_READ) reader = null;
    else writer = null;
    const mask = key.events & ~event;
    if (mask === 0) sel.unregister(fd);
    else sel.modify(fd, mask, [reader, writer]);
    if (old) {
      old.cancel();
      return true;
    }
    return false;
  }

  protected _processIo(): void {
    const sel = this._selector;
    if (sel.count === 0) return;
    const n = sel.select();
    const ready = this._ready;
    for (let i = 0; i < n; i++) {
      const key = sel.get(sel.readyFds[i]);
      if (!key) continue;
      const mask = sel.readyEvents[i] & key.events;
      const [reader, writer] = key.data;
      if (mask & EVENT_READ && reader !== null && !reader._cancelled) ready.push(reader);
      if (mask & EVENT_WRITE && writer !== null && !writer._cancelled) ready.push(writer);
    }
  }

  protected _hasIo(): boolean {
    return this._selector.count > 0;
  }

  protected _parkIo(cb: () => void): void {
    this._selector.park(cb);
  }

  protected _unparkIo(release: boolean): void {
    this._selector.unpark(release);
  }

  protected _closeIo(): void {
    for (const key of this._selector._keys.values()) {
      key.data[0]?.cancel();
      key.data[1]?.cancel();
    }
    this._selector.close();
  }
}

/** The event loop of this platform (asyncio 3.13's `asyncio.EventLoop`). */
export const EventLoop = SelectorEventLoop;
export type EventLoop = SelectorEventLoop;
