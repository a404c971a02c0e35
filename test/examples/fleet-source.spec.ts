import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { simulateFleet, type DeviceReading } from '../../examples/fleet.js';
import { FleetSource } from '../../examples/fleet-source.js';
import type { Positioned } from '../../src/sources/acknowledged.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('FleetSource (the simulated fleet as an acknowledged source)', () => {
  it('emits the fleet readings with the simulated time reached as their position; pausing holds them back, resuming delivers the backlog', async () => {
    const source = new FleetSource(simulateFleet({ devices: 50, seed: 3 }), 10);
    const received: Positioned<DeviceReading, number>[] = [];
    const subscription = source.resumeFrom().subscribe((element) => received.push(element));
    await sleep(1200);
    assert.ok(received.length > 0, 'readings arrive');
    for (let i = 1; i < received.length; i++) assert.ok(received[i]!.position >= received[i - 1]!.position, 'positions never go back');
    assert.ok(Math.abs(received.at(-1)!.position - Date.now()) < 1000, 'a position is a time reached, near now');
    source.pause();
    assert.equal(source.paused, true);
    await sleep(30);
    const held = received.length;
    await sleep(600);
    assert.equal(received.length, held, 'nothing while paused');
    source.resume();
    await sleep(100);
    assert.ok(received.length > held, 'the backlog arrives on resume');
    subscription.unsubscribe();
    assert.equal(source.emitted, received.length);
  });

  it('commits cumulatively', async () => {
    const source = new FleetSource(simulateFleet({ devices: 1 }));
    assert.equal(source.committed, undefined);
    await source.commit(20);
    await source.commit(10);
    assert.equal(source.committed, 20);
    assert.ok(source.comparePositions(1, 2) < 0);
  });
});
