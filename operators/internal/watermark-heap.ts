/**
 * The smallest watermark among a set of keys, kept up to date as their watermarks rise: a binary
 * min-heap of the keys that records each key's place in it (`heapIndex`).
 *
 * Watermarks only rise while their key is in the heap, and nearly every element raises one, so
 * the heap is ordered by each key's watermark as it was when the key was last placed, and a rise
 * costs nothing at the time: `min()` re-places the top while its watermark has moved on. A
 * placed value is never above the key's watermark, so once the top's is current it is the
 * smallest of all. Keys re-sift only when they reach the top, not on every rise.
 */
export interface WatermarkHolder {
  watermark: number;
  /** Place in the heap, -1 when not in it. */
  heapIndex: number;
}

export class WatermarkHeap<K extends WatermarkHolder> {
  private readonly items: K[] = [];
  /** Each item's watermark when it was placed: what the heap is ordered by. */
  private readonly placed: number[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The smallest watermark, +Infinity when empty. */
  min(): number {
    const { items, placed } = this;
    while (items.length > 0 && items[0].watermark !== placed[0]) {
      placed[0] = items[0].watermark;
      this.down(0);
    }
    return items.length === 0 ? Infinity : placed[0];
  }

  insert(item: K): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.placed.push(item.watermark);
    this.up(item.heapIndex);
  }

  remove(item: K): void {
    const i = item.heapIndex;
    if (i < 0) return;
    const last = this.items.pop() as K;
    const lastPlaced = this.placed.pop() as number;
    item.heapIndex = -1;
    if (last === item) return;
    this.items[i] = last;
    this.placed[i] = lastPlaced;
    last.heapIndex = i;
    this.down(i);
    this.up(last.heapIndex);
  }

  /** Call after `item.watermark` rose (never lower it while the item is in the heap): the heap catches up in `min()`. */
  raised(item: K): void {
    void item;
  }

  clear(): void {
    for (const item of this.items) item.heapIndex = -1;
    this.items.length = 0;
    this.placed.length = 0;
  }

  private up(i: number): void {
    const { items, placed } = this;
    const item = items[i];
    const value = placed[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (placed[parent] <= value) break;
      items[i] = items[parent];
      placed[i] = placed[parent];
      items[i].heapIndex = i;
      i = parent;
    }
    items[i] = item;
    placed[i] = value;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const { items, placed } = this;
    const n = items.length;
    const item = items[i];
    const value = placed[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && placed[child + 1] < placed[child]) child++;
      if (placed[child] >= value) break;
      items[i] = items[child];
      placed[i] = placed[child];
      items[i].heapIndex = i;
      i = child;
    }
    items[i] = item;
    placed[i] = value;
    item.heapIndex = i;
  }
}
