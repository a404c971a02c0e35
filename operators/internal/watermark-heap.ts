/**
 * The smallest watermark among a set of keys, kept up to date as their watermarks rise: a binary
 * min-heap of the keys that records each key's place in it (`heapIndex`), so that a key whose
 * watermark rose moves down in O(log n) and the minimum is read in O(1).
 */
export interface WatermarkHolder {
  watermark: number;
  /** Place in the heap, -1 when not in it. */
  heapIndex: number;
}

export class WatermarkHeap<K extends WatermarkHolder> {
  private readonly items: K[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The smallest watermark, +Infinity when empty. */
  min(): number {
    return this.items.length === 0 ? Infinity : this.items[0].watermark;
  }

  insert(item: K): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  remove(item: K): void {
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.items.pop() as K;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.down(i);
    this.up(last.heapIndex);
  }

  /** Call after `item.watermark` rose. */
  raised(item: K): void {
    if (item.heapIndex >= 0) this.down(item.heapIndex);
  }

  clear(): void {
    for (const item of this.items) item.heapIndex = -1;
    this.items.length = 0;
  }

  private up(i: number): void {
    const items = this.items;
    const item = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent].watermark <= item.watermark) break;
      items[i] = items[parent];
      items[i].heapIndex = i;
      i = parent;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && items[child + 1].watermark < items[child].watermark) child++;
      if (items[child].watermark >= item.watermark) break;
      items[i] = items[child];
      items[i].heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
