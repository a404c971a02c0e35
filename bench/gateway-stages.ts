/**
 * The gateway pipeline's per-device stages one at a time, CPU per element (ns), with the
 * example's settings on many devices: what the whole-pipeline drain cannot split. With thousands
 * of devices a stage's cost is mostly where its per-device state sits in memory, so the figures
 * move with the device count far more than with the code path (try --devices 100).
 *
 *   node dist/bench/gateway-stages.js [--devices 10000] [--elements 1000000] [--rounds 3] [--stages dropOutliers,dropOutliersByNumber]
 *
 * `dropOutliers` keys series by the device's id (a string); `dropOutliersByNumber` by its number,
 * as the gateway example does.
 *
 * `reorderNumberKeys*`: reorderByWatermark keyed by the device's number, as the example keys it.
 *
 * Elements: each device reads every 250 ms, arriving up to 800 ms late (so out of order), noise
 * of 0.4 around a level. Best of `rounds`.
 */
import { parseArgs } from 'node:util';
import { from, type OperatorFunction } from 'rxjs';
import { dropOutliers } from '../operators/drop-outliers.js';
import { reorderByWatermark } from '../operators/reorder-by-watermark.js';
import { seededRandom } from '../src/testing/random.js';

interface Element {
  readonly device: string;
  /** The device's number (0, 1, ...), for the stages keyed as the example keys them. */
  readonly index: number;
  readonly timestamp: number;
  readonly temperature: number;
}

export function stageElements(devices: number, count: number, seed = 1): Element[] {
  const random = seededRandom(seed);
  const ids = Array.from({ length: devices }, (_, i) => `dev-${i}`);
  const start = 1_700_000_000_000;
  const arriving: Array<{ element: Element; at: number }> = [];
  for (let i = 0; i < count; i++) {
    const device = i % devices;
    const timestamp = start + Math.floor(i / devices) * 250 + (device % 250);
    arriving.push({ element: { device: ids[device], index: device, timestamp, temperature: 20 + random() * 0.4 }, at: timestamp + random() * 800 });
  }
  return arriving.sort((a, b) => a.at - b.at).map((a) => a.element);
}

/** Best CPU per element (ns) of `rounds` passes, each through a fresh operator. */
function measure(elements: readonly Element[], rounds: number, make: () => { operator: OperatorFunction<Element, Element>; onOutput?: () => void }): number {
  let best = Infinity;
  for (let round = 0; round < rounds; round++) {
    const { operator, onOutput } = make();
    const cpu = process.cpuUsage();
    from(elements).pipe(operator).subscribe({ next: () => onOutput?.() });
    const used = process.cpuUsage(cpu);
    best = Math.min(best, ((used.user + used.system) * 1000) / elements.length);
  }
  return best;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values: o } = parseArgs({ options: { devices: { type: 'string', default: '10000' }, elements: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '3' }, stages: { type: 'string' } } });
  const elements = stageElements(Number(o.devices), Number(o.elements));
  const rounds = Number(o.rounds);
  const outliers = (series: (e: Element) => string | number): OperatorFunction<Element, Element> =>
    dropOutliers<Element>({
      series,
      value: (e) => e.temperature,
      eventTime: (e) => e.timestamp,
      range: { min: -30, max: 60 },
      maxRate: { perSecond: 5 },
      mad: { window: 30, threshold: 6, minDeviation: 2 },
    });
  const reorder = () => reorderByWatermark<Element>({ eventTime: (e) => e.timestamp, key: (e) => e.device, maxOutOfOrderMs: 1000 });
  // Keyed by the device's number, as the gateway example keys it (an array slot, no string hashed).
  const reorderByNumber = () => reorderByWatermark<Element>({ eventTime: (e) => e.timestamp, key: (e) => e.index, maxOutOfOrderMs: 1000 });
  const stages: Record<string, () => number> = {
    source: () => measure(elements, rounds, () => ({ operator: (s) => s })),
    dropOutliers: () => measure(elements, rounds, () => ({ operator: outliers((e) => e.device) })),
    dropOutliersByNumber: () => measure(elements, rounds, () => ({ operator: outliers((e) => e.index) })),
    reorderByWatermark: () => measure(elements, rounds, () => ({ operator: reorder() })),
    // As in the gateway: a window downstream reads the output watermark after every element.
    reorderWithWatermark: () =>
      measure(elements, rounds, () => {
        const operator = reorder();
        return { operator, onOutput: () => void operator.watermark };
      }),
    reorderNumberKeys: () => measure(elements, rounds, () => ({ operator: reorderByNumber() })),
    reorderNumberKeysWithWatermark: () =>
      measure(elements, rounds, () => {
        const operator = reorderByNumber();
        return { operator, onOutput: () => void operator.watermark };
      }),
  };
  const chosen = o.stages === undefined ? Object.keys(stages) : o.stages.split(',');
  const figures = Object.fromEntries(chosen.map((name) => [name, (stages[name] ?? (() => Number.NaN))()]));
  const rounded = Object.fromEntries(Object.entries(figures).map(([name, ns]) => [name, Math.round(ns)]));
  console.log(JSON.stringify({ devices: Number(o.devices), elements: elements.length, nsPerElement: rounded }));
}
