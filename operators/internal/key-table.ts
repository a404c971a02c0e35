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
  private indexed = 0;
  private named = new Map<StateKey, S>();

  get size(): number {
    return this.indexed + this.named.size;
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
    if (this.slots[slot] === undefined) this.indexed++;
    this.slots[slot] = state;
  }

  delete(key: StateKey): void {
    if (!isIndex(key)) {
      this.named.delete(key);
      return;
    }
    if (this.slots[key] === undefined) return;
    this.slots[key] = undefined;
    this.indexed--;
  }

  /** Every key and its state: indexed keys in ascending order, then the others in insertion order. */
  forEach(visit: (state: S, key: StateKey) => void): void {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const state = slots[i];
      if (state !== undefined) visit(state, i);
    }
    this.named.forEach(visit);
  }

  values(): S[] {
    const all: S[] = [];
    this.forEach((state) => void all.push(state));
    return all;
  }

  clear(): void {
    this.slots = [];
    this.indexed = 0;
    this.named = new Map();
  }
}
