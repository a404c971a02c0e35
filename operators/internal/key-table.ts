/**
 * Per-key state of an operator, by key: a string, or a number such as a device's index. A key
 * that is a small whole number is a slot in an array, found without hashing or comparing a
 * string; any other key sits in a Map. `1` and `'1'` are different keys.
 */
export type StateKey = string | number;

/** Whole numbers below this (0 included) are array slots; larger ones go to the Map. */
export const INDEXED_KEYS = 1 << 22;

const isIndex = (key: StateKey): key is number => typeof key === 'number' && key >= 0 && key < INDEXED_KEYS && Math.floor(key) === key;

/** True for a key a checkpoint can name: a string, or a finite number (JSON has no NaN or Infinity). */
export function isStateKey(key: unknown): key is StateKey {
  return typeof key === 'string' || (typeof key === 'number' && Number.isFinite(key));
}

export class KeyTable<S> {
  private slots: Array<S | undefined> = [];
  /**
   * The indexed keys in use, unordered, and each one's place in it: visiting them costs what is
   * held, not the largest key ever used (keys spread up to `INDEXED_KEYS` would otherwise make
   * every checkpoint and eviction scan millions of empty slots).
   */
  private used: number[] = [];
  private usedAt: number[] = [];
  private named = new Map<StateKey, S>();

  get size(): number {
    return this.used.length + this.named.size;
  }

  get(key: StateKey): S | undefined {
    return isIndex(key) ? this.slots[key] : this.named.get(key);
  }

  set(key: StateKey, state: S): void {
    if (!isIndex(key)) {
      this.named.set(key, state);
      return;
    }
    // -0 is the key 0, as in a Map.
    const slot = key === 0 ? 0 : key;
    if (this.slots[slot] === undefined) {
      this.usedAt[slot] = this.used.length;
      this.used.push(slot);
    }
    this.slots[slot] = state;
  }

  delete(key: StateKey): void {
    if (!isIndex(key)) {
      this.named.delete(key);
      return;
    }
    const slot = key === 0 ? 0 : key;
    if (this.slots[slot] === undefined) return;
    this.slots[slot] = undefined;
    const at = this.usedAt[slot];
    const last = this.used.pop() as number;
    if (last !== slot) {
      this.used[at] = last;
      this.usedAt[last] = at;
    }
  }

  /** Every key and its state: indexed keys in ascending order, then the others in insertion order. */
  forEach(visit: (state: S, key: StateKey) => void): void {
    const slots = this.slots;
    // Sorted here, not kept sorted: visiting is rare (checkpoints, an eviction queue rebuilt).
    const ascending = this.used.slice().sort((a, b) => a - b);
    for (const key of ascending) visit(slots[key] as S, key);
    this.named.forEach(visit);
  }

  values(): S[] {
    const all: S[] = [];
    this.forEach((state) => void all.push(state));
    return all;
  }

  clear(): void {
    this.slots = [];
    this.used = [];
    this.usedAt = [];
    this.named = new Map();
  }
}
