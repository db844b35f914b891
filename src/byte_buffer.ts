/**
 * A growable byte queue for StreamReader (Python's `bytearray` as asyncio
 * uses it): appended at the end, consumed from the front. Consumption only
 * moves a start offset; the bytes are moved down when appending would
 * otherwise grow the storage, so a long-lived connection does not keep
 * reallocating.
 * @internal
 */
/** Storage of a buffer whose adopted chunk was handed on: the next push allocates. */
const NO_STORAGE = new Uint8Array(0);

export class ByteBuffer {
  /** @internal */ _buf: Uint8Array;
  /** @internal */ _start = 0;
  /** @internal */ _end = 0;
  /** @internal the storage is a chunk handed over by `adopt` (it may be given out whole again) */
  _adopted = false;

  constructor(capacity = 1024) {
    this._buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this._end - this._start;
  }

  /** Append a copy of `data`. */
  push(data: Uint8Array): void {
    const n = data.length;
    if (this._end + n > this._buf.length) this._makeRoom(n);
    this._buf.set(data, this._end);
    this._end += n;
  }

  /**
   * Take `data` itself as the storage, without a copy; only when empty, and
   * only for bytes nobody else holds (a transport's fresh copy). A `take`
   * of all of it then returns it as it is.
   */
  adopt(data: Uint8Array): void {
    this._buf = data;
    this._start = 0;
    this._end = data.length;
    this._adopted = true;
  }

  /** Put `data` back in front of what is buffered (a read whose reader never resumed). */
  unshift(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    if (this._start >= n) {
      this._start -= n;
      this._buf.set(data, this._start);
      return;
    }
    const rest = this._buf.subarray(this._start, this._end);
    const next = new Uint8Array(Math.max(this._buf.length, (n + rest.length) * 2));
    next.set(data, 0);
    next.set(rest, n);
    this._buf = next;
    this._adopted = false;
    this._start = 0;
    this._end = n + rest.length;
  }

  /** Remove and return (a copy of) the first `n` bytes; all of them when n exceeds the length. */
  take(n: number): Uint8Array {
    const len = this.length;
    if (n > len) n = len;
    if (this._adopted && this._start === 0 && n === this._buf.length) {
      // The adopted chunk, whole: hand it on, and start over with fresh storage at the next push.
      const whole = this._buf;
      this._buf = NO_STORAGE;
      this._start = this._end = 0;
      this._adopted = false;
      return whole;
    }
    const out = this._buf.slice(this._start, this._start + n);
    this._start += n;
    if (this._start === this._end) this._start = this._end = 0;
    return out;
  }

  /** Drop the first `n` bytes. */
  skip(n: number): void {
    this._start = Math.min(this._start + n, this._end);
    if (this._start === this._end) this._start = this._end = 0;
  }

  clear(): void {
    this._start = this._end = 0;
    // A burst may have grown the storage a lot; do not keep it for an idle stream.
    if (this._buf.length > 256 * 1024) {
      this._buf = new Uint8Array(1024);
      this._adopted = false;
    }
  }

  /** The byte at `i` (from the front). */
  at(i: number): number {
    return this._buf[this._start + i];
  }

  /** Where `sep` first starts at or after `from` (both from the front), or -1. */
  indexOf(sep: Uint8Array, from: number): number {
    const end = this._end;
    // Only the live bytes: a search of the whole storage would scan stale
    // bytes up to its capacity (megabytes after a burst) on every miss.
    const buf = end === this._buf.length ? this._buf : this._buf.subarray(0, end);
    const m = sep.length;
    const first = sep[0];
    let i = this._start + from;
    while (i + m <= end) {
      const j = buf.indexOf(first, i);
      if (j < 0 || j + m > end) return -1;
      let k = 1;
      while (k < m && buf[j + k] === sep[k]) k++;
      if (k === m) return j - this._start;
      i = j + 1;
    }
    return -1;
  }

  /** True when the bytes from `at` on start with `sep`. */
  startsWith(sep: Uint8Array, at: number): boolean {
    if (at + sep.length > this.length) return false;
    for (let k = 0; k < sep.length; k++) if (this._buf[this._start + at + k] !== sep[k]) return false;
    return true;
  }

  /** @internal */
  _makeRoom(n: number): void {
    const len = this.length;
    if (len + n <= this._buf.length && this._start >= len) {
      // Enough room once the live bytes move down (and moving them is cheap).
      this._buf.copyWithin(0, this._start, this._end);
    } else {
      const next = new Uint8Array(Math.max(this._buf.length * 2, len + n, 1024));
      next.set(this._buf.subarray(this._start, this._end), 0);
      this._buf = next;
      this._adopted = false;
    }
    this._start = 0;
    this._end = len;
  }
}
