/**
 * One key's watermark and buffer. The buffer is a binary min-heap on (event time, arrival
 * sequence) kept as three parallel arrays, so holding an element allocates nothing of its own.
 */
export class KeyState<T> {
  /** Largest event time accepted for the key. */
  maxTime = -Infinity;
  /** Elements strictly behind this are released on sight (and late when they arrive). */
  watermark = -Infinity;
  /** Processing time of the key's last accepted element (or of its entry into the watermark's heap), for the idle rule. */
  lastArrival = 0;
  readonly times: number[] = [];
  readonly seqs: number[] = [];
  readonly values: T[] = [];
  /** When the key last accepted an element, in the subscription's count of accepted elements (recency order). */
  stamp = 0;
  /** Place in the subscription's list of keys holding elements, -1 when holding none. */
  holdingIndex = -1;
  /** Id of the key's entry in the subscription's watermark heap, -1 when not in it (not tracked, or idle). */
  heapEntry = -1;
  /** Released as idle and not heard from since: not holding the output watermark back. */
  idle = false;

  push(time: number, seq: number, value: T): void {
    const { times, seqs, values } = this;
    let i = times.length;
    times.push(time);
    seqs.push(seq);
    values.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent];
      if (pt < time || (pt === time && seqs[parent] < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[parent];
      values[i] = values[parent];
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    values[i] = value;
  }

  /** Removes and returns the earliest element; the caller checks that there is one. */
  pop(): T {
    const { times, seqs, values } = this;
    const top = values[0];
    const lastTime = times.pop() as number;
    const lastSeq = seqs.pop() as number;
    const lastValue = values.pop() as T;
    const n = times.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (times[right] < times[child] || (times[right] === times[child] && seqs[right] < seqs[child]))) child = right;
      const ct = times[child];
      if (lastTime < ct || (lastTime === ct && lastSeq < seqs[child])) break;
      times[i] = ct;
      seqs[i] = seqs[child];
      values[i] = values[child];
      i = child;
    }
    times[i] = lastTime;
    seqs[i] = lastSeq;
    values[i] = lastValue;
    return top;
  }

  clear(): void {
    this.times.length = 0;
    this.seqs.length = 0;
    this.values.length = 0;
  }
}
