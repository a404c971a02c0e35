/**
 * The smallest watermark among a set of keys, kept up to date as their watermarks rise: a binary
 * min-heap of the keys.
 *
 * Watermarks only rise while their key is in the heap, and nearly every element raises one, so
 * the heap is ordered by each key's watermark as it was when the key was last placed, and a rise
 * costs nothing at the time: `min()` re-places the top while its watermark has moved on. A
 * placed value is never above the key's watermark, so once the top's is current it is the
 * smallest of all. Keys re-sift only when they reach the top, not on every rise.
 *
 * Nearly every element re-places one key, a sift through log2(keys) levels. The heap is typed
 * arrays of numbers (each key's number, its placed watermark, and where each number sits), so a
 * sift reads and writes a few contiguous arrays instead of a key object at every level: with
 * thousands of keys those objects are spread over the heap and each was a cache miss.
 */
export interface WatermarkHolder {
  watermark: number;
  /** The key's number in the heap (given at its first insert, kept until `clear`), -1 before. */
  heapId: number;
}

export class WatermarkHeap<K extends WatermarkHolder> {
  /** Keys by number. */
  private keys: K[] = [];
  /** The heap: key numbers, and what each was placed with (what the heap is ordered by). */
  private order = new Int32Array(16);
  private placed = new Float64Array(16);
  /** Place of each key number in `order`, -1 when not in the heap. */
  private position = new Int32Array(16).fill(-1);
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(item: K): boolean {
    return item.heapId >= 0 && this.position[item.heapId] >= 0;
  }

  /** The smallest watermark, +Infinity when empty. */
  min(): number {
    const { keys, order, placed } = this;
    while (this.count > 0) {
      const current = keys[order[0]].watermark;
      if (current === placed[0]) return current;
      placed[0] = current;
      this.down(0, order[0], current);
    }
    return Infinity;
  }

  /** Adds a key that is not in the heap. */
  insert(item: K): void {
    if (item.heapId < 0) {
      item.heapId = this.keys.length;
      this.keys.push(item);
      if (this.keys.length > this.position.length) this.grow();
    }
    if (this.count === this.order.length) this.grow();
    this.up(this.count++, item.heapId, item.watermark);
  }

  remove(item: K): void {
    if (!this.has(item)) return;
    const i = this.position[item.heapId];
    this.position[item.heapId] = -1;
    const last = --this.count;
    if (i === last) return;
    const id = this.order[last];
    const value = this.placed[last];
    this.down(i, id, value);
    this.up(this.position[id], id, value);
  }

  /** Call after `item.watermark` rose (never lower it while the item is in the heap): the heap catches up in `min()`. */
  raised(item: K): void {
    void item;
  }

  clear(): void {
    for (const item of this.keys) item.heapId = -1;
    this.keys = [];
    this.order = new Int32Array(16);
    this.placed = new Float64Array(16);
    this.position = new Int32Array(16).fill(-1);
    this.count = 0;
  }

  private grow(): void {
    const size = Math.max(this.order.length, this.position.length) * 2;
    const order = new Int32Array(size);
    order.set(this.order);
    const placed = new Float64Array(size);
    placed.set(this.placed);
    const position = new Int32Array(size).fill(-1);
    position.set(this.position);
    this.order = order;
    this.placed = placed;
    this.position = position;
  }

  /** Puts key `id`, placed with `value`, at slot `i` or above it. */
  private up(i: number, id: number, value: number): void {
    const { order, placed, position } = this;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (placed[parent] <= value) break;
      order[i] = order[parent];
      placed[i] = placed[parent];
      position[order[i]] = i;
      i = parent;
    }
    order[i] = id;
    placed[i] = value;
    position[id] = i;
  }

  /** Puts key `id`, placed with `value`, at slot `i` or below it. */
  private down(i: number, id: number, value: number): void {
    const { order, placed, position } = this;
    const n = this.count;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && placed[child + 1] < placed[child]) child++;
      if (placed[child] >= value) break;
      order[i] = order[child];
      placed[i] = placed[child];
      position[order[i]] = i;
      i = child;
    }
    order[i] = id;
    placed[i] = value;
    position[id] = i;
  }
}
