/**
 * The order guard's memory of forgotten series. The interner forgets an idle series to bound its
 * memory, but Prometheus still holds the series' newest sample: an older sample arriving later
 * would be refused with its whole batch. So the newest timestamp of each forgotten series is kept
 * here, compactly (a number per series, keyed by a 53-bit hash of its key, no label strings), and
 * a series interned again starts from it.
 *
 * Bounded: past `capacity` series the oldest generation is let go, and the newest timestamp of
 * everything let go becomes a floor that every series interned afterwards starts from. That
 * stays sound (no sample older than a series' newest sent gets through) at the price of also
 * refusing a brand-new series' samples older than that floor, which in a live stream (new series
 * arrive with current timestamps, forgotten ones were idle for `seriesIdleTimeoutMs`) is none.
 */
export class ForgottenSeries {
  /** Two generations: lookups see both; when `current` is full, `previous` is let go. */
  private current = new Map<number, number>();
  private previous = new Map<number, number>();
  private previousNewest = -Infinity;
  private currentNewest = -Infinity;
  /** The newest timestamp among the series let go. */
  private floor = -Infinity;
  private readonly generationSize: number;

  /** `capacity`: forgotten series remembered one by one, at most (about 60 bytes of heap each). */
  constructor(capacity: number) {
    this.generationSize = Math.max(1, Math.ceil(capacity / 2));
  }

  /** Series remembered one by one. */
  get size(): number {
    return this.current.size + this.previous.size;
  }

  /** Remembers the newest timestamp of a series being forgotten. */
  remember(key: string, hash: number, newest: number): void {
    if (newest === -Infinity) return; // it never had a sample accepted: nothing to guard
    const id = forgottenId(key, hash);
    const known = this.current.get(id);
    this.current.set(id, known === undefined || newest > known ? newest : known);
    if (newest > this.currentNewest) this.currentNewest = newest;
    if (this.current.size >= this.generationSize) {
      if (this.previousNewest > this.floor) this.floor = this.previousNewest;
      this.previous = this.current;
      this.previousNewest = this.currentNewest;
      this.current = new Map();
      this.currentNewest = -Infinity;
    }
  }

  /**
   * The newest timestamp a series interned (again) must be newer than: its own if it was
   * forgotten (the entry is then dropped: its record carries it), else the floor.
   */
  recall(key: string, hash: number): number {
    let newest = this.floor;
    if (this.size === 0) return newest;
    const id = forgottenId(key, hash);
    const current = this.current.get(id);
    if (current !== undefined) {
      if (current > newest) newest = current;
      this.current.delete(id);
    }
    const previous = this.previous.get(id);
    if (previous !== undefined) {
      if (previous > newest) newest = previous;
      this.previous.delete(id);
    }
    return newest;
  }
}

/**
 * 53 bits identifying a series: its 32-bit lane hash and 21 bits of a second, independent hash
 * of the key, so two series are mistaken for one about once in 2^53 pairs instead of 2^32.
 */
function forgottenId(key: string, hash: number): number {
  let second = 0x9747b28c;
  for (let i = 0; i < key.length; i++) {
    second ^= key.charCodeAt(i);
    second = Math.imul(second, 0x5bd1e995);
    second ^= second >>> 15;
  }
  return hash * 0x200000 + (second & 0x1fffff);
}
