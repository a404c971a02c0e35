/**
 * The smallest watermark among a set of keys, kept up to date as their watermarks rise: a binary
 * min-heap of entries (a watermark as placed, an entry id, the key).
 *
 * Watermarks only rise while their key is in the heap, and nearly every element raises one, so
 * the heap is ordered by each key's watermark as it was when the key was last placed, and a rise
 * costs nothing at the time: `min()` re-places the top while its watermark has moved on. A
 * placed value is never above the key's watermark, so once the top's is current it is the
 * smallest of all.
 *
 * The keys are not told where they sit: with thousands of keys, writing each moved key's place
 * into it touched a dozen cold objects per re-placed top. A key holds only the id of its entry
 * (`heapEntry`); sifting moves the entries' arrays and reads no key. Removing a key clears its id
 * and leaves its entry behind, dropped when it comes to the top (or when stale entries outnumber
 * the live ones, in a rebuild).
 */
export interface WatermarkHolder {
  watermark: number;
  /** The id of the key's entry in the heap, -1 when not in it. */
  heapEntry: number;
}

export class WatermarkHeap<K extends WatermarkHolder> {
  private items: K[] = [];
  /** Each entry's watermark when it was placed: what the heap is ordered by. */
  private placed: number[] = [];
  /** Each entry's id: an entry whose key holds another id (or -1) is stale. */
  private ids: number[] = [];
  private nextId = 0;
  private live = 0;

  /** Keys in the heap. */
  get size(): number {
    return this.live;
  }

  /** The smallest watermark, +Infinity when empty. */
  min(): number {
    const { items, placed, ids } = this;
    while (items.length > 0) {
      const top = items[0];
      if (top.heapEntry !== ids[0]) this.pop();
      else if (top.watermark !== placed[0]) {
        placed[0] = top.watermark;
        this.down(0);
      } else return placed[0];
    }
    return Infinity;
  }

  insert(item: K): void {
    if (item.heapEntry >= 0) return;
    const id = this.nextId++;
    item.heapEntry = id;
    this.live++;
    this.items.push(item);
    this.placed.push(item.watermark);
    this.ids.push(id);
    this.up(this.items.length - 1);
    // Entries of removed keys that never reach the top would pile up: rebuild from the live ones.
    if (this.items.length > 2 * this.live + 64) this.rebuild();
  }

  remove(item: K): void {
    if (item.heapEntry < 0) return;
    item.heapEntry = -1;
    this.live--;
  }

  /** Call after `item.watermark` rose (never lower it while the item is in the heap): the heap catches up in `min()`. */
  raised(item: K): void {
    void item;
  }

  clear(): void {
    for (let i = 0; i < this.items.length; i++) if (this.items[i].heapEntry === this.ids[i]) this.items[i].heapEntry = -1;
    this.items.length = 0;
    this.placed.length = 0;
    this.ids.length = 0;
    this.live = 0;
  }

  private pop(): void {
    const { items, placed, ids } = this;
    const lastItem = items.pop() as K;
    const lastPlaced = placed.pop() as number;
    const lastId = ids.pop() as number;
    if (items.length === 0) return;
    items[0] = lastItem;
    placed[0] = lastPlaced;
    ids[0] = lastId;
    this.down(0);
  }

  private rebuild(): void {
    const items: K[] = [];
    const placed: number[] = [];
    const ids: number[] = [];
    for (let i = 0; i < this.items.length; i++) {
      const item = this.items[i];
      if (item.heapEntry !== this.ids[i]) continue;
      items.push(item);
      placed.push(this.placed[i]);
      ids.push(this.ids[i]);
    }
    this.items = items;
    this.placed = placed;
    this.ids = ids;
    for (let i = (items.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const { items, placed, ids } = this;
    const item = items[i];
    const value = placed[i];
    const id = ids[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (placed[parent] <= value) break;
      items[i] = items[parent];
      placed[i] = placed[parent];
      ids[i] = ids[parent];
      i = parent;
    }
    items[i] = item;
    placed[i] = value;
    ids[i] = id;
  }

  private down(i: number): void {
    const { items, placed, ids } = this;
    const n = items.length;
    const item = items[i];
    const value = placed[i];
    const id = ids[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && placed[child + 1] < placed[child]) child++;
      if (placed[child] >= value) break;
      items[i] = items[child];
      placed[i] = placed[child];
      ids[i] = ids[child];
      i = child;
    }
    items[i] = item;
    placed[i] = value;
    ids[i] = id;
  }
}
