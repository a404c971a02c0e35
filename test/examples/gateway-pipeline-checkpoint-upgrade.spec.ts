/**
 * A gateway restarted on this version from a checkpoint the previous version saved (same state
 * format, version 1, same slot names) must carry on as if never stopped. The previous version
 * keyed dropOutliers' series and reorderByWatermark's keys by the device's id string; this one
 * keys them by the device's number. The checkpoint of the previous version is built here from
 * this version's own checkpoint by naming each key by its device's id (byte for byte what
 * d372ed6 saves on the same input).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { simulateFleet, type DeviceReading } from '../../examples/fleet.js';
import { gatewayPipeline, type GatewayDropReason } from '../../examples/gateway-pipeline.js';
import { PipelineState, type StageSnapshots } from '../../src/durable/pipeline-state.js';
import type { Sample } from '../../src/core/model.js';

const start = 1_700_000_000_000;

interface Run {
  readonly samples: string[];
  readonly drops: Partial<Record<GatewayDropReason, number>>;
  readonly saved: StageSnapshots;
}

describe('the gateway pipeline restored from a checkpoint of the previous version', () => {
  const fleet = simulateFleet({ devices: 50, seed: 7, startTime: start });
  const readings: DeviceReading[] = [];
  for (let t = start + 100; t <= start + 40_000; t += 100) readings.push(...fleet.advance(t));
  const registry = fleet.registry;

  const run = (input: readonly DeviceReading[], saved: StageSnapshots | undefined, complete: boolean): Run => {
    const state = new PipelineState(saved);
    const drops: Partial<Record<GatewayDropReason, number>> = {};
    const samples: string[] = [];
    const pipeline = gatewayPipeline({ registry, windowMs: 10_000, state, onDrop: (_r, why) => void (drops[why] = (drops[why] ?? 0) + 1) });
    const source = new Subject<DeviceReading>();
    const subscription = source.pipe(pipeline.operator).subscribe((s: Sample) => samples.push(JSON.stringify(s)));
    for (const reading of input) source.next(reading);
    const snapshot = JSON.parse(JSON.stringify(state.snapshot())) as StageSnapshots;
    if (complete) source.complete();
    subscription.unsubscribe();
    return { samples, drops, saved: snapshot };
  };

  /** The checkpoint as the previous version wrote it: per-device keys named by the device's id. */
  const asPreviousVersion = (saved: StageSnapshots): StageSnapshots => {
    const ids = [...registry.keys()];
    const copy = JSON.parse(JSON.stringify(saved)) as Record<string, { keys?: Array<{ key: unknown }>; series?: Array<{ key: unknown }> }>;
    for (const entry of copy.reorder.keys ?? []) entry.key = ids[entry.key as number];
    for (const entry of copy.outliers.series ?? []) entry.key = ids[entry.key as number];
    return copy;
  };

  it('emits what one uninterrupted run emits, dropping no genuine reading as a duplicate', () => {
    const cut = readings.length >> 1;
    const whole = run(readings, undefined, true);
    const before = run(readings.slice(0, cut), undefined, false);
    const previous = asPreviousVersion(before.saved);
    assert.equal(typeof (previous.reorder as { keys: Array<{ key: unknown }> }).keys[0].key, 'string', 'the previous version named keys by id');
    const after = run(readings.slice(cut), previous, true);
    assert.deepEqual(sum(before.drops, after.drops), whole.drops, 'the same drops, for the same reasons');
    assert.deepEqual([...before.samples, ...after.samples], whole.samples);
  });
});

function sum(a: Partial<Record<GatewayDropReason, number>>, b: Partial<Record<GatewayDropReason, number>>): Partial<Record<GatewayDropReason, number>> {
  const out: Partial<Record<GatewayDropReason, number>> = { ...a };
  for (const [reason, n] of Object.entries(b) as Array<[GatewayDropReason, number]>) out[reason] = (out[reason] ?? 0) + n;
  return out;
}
