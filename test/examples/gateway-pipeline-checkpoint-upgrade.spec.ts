/**
 * A gateway restarted on this version from a checkpoint the previous version saved (same state
 * format, version 1, same slot names) must carry on as if never stopped. The previous version
 * keyed dropOutliers' series and reorderByWatermark's keys by the device's id string; this one
 * keys them by the device's number, and names them by id in its checkpoints: what it saves is
 * checked to be in the previous version's format (keys that are device ids, held readings as
 * `{ reading, device }`), then restored.
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

  const run = (input: readonly DeviceReading[], saved: StageSnapshots | undefined, complete: boolean, devices = registry): Run => {
    const state = new PipelineState(saved);
    const drops: Partial<Record<GatewayDropReason, number>> = {};
    const samples: string[] = [];
    const pipeline = gatewayPipeline({ registry: devices, windowMs: 10_000, state, onDrop: (_r, why) => void (drops[why] = (drops[why] ?? 0) + 1) });
    const source = new Subject<DeviceReading>();
    const subscription = source.pipe(pipeline.operator).subscribe((s: Sample) => samples.push(JSON.stringify(s)));
    for (const reading of input) source.next(reading);
    const snapshot = JSON.parse(JSON.stringify(state.snapshot())) as StageSnapshots;
    if (complete) source.complete();
    subscription.unsubscribe();
    return { samples, drops, saved: snapshot };
  };

  /**
   * The checkpoint as the previous version wrote it: per-device keys named by the device's id, each
   * held reading as `{ reading, device }`. This version keys the stages by number but must still
   * save (and so restore) that format: checked here key by key before restoring it.
   */
  const asPreviousVersion = (saved: StageSnapshots): StageSnapshots => {
    const ids = new Set(registry.keys());
    const copy = JSON.parse(JSON.stringify(saved)) as Record<string, { keys?: Array<{ key: unknown; values?: unknown[] }>; series?: Array<{ key: unknown }> }>;
    for (const entry of copy.reorder.keys ?? []) {
      assert.ok(typeof entry.key === 'string' && ids.has(entry.key), `reorder key ${String(entry.key)} is a device id`);
      for (const held of entry.values ?? []) assert.deepEqual(Object.keys(held as object).sort(), ['device', 'reading']);
    }
    for (const entry of copy.outliers.series ?? []) assert.ok(typeof entry.key === 'string' && ids.has(entry.key), `outlier series ${String(entry.key)} is a device id`);
    // The repeat filter's state as the previous version saved it: by the device's number in the registry.
    const { byDevice } = copy.repeats as unknown as { byDevice: Record<string, number> };
    const numbers = [...registry.keys()];
    const byNumber: Record<string, number> = {};
    for (const [id, timestamp] of Object.entries(byDevice)) byNumber[numbers.indexOf(id)] = timestamp;
    (copy as Record<string, unknown>).repeats = byNumber;
    return copy;
  };

  it('emits what one uninterrupted run emits, dropping no genuine reading as a duplicate', () => {
    const cut = readings.length >> 1;
    const whole = run(readings, undefined, true);
    const before = run(readings.slice(0, cut), undefined, false);
    const previous = asPreviousVersion(before.saved);
    const held = (previous.reorder as { keys: Array<{ values: unknown[] }> }).keys.reduce((n, k) => n + k.values.length, 0);
    assert.ok(held > 0, 'the checkpoint holds readings waiting to be put in order');
    const after = run(readings.slice(cut), previous, true);
    assert.deepEqual(sum(before.drops, after.drops), whole.drops, 'the same drops, for the same reasons');
    assert.deepEqual([...before.samples, ...after.samples], whole.samples);
  });

  it('carries on as uninterrupted when the restarted gateway has its registry in another order', () => {
    const cut = readings.length >> 1;
    const whole = run(readings, undefined, true);
    const before = run(readings.slice(0, cut), undefined, false);
    const reversed = new Map([...registry].reverse());
    const after = run(readings.slice(cut), before.saved, true, reversed);
    assert.deepEqual(sum(before.drops, after.drops), whole.drops, 'the same drops, for the same reasons');
    assert.deepEqual([...before.samples, ...after.samples], whole.samples);
  });
});

function sum(a: Partial<Record<GatewayDropReason, number>>, b: Partial<Record<GatewayDropReason, number>>): Partial<Record<GatewayDropReason, number>> {
  const out: Partial<Record<GatewayDropReason, number>> = { ...a };
  for (const [reason, n] of Object.entries(b) as Array<[GatewayDropReason, number]>) out[reason] = (out[reason] ?? 0) + n;
  return out;
}
