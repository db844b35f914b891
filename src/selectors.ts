/**
 * Readiness selectors over libc (Python's `selectors` module, trimmed to
 * what the loop needs): epoll on Linux, poll(2) everywhere.
 *
 * `select()` never blocks: it harvests what is ready now. Waiting happens
 * through `park()`, which hands the descriptor set to the host adapter so the
 * JavaScript thread stays free (DESIGN.md "The loop").
 */

import { C, libc, native } from "./native.ts";
import { OSError, raiseErrno } from "./errors.ts";
import type { Parker } from "../ffi/types.ts";

export const EVENT_READ = 1;
export const EVENT_WRITE = 2;

export interface SelectorKey<D> {
  fd: number;
  events: number;
  data: D;
}

export abstract class BaseSelector<D> {
  /** @internal */ _keys: Map<number, SelectorKey<D>> = new Map();
  /** Descriptors found ready by the last `select()`. */
  readyFds: Int32Array = new Int32Array(64);
  /** Their EVENT_READ/EVENT_WRITE masks. */
  readyEvents: Uint8Array = new Uint8Array(64);
  /** @internal */ _parker: Parker | null = null;
  /** @internal */ _closed = false;

  abstract readonly name: string;

  get count(): number {
    return this._keys.size;
  }

  get(fd: number): SelectorKey<D> | undefined {
    return this._keys.get(fd);
  }

  register(fd: number, events: number, data: D): SelectorKey<D> {
    if (this._keys.has(fd)) throw new Error(`${fd} is already registered`);
    this._add(fd, events);
    const key = { fd, events, data };
    this._keys.set(fd, key);
    return key;
  }

  modify(fd: number, events: number, data: D): SelectorKey<D> {
    const key = this._keys.get(fd);
    if (!key) throw new Error(`${fd} is not registered`);
    if (events !== key.events) this._mod(fd, events);
    key.events = events;
    key.data = data;
    return key;
  }

  unregister(fd: number): SelectorKey<D> | undefined {
    const key = this._keys.get(fd);
    if (!key) return undefined;
    this._keys.delete(fd);
    this._del(fd);
    return key;
  }

  /**
   * Harvest ready descriptors without blocking; returns how many entries of
   * readyFds/readyEvents are valid.
   */
  abstract select(): number;

  /** Call `cb` (later, on the JavaScript thread) once something may be ready. */
  park(cb: () => void): void {
    const [set, n, dedicated] = this._parkSet();
    (this._parker ??= native.createParker()).park(set, n, cb, dedicated);
  }

  unpark(release: boolean): void {
    this._parker?.unpark(release);
  }

  close(): void {
    if (this._closed) return;
    this._closed = true;
    this._parker?.close();
    this._parker = null;
    this._keys.clear();
  }

  /** @internal */
  _grow(n: number): void {
    if (n <= this.readyFds.length) return;
    const fds = new Int32Array(n * 2);
    const ev = new Uint8Array(n * 2);
    fds.set(this.readyFds);
    ev.set(this.readyEvents);
    this.readyFds = fds;
    this.readyEvents = ev;
  }

  protected abstract _add(fd: number, events: number): void;
  protected abstract _mod(fd: number, events: number): void;
  protected abstract _del(fd: number): void;
  /** The pollfd set to wait on, its length, and whether it is one private descriptor. */
  protected abstract _parkSet(): [Uint8Array, number, boolean];
}

/** epoll(7), level-triggered; one event buffer reused for every harvest. */
export class EpollSelector<D> extends BaseSelector<D> {
  readonly name = "epoll";
  #epfd: number;
  #ev = new Uint8Array(new ArrayBuffer(16));
  #evView = new DataView(this.#ev.buffer);
  #buf: Uint8Array;
  #bufView: DataView;
  #max = 64;
  #pollfd = new Uint8Array(new ArrayBuffer(8));

  constructor() {
    super();
    if (!libc.epoll_create1) throw new OSError(38, "epoll is not available on this system");
    this.#epfd = libc.epoll_create1(C.EPOLL_CLOEXEC);
    if (this.#epfd < 0) raiseErrno("epoll_create1");
    this.#buf = new Uint8Array(new ArrayBuffer(this.#max * C.EPOLL_EVENT_SIZE));
    this.#bufView = new DataView(this.#buf.buffer);
    const pv = new DataView(this.#pollfd.buffer);
    pv.setInt32(0, this.#epfd, true);
    pv.setInt16(4, C.POLLIN, true);
  }

  fileno(): number {
    return this.#epfd;
  }

  #ctl(op: number, fd: number, events: number): void {
    const v = this.#evView;
    v.setUint32(0, (events & EVENT_READ ? C.EPOLLIN : 0) | (events & EVENT_WRITE ? C.EPOLLOUT : 0), true);
    v.setInt32(C.EPOLL_DATA_OFFSET, fd, true);
    v.setInt32(C.EPOLL_DATA_OFFSET + 4, 0, true);
    if (libc.epoll_ctl!(this.#epfd, op, fd, this.#ev) < 0) raiseErrno(`epoll_ctl(fd ${fd})`);
  }

  protected _add(fd: number, events: number): void {
    this.#ctl(C.EPOLL_CTL_ADD, fd, events);
  }

  protected _mod(fd: number, events: number): void {
    this.#ctl(C.EPOLL_CTL_MOD, fd, events);
  }

  protected _del(fd: number): void {
    // The descriptor may be closed already (then the kernel dropped it): ignore errors.
    libc.epoll_ctl!(this.#epfd, C.EPOLL_CTL_DEL, fd, this.#ev);
  }

  select(): number {
    const want = Math.min(Math.max(this._keys.size, 1), 4096);
    if (want > this.#max) {
      this.#max = Math.max(want, this.#max * 2);
      this.#buf = new Uint8Array(new ArrayBuffer(this.#max * C.EPOLL_EVENT_SIZE));
      this.#bufView = new DataView(this.#buf.buffer);
    }
    const n = libc.epoll_wait!(this.#epfd, this.#buf, this.#max, 0);
    if (n <= 0) return 0; // EINTR counts as nothing ready
    this._grow(n);
    const v = this.#bufView;
    const size = C.EPOLL_EVENT_SIZE;
    const off = C.EPOLL_DATA_OFFSET;
    const IN = C.EPOLLIN, OUT = C.EPOLLOUT;
    for (let i = 0; i < n; i++) {
      const ev = v.getUint32(i * size, true);
      let mask = 0;
      // As Python's selectors: anything but "out" (ERR, HUP) wakes readers,
      // anything but "in" wakes writers.
      if (ev & ~OUT) mask |= EVENT_READ;
      if (ev & ~IN) mask |= EVENT_WRITE;
      this.readyFds[i] = v.getInt32(i * size + off, true);
      this.readyEvents[i] = mask;
    }
    return n;
  }

  protected _parkSet(): [Uint8Array, number, boolean] {
    return [this.#pollfd, 1, true];
  }

  override close(): void {
    if (this._closed) return;
    super.close();
    libc.close(this.#epfd);
    this.#epfd = -1;
  }
}

/** poll(2): the portable selector. The pollfd array is rebuilt lazily after changes. */
export class PollSelector<D> extends BaseSelector<D> {
  readonly name = "poll";
  #buf = new Uint8Array(new ArrayBuffer(8 * 64));
  #view = new DataView(this.#buf.buffer);
  #n = 0;
  #dirty = false;

  protected _add(fd: number, _events: number): void {
    // poll(2) reports a bad descriptor only when polled; check now, as epoll does.
    if (libc.fcntl(fd, C.F_GETFD, 0) < 0) raiseErrno(`fd ${fd}`);
    this.#dirty = true;
  }

  protected _mod(): void {
    this.#dirty = true;
  }

  protected _del(): void {
    this.#dirty = true;
  }

  #rebuild(): void {
    this.#dirty = false;
    const n = this._keys.size;
    if (n * 8 > this.#buf.byteLength) {
      this.#buf = new Uint8Array(new ArrayBuffer(n * 16));
      this.#view = new DataView(this.#buf.buffer);
    }
    const v = this.#view;
    let i = 0;
    for (const key of this._keys.values()) {
      v.setInt32(i * 8, key.fd, true);
      v.setInt16(i * 8 + 4, (key.events & EVENT_READ ? C.POLLIN : 0) | (key.events & EVENT_WRITE ? C.POLLOUT : 0), true);
      v.setInt16(i * 8 + 6, 0, true);
      i++;
    }
    this.#n = n;
  }

  select(): number {
    if (this.#dirty) this.#rebuild();
    if (this.#n === 0) return 0;
    const r = libc.poll(this.#buf, this.#n, 0);
    if (r <= 0) return 0;
    this._grow(r);
    const v = this.#view;
    let k = 0;
    for (let i = 0; i < this.#n && k < r; i++) {
      const rev = v.getInt16(i * 8 + 6, true);
      if (rev === 0) continue;
      let mask = 0;
      if (rev & ~C.POLLOUT) mask |= EVENT_READ;
      if (rev & ~C.POLLIN) mask |= EVENT_WRITE;
      this.readyFds[k] = v.getInt32(i * 8, true);
      this.readyEvents[k] = mask;
      k++;
    }
    return k;
  }

  protected _parkSet(): [Uint8Array, number, boolean] {
    if (this.#dirty) this.#rebuild();
    return [this.#buf, this.#n, false];
  }
}

/** A selector to force with `newEventLoop({ selector })`: "epoll" (Linux) or the portable "poll". */
export type SelectorName = "epoll" | "poll";

/** The best selector for this OS, or the one named. */
export function makeSelector<D>(name?: SelectorName): BaseSelector<D> {
  const which = name ?? (libc.epoll_create1 ? "epoll" : "poll");
  if (which === "epoll") return new EpollSelector<D>();
  if (which === "poll") return new PollSelector<D>();
  throw new TypeError(`unknown selector ${JSON.stringify(name)}: use "epoll" or "poll"`);
}
