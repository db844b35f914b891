/** A binary min-heap of timer handles ordered by (deadline, scheduling order). */

import type { TimerHandle } from "./handles.ts";

function less(a: TimerHandle, b: TimerHandle): boolean {
  return a._when < b._when || (a._when === b._when && a._seq < b._seq);
}

export function heapPush(h: TimerHandle[], item: TimerHandle): void {
  let i = h.length;
  h.push(item);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!less(item, h[p])) break;
    h[i] = h[p];
    i = p;
  }
  h[i] = item;
}

export function heapPop(h: TimerHandle[]): TimerHandle {
  const top = h[0];
  const last = h.pop()!;
  if (h.length > 0) siftDown(h, 0, last);
  return top;
}

function siftDown(h: TimerHandle[], i: number, item: TimerHandle): void {
  const n = h.length;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && less(h[c + 1], h[c])) c++;
    if (!less(h[c], item)) break;
    h[i] = h[c];
    i = c;
  }
  h[i] = item;
}

export function heapify(h: TimerHandle[]): void {
  for (let i = (h.length >> 1) - 1; i >= 0; i--) siftDown(h, i, h[i]);
}
