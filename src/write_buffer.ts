/**
 * A transport's pending output: one contiguous, growable byte buffer.
 *
 * Written data is copied in (the caller may reuse its array once `write()`
 * returns, which Python's immutable bytes never had to worry about), and the
 * kernel is handed the whole pending region in one `send`, so many small
 * writes cost one system call.
 */
export class WriteBuffer {
  #buf = new Uint8Array(new ArrayBuffer(0));
  #start = 0;
  #end = 0;

  get size(): number {
    return this.#end - this.#start;
  }

  /** The pending bytes (a view; valid until the next change). */
  pending(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  push(data: Uint8Array): void {
    const n = data.byteLength;
    if (this.#end + n > this.#buf.byteLength) this.#make(n);
    this.#buf.set(data, this.#end);
    this.#end += n;
  }

  /** Drop the first `n` bytes (they were sent). */
  consume(n: number): void {
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
  }

  clear(): void {
    this.#start = this.#end = 0;
    if (this.#buf.byteLength > 1 << 20) this.#buf = new Uint8Array(new ArrayBuffer(0));
  }

  #make(extra: number): void {
    const size = this.size;
    const need = size + extra;
    if (need <= this.#buf.byteLength) {
      // Room enough once the sent prefix is dropped: slide the rest down.
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      let cap = Math.max(this.#buf.byteLength * 2, 16 * 1024);
      while (cap < need) cap *= 2;
      const next = new Uint8Array(new ArrayBuffer(cap));
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
    }
    this.#start = 0;
    this.#end = size;
  }
}
