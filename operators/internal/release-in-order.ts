/**
 * Releases everything some keys hold in (event time, arrival sequence) order across the keys:
 * a k-way merge of their heaps through a heap of the keys ordered by their earliest element.
 * It allocates nothing per element (the completion flush of `reorderByWatermark` may hold
 * hundreds of thousands), where collecting and sorting entries allocated one object each.
 */
import type { KeyState } from './reorder-key-state.js';

/** Whether `a`'s earliest element comes before `b`'s. Both hold something. */
function before<T>(a: KeyState<T>, b: KeyState<T>): boolean {
  const ta = a.times[0];
  const tb = b.times[0];
  return ta < tb || (ta === tb && a.seqs[0] < b.seqs[0]);
}

function siftDown<T>(heap: KeyState<T>[], i: number, n: number): void {
  const item = heap[i];
  for (;;) {
    let child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && before(heap[child + 1], heap[child])) child++;
    if (!before(heap[child], item)) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = item;
}

/**
 * Calls `release` with the key whose earliest element comes next, until every key is empty or
 * `release` returns false. `release` must take exactly that element out of the key (`pop`).
 * Reorders `keys` (used as the heap).
 */
export function releaseInOrder<T>(keys: KeyState<T>[], release: (state: KeyState<T>) => boolean): void {
  let n = 0;
  for (const state of keys) if (state.times.length > 0) keys[n++] = state;
  keys.length = n;
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(keys, i, n);
  while (n > 0) {
    const top = keys[0];
    if (!release(top)) return;
    if (top.times.length === 0) {
      n--;
      keys[0] = keys[n];
      keys.length = n;
      if (n === 0) return;
    }
    siftDown(keys, 0, n);
  }
}
