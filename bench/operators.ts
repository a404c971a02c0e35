/**
 * Benchmark 5: events/s on one core through `reorderByWatermark` (1% disorder, keyed by 100k
 * devices) and `tumblingWindow` (100k output series, five aggregations), each against a plain
 * `map` over the same input in the same run. Input: 100k devices each reporting once per
 * (simulated) second; 1% of events arrive up to 3 s late. Events are pre-built so that neither
 * side pays for generating them.
 */
import { from, map, type Observable } from 'rxjs';
import type { Labels } from '../src/core/model.js';
import { reorderByWatermark } from '../operators/reorder-by-watermark.js';
import { tumblingWindow } from '../operators/tumbling-window.js';
import { figure, type BenchContext, type Figure } from './common.js';

interface Reading {
  readonly device: string;
  readonly labels: Labels;
  readonly value: number;
  readonly time: number;
}

const DEVICES = 100_000;

function buildEvents(count: number): Reading[] {
  const devices: Array<{ id: string; labels: Labels }> = [];
  for (let d = 0; d < DEVICES; d++) {
    const id = `dev${d}`;
    devices.push({ id, labels: { __name__: 'room_temperature', device: id, site: `site${d % 50}` } });
  }
  const t0 = 1_700_000_000_000;
  const events: Reading[] = new Array<Reading>(count);
  let seed = 42;
  const random = (): number => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let i = 0; i < count; i++) {
    const d = i % DEVICES;
    let time = t0 + Math.floor(i / DEVICES) * 1000 + (d % 1000);
    // 1% disorder: the event arrives up to 3 s after its time.
    if (random() < 0.01) time -= 1 + Math.floor(random() * 3000);
    events[i] = { device: devices[d].id, labels: devices[d].labels, value: 20 + random() * 5, time };
  }
  return events;
}

/** Subscribes and drains synchronously; returns input events per second. */
function throughput(observable: Observable<unknown>, events: number): { rate: number; out: number } {
  let out = 0;
  const start = performance.now();
  observable.subscribe({ next: () => void out++ });
  const seconds = (performance.now() - start) / 1000;
  return { rate: events / seconds, out };
}

export async function operatorsBenchmark(context: BenchContext): Promise<Figure[]> {
  const count = context.quick ? 1_000_000 : 5_000_000;
  const events = buildEvents(count);
  const figures: Figure[] = [];
  const baseline = (): { rate: number; out: number } => throughput(from(events).pipe(map((e) => e.value * 1.8 + 32)), count);
  baseline(); // warm-up

  {
    const base = baseline();
    const reorder = reorderByWatermark<Reading>({ eventTime: (e) => e.time, maxOutOfOrderMs: 5000, key: (e) => e.device });
    const r = throughput(from(events).pipe(reorder), count);
    context.log(`operators reorderByWatermark: ${Math.round(r.rate)}/s (map ${Math.round(base.rate)}/s), out ${r.out}, late ${reorder.stats.late}`);
    figures.push(
      figure('operators', 'reorderByWatermark, 100k device keys, 1% disorder, 5 s bound', Math.round(r.rate), 'events/s', {
        comparison: { name: 'plain map, same input', value: Math.round(base.rate) },
        floor: { text: '>= 1,000,000 events/s', met: r.rate >= 1e6 && r.out === count },
        note: `${count} events, ${r.out} out, ${reorder.stats.late} late`,
      }),
    );
  }
  {
    const base = baseline();
    const window = tumblingWindow<Reading>({
      sizeMs: 10_000,
      aggregations: ['count', 'sum', 'min', 'max', 'avg'],
      allowedLatenessMs: 5000,
      eventTime: (e) => e.time,
      labels: (e) => e.labels,
      value: (e) => e.value,
    });
    const r = throughput(from(events).pipe(window), count);
    context.log(`operators tumblingWindow: ${Math.round(r.rate)}/s (map ${Math.round(base.rate)}/s), samples out ${r.out}`);
    figures.push(
      figure('operators', 'tumblingWindow 10 s, 100k output series, count/sum/min/max/avg', Math.round(r.rate), 'events/s', {
        comparison: { name: 'plain map, same input', value: Math.round(base.rate) },
        floor: { text: '>= 1,000,000 events/s', met: r.rate >= 1e6 },
        note: `${count} events in, ${r.out} samples out, late ${window.stats.late}`,
      }),
    );
  }
  return figures;
}
