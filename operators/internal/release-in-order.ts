/**
 * Releases everything some keys hold in (event time, arrival sequence) order across the keys:
 * a k-way merge of their heaps through a heap of the keys ordered by their earliest element.
 * The merge heap keeps each key's earliest (time, sequence) in typed arrays next to the key's
 * index, so sifting reads contiguous memory instead of following every key's arrays; nothing is
 * allocated per element (the completion flush of `reorderByWatermark` may hold hundreds of
 * thousands, where collecting and sorting entries allocated one object each).
 */
import type { KeyState } from './reorder-key-state.js';

/**
 * Calls `release` with the key whose earliest element comes next, until every key is empty or
 * `release` returns false. `release` must take exactly that element out of the key (`pop`).
 */
export function releaseInOrder<T>(keys: readonly KeyState<T>[], release: (state: KeyState<T>) => boolean): void {
  const size = keys.length;
  const times = new Float64Array(size);
  const seqs = new Float64Array(size);
  const owners = new Int32Array(size);
  let n = 0;
  for (let k = 0; k < size; k++) {
    const state = keys[k];
    if (state.times.length === 0) continue;
    times[n] = state.times[0];
    seqs[n] = state.seqs[0];
    owners[n] = k;
    n++;
  }
  /** Moves the entry (time, seq, owner) down from slot `i` to its place. */
  const siftDown = (i: number, time: number, seq: number, owner: number): void => {
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (times[right] < times[child] || (times[right] === times[child] && seqs[right] < seqs[child]))) child = right;
      const ct = times[child];
      if (time < ct || (time === ct && seq < seqs[child])) break;
      times[i] = ct;
      seqs[i] = seqs[child];
      owners[i] = owners[child];
      i = child;
    }
    times[i] = time;
    seqs[i] = seq;
    owners[i] = owner;
  };
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(i, times[i], seqs[i], owners[i]);
  while (n > 0) {
    const owner = owners[0];
    const state = keys[owner];
    if (!release(state)) return;
    if (state.times.length > 0) siftDown(0, state.times[0], state.seqs[0], owner);
    else {
      n--;
      if (n > 0) siftDown(0, times[n], seqs[n], owners[n]);
    }
  }
}
