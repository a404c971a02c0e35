/**
 * The README's pipeline (per-device reorderByWatermark, then tumblingWindow) on the example fleet
 * drops no good reading: only the fleet's intentionally late ones (30 s), spikes, repeats and
 * readings of unregistered devices. Checked on the counters and on every reading's ground truth.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, mergeMap, toArray } from 'rxjs';
import { simulateFleet, type DeviceReading } from '../../examples/fleet.js';
import { gatewayPipeline, type GatewayDropReason } from '../../examples/gateway-pipeline.js';
import { reorderByWatermark } from '../../operators/reorder-by-watermark.js';
import { tumblingWindow } from '../../operators/tumbling-window.js';

const windowMs = 10_000;
const start = 1_700_000_000_000;

function fleetReadings(): { readings: DeviceReading[]; registry: ReadonlyMap<string, { site: string; room: string }> } {
  const fleet = simulateFleet({ devices: 300, seed: 7, startTime: start });
  const readings: DeviceReading[] = [];
  for (let t = start + 100; t <= start + 40_000; t += 100) readings.push(...fleet.advance(t));
  // What is still in flight at the end never arrives (as when a gateway stops): a 30 s late
  // reading arriving with nothing newer after it could not be told from a timely one.
  return { readings, registry: fleet.registry };
}

describe('the gateway pipeline on the simulated fleet', () => {
  const { readings, registry } = fleetReadings();

  it('drops no good reading as late: windows close on the reordering watermark', async () => {
    // Identify a reading by what it is, not by identity: how the stages carry it is the example's choice.
    const id = (r: DeviceReading): string => `${r.device}|${r.timestamp}|${r.kind}`;
    const drops = new Map<string, Set<GatewayDropReason>>();
    const pipeline = gatewayPipeline({
      registry,
      windowMs,
      onDrop: (reading, reason) => {
        const reasons = drops.get(id(reading)) ?? new Set<GatewayDropReason>();
        drops.set(id(reading), reasons.add(reason));
      },
    });
    const samples = await lastValueFrom(from(readings).pipe(pipeline.operator, toArray()));
    const stats = pipeline.stats();
    assert.equal(stats.lateWindow, 0, 'no sample reached a closed window');

    // Per reading: a genuine reading of a registered device is never dropped; the fleet's injected
    // faults are (a 30 s late reading, a spike, a repeat), each for its own reason.
    const registered = (r: DeviceReading): boolean => registry.has(r.device);
    const allowed: Record<DeviceReading['kind'], GatewayDropReason[]> = {
      genuine: [], late: ['late-reorder', 'outlier'], spike: ['outlier'], duplicate: ['duplicate', 'late-reorder', 'outlier'],
    };
    let injected = 0;
    for (const reading of readings) {
      const reasons = [...(drops.get(id(reading)) ?? [])];
      if (!registered(reading)) {
        assert.deepEqual(reasons, ['unregistered']);
        continue;
      }
      if (reading.kind !== 'genuine') injected++;
      for (const reason of reasons) assert.ok(allowed[reading.kind].includes(reason), `${reading.kind} reading of ${reading.device} at ${reading.timestamp} dropped as ${reason}`);
      if (reading.kind === 'late' || reading.kind === 'spike') assert.equal(reasons.length, 1, `${reading.kind} reading ${reading.device}@${reading.timestamp} is dropped`);
    }
    assert.ok(injected > 100, `the fleet injected faults (${injected})`);

    // And the windows counted every good reading: the counts add up to the genuine readings.
    const genuine = readings.filter((r) => r.kind === 'genuine' && registered(r)).length;
    const counted = samples.filter((s) => s.labels['__name__'] === 'room_temperature_celsius_count').reduce((sum, s) => sum + s.value, 0);
    assert.equal(counted, genuine);
    assert.equal(stats.outliers + stats.lateReorder + stats.duplicates, readings.filter((r) => r.kind !== 'genuine' && registered(r)).length);
  });

  it('control: closing on the largest event time seen (allowedLatenessMs 0) after per-device reordering drops good readings', async () => {
    // What the README's pipeline did before the watermark: the devices' outputs interleave.
    const lateGenuine = new Set<DeviceReading>();
    const labels = { __name__: 'x' };
    const windows = tumblingWindow({
      sizeMs: windowMs, aggregations: ['count'],
      eventTime: (s: { timestamp: number; reading: DeviceReading }) => s.timestamp, labels: () => labels, value: () => 1,
      onLate: (s) => void (s.reading.kind === 'genuine' && lateGenuine.add(s.reading)),
    });
    const ordered = reorderByWatermark({ eventTime: (r: DeviceReading) => r.timestamp, key: (r) => r.device, maxOutOfOrderMs: 1000 });
    await lastValueFrom(from(readings).pipe(ordered, mergeMap((reading) => [{ timestamp: reading.timestamp, reading }]), windows, toArray()));
    assert.ok(lateGenuine.size > 0, 'the test exercises the interleaving');
  });
});
