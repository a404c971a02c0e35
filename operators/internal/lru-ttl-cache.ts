/**
 * A bounded cache with least-recently-used eviction and an optional time to live, on one `Map`:
 * a Map iterates in insertion order, so re-inserting an entry on every hit keeps the least
 * recently used one first, where eviction takes it.
 */
export class LruTtlCache<K, V> {
  private readonly entries = new Map<K, { readonly value: V; readonly expires: number }>();

  /**
   * @param capacity entries kept at most; 0 keeps nothing.
   * @param ttlMs how long an entry stays valid after it was set; Infinity: until evicted.
   * @param now the clock `ttlMs` is measured on (ms).
   */
  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The entry for `key` (which makes it the most recently used), or undefined if absent or expired. */
  get(key: K): { readonly value: V } | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    if (entry.expires <= this.now()) return undefined;
    this.entries.set(key, entry);
    return entry;
  }

  /** Sets `key` as the most recently used entry, evicting the least recently used beyond capacity. */
  set(key: K, value: V): void {
    if (this.capacity === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expires: this.ttlMs === Infinity ? Infinity : this.now() + this.ttlMs });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as K);
  }

  /** Keys from least to most recently used (expired ones included until touched). */
  keys(): K[] {
    return [...this.entries.keys()];
  }

  clear(): void {
    this.entries.clear();
  }
}
