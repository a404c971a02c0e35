/**
 * A binary min-heap ordered by (time, arrival sequence): ties keep arrival order, which is what
 * the event-time operators promise.
 */
export interface TimedEntry<T> {
  readonly time: number;
  readonly seq: number;
  readonly value: T;
}

const before = <T>(a: TimedEntry<T>, b: TimedEntry<T>): boolean => a.time < b.time || (a.time === b.time && a.seq < b.seq);

export class TimedHeap<T> {
  private readonly items: TimedEntry<T>[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): TimedEntry<T> | undefined {
    return this.items[0];
  }

  push(entry: TimedEntry<T>): void {
    const items = this.items;
    let i = items.push(entry) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, items[parent])) break;
      items[i] = items[parent];
      i = parent;
    }
    items[i] = entry;
  }

  pop(): TimedEntry<T> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      let i = 0;
      const n = items.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && before(items[right], items[left]) ? right : left;
        if (!before(items[child], last)) break;
        items[i] = items[child];
        i = child;
      }
      items[i] = last;
    }
    return top;
  }

  /** Everything, in order, leaving the heap empty. */
  drain(): TimedEntry<T>[] {
    const out: TimedEntry<T>[] = [];
    while (this.items.length > 0) out.push(this.pop() as TimedEntry<T>);
    return out;
  }

  clear(): void {
    this.items.length = 0;
  }
}
